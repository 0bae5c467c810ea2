/*
 * What portmap.c and its backends (portmap_upnp.c, portmap_natpmp.c,
 * portmap_pcp.c) share:
 * the session behind the public struct portmap.  Private to lib/.
 */
#ifndef PK_PORTMAP_IMPL_H
#define PK_PORTMAP_IMPL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "job.h"
#include "pcp.h"
#include "pmp.h"
#include "portmap.h"
#include "portmap_memo.h"
#include "upnp.h"

/*
 * A UPnP call ends by its own deadline this much before the caller stops
 * waiting for it, so that the caller hears why it failed.
 */
#define UPNP_MARGIN_MS		200

enum proto_state { PS_OFF = 0, PS_PENDING, PS_FOUND, PS_FAILED };

/*
 * The UPnP side lives on the heap with a reference count: a call that misses
 * its deadline keeps running on its thread and must still find the IGD.
 */
struct upnp_sess {
	pthread_mutex_t	 lock;
	int		 refs;
	struct upnp_igd	 igd;
};

enum upnp_op { UOP_DISCOVER, UOP_ADD, UOP_GET, UOP_DELETE, UOP_LIST };

struct upnp_call {
	struct upnp_sess	*sess;
	enum upnp_op		 op;
	int64_t			 deadline;
	struct in_addr		 gateway, local;
	enum pm_proto		 proto;
	uint16_t		 ext, in;
	uint32_t		 lease;
	char			 client[INET_ADDRSTRLEN];
	char			 desc[80];
	/* Results, read by the caller once the job is done. */
	int			 want_status;
	int			 resume;	/* upnp_resume the IGD first */
	int			 rc;
	struct pm_error		 err;
	char			 ext_ip[16];
	int			 connected;
	char			 status[64];
	struct pm_mapping	 m;
	struct pm_mapping	*list;
	size_t			 nlist;
};

struct portmap {
	enum pm_method		 via;
	int			 timeout_ms;
	struct netinfo		 ni;
	struct portmap_info	 info;
	int			 discovered;
	enum pm_method		 first;		/* the first to answer */
	struct pmp		 pmp;
	enum proto_state	 nat_state;
	enum proto_state	 up_state;
	struct upnp_sess	*sess;
	struct job		*disc_job;
	struct upnp_call	*disc_call;
	struct pcp		 pcp;		/* --via pcp, or auto's PCP side */
	/*
	 * With auto (unless portmap_auto_without_pcp), PCP is asked beside
	 * NAT-PMP on the same port 5351 and serves when it answers.
	 */
	bool			 auto_pcp;
	enum proto_state	 pcp_state;
	bool			 pcp_asked;	/* its address was asked */
	int64_t			 nat_at;	/* when NAT-PMP answered */
	int64_t			 pcp_at;	/* when PCP answered */
	/* What an earlier session learned (portmap_recall), and its plan. */
	struct portmap_memo	*memo;
	struct portmap_plan	 plan;
	/* A UPnP request failed without a UPnP error: the IGD may have moved. */
	bool			 upnp_broke;
};

/* portmap_upnp.c: UPnP calls on a thread with a hard deadline. */
void	portmap_upnp_unref(struct upnp_sess *);
struct upnp_call *portmap_upnp_call_new(struct portmap *, enum upnp_op);
/* The call's own return value with *out copied, or -1 with err set. */
int	portmap_upnp_run(struct portmap *, struct upnp_call *c,
	    struct upnp_call *out, struct pm_error *err);
/* 0, or -1 with err set when ip is no address a router's WAN can have. */
int	portmap_check_external(char ip[16], const char *via,
	    struct pm_error *err);
void	portmap_upnp_discovered(struct portmap *);
int	portmap_upnp_start(struct portmap *, int64_t deadline, int want_status);
void	portmap_upnp_wait(struct portmap *, int64_t deadline);
/* 1 with *m, 0 none, -1 error. */
int	portmap_upnp_get_entry(struct portmap *, enum pm_proto, uint16_t ext,
	    struct pm_mapping *m, struct pm_error *err);
/* 1 with *m, 0 when unknown. */
int	portmap_lookup_holder(struct portmap *, enum pm_proto, uint16_t ext,
	    struct pm_mapping *m);
void	portmap_conflict(struct portmap *, const struct portspec *,
	    int router_code, const char *extra, struct pm_error *err);
int	portmap_upnp_open(struct portmap *, const struct portspec *,
	    uint32_t lease, const char *desc, struct portmap_open_result *res,
	    struct pm_error *err);

/* portmap_memo.c: 1 with the IGD remembered put in igd, once; else 0. */
int	portmap_memo_resume(struct portmap *, struct upnp_igd *igd);

/* portmap_natpmp.c: the NAT-PMP backend. */
void	portmap_natpmp_answered(struct portmap *, const struct pmp_reply *);
int	portmap_natpmp_open(struct portmap *, const struct portspec *,
	    uint32_t lease, bool any_port, struct portmap_open_result *res,
	    struct pm_error *err);
int	portmap_natpmp_close(struct portmap *, const struct portspec *,
	    bool *removed, struct pm_error *err);

/* portmap_pcp.c: the PCP backend (RFC 6887), IPv4 forwards. */
int	portmap_pcp_discover(struct portmap *, struct pm_error *err);
/* auto's PCP side: sends the ANNOUNCE, reads its answer, asks the address. */
void	portmap_pcp_start(struct portmap *);
void	portmap_pcp_read(struct portmap *);
void	portmap_pcp_address(struct portmap *, int64_t deadline);
int	portmap_pcp_open(struct portmap *, const struct portspec *,
	    uint32_t lease, bool any_port, struct portmap_open_result *res,
	    struct pm_error *err);
int	portmap_pcp_close(struct portmap *, const struct portspec *,
	    const uint8_t *nonce, bool *removed, struct pm_error *err);

#endif
