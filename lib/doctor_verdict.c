/*
 * portkeeper doctor: the verdict and its words.  Pure functions of a
 * report: doctor_verdict() decides from the checks alone, so that the
 * daemon and the web UI decide exactly as the command does; the summary
 * says the cause and the fix in sentences; the JSON is the contract of
 * README.md.  The audit's verdict and words are here too.  Nothing here
 * touches the network.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "doctor.h"
#include "doctor_audit.h"
#include "portmap.h"
#include "router.h"
#include "util.h"

static const char *const check_names[DOC_NCHECKS] = {
	"gateway", "external_ip", "internal_ip", "listener", "mapping",
	"hairpin", "external",
};

static const char *const verdict_names[DOCV_NVERDICTS] = {
	"ok", "no_gateway", "cgnat", "double_nat", "no_listener", "no_mapping",
	"mapping_conflict", "hairpin_unsupported", "external_blocked",
};

static const char *const reason_names[DOCR_NREASONS] = {
	"", "no_route", "no_gateway", "cgnat", "no_address", "private",
	"reserved", "bad_address", "dhcp", "refused", "loopback_only",
	"timeout", "not_verifiable", "absent", "conflict", "other_port",
	"disabled", "unlistable", "no_loopback", "router_answers",
	"unreachable", "other_nat", "probe_failed", "error",
	"no_ipv6", "no_ipv6_route", "only_temporary", "no_pinhole_service",
	"pinholes_not_allowed", "ipv4_only", "not_kept", "pinhole_failed",
	"open_to_all",
};

const char *
doctor_check_str(enum doctor_check_id id)
{
	return (unsigned)id < DOC_NCHECKS ? check_names[id] : "?";
}

const char *
doctor_status_str(enum doctor_status s)
{
	switch (s) {
	case DOC_PASS:	return "pass";
	case DOC_WARN:	return "warn";
	case DOC_FAIL:	return "fail";
	case DOC_SKIP:	break;
	}
	return "skip";
}

const char *
doctor_reason_str(enum doctor_reason r)
{
	return (unsigned)r < DOCR_NREASONS ? reason_names[r] : "";
}

const char *
doctor_verdict_str(enum doctor_verdict v)
{
	return (unsigned)v < DOCV_NVERDICTS ? verdict_names[v] : "ok";
}

/* ------------------------------------------------------------------ */
/* The verdict: a pure function of the checks */

enum doctor_verdict
doctor_verdict(const struct doctor_check c[DOC_NCHECKS])
{
	const struct doctor_check *ip = &c[DOC_EXTERNAL_IP];
	const struct doctor_check *lis = &c[DOC_LISTENER];
	const struct doctor_check *map = &c[DOC_MAPPING];
	const struct doctor_check *hp = &c[DOC_HAIRPIN];
	const struct doctor_check *ext = &c[DOC_EXTERNAL];
	bool map_ok = map->status == DOC_PASS || map->status == DOC_WARN;
	bool lis_ok = lis->status != DOC_FAIL;

	/* Nothing to talk to: every other answer is moot. */
	if (c[DOC_GATEWAY].status == DOC_FAIL)
		return DOCV_NO_GATEWAY;
	/* No forward on this router can work from the internet. */
	if (ip->status == DOC_FAIL)
		return ip->reason == DOCR_CGNAT || ip->reason == DOCR_NO_ADDRESS ?
		    DOCV_CGNAT : DOCV_DOUBLE_NAT;
	if (ext->status == DOC_FAIL && ext->reason == DOCR_OTHER_NAT)
		return DOCV_DOUBLE_NAT;
	/*
	 * A port held by another host cannot be fixed on this one, so it
	 * comes before a missing listener, which makes any forward useless,
	 * which comes before a missing forward (the last step of a setup).
	 */
	if (map->status == DOC_FAIL && map->reason == DOCR_CONFLICT)
		return DOCV_MAPPING_CONFLICT;
	if (lis->status == DOC_FAIL)
		return DOCV_NO_LISTENER;
	if (map->status == DOC_FAIL)
		return DOCV_NO_MAPPING;
	if (ext->status == DOC_FAIL)
		/*
		 * Blocked only when the forward is known to be there; a router
		 * that cannot show its table (NAT-PMP) most likely lacks it.
		 */
		return map_ok ? DOCV_EXTERNAL_BLOCKED : DOCV_NO_MAPPING;
	if (hp->status == DOC_FAIL && (ext->status == DOC_PASS ||
	    (map_ok && lis_ok)))
		return DOCV_HAIRPIN_UNSUPPORTED;
	return DOCV_OK;
}

/* ------------------------------------------------------------------ */
/* The words */

static void __attribute__((format(printf, 3, 4)))
sapp(char *buf, size_t sz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	str_vappendf(buf, sz, fmt, ap);
	va_end(ap);
}

/* A check's sentence with its first letter kept as is, for quoting. */
static const char *
said(const struct doctor_report *r, enum doctor_check_id id)
{
	return r->checks[id].detail;
}

/* Another external port to suggest: the next one up (or down). */
static unsigned
other_port(unsigned port)
{
	if (port == 80)
		return 8080;
	if (port == 443)
		return 8443;
	return port < 65535 ? port + 1 : port - 1;
}

/* No public address: nothing on this line can be reached from outside. */
static void
words_cgnat(struct doctor_report *r)
{
	const struct doctor_check *c = r->checks;
	char *s = r->summary;
	size_t sz = sizeof(r->summary);

	sapp(s, sz, "Port forwarding cannot work on this internet "
	    "connection: the router has no public IPv4 address (%s%s%s), "
	    "so connections from the internet never reach it. The ISP "
	    "puts the line behind carrier-grade NAT, one public address "
	    "shared by many customers%s%s%s. What you can do: ask the ISP "
	    "for a public IPv4 address (many give one on request, some "
	    "for a small fee); use IPv6, where every device has a public "
	    "address of its own, if the ISP offers it; or reach the "
	    "server through a tunnel or relay (a small VPS with "
	    "WireGuard or an SSH tunnel, or a service such as Tailscale "
	    "Funnel or Cloudflare Tunnel).",
	    r->external_ip[0] != '\0' ? "its WAN address is " :
	    "it says it has none", r->external_ip,
	    c[DOC_EXTERNAL_IP].reason == DOCR_CGNAT ?
	    ", in the range 100.64.0.0/10" : "",
	    r->source_seen[0] != '\0' ? " (the internet sees you as " :
	    "", r->source_seen, r->source_seen[0] != '\0' ? ")" : "");
}

/* A NAT in front of the router: forwards stop at it. */
static void
words_double_nat(struct doctor_report *r, const char *fwd)
{
	const struct doctor_check *c = r->checks;
	char *s = r->summary;
	size_t sz = sizeof(r->summary);

	if (c[DOC_EXTERNAL_IP].status == DOC_FAIL)
		sapp(s, sz, "Another router sits in front of yours: your "
		    "router's WAN address %s is not public%s%s%s, so "
		    "forwards made on it only get as far as the device "
		    "in front (often the ISP's modem, or a second "
		    "router).", r->external_ip, r->source_seen[0] != '\0' ?
		    " (the internet sees this network as " : "",
		    r->source_seen, r->source_seen[0] != '\0' ? ")" : "");
	else
		sapp(s, sz, "Another NAT sits in front of your router: "
		    "its external address is %s, but the internet sees "
		    "this network as %s. Forwards made on your router "
		    "only get as far as that other NAT (the ISP's modem, "
		    "a second router, or the ISP itself).",
		    r->external_ip, r->source_seen);
	sapp(s, sz, " Fix: put the device in front in bridge (modem) "
	    "mode, or make your router its DMZ (\"exposed host\"), or "
	    "forward %s there to your router%s%s too; if it is the ISP "
	    "that does the NAT, ask it for a public IPv4 address, use "
	    "IPv6, or use a tunnel or relay.", fwd,
	    r->external_ip[0] != '\0' ? "'s WAN address " : "",
	    r->external_ip);
}

/* All in place here, and still the probe cannot get in. */
static void
words_external_blocked(struct doctor_report *r, const char *fwd,
    const char *in)
{
	char *s = r->summary;
	size_t sz = sizeof(r->summary);

	sapp(s, sz, "The router forwards %s to %s and nothing on this "
	    "host is in the way, but the probe server at %s could not "
	    "get in from the internet: something in between drops it.",
	    fwd, in, r->probe_url);
	if (r->other_ports_reachable)
		sapp(s, sz, " Other ports do get in (the probe reached "
		    "this host through port %u), so port %u itself is "
		    "blocked: many ISPs block incoming connections to "
		    "ports such as 25, 80 and 443 on home lines, and a "
		    "router may have a firewall rule for it. Use another "
		    "external port, e.g. \"portkeeper open %u:%u%s\", or "
		    "ask the ISP to lift the block.", r->probe_port,
		    r->port, other_port(r->port), r->internal_port,
		    r->proto == PM_UDP ? "/udp" : "");
	else if (r->probe_mapping_made)
		sapp(s, sz, " Nothing got in through the probe "
		    "mapping's port %u either: look for a firewall rule "
		    "or \"stealth mode\" in the router that drops "
		    "incoming connections, and ask the ISP whether it "
		    "filters them.", r->probe_port);
	else
		sapp(s, sz, " Look for a firewall rule in the router "
		    "that drops incoming connections to the port, and "
		    "ask the ISP whether it blocks it (many block 25, 80 "
		    "and 443 on home lines); another external port may "
		    "get through.");
}

/* Works from outside (or should), but not from inside the LAN. */
static void
words_hairpin(struct doctor_report *r, const char *fwd, const char *in)
{
	const struct doctor_check *c = r->checks;
	char *s = r->summary;
	size_t sz = sizeof(r->summary);

	if (c[DOC_EXTERNAL].status == DOC_PASS)
		sapp(s, sz, "%s works from the internet (the probe "
		    "server got in at %s:%u)", fwd, r->source_seen,
		    r->port);
	else
		sapp(s, sz, "The forward of %s is in place (the router "
		    "forwards it to %s and something listens there), so "
		    "it should work from the internet (give --probe URL "
		    "to check from outside)", fwd, in);
	sapp(s, sz, ", but not from inside your home network: the "
	    "router does not do NAT loopback (hairpinning), so a device "
	    "at home that connects to the public address %s, or to a "
	    "name that points at it, ends up at the router instead of "
	    "at %s. Fixes: at home, use the internal address %s "
	    "instead; or make the name point at %s inside the home "
	    "network with a local DNS override (dnsmasq or Pi-hole: "
	    "address=/name.example/%s, or a line \"%s name.example\" in "
	    "the laptop's hosts file); or turn on NAT loopback (also "
	    "called hairpinning or NAT reflection) in the router's "
	    "settings, if it has the option.",
	    r->external_ip, r->internal_ip, in, r->internal_ip,
	    r->internal_ip, r->internal_ip);
	if (c[DOC_HAIRPIN].reason == DOCR_ROUTER_ANSWERS)
		sapp(s, sz, " (From inside, something does answer at "
		    "%s:%u, but it is the router itself, not this host: "
		    "a \"port open\" test from the LAN is fooled by it.)",
		    r->external_ip, r->port);
}

/* No problem: say what was seen, and what was not checked. */
static void
words_ok(struct doctor_report *r, const char *fwd, const char *in)
{
	const struct doctor_check *c = r->checks;
	char *s = r->summary;
	size_t sz = sizeof(r->summary);

	if (c[DOC_EXTERNAL].status == DOC_PASS)
		sapp(s, sz, "%s works: the router forwards it to %s, and "
		    "the probe server got in from the internet", fwd, in);
	else if (c[DOC_MAPPING].status == DOC_PASS &&
	    r->probe_url[0] != '\0' &&
	    c[DOC_EXTERNAL].reason == DOCR_NOT_VERIFIABLE)
		sapp(s, sz, "No problem found with %s: the router "
		    "forwards it to %s; whether it works from the "
		    "internet cannot be verified while a program holds "
		    "the UDP port%s", fwd, in, r->other_ports_reachable ?
		    " (other ports do get in from the internet)" : "");
	else if (c[DOC_MAPPING].status == DOC_PASS)
		sapp(s, sz, "No problem found with %s: the router "
		    "forwards it to %s%s; whether it works from the "
		    "internet was not checked (run portkeeper "
		    "probe-server on a machine outside and give its URL "
		    "with --probe)", fwd, in,
		    c[DOC_LISTENER].status == DOC_PASS ?
		    " and something listens there" : "");
	else
		sapp(s, sz, "No problem found with %s", fwd);
	if (c[DOC_HAIRPIN].status == DOC_PASS)
		sapp(s, sz, "; it works from inside the home network "
		    "too (the router does NAT loopback)");
	sapp(s, sz, ".");
}

/* What does not change the verdict but needs doing. */
static void
words_also(struct doctor_report *r, const char *in)
{
	const struct doctor_check *c = r->checks;
	char *s = r->summary;
	size_t sz = sizeof(r->summary);

	if (c[DOC_INTERNAL_IP].reason == DOCR_DHCP &&
	    r->verdict != DOCV_NO_GATEWAY)
		sapp(s, sz, " Also: this host's address %s is leased by DHCP; "
		    "reserve it for this host in the router (a DHCP "
		    "reservation) so that the forward keeps pointing here.",
		    r->internal_ip);
	if (r->verdict == DOCV_OK && c[DOC_HAIRPIN].status == DOC_FAIL)
		sapp(s, sz, " Also: the router does not do NAT loopback, so "
		    "from inside the home network use %s, not the public "
		    "address.", in);
	if (r->verdict == DOCV_OK && c[DOC_GATEWAY].status == DOC_WARN)
		sapp(s, sz, " Also: %s.", said(r, DOC_GATEWAY));
}

enum pm_errcode
doctor_errcode(const struct doctor_report *r)
{
	if (r->refused != PME_OK)
		return r->refused;
	/* A router that refused every forward refuses this one too. */
	if (r->verdict != DOCV_OK && (r->router.quirks & PMQ_REFUSES_ALL))
		return PME_NOT_AUTHORIZED;
	switch (r->verdict) {
	case DOCV_NO_GATEWAY:
		return r->checks[DOC_GATEWAY].reason == DOCR_NO_ROUTE ?
		    PME_NO_ROUTE : PME_NO_GATEWAY;
	case DOCV_CGNAT:
	case DOCV_DOUBLE_NAT:
		return PME_NO_PUBLIC_ADDRESS;
	case DOCV_MAPPING_CONFLICT:
		return PME_CONFLICT;
	case DOCV_NO_MAPPING:
		return PME_NOT_FOUND;
	case DOCV_NO_LISTENER:
	case DOCV_HAIRPIN_UNSUPPORTED:
	case DOCV_EXTERNAL_BLOCKED:
	case DOCV_OK:
	case DOCV_NVERDICTS:
		break;
	}
	return PME_OK;
}

/* The fix in the router's own settings, when its vendor documents one. */
static void
words_router(struct doctor_report *r)
{
	const char *fix = router_advice(&r->router, doctor_errcode(r));
	char name[160];

	if (fix == NULL)
		return;
	router_name(&r->router, name, sizeof(name));
	sapp(r->summary, sizeof(r->summary), " The fix on this %s: %s.",
	    name[0] != '\0' ? name : "router", fix);
}

void
doctor_conclude(struct doctor_report *r)
{
	const struct doctor_check *c = r->checks;
	char *s = r->summary, fwd[32], in[48];
	const char *proto = portspec_proto_str(r->proto);
	size_t sz = sizeof(r->summary);

	r->verdict = doctor_verdict(c);
	s[0] = '\0';
	snprintf(fwd, sizeof(fwd), "port %u/%s", r->port, proto);
	snprintf(in, sizeof(in), "%s:%u", r->internal_ip[0] != '\0' ?
	    r->internal_ip : "this host", r->internal_port);

	switch (r->verdict) {
	case DOCV_NO_GATEWAY:
		sapp(s, sz, "The router cannot be asked for forwards: %s.",
		    said(r, DOC_GATEWAY));
		break;
	case DOCV_CGNAT:
		words_cgnat(r);
		break;
	case DOCV_DOUBLE_NAT:
		words_double_nat(r, fwd);
		break;
	case DOCV_MAPPING_CONFLICT:
		sapp(s, sz, "%s is already forwarded to %s:%u%s%s%s, another "
		    "host on the LAN, and a port can be forwarded to one host "
		    "only. Free it on %s (close the forward there, or remove it "
		    "in the router's admin page), or forward another external "
		    "port to this host, e.g. \"portkeeper open %u:%u%s\".", fwd,
		    r->holder, r->holder_port, r->holder_desc[0] != '\0' ?
		    " (\"" : "", r->holder_desc, r->holder_desc[0] != '\0' ?
		    "\")" : "", r->holder, other_port(r->port),
		    r->internal_port, r->proto == PM_UDP ? "/udp" : "");
		break;
	case DOCV_NO_LISTENER:
		sapp(s, sz, "The forward of %s cannot work: %s.", fwd,
		    said(r, DOC_LISTENER));
		if (c[DOC_MAPPING].status == DOC_FAIL)
			sapp(s, sz, " Also, %s.", said(r, DOC_MAPPING));
		break;
	case DOCV_NO_MAPPING:
		if (c[DOC_MAPPING].status == DOC_FAIL)
			sapp(s, sz,
			    "The router does not forward %s to this host "
			    "as asked: %s.", fwd, said(r, DOC_MAPPING));
		else
			sapp(s, sz, "The probe server could not get in at %s, "
			    "and the router cannot show whether it has the "
			    "forward (it speaks only NAT-PMP), so most likely it "
			    "does not: create it with \"portkeeper open %u:%u%s\" "
			    "(or let portkeeperd keep it).", fwd, r->port,
			    r->internal_port, r->proto == PM_UDP ? "/udp" : "");
		break;
	case DOCV_EXTERNAL_BLOCKED:
		words_external_blocked(r, fwd, in);
		break;
	case DOCV_HAIRPIN_UNSUPPORTED:
		words_hairpin(r, fwd, in);
		break;
	case DOCV_OK:
	case DOCV_NVERDICTS:
		words_ok(r, fwd, in);
		break;
	}

	/* Sentences start with a capital, also when they start with "port". */
	if (s[0] >= 'a' && s[0] <= 'z')
		s[0] = (char)(s[0] - 'a' + 'A');

	words_also(r, in);
	words_router(r);
}

static void
add_str_or_null(cJSON *obj, const char *key, const char *v)
{
	if (v != NULL && v[0] != '\0')
		cJSON_AddStringToObject(obj, key, v);
	else
		cJSON_AddNullToObject(obj, key);
}

cJSON *
doctor_check_json(const char *id, const struct doctor_check *c)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "status", doctor_status_str(c->status));
	cJSON_AddStringToObject(o, "detail", c->detail);
	if (c->reason != DOCR_NONE)
		cJSON_AddStringToObject(o, "reason",
		    doctor_reason_str(c->reason));
	return o;
}

cJSON *
doctor_report_json(const struct doctor_report *r)
{
	cJSON *obj = cJSON_CreateObject(), *arr, *pm;
	size_t i;

	if (obj == NULL)
		return NULL;
	cJSON_AddNumberToObject(obj, "port", r->port);
	cJSON_AddStringToObject(obj, "protocol", portspec_proto_str(r->proto));
	add_str_or_null(obj, "internal_ip", r->internal_ip);
	cJSON_AddNumberToObject(obj, "internal_port", r->internal_port);
	add_str_or_null(obj, "external_ip", r->external_ip);
	arr = cJSON_AddArrayToObject(obj, "checks");
	for (i = 0; i < DOC_NCHECKS; i++)
		cJSON_AddItemToArray(arr,
		    doctor_check_json(doctor_check_str(i), &r->checks[i]));
	cJSON_AddStringToObject(obj, "verdict", doctor_verdict_str(r->verdict));
	cJSON_AddStringToObject(obj, "summary", r->summary);
	cJSON_AddBoolToObject(obj, "ok", r->verdict == DOCV_OK);
	add_str_or_null(obj, "gateway", r->gateway);
	add_str_or_null(obj, "method", r->upnp || r->natpmp ?
	    portmap_method_str(r->method) : NULL);
	add_str_or_null(obj, "forward", r->forward_name);
	add_str_or_null(obj, "probe", r->probe_url);
	add_str_or_null(obj, "source_seen", r->source_seen);
	cJSON_AddItemToObject(obj, "router", router_json(&r->router));
	add_str_or_null(obj, "router_advice", router_advice(&r->router,
	    doctor_errcode(r)));
	if (r->probe_mapping_made) {
		pm = cJSON_AddObjectToObject(obj, "probe_mapping");
		cJSON_AddNumberToObject(pm, "external_port", r->probe_port);
		cJSON_AddBoolToObject(pm, "removed", r->probe_mapping_removed);
	}
	if (r->interrupted)
		cJSON_AddTrueToObject(obj, "interrupted");
	cJSON_AddNumberToObject(obj, "elapsed_ms", (double)r->elapsed_ms);
	return obj;
}


/* ------------------------------------------------------------------ */
/* The audit's words */

const char *
doctor_entry_kind_str(enum doctor_entry_kind k)
{
	switch (k) {
	case DOCE_MANAGED:	return "managed";
	case DOCE_UNMANAGED:	return "unmanaged";
	case DOCE_OTHER_HOST:	return "other_host";
	case DOCE_OUTSIDE_LAN:	break;
	}
	return "outside_lan";
}

/* One forward of an audit: its verdict from the router's checks and its own. */
static void
audit_forward_words(const struct doctor_audit *a, struct doctor_fwd_report *fr)
{
	struct doctor_check tmp[DOC_NCHECKS];

	memcpy(tmp, a->checks, sizeof(tmp));
	tmp[DOC_LISTENER] = fr->listener;
	tmp[DOC_MAPPING] = fr->mapping;
	fr->verdict = doctor_verdict(tmp);
	if (fr->verdict == DOCV_OK)
		snprintf(fr->summary, sizeof(fr->summary), "in place%s",
		    fr->mapping.status == DOC_PASS ? "" :
		    " as far as can be seen");
	else if (fr->verdict == DOCV_NO_LISTENER)
		str_copy(fr->summary, fr->listener.detail, sizeof(fr->summary));
	else if (fr->verdict == DOCV_NO_MAPPING ||
	    fr->verdict == DOCV_MAPPING_CONFLICT)
		str_copy(fr->summary, fr->mapping.detail, sizeof(fr->summary));
	else
		snprintf(fr->summary, sizeof(fr->summary), "see the router "
		    "checks");
}

/* What the router's table holds that no configured forward explains. */
static void
audit_table_words(struct doctor_audit *a)
{
	size_t i, unmanaged = 0, outside = 0, others = 0;
	size_t sz = sizeof(a->summary);

	for (i = 0; i < a->nent; i++) {
		unmanaged += a->ent[i].kind == DOCE_UNMANAGED;
		outside += a->ent[i].kind == DOCE_OUTSIDE_LAN;
		others += a->ent[i].kind == DOCE_OTHER_HOST;
	}
	if (!a->table_known)
		sapp(a->summary, sz, " The router's table could not be read: "
		    "%s.", a->table_detail);
	if (unmanaged > 0)
		sapp(a->summary, sz, " %zu forward%s on the router point%s at "
		    "this host without a configured forward that keeps %s "
		    "(left by portkeeper open, a crash, or another program).",
		    unmanaged, unmanaged == 1 ? "" : "s",
		    unmanaged == 1 ? "s" : "", unmanaged == 1 ? "it" : "them");
	if (outside > 0)
		sapp(a->summary, sz, " %zu forward%s point%s outside the LAN: "
		    "suspicious.", outside, outside == 1 ? "" : "s",
		    outside == 1 ? "s" : "");
	if (others > 0)
		sapp(a->summary, sz, " %zu belong%s to %s.", others,
		    others == 1 ? "s" : "", others == 1 ? "another host" :
		    "other hosts");
}

void
doctor_audit_conclude(struct doctor_audit *a)
{
	size_t i, bad = 0, sz = sizeof(a->summary);

	for (i = 0; i < a->nfwd; i++)
		audit_forward_words(a, &a->fwd[i]);
	a->verdict = doctor_verdict(a->checks);
	a->summary[0] = '\0';
	if (a->verdict != DOCV_OK) {
		sapp(a->summary, sz, "%s.", a->verdict == DOCV_NO_GATEWAY ?
		    a->checks[DOC_GATEWAY].detail :
		    a->checks[DOC_EXTERNAL_IP].detail);
		return;
	}
	for (i = 0; i < a->nfwd; i++) {
		if (a->fwd[i].verdict == DOCV_OK)
			continue;
		if (bad++ == 0) {
			a->verdict = a->fwd[i].verdict;
			sapp(a->summary, sz, "Forwards with a problem:");
		}
		sapp(a->summary, sz, "%s %s (%u/%s): %s", bad > 1 ? ";" : "",
		    a->fwd[i].name, a->fwd[i].port,
		    portspec_proto_str(a->fwd[i].proto),
		    doctor_verdict_str(a->fwd[i].verdict));
	}
	if (bad > 0)
		sapp(a->summary, sz, "; run \"portkeeper doctor PORT\" on each "
		    "for the cause and the fix.");
	else if (a->nfwd > 0)
		sapp(a->summary, sz, "All %zu configured forwards are in "
		    "place.", a->nfwd);
	else
		sapp(a->summary, sz, "No forwards are configured%s%s.",
		    a->config_path[0] != '\0' ? " in " : "", a->config_path);
	audit_table_words(a);
}

cJSON *
doctor_audit_json(const struct doctor_audit *a)
{
	cJSON *obj = cJSON_CreateObject(), *arr, *o, *ch;
	size_t i;

	if (obj == NULL)
		return NULL;
	cJSON_AddTrueToObject(obj, "audit");
	add_str_or_null(obj, "internal_ip", a->internal_ip);
	add_str_or_null(obj, "external_ip", a->external_ip);
	add_str_or_null(obj, "gateway", a->gateway);
	add_str_or_null(obj, "config", a->config_path);
	cJSON_AddItemToObject(obj, "router", router_json(&a->router));
	arr = cJSON_AddArrayToObject(obj, "checks");
	for (i = DOC_GATEWAY; i <= DOC_INTERNAL_IP; i++)
		cJSON_AddItemToArray(arr,
		    doctor_check_json(doctor_check_str(i), &a->checks[i]));
	arr = cJSON_AddArrayToObject(obj, "forwards");
	for (i = 0; i < a->nfwd; i++) {
		const struct doctor_fwd_report *f = &a->fwd[i];

		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", f->name);
		cJSON_AddNumberToObject(o, "port", f->port);
		cJSON_AddStringToObject(o, "protocol",
		    portspec_proto_str(f->proto));
		cJSON_AddNumberToObject(o, "internal_port", f->internal_port);
		ch = cJSON_AddArrayToObject(o, "checks");
		cJSON_AddItemToArray(ch, doctor_check_json(
		    doctor_check_str(DOC_LISTENER), &f->listener));
		cJSON_AddItemToArray(ch, doctor_check_json(
		    doctor_check_str(DOC_MAPPING), &f->mapping));
		cJSON_AddStringToObject(o, "verdict",
		    doctor_verdict_str(f->verdict));
		cJSON_AddStringToObject(o, "summary", f->summary);
		cJSON_AddItemToArray(arr, o);
	}
	cJSON_AddBoolToObject(obj, "table_known", a->table_known);
	arr = cJSON_AddArrayToObject(obj, "router_table");
	for (i = 0; i < a->nent; i++) {
		const struct doctor_entry *e = &a->ent[i];

		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "protocol",
		    portspec_proto_str(e->m.proto));
		cJSON_AddNumberToObject(o, "external_port", e->m.ext_port);
		cJSON_AddStringToObject(o, "internal_ip", e->m.int_client);
		cJSON_AddNumberToObject(o, "internal_port", e->m.int_port);
		cJSON_AddStringToObject(o, "description", e->m.desc);
		cJSON_AddNumberToObject(o, "lease", e->m.lease);
		cJSON_AddBoolToObject(o, "enabled", e->m.enabled);
		cJSON_AddStringToObject(o, "kind",
		    doctor_entry_kind_str(e->kind));
		add_str_or_null(o, "forward", e->forward);
		cJSON_AddStringToObject(o, "detail", e->detail);
		cJSON_AddItemToArray(arr, o);
	}
	cJSON_AddStringToObject(obj, "verdict", doctor_verdict_str(a->verdict));
	cJSON_AddStringToObject(obj, "summary", a->summary);
	cJSON_AddBoolToObject(obj, "ok", a->verdict == DOCV_OK);
	cJSON_AddNumberToObject(obj, "elapsed_ms", (double)a->elapsed_ms);
	return obj;
}
