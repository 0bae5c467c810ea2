/*
 * portkeeper doctor over IPv6: one forward's run (doctor6.h).  The steps
 * run one after the other on the caller's thread (a job beside
 * doctor_run's IPv4 checks), each bounded by a deadline of its own:
 *
 *   ipv6_address, ipv6_route  rtnetlink (netinfo6), instant
 *   pinhole_service           PCP ANNOUNCE to the IPv6 gateway, UPnP
 *                             IGD:2's GetFirewallStatus (portmap6)
 *   ipv6_listener             connect to [ADDR]:INT, and when refused, to
 *                             this host's IPv4 address and [::1]
 *   pinhole                   the daemon's status over its control socket,
 *                             else what "portkeeper open -6" recorded
 *   ipv6_external             the probe server, asked over IPv6 from ADDR,
 *                             connects back to [ADDR]:INT
 *
 * Unlike the IPv4 run it opens nothing on the router: a pinhole is for one
 * address and port, so a probe pinhole would prove nothing about INT.  The
 * verdict and the words are doctor6_verdict.c's.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "addr6.h"
#include "doctor6.h"
#include "doctor_check.h"
#include "log.h"
#include "mapstore.h"
#include "netinfo.h"
#include "netinfo6.h"
#include "portmap6.h"
#include "util.h"

#define LISTENER6_MS	1000	/* connect to [ADDR]:INT */
#define OTHER_MS	300	/* and to IPv4:INT, [::1]:INT */
#define STATUS_MS	2000	/* the daemon's status */
#define STATUS_MAX	(1024 * 1024)
#define OUTSIDE6_MS	(PROBE_DEFAULT_CONNECT_MS + 1500)
#define DEFAULT_SOCKET	"/run/portkeeper/api.sock"

/* The FRITZ!Box's per-device switch, as router.c and pcp.c name it. */
#define ALLOW_WHERE \
	"turn on PCP or UPnP in the router's settings and allow this " \
	"device to open ports (FRITZ!Box: Internet > Permit Access > Port " \
	"Sharing: edit this device and tick \"Permit independent port " \
	"sharing for this device\")"

void
doctor6_set(struct doctor_check *c, enum doctor6_check_id id,
    enum doctor_status st, enum doctor_reason why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	doctor_check_vset(c + id, st, why, fmt, ap);
	va_end(ap);
}

static bool
doctor6_stopped(const struct doctor6_opts *o)
{
	return o->stop != NULL && *o->stop;
}

/*
 * The address the configuration's ipv6_address wants (NULL: the stable
 * one), as text in buf, given the host's stable address cur (NULL: none).
 */
static const char *
doctor6_want(const struct config *cfg, const struct in6_addr *cur,
    char buf[INET6_ADDRSTRLEN])
{
	struct in6_addr a;

	if (cfg == NULL || cfg->addr6.kind == CONFIG_ADDR6_AUTO ||
	    config_addr6_want(&cfg->addr6, cur, &a) == -1)
		return NULL;
	return inet_ntop(AF_INET6, &a, buf, INET6_ADDRSTRLEN);
}

/*
 * ipv6_address and ipv6_route from rtnetlink.  Returns 0 when the host has
 * the address to open and a route, -1 when it has IPv6 (a stable global
 * address and a route) but not the address ipv6_address wants, -2 when it
 * has no IPv6; the checks say why.
 */
static int
doctor6_host(const struct doctor6_opts *o, struct doctor6_report *r,
    struct netinfo6 *ni, char want[INET6_ADDRSTRLEN])
{
	struct pm_error err;
	const char *w = NULL;
	int rc, rc0;

	memset(ni, 0, sizeof(*ni));
	rc = rc0 = netinfo6_get(ni, NULL, &err);
	if (o->cfg != NULL && o->cfg->addr6.kind == CONFIG_ADDR6_FIXED)
		w = doctor6_want(o->cfg, NULL, want);
	else if (rc == 0)
		w = doctor6_want(o->cfg, &ni->addr, want);
	if (w != NULL)
		rc = netinfo6_get(ni, w, &err);
	if (ni->gateway_str[0] == '\0') {
		doctor6_set(r->checks, DOC6_ROUTE, DOC_FAIL, DOCR_NO_IPV6_ROUTE,
		    "%s", err.msg);
		doctor6_set(r->checks, DOC6_ADDRESS, DOC_SKIP, DOCR_NONE,
		    "not checked: without an IPv6 route no address of this "
		    "host is reachable");
		return -2;
	}
	str_copy(r->gateway, ni->gateway_str, sizeof(r->gateway));
	doctor6_set(r->checks, DOC6_ROUTE, DOC_PASS, DOCR_NONE,
	    "the IPv6 default route goes through %s", ni->gateway_str);
	if (rc == -1) {
		doctor6_set(r->checks, DOC6_ADDRESS, ni->only_temporary ?
		    DOC_WARN : DOC_FAIL, ni->only_temporary ?
		    DOCR_ONLY_TEMPORARY : DOCR_NO_ADDRESS, "%s%s", err.msg,
		    ni->only_temporary ? "; give the host a stable address "
		    "too (turn off use_tempaddr's \"prefer temporary\", or "
		    "give it ipv6_address = ::SUFFIX with a static "
		    "interface identifier)" : "");
		return rc0 == 0 ? -1 : -2;
	}
	str_copy(r->address, ni->addr_str, sizeof(r->address));
	str_copy(r->kind, ni->kind, sizeof(r->kind));
	doctor6_set(r->checks, DOC6_ADDRESS, DOC_PASS, DOCR_NONE,
	    "%s on %s is a stable global address (%s%s)%s", ni->addr_str,
	    ni->ifname, ni->kind, w != NULL ? ", as ipv6_address says" : "",
	    strcmp(ni->kind, "eui64") == 0 ? "; it is made from the network "
	    "card's MAC address, so it changes with the card" : "");
	return 0;
}

/*
 * Whether IPv6 counts for the verdict (see doctor6_report.counts), given
 * what doctor6_host returned: an address that ipv6_address names but the
 * host lacks counts, since the host has IPv6 and the user asked for it.
 */
static bool
doctor6_counts(const struct doctor6_opts *o, struct doctor6_report *r,
    int host)
{
	if (o->forced || host != -2 || (o->cfg != NULL &&
	    o->cfg->ipv6 == CONFIG_IPV6_ON))
		return true;
	snprintf(r->why_not, sizeof(r->why_not), "no IPv6: %.500s",
	    r->checks[DOC6_ROUTE].status == DOC_FAIL ?
	    r->checks[DOC6_ROUTE].detail : r->checks[DOC6_ADDRESS].detail);
	return false;
}

/* pinhole_service: whether the router opens pinholes, and how. */
static void
doctor6_service(const struct doctor6_opts *o, struct doctor6_report *r,
    struct portmap6 *pm)
{
	const struct portmap6_info *in;
	struct pm_error err;
	char pcp[96] = "";

	if (portmap6_discover(pm, &err) == -1) {
		r->service = *portmap6_info(pm);
		doctor6_set(r->checks, DOC6_PINHOLE_SERVICE, DOC_FAIL,
		    DOCR_NO_PINHOLE_SERVICE, "%s; %s", err.msg, ALLOW_WHERE);
		return;
	}
	in = portmap6_info(pm);
	r->service = *in;
	if (in->pcp_found) {
		doctor6_set(r->checks, DOC6_PINHOLE_SERVICE, DOC_PASS,
		    DOCR_NONE, "PCP answers over IPv6 at %s (epoch %u)%s",
		    r->gateway, in->pcp_epoch, in->upnp_found ? ", and UPnP "
		    "IGD:2's IPv6 firewall control too" : "");
		return;
	}
	if (o->via != PM_UPNP)
		snprintf(pcp, sizeof(pcp), " (PCP does not answer over IPv6)");
	if (in->upnp_status_known && in->firewall_enabled &&
	    !in->inbound_pinhole_allowed)
		doctor6_set(r->checks, DOC6_PINHOLE_SERVICE, DOC_FAIL,
		    DOCR_NOT_ALLOWED, "UPnP IGD:2 answers%s, but its IPv6 "
		    "firewall allows no inbound pinholes "
		    "(InboundPinholeAllowed is off): allow them in the "
		    "router's IPv6 firewall settings, or %s", pcp, ALLOW_WHERE);
	else if (r->proto == PM_TCP && r->port != 0 && r->port < 1024)
		doctor6_set(r->checks, DOC6_PINHOLE_SERVICE, DOC_FAIL,
		    DOCR_NOT_ALLOWED, "only UPnP IGD:2 answers%s, and it "
		    "refuses pinholes to ports below 1024 (UPnP error 606): "
		    "turn on PCP in the router, or make the server listen on a "
		    "port from 1024 up", pcp);
	else if (in->upnp_status_known && !in->firewall_enabled)
		doctor6_set(r->checks, DOC6_PINHOLE_SERVICE, DOC_PASS,
		    DOCR_NONE, "UPnP IGD:2 answers%s; the router's IPv6 "
		    "firewall is off, so every port of every device on the LAN "
		    "is open from the internet", pcp);
	else
		doctor6_set(r->checks, DOC6_PINHOLE_SERVICE, DOC_PASS,
		    DOCR_NONE, "UPnP IGD:2 opens IPv6 pinholes%s", pcp);
}

static void
doctor6_sin6(struct sockaddr_in6 *s, const struct in6_addr *a, uint16_t port)
{
	memset(s, 0, sizeof(*s));
	s->sin6_family = AF_INET6;
	s->sin6_addr = *a;
	s->sin6_port = htons(port);
}

/* Whether something accepts on IPv4 addr:port, or [::1]:port. */
static bool
doctor6_answers(const struct sockaddr *sa, uint16_t port)
{
	struct probe_outcome out;

	probe_connect_back(sa, port, PM_TCP, NULL, OTHER_MS, &out);
	return out.reachable;
}

/* ipv6_listener: the server accepts on [ADDR]:INT. */
static void
doctor6_listener(struct doctor6_report *r, const struct in6_addr *a)
{
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;
	struct probe_outcome out;
	struct netinfo ni4;
	struct pm_error err;
	uint16_t p = r->port;

	if (r->proto == PM_UDP) {
		doctor6_set(r->checks, DOC6_LISTENER, DOC_SKIP,
		    DOCR_NOT_VERIFIABLE, "not checked: whether something "
		    "answers on UDP port %u cannot be verified without speaking "
		    "its protocol", p);
		return;
	}
	doctor6_sin6(&s6, a, p);
	probe_connect_back((struct sockaddr *)&s6, p, PM_TCP, NULL,
	    LISTENER6_MS, &out);
	if (out.reachable) {
		doctor6_set(r->checks, DOC6_LISTENER, DOC_PASS, DOCR_NONE,
		    "something accepts TCP connections on [%s]:%u", r->address,
		    p);
		return;
	}
	if (out.error == ETIMEDOUT) {
		doctor6_set(r->checks, DOC6_LISTENER, DOC_WARN, DOCR_TIMEOUT,
		    "no answer from [%s]:%u within %d ms: a firewall on this "
		    "host (ip6tables, nftables) may drop connections to it",
		    r->address, p, LISTENER6_MS);
		return;
	}
	if (out.error != ECONNREFUSED) {
		doctor6_set(r->checks, DOC6_LISTENER, DOC_WARN, DOCR_ERROR,
		    "cannot connect to [%s]:%u: %s", r->address, p,
		    strerror(out.error));
		return;
	}
	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	if (netinfo_get(&ni4, &err) == 0) {
		s4.sin_addr = ni4.internal;
		if (doctor6_answers((struct sockaddr *)&s4, p)) {
			doctor6_set(r->checks, DOC6_LISTENER, DOC_FAIL,
			    DOCR_IPV4_ONLY, "nothing accepts TCP connections on "
			    "[%s]:%u, but %s:%u does: the server listens on "
			    "IPv4 only (0.0.0.0); make it listen on [::], all "
			    "addresses of both families (nginx: listen [::]:%u; "
			    "python3 -m http.server --bind ::)", r->address, p,
			    ni4.internal_str, p, p);
			return;
		}
	}
	doctor6_sin6(&s6, &in6addr_loopback, p);
	if (doctor6_answers((struct sockaddr *)&s6, p))
		doctor6_set(r->checks, DOC6_LISTENER, DOC_FAIL,
		    DOCR_LOOPBACK_ONLY, "nothing accepts TCP connections on "
		    "[%s]:%u, but [::1]:%u does: the server listens only on "
		    "localhost; make it listen on [::]", r->address, p, p);
	else
		doctor6_set(r->checks, DOC6_LISTENER, DOC_FAIL, DOCR_REFUSED,
		    "nothing accepts TCP connections on [%s]:%u (connection "
		    "refused): the server is not running, or it listens on "
		    "another port; make it listen on [::]:%u", r->address, p, p);
}

/*
 * The daemon's status document over its control socket (one HTTP/1.0
 * GET, as "portkeeper status" makes it).  Returns the parsed JSON, or NULL
 * with why in err (the daemon is not running, say).
 */
static cJSON *
doctor6_daemon_status(const char *path, char *err, size_t errlen)
{
	static const char req[] = "GET /api/status HTTP/1.0\r\nHost: "
	    "localhost\r\nAccept: application/json\r\n\r\n";
	struct sockaddr_un sun;
	int64_t deadline = mono_ms() + STATUS_MS;
	char *buf, *body;
	cJSON *j = NULL;
	ssize_t n;
	int s;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (str_copy(sun.sun_path, path, sizeof(sun.sun_path)) == -1 ||
	    (s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		snprintf(err, errlen, "cannot reach portkeeperd at %s", path);
		return NULL;
	}
	if (probe_connect_until(s, (struct sockaddr *)&sun, sizeof(sun),
	    deadline) == -1 || probe_send_until(s, req, sizeof(req) - 1,
	    deadline) == -1) {
		snprintf(err, errlen, "portkeeperd is not running (cannot reach "
		    "%s: %s)", path, strerror(errno));
		close(s);
		return NULL;
	}
	if ((buf = malloc(STATUS_MAX + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		close(s);
		return NULL;
	}
	n = probe_read_until(s, buf, STATUS_MAX + 1, false, deadline);
	close(s);
	if (n > 0 && strncmp(buf, "HTTP/1.", 7) == 0 && strncmp(buf + 8,
	    " 200", 4) == 0 && (body = strstr(buf, "\r\n\r\n")) != NULL)
		j = cJSON_Parse(body + 4);
	if (j == NULL)
		snprintf(err, errlen, "portkeeperd at %s sent no status", path);
	free(buf);
	return j;
}

/*
 * The daemon's pinhole of the forward called name: its "ipv6" object in
 * the status document's forwards.  1 with the check set, 0 when the
 * daemon keeps none (why in err), -1 when it cannot be asked.
 */
static int
doctor6_daemon_pinhole(struct doctor6_report *r, const char *sock,
    const char *name, char *err, size_t errlen)
{
	cJSON *st, *f, *v6, *x, *e, *m;
	const char *state, *msg = "";

	if ((st = doctor6_daemon_status(sock, err, errlen)) == NULL)
		return -1;
	v6 = NULL;
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(st, "forwards"))
		if (cJSON_IsString(x = cJSON_GetObjectItemCaseSensitive(f,
		    "name")) && strcmp(x->valuestring, name) == 0)
			v6 = cJSON_GetObjectItemCaseSensitive(f, "ipv6");
	x = cJSON_GetObjectItemCaseSensitive(v6, "state");
	if (!cJSON_IsObject(v6) || !cJSON_IsString(x)) {
		snprintf(err, errlen, "the daemon keeps no pinhole for this "
		    "forward");
		cJSON_Delete(st);
		return 0;
	}
	state = x->valuestring;
	e = cJSON_GetObjectItemCaseSensitive(v6, "error");
	if (cJSON_IsString(e))
		msg = e->valuestring;
	else if (cJSON_IsString(x = cJSON_GetObjectItemCaseSensitive(e,
	    "message")))
		msg = x->valuestring;
	x = cJSON_GetObjectItemCaseSensitive(v6, "expires_in");
	m = cJSON_GetObjectItemCaseSensitive(v6, "method");
	if (strcmp(state, "active") == 0)
		doctor6_set(r->checks, DOC6_PINHOLE, DOC_PASS, DOCR_NONE,
		    "portkeeperd keeps the pinhole of forward \"%s\" for "
		    "[%s]:%u (%.8s%s%.0f s left)", name, r->address, r->port,
		    cJSON_IsString(m) ? m->valuestring : "", cJSON_IsString(m) ?
		    ", " : "", cJSON_IsNumber(x) ? x->valuedouble : 0.0);
	else if (strcmp(state, "failed") == 0)
		doctor6_set(r->checks, DOC6_PINHOLE, DOC_FAIL,
		    DOCR_PINHOLE_FAILED, "portkeeperd could not open the "
		    "pinhole of forward \"%s\": %.300s", name, msg[0] != '\0' ?
		    msg : "it does not say why (portkeeper status)");
	else
		doctor6_set(r->checks, DOC6_PINHOLE, DOC_WARN, DOCR_NONE,
		    "portkeeperd has not opened the pinhole of forward \"%s\" "
		    "yet (%.40s)", name, state);
	cJSON_Delete(st);
	return 1;
}

/* What "portkeeper open -6" recorded for [ADDR]:INT.  1 found, else 0. */
static int
doctor6_cli_pinhole(struct doctor6_report *r)
{
	struct mapstore_entry e;
	char dir[256], err[256];
	int64_t now = (int64_t)time(NULL);

	if (mapstore_dir(dir, sizeof(dir), err, sizeof(err)) == -1)
		return 0;
	if (mapstore_get(dir, 6, r->proto, r->address, r->port, MS_PCP, &e,
	    err, sizeof(err)) != 1 && mapstore_get(dir, 6, r->proto,
	    r->address, r->port, MS_UPNP_PINHOLE, &e, err, sizeof(err)) != 1)
		return 0;
	if (e.expires != 0 && e.expires <= now)
		return 0;
	doctor6_set(r->checks, DOC6_PINHOLE, DOC_PASS, DOCR_NONE,
	    "\"portkeeper open -6\" opened a pinhole for [%s]:%u through %s%s; "
	    "nothing renews it when its lease ends: let portkeeperd keep it "
	    "(a [forward] with family = both or 6)", r->address, r->port,
	    e.kind == MS_PCP ? "PCP" : "UPnP", e.expires != 0 ?
	    " (its lease has not ended)" : "");
	return 1;
}

/* pinhole: is one open for [ADDR]:INT, and who keeps it. */
static void
doctor6_pinhole(const struct doctor6_opts *o, struct doctor6_report *r)
{
	char why[256] = "no forward of this port is configured";
	const char *sock = o->cfg != NULL && o->cfg->socket[0] != '\0' ?
	    o->cfg->socket : DEFAULT_SOCKET;

	if (o->forward != NULL && doctor6_daemon_pinhole(r, sock,
	    o->forward->name, why, sizeof(why)) == 1)
		return;
	if (doctor6_cli_pinhole(r))
		return;
	doctor6_set(r->checks, DOC6_PINHOLE, DOC_SKIP, DOCR_NOT_KEPT,
	    "skipped: %s%s (no client protocol can list a router's pinholes; "
	    "ipv6_external tells whether one is open)", why,
	    o->forward != NULL ? "" : ", and \"portkeeper open -6\" has "
	    "opened none for this port");
}

/* ipv6_external: the probe server connects back to [ADDR]:INT. */
static void
doctor6_external(const struct doctor6_opts *o, struct doctor6_report *r,
    const struct in6_addr *a)
{
	struct probe_url u;
	struct probe_answer ans;
	struct pm_error err;
	struct in6_addr seen;
	struct in_addr v4;
	char ebuf[256];

	if (o->probe_url == NULL || o->probe_url[0] == '\0') {
		doctor6_set(r->checks, DOC6_EXTERNAL, DOC_SKIP, DOCR_NONE,
		    "not checked: give --probe URL (a portkeeper probe-server "
		    "outside the home network that has IPv6) or set probe = "
		    "URL in the configuration");
		return;
	}
	if (probe_url_parse(o->probe_url, &u, ebuf, sizeof(ebuf)) == -1) {
		doctor6_set(r->checks, DOC6_EXTERNAL, DOC_WARN,
		    DOCR_PROBE_FAILED, "%s", ebuf);
		return;
	}
	str_copy(r->probe_url, u.text, sizeof(r->probe_url));
	if (inet_pton(AF_INET, u.host, &v4) == 1) {
		doctor6_set(r->checks, DOC6_EXTERNAL, DOC_SKIP, DOCR_NONE,
		    "not checked: the probe URL %s names an IPv4 address; give "
		    "the probe server's IPv6 address (http://[ADDR]:PORT) or a "
		    "name with an AAAA record", u.text);
		return;
	}
	if (r->proto == PM_UDP) {
		doctor6_set(r->checks, DOC6_EXTERNAL, DOC_SKIP,
		    DOCR_NOT_VERIFIABLE, "not checked: over IPv6, UDP port %u "
		    "is probed only with a token this host would have to "
		    "answer on the server's port", r->port);
		return;
	}
	if (probe_ask6(&u, a, r->port, PM_TCP, NULL, mono_ms() + OUTSIDE6_MS,
	    &ans, &err) == -1) {
		doctor6_set(r->checks, DOC6_EXTERNAL, DOC_WARN,
		    DOCR_PROBE_FAILED, "could not ask the probe server over "
		    "IPv6: %s", err.msg);
		return;
	}
	str_copy(r->source_seen, ans.source_seen, sizeof(r->source_seen));
	if (inet_pton(AF_INET6, ans.source_seen, &seen) != 1 ||
	    memcmp(&seen, a, sizeof(seen)) != 0)
		doctor6_set(r->checks, DOC6_EXTERNAL, DOC_WARN, DOCR_OTHER_NAT,
		    "the probe server at %s sees this host as %s, not %s: "
		    "something between translates IPv6 addresses (NPTv6), so "
		    "it probed another address", u.text, ans.source_seen,
		    r->address);
	else if (!ans.reachable)
		doctor6_set(r->checks, DOC6_EXTERNAL, DOC_FAIL,
		    DOCR_UNREACHABLE, "the probe server at %s could not get in "
		    "at [%s]:%u over IPv6; it says: %s", u.text, r->address,
		    r->port, ans.detail);
	else
		doctor6_set(r->checks, DOC6_EXTERNAL, DOC_PASS, DOCR_NONE,
		    "the probe server at %s got in from the internet at "
		    "[%s]:%u over IPv6", u.text, r->address, r->port);
}

/* Every check nobody made says why. */
static void
doctor6_finish(const struct doctor6_opts *o, struct doctor6_report *r)
{
	size_t i;

	for (i = 0; i < DOC6_NCHECKS; i++) {
		struct doctor_check *c = &r->checks[i];

		/* No IPv6 under ipv6 = auto is a note, never a failure. */
		if (!r->counts && c->status != DOC_PASS) {
			if (c->detail[0] == '\0')
				snprintf(c->detail, sizeof(c->detail),
				    "not checked: %.490s", r->why_not);
			c->status = DOC_SKIP;
			c->reason = DOCR_NO_IPV6;
		} else if (c->detail[0] == '\0')
			doctor6_set(r->checks, i, DOC_SKIP, DOCR_NONE,
			    doctor6_stopped(o) ? "not checked: interrupted" :
			    "not checked");
	}
}

enum doctor6_verdict
doctor6_run(const struct doctor6_opts *o, struct doctor6_report *r)
{
	struct netinfo6 ni;
	struct portmap6 *pm = NULL;
	struct pm_error err;
	char want[INET6_ADDRSTRLEN];
	int64_t t0 = mono_ms();
	int host;

	memset(r, 0, sizeof(*r));
	r->ext = o->ext;
	r->port = o->port;
	r->proto = o->proto;
	if (!o->forced && ((o->cfg != NULL && o->cfg->ipv6 == CONFIG_IPV6_OFF)
	    || (o->forward != NULL && !config_forward_v6(o->forward)))) {
		snprintf(r->why_not, sizeof(r->why_not), "%s",
		    o->forward != NULL && !config_forward_v6(o->forward) ?
		    "the forward is kept over IPv4 only (family = 4)" :
		    "ipv6 = off in the configuration");
		goto out;
	}
	host = doctor6_host(o, r, &ni, want);
	if (!(r->counts = doctor6_counts(o, r, host)) || host != 0 ||
	    doctor6_stopped(o))
		goto out;
	if ((pm = portmap6_new(o->via == PM_NATPMP ? PM_AUTO : o->via,
	    ni.addr_str, o->timeout_ms, &err)) == NULL)
		doctor6_set(r->checks, DOC6_PINHOLE_SERVICE, DOC_WARN,
		    DOCR_ERROR, "%s", err.msg);
	else
		doctor6_service(o, r, pm);
	portmap6_free(pm);
	if (!doctor6_stopped(o))
		doctor6_listener(r, &ni.addr);
	if (!doctor6_stopped(o))
		doctor6_pinhole(o, r);
	if (!doctor6_stopped(o))
		doctor6_external(o, r, &ni.addr);
out:
	doctor6_finish(o, r);
	r->elapsed_ms = mono_ms() - t0;
	doctor6_conclude(r);
	log_debug("doctor: IPv6 checks done after %lld ms",
	    (long long)r->elapsed_ms);
	return r->verdict;
}

void
doctor6_job(void *arg)
{
	struct doctor6_call *c = arg;

	doctor6_run(&c->o, &c->r);
}

/* ------------------------------------------------------------------ */
/* The audit's IPv6 part */

/* ipv6_exposure: who on the LAN may open pinholes. */
static void
doctor6_exposure(struct doctor_check *checks, const struct portmap6_info *in,
    enum doctor_status service)
{
	if (in->pcp_found || in->upnp_found)
		doctor6_set(checks, DOC6_AUDIT_EXPOSURE, DOC_WARN,
		    DOCR_OPEN_TO_ALL, "the router opens pinholes for any "
		    "device on the LAN that asks (%s): most routers keep no "
		    "allow-list for IPv6 pinholes, so a compromised device, or "
		    "a program on one, can open itself to the internet; where "
		    "the router can limit it per device (FRITZ!Box: \"Permit "
		    "independent port sharing for this device\"), allow only "
		    "the hosts that need it", in->pcp_found && in->upnp_found ?
		    "PCP and UPnP IGD:2" : in->pcp_found ? "PCP" :
		    "UPnP IGD:2");
	else if (service == DOC_FAIL)
		doctor6_set(checks, DOC6_AUDIT_EXPOSURE, DOC_PASS, DOCR_NONE,
		    "no device on the LAN can open pinholes: the router answers "
		    "neither PCP nor UPnP IGD:2 over IPv6");
	else
		doctor6_set(checks, DOC6_AUDIT_EXPOSURE, DOC_SKIP, DOCR_NONE,
		    "not checked: the router's pinhole services are not known");
}

/* One forward kept over IPv6: its listener and pinhole. */
static void
doctor6_audit_forward(const struct doctor6_opts *o, struct doctor6_audit *a,
    const struct config_forward *f, const struct in6_addr *addr,
    const struct doctor6_report *host)
{
	struct doctor6_opts fo = *o;
	struct doctor6_fwd *af = &a->fwd[a->nfwd++];
	struct doctor6_report t = *host, *tmp = &t;

	fo.forward = f;
	tmp->port = f->in;
	tmp->proto = f->proto;
	str_copy(af->name, f->name, sizeof(af->name));
	af->port = f->in;
	af->proto = f->proto;
	doctor6_listener(tmp, addr);
	doctor6_pinhole(&fo, tmp);
	af->listener = tmp->checks[DOC6_LISTENER];
	af->pinhole = tmp->checks[DOC6_PINHOLE];
	doctor6_set(tmp->checks, DOC6_EXTERNAL, DOC_SKIP, DOCR_NONE,
	    "not checked");
	af->verdict = doctor6_verdict(tmp->checks);
}

enum doctor6_verdict
doctor6_audit(const struct doctor6_opts *o, struct doctor6_audit *a)
{
	struct doctor6_report *r;
	struct netinfo6 ni;
	struct portmap6 *pm;
	struct pm_error err;
	char want[INET6_ADDRSTRLEN];
	size_t i, n = 0;
	bool have;
	int host;

	memset(a, 0, sizeof(*a));
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return a->verdict;
	r->proto = PM_TCP;
	host = doctor6_host(o, r, &ni, want);
	have = host == 0;
	a->counts = doctor6_counts(o, r, host) && (o->forced || o->cfg == NULL ||
	    o->cfg->ipv6 != CONFIG_IPV6_OFF);
	if (o->cfg != NULL)
		for (i = 0; i < o->cfg->nfwd; i++)
			n += config_forward_v6(&o->cfg->fwd[i]);
	if (have && a->counts && !doctor6_stopped(o)) {
		if ((pm = portmap6_new(o->via == PM_NATPMP ? PM_AUTO : o->via,
		    ni.addr_str, o->timeout_ms, &err)) != NULL)
			doctor6_service(o, r, pm);
		portmap6_free(pm);
		doctor6_exposure(a->checks, &r->service,
		    r->checks[DOC6_PINHOLE_SERVICE].status);
		if (n > 0 && (a->fwd = calloc(n, sizeof(*a->fwd))) != NULL)
			for (i = 0; i < o->cfg->nfwd && !doctor6_stopped(o); i++)
				if (config_forward_v6(&o->cfg->fwd[i]))
					doctor6_audit_forward(o, a,
					    &o->cfg->fwd[i], &ni.addr, r);
	}
	r->counts = a->counts;
	if (!a->counts && r->why_not[0] == '\0')
		snprintf(r->why_not, sizeof(r->why_not), "ipv6 = off in the "
		    "configuration");
	doctor6_finish(o, r);
	/* ipv6_address, ipv6_route and pinhole_service are the host's. */
	memcpy(a->checks, r->checks, (DOC6_PINHOLE_SERVICE + 1) *
	    sizeof(*a->checks));
	if (a->checks[DOC6_AUDIT_EXPOSURE].detail[0] == '\0')
		doctor6_set(a->checks, DOC6_AUDIT_EXPOSURE, DOC_SKIP,
		    a->counts ? DOCR_NONE : DOCR_NO_IPV6, "not checked");
	str_copy(a->why_not, r->why_not, sizeof(a->why_not));
	str_copy(a->address, r->address, sizeof(a->address));
	str_copy(a->kind, r->kind, sizeof(a->kind));
	a->service = r->service;
	a->verdict = doctor6_verdict(r->checks);
	for (i = 0; i < a->nfwd && a->verdict == DOC6V_OK; i++)
		a->verdict = a->fwd[i].verdict;
	free(r);
	return a->verdict;
}

void
doctor6_audit_free(struct doctor6_audit *a)
{
	free(a->fwd);
	a->fwd = NULL;
	a->nfwd = 0;
}
