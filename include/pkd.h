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
#include "forwards.h"
#include "netinfo.h"
#include "portmap.h"
#include "state.h"
#include "status.h"
#include "round.h"
#include "watch.h"
#include "writer.h"

/* The daemon. */
struct pkd {
	char			 cfg_path[PATH_MAX];
	struct config		 cfg;
	struct forwards		 fw;
	struct state		 st;
	bool			 st_dirty;
	int64_t			 st_touched;	/* last write, monotonic ms */
	struct writer		*st_writer;	/* writes state.json */
	char			 st_error[512];	/* the last write's, or "" */
	struct status		 status;	/* what it shows */
	struct hookq		 hooks;
	struct watch		 w;
	char			 prev_internal[16];	/* before a change */
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
	int			 sigfd;
	bool			 stopping;
};

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

#endif
