/*
 * A blocking call run on its own thread, so that the caller can give up on
 * it at a deadline.  miniupnpc has per-read socket timeouts but no overall
 * deadline: a slow or hostile router could hold a caller for minutes.  A job
 * that misses its deadline is abandoned, not killed: it finishes on its own
 * and the last of the two owners frees its argument.
 */
#ifndef PK_JOB_H
#define PK_JOB_H

#include <stdint.h>

struct job;

/*
 * Starts fn(arg) on a new thread.  free_arg(arg), if not NULL, runs once both
 * fn has returned and the caller has called job_release().  Returns NULL when
 * no thread could be started (arg is then not freed).
 */
struct job	*job_start(void (*fn)(void *), void *arg,
		    void (*free_arg)(void *));

/* A descriptor that becomes readable once fn has returned, for poll(). */
int		 job_fd(const struct job *);

/* Waits until fn has returned or deadline (monotonic ms).  0 done, -1 not. */
int		 job_wait(struct job *, int64_t deadline);

/* 1 when fn has returned, without waiting. */
int		 job_done(struct job *);

/* Drops the caller's reference; the job may still be running. */
void		 job_release(struct job *);

#endif
