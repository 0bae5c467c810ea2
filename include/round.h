/*
 * A round of router work on portkeeperd's mapper thread (round.c): discover
 * the router, then open, verify or close each forward given.
 */
#ifndef PK_ROUND_H
#define PK_ROUND_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "netinfo.h"
#include "portmap.h"
#include "portmap_memo.h"

/* What the mapper thread does for one forward in a round. */
enum task_op { TASK_OPEN, TASK_VERIFY, TASK_CLOSE };

struct task {
	enum task_op			op;
	char				name[CONFIG_NAME_MAX];
	struct portspec			spec;
	uint32_t			lease;
	/* Results. */
	int				rc;		/* 0 done, -1 err */
	int				verified;	/* portmap_verify's answer */
	bool				restored;	/* verify re-made it */
	bool				refreshed;	/* verify asked again */
	bool				removed;
	struct portmap_open_result	res;
	struct pm_error			err;
	/* The router's quirks known after the task (portmap_info's). */
	unsigned			quirks;
	/*
	 * Set by the mapper thread (release) once the results above are
	 * written, never to be touched by it again.  The loop reads the
	 * results only after seeing it set (acquire): at a round's deadline
	 * it keeps what the router did and fails only the rest.
	 */
	atomic_bool			done;
};

/*
 * A round: discover the router, then run every task, on the mapper thread.
 * The loop writes everything above "Results" before the thread starts and
 * only reads it afterwards.
 */
struct round {
	enum pm_method		via;
	int			timeout_ms;
	struct task		*t;
	size_t			nt;
	/* Set by the loop when it gives up on the round: no task more. */
	atomic_bool		abandoned;
	/* NAT-PMP epoch as last seen, to tell a router that rebooted. */
	bool			have_epoch;
	uint32_t		epoch_prev;
	int64_t			epoch_mono_prev;
	/*
	 * What earlier rounds learned of the gateway (NULL: nothing), the
	 * round's own copy: the thread writes what this one learned into it,
	 * then sets remembered (release), and touches it no more.
	 */
	struct portmap_memo	*memo;
	atomic_bool		remembered;
	/* Results. */
	int			discover_rc;
	struct pm_error		discover_err;
	struct portmap_info	info;
	struct netinfo		ni;
	bool			ni_ok;
	bool			rebooted;	/* the epoch went backwards */
	int64_t			epoch_mono;	/* when the epoch was read */
	/* As task.done, for the results of the discovery above. */
	atomic_bool		discovered;
};

/*
 * Runs a round (on the mapper thread); frees nothing.  It publishes the
 * discovery's results and then each task's as they are complete (see
 * task.done), and stops between tasks once the round is abandoned.
 */
void	round_run(void *arg);
void	round_free(void *arg);

/*
 * RFC 6886 section 3.6: a router whose epoch is less than 7/8 of the time
 * elapsed since the previous reply (minus 2 s) lost its mappings.
 */
bool	round_epoch_reset(uint32_t prev, int64_t prev_mono_ms, uint32_t now_epoch,
	    int64_t now_mono_ms);

#endif
