/*
 * portkeeperd's insides, shared by its files: the forwards it keeps and the
 * control API.
 */
#ifndef PK_PKD_H
#define PK_PKD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <microhttpd.h>

#include "config.h"
#include "events.h"
#include "netinfo.h"
#include "portmap.h"
#include "state.h"
#include "round.h"
#include "watch.h"
#include "writer.h"

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

/* The daemon. */
struct pkd {
	char			 cfg_path[PATH_MAX];
	struct config		 cfg;
	struct fwd		*fwd;
	size_t			 nfwd;
	/* Forwards to take off the router: gone from the configuration. */
	struct state_mapping	*closing;
	size_t			 nclosing;
	int64_t			 closing_at;	/* retry removals from then */
	struct state		 st;
	bool			 st_dirty;
	int64_t			 st_touched;	/* last write, monotonic ms */
	struct writer		*st_writer;	/* writes state.json */
	char			 st_error[512];	/* the last write's, or "" */
	struct eventlog		 ev;
	struct hookq		 hooks;
	struct watch		 w;
	struct netinfo		 ni;
	bool			 ni_ok;
	char			 prev_internal[16];	/* before a change */
	struct portmap_info	 info;		/* from the last round */
	bool			 info_ok;
	char			 gw_error[384];	/* why the last discovery failed */
	int64_t			 info_time;	/* wall clock s */
	struct job		*job;		/* the round in flight */
	struct round		*round;
	int64_t			 round_deadline;
	int64_t			 verify_at;	/* monotonic ms */
	bool			 verify_now;
	bool			 epoch_known;
	uint32_t		 epoch;
	int64_t			 epoch_mono;
	int64_t			 netcheck_at;	/* debounced netlink news */
	struct api		*api;		/* pkd_api.c */
	/* Forwards added through the API: state_dir/forwards.conf. */
	struct config_forward	*webfwd;
	size_t			 nwebfwd;
	bool			 webfwd_broken;	/* unreadable: hands off */
	char			 webfwd_err[512];
	/* Bumped on every change the status document shows. */
	uint64_t		 gen;
	int			 sigfd;
	bool			 stopping;
	unsigned long		 nrounds, nrefreshes, nfailures, nextchanges;
};

/* Records an event: log line, event log, hook. */
void	pkd_event(struct pkd *, enum event_type, const char *forward,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Forwards through the API, in three steps, so that the loop never waits
 * for the disk: *_begin checks the change on the loop and prepares it (0,
 * or one of these with a sentence in msg); pkd_forward_save, on a thread of
 * its own (job_start), writes state_dir/forwards.conf; pkd_forward_commit,
 * back on the loop, applies the change once it is on disk (0, or
 * PKD_FAILED when it could not be saved: nothing changed).  One change at a
 * time: the next begins after the last was committed.
 */
#define PKD_CONFLICT	1	/* the name or external port is taken */
#define PKD_NOT_FOUND	2
#define PKD_READ_ONLY	3	/* from portkeeper.conf */
#define PKD_FAILED	4	/* could not be saved */
struct fwd_change;
int	pkd_forward_add_begin(struct pkd *, const struct config_forward *,
	    struct fwd_change **, char *msg, size_t msglen);
int	pkd_forward_remove_begin(struct pkd *, const char *name,
	    struct fwd_change **, char *msg, size_t msglen);
void	pkd_forward_save(void *change);
int	pkd_forward_commit(struct pkd *, struct fwd_change *, char *msg,
	    size_t msglen);
/* Whether it adds a forward (or removes one), and the forward's name. */
bool	pkd_forward_change_add(const struct fwd_change *, char *name,
	    size_t len);
/* Frees a change, committed or not (a job's free_arg). */
void	pkd_forward_change_free(void *change);

/*
 * The HTTP API (docs/api.md), in the daemon's loop: on the control socket,
 * and on TCP when the configuration has [web].  api_start fails only when
 * [web] cannot be served as configured.
 */
int	api_start(struct pkd *);
void	api_stop(struct pkd *);
/* SIGHUP: reloads [web]'s password file and host list. */
void	api_reload(struct pkd *, const struct config_web *old);
/* The descriptors to poll, the earliest deadline, and the work. */
int	api_fds(struct pkd *, int *fds, int max);
int64_t	api_deadline(struct pkd *, int64_t now);
void	api_run(struct pkd *, int64_t now);
/* The status document: the contract of `portkeeper status --json`. */
char	*api_status_json(struct pkd *);

#endif
