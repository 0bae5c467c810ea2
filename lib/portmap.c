#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "log.h"
#include "pmp.h"
#include "portmap.h"
#include "portmap_impl.h"
#include "upnp.h"
#include "util.h"

/* After the first protocol answers, how long `all` discovery waits for the other. */
#define DISCOVER_GRACE_MS		500
/*
 * With auto, NAT-PMP gets this head start before UPnP discovery begins, as
 * in Happy Eyeballs (RFC 8305): a NAT-PMP router answers within a few
 * milliseconds on a LAN, and UPnP's SSDP and HTTP traffic would only slow
 * the single-threaded router down while it does.
 */
#define NATPMP_HEAD_START_MS	50
/*
 * With auto, PCP's ANNOUNCE (RFC 6887 section 14.1) leaves just before
 * NAT-PMP's public-address request, from another socket to the same port
 * 5351; after NAT-PMP answered, PCP gets this long more to answer and
 * serve instead.  A router that speaks both answers both from one process
 * within a millisecond of each other (miniupnpd in the simulated home
 * network: under 1 ms apart), and one that speaks only NAT-PMP answers
 * version 0 at once (section 9); only a router that drops version 2
 * silently costs the whole grace, once per run, so it stays short.
 */
#define PCP_GRACE_MS		50


struct portmap *
portmap_new(enum pm_method via, int timeout_ms, struct pm_error *err)
{
	struct portmap *pm;

	if ((pm = calloc(1, sizeof(*pm))) == NULL) {
		pmerr_set(err, PME_INTERNAL, 0, "out of memory");
		return NULL;
	}
	pm->via = via;
	pm->timeout_ms = timeout_ms;
	pm->pcp.fd = -1;
	pm->auto_pcp = true;
	pm->plan.ask_natpmp = pm->plan.ask_upnp = true;
	if (netinfo_get(&pm->ni, err) == -1) {
		free(pm);
		return NULL;
	}
	if ((pm->sess = calloc(1, sizeof(*pm->sess))) == NULL) {
		free(pm);
		pmerr_set(err, PME_INTERNAL, 0, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&pm->sess->lock, NULL);
	pm->sess->refs = 1;
	log_debug("gateway %s via %s, this host %s", pm->ni.gateway_str,
	    pm->ni.ifname, pm->ni.internal_str);
	return pm;
}

void
portmap_auto_without_pcp(struct portmap *pm)
{
	pm->auto_pcp = false;
}

void
portmap_free(struct portmap *pm)
{
	if (pm == NULL)
		return;
	pmp_close(&pm->pmp);
	pcp_close(&pm->pcp);
	job_release(pm->disc_job);
	portmap_upnp_unref(pm->sess);
	free(pm);
}

const struct netinfo *
portmap_netinfo(const struct portmap *pm)
{
	return &pm->ni;
}

const struct portmap_info *
portmap_info(const struct portmap *pm)
{
	return &pm->info;
}

static void
choose(struct portmap *pm)
{
	struct portmap_info *in = &pm->info;
	const char *ip;
	bool natpmp;

	in->method = pm->first;
	ip = in->method == PM_UPNP ? in->upnp_external_ip :
	    in->method == PM_PCP ? in->pcp_external_ip : in->natpmp_external_ip;
	/*
	 * PCP named no address (it has no question for it alone): the same
	 * router's NAT-PMP answer, when auto asked both, tells it instead.
	 */
	natpmp = in->method == PM_NATPMP || (in->method == PM_PCP &&
	    ip[0] == '\0' && in->natpmp_found);
	if (natpmp)
		ip = in->natpmp_external_ip;
	str_copy(in->external_ip, ip, sizeof(in->external_ip));
	if (natpmp && in->natpmp_result == 3)
		in->external_class = ADDR_NONE;
	else {
		struct in_addr a;

		in->external_class = addr_parse(in->external_ip, &a);
	}
}

/* PCP alone: asked for by name, it races nothing. */
static int
discover_pcp(struct portmap *pm, struct pm_error *err)
{
	if (!pm->discovered) {
		pm->discovered = 1;
		if (portmap_pcp_discover(pm, &pm->info.pcp_error) == 0)
			pm->first = PM_PCP;
	}
	if (pm->first != PM_PCP) {
		*err = pm->info.pcp_error;
		return -1;
	}
	choose(pm);
	return 0;
}

/* Sends NAT-PMP's question, with auto's PCP one beside it. */
static void
discover_natpmp(struct portmap *pm)
{
	struct pm_error e;

	/* PCP first: its answer then tends to come first too. */
	if (pm->via == PM_AUTO && pm->auto_pcp)
		portmap_pcp_start(pm);
	if (pmp_open(&pm->pmp, pm->ni.gateway, &e) == -1) {
		pm->nat_state = PS_FAILED;
		pm->info.natpmp_error = e;
	} else if (pmp_send_public(&pm->pmp) == -1) {
		pm->nat_state = PS_FAILED;
		pmerr_set(&pm->info.natpmp_error, PME_NETWORK, 0,
		    "cannot send a NAT-PMP request to %s", pm->ni.gateway_str);
	} else
		pm->nat_state = PS_PENDING;
}

/*
 * Sends the first questions, those the plan asks (portmap_memo.h); returns
 * when UPnP discovery is to begin.
 */
static int64_t
discover_start(struct portmap *pm, int all, int64_t start)
{
	if (pm->via != PM_UPNP && pm->plan.ask_natpmp)
		discover_natpmp(pm);
	if (pm->via == PM_NATPMP || !pm->plan.ask_upnp)
		return INT64_MAX;
	return pm->via == PM_AUTO && !all && pm->nat_state == PS_PENDING ?
	    start + NATPMP_HEAD_START_MS : start;
}

/*
 * The protocols remembered to answer have not, within half the time, or
 * failed: ask those remembered silent after all (a router may have
 * switched), in the time left.
 */
static void
discover_fallback(struct portmap *pm, int64_t now, int64_t *upnp_at)
{
	log_debug("discover: no answer from what answered before; asking "
	    "the rest too");
	if (pm->nat_state == PS_OFF)
		discover_natpmp(pm);
	if (pm->up_state == PS_OFF && *upnp_at == INT64_MAX)
		*upnp_at = now;
}

/* Until when PCP's answer is still worth waiting for (0: no longer). */
static int64_t
discover_pcp_until(const struct portmap *pm)
{
	if (pm->pcp_state != PS_PENDING)
		return 0;
	return pm->nat_state == PS_PENDING ? INT64_MAX :
	    pm->nat_at + PCP_GRACE_MS;
}

/*
 * Until when NAT-PMP's answer is still worth waiting for after PCP won (0:
 * no longer): its public address, asked at the same moment, spares PCP a
 * query (portmap_pcp_address); a PCP server answers NAT-PMP too (RFC 6887
 * appendix A), so it comes at once or not at all.
 */
static int64_t
discover_nat_until(const struct portmap *pm)
{
	if (pm->first != PM_PCP || pm->nat_state != PS_PENDING)
		return 0;
	return pm->pcp_at + PCP_GRACE_MS;
}

/* Reads what arrived on the pfd polled (NAT-PMP, PCP, UPnP's job). */
static void
discover_read(struct portmap *pm, const struct pollfd *pfd, nfds_t n)
{
	struct pmp_reply r;
	struct pm_error e;
	nfds_t i;
	int rc;

	for (i = 0; i < n; i++) {
		if (pfd[i].revents == 0)
			continue;
		if (pm->nat_state == PS_PENDING &&
		    pfd[i].fd == pmp_fd(&pm->pmp)) {
			rc = pmp_read(&pm->pmp, &r, &e);
			if (rc == 1)
				portmap_natpmp_answered(pm, &r);
			else if (rc == -1) {
				pm->nat_state = PS_FAILED;
				pm->info.natpmp_error = e;
			}
			if (pm->nat_state != PS_PENDING)
				pm->nat_at = mono_ms();
		} else if (pm->pcp_state == PS_PENDING &&
		    pfd[i].fd == pcp_fd(&pm->pcp))
			portmap_pcp_read(pm);
	}
	if (pm->up_state == PS_PENDING && job_done(pm->disc_job))
		portmap_upnp_discovered(pm);
}

/* Polls the questions pending until wake; returns how many fds. */
static nfds_t
discover_poll(struct portmap *pm, int64_t now, int64_t wake,
    struct pollfd pfd[3])
{
	nfds_t n = 0;

	if (pm->nat_state == PS_PENDING) {
		pmp_tick(&pm->pmp, now);
		if (pmp_resend_at(&pm->pmp) < wake)
			wake = pmp_resend_at(&pm->pmp);
		pfd[n].fd = pmp_fd(&pm->pmp);
		pfd[n++].events = POLLIN;
	}
	if (discover_pcp_until(pm) > now) {
		pcp_tick(&pm->pcp, now);
		if (pcp_resend_at(&pm->pcp) < wake)
			wake = pcp_resend_at(&pm->pcp);
		if (discover_pcp_until(pm) < wake)
			wake = discover_pcp_until(pm);
		pfd[n].fd = pcp_fd(&pm->pcp);
		pfd[n++].events = POLLIN;
	}
	if (pm->up_state == PS_PENDING) {
		pfd[n].fd = job_fd(pm->disc_job);
		pfd[n++].events = POLLIN;
	}
	if (poll(pfd, n, ms_until(wake)) <= 0)
		return 0;
	return n;
}

/* Nothing usable answered: why, as a person can act on it. */
static void
discover_none(struct portmap *pm, struct pm_error *err)
{
	const char *which = pm->via == PM_UPNP ? "no UPnP-IGD" :
	    pm->via == PM_NATPMP ? "no NAT-PMP" :
	    "neither UPnP-IGD nor NAT-PMP";
	enum pm_errcode nc = pm->info.natpmp_error.code;

	pmerr_set(err, PME_NO_GATEWAY, 0, "%s answered at the default "
	    "gateway %s within %d ms: switch on UPnP or NAT-PMP in the "
	    "router's settings, or forward the port by hand in its "
	    "admin page", which, pm->ni.gateway_str, pm->timeout_ms);
	/* A router that answered wrongly says more than silence. */
	if (pm->info.upnp_error.code != PME_OK &&
	    pm->info.upnp_error.code != PME_NO_GATEWAY)
		*err = pm->info.upnp_error;
	else if (nc == PME_BAD_REPLY || nc == PME_TIMEOUT)
		*err = pm->info.natpmp_error;
}

int
portmap_discover(struct portmap *pm, int all, struct pm_error *err)
{
	int64_t start = mono_ms(), deadline = start + pm->timeout_ms;
	int64_t grace = INT64_MAX, upnp_at = INT64_MAX, fallback_at = INT64_MAX;

	if (pm->via == PM_PCP)
		return discover_pcp(pm, err);
	if (!pm->discovered) {
		pm->discovered = 1;
		upnp_at = discover_start(pm, all, start);
		if (pm->via == PM_AUTO &&
		    (!pm->plan.ask_natpmp || !pm->plan.ask_upnp))
			fallback_at = start + pm->timeout_ms / 2;
	} else if (all && pm->up_state == PS_OFF && pm->via != PM_NATPMP &&
	    pm->plan.ask_upnp)
		upnp_at = start;	/* an earlier discovery never needed it */

	for (;;) {
		struct pollfd pfd[3];
		int64_t now = mono_ms(), wake;
		int64_t pcp_until = discover_pcp_until(pm);
		bool idle = pm->nat_state != PS_PENDING &&
		    pm->up_state != PS_PENDING && pcp_until <= now &&
		    upnp_at == INT64_MAX;
		nfds_t n;

		if (pm->first != PM_AUTO)
			fallback_at = INT64_MAX;
		else if (now >= fallback_at ||
		    (idle && fallback_at != INT64_MAX)) {
			fallback_at = INT64_MAX;
			discover_fallback(pm, now, &upnp_at);
			continue;
		}
		if (idle)
			break;
		/*
		 * NAT-PMP answered first: PCP, if it answers, serves for it.
		 * PCP first: NAT-PMP's address is on its way.
		 */
		if (pm->first != PM_AUTO && !all &&
		    !(pm->first == PM_NATPMP && pcp_until > now) &&
		    discover_nat_until(pm) <= now)
			break;
		if (pm->first != PM_AUTO && grace == INT64_MAX)
			grace = now + DISCOVER_GRACE_MS;
		if (now >= deadline || now >= grace)
			break;
		/* NAT-PMP won and waits only for PCP: UPnP is not needed. */
		if (pm->first != PM_AUTO && !all)
			upnp_at = INT64_MAX;
		if (upnp_at != INT64_MAX && (now >= upnp_at ||
		    (pm->nat_state == PS_FAILED && pcp_until <= now))) {
			upnp_at = INT64_MAX;
			if (portmap_upnp_start(pm, deadline, all) == -1) {
				pm->up_state = PS_FAILED;
				pmerr_set(&pm->info.upnp_error, PME_INTERNAL, 0,
				    "cannot start a thread");
			}
		}
		wake = deadline < grace ? deadline : grace;
		if (upnp_at < wake)
			wake = upnp_at;
		if (discover_nat_until(pm) > now && discover_nat_until(pm) < wake)
			wake = discover_nat_until(pm);
		if (fallback_at < wake)
			wake = fallback_at;
		if ((n = discover_poll(pm, now, wake, pfd)) > 0)
			discover_read(pm, pfd, n);
	}
	/*
	 * Nothing usable by the deadline.  UPnP discovery ends by the same
	 * deadline: give it a moment to say why (a router that drips its
	 * description is not a router without UPnP).
	 */
	if (pm->first == PM_AUTO && pm->up_state == PS_PENDING)
		portmap_upnp_wait(pm, mono_ms() + UPNP_MARGIN_MS);
	if (pm->first == PM_AUTO && pm->nat_state == PS_PENDING)
		pmp_bad_replies(&pm->pmp, &pm->info.natpmp_error);
	log_debug("discover: NAT-PMP %d, PCP %d, UPnP %d after %lld ms",
	    pm->nat_state, pm->pcp_state, pm->up_state,
	    (long long)(mono_ms() - start));
	if (pm->first == PM_AUTO) {
		discover_none(pm, err);
		return -1;
	}
	if (pm->first == PM_PCP)
		portmap_pcp_address(pm, mono_ms() + pm->timeout_ms);
	choose(pm);
	return 0;
}

/* Explains a WAN address that cannot receive from the internet. */
static void
no_public_address(struct portmap *pm, struct pm_error *err)
{
	struct portmap_info *in = &pm->info;
	const char *advice = "forwarding from the internet cannot work "
	    "through it; ask the ISP for a public IPv4 address, use IPv6, or "
	    "use a tunnel or relay";

	switch (in->external_class) {
	case ADDR_NONE:
		if (in->method != PM_UPNP && in->natpmp_found &&
		    in->natpmp_result == 3)
			pmerr_set(err, PME_NO_PUBLIC_ADDRESS, 3, "the router "
			    "has no public address (NAT-PMP result 3): it sits "
			    "behind carrier-grade NAT or another router, or "
			    "its internet link is down; %s", advice);
		else
			pmerr_set(err, PME_NO_PUBLIC_ADDRESS, 0, "the router "
			    "reports no external address: it sits behind "
			    "carrier-grade NAT or another router, or its "
			    "internet link is down; %s", advice);
		break;
	case ADDR_CGNAT:
		pmerr_set(err, PME_NO_PUBLIC_ADDRESS, 0, "the router's WAN "
		    "address %s is in the carrier-grade NAT range "
		    "100.64.0.0/10: the ISP shares one public address among "
		    "many customers; %s", in->external_ip, advice);
		break;
	case ADDR_PRIVATE:
		pmerr_set(err, PME_NO_PUBLIC_ADDRESS, 0, "the router's WAN "
		    "address %s is private: another router or the ISP's NAT "
		    "sits in front of it (double NAT); %s", in->external_ip,
		    advice);
		break;
	case ADDR_INVALID:
		pmerr_set(err, PME_BAD_REPLY, 0, "the router reported "
		    "\"%.40s\" as its external address, which is not an IPv4 "
		    "address", in->external_ip);
		break;
	default:
		pmerr_set(err, PME_NO_PUBLIC_ADDRESS, 0, "the router's WAN "
		    "address %s is a %s address; %s", in->external_ip,
		    addr_class_str(in->external_class), advice);
		break;
	}
}

int
portmap_open(struct portmap *pm, const struct portspec *spec, uint32_t lease,
    bool any_port, const char *desc, struct portmap_open_result *res,
    struct pm_error *err)
{
	memset(res, 0, sizeof(*res));
	if (lease == 0 && (pm->via == PM_NATPMP || pm->via == PM_PCP)) {
		pmerr_set(err, PME_USAGE, 0, "%s cannot make permanent "
		    "forwards: give --lease SECONDS",
		    portmap_method_name(pm->via));
		return -1;
	}
	if (portmap_discover(pm, 0, err) == -1)
		return -1;
	if (lease == 0 && (pm->info.method == PM_NATPMP ||
	    pm->info.method == PM_PCP)) {
		/* Permanent forwards need UPnP; wait for it if it is coming. */
		portmap_upnp_wait(pm, mono_ms() + pm->timeout_ms);
		if (pm->up_state != PS_FOUND) {
			pmerr_set(err, PME_UNSUPPORTED, 0, "the router speaks "
			    "only %s, which cannot make permanent forwards: "
			    "give --lease SECONDS", pm->info.method == PM_PCP ?
			    "PCP and NAT-PMP" : "NAT-PMP");
			return -1;
		}
		pm->first = PM_UPNP;
		choose(pm);
	}
	/*
	 * PCP may not tell its address before a MAP: its answer decides,
	 * unless NAT-PMP said the router has none (result 3).
	 */
	if (!addr_class_is_public(pm->info.external_class) &&
	    !(pm->info.method == PM_PCP && pm->info.external_ip[0] == '\0' &&
	    !(pm->info.natpmp_found && pm->info.natpmp_result == 3))) {
		no_public_address(pm, err);
		return -1;
	}
	res->method = pm->info.method;
	if (res->method == PM_PCP)
		return portmap_pcp_open(pm, spec, lease, any_port, res, err);
	if (res->method == PM_NATPMP)
		return portmap_natpmp_open(pm, spec, lease, any_port, res, err);
	return portmap_upnp_open(pm, spec, lease, desc, res, err);
}

int
portmap_close(struct portmap *pm, const struct portspec *spec, bool *removed,
    enum pm_method *method, struct pm_error *err)
{
	return portmap_close_nonce(pm, spec, NULL, removed, method, err);
}

int
portmap_close_nonce(struct portmap *pm, const struct portspec *spec,
    const uint8_t *nonce, bool *removed, enum pm_method *method,
    struct pm_error *err)
{
	struct pm_mapping m;
	int rc;

	*removed = false;
	if (pm->via == PM_PCP) {
		*method = PM_PCP;
		if (portmap_discover(pm, 0, err) == -1)
			return -1;
		return portmap_pcp_close(pm, spec, nonce, removed, err);
	}
	/*
	 * With auto, wait for both: UPnP can see the table, so it can tell
	 * whether there was anything to remove and whose it was.
	 */
	if (portmap_discover(pm, pm->via == PM_AUTO, err) == -1)
		return -1;
	/* auto met PCP: the nonce open kept removes the forward it made. */
	if (pm->via == PM_AUTO && nonce != NULL && pm->pcp_state == PS_FOUND) {
		*method = PM_PCP;
		rc = portmap_pcp_close(pm, spec, nonce, removed, err);
		if (*removed || pm->up_state != PS_FOUND)
			return rc;
		/* A stale nonce: UPnP's table tells what is there instead. */
		pmerr_clear(err);
	}
	if (pm->up_state != PS_FOUND) {
		*method = PM_NATPMP;
		return portmap_natpmp_close(pm, spec, removed, err);
	}
	*method = PM_UPNP;
	if ((rc = portmap_upnp_get_entry(pm, spec->proto, spec->ext, &m, err)) == -1)
		return -1;
	if (rc == 0)
		return 0;	/* nothing to remove */
	if (!m.this_host) {
		pmerr_set(err, PME_CONFLICT, 0, "port %u/%s is forwarded to "
		    "%s:%u, not to this host; portkeeper leaves other hosts' "
		    "forwards alone", spec->ext, portspec_proto_str(spec->proto),
		    m.int_client, m.int_port);
		return -1;
	}
	{
		struct upnp_call *c, out;

		if ((c = portmap_upnp_call_new(pm, UOP_DELETE)) == NULL) {
			pmerr_set(err, PME_INTERNAL, 0, "out of memory");
			return -1;
		}
		c->proto = spec->proto;
		c->ext = spec->ext;
		if ((rc = portmap_upnp_run(pm, c, &out, err)) == -1)
			return -1;
	}
	*removed = rc == 1;
	return 0;
}

int
portmap_list(struct portmap *pm, struct pm_mapping **outv, size_t *n,
    struct pm_error *err)
{
	struct upnp_call *c, out;

	if (pm->via == PM_NATPMP || pm->via == PM_PCP) {
		pmerr_set(err, PME_UNSUPPORTED, 0, "%s has no way to list the "
		    "router's forwards; use --via upnp or auto",
		    portmap_method_name(pm->via));
		return -1;
	}
	if (portmap_discover(pm, 1, err) == -1)
		return -1;
	if (pm->up_state != PS_FOUND) {
		if (pm->info.upnp_error.code != PME_OK &&
		    pm->info.upnp_error.code != PME_NO_GATEWAY)
			*err = pm->info.upnp_error;
		else
			pmerr_set(err, PME_UNSUPPORTED, 0, "the router "
			    "answers only NAT-PMP, which has no way to list "
			    "its forwards; switch on UPnP in the router to see "
			    "its table");
		return -1;
	}
	if ((c = portmap_upnp_call_new(pm, UOP_LIST)) == NULL) {
		pmerr_set(err, PME_INTERNAL, 0, "out of memory");
		return -1;
	}
	if (portmap_upnp_run(pm, c, &out, err) == -1)
		return -1;
	*outv = out.list;
	*n = out.nlist;
	return 0;
}

int
portmap_verify(struct portmap *pm, const struct portspec *spec,
    struct pm_mapping *m, struct pm_error *err)
{
	int rc;

	if (portmap_discover(pm, 0, err) == -1)
		return -1;
	if (pm->up_state != PS_FOUND)
		return 2;	/* NAT-PMP or PCP: the epoch tells instead */
	rc = portmap_upnp_get_entry(pm, spec->proto, spec->ext, m, err);
	if (rc == 1 && (!m->this_host || m->int_port != spec->in))
		return 3;
	return rc;
}
