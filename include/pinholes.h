/*
 * The pinholes portkeeperd keeps (pinholes.c, pinholes_round.c): for each
 * forward kept over IPv6 (config_forward_v6) a pinhole for its internal
 * port to this host's IPv6 address, opened through portmap6 (PCP, then
 * UPnP IGD:2), refreshed at a random point between 1/2 and 5/8 of its
 * granted lifetime (RFC 6887 section 11.2.1), made again when the router
 * lost it (a PCP epoch that fails section 8.5's check, an UpdatePinhole
 * that finds nothing), and closed when its forward goes.  What identifies
 * each one on the router is kept in state.json (state_pinhole), so that a
 * restarted daemon adopts its pinholes without mapping them again.
 *
 * The router work runs in rounds on a thread of its own (job.h), beside
 * the IPv4 rounds (round.c), with a hard deadline; the loop only polls
 * pinholes_fds and calls pinholes_run.
 */
#ifndef PK_PINHOLES_H
#define PK_PINHOLES_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "eventlog.h"
#include "forwards.h"
#include "portmap6.h"
#include "state.h"

#define PINHOLES_ANNOUNCE_GROUP	"ff02::1"	/* RFC 6887 section 14.1.3 */
#define PINHOLES_ANNOUNCE_PORT	5350
#define PINHOLES_LEASE_MAX	86400	/* UPnP's AddPinhole maximum */

enum pinhole_state {
	PH_PENDING = 0,
	PH_ACTIVE,
	PH_FAILED,
	PH_OFF,		/* no IPv6 to open (ipv6 = auto), or method natpmp */
};

/* One forward's pinhole and what is known of it on the router. */
struct pinhole {
	char			name[CONFIG_NAME_MAX];
	enum pm_proto		proto;
	uint16_t		port;		/* the forward's internal port */
	enum pinhole_state	state;
	bool			have_id;	/* id is on the router */
	struct mapstore_entry	id;
	uint32_t		lease;		/* as granted */
	int64_t			refresh_at;	/* monotonic ms */
	int64_t			expires_at;	/* monotonic ms; 0 unknown */
	int64_t			last_refresh;	/* wall clock s; 0 never */
	unsigned		failures;	/* in a row, for back-off */
	char			error[384];	/* why it failed, or "" */
	bool			adopted;	/* the last run opened it */
	bool			cfg_off;	/* the configuration says no */
};

/* What the thread does for one pinhole in a round. */
enum pinholes_op { PHT_OPEN, PHT_REFRESH, PHT_VERIFY, PHT_CLOSE };

struct pinholes_task {
	enum pinholes_op	op;
	char			name[CONFIG_NAME_MAX];
	enum pm_proto		proto;
	uint16_t		port;
	uint32_t		lease;
	bool			have_id;
	struct mapstore_entry	id;
	int64_t			made;		/* wall clock s it was last made */
	/* Results. */
	int			rc;		/* 0 done, -1 err */
	bool			restored;	/* it was gone: made again */
	bool			removed;	/* CLOSE: the router had it */
	struct portmap6_result	res;
	struct pm_error		err;
	atomic_bool		done;		/* as round.h's task.done */
};

/* A round: find the address and the router, then run every task. */
struct pinholes_round {
	enum pm_method		via;		/* PM_AUTO, PM_PCP, PM_UPNP */
	int			timeout_ms;
	struct config_addr6	addr6;
	bool			announce;	/* ask PCP for its epoch */
	bool			have_epoch;
	uint32_t		epoch_prev;
	int64_t			epoch_s_prev;	/* monotonic s */
	struct pinholes_task	*t;
	size_t			nt;
	atomic_bool		abandoned;
	/* Results. */
	int			rc;		/* -1: no address or router */
	struct pm_error		err;
	char			addr[INET6_ADDRSTRLEN];
	const char		*kind;		/* netinfo6_kind's */
	struct in6_addr		gateway;	/* the IPv6 default gateway */
	unsigned		ifindex;	/* and its interface */
	bool			have_epoch_now;
	uint32_t		epoch;
	int64_t			epoch_s;
	bool			rebooted;	/* the epoch check failed */
	atomic_bool		discovered;
};

/* Runs a round on the thread (pinholes_round.c), and frees one. */
void	pinholes_round_run(void *arg);
void	pinholes_round_free(void *arg);

/* An event for the loop to record: detail is a sentence. */
typedef void	pinholes_event_fn(void *arg, enum event_type type,
		    const char *forward, const char *detail);

struct job;

struct pinholes {
	const struct config	*cfg;
	const struct forwards	*fw;
	struct state		*st;
	bool			*st_dirty;	/* set when st changed */
	pinholes_event_fn	*event;
	void			*event_arg;
	struct pinhole		*ph;
	size_t			 nph;
	/* This host's address as the last round found it, and why not. */
	char			 addr[INET6_ADDRSTRLEN];
	const char		*kind;
	char			 off_why[384];
	size_t			 nclosing;	/* records no pinhole holds */
	int64_t			 closing_at;	/* retry removals from then */
	bool			 epoch_known;
	uint32_t		 epoch;
	int64_t			 epoch_s;
	int64_t			 verify_at;	/* monotonic ms */
	unsigned		 announce_failures;	/* in a row */
	bool			 verify_now;
	struct job		*job;
	struct pinholes_round	*round;
	int64_t			 round_deadline;
	int			 ann_fd;	/* [ff02::1]:5350, or -1 */
	unsigned		 ann_ifindex;
	struct in6_addr		 gateway;	/* announcements come from it */
	bool			 stopping;
	unsigned long		 nrounds;
};

void	pinholes_init(struct pinholes *, const struct config *cfg,
	    const struct forwards *fw, struct state *st, bool *st_dirty,
	    pinholes_event_fn *event, void *event_arg);
void	pinholes_free(struct pinholes *);

/*
 * Makes the list follow the forwards (after a start, a reload, a change
 * through the API): a forward new to IPv6 gets a pinhole, one whose
 * record in state.json matches is adopted.  0, or -1 out of memory.
 */
int	pinholes_sync(struct pinholes *);

/* The descriptors to poll (at most max), and the earliest deadline. */
int	pinholes_fds(const struct pinholes *, int *fds, int max);
int64_t	pinholes_deadline(const struct pinholes *, int64_t now);

/*
 * Does what is due at now: reads announcements, applies a round that
 * ended (or gave up at its deadline), starts the next one.
 */
void	pinholes_run(struct pinholes *, int64_t now);

/* The router may have restarted: check every pinhole in the next round. */
void	pinholes_verify_now(struct pinholes *);

/*
 * This host's addresses moved (rtnetlink): when the address pinholes are
 * for is another now, every pinhole is checked in the next round, which
 * opens them for the new one.
 */
void	pinholes_netcheck(struct pinholes *);

/*
 * At a stop: waits for the round in flight until deadline, then, with
 * remove, closes every pinhole recorded (remove_on_exit).
 */
void	pinholes_stop(struct pinholes *, bool remove, int64_t deadline);

/* Whether the configuration lets pinholes be opened (ipv6, method). */
bool	pinholes_enabled(const struct pinholes *);

/* This host's IPv6 address as last found, or "". */
const char *pinholes_address(const struct pinholes *);

/* The pinhole of the forward called name, or NULL. */
const struct pinhole *pinholes_find(const struct pinholes *,
	    const char *name);

/*
 * When to refresh a lease of lease s, in ms from now: a random point
 * between 1/2 and 5/8 of it (RFC 6887 section 11.2.1), r a random number.
 */
int64_t	pinholes_refresh_ms(uint32_t lease, uint32_t r);

/* "pending", "active", "failed", "off". */
const char *pinholes_state_str(enum pinhole_state);

/*
 * A forward's "ipv6" object for the status document (state, method,
 * expires_in, error, address, port), or NULL when it has no pinhole.
 */
cJSON	*pinholes_forward_json(const struct pinholes *, const char *name,
	    int64_t now);

#endif
