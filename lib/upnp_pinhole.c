#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "ssdp.h"
#include "upnp.h"
#include "upnp_pinhole.h"
#include "upnp_soap.h"
#include "util.h"

/*
 * The firewall's own errors (WANIPv6FirewallControl:1 section 2.5, the
 * table of each action; miniupnpd's upnpsoap.c answers the same), each
 * with what it means for the user.  606 and the rest (402, 501) are
 * upnp_pinhole_error's and pmerr_upnp's.
 */
static const struct {
	int		 upnp;
	enum pm_errcode	 code;
	const char	*text;
} upnp_pinhole_errors[] = {
	/* miniupnpd answers 701 too when its firewall backend fails. */
	{ 701, PME_OUT_OF_RESOURCES, "the router's pinhole table is full, "
	    "or its firewall would not take the rule (UPnP error 701, "
	    "PinholeSpaceExhausted)" },
	{ 702, PME_PINHOLE_REFUSED, "the router's IPv6 firewall control is "
	    "off (UPnP error 702, FirewallDisabled); if inbound IPv6 is still "
	    "blocked, allow it in the router's own settings" },
	{ 703, PME_PINHOLE_REFUSED, "the router does not allow inbound "
	    "pinholes (UPnP error 703, InboundPinholeNotAllowed); allow them "
	    "in the router's settings (FRITZ!Box: Home Network > Network > "
	    "this device > allow PCP/UPnP)" },
	{ 704, PME_NOT_FOUND, "the router has no such pinhole (UPnP error "
	    "704, NoSuchEntry)" },
	{ 705, PME_UNSUPPORTED, "the router does not open pinholes for this "
	    "protocol (UPnP error 705, ProtocolNotSupported)" },
	{ 706, PME_REFUSED, "the router wants a port, not a wildcard (UPnP "
	    "error 706, InternalPortWildcardingNotAllowed)" },
	{ 707, PME_REFUSED, "the router wants a protocol, not a wildcard "
	    "(UPnP error 707, ProtocolWildcardingNotAllowed)" },
	{ 708, PME_REFUSED, "the router wants this host's address, not a "
	    "wildcard (UPnP error 708, WildCardNotPermittedInSrcIP)" },
};

void
upnp_pinhole_error(struct pm_error *err, int code, uint16_t port,
    const char *doing)
{
	size_t i;

	for (i = 0; i < nitems(upnp_pinhole_errors); i++)
		if (upnp_pinhole_errors[i].upnp == code) {
			pmerr_set(err, upnp_pinhole_errors[i].code, code,
			    "could not %s: %s", doing,
			    upnp_pinhole_errors[i].text);
			return;
		}
	if (code != 606) {
		pmerr_upnp(err, code, doing);
		return;
	}
	/*
	 * 606: section 2.5.2 recommends refusing unauthenticated control
	 * points a port below 1024 or another host's address, and miniupnpd
	 * does both.  The request came from the address it opens, so a low
	 * port, or this device not being allowed, is why.
	 */
	if (port != 0 && port < 1024)
		pmerr_set(err, PME_PINHOLE_REFUSED, code, "could not %s: the "
		    "router's UPnP does not open pinholes to ports below 1024 "
		    "(UPnP error 606, Action not authorized); use PCP or a port "
		    "from 1024 up, or the router's own settings", doing);
	else if (port != 0)
		pmerr_set(err, PME_PINHOLE_REFUSED, code, "could not %s: the "
		    "router does not let this host open pinholes (UPnP error "
		    "606, Action not authorized); allow it in the router's "
		    "settings (FRITZ!Box: Home Network > Network > this device "
		    "> allow PCP/UPnP)", doing);
	else
		pmerr_set(err, PME_NOT_AUTHORIZED, code, "could not %s: the "
		    "router does not let this host change that pinhole (UPnP "
		    "error 606, Action not authorized)", doing);
}

/* A UPnP boolean (UDA 1.1 section 2.5): 0, 1 or -1 when it is none. */
static int
upnp_pinhole_bool(const char *v)
{
	if (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 ||
	    strcasecmp(v, "yes") == 0)
		return 1;
	if (strcmp(v, "0") == 0 || strcasecmp(v, "false") == 0 ||
	    strcasecmp(v, "no") == 0)
		return 0;
	return -1;
}

/* GetFirewallStatus's two booleans into res: 0, or -1 with err set. */
static int
upnp_pinhole_parse_status(struct NameValueParserData *pd, const char *doing,
    struct upnp_pinhole_answer *res, struct pm_error *err)
{
	static const char *const names[] = { "FirewallEnabled",
	    "InboundPinholeAllowed" };
	char shown[24];
	const char *v;
	int b[2];
	size_t i;

	for (i = 0; i < nitems(names); i++) {
		if ((v = upnp_soap_value(pd, names[i], "GetFirewallStatus",
		    doing, err)) == NULL)
			return -1;
		if ((b[i] = upnp_pinhole_bool(v)) == -1) {
			str_printable(shown, sizeof(shown), v);
			pmerr_set(err, PME_BAD_REPLY, 0, "could not %s: the "
			    "router misbehaves: its %s \"%s\" is not a boolean",
			    doing, names[i], shown);
			return -1;
		}
	}
	res->enabled = b[0];
	res->inbound_allowed = b[1];
	return 0;
}

int
upnp_pinhole_parse(const char *action, uint16_t port, const char *doing,
    int status, const char *body, size_t len, struct upnp_pinhole_answer *res,
    struct pm_error *err)
{
	struct NameValueParserData pd;
	unsigned long uid;
	const char *v;
	char shown[24];
	int rc;

	memset(res, 0, sizeof(*res));
	rc = upnp_soap_answer(body, len, status, action, doing, &pd, err);
	/*
	 * miniupnpd 2.3.1 (nftables) answers 402 Invalid Args, not 704, to
	 * UpdatePinhole and DeletePinhole for a UniqueID it does not have:
	 * its lookup comes back without an address, which its check of the
	 * caller's address then rejects.  The UniqueID sent is always a
	 * valid ui2, so there 402 means the same as 704.
	 */
	if (rc == 704 || (rc == 402 && (strcmp(action, "UpdatePinhole") == 0 ||
	    strcmp(action, "DeletePinhole") == 0)))
		return 0;
	if (rc > 0)
		upnp_pinhole_error(err, rc, port, doing);
	if (rc != 0)
		return -1;
	rc = 1;
	if (strcmp(action, "GetFirewallStatus") == 0) {
		if (upnp_pinhole_parse_status(&pd, doing, res, err) == -1)
			rc = -1;
	} else if (strcmp(action, "AddPinhole") == 0) {
		/* UniqueID is a ui2 (section 2.3.6). */
		if ((v = upnp_soap_value(&pd, "UniqueID", action, doing,
		    err)) == NULL)
			rc = -1;
		else if (parse_uint(v, 0, 65535, &uid) == -1) {
			str_printable(shown, sizeof(shown), v);
			pmerr_set(err, PME_BAD_REPLY, 0, "could not %s: the "
			    "router misbehaves: its UniqueID \"%s\" is not a "
			    "number from 0 to 65535", doing, shown);
			rc = -1;
		} else
			res->unique_id = (uint16_t)uid;
	}
	ClearNameValueList(&pd);
	return rc;
}

/* One action on the target's firewall service: as upnp_pinhole_parse. */
static int
upnp_pinhole_call(const struct upnp_pinhole_target *t, const char *action,
    const struct upnp_soap_arg *args, size_t nargs, uint16_t port,
    const char *doing, int64_t deadline, struct upnp_pinhole_answer *res,
    struct pm_error *err)
{
	struct upnp_soap_req r;
	char *buf, *body;
	size_t len;
	int status, rc;

	memset(&r, 0, sizeof(r));
	r.url = t->url;
	r.stype = t->stype;
	r.action = action;
	r.args = args;
	r.nargs = nargs;
	r.doing = doing;
	r.source = (const struct sockaddr *)&t->source;
	r.sourcelen = sizeof(t->source);
	r.scope_id = t->scope_id;
	if (upnp_soap_exchange(&r, deadline, &status, &buf, &body, &len,
	    err) == -1)
		return -1;
	rc = upnp_pinhole_parse(action, port, doing, status, body, len, res,
	    err);
	free(buf);
	return rc;
}

int
upnp_pinhole_target(struct upnp_pinhole_target *t, const char *control,
    const char *stype, const struct in6_addr *gw6, unsigned scope_id,
    const struct in6_addr *source, struct pm_error *err)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	const char *path;
	char a[INET6_ADDRSTRLEN], shown[100];
	uint16_t port;
	int n;

	memset(t, 0, sizeof(*t));
	if (upnp_http_url(control, 0, &ss, &sl, &path) == -1) {
		str_printable(shown, sizeof(shown), control);
		pmerr_set(err, PME_BAD_REPLY, 0, "the router's IPv6 firewall "
		    "control URL \"%s\" is not an http://ADDRESS URL", shown);
		return -1;
	}
	port = ss.ss_family == AF_INET6 ?
	    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) :
	    ntohs(((struct sockaddr_in *)&ss)->sin_port);
	inet_ntop(AF_INET6, gw6, a, sizeof(a));
	n = snprintf(t->url, sizeof(t->url), "http://[%s]:%u%s%s", a, port,
	    *path == '/' ? "" : "/", path);
	if (n < 0 || (size_t)n >= sizeof(t->url)) {
		pmerr_set(err, PME_BAD_REPLY, 0, "the router's IPv6 firewall "
		    "control URL is too long");
		return -1;
	}
	str_copy(t->stype, stype, sizeof(t->stype));
	t->source.sin6_family = AF_INET6;
	t->source.sin6_addr = *source;
	t->scope_id = scope_id;
	return 0;
}

/*
 * How portkeeper reaches the firewall service over IPv6.  miniupnpd 2.3.1
 * with IPv6 on answers an M-SEARCH on ff02::c from its own EUI-64
 * link-local address (not the gateway's fe80::1) with the LOCATION
 * http://[its global LAN address]:PORT/rootDesc.xml, and its HTTP socket is
 * one dual-stack IPv6 socket bound to the LAN interface: the PORT of the
 * IPv4 LOCATION takes IPv6 connections to every LAN address of the router
 * (fe80::1%eth0 and the global one alike, seen on the simulated home
 * network).  So the discovery stays the IPv4 one (unicast to the gateway,
 * hardened and tested) and only the SOAP requests go over IPv6, to the
 * IPv6 default gateway: the router that filters this host's inbound
 * traffic, and an address known from the routing table, without
 * multicast or trusting an address named in an answer.
 */
int
upnp_pinhole_find(struct upnp_pinhole_target *t, struct in_addr gw4,
    struct in_addr local4, const struct in6_addr *gw6, unsigned scope_id,
    const struct in6_addr *source, int64_t deadline, struct pm_error *err)
{
	struct upnp_igd igd;
	struct IGDdatas_service *fc = &igd.data.IPv6FC;
	char gw[INET_ADDRSTRLEN], loc[SSDP_URL_MAX], url[110];
	struct in_addr caddr;
	uint16_t cport;
	int rc = -1;

	memset(t, 0, sizeof(*t));
	inet_ntop(AF_INET, &gw4, gw, sizeof(gw));
	if (upnp_describe(&igd, gw4, local4, deadline, err) == -1)
		goto out;
	if (igd.desc.firewall.type[0] == '\0') {
		str_printable(loc, sizeof(loc), igd.location);
		pmerr_set(err, PME_UNSUPPORTED, 0, "the router's UPnP "
		    "description (%s) has no IPv6 firewall service "
		    "(WANIPv6FirewallControl): it is IGD:1 only, or its IPv6 "
		    "is off", loc);
		goto out;
	}
	str_copy(fc->servicetype, igd.desc.firewall.type,
	    sizeof(fc->servicetype));
	str_copy(fc->controlurl, igd.desc.firewall.control,
	    sizeof(fc->controlurl));
	str_copy(fc->scpdurl, igd.desc.firewall.scpd, sizeof(fc->scpdurl));
	str_copy(fc->eventsuburl, igd.desc.firewall.events,
	    sizeof(fc->eventsuburl));
	/* miniupnpc makes it absolute (URLBase or the location). */
	GetUPNPUrls(&igd.urls, &igd.data, igd.location, 0);
	igd.have_urls = 1;
	/* As upnp_select: never send our requests to a host named by it. */
	if (igd.urls.controlURL_6FC == NULL ||
	    ssdp_url_addr(igd.urls.controlURL_6FC, &caddr, &cport) == -1 ||
	    caddr.s_addr != gw4.s_addr) {
		str_printable(url, sizeof(url), igd.urls.controlURL_6FC != NULL ?
		    igd.urls.controlURL_6FC : "");
		pmerr_set(err, PME_BAD_REPLY, 0, "the router's IPv6 firewall "
		    "control URL \"%s\" is not an http:// URL on the gateway "
		    "%s; refusing to use it", url, gw);
		goto out;
	}
	rc = upnp_pinhole_target(t, igd.urls.controlURL_6FC,
	    igd.desc.firewall.type, gw6, scope_id, source, err);
	if (rc == 0)
		log_debug("upnp: IPv6 firewall control at %s", t->url);
out:
	upnp_igd_free(&igd);
	return rc;
}

int
upnp_pinhole_status(const struct upnp_pinhole_target *t, bool *enabled,
    bool *inbound_allowed, int64_t deadline, struct pm_error *err)
{
	static const char what[] = "ask the router for its IPv6 firewall "
	    "status";
	struct upnp_pinhole_answer res;
	int rc;

	rc = upnp_pinhole_call(t, "GetFirewallStatus", NULL, 0, 0, what,
	    deadline, &res, err);
	if (rc == 0)
		upnp_pinhole_error(err, 704, 0, what);
	if (rc != 1)
		return -1;
	*enabled = res.enabled;
	*inbound_allowed = res.inbound_allowed;
	return 0;
}

/* The lease a pinhole may have (section 2.5.2): 0, or -1 with err set. */
static int
upnp_pinhole_lease(uint32_t lease, const char *doing, struct pm_error *err)
{
	if (lease >= UPNP_PINHOLE_LEASE_MIN && lease <= UPNP_PINHOLE_LEASE_MAX)
		return 0;
	pmerr_set(err, PME_USAGE, 0, "could not %s: a UPnP pinhole lasts from "
	    "1 to 86400 seconds, not %lu (no permanent pinholes)", doing,
	    (unsigned long)lease);
	return -1;
}

int
upnp_pinhole_add(const struct upnp_pinhole_target *t, enum pm_proto proto,
    uint16_t port, uint32_t lease, uint16_t *unique_id, int64_t deadline,
    struct pm_error *err)
{
	char client[INET6_ADDRSTRLEN], in[6], dur[11], what[120];
	const struct upnp_soap_arg args[] = {
		{ "RemoteHost", "" },		/* any: "::" would be none */
		{ "RemotePort", "0" },
		{ "InternalClient", client },
		{ "InternalPort", in },
		{ "Protocol", proto == PM_UDP ? "17" : "6" },
		{ "LeaseTime", dur },
	};
	struct upnp_pinhole_answer res;
	int rc;

	inet_ntop(AF_INET6, &t->source.sin6_addr, client, sizeof(client));
	snprintf(in, sizeof(in), "%u", port);
	snprintf(dur, sizeof(dur), "%lu", (unsigned long)lease);
	snprintf(what, sizeof(what), "open port %u/%s of %s", port,
	    portspec_proto_str(proto), client);
	if (upnp_pinhole_lease(lease, what, err) == -1)
		return -1;
	rc = upnp_pinhole_call(t, "AddPinhole", args, nitems(args), port, what,
	    deadline, &res, err);
	if (rc == 0)
		upnp_pinhole_error(err, 704, port, what);
	if (rc != 1)
		return -1;
	*unique_id = res.unique_id;
	return 0;
}

int
upnp_pinhole_update(const struct upnp_pinhole_target *t, uint16_t unique_id,
    uint32_t lease, int64_t deadline, struct pm_error *err)
{
	char uid[6], dur[11], what[80];
	const struct upnp_soap_arg args[] = {
		{ "UniqueID", uid },
		{ "NewLeaseTime", dur },
	};
	struct upnp_pinhole_answer res;

	snprintf(uid, sizeof(uid), "%u", unique_id);
	snprintf(dur, sizeof(dur), "%lu", (unsigned long)lease);
	snprintf(what, sizeof(what), "renew the router's pinhole %u",
	    unique_id);
	if (upnp_pinhole_lease(lease, what, err) == -1)
		return -1;
	return upnp_pinhole_call(t, "UpdatePinhole", args, nitems(args), 0,
	    what, deadline, &res, err);
}

int
upnp_pinhole_delete(const struct upnp_pinhole_target *t, uint16_t unique_id,
    int64_t deadline, struct pm_error *err)
{
	char uid[6], what[80];
	const struct upnp_soap_arg args[] = {
		{ "UniqueID", uid },
	};
	struct upnp_pinhole_answer res;

	snprintf(uid, sizeof(uid), "%u", unique_id);
	snprintf(what, sizeof(what), "remove the router's pinhole %u",
	    unique_id);
	return upnp_pinhole_call(t, "DeletePinhole", args, nitems(args), 0,
	    what, deadline, &res, err);
}
