/*
 * The on_change hook, run once per event with the details in its
 * environment:
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
#ifndef PK_HOOKQ_H
#define PK_HOOKQ_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "eventlog.h"

#define HOOKQ_MAX	64
#define HOOK_TIMEOUT_S	30

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
