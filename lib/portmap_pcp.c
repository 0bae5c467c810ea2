/*
 * portmap's PCP (RFC 6887) backend for IPv4 forwards, on pcp.c's client:
 * the request leaves from this host's LAN address for the gateway's port
 * 5351, and each forward has its own random nonce, which the caller keeps
 * for the refresh and the delete (sections 11.3 and 15).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "portmap_impl.h"
#include "util.h"

/*
 * The port the address question names (discard, RFC 863).  The question
 * deletes with a fresh nonce, which matches no mapping of anyone's.
 */
#define PCP_QUERY_PORT	9

static uint8_t
pcp_ipproto(enum pm_proto proto)
{
	return proto == PM_UDP ? IPPROTO_UDP : IPPROTO_TCP;
}

/*
 * PCP has no request for the external address alone.  A delete (lifetime
 * 0) with a fresh nonce removes nothing, and its answer carries the
 * address (section 11.1): miniupnpd answers it NO_RESOURCES, others
 * SUCCESS.  Sets pcp_external_ip, or leaves it empty.
 */
static void
pcp_ask_address(struct portmap *pm, int64_t deadline)
{
	struct portmap_info *in = &pm->info;
	struct pcp_response r;
	struct pm_error e;
	uint8_t nonce[PCP_NONCE_LEN];
	struct in_addr v4;
	char ip[INET_ADDRSTRLEN];

	if (pcp_nonce_new(nonce, &e) == -1)
		return;
	pcp_map(&pm->pcp, IPPROTO_TCP, PCP_QUERY_PORT, PCP_QUERY_PORT, NULL,
	    0, nonce, deadline, &r, &e);
	if (r.version != PCP_VERSION || !pcp_addr_is_v4(&r.ext_addr, &v4) ||
	    v4.s_addr == INADDR_ANY)
		return;
	inet_ntop(AF_INET, &v4, ip, sizeof(ip));
	if (portmap_check_external(ip, "PCP", &in->pcp_error) == 0)
		str_copy(in->pcp_external_ip, ip, sizeof(in->pcp_external_ip));
}

/* Opens pm->pcp from this host's LAN address to the gateway's port 5351. */
static int
pcp_open_gateway(struct portmap *pm, struct pm_error *err)
{
	struct sockaddr_in src, gw;

	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	src.sin_addr = pm->ni.internal;
	gw = src;
	gw.sin_addr = pm->ni.gateway;
	return pcp_open(&pm->pcp, (struct sockaddr *)&src,
	    (struct sockaddr *)&gw, err);
}

int
portmap_pcp_discover(struct portmap *pm, struct pm_error *err)
{
	struct portmap_info *in = &pm->info;
	struct pcp_response r;
	int64_t deadline = mono_ms() + pm->timeout_ms;

	if (pcp_open_gateway(pm, err) == -1)
		return -1;
	if (pcp_announce(&pm->pcp, deadline, &r, err) == -1) {
		if (err->code == PME_TIMEOUT)
			pmerr_set(err, PME_NO_GATEWAY, 0, "no PCP answered at "
			    "the default gateway %s within %d ms: switch on PCP "
			    "(or NAT-PMP, which brings it on miniupnpd and "
			    "OpenWrt) in the router's settings, or use --via "
			    "upnp", pm->ni.gateway_str, pm->timeout_ms);
		return -1;
	}
	in->pcp_found = true;
	in->pcp_epoch = r.epoch;
	in->epoch = r.epoch;
	pcp_ask_address(pm, deadline);
	pm->pcp_asked = true;
	log_debug("pcp: epoch %u, external address \"%s\"", r.epoch,
	    in->pcp_external_ip);
	return 0;
}

/*
 * auto's PCP side: the ANNOUNCE (section 14.1) leaves from its own socket
 * just before NAT-PMP's public-address request, and portmap_discover
 * polls for its answer beside NAT-PMP's.
 */
void
portmap_pcp_start(struct portmap *pm)
{
	struct pcp_request req;

	if (pcp_open_gateway(pm, &pm->info.pcp_error) == -1) {
		pm->pcp_state = PS_FAILED;
		return;
	}
	memset(&req, 0, sizeof(req));
	req.opcode = PCP_OP_ANNOUNCE;
	if (pcp_send(&pm->pcp, &req) == -1) {
		pmerr_set(&pm->info.pcp_error, PME_NETWORK, 0, "cannot send a "
		    "PCP request to %s", pm->ni.gateway_str);
		pm->pcp_state = PS_FAILED;
		return;
	}
	pm->pcp_state = PS_PENDING;
}

void
portmap_pcp_read(struct portmap *pm)
{
	struct pcp_response r;
	struct pm_error e;
	int rc;

	if ((rc = pcp_read(&pm->pcp, &r, &e)) == 0)
		return;
	if (rc == -1) {
		pm->pcp_state = PS_FAILED;
		pm->info.pcp_error = e;
		return;
	}
	if (pcp_natpmp_only(&r) || r.result == PCP_UNSUPP_VERSION) {
		/*
		 * Section 9: a router that speaks only NAT-PMP answers
		 * version 0 with UNSUPP_VERSION (RFC 6886 section 3.5's
		 * result 1): NAT-PMP serves.
		 */
		pcp_check_response(&r, false, "ask the router over PCP",
		    &pm->info.pcp_error);
		pm->pcp_state = PS_FAILED;
		return;
	}
	pm->pcp_state = PS_FOUND;
	pm->pcp_at = mono_ms();
	pm->info.pcp_found = true;
	pm->info.pcp_epoch = r.epoch;
	/* NAT-PMP's side of the race: PCP, its successor, serves for it. */
	if (pm->first == PM_AUTO || pm->first == PM_NATPMP)
		pm->first = PM_PCP;
	log_debug("pcp: answered the ANNOUNCE, epoch %u", r.epoch);
}

void
portmap_pcp_address(struct portmap *pm, int64_t deadline)
{
	const struct portmap_info *in = &pm->info;

	if (pm->pcp_asked)
		return;
	pm->pcp_asked = true;
	/*
	 * auto asked NAT-PMP for the address at the same moment: the same
	 * router names the same address, which spares a MAP query that
	 * costs the router as much as a forward.
	 */
	if (pm->nat_state == PS_FOUND && in->natpmp_result == 0 &&
	    in->natpmp_external_ip[0] != '\0') {
		str_copy(pm->info.pcp_external_ip, in->natpmp_external_ip,
		    sizeof(pm->info.pcp_external_ip));
		log_debug("pcp: external address \"%s\", as NAT-PMP said",
		    in->pcp_external_ip);
		return;
	}
	pcp_ask_address(pm, deadline);
	log_debug("pcp: external address \"%s\"", pm->info.pcp_external_ip);
}

/* Gives back a mapping made for another port than the one asked for. */
static void
pcp_give_back(struct portmap *pm, const struct portspec *spec,
    const uint8_t nonce[static PCP_NONCE_LEN], uint16_t ext)
{
	struct pcp_response r;
	struct pm_error e;

	pcp_map(&pm->pcp, pcp_ipproto(spec->proto), spec->in, ext, NULL, 0,
	    nonce, mono_ms() + pm->timeout_ms, &r, &e);
}

int
portmap_pcp_open(struct portmap *pm, const struct portspec *spec,
    uint32_t lease, bool any_port, struct portmap_open_result *res,
    struct pm_error *err)
{
	struct pcp_response r;
	uint8_t nonce[PCP_NONCE_LEN];
	struct in_addr v4;
	char extra[64];

	if (pcp_nonce_new(nonce, err) == -1)
		return -1;
	if (pcp_map(&pm->pcp, pcp_ipproto(spec->proto), spec->in, spec->ext,
	    NULL, lease, nonce, mono_ms() + pm->timeout_ms, &r, err) == -1)
		return -1;
	if (r.ext_port == 0 || !pcp_addr_is_v4(&r.ext_addr, &v4)) {
		/* Section 11.1: a granted IPv4 mapping has a port and address. */
		pcp_give_back(pm, spec, nonce, r.ext_port);
		pmerr_set(err, PME_BAD_REPLY, 0, "could not forward port %u/%s: "
		    "the router answered success over PCP but granted %s",
		    spec->ext, portspec_proto_str(spec->proto), r.ext_port == 0 ?
		    "no port" : "no IPv4 address");
		return -1;
	}
	if (r.ext_port != spec->ext && !any_port) {
		/* As with NAT-PMP: the user asked for this port. */
		pcp_give_back(pm, spec, nonce, r.ext_port);
		snprintf(extra, sizeof(extra), " (PCP offered port %u instead)",
		    r.ext_port);
		portmap_conflict(pm, spec, 0, extra, err);
		res->offered_port = r.ext_port;
		return -1;
	}
	/* The grant names the address, also when discovery learnt none. */
	inet_ntop(AF_INET, &v4, pm->info.pcp_external_ip,
	    sizeof(pm->info.pcp_external_ip));
	str_copy(pm->info.external_ip, pm->info.pcp_external_ip,
	    sizeof(pm->info.external_ip));
	pm->info.external_class = addr_classify(v4);
	res->ext_port = r.ext_port;
	res->lease = r.lifetime;
	res->has_nonce = true;
	memcpy(res->nonce, nonce, PCP_NONCE_LEN);
	return 0;
}

int
portmap_pcp_close(struct portmap *pm, const struct portspec *spec,
    const uint8_t *nonce, bool *removed, struct pm_error *err)
{
	struct pcp_response r;
	uint8_t fresh[PCP_NONCE_LEN];
	int rc;

	/*
	 * Section 15: only the nonce that made a mapping deletes it.  Without
	 * it, ask anyway (a server may delete by port) and explain a refusal.
	 */
	if (nonce == NULL) {
		if (pcp_nonce_new(fresh, err) == -1)
			return -1;
		nonce = fresh;
	}
	rc = pcp_map(&pm->pcp, pcp_ipproto(spec->proto), spec->in, spec->ext,
	    NULL, 0, nonce, mono_ms() + pm->timeout_ms, &r, err);
	if (rc == 0) {
		*removed = true;
		return 0;
	}
	if (r.version != PCP_VERSION || (r.result != PCP_NO_RESOURCES &&
	    r.result != PCP_NOT_AUTHORIZED))
		return -1;
	if (nonce != fresh && r.result == PCP_NO_RESOURCES) {
		/* miniupnpd's answer when it has no mapping for this nonce. */
		pmerr_clear(err);
		return 0;
	}
	pmerr_set(err, PME_REFUSED, r.result, "could not remove the forward "
	    "of port %u/%s: PCP removes a mapping only for the nonce of the "
	    "request that made it (RFC 6887 section 15), and %s (PCP result "
	    "%d); it ends when its lease runs out, or remove it in the "
	    "router's admin page", spec->ext, portspec_proto_str(spec->proto),
	    nonce == fresh ? "portkeeper does not know it" : "the router did "
	    "not accept the one given", r.result);
	return -1;
}
