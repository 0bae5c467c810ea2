/*
 * What happened, for people and programs: a bounded in-memory log (for the
 * API and logs) and the on_change hook, run once per event with the details
 * in its environment:
 *
 *   PORTKEEPER_EVENT             external_ip_changed, internal_ip_changed,
 *                                mapping_lost, mapping_restored,
 *                                mapping_failed, ...
 *   PORTKEEPER_EXTERNAL_IP       the router's external address now
 *   PORTKEEPER_OLD_EXTERNAL_IP   the one before (external_ip_changed)
 *   PORTKEEPER_INTERNAL_IP       this host's LAN address
 *   PORTKEEPER_FORWARD           the forward's name (mapping_* events)
 *   PORTKEEPER_DETAIL            the sentence that was logged
 *
 * Hooks run one at a time, in order, without blocking the caller; one that
 * runs longer than HOOK_TIMEOUT_S is killed.
 */
#ifndef PK_EVENTS_H
#define PK_EVENTS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

#define EVENTLOG_MAX	256
#define HOOKQ_MAX	64
#define HOOK_TIMEOUT_S	30

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
};

struct event {
	uint64_t	seq;		/* set by eventlog_add, from 1 */
	int64_t		time;		/* wall clock, seconds */
	enum event_type	type;
	char		forward[CONFIG_NAME_MAX];
	char		detail[256];
	char		external_ip[16];
	char		old_external_ip[16];
	char		internal_ip[16];
};

/* "external_ip_changed", ... */
const char	*event_type_str(enum event_type);

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

/*
 * The hook queue.  hookq_push() copies the event; hookq_tick() starts the
 * next hook when none runs, reaps a finished one and kills one that
 * overran.  Call hookq_tick() from the loop after SIGCHLD and before
 * hookq_deadline().
 */
struct hookq {
	char		cmd[PATH_MAX];	/* "" disables hooks */
	struct event	q[HOOKQ_MAX];
	size_t		start, count;
	pid_t		running;	/* 0 when none */
	int64_t		started;	/* monotonic ms */
	unsigned long	dropped;	/* events not run because the queue was full */
};

void		 hookq_init(struct hookq *, const char *cmd);
void		 hookq_push(struct hookq *, const struct event *ev);
void		 hookq_tick(struct hookq *, int64_t now_ms);
/* When hookq_tick() must run next (monotonic ms), INT64_MAX when idle. */
int64_t		 hookq_deadline(const struct hookq *);
/* Waits (at most timeout_ms) for a running hook and the queue to finish. */
void		 hookq_drain(struct hookq *, int timeout_ms);

#endif
