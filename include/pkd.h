/*
 * portkeeperd's insides, shared by its files: the forwards it keeps, the
 * rounds of router work its mapper thread runs, the watchers that hear the
 * router reboot, and the control API.
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
	/*
	 * Set by the mapper thread (release) once the results above are
	 * written, never to be touched by it again.  The loop reads the
	 * results only after seeing it set (acquire): at a round's deadline
	 * it keeps what the router did and fails only the rest.
	 */
	atomic_bool			done;
};

/*
 * A round: probe the router, then run every task, on the mapper thread.
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
	/* Results. */
	int			probe_rc;
	struct pm_error		probe_err;
	struct portmap_info	info;
	struct netinfo		ni;
	bool			ni_ok;
	bool			rebooted;	/* the epoch went backwards */
	int64_t			epoch_mono;	/* when the epoch was read */
	/* As task.done, for the results of the probe above. */
	atomic_bool		probed;
};

/*
 * Runs a round (on the mapper thread); frees nothing.  It publishes the
 * probe's results and then each task's as they are complete (see
 * task.done), and stops between tasks once the round is abandoned.
 */
void	round_run(void *arg);
void	round_free(void *arg);

/*
 * RFC 6886 section 3.6: a router whose epoch is less than 7/8 of the time
 * elapsed since the previous reply (minus 2 s) lost its mappings.
 */
bool	epoch_reset(uint32_t prev, int64_t prev_mono_ms, uint32_t now_epoch,
	    int64_t now_mono_ms);

/* The watchers: announcements, SSDP NOTIFY and netlink. */
struct watch {
	int		pmp_fd;		/* 224.0.0.1:5350 */
	int		ssdp_fd;	/* 239.255.255.250:1900 */
	int		nl_fd;		/* rtnetlink address and route groups */
	struct in_addr	gateway;
	struct in_addr	local;
	char		location[256];	/* the IGD's description URL as known */
	long		bootid;
};

void	watch_init(struct watch *);
/* (Re)opens the multicast listeners for this gateway and interface. */
void	watch_open(struct watch *, const struct netinfo *);
void	watch_close(struct watch *);

enum watch_news { WATCH_NOTHING = 0, WATCH_ROUTER, WATCH_NETWORK };
/* Reads what arrived on fd; says whether the router or our network moved. */
enum watch_news watch_read(struct watch *, int fd, char *why, size_t whylen);

/*
 * Checks an announcement datagram from the gateway: a NAT-PMP public address
 * announcement (RFC 6886 section 3.2.1) or a PCP ANNOUNCE (RFC 6887 section
 * 14.1).  Returns 1 with the epoch, 0 otherwise.
 */
int	watch_parse_announce(const unsigned char *buf, size_t len,
	    uint32_t *epoch);

/*
 * The state writer (pkd_writer.c): a thread that writes one file of dir
 * atomically (file_write_atomic), off the loop.  writer_start returns NULL
 * with errno when it cannot start.
 */
struct writer;
struct writer	*writer_start(const char *dir, const char *name,
		    unsigned int mode);
/* Hands over len bytes of text (malloc'd, now the writer's) to write. */
void		 writer_put(struct writer *, char *text, size_t len);
/* A descriptor that becomes readable when a write finished, for poll(). */
int		 writer_fd(const struct writer *);
/*
 * The outcome of the writes finished since the last call: 0 none, 1 all
 * written, -1 at least one failed (the last failure's "PATH: reason" in
 * err).
 */
int		 writer_collect(struct writer *, char *err, size_t errlen);
/* Waits until every text handed over is written: 0, or -1 at deadline. */
int		 writer_flush(struct writer *, int64_t deadline);
/* Stops the thread once it wrote what it was given, and frees it all. */
void		 writer_free(struct writer *);

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
	char			 gw_error[384];	/* why the last probe failed */
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
