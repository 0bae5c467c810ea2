/*
 * The on_change hook, run once per event with the details in its
 * environment:
 *
 *   PORTKEEPER_EVENT             external_ip_changed, internal_ip_changed,
 *                                mapping_lost, mapping_restored,
 *                                mapping_failed, ..., ipv6_address_changed,
 *                                pinhole_added, pinhole_lost, ...
 *   PORTKEEPER_EXTERNAL_IP       the router's external address now
 *   PORTKEEPER_OLD_EXTERNAL_IP   the one before (external_ip_changed)
 *   PORTKEEPER_INTERNAL_IP       this host's LAN address
 *   PORTKEEPER_FORWARD           the forward's name (mapping_* events)
 *   PORTKEEPER_DETAIL            the sentence that was logged
 *   PORTKEEPER_IPV6              this host's IPv6 address the pinholes go
 *                                to, or empty
 *   PORTKEEPER_OLD_IPV6          the one before (ipv6_address_changed)
 *   PORTKEEPER_FAMILY            4 or 6: the family the event is about
 *                                (empty for router and gateway events)
 *
 * Hooks run one at a time, without blocking the caller; one that runs
 * longer than HOOK_TIMEOUT_S is killed.  Address events (external_ip_changed,
 * internal_ip_changed, ipv6_address_changed, gateway_changed,
 * router_restarted) run first, in the
 * order they came; forwards' events run after them, in the order they came.
 *
 * A hook that falls behind must still see the latest state, so what waits
 * is coalesced rather than dropped: an address event (external_ip_changed,
 * internal_ip_changed, ipv6_address_changed, gateway_changed,
 * router_restarted) waits at most once
 * per kind, one that comes while another of its kind waits is folded into it
 * (the oldest old address, the newest new one); and when HOOKQ_MAX events
 * wait, a forward's event that a newer one of the same forward supersedes
 * goes first, then the oldest forward's event, each said in the log.  An
 * address event is never dropped.
 *
 * A hook that exits with HOOK_TEMPFAIL (75, EX_TEMPFAIL of sysexits.h) asks
 * for its event again later: after HOOK_RETRY_S, doubling up to
 * HOOK_RETRY_MAX_S, HOOK_RETRIES times at most; a newer event of the same
 * kind (or forward) takes its place.  So does an address event whose hook
 * was killed for running longer than HOOK_TIMEOUT_S.
 */
#ifndef PK_HOOKQ_H
#define PK_HOOKQ_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "eventlog.h"

#define HOOKQ_MAX	64
#define HOOK_TIMEOUT_S	30
#define HOOK_TEMPFAIL	75
/* ddclient, for one, refuses a second update within 30 s of the last. */
#define HOOK_RETRY_S	35
#define HOOK_RETRY_MAX_S	900
#define HOOK_RETRIES	10
#define HOOKQ_RETRY_MAX	8

struct hookq_item {
	struct event	ev;
	unsigned int	tries;		/* runs that asked to try again */
	int64_t		at;		/* retries: when, monotonic ms */
};

/*
 * The hook queue.  hookq_push() copies the event; hookq_tick() starts the
 * next hook when none runs, reaps a finished one and kills one that
 * overran.  Call hookq_tick() from the loop after SIGCHLD and before
 * hookq_deadline().
 */
struct hookq {
	char			cmd[PATH_MAX];	/* "" disables hooks */
	size_t			start, count;
	size_t			nretry;
	struct hookq_item	cur;		/* the running hook's */
	pid_t			running;	/* 0 when none */
	int64_t			started;	/* monotonic ms */
	unsigned long		dropped;	/* not run: the queue was full */
	unsigned long		coalesced;	/* folded into a newer one */
	/*
	 * Last, so that hookq_init leaves them alone: 30 KB that a daemon
	 * without a hook, or with few events, never writes (and so never
	 * has in memory).  Only the entries counted above are read.
	 */
	struct hookq_item	q[HOOKQ_MAX];
	struct hookq_item	retry[HOOKQ_RETRY_MAX];	/* waiting to run again */
};

void		 hookq_init(struct hookq *, const char *cmd);
void		 hookq_push(struct hookq *, const struct event *ev);
void		 hookq_tick(struct hookq *, int64_t now_ms);
/* When hookq_tick() must run next (monotonic ms), INT64_MAX when idle. */
int64_t		 hookq_deadline(const struct hookq *);
/* Waits (at most timeout_ms) for a running hook and the queue to finish. */
void		 hookq_drain(struct hookq *, int timeout_ms);

#endif
