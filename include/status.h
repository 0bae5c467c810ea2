/*
 * What portkeeperd shows of itself: the status document (the contract of
 * `portkeeper status --json`, docs/api.md), a forward's and an event's
 * JSON, and the metrics in Prometheus' text format.  The loop writes the
 * fields of struct status; everything here only reads them.
 */
#ifndef PK_STATUS_H
#define PK_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "eventlog.h"
#include "forwards.h"
#include "netinfo.h"
#include "pinholes.h"
#include "portmap.h"
#include "state.h"

struct status {
	const struct forwards	*fw;
	const struct state	*st;		/* external_ip_history */
	const struct pinholes	*ph;		/* IPv6; NULL: none */
	struct netinfo		 ni;
	bool			 ni_ok;
	struct portmap_info	 info;		/* from the last round */
	bool			 info_ok;
	char			 gw_error[384];	/* why the last discovery failed */
	int64_t			 info_time;	/* wall clock s */
	/* Bumped on every change the status document shows. */
	uint64_t		 gen;
	unsigned long		 nrounds, nrefreshes, nfailures, nextchanges;
	/* The document last built, for status_json_cached. */
	char			*cache;
	uint64_t		 cache_gen;
	int64_t			 cache_sec;
	/* Last: status_init clears what comes before, eventlog_init the rest. */
	struct eventlog		 ev;
};

/* fw and st stay the caller's for as long as s lives. */
void	status_init(struct status *, const struct forwards *fw,
	    const struct state *st);
void	status_free(struct status *);

/*
 * The router as a round's discovery found it (info_ok).  A quirk that only
 * a forward's making shows (PMQ_PERMANENT_ONLY) is kept while the router
 * is the same: its permanent forwards are not made again to show it.
 */
void	status_set_info(struct status *, const struct portmap_info *);

/* The status document, malloc'd; NULL out of memory. */
char	*status_json(const struct status *);
/*
 * The same, built at most once per generation and second (expires_in
 * moves every second); the pointer lives until the next call.
 */
const char *status_json_cached(struct status *);

/* A forward as GET /api/forwards/NAME shows it; now is monotonic ms. */
cJSON	*status_forward_json(const struct fwd *, int64_t now);
/*
 * Adds the forward called name's "ipv6" object to its JSON x: its pinhole
 * (pinholes_forward_json), or null without one.
 */
void	status_forward_ipv6(const struct status *, cJSON *x, const char *name,
	    int64_t now);
/* An event as the status document and the event streams show it. */
cJSON	*status_event_json(const struct event *);

/* The metrics text, malloc'd with its length in *len; NULL on error. */
char	*status_metrics(const struct status *, size_t *len);

#endif
