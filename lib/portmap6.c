#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "netinfo.h"
#include "pcp.h"
#include "portmap6.h"
#include "upnp_pinhole.h"
#include "util.h"

/*
 * In auto, how long PCP may take before UPnP is asked: a router without
 * PCP usually says so at once (ICMP port unreachable), but one whose
 * firewall drops the datagram says nothing, and the user should not wait
 * the whole timeout for that.
 */
#define PCP_AUTO_BUDGET_MS	1000

enum p6_state { P6_UNKNOWN = 0, P6_FOUND, P6_ABSENT };

struct portmap6 {
	enum pm_method		 via;
	int			 timeout_ms;
	struct netinfo6		 ni;
	bool			 have4;		/* UPnP is found over IPv4 */
	struct netinfo		 ni4;
	struct pcp		 pcp;
	bool			 pcp_is_open;
	enum p6_state		 up_state;
	struct upnp_pinhole_target up;
	struct portmap6_info	 info;
};

struct portmap6 *
portmap6_new(enum pm_method via, const char *want, int timeout_ms,
    struct pm_error *err)
{
	struct portmap6 *pm;
	struct pm_error e4;

	if ((pm = calloc(1, sizeof(*pm))) == NULL) {
		pmerr_set(err, PME_INTERNAL, 0, "out of memory");
		return NULL;
	}
	pm->via = via;
	pm->timeout_ms = timeout_ms;
	pm->pcp.fd = -1;
	if (netinfo6_get(&pm->ni, want, err) == -1) {
		free(pm);
		return NULL;
	}
	/* UPnP's description is found over IPv4; without it, PCP only. */
	pm->have4 = netinfo_get(&pm->ni4, &e4) == 0;
	return pm;
}

void
portmap6_free(struct portmap6 *pm)
{
	if (pm == NULL)
		return;
	if (pm->pcp_is_open)
		pcp_close(&pm->pcp);
	free(pm);
}

const struct netinfo6 *
portmap6_netinfo(const struct portmap6 *pm)
{
	return &pm->ni;
}

const struct portmap6_info *
portmap6_info(const struct portmap6 *pm)
{
	return &pm->info;
}

static int
pcp_ready(struct portmap6 *pm, struct pm_error *err)
{
	struct sockaddr_in6 src, gw;

	if (pm->pcp_is_open)
		return 0;
	memset(&src, 0, sizeof(src));
	src.sin6_family = AF_INET6;
	src.sin6_addr = pm->ni.addr;
	memset(&gw, 0, sizeof(gw));
	gw.sin6_family = AF_INET6;
	gw.sin6_addr = pm->ni.gateway;
	gw.sin6_port = htons(PCP_PORT);
	if (IN6_IS_ADDR_LINKLOCAL(&pm->ni.gateway))
		gw.sin6_scope_id = pm->ni.ifindex;
	if (pcp_open(&pm->pcp, (struct sockaddr *)&src,
	    (struct sockaddr *)&gw, err) == -1)
		return -1;
	pm->pcp_is_open = true;
	return 0;
}

/* The router's firewall service, found once. */
static int
upnp_ready(struct portmap6 *pm, struct pm_error *err)
{
	if (pm->up_state == P6_FOUND)
		return 0;
	if (pm->up_state == P6_ABSENT) {
		*err = pm->info.upnp_error;
		return -1;
	}
	if (!pm->have4) {
		pmerr_set(err, PME_NO_GATEWAY, 0, "cannot look for the "
		    "router's UPnP IPv6 firewall: this host has no IPv4 "
		    "default route to find its description on");
	} else if (upnp_pinhole_find(&pm->up, pm->ni4.gateway,
	    pm->ni4.internal, &pm->ni.gateway, pm->ni.ifindex, &pm->ni.addr,
	    mono_ms() + pm->timeout_ms, err) == 0) {
		pm->up_state = P6_FOUND;
		pm->info.upnp_found = true;
		return 0;
	}
	pm->up_state = P6_ABSENT;
	pm->info.upnp_error = *err;
	return -1;
}

int
portmap6_discover(struct portmap6 *pm, struct pm_error *err)
{
	struct pcp_response res;
	struct pm_error e;
	int budget = pm->timeout_ms < 2 * PCP_AUTO_BUDGET_MS ?
	    pm->timeout_ms / 2 : PCP_AUTO_BUDGET_MS;

	if (pm->via != PM_UPNP) {
		if (pcp_ready(pm, &e) == 0 && pcp_announce(&pm->pcp,
		    mono_ms() + budget, &res, &e) == 0) {
			pm->info.pcp_found = true;
			pm->info.pcp_epoch = res.epoch;
		} else
			pm->info.pcp_error = e;
	}
	if (pm->via != PM_PCP && upnp_ready(pm, &e) == 0) {
		if (upnp_pinhole_status(&pm->up, &pm->info.firewall_enabled,
		    &pm->info.inbound_pinhole_allowed, mono_ms() +
		    pm->timeout_ms, &e) == 0)
			pm->info.upnp_status_known = true;
	}
	if (pm->info.pcp_found || pm->info.upnp_found)
		return 0;
	if (pm->via == PM_PCP)
		*err = pm->info.pcp_error;
	else if (pm->via == PM_UPNP)
		*err = pm->info.upnp_error;
	else
		pmerr_set(err, PME_NO_GATEWAY, 0, "the router at %s opens no "
		    "IPv6 pinholes: PCP: %s; UPnP: %s", pm->ni.gateway_str,
		    pm->info.pcp_error.msg, pm->info.upnp_error.msg);
	return -1;
}

static void
result_id(struct portmap6 *pm, enum pm_proto proto, uint16_t port,
    uint32_t lease, struct portmap6_result *res)
{
	struct mapstore_entry *id = &res->id;

	id->family = 6;
	id->proto = proto;
	str_copy(id->addr, pm->ni.addr_str, sizeof(id->addr));
	id->port = port;
	id->ext_port = port;
	id->expires = (int64_t)time(NULL) + lease;
	res->lease = lease;
}

static int
open_pcp(struct portmap6 *pm, enum pm_proto proto, uint16_t port,
    uint32_t lease, int64_t deadline, struct portmap6_result *res,
    bool *answered, struct pm_error *err)
{
	struct pcp_response pr;

	*answered = false;
	if (pcp_ready(pm, err) == -1)
		return -1;
	if (pcp_nonce_new(res->id.nonce, err) == -1)
		return -1;
	memset(&pr, 0, sizeof(pr));
	pr.version = -1;
	if (pcp_map(&pm->pcp, proto == PM_UDP ? IPPROTO_UDP : IPPROTO_TCP,
	    port, port, &pm->ni.addr, lease, res->id.nonce, deadline, &pr,
	    err) == -1) {
		*answered = pr.version == PCP_VERSION;
		return -1;
	}
	res->method = PM_PCP;
	res->id.kind = MS_PCP;
	res->epoch = pr.epoch;
	result_id(pm, proto, port, pr.lifetime, res);
	return 0;
}

int
portmap6_remap(struct portmap6 *pm, const struct mapstore_entry *id,
    uint32_t lease, struct portmap6_result *res, struct pm_error *err)
{
	struct pcp_response pr;

	memset(res, 0, sizeof(*res));
	if (pcp_ready(pm, err) == -1)
		return -1;
	memset(&pr, 0, sizeof(pr));
	if (pcp_map(&pm->pcp, id->proto == PM_UDP ? IPPROTO_UDP :
	    IPPROTO_TCP, id->port, id->port, &pm->ni.addr, lease, id->nonce,
	    mono_ms() + pm->timeout_ms, &pr, err) == -1)
		return -1;
	res->method = PM_PCP;
	res->id = *id;
	res->epoch = pr.epoch;
	result_id(pm, id->proto, id->port, pr.lifetime, res);
	return 0;
}

int
portmap6_announce(struct portmap6 *pm, uint32_t *epoch, struct pm_error *err)
{
	struct pcp_response pr;

	if (pcp_ready(pm, err) == -1 || pcp_announce(&pm->pcp, mono_ms() +
	    pm->timeout_ms, &pr, err) == -1)
		return -1;
	*epoch = pr.epoch;
	return 0;
}

static int
open_upnp(struct portmap6 *pm, enum pm_proto proto, uint16_t port,
    uint32_t lease, struct portmap6_result *res, struct pm_error *err)
{
	uint16_t uid;

	if (upnp_ready(pm, err) == -1)
		return -1;
	if (lease > UPNP_PINHOLE_LEASE_MAX)
		lease = UPNP_PINHOLE_LEASE_MAX;
	if (upnp_pinhole_add(&pm->up, proto, port, lease, &uid,
	    mono_ms() + pm->timeout_ms, err) == -1)
		return -1;
	res->method = PM_UPNP;
	res->id.kind = MS_UPNP_PINHOLE;
	res->id.unique_id = uid;
	result_id(pm, proto, port, lease, res);
	return 0;
}

int
portmap6_renew(struct portmap6 *pm, const struct mapstore_entry *id,
    uint32_t lease, struct portmap6_result *res, struct pm_error *err)
{
	int r;

	memset(res, 0, sizeof(*res));
	if (id->kind != MS_UPNP_PINHOLE || pm->via == PM_PCP)
		return 0;
	if (lease > UPNP_PINHOLE_LEASE_MAX)
		lease = UPNP_PINHOLE_LEASE_MAX;
	if (upnp_ready(pm, err) == -1 || lease == 0)
		return 0;
	if ((r = upnp_pinhole_update(&pm->up, id->unique_id, lease,
	    mono_ms() + pm->timeout_ms, err)) != 1)
		return r;
	res->method = PM_UPNP;
	res->id = *id;
	result_id(pm, id->proto, id->port, lease, res);
	return 1;
}

int
portmap6_open(struct portmap6 *pm, enum pm_proto proto, uint16_t port,
    uint32_t lease, struct portmap6_result *res, struct pm_error *err)
{
	struct pm_error pe;
	int64_t deadline = mono_ms() + pm->timeout_ms;
	bool answered;

	memset(res, 0, sizeof(*res));
	if (lease == 0) {
		pmerr_set(err, PME_USAGE, 0, "IPv6 pinholes cannot be "
		    "permanent: give a lease from 1 to %d seconds, and let "
		    "portkeeperd renew it", UPNP_PINHOLE_LEASE_MAX);
		return -1;
	}
	if (pm->via == PM_UPNP)
		return open_upnp(pm, proto, port, lease, res, err);
	if (pm->via == PM_AUTO) {
		int budget = pm->timeout_ms < 2 * PCP_AUTO_BUDGET_MS ?
		    pm->timeout_ms / 2 : PCP_AUTO_BUDGET_MS;

		deadline = mono_ms() + budget;
	}
	if (open_pcp(pm, proto, port, lease, deadline, res, &answered,
	    &pe) == 0)
		return 0;
	if (pm->via == PM_PCP) {
		*err = pe;
		return -1;
	}
	log_debug("PCP did not open port %u over IPv6 (%s); asking UPnP",
	    port, pe.msg);
	if (open_upnp(pm, proto, port, lease, res, err) == 0) {
		if (answered)
			snprintf(res->note, sizeof(res->note), "PCP refused "
			    "it (%.200s); UPnP opened it", pe.msg);
		return 0;
	}
	/* PCP's refusal says more than UPnP's absence. */
	if (answered && pm->up_state == P6_ABSENT)
		*err = pe;
	return -1;
}

static int
close_pcp(struct portmap6 *pm, const struct mapstore_entry *id,
    bool *removed, struct pm_error *err)
{
	struct pcp_response pr;
	char when[64];
	time_t t = (time_t)id->expires;
	struct tm tm;

	if (pcp_ready(pm, err) == -1)
		return -1;
	memset(&pr, 0, sizeof(pr));
	if (pcp_map(&pm->pcp, id->proto == PM_UDP ? IPPROTO_UDP : IPPROTO_TCP,
	    id->port, 0, &pm->ni.addr, 0, id->nonce, mono_ms() +
	    pm->timeout_ms, &pr, err) == 0) {
		*removed = true;
		return 0;
	}
	if (pr.version != PCP_VERSION || pr.result != PCP_NOT_AUTHORIZED)
		return -1;
	/*
	 * miniupnpd before 2.3.6 refuses its owner's delete of a pinhole
	 * that was refreshed: it can only run out.  A refresh with the same
	 * nonce is still allowed, so ask for the shortest lifetime the router
	 * grants (RFC 6887 section 15 lets it raise a short one).
	 */
	memset(&pr, 0, sizeof(pr));
	if (pcp_map(&pm->pcp, id->proto == PM_UDP ? IPPROTO_UDP : IPPROTO_TCP,
	    id->port, id->port, &pm->ni.addr, 1, id->nonce, mono_ms() +
	    pm->timeout_ms, &pr, err) == 0)
		t = time(NULL) + (time_t)pr.lifetime;
	when[0] = '\0';
	if (t > 0 && localtime_r(&t, &tm) != NULL)
		strftime(when, sizeof(when), " at %H:%M:%S", &tm);
	pmerr_set(err, PME_REFUSED, pr.result, "the router refused to close "
	    "the pinhole of port %u/%s over PCP (NOT_AUTHORIZED), as "
	    "miniupnpd before 2.3.6 does once a pinhole was renewed; "
	    "portkeeper cut its lease to the shortest the router grants, so "
	    "it closes by itself%s", id->port,
	    portspec_proto_str(id->proto), when);
	return -1;
}

int
portmap6_close(struct portmap6 *pm, const struct mapstore_entry *id,
    bool *removed, enum pm_method *method, struct pm_error *err)
{
	int r;

	*removed = false;
	if (id->kind == MS_PCP) {
		*method = PM_PCP;
		return close_pcp(pm, id, removed, err);
	}
	*method = PM_UPNP;
	if (upnp_ready(pm, err) == -1)
		return -1;
	if ((r = upnp_pinhole_delete(&pm->up, id->unique_id, mono_ms() +
	    pm->timeout_ms, err)) == -1)
		return -1;
	*removed = r == 1;
	return 0;
}
