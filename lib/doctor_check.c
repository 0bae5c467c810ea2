/*
 * portkeeper doctor: the checks that the one-forward run (doctor.c) and the
 * audit (doctor_audit.c) both make.  The router's part runs as jobs on a
 * thread (job.h), bounded by portmap's own deadline on every call; the
 * listener is a connect with a timeout; the rest turns what they found into
 * a check's status, reason and sentence.
 */
#include <sys/random.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "doctor_check.h"
#include "util.h"

void
doctor_check_vset(struct doctor_check *c, enum doctor_status st,
    enum doctor_reason why, const char *fmt, va_list ap)
{
	c->status = st;
	c->reason = why;
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
}

void
doctor_check_set(struct doctor_check *c, enum doctor_check_id id,
    enum doctor_status st, enum doctor_reason why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	doctor_check_vset(c + id, st, why, fmt, ap);
	va_end(ap);
}

void
doctor_sin_make(struct sockaddr_in *sin, struct in_addr a, uint16_t port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr = a;
	sin->sin_port = htons(port);
}

void
doctor_internal_ip_result(struct doctor_check *checks, const struct netinfo *ni,
    struct netinfo_addr *da)
{
	if (netinfo_addr_lookup(ni->internal, da) == -1 || !da->found) {
		doctor_check_set(checks, DOC_INTERNAL_IP, DOC_WARN, DOCR_ERROR,
		    "%s is this host's address towards the gateway %s, but "
		    "the kernel's address list (rtnetlink) does not say how "
		    "it was assigned", ni->internal_str, ni->gateway_str);
		return;
	}
	if (da->valid == 0xffffffffu) {
		doctor_check_set(checks, DOC_INTERNAL_IP, DOC_PASS, DOCR_NONE,
		    "%s/%u on %s does not expire: a static address (or a "
		    "DHCP client that keeps its lease to itself)",
		    ni->internal_str, da->prefixlen, ni->ifname);
		return;
	}
	doctor_check_set(checks, DOC_INTERNAL_IP, DOC_WARN, DOCR_DHCP,
	    "%s/%u on %s is leased by DHCP (it expires in %u s unless "
	    "renewed): the router may hand this host another address one "
	    "day, and the forward would then point at nobody until it is "
	    "re-pointed; reserve %s for this host in the router's DHCP "
	    "settings (a DHCP reservation), or give it a static address "
	    "outside the DHCP range", ni->internal_str, da->prefixlen,
	    ni->ifname, da->valid, ni->internal_str);
}

void
doctor_listen_run(void *arg)
{
	struct doctor_listen_call *c = arg;
	struct sockaddr_in sin;
	struct in_addr lo = { htonl(INADDR_LOOPBACK) };

	doctor_sin_make(&sin, c->addr, c->port);
	probe_connect_back((struct sockaddr *)&sin, c->port, PM_TCP, NULL,
	    DOCTOR_LISTENER_MS, &c->out);
	if (!c->out.reachable && c->out.error == ECONNREFUSED) {
		doctor_sin_make(&sin, lo, c->port);
		probe_connect_back((struct sockaddr *)&sin, c->port, PM_TCP,
		    NULL, DOCTOR_LOOPBACK_MS, &c->lo);
		c->tried_lo = true;
	}
}

void
doctor_listener_result(struct doctor_check *checks,
    const struct doctor_listen_call *c)
{
	char a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &c->addr, a, sizeof(a));
	if (c->out.reachable)
		doctor_check_set(checks, DOC_LISTENER, DOC_PASS, DOCR_NONE,
		    "something accepts TCP connections on %s:%u", a,
		    c->port);
	else if (c->out.error == ECONNREFUSED && c->tried_lo &&
	    c->lo.reachable)
		doctor_check_set(checks, DOC_LISTENER, DOC_FAIL,
		    DOCR_LOOPBACK_ONLY,
		    "nothing accepts TCP connections on %s:%u, but 127.0.0.1:%u "
		    "does: the server listens only on localhost; make it listen "
		    "on 0.0.0.0 (all addresses) or on %s", a,
		    c->port, c->port, a);
	else if (c->out.error == ECONNREFUSED)
		doctor_check_set(checks, DOC_LISTENER, DOC_FAIL, DOCR_REFUSED,
		    "nothing accepts TCP connections on %s:%u (connection "
		    "refused): the server is not running, or it listens on "
		    "another port",
		    a, c->port);
	else if (c->out.error == ETIMEDOUT)
		doctor_check_set(checks, DOC_LISTENER, DOC_WARN, DOCR_TIMEOUT,
		    "no answer from %s:%u within %d ms: a firewall on this "
		    "host may drop connections to it", a, c->port,
		    DOCTOR_LISTENER_MS);
	else
		doctor_check_set(checks, DOC_LISTENER, DOC_WARN, DOCR_ERROR,
		    "cannot connect to %s:%u: %s", a, c->port,
		    strerror(c->out.error));
}

static uint16_t
random_port(void)
{
	uint16_t r = 0;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint16_t)mono_ms();
	return (uint16_t)(49152 + r % 16384);
}

void
doctor_router_stage1(void *arg)
{
	struct doctor_router_call *c = arg;
	struct portmap_open_result res;
	struct portspec ps;
	int try;

	c->open_rc = -1;
	c->probe0_rc = -1;
	if ((c->pm = portmap_new(c->via, c->timeout_ms, &c->new_err)) == NULL)
		return;
	/*
	 * The doctor judges the router as portkeeperd will use it, and the
	 * daemon does not use PCP yet (issue 16).
	 */
	portmap_auto_without_pcp(c->pm);
	if ((c->probe0_rc = portmap_discover(c->pm, 0, &c->probe0_err)) == -1)
		return;
	if (!c->want_probe || __atomic_load_n(&c->stop, __ATOMIC_SEQ_CST) ||
	    !addr_class_is_public(portmap_info(c->pm)->external_class))
		return;
	memset(&ps, 0, sizeof(ps));
	ps.ext = ps.in = c->probe_in;
	ps.in_given = 1;
	ps.proto = PM_TCP;
	/* NAT-PMP offers another port itself; UPnP says 718: pick again. */
	for (try = 0; try < 3; try++) {
		c->open_rc = portmap_open(c->pm, &ps,
		    DOCTOR_PROBE_MAPPING_LEASE, true,
		    DOCTOR_PROBE_MAPPING_DESC, &res, &c->open_err);
		if (c->open_rc == 0) {
			c->probe_ext = res.ext_port;
			break;
		}
		if (c->open_err.code != PME_CONFLICT)
			break;
		ps.ext = random_port();
	}
}

void
doctor_router_stage2(void *arg)
{
	struct doctor_router_call *c = arg;

	c->probe1_rc = portmap_discover(c->pm, 1, &c->probe1_err);
	c->info = *portmap_info(c->pm);
	if (c->probe1_rc == -1)
		return;
	if (c->audit) {
		c->list_rc = portmap_list(c->pm, &c->list, &c->nlist,
		    &c->list_err);
		return;
	}
	c->verify_rc = portmap_verify(c->pm, &c->spec, &c->m, &c->verify_err);
}

bool
doctor_gateway_failed(struct doctor_check *checks,
    const struct doctor_router_call *c)
{
	const struct pm_error *e = c->pm == NULL ? &c->new_err :
	    &c->probe0_err;

	if (c->pm != NULL && c->probe0_rc != -1)
		return false;
	doctor_check_set(checks, DOC_GATEWAY, DOC_FAIL, c->pm == NULL ||
	    e->code == PME_NO_ROUTE ? DOCR_NO_ROUTE : DOCR_NO_GATEWAY, "%s",
	    e->msg);
	return true;
}

void
doctor_gateway_result(struct doctor_check *checks, const char *gateway,
    const struct portmap_info *in)
{
	char which[64];

	if (in->upnp_found && in->natpmp_found)
		snprintf(which, sizeof(which), "UPnP-IGD and NAT-PMP answer");
	else
		snprintf(which, sizeof(which), "%s answers (%s does not)",
		    in->upnp_found ? "UPnP-IGD" : "NAT-PMP",
		    in->upnp_found ? "NAT-PMP" : "UPnP-IGD");
	if (in->upnp_found && !in->upnp_connected)
		doctor_check_set(checks, DOC_GATEWAY, DOC_WARN, DOCR_NONE,
		    "%s at the router %s; its IGD reports the internet link as "
		    "\"%s\", not Connected", which, gateway,
		    in->upnp_status[0] != '\0' ? in->upnp_status : "unknown");
	else
		doctor_check_set(checks, DOC_GATEWAY, DOC_PASS, DOCR_NONE,
		    "%s at the router %s%s", which, gateway,
		    in->upnp_found ? "; its IGD reports itself connected" : "");
}

void
doctor_external_ip_result(struct doctor_check *checks, char ext_ip[16],
    const struct portmap_info *in)
{
	const char *advice = "forwarding from the internet cannot work "
	    "through it; ask the ISP for a public IPv4 address, use IPv6, or "
	    "use a tunnel or relay (a small VPS, say)";
	const char *via = portmap_method_name(in->method);

	str_copy(ext_ip, in->external_ip, 16);
	switch (in->external_class) {
	case ADDR_PUBLIC:
		doctor_check_set(checks, DOC_EXTERNAL_IP, DOC_PASS, DOCR_NONE,
		    "the router's external address %s is public (%s)",
		    in->external_ip, via);
		break;
	case ADDR_NONE:
		ext_ip[0] = '\0';
		doctor_check_set(checks, DOC_EXTERNAL_IP, DOC_FAIL,
		    DOCR_NO_ADDRESS,
		    "the router says it has no public address (%s): it sits "
		    "behind carrier-grade NAT or another router, or its "
		    "internet link is down; %s", in->method == PM_NATPMP &&
		    in->natpmp_result == 3 ? "NAT-PMP result 3" :
		    "UPnP GetExternalIPAddress is empty", advice);
		break;
	case ADDR_CGNAT:
		doctor_check_set(checks, DOC_EXTERNAL_IP, DOC_FAIL, DOCR_CGNAT,
		    "the router's WAN address %s is in the carrier-grade NAT "
		    "range 100.64.0.0/10: the ISP shares one public address "
		    "among many customers; %s", in->external_ip, advice);
		break;
	case ADDR_PRIVATE:
		doctor_check_set(checks, DOC_EXTERNAL_IP, DOC_FAIL,
		    DOCR_PRIVATE,
		    "the router's WAN address %s is private: another router "
		    "(often the ISP's modem) or the ISP's NAT sits in front of "
		    "it; %s", in->external_ip, advice);
		break;
	case ADDR_INVALID:
		ext_ip[0] = '\0';
		doctor_check_set(checks, DOC_EXTERNAL_IP, DOC_WARN,
		    DOCR_BAD_ADDRESS, "the router reported an external address "
		    "that is not an IPv4 address (%s)", via);
		break;
	default:
		doctor_check_set(checks, DOC_EXTERNAL_IP, DOC_FAIL,
		    DOCR_RESERVED,
		    "the router's WAN address %s is a %s address, not a public "
		    "one: something sits in front of it; %s", in->external_ip,
		    addr_class_str(in->external_class), advice);
		break;
	}
}
