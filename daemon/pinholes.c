/*
 * The loop's side of the pinholes (pinholes.h): which are due, the rounds
 * that make them on their thread (pinholes_round.c), what came of them
 * (states, events, state.json), and the router's PCP announcements over
 * IPv6.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "job.h"
#include "log.h"
#include "netinfo6.h"
#include "pinholes.h"
#include "util.h"
#include "watch.h"

#define PINHOLES_TIMEOUT_MS	2500	/* discovery, per round */
#define PINHOLES_BASE_MS	8000	/* a round's deadline ... */
#define PINHOLES_PER_TASK_MS	3000	/* ... plus this per task, capped */
#define PINHOLES_MAX_MS		120000
#define PINHOLES_RETRY_MIN_MS	2000	/* back-off after a failure */
#define PINHOLES_RETRY_MAX_MS	60000

void
pinholes_init(struct pinholes *p, const struct config *cfg,
    const struct forwards *fw, struct state *st, bool *st_dirty,
    pinholes_event_fn *event, void *event_arg)
{
	memset(p, 0, sizeof(*p));
	p->cfg = cfg;
	p->fw = fw;
	p->st = st;
	p->st_dirty = st_dirty;
	p->event = event;
	p->event_arg = event_arg;
	p->ann_fd = -1;
	p->verify_at = mono_ms() + (int64_t)cfg->verify_interval * 1000;
}

void
pinholes_free(struct pinholes *p)
{
	if (p->job != NULL) {
		job_release(p->job);
		p->job = NULL;
	}
	if (p->ann_fd != -1)
		close(p->ann_fd);
	free(p->ph);
	p->ph = NULL;
	p->nph = 0;
	p->ann_fd = -1;
}

int64_t
pinholes_refresh_ms(uint32_t lease, uint32_t r)
{
	int64_t ms = (int64_t)lease * 1000;

	return ms / 2 + (int64_t)(r % (uint32_t)(ms / 8 + 1));
}

const char *
pinholes_state_str(enum pinhole_state s)
{
	switch (s) {
	case PH_PENDING:
		return "pending";
	case PH_ACTIVE:
		return "active";
	case PH_FAILED:
		return "failed";
	case PH_OFF:
		return "off";
	}
	return "unknown";
}

const char *
pinholes_address(const struct pinholes *p)
{
	return p->addr;
}

const struct pinhole *
pinholes_find(const struct pinholes *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nph; i++)
		if (strcmp(p->ph[i].name, name) == 0)
			return &p->ph[i];
	return NULL;
}

/* Why the configuration keeps pinholes closed, into why; or false. */
static bool
pinholes_config_off(const struct pinholes *p, char *why, size_t len)
{
	if (p->cfg->ipv6 == CONFIG_IPV6_OFF) {
		snprintf(why, len, "ipv6 = off");
		return true;
	}
	if (p->cfg->method == PM_NATPMP) {
		snprintf(why, len, "method = natpmp: NAT-PMP has no IPv6; "
		    "method auto, pcp or upnp opens pinholes");
		return true;
	}
	return false;
}

bool
pinholes_enabled(const struct pinholes *p)
{
	char why[384];

	return !pinholes_config_off(p, why, sizeof(why));
}

/* The lease asked for: the configured one, within UPnP's range. */
static uint32_t
pinholes_lease(const struct pinholes *p)
{
	if (p->cfg->lease == 0 || p->cfg->lease > PINHOLES_LEASE_MAX)
		return PINHOLES_LEASE_MAX;
	return p->cfg->lease;
}

/* A pinhole the last run recorded: kept as it is until it is due. */
static void
pinholes_adopt(struct pinholes *p, struct pinhole *h, int64_t now)
{
	const struct state_pinhole *sp = state_pinhole_find(p->st, h->name);
	int64_t wall = (int64_t)time(NULL), left, made;

	if (sp == NULL || sp->id.proto != h->proto || sp->id.port != h->port)
		return;
	h->have_id = true;
	h->id = sp->id;
	h->lease = sp->lease;
	h->adopted = true;
	left = sp->id.expires - wall;
	if (left <= 0) {
		h->refresh_at = 0;
		return;
	}
	h->state = PH_ACTIVE;
	h->expires_at = now + left * 1000;
	made = sp->id.expires - (int64_t)sp->lease;
	h->last_refresh = made;
	/* Its refresh point, counted from when it was made. */
	h->refresh_at = now + (made - wall) * 1000 +
	    pinholes_refresh_ms(sp->lease, (uint32_t)random());
	if (h->refresh_at < now)
		h->refresh_at = now;
	log_info("%s: pinhole of port %u/%s for %s via %s kept from the last "
	    "run, %lld s left", h->name, h->port, portspec_proto_str(h->proto),
	    h->id.addr, h->id.kind == MS_PCP ? "PCP" : "UPnP-IGD",
	    (long long)left);
}

/* Whether the record is a pinhole some forward still holds. */
static bool
pinholes_owned(const struct pinholes *p, const struct state_pinhole *sp)
{
	const struct pinhole *h = pinholes_find(p, sp->name);

	return h != NULL && h->have_id && !p->stopping;
}

/* How many records no pinhole holds: those wait to be closed. */
static void
pinholes_count_closing(struct pinholes *p)
{
	size_t i;

	p->nclosing = 0;
	for (i = 0; i < p->st->nph; i++)
		if (!pinholes_owned(p, &p->st->ph[i]))
			p->nclosing++;
}

int
pinholes_sync(struct pinholes *p)
{
	struct pinhole *nph;
	char why[384];
	bool off = pinholes_config_off(p, why, sizeof(why));
	size_t i, n = 0;
	int64_t now = mono_ms();

	nph = calloc(p->fw->nfwd + 1, sizeof(*nph));
	if (nph == NULL)
		return -1;
	for (i = 0; i < p->fw->nfwd; i++) {
		const struct config_forward *cf = &p->fw->fwd[i].cfg;
		const struct pinhole *old = pinholes_find(p, cf->name);
		struct pinhole *h = &nph[n++];

		if (!config_forward_v6(cf)) {
			n--;
			continue;
		}
		if (old != NULL && old->proto == cf->proto &&
		    old->port == cf->in)
			*h = *old;
		else {
			str_copy(h->name, cf->name, sizeof(h->name));
			h->proto = cf->proto;
			h->port = cf->in;
			if (!off)
				pinholes_adopt(p, h, now);
		}
		if (off) {
			/* Its record, if any, is closed as no longer wanted. */
			h->state = PH_OFF;
			h->have_id = false;
			str_copy(h->error, why, sizeof(h->error));
		} else if (h->cfg_off) {
			h->state = PH_PENDING;
			h->error[0] = '\0';
			h->refresh_at = 0;
		}
		h->cfg_off = off;
	}
	if (off && n > 0)
		log_warnx("no IPv6 pinholes: %s", why);
	free(p->ph);
	p->ph = nph;
	p->nph = n;
	pinholes_count_closing(p);
	return 0;
}

int
pinholes_fds(const struct pinholes *p, int *fds, int max)
{
	int n = 0;

	if (p->job != NULL && n < max)
		fds[n++] = job_fd(p->job);
	if (p->ann_fd != -1 && n < max)
		fds[n++] = p->ann_fd;
	return n;
}

int64_t
pinholes_deadline(const struct pinholes *p, int64_t now)
{
	int64_t next = now + 3600 * 1000;
	size_t i;

	if (p->job != NULL)
		return p->round_deadline;
	if (p->nph > 0 || p->st->nph > 0) {
		if (p->verify_at < next)
			next = p->verify_at;
		if (p->nclosing > 0 && p->closing_at < next)
			next = p->closing_at;
	}
	for (i = 0; i < p->nph; i++)
		if (p->ph[i].state != PH_OFF && p->ph[i].refresh_at < next)
			next = p->ph[i].refresh_at;
	return next;
}

void
pinholes_verify_now(struct pinholes *p)
{
	p->verify_now = true;
}

void
pinholes_netcheck(struct pinholes *p)
{
	struct netinfo6 ni;
	struct pm_error e;
	struct in6_addr a;
	char now[INET6_ADDRSTRLEN];

	if (p->nph == 0)
		return;
	if (netinfo6_get(&ni, NULL, &e) == -1) {
		if (p->addr[0] != '\0')
			p->verify_now = true;
		return;
	}
	if (config_addr6_want(&p->cfg->addr6, &ni.addr, &a) == -1 ||
	    inet_ntop(AF_INET6, &a, now, sizeof(now)) == NULL)
		return;
	if (strcmp(now, p->addr) != 0) {
		if (p->addr[0] != '\0')
			log_info("this host's IPv6 address is now %s; "
			    "checking the pinholes", now);
		p->verify_now = true;
	}
}

/*
 * Listens for PCP ANNOUNCE on [ff02::1]:5350 on the default route's link
 * (RFC 6887 section 14.1.3), beside watch.c's 224.0.0.1:5350.  A router
 * that restarts announces itself there; older miniupnpd sends it out of
 * the wrong interface, so the periodic check stays.
 */
static void
pinholes_listen(struct pinholes *p, unsigned ifindex,
    const struct in6_addr *gw)
{
	struct sockaddr_in6 sin6;
	struct ipv6_mreq mreq;
	int s, one = 1;

	p->gateway = *gw;
	if (p->ann_fd != -1 && p->ann_ifindex == ifindex)
		return;
	if (p->ann_fd != -1)
		close(p->ann_fd);
	p->ann_fd = -1;
	p->ann_ifindex = ifindex;
	if ((s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		return;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(PINHOLES_ANNOUNCE_PORT);
	inet_pton(AF_INET6, PINHOLES_ANNOUNCE_GROUP, &sin6.sin6_addr);
	sin6.sin6_scope_id = ifindex;
	memset(&mreq, 0, sizeof(mreq));
	mreq.ipv6mr_multiaddr = sin6.sin6_addr;
	mreq.ipv6mr_interface = ifindex;
	/* Every node is in ff02::1 already; joining only makes it explicit. */
	setsockopt(s, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mreq, sizeof(mreq));
	if (bind(s, (struct sockaddr *)&sin6, sizeof(sin6)) == -1) {
		log_warn("cannot listen on [%s]:%d; router restarts are "
		    "noticed over IPv4 and at the next check instead",
		    PINHOLES_ANNOUNCE_GROUP, PINHOLES_ANNOUNCE_PORT);
		close(s);
		return;
	}
	p->ann_fd = s;
}

/* Announcements from the gateway: the router restarted, or says it did. */
static void
pinholes_read_announce(struct pinholes *p)
{
	unsigned char buf[1100];
	struct sockaddr_in6 from;
	socklen_t flen = sizeof(from);
	uint32_t epoch;
	ssize_t n;

	while ((n = recvfrom(p->ann_fd, buf, sizeof(buf), MSG_DONTWAIT,
	    (struct sockaddr *)&from, &flen)) >= 0) {
		flen = sizeof(from);
		if (from.sin6_family != AF_INET6 ||
		    !IN6_ARE_ADDR_EQUAL(&from.sin6_addr, &p->gateway) ||
		    watch_parse_announce(buf, (size_t)n, &epoch) != 1 ||
		    buf[0] != PCP_VERSION)
			continue;
		log_info("the router announced itself over IPv6 (PCP, epoch "
		    "%u); checking the pinholes", epoch);
		p->verify_now = true;
	}
}

static void
pinholes_event(struct pinholes *p, enum event_type type, const char *name,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
pinholes_event(struct pinholes *p, enum event_type type, const char *name,
    const char *fmt, ...)
{
	char detail[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (p->event != NULL)
		p->event(p->event_arg, type, name, detail);
}

/* The tasks due at now into t (room for st->nph + nph); how many. */
static size_t
pinholes_tasks(struct pinholes *p, struct pinholes_task *t, int64_t now,
    bool verify)
{
	uint32_t lease = pinholes_lease(p);
	size_t i, n = 0;

	for (i = 0; i < p->st->nph && (now >= p->closing_at || p->stopping);
	    i++) {
		const struct state_pinhole *sp = &p->st->ph[i];

		if (pinholes_owned(p, sp))
			continue;
		t[n].op = PHT_CLOSE;
		str_copy(t[n].name, sp->name, sizeof(t[n].name));
		t[n].proto = sp->id.proto;
		t[n].port = sp->id.port;
		t[n].have_id = true;
		t[n++].id = sp->id;
	}
	for (i = 0; i < p->nph && !p->stopping; i++) {
		const struct pinhole *h = &p->ph[i];
		enum pinholes_op op;

		if (h->cfg_off)
			continue;
		if (now >= h->refresh_at)
			op = h->have_id ? PHT_REFRESH : PHT_OPEN;
		else if (verify && h->have_id)
			op = PHT_VERIFY;
		else
			continue;
		t[n].op = op;
		str_copy(t[n].name, h->name, sizeof(t[n].name));
		t[n].proto = h->proto;
		t[n].port = h->port;
		t[n].lease = lease;
		t[n].have_id = h->have_id;
		t[n].made = h->last_refresh;
		t[n++].id = h->id;
	}
	return n;
}

/* Starts a round if there is work and none is in flight. */
static void
pinholes_schedule(struct pinholes *p, int64_t now)
{
	struct pinholes_round *r;
	bool verify = p->verify_now || now >= p->verify_at;
	size_t n;

	if (p->job != NULL || (p->nph == 0 && p->st->nph == 0))
		return;
	/* Most turns of the loop have nothing due. */
	if (!verify && pinholes_deadline(p, now) > now)
		return;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return;
	if ((r->t = calloc(p->st->nph + p->nph + 1, sizeof(*r->t))) == NULL) {
		free(r);
		return;
	}
	n = pinholes_tasks(p, r->t, now, verify);
	if (verify) {
		p->verify_now = false;
		p->verify_at = now + (int64_t)p->cfg->verify_interval * 1000;
	}
	if (n == 0) {
		pinholes_round_free(r);
		return;
	}
	r->nt = n;
	r->via = p->cfg->method == PM_NATPMP ? PM_AUTO : p->cfg->method;
	r->timeout_ms = PINHOLES_TIMEOUT_MS;
	r->addr6 = p->cfg->addr6;
	r->announce = verify || !p->epoch_known;
	r->have_epoch = p->epoch_known;
	r->epoch_prev = p->epoch;
	r->epoch_s_prev = p->epoch_s;
	if ((p->job = job_start(pinholes_round_run, r,
	    pinholes_round_free)) == NULL) {
		log_warn("cannot start the pinholes' thread");
		pinholes_round_free(r);
		return;
	}
	p->round = r;
	p->round_deadline = now + PINHOLES_BASE_MS + (int64_t)n *
	    PINHOLES_PER_TASK_MS;
	if (p->round_deadline > now + PINHOLES_MAX_MS)
		p->round_deadline = now + PINHOLES_MAX_MS;
	p->nrounds++;
}

/* The record of h as state.json keeps it. */
static void
pinholes_record(struct pinholes *p, const struct pinhole *h)
{
	struct state_pinhole sp;

	memset(&sp, 0, sizeof(sp));
	str_copy(sp.name, h->name, sizeof(sp.name));
	sp.id = h->id;
	sp.lease = h->lease;
	if (state_pinhole_put(p->st, &sp) == -1)
		log_warn("%s: cannot record its pinhole", h->name);
	*p->st_dirty = true;
}

static const char *
pinholes_via(const struct mapstore_entry *id)
{
	return id->kind == MS_PCP ? "PCP" : "UPnP-IGD";
}

/* The pinhole was opened or refreshed. */
static void
pinholes_done(struct pinholes *p, struct pinhole *h,
    const struct pinholes_task *t, int64_t now)
{
	enum pinhole_state was = h->state;
	bool moved = t->have_id && strcmp(t->id.addr, t->res.id.addr) != 0;

	h->state = PH_ACTIVE;
	h->failures = 0;
	h->error[0] = '\0';
	h->have_id = true;
	h->id = t->res.id;
	h->lease = t->res.lease;
	h->last_refresh = (int64_t)time(NULL);
	h->expires_at = now + (int64_t)t->res.lease * 1000;
	h->refresh_at = now + pinholes_refresh_ms(t->res.lease,
	    (uint32_t)random());
	pinholes_record(p, h);
	if (t->restored) {
		pinholes_event(p, EV_PINHOLE_LOST, h->name, "the router no "
		    "longer had the pinhole of port %u/%s", h->port,
		    portspec_proto_str(h->proto));
		pinholes_event(p, EV_PINHOLE_RESTORED, h->name, "pinhole of "
		    "port %u/%s for %s made again via %s", h->port,
		    portspec_proto_str(h->proto), h->id.addr,
		    pinholes_via(&h->id));
	} else if (was == PH_FAILED)
		pinholes_event(p, EV_PINHOLE_RESTORED, h->name, "port %u/%s "
		    "of %s is open again via %s", h->port,
		    portspec_proto_str(h->proto), h->id.addr,
		    pinholes_via(&h->id));
	else if (was != PH_ACTIVE || moved)
		pinholes_event(p, EV_PINHOLE_ADDED, h->name, "pinhole of port "
		    "%u/%s opened for %s via %s, lease %u s%s%s", h->port,
		    portspec_proto_str(h->proto), h->id.addr,
		    pinholes_via(&h->id), h->lease, t->res.note[0] ? ": " : "",
		    t->res.note);
	else
		log_debug("refreshed the pinhole of %s, lease %u s", h->name,
		    h->lease);
}

/* The pinhole could not be opened or refreshed: back off, maybe fail. */
static void
pinholes_failed(struct pinholes *p, struct pinhole *h,
    const struct pm_error *err, int64_t now, bool gone)
{
	int64_t backoff = PINHOLES_RETRY_MIN_MS <<
	    (h->failures < 5 ? h->failures : 5);
	bool changed = h->state != PH_FAILED || strcmp(h->error,
	    err->msg) != 0;

	if (backoff > PINHOLES_RETRY_MAX_MS)
		backoff = PINHOLES_RETRY_MAX_MS;
	h->failures++;
	h->refresh_at = now + backoff;
	str_copy(h->error, err->msg, sizeof(h->error));
	/* One lost datagram while the lease still runs is not a failure. */
	if (!gone && h->state == PH_ACTIVE && h->failures == 1 &&
	    now < h->expires_at) {
		log_warnx("refreshing the pinhole of %s failed, retrying: %s",
		    h->name, err->msg);
		return;
	}
	h->state = PH_FAILED;
	if (changed)
		pinholes_event(p, EV_PINHOLE_FAILED, h->name, "%s", err->msg);
}

/*
 * A round opened a pinhole for a forward that a reload took away
 * meanwhile: recorded, not owned, so that the next round closes it.
 */
static void
pinholes_orphan(struct pinholes *p, const struct pinholes_task *t)
{
	struct state_pinhole sp;

	memset(&sp, 0, sizeof(sp));
	str_copy(sp.name, t->name, sizeof(sp.name));
	sp.id = t->res.id;
	sp.lease = t->res.lease;
	if (state_pinhole_put(p->st, &sp) == 0)
		*p->st_dirty = true;
}

/* A removal that ended. */
static void
pinholes_closed(struct pinholes *p, const struct pinholes_task *t,
    int64_t now)
{
	const struct state_pinhole *sp = state_pinhole_find(p->st, t->name);

	if (t->rc == -1 && t->err.code != PME_REFUSED) {
		log_warnx("closing the pinhole of %s: %s", t->name, t->err.msg);
		p->closing_at = now + PINHOLES_RETRY_MAX_MS / 2;
		return;
	}
	if (t->rc == -1)
		log_warnx("%s: %s", t->name, t->err.msg);
	if (sp != NULL && !pinholes_owned(p, sp) &&
	    memcmp(&sp->id, &t->id, sizeof(t->id)) == 0) {
		state_pinhole_remove(p->st, t->name);
		*p->st_dirty = true;
	}
	if (t->rc == 0 && t->removed)
		pinholes_event(p, EV_PINHOLE_REMOVED, t->name, "pinhole of "
		    "port %u/%s for %s closed", t->port,
		    portspec_proto_str(t->proto), t->id.addr);
}

/* No IPv6 address to open (ipv6 = auto): nothing to do, nothing failed. */
static bool
pinholes_no_ipv6(struct pinholes *p, const struct pinholes_round *r,
    int64_t now)
{
	size_t i;

	if (r->rc != -1 || r->err.code != PME_NO_IPV6 ||
	    p->cfg->ipv6 != CONFIG_IPV6_AUTO)
		return false;
	if (strcmp(p->off_why, r->err.msg) != 0)
		log_info("no IPv6 pinholes for now: %s", r->err.msg);
	str_copy(p->off_why, r->err.msg, sizeof(p->off_why));
	for (i = 0; i < p->nph; i++) {
		if (p->ph[i].cfg_off)
			continue;
		p->ph[i].state = PH_OFF;
		str_copy(p->ph[i].error, r->err.msg, sizeof(p->ph[i].error));
		p->ph[i].refresh_at = now + (int64_t)p->cfg->verify_interval *
		    1000;
	}
	return true;
}

/*
 * This host's IPv6 address as a round found it.  A new one (the ISP
 * delegated a new prefix) is recorded with the one before; the round
 * already opened the pinholes it checked for it, the rest follow.
 */
static void
pinholes_note_address(struct pinholes *p, const struct pinholes_round *r)
{
	char old[INET6_ADDRSTRLEN];

	if (state_note_ipv6(p->st, r->addr, (int64_t)time(NULL), old) != 1)
		return;
	*p->st_dirty = true;
	str_copy(p->addr, r->addr, sizeof(p->addr));
	/*
	 * The first address ever seen is news too, as the router's first
	 * external address is: a dynamic DNS hook publishes it.
	 */
	if (old[0] == '\0') {
		pinholes_event(p, EV_IPV6_ADDRESS_CHANGED, NULL, "this host's "
		    "IPv6 address is %s", r->addr);
		return;
	}
	pinholes_event(p, EV_IPV6_ADDRESS_CHANGED, NULL, "this host's IPv6 "
	    "address is now %s (was %s); opening the pinholes for it",
	    r->addr, old);
	if (!r->announce)
		p->verify_now = true;
}

/*
 * A check that got no epoch from a router that holds PCP pinholes (it is
 * restarting, say) proves nothing: it is asked again soon, backing off.
 */
static void
pinholes_epoch_unknown(struct pinholes *p, const struct pinholes_round *r)
{
	int64_t now = mono_ms(), wait;
	size_t i;
	bool pcp = false;

	if (r->rc != 0 || !r->announce || r->via == PM_UPNP ||
	    r->have_epoch_now) {
		if (r->have_epoch_now)
			p->announce_failures = 0;
		return;
	}
	for (i = 0; i < p->nph; i++)
		pcp |= p->ph[i].have_id && p->ph[i].id.kind == MS_PCP;
	if (!pcp)
		return;
	wait = (int64_t)PINHOLES_RETRY_MIN_MS << (p->announce_failures < 5 ?
	    p->announce_failures : 5);
	p->announce_failures++;
	if (now + wait < p->verify_at)
		p->verify_at = now + wait;
}

/* What the round found: the address, the router's epoch. */
static void
pinholes_discovered(struct pinholes *p, const struct pinholes_round *r)
{
	if (r->rc == 0) {
		pinholes_note_address(p, r);
		if (p->off_why[0] != '\0') {
			size_t i;

			for (i = 0; i < p->nph; i++)
				if (p->ph[i].state == PH_OFF &&
				    !p->ph[i].cfg_off) {
					p->ph[i].state = PH_PENDING;
					p->ph[i].error[0] = '\0';
				}
		}
		p->off_why[0] = '\0';
		str_copy(p->addr, r->addr, sizeof(p->addr));
		p->kind = r->kind;
		pinholes_listen(p, r->ifindex, &r->gateway);
	}
	log_debug("pinhole round %lu: %zu task(s)%s, %s%s, PCP epoch %s%u",
	    p->nrounds, r->nt, r->announce ? ", verifying" : "",
	    r->rc == 0 ? r->addr : "no address: ", r->rc == 0 ? "" :
	    r->err.msg, r->have_epoch_now ? "" : "unknown ", r->epoch);
	if (r->have_epoch_now) {
		p->epoch_known = true;
		p->epoch = r->epoch;
		p->epoch_s = r->epoch_s;
	}
	if (r->rebooted) {
		log_warnx("the router's PCP epoch went back to %u: it restarted "
		    "and lost its pinholes", r->epoch);
		if (!r->announce)
			p->verify_now = true;
	}
	pinholes_epoch_unknown(p, r);
}

/* Applies a round's results; at its deadline, what it completed. */
static void
pinholes_reap(struct pinholes *p, int64_t now, bool timed_out)
{
	struct pinholes_round *r = p->round;
	struct pm_error late;
	bool no_ipv6 = false;
	size_t i;

	if (timed_out)
		atomic_store_explicit(&r->abandoned, true,
		    memory_order_relaxed);
	pmerr_set(&late, PME_TIMEOUT, 0, "the router did not finish answering "
	    "in time");
	if (atomic_load_explicit(&r->discovered, memory_order_acquire)) {
		pinholes_discovered(p, r);
		no_ipv6 = pinholes_no_ipv6(p, r, now);
	}
	for (i = 0; i < r->nt; i++) {
		const struct pinholes_task *t = &r->t[i];
		struct pinhole *h = (struct pinhole *)pinholes_find(p, t->name);
		bool done = atomic_load_explicit(&t->done,
		    memory_order_acquire);

		if (t->op == PHT_CLOSE) {
			if (done)
				pinholes_closed(p, t, now);
			continue;
		}
		if (no_ipv6)
			continue;
		/* Changed by a reload meanwhile: closed if it was opened. */
		if (h == NULL || h->proto != t->proto || h->port != t->port ||
		    h->cfg_off) {
			if (done && t->rc == 0 && t->res.method != PM_AUTO &&
			    (h == NULL || !h->have_id))
				pinholes_orphan(p, t);
			continue;
		}
		if (!done)
			pinholes_failed(p, h, &late, now, false);
		else if (t->rc == -1)
			pinholes_failed(p, h, &t->err, now, t->restored);
		else if (t->res.method != PM_AUTO)
			pinholes_done(p, h, t, now);
	}
	job_release(p->job);
	p->job = NULL;
	p->round = NULL;
	pinholes_count_closing(p);
}

void
pinholes_run(struct pinholes *p, int64_t now)
{
	if (p->ann_fd != -1)
		pinholes_read_announce(p);
	if (p->job != NULL && job_done(p->job))
		pinholes_reap(p, now, false);
	else if (p->job != NULL && now >= p->round_deadline)
		pinholes_reap(p, now, true);
	if (!p->stopping)
		pinholes_schedule(p, now);
}

void
pinholes_stop(struct pinholes *p, bool remove, int64_t deadline)
{
	if (p->job != NULL)
		pinholes_reap(p, mono_ms(), job_wait(p->job, deadline) == -1);
	if (!remove || p->st->nph == 0)
		return;
	p->stopping = true;
	p->closing_at = 0;
	pinholes_count_closing(p);
	p->verify_now = false;
	p->verify_at = mono_ms() + 3600 * 1000;
	pinholes_schedule(p, mono_ms());
	if (p->job == NULL)
		return;
	if (job_wait(p->job, deadline) == 0)
		pinholes_reap(p, mono_ms(), false);
	else {
		pinholes_reap(p, mono_ms(), true);
		log_warnx("the router did not answer in time; pinholes left "
		    "in place");
	}
}

cJSON *
pinholes_forward_json(const struct pinholes *p, const char *name,
    int64_t now)
{
	const struct pinhole *h = pinholes_find(p, name);
	cJSON *o;
	bool on = h != NULL && h->have_id && h->state == PH_ACTIVE;

	if (h == NULL || (o = cJSON_CreateObject()) == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "state", pinholes_state_str(h->state));
	if (h->have_id)
		cJSON_AddStringToObject(o, "method", h->id.kind == MS_PCP ?
		    "pcp" : "upnp");
	else
		cJSON_AddNullToObject(o, "method");
	if (on && h->expires_at != 0)
		cJSON_AddNumberToObject(o, "expires_in", (double)(h->expires_at >
		    now ? (h->expires_at - now) / 1000 : 0));
	else
		cJSON_AddNullToObject(o, "expires_in");
	if (h->error[0] != '\0')
		cJSON_AddStringToObject(o, "error", h->error);
	else
		cJSON_AddNullToObject(o, "error");
	if (h->have_id)
		cJSON_AddStringToObject(o, "address", h->id.addr);
	else if (p->addr[0] != '\0')
		cJSON_AddStringToObject(o, "address", p->addr);
	else
		cJSON_AddNullToObject(o, "address");
	cJSON_AddNumberToObject(o, "port", h->port);
	cJSON_AddStringToObject(o, "protocol", portspec_proto_str(h->proto));
	return o;
}
