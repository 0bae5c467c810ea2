/*
 * portkeeper doctor over IPv6: the verdict, its combination with IPv4's,
 * and their words.  Pure functions of the reports, as doctor_verdict.c's
 * are, so that unit tests can walk the whole table; nothing here touches
 * the network.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "doctor6.h"
#include "doctor_audit.h"
#include "util.h"

static const char *const check6_names[DOC6_NCHECKS] = {
	"ipv6_address", "ipv6_route", "pinhole_service", "ipv6_listener",
	"pinhole", "ipv6_external",
};

static const char *const verdict6_names[DOC6V_NVERDICTS] = {
	"ok", "ipv6_no_address", "ipv6_no_pinhole_service",
	"ipv6_pinhole_refused", "ipv6_no_listener", "ipv6_blocked",
	"ipv6_only",
};

const char *
doctor6_check_str(enum doctor6_check_id id)
{
	return (unsigned)id < DOC6_NCHECKS ? check6_names[id] : "?";
}

const char *
doctor6_verdict_str(enum doctor6_verdict v)
{
	return (unsigned)v < DOC6V_NVERDICTS ? verdict6_names[v] : "ok";
}

enum doctor6_verdict
doctor6_verdict(const struct doctor_check c[DOC6_NCHECKS])
{
	const struct doctor_check *svc = &c[DOC6_PINHOLE_SERVICE];

	/* Without an address or a route nothing else matters. */
	if (c[DOC6_ROUTE].status == DOC_FAIL ||
	    c[DOC6_ADDRESS].status == DOC_FAIL ||
	    c[DOC6_ADDRESS].reason == DOCR_ONLY_TEMPORARY)
		return DOC6V_NO_ADDRESS;
	/* The router's part comes first: it cannot be fixed on this host. */
	if (svc->status == DOC_FAIL)
		return svc->reason == DOCR_NOT_ALLOWED ?
		    DOC6V_PINHOLE_REFUSED : DOC6V_NO_PINHOLE_SERVICE;
	if (c[DOC6_LISTENER].status == DOC_FAIL)
		return DOC6V_NO_LISTENER;
	if (c[DOC6_PINHOLE].status == DOC_FAIL)
		return DOC6V_PINHOLE_REFUSED;
	if (c[DOC6_EXTERNAL].status == DOC_FAIL)
		return DOC6V_BLOCKED;
	return DOC6V_OK;
}

const char *
doctor6_combine(enum doctor_verdict v4, bool v4_ran, bool v4_none,
    enum doctor6_verdict v6, bool v6_ran, int *family)
{
	*family = 4;
	if (!v6_ran)
		return doctor_verdict_str(v4);
	*family = 6;
	if (!v4_ran)
		return doctor6_verdict_str(v6);
	/* IPv4 has no way in: IPv6 is the only one, and decides. */
	if (v4_none && v4 != DOCV_OK)
		return doctor6_verdict_str(v6 == DOC6V_OK ? DOC6V_ONLY : v6);
	*family = 4;
	return doctor_verdict_str(v4);
}

static void __attribute__((format(printf, 3, 4)))
doctor6_app(char *buf, size_t sz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	str_vappendf(buf, sz, fmt, ap);
	va_end(ap);
}

/* The blocked verdict's cause: is a pinhole known to be open at all? */
static void
doctor6_words_blocked(struct doctor6_report *r, const char *at)
{
	doctor6_app(r->summary, sizeof(r->summary), "The probe server at %s "
	    "could not get in at %s over IPv6, although the router opens "
	    "pinholes and something listens there: ", r->probe_url, at);
	if (r->checks[DOC6_PINHOLE].status != DOC_PASS)
		doctor6_app(r->summary, sizeof(r->summary), "most likely no "
		    "pinhole is open for it; open one with \"portkeeper open "
		    "%u%s -6\", or let portkeeperd keep it (a [forward] with "
		    "family = both or 6).", r->port, r->proto == PM_UDP ?
		    "/udp" : "");
	else
		doctor6_app(r->summary, sizeof(r->summary), "the pinhole is "
		    "there, so a firewall rule in the router or at the ISP "
		    "drops the connection; look for an IPv6 firewall setting "
		    "that overrides pinholes.");
}

void
doctor6_conclude(struct doctor6_report *r)
{
	const struct doctor_check *c = r->checks;
	char *s = r->summary, at[64];
	size_t sz = sizeof(r->summary);

	r->verdict = doctor6_verdict(c);
	s[0] = '\0';
	r->port_warning[0] = '\0';
	if (r->ext != 0 && r->ext != r->port)
		snprintf(r->port_warning, sizeof(r->port_warning), "Over IPv6 "
		    "there is no port translation: visitors over IPv6 use port "
		    "%u, not %u (the pinhole is for the server's own port).",
		    r->port, r->ext);
	if (!r->counts) {
		doctor6_app(s, sz, "IPv6 not checked: %s.", r->why_not);
		return;
	}
	snprintf(at, sizeof(at), "[%s]:%u", r->address[0] != '\0' ?
	    r->address : "this host", r->port);
	switch (r->verdict) {
	case DOC6V_NO_ADDRESS:
		doctor6_app(s, sz, "Port %u cannot be reached over IPv6: %s.",
		    r->port, c[DOC6_ROUTE].status == DOC_FAIL ?
		    c[DOC6_ROUTE].detail : c[DOC6_ADDRESS].detail);
		break;
	case DOC6V_NO_PINHOLE_SERVICE:
		doctor6_app(s, sz, "The router's IPv6 firewall drops "
		    "connections from the internet to %s, and the router opens "
		    "no pinholes on request: %s.", at,
		    c[DOC6_PINHOLE_SERVICE].detail);
		break;
	case DOC6V_PINHOLE_REFUSED:
		doctor6_app(s, sz, "The router does not open the pinhole for "
		    "%s: %s.", at, c[DOC6_PINHOLE_SERVICE].status == DOC_FAIL ?
		    c[DOC6_PINHOLE_SERVICE].detail : c[DOC6_PINHOLE].detail);
		break;
	case DOC6V_NO_LISTENER:
		doctor6_app(s, sz, "Over IPv6, port %u cannot work: %s.",
		    r->port, c[DOC6_LISTENER].detail);
		break;
	case DOC6V_BLOCKED:
		doctor6_words_blocked(r, at);
		break;
	case DOC6V_OK:
	case DOC6V_ONLY:
	case DOC6V_NVERDICTS:
		if (c[DOC6_EXTERNAL].status == DOC_PASS)
			doctor6_app(s, sz, "Over IPv6, port %u works: the "
			    "probe server got in from the internet at %s.",
			    r->port, at);
		else
			doctor6_app(s, sz, "No problem found over IPv6 with %s; "
			    "whether it works from the internet was not checked "
			    "(give --probe URL, a probe server that has IPv6).",
			    at);
		break;
	}
}

/* The IPv4 side has no way in at all: no public address, or no route. */
static bool
doctor6_v4_none(const struct doctor_report *r4)
{
	return r4->verdict == DOCV_CGNAT || (r4->verdict == DOCV_NO_GATEWAY &&
	    r4->checks[DOC_GATEWAY].reason == DOCR_NO_ROUTE);
}

/* ipv6_only: works over IPv6; what IPv4-only visitors need. */
static void
doctor6_words_only(const struct doctor_report *r4,
    const struct doctor6_report *r6, char *s, size_t sz)
{
	doctor6_app(s, sz, "Port %u/%s %s over IPv6 (%s), but not over "
	    "IPv4: %s. Publish this host's IPv6 address %s in DNS as an AAAA "
	    "record of the name visitors use (portkeeperd's hook gets it as "
	    "PORTKEEPER_IPV6, e.g. for ddclient), and no A record for it. "
	    "Visitors that have only IPv4 (many mobile and office networks) "
	    "cannot reach it: for them, put a relay with a public IPv4 "
	    "address in front (a small VPS that passes its port %u on to "
	    "[%s]:%u over IPv6, with socat or a reverse proxy), use a tunnel "
	    "(WireGuard or SSH to a VPS, or a service such as Cloudflare "
	    "Tunnel), or ask the ISP for a public IPv4 address.", r6->port,
	    portspec_proto_str(r6->proto),
	    r6->checks[DOC6_EXTERNAL].status == DOC_PASS ?
	    "works from the internet" : "should work from the internet",
	    r6->checks[DOC6_EXTERNAL].status == DOC_PASS ?
	    "the probe server got in" : "give --probe URL to check from "
	    "outside", r4->verdict == DOCV_CGNAT ? "the router has no public "
	    "IPv4 address (carrier-grade NAT)" : "this host has no IPv4 "
	    "route", r6->address, r4->port, r6->address, r6->port);
}

const char *
doctor6_words(const struct doctor_report *r4, const struct doctor6_report *r6,
    char *s, size_t sz)
{
	bool v6_ran = r6 != NULL && r6->counts;
	const char *name;
	int family;

	name = doctor6_combine(r4 != NULL ? r4->verdict : DOCV_OK, r4 != NULL,
	    r4 != NULL && doctor6_v4_none(r4), r6 != NULL ? r6->verdict :
	    DOC6V_OK, v6_ran, &family);
	s[0] = '\0';
	if (strcmp(name, "ipv6_only") == 0)
		doctor6_words_only(r4, r6, s, sz);
	else if (family == 6) {
		doctor6_app(s, sz, "%s", r6->summary);
		if (r4 != NULL && doctor6_v4_none(r4))
			doctor6_app(s, sz, " IPv6 is the only way in: over IPv4 "
			    "%s.", r4->verdict == DOCV_CGNAT ? "the router has "
			    "no public address (carrier-grade NAT)" : "this "
			    "host has no route");
	} else {
		doctor6_app(s, sz, "%s", r4->summary);
		if (v6_ran)
			doctor6_app(s, sz, " Over IPv6: %s", r6->summary);
	}
	if (v6_ran && r6->port_warning[0] != '\0' && r4 != NULL)
		doctor6_app(s, sz, " %s", r6->port_warning);
	return name;
}

void
doctor6_skip_v4(struct doctor_report *r, uint16_t port, enum pm_proto proto,
    const char *why)
{
	size_t i;

	memset(r, 0, sizeof(*r));
	r->port = port;
	r->internal_port = port;
	r->proto = proto;
	for (i = 0; i < DOC_NCHECKS; i++)
		snprintf(r->checks[i].detail, sizeof(r->checks[i].detail),
		    "not checked: %s", why);
	r->verdict = DOCV_OK;
	snprintf(r->summary, sizeof(r->summary), "IPv4 not checked: %s.", why);
}

static void
doctor6_str_or_null(cJSON *o, const char *k, const char *v)
{
	if (v != NULL && v[0] != '\0')
		cJSON_AddStringToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

/* What the run and the audit both say first: whether IPv6 counts, where. */
static cJSON *
doctor6_json_head(bool counts, const char *why_not, const char *address,
    const char *kind)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	cJSON_AddBoolToObject(o, "counts", counts);
	doctor6_str_or_null(o, "note", counts ? NULL : why_not);
	doctor6_str_or_null(o, "address", address);
	doctor6_str_or_null(o, "kind", kind);
	return o;
}

cJSON *
doctor6_report_json(const struct doctor6_report *r)
{
	cJSON *o, *arr, *svc;
	size_t i;

	if ((o = doctor6_json_head(r->counts, r->why_not, r->address,
	    r->kind)) == NULL)
		return NULL;
	doctor6_str_or_null(o, "gateway", r->gateway);
	cJSON_AddNumberToObject(o, "port", r->port);
	cJSON_AddStringToObject(o, "protocol", portspec_proto_str(r->proto));
	svc = cJSON_AddObjectToObject(o, "pinhole_service");
	cJSON_AddBoolToObject(svc, "pcp", r->service.pcp_found);
	cJSON_AddBoolToObject(svc, "upnp", r->service.upnp_found);
	if (r->service.upnp_status_known)
		cJSON_AddBoolToObject(svc, "inbound_pinhole_allowed",
		    r->service.inbound_pinhole_allowed);
	arr = cJSON_AddArrayToObject(o, "checks");
	for (i = 0; i < DOC6_NCHECKS; i++)
		cJSON_AddItemToArray(arr, doctor_check_json(
		    doctor6_check_str(i), &r->checks[i]));
	doctor6_str_or_null(o, "verdict", r->counts ?
	    doctor6_verdict_str(r->verdict) : NULL);
	cJSON_AddStringToObject(o, "summary", r->summary);
	doctor6_str_or_null(o, "warning", r->port_warning);
	doctor6_str_or_null(o, "probe", r->probe_url);
	doctor6_str_or_null(o, "source_seen", r->source_seen);
	cJSON_AddNumberToObject(o, "elapsed_ms", (double)r->elapsed_ms);
	return o;
}

cJSON *
doctor6_audit_json(const struct doctor6_audit *a)
{
	static const char *const ids[] = {
		"ipv6_address", "ipv6_route", "pinhole_service", "ipv6_exposure",
	};
	cJSON *o, *arr, *f, *ch;
	size_t i;

	if ((o = doctor6_json_head(a->counts, a->why_not, a->address,
	    a->kind)) == NULL)
		return NULL;
	arr = cJSON_AddArrayToObject(o, "checks");
	for (i = 0; i < nitems(ids); i++)
		cJSON_AddItemToArray(arr, doctor_check_json(ids[i],
		    &a->checks[i]));
	arr = cJSON_AddArrayToObject(o, "forwards");
	for (i = 0; i < a->nfwd; i++) {
		f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "name", a->fwd[i].name);
		cJSON_AddNumberToObject(f, "port", a->fwd[i].port);
		cJSON_AddStringToObject(f, "protocol",
		    portspec_proto_str(a->fwd[i].proto));
		ch = cJSON_AddArrayToObject(f, "checks");
		cJSON_AddItemToArray(ch, doctor_check_json(
		    doctor6_check_str(DOC6_LISTENER), &a->fwd[i].listener));
		cJSON_AddItemToArray(ch, doctor_check_json(
		    doctor6_check_str(DOC6_PINHOLE), &a->fwd[i].pinhole));
		cJSON_AddStringToObject(f, "verdict",
		    doctor6_verdict_str(a->fwd[i].verdict));
		cJSON_AddItemToArray(arr, f);
	}
	doctor6_str_or_null(o, "verdict", a->counts ?
	    doctor6_verdict_str(a->verdict) : NULL);
	return o;
}

/* The IPv6 half of the audit's summary. */
static void
doctor6_audit_v6_words(const struct doctor6_audit *a, char *s, size_t sz)
{
	size_t i, bad = 0;

	if (!a->counts) {
		doctor6_app(s, sz, "IPv6 not checked: %s.", a->why_not);
		return;
	}
	for (i = 0; i < DOC6_AUDIT_EXPOSURE; i++)
		if (a->checks[i].status == DOC_FAIL ||
		    a->checks[i].reason == DOCR_ONLY_TEMPORARY) {
			doctor6_app(s, sz, "Over IPv6: %s.", a->checks[i].detail);
			return;
		}
	for (i = 0; i < a->nfwd; i++) {
		if (a->fwd[i].verdict == DOC6V_OK)
			continue;
		doctor6_app(s, sz, "%s %s (port %u): %s", bad++ == 0 ?
		    "Over IPv6, forwards with a problem:" : ";", a->fwd[i].name,
		    a->fwd[i].port, doctor6_verdict_str(a->fwd[i].verdict));
	}
	if (bad > 0)
		doctor6_app(s, sz, "; run \"portkeeper doctor PORT -6\" on "
		    "each for the cause and the fix.");
	else
		doctor6_app(s, sz, "Over IPv6, the %zu forward%s kept there %s "
		    "in place, at [%s].", a->nfwd, a->nfwd == 1 ? "" : "s",
		    a->nfwd == 1 ? "is" : "are", a->address);
}

const char *
doctor6_audit_words(const struct doctor_audit *a4, bool v4_ran,
    const struct doctor6_audit *a6, char *s, size_t sz)
{
	bool none = a4->verdict == DOCV_CGNAT || (a4->verdict ==
	    DOCV_NO_GATEWAY && a4->checks[DOC_GATEWAY].reason == DOCR_NO_ROUTE);
	const char *name;
	int family;

	name = doctor6_combine(a4->verdict, v4_ran, none, a6 != NULL ?
	    a6->verdict : DOC6V_OK, a6 != NULL && a6->counts, &family);
	s[0] = '\0';
	if (v4_ran)
		doctor6_app(s, sz, "%s", a4->summary);
	if (a6 == NULL)
		return name;
	doctor6_app(s, sz, "%s", s[0] != '\0' ? " " : "");
	doctor6_audit_v6_words(a6, s, sz);
	if (strcmp(name, "ipv6_only") == 0)
		doctor6_app(s, sz, " IPv6 is the only way in: publish this "
		    "host's IPv6 address as an AAAA record; visitors that have "
		    "only IPv4 need a relay with a public IPv4 address (a small "
		    "VPS) or a tunnel.");
	return name;
}

/*
 * IPv4's JSON with the verdict and summary of both families, IPv4's own
 * verdict as "ipv4_verdict", and IPv6's part (v6, taken) as "ipv6".
 */
void
doctor6_json_both(cJSON *obj, const char *verdict, const char *summary,
    const char *v4, cJSON *v6)
{
	if (obj == NULL) {
		cJSON_Delete(v6);
		return;
	}
	cJSON_ReplaceItemInObject(obj, "verdict", cJSON_CreateString(verdict));
	cJSON_ReplaceItemInObject(obj, "summary", cJSON_CreateString(summary));
	cJSON_ReplaceItemInObject(obj, "ok",
	    cJSON_CreateBool(strcmp(verdict, "ok") == 0));
	cJSON_AddStringToObject(obj, "ipv4_verdict", v4);
	cJSON_AddItemToObject(obj, "ipv6", v6);
}

/* The IPv6 run's options, from the IPv4 run's and the configuration. */
void
doctor6_opts_from(struct doctor6_opts *o6, const struct doctor_opts *d,
    const struct config *cfg, int family)
{
	memset(o6, 0, sizeof(*o6));
	o6->proto = d->spec.proto;
	o6->ext = d->spec.ext;
	o6->port = d->spec.in != 0 ? d->spec.in : d->spec.ext;
	o6->via = d->via;
	o6->timeout_ms = d->timeout_ms;
	o6->probe_url = d->probe_url;
	o6->cfg = cfg;
	o6->forward = d->forward;
	o6->forced = family == 6;
	o6->stop = d->stop;
}
