/*
 * The event log: the last EVENTLOG_MAX events, for the web API and the logs.
 */
#include <string.h>
#include <time.h>

#include "eventlog.h"

const char *
eventlog_type_str(enum event_type t)
{
	switch (t) {
	case EV_EXTERNAL_IP_CHANGED:	return "external_ip_changed";
	case EV_INTERNAL_IP_CHANGED:	return "internal_ip_changed";
	case EV_MAPPING_LOST:		return "mapping_lost";
	case EV_MAPPING_RESTORED:	return "mapping_restored";
	case EV_MAPPING_FAILED:		return "mapping_failed";
	case EV_MAPPING_ADDED:		return "mapping_added";
	case EV_MAPPING_REMOVED:	return "mapping_removed";
	case EV_ROUTER_RESTARTED:	return "router_restarted";
	case EV_GATEWAY_CHANGED:	return "gateway_changed";
	case EV_IPV6_ADDRESS_CHANGED:	return "ipv6_address_changed";
	case EV_PINHOLE_ADDED:		return "pinhole_added";
	case EV_PINHOLE_LOST:		return "pinhole_lost";
	case EV_PINHOLE_RESTORED:	return "pinhole_restored";
	case EV_PINHOLE_FAILED:		return "pinhole_failed";
	case EV_PINHOLE_REMOVED:	return "pinhole_removed";
	}
	return "unknown";
}

int
eventlog_family(enum event_type t)
{
	switch (t) {
	case EV_MAPPING_LOST:
	case EV_MAPPING_RESTORED:
	case EV_MAPPING_FAILED:
	case EV_MAPPING_ADDED:
	case EV_MAPPING_REMOVED:
	case EV_EXTERNAL_IP_CHANGED:
	case EV_INTERNAL_IP_CHANGED:
		return 4;
	case EV_IPV6_ADDRESS_CHANGED:
	case EV_PINHOLE_ADDED:
	case EV_PINHOLE_LOST:
	case EV_PINHOLE_RESTORED:
	case EV_PINHOLE_FAILED:
	case EV_PINHOLE_REMOVED:
		return 6;
	case EV_ROUTER_RESTARTED:
	case EV_GATEWAY_CHANGED:
		break;
	}
	return 0;
}

/* A copy whose strings are terminated whatever the caller left in them. */
void
eventlog_copy(struct event *dst, const struct event *src)
{
	*dst = *src;
	dst->forward[sizeof(dst->forward) - 1] = '\0';
	dst->detail[sizeof(dst->detail) - 1] = '\0';
	dst->external_ip[sizeof(dst->external_ip) - 1] = '\0';
	dst->old_external_ip[sizeof(dst->old_external_ip) - 1] = '\0';
	dst->internal_ip[sizeof(dst->internal_ip) - 1] = '\0';
	dst->ipv6[sizeof(dst->ipv6) - 1] = '\0';
	dst->old_ipv6[sizeof(dst->old_ipv6) - 1] = '\0';
}

void
eventlog_init(struct eventlog *el)
{
	/*
	 * Not the ring: only the entries counted are ever read, and its
	 * 100 KB then take memory only as events fill them.
	 */
	el->start = 0;
	el->count = 0;
	el->next_seq = 1;
}

uint64_t
eventlog_add(struct eventlog *el, const struct event *ev)
{
	struct event *e;

	/* A zeroed log works too: sequence numbers start at 1. */
	if (el->next_seq == 0)
		el->next_seq = 1;
	if (el->count == EVENTLOG_MAX) {
		e = &el->ring[el->start];
		el->start = (el->start + 1) % EVENTLOG_MAX;
	} else
		e = &el->ring[(el->start + el->count++) % EVENTLOG_MAX];
	eventlog_copy(e, ev);
	e->seq = el->next_seq++;
	if (e->time == 0)
		e->time = (int64_t)time(NULL);
	return e->seq;
}

size_t
eventlog_count(const struct eventlog *el)
{
	return el->count;
}

const struct event *
eventlog_get(const struct eventlog *el, size_t i)
{
	if (i >= el->count)
		return NULL;
	return &el->ring[(el->start + i) % EVENTLOG_MAX];
}
