/*
 * What happened, for people and programs: a bounded in-memory log of
 * events, which the web API and its event streams serve and the hook queue
 * (hookq.h) hands to the on_change hook.
 */
#ifndef PK_EVENTLOG_H
#define PK_EVENTLOG_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define EVENTLOG_MAX	256

enum event_type {
	EV_EXTERNAL_IP_CHANGED = 0,
	EV_INTERNAL_IP_CHANGED,
	EV_MAPPING_LOST,
	EV_MAPPING_RESTORED,
	EV_MAPPING_FAILED,
	EV_MAPPING_ADDED,
	EV_MAPPING_REMOVED,
	EV_ROUTER_RESTARTED,
	EV_GATEWAY_CHANGED,
	/* IPv6 (issue 16): this host's address, and the forwards' pinholes. */
	EV_IPV6_ADDRESS_CHANGED,
	EV_PINHOLE_ADDED,
	EV_PINHOLE_LOST,
	EV_PINHOLE_RESTORED,
	EV_PINHOLE_FAILED,
	EV_PINHOLE_REMOVED,
};

/* Which family an event is about: 4 or 6 (PORTKEEPER_FAMILY), 0 neither. */
int		 eventlog_family(enum event_type);

struct event {
	uint64_t	seq;		/* set by eventlog_add, from 1 */
	int64_t		time;		/* wall clock, seconds */
	enum event_type	type;
	char		forward[CONFIG_NAME_MAX];
	char		detail[256];
	char		external_ip[16];
	char		old_external_ip[16];
	char		internal_ip[16];
	/* This host's IPv6 address (pinholes' and ipv6_address_changed's). */
	char		ipv6[46];
	char		old_ipv6[46];	/* the one before (ipv6_address_changed) */
};

/* "external_ip_changed", ...; "unknown" for a value out of range. */
const char	*eventlog_type_str(enum event_type);
/* Copies src, its strings terminated whatever the caller left in them. */
void		 eventlog_copy(struct event *dst, const struct event *src);

struct eventlog {
	struct event	ring[EVENTLOG_MAX];
	size_t		start;		/* index of the oldest */
	size_t		count;
	uint64_t	next_seq;
};

void		 eventlog_init(struct eventlog *);
/* Appends a copy of ev (dropping the oldest when full); returns its seq. */
uint64_t	 eventlog_add(struct eventlog *, const struct event *ev);
size_t		 eventlog_count(const struct eventlog *);
/* The i-th event, oldest first (i < count). */
const struct event *eventlog_get(const struct eventlog *, size_t i);

#endif
