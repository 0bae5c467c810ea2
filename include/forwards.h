/*
 * The forwards portkeeperd keeps: the configuration's and those added
 * through the web API (state_dir/forwards.conf), what is known of each on
 * the router, the list of those to take off it, and the changes of the
 * API's forwards, saved one at a time on a thread so that the loop never
 * waits for the disk.  Nothing here knows HTTP: a change is submitted with
 * a completion callback.
 */
#ifndef PK_FORWARDS_H
#define PK_FORWARDS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "pmerr.h"
#include "portmap.h"
#include "state.h"

#define FORWARDS_FILE		"forwards.conf"
#define FORWARDS_RETRY_MIN_MS	2000	/* back-off after a failure */
#define FORWARDS_RETRY_MAX_MS	60000

enum fwd_state { FWD_PENDING = 0, FWD_ACTIVE, FWD_FAILED };

/* One configured forward and what we know of it on the router. */
struct fwd {
	struct config_forward	cfg;
	enum fwd_state		state;
	enum pm_method		method;		/* how it was last made */
	uint32_t		lease;		/* as granted; 0 permanent */
	int64_t			refresh_at;	/* monotonic ms */
	int64_t			expires_at;	/* monotonic ms; 0 none */
	int64_t			last_refresh;	/* wall clock s; 0 never */
	unsigned		failures;	/* in a row, for back-off */
	char			error[384];	/* why it failed, or "" */
	bool			made;		/* we made it on the router */
	bool			web;		/* added through the API */
	bool			adopted;	/* the last run made it */
};

/* What became of a change of the API's forwards. */
enum forwards_rc {
	FORWARDS_OK = 0,
	FORWARDS_CONFLICT,	/* the name or external port is taken */
	FORWARDS_NOT_FOUND,
	FORWARDS_READ_ONLY,	/* from portkeeper.conf */
	FORWARDS_FAILED,	/* could not be saved: nothing changed */
	FORWARDS_STOPPING,	/* the daemon stops: not made, or not known */
};

/*
 * Called once per submitted change, on the loop, with a sentence in msg
 * when rc is not FORWARDS_OK.  It may be called from within
 * forwards_submit, when the change is refused at once.
 */
typedef void	forwards_done_fn(void *arg, enum forwards_rc rc,
		    const char *msg);

struct forwards_change;

struct forwards {
	const struct config	*cfg;		/* the running configuration */
	const struct state	*st;		/* what we made, by state.json */
	struct fwd		*fwd;
	size_t			 nfwd;
	/* Forwards to take off the router: gone from the configuration. */
	struct state_mapping	*closing;
	size_t			 nclosing;
	int64_t			 closing_at;	/* retry removals from then */
	/* Forwards added through the API: state_dir/forwards.conf. */
	struct config_forward	*web;
	size_t			 nweb;
	bool			 web_broken;	/* unreadable: hands off */
	char			 web_err[512];
	/* The change being saved on a thread, and those that wait. */
	struct job		*save_job;
	struct forwards_change	*saving;
	struct forwards_change	*queue;
	bool			 stopping;
};

/*
 * cfg and st stay the caller's, for as long as fw lives; forwards_load
 * reads forwards.conf and makes the list.  0, or -1 out of memory.
 */
void	forwards_init(struct forwards *, const struct config *cfg,
	    const struct state *st);
int	forwards_load(struct forwards *);
void	forwards_free(struct forwards *);

/*
 * cfg's forwards and the API's together, keeping what is known of those
 * unchanged (a reload, before cfg replaces the running one).  Where an API
 * forward clashes with one of cfg, cfg wins and the API's is left out (it
 * stays in forwards.conf).  0, or -1 out of memory.
 */
int	forwards_merge(struct forwards *, const struct config *cfg);

/* The forward named name, or NULL. */
struct fwd *forwards_find(const struct forwards *, const char *name);

/* Whether m, a mapping state.json says we made, is still wanted. */
bool	forwards_wanted(const struct forwards *, const struct state_mapping *m);

/*
 * Every mapping of state.json no forward wants goes on the closing list;
 * forwards_close_all puts every forward's there and drops the forwards
 * (remove_on_exit).
 */
void	forwards_plan_closes(struct forwards *);
void	forwards_close_all(struct forwards *);
/* A removal that ended: the mapping is off the closing list. */
void	forwards_closed(struct forwards *, const char *name, uint16_t ext);

struct task;
/*
 * The mapper thread's tasks at now (monotonic ms) into t, which has room
 * for nclosing + nfwd: the removals due, then the forwards whose refresh
 * is due (or, verify, that are active: checked).  lease is the one asked
 * for.  Returns how many.
 */
size_t	forwards_tasks(const struct forwards *, struct task *t, int64_t now,
	    bool verify, uint32_t lease);

/*
 * f could not be made or refreshed, at now (monotonic ms): it is retried
 * after a back-off that doubles.  gone says the router is known to have
 * lost it; otherwise a forward whose lease still runs gets one retry
 * before it is failed, so that a lost packet does not make it flap.
 * prev_internal is this host's address before a change, or "".  Returns
 * whether f became failed or its error changed: f->error says why.
 */
bool	forwards_failed(struct fwd *f, const struct pm_error *err,
	    int64_t now, bool gone, const char *prev_internal);
/*
 * f was made or refreshed with a lease of lease s (0 permanent; refreshed
 * as if default_lease then).  Returns the state f was in.
 */
enum fwd_state forwards_done(struct fwd *f, enum pm_method method,
	    uint32_t lease, uint32_t default_lease, int64_t now);

/* f as the state file keeps it: made to this host's ip, for lease s. */
void	forwards_state(const struct fwd *f, const char *ip, uint32_t lease,
	    struct state_mapping *sm);

/*
 * Write-ahead: records in st the forwards that tasks t[0..n) are about to
 * make and st does not know yet, as made to ip (method is the round's,
 * when it names one).  A daemon killed between the router's answer and the
 * next state.json would otherwise leave a forward on the router that no
 * later run knows to remove.  Returns how many it recorded: the caller
 * writes st before the round begins.
 */
size_t	forwards_write_ahead(const struct forwards *, struct state *st,
	    const struct task *t, size_t n, const char *ip,
	    enum pm_method method);

/* Whether f is a UPnP forward the router granted without a lease. */
bool	forwards_permanent(const struct fwd *f);

/*
 * The router still has f, at now: a permanent forward is next looked at
 * as if it had default_lease (it is checked, never asked for again).
 */
void	forwards_verified(struct fwd *f, uint32_t default_lease, int64_t now);

/*
 * Submits a change of the API's forwards: f to add (add true), or the one
 * named name to remove.  Changes are checked and saved one after the
 * other, in the order they came: each is checked once the one before is
 * applied, saved on a thread, and applied (done called) once it is on
 * disk, since the API's answer promises that it survives a restart.
 * Returns the change's handle for forwards_cancel while done has not been
 * called yet, else NULL (done was called, or no memory: then it says so).
 */
struct forwards_change *forwards_submit(struct forwards *, bool add,
	    const struct config_forward *f, const char *name,
	    forwards_done_fn *done, void *arg);
/*
 * The submitter no longer waits: a change that waits is dropped, one being
 * saved is still applied, and done is not called.
 */
void	forwards_cancel(struct forwards *, struct forwards_change *);

/* The save's descriptor to poll, or -1; forwards_run applies a save that
 * ended and starts the next.  Returns how many changes were applied. */
int	forwards_fd(const struct forwards *);
int	forwards_run(struct forwards *);

/*
 * The router restarted or moved (an announcement, a new LOCATION or
 * BOOTID): a forward that failed on it may work now, so it is tried at
 * once rather than at the end of its back-off.
 */
void	forwards_retry_failed(struct forwards *, int64_t now);

/*
 * At stopping: waits for the save until deadline (monotonic ms), applies
 * it if it ended, and answers every change (FORWARDS_STOPPING for those
 * not made).
 */
void	forwards_stop(struct forwards *, int64_t deadline);

#endif
