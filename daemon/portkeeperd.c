/*
 * portkeeperd: keeps the configured forwards open on the home router across
 * lease expiry, router reboots and address changes, and tracks this host's
 * and the router's addresses.
 *
 * One poll loop, whose timeout is the earliest deadline (refreshes, the
 * periodic check, the hook queue, the web process's channel, the round in
 * flight).  All
 * router work runs in rounds on a mapper thread (job.h) with a hard deadline,
 * so a slow or hostile router never freezes the loop.  Time is monotonic for
 * every deadline and wall-clock only for what people read.
 */
#include <sys/signalfd.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "job.h"
#include "log.h"
#include "config.h"
#include "eventlog.h"
#include "hookq.h"
#include "htpasswd.h"
#include "forwards.h"
#include "gateway.h"
#include "front.h"
#include "pinholes.h"
#include "round.h"
#include "state.h"
#include "startup.h"
#include "status.h"
#include "watch.h"
#include "writer.h"
#include "notify.h"
#include "util.h"

#ifndef PK_VERSION
#define PK_VERSION "0.1.0"
#endif

#define ROUND_TIMEOUT_MS	2500	/* discovery, per round */
#define ROUND_BASE_MS		8000	/* hard deadline of a round ... */
#define ROUND_PER_TASK_MS	3000	/* ... plus this per task, capped: */
#define ROUND_MAX_MS		120000
#define NETCHECK_DEBOUNCE_MS	200
#define SHUTDOWN_WAIT_MS	8000
#define STATE_FLUSH_MS		5000	/* for the last state.json, at exit */
#define LAST_SEEN_SAVE_MS	(3600 * 1000)	/* see discover_finished */

/* The daemon. */
struct pkd {
	char			 cfg_path[PATH_MAX];
	struct config		 cfg;
	struct forwards		 fw;
	struct pinholes		 ph;		/* the forwards over IPv6 */
	bool			 ph_dirty;	/* they changed st */
	struct state		 st;
	bool			 st_dirty;
	int64_t			 st_touched;	/* last write, monotonic ms */
	int64_t			 wal_until;	/* a round waits for a write */
	struct writer		*st_writer;	/* writes state.json */
	char			 st_error[512];	/* the last write's, or "" */
	struct status		 status;	/* what it shows */
	struct hookq		 hooks;
	struct watch		 w;
	char			 prev_internal[16];	/* before a change */
	struct job		*job;		/* the round in flight */
	struct round		*round;
	int64_t			 round_deadline;
	int64_t			 verify_at;	/* monotonic ms */
	bool			 verify_now;
	struct gateway		 gw;		/* what rounds learned of it */
	int64_t			 netcheck_at;	/* debounced netlink news */
	struct front		*front;		/* the web API */
	int			 sigfd;
	bool			 stopping;
};

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: portkeeperd [-fnv] [-c FILE]\n"
	    "  -c FILE  configuration (default %s)\n"
	    "  -f       stay in the foreground, log to stderr\n"
	    "  -n       check the configuration and exit (-nv prints it)\n"
	    "  -v       more verbose (twice for debug)\n", CONFIG_DEFAULT_PATH);
	exit(2);
}

static int64_t
wall_now(void)
{
	return (int64_t)time(NULL);
}

/* Records an event: log line, event log, hook. */
static void __attribute__((format(printf, 4, 5)))
pkd_event(struct pkd *d, enum event_type type, const char *forward,
    const char *fmt, ...)
{
	struct event ev;
	va_list ap;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.time = wall_now();
	if (forward != NULL)
		str_copy(ev.forward, forward, sizeof(ev.forward));
	va_start(ap, fmt);
	vsnprintf(ev.detail, sizeof(ev.detail), fmt, ap);
	va_end(ap);
	if (d->status.info_ok && d->status.info.external_ip[0] != '\0')
		str_copy(ev.external_ip, d->status.info.external_ip,
		    sizeof(ev.external_ip));
	else if (d->st.nhist > 0)
		str_copy(ev.external_ip, d->st.hist[d->st.nhist - 1].ip,
		    sizeof(ev.external_ip));
	if (type == EV_IPV6_ADDRESS_CHANGED && d->st.nhist6 > 1)
		str_copy(ev.old_ipv6, d->st.hist6[d->st.nhist6 - 2].ip,
		    sizeof(ev.old_ipv6));
	if (type == EV_EXTERNAL_IP_CHANGED && d->st.nhist > 1)
		str_copy(ev.old_external_ip, d->st.hist[d->st.nhist - 2].ip,
		    sizeof(ev.old_external_ip));
	if (d->status.ni_ok)
		str_copy(ev.internal_ip, d->status.ni.internal_str,
		    sizeof(ev.internal_ip));
	str_copy(ev.ipv6, pinholes_address(&d->ph), sizeof(ev.ipv6));
	log_warnx("%s%s%s: %s", eventlog_type_str(type), forward ? " " : "",
	    forward ? forward : "", ev.detail);
	ev.seq = eventlog_add(&d->status.ev, &ev);
	hookq_push(&d->hooks, &ev);
	if (type == EV_EXTERNAL_IP_CHANGED)
		d->status.nextchanges++;
	d->status.gen++;
}

/* An event of the pinholes (pinholes.h), recorded as every other. */
static void
pinhole_event(void *arg, enum event_type type, const char *forward,
    const char *detail)
{
	pkd_event(arg, type, forward, "%s", detail);
}

/* A write of state.json failed: said once per distinct error. */
static void
state_failed(struct pkd *d, const char *err)
{
	if (strcmp(d->st_error, err) != 0)
		log_warnx("%s", err);
	str_copy(d->st_error, err, sizeof(d->st_error));
	/* What failed to be written is written again at the next save. */
	d->st_dirty = true;
}

/* The writer finished writes: what came of them. */
static void
state_collect(struct pkd *d)
{
	char err[512];

	switch (writer_collect(d->st_writer, err, sizeof(err))) {
	case -1:
		state_failed(d, err);
		break;
	case 1:
		if (d->st_error[0] != '\0')
			log_warnx("%s/%s written again", d->cfg.state_dir,
			    STATE_FILE);
		d->st_error[0] = '\0';
		break;
	}
}

/*
 * Hands the state to the writer thread: the loop only serializes it, the
 * fsyncs that make the write atomic happen off the loop.
 */
static void
save_state(struct pkd *d)
{
	char *text, *nl, err[PATH_MAX + 64];
	size_t len;

	if (!d->st_dirty)
		return;
	/* One JSON document ending in a newline, as state_save writes it. */
	if ((text = state_to_json(&d->st)) == NULL ||
	    (nl = realloc(text, (len = strlen(text)) + 2)) == NULL) {
		free(text);
		snprintf(err, sizeof(err), "%s/%s: %s", d->cfg.state_dir,
		    STATE_FILE, strerror(ENOMEM));
		state_failed(d, err);
		return;
	}
	nl[len++] = '\n';
	nl[len] = '\0';
	writer_put(d->st_writer, nl, len);
	d->st_dirty = false;
	d->st_touched = mono_ms();
}

/*
 * At a clean stop: waits for the writer to write the last state, so that
 * nothing is lost, but not forever on a disk that hangs.
 */
static void
state_finish(struct pkd *d)
{
	if (writer_flush(d->st_writer, mono_ms() + STATE_FLUSH_MS) == -1) {
		log_warnx("%s/%s: not written within %d s; the last changes "
		    "may be lost", d->cfg.state_dir, STATE_FILE,
		    STATE_FLUSH_MS / 1000);
		return;		/* the thread still writes: leave it be */
	}
	state_collect(d);
	writer_free(d->st_writer);
	d->st_writer = NULL;
}

/* Starts a round if there is work and none is in flight. */
static void
schedule(struct pkd *d, int64_t now)
{
	struct round *r;
	size_t n;
	bool verify = d->verify_now || now >= d->verify_at;

	if (d->job != NULL || d->stopping)
		return;
	/* A write-ahead on its way to the disk; not forever on a hung one. */
	if (d->wal_until != 0) {
		if (!writer_idle(d->st_writer) && now < d->wal_until)
			return;
		d->wal_until = 0;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return;
	r->t = calloc(d->fw.nfwd + d->fw.nclosing + 1, sizeof(*r->t));
	if (r->t == NULL) {
		free(r);
		return;
	}
	n = forwards_tasks(&d->fw, r->t, now, verify, d->cfg.lease);
	if (n == 0 && !verify) {
		round_free(r);
		return;
	}
	r->nt = n;
	/*
	 * method = pcp keeps pinholes through PCP; IPv4 forwards go over
	 * NAT-PMP, PCP's version 0, which every PCP server answers too (RFC
	 * 6887 appendix A), since state.json keeps no PCP nonce for them yet.
	 */
	r->via = d->cfg.method == PM_PCP ? PM_NATPMP : d->cfg.method;
	/*
	 * Forwards state.json does not know yet are written into it before
	 * the router makes them, so that a daemon killed in between leaves
	 * none that a later run would not know to remove.
	 */
	if (forwards_write_ahead(&d->fw, &d->st, r->t, n,
	    d->status.ni.internal_str, r->via) > 0) {
		d->st_dirty = true;
		save_state(d);
		d->wal_until = now + STATE_FLUSH_MS;
		round_free(r);
		return;
	}
	r->timeout_ms = ROUND_TIMEOUT_MS;
	gateway_round_start(&d->gw, &d->w, r);
	d->verify_now = false;
	d->verify_at = now + (int64_t)d->cfg.verify_interval * 1000;
	if ((d->job = job_start(round_run, r, round_free)) == NULL) {
		log_warn("cannot start the mapper thread");
		round_free(r);
		return;
	}
	d->round = r;
	d->round_deadline = now + ROUND_BASE_MS + (int64_t)n *
	    ROUND_PER_TASK_MS;
	if (d->round_deadline > now + ROUND_MAX_MS)
		d->round_deadline = now + ROUND_MAX_MS;
	d->status.nrounds++;
	log_debug("round %lu: %zu task(s)%s", d->status.nrounds, n,
	    verify ? ", verifying" : "");
}

/* A forward could not be made or refreshed (forwards_failed). */
static void
fwd_failed(struct pkd *d, struct fwd *f, const struct pm_error *err,
    int64_t now, bool gone)
{
	d->status.nfailures++;
	if (forwards_failed(f, err, now, gone, d->prev_internal))
		pkd_event(d, EV_MAPPING_FAILED, f->cfg.name, "%s", f->error);
}

static void
fwd_done(struct pkd *d, struct fwd *f, const struct task *t, int64_t now)
{
	const char *ip = d->status.ni.internal_str;
	enum fwd_state was;
	struct state_mapping sm;
	uint32_t lease = t->res.lease;
	char how[300];

	snprintf(how, sizeof(how), ", lease %u s", lease);
	d->status.nrefreshes++;
	was = forwards_done(f, t->res.method, lease, d->cfg.lease, now);

	forwards_state(f, ip, lease, &sm);
	{
		/*
		 * A refresh that changes nothing but the expiry is written
		 * at most hourly: a restart re-makes every forward anyway.
		 */
		const struct state_mapping *o = state_find(&d->st, sm.name);
		bool same = o != NULL && o->proto == sm.proto &&
		    o->ext == sm.ext && o->in == sm.in &&
		    o->method == sm.method &&
		    strcmp(o->internal_ip, sm.internal_ip) == 0;

		state_put(&d->st, &sm);
		if (!same || mono_ms() - d->st_touched >= LAST_SEEN_SAVE_MS)
			d->st_dirty = true;
	}

	if (t->restored)
		pkd_event(d, EV_MAPPING_RESTORED, f->cfg.name, "forward of "
		    "port %u/%s to %s:%u made again via %s", f->cfg.ext,
		    portspec_proto_str(f->cfg.proto), ip, f->cfg.in,
		    portmap_method_name(f->method));
	else if (was == FWD_FAILED)
		pkd_event(d, EV_MAPPING_RESTORED, f->cfg.name, "port %u/%s is "
		    "forwarded to %s:%u again via %s", f->cfg.ext,
		    portspec_proto_str(f->cfg.proto), ip, f->cfg.in,
		    portmap_method_name(f->method));
	else if (was == FWD_PENDING && f->adopted)
		log_info("%s: port %u/%s forwarded to %s:%u via %s (as in the "
		    "last run)", f->cfg.name, f->cfg.ext,
		    portspec_proto_str(f->cfg.proto), ip, f->cfg.in,
		    portmap_method_name(f->method));
	else if (was == FWD_PENDING) {
		/* A fallback the router forced (lease 0) is worth its words. */
		if (t->res.note[0] != '\0')
			snprintf(how, sizeof(how), ": %s", t->res.note);
		pkd_event(d, EV_MAPPING_ADDED, f->cfg.name, "port %u/%s "
		    "forwarded to %s:%u via %s%s", f->cfg.ext,
		    portspec_proto_str(f->cfg.proto), ip, f->cfg.in,
		    portmap_method_name(f->method), how);
	}
	else
		log_debug("refreshed %s, lease %u s", f->cfg.name, lease);
}

static void
note_network(struct pkd *d, const struct netinfo *ni)
{
	struct status *s = &d->status;
	size_t i;

	if (s->ni_ok && s->ni.internal.s_addr == ni->internal.s_addr &&
	    s->ni.gateway.s_addr == ni->gateway.s_addr)
		return;
	if (s->ni_ok && s->ni.gateway.s_addr != ni->gateway.s_addr)
		pkd_event(d, EV_GATEWAY_CHANGED, NULL, "the default gateway "
		    "is now %s (was %s)", ni->gateway_str, s->ni.gateway_str);
	if ((s->ni_ok && s->ni.internal.s_addr != ni->internal.s_addr) ||
	    (!s->ni_ok && d->st.internal_ip[0] != '\0' &&
	    strcmp(d->st.internal_ip, ni->internal_str) != 0)) {
		char old[INET_ADDRSTRLEN];

		str_copy(old, s->ni_ok ? s->ni.internal_str :
		    d->st.internal_ip, sizeof(old));
		str_copy(d->prev_internal, old, sizeof(d->prev_internal));
		s->ni = *ni;
		s->ni_ok = true;
		pkd_event(d, EV_INTERNAL_IP_CHANGED, NULL, "this host's LAN "
		    "address is now %s (was %s); re-pointing every forward",
		    ni->internal_str, old);
		/* Every forward must point at the new address now. */
		for (i = 0; i < d->fw.nfwd; i++)
			d->fw.fwd[i].refresh_at = 0;
	}
	s->ni = *ni;
	s->ni_ok = true;
	str_copy(d->st.internal_ip, ni->internal_str,
	    sizeof(d->st.internal_ip));
	d->st_dirty = true;
	s->gen++;
	watch_open(&d->w, ni);
}

/*
 * Whether the mapper thread has finished with t.  Only then may the loop
 * read its results: the acquire pairs with the thread's release
 * (round.c), so that they are whole.
 */
static bool
task_complete(const struct task *t)
{
	return atomic_load_explicit(&t->done, memory_order_acquire);
}

/* Whether the round found any forward missing on the router. */
static bool
round_lost_any(const struct round *r)
{
	size_t i;

	for (i = 0; i < r->nt; i++)
		if (task_complete(&r->t[i]) && r->t[i].restored)
			return true;
	return false;
}

/* What the round's discovery found: the network, the router, its addresses. */
static void
discover_finished(struct pkd *d, const struct round *r, bool timed_out)
{
	char old[16];

	if (r->ni_ok)
		note_network(d, &r->ni);
	if (r->discover_rc == -1) {
		d->status.info_ok = false;
		/* Once per change: a router that is away stays away a while. */
		if (strcmp(d->status.gw_error, r->discover_err.msg) != 0)
			log_warnx("%s", r->discover_err.msg);
		str_copy(d->status.gw_error, r->discover_err.msg,
		    sizeof(d->status.gw_error));
		return;
	}
	status_set_info(&d->status, &r->info);
	d->status.info_time = wall_now();
	d->status.gw_error[0] = '\0';
	if (r->info.upnp_found)
		str_copy(d->w.location, r->info.upnp_location,
		    sizeof(d->w.location));
	if (r->rebooted && round_lost_any(r))
		pkd_event(d, EV_ROUTER_RESTARTED, NULL, "the router's NAT-PMP "
		    "epoch went back to %u: it restarted and forgot its "
		    "forwards", r->info.epoch);
	else if (r->rebooted && !timed_out)
		log_info("the router's NAT-PMP epoch went back to %u, but it "
		    "still has every forward", r->info.epoch);
	else if (r->rebooted)
		log_info("the router's NAT-PMP epoch went back to %u; the "
		    "forwards checked before the deadline were all there",
		    r->info.epoch);
	if (r->info.external_ip[0] != '\0' &&
	    state_note_external_ip(&d->st, r->info.external_ip, wall_now(),
	    old) == 1) {
		d->st_dirty = true;
		if (old[0] != '\0')
			pkd_event(d, EV_EXTERNAL_IP_CHANGED, NULL, "the router's "
			    "external address is now %s (was %s)",
			    r->info.external_ip, old);
		else
			pkd_event(d, EV_EXTERNAL_IP_CHANGED, NULL, "the router's "
			    "external address is %s", r->info.external_ip);
	} else if (r->info.external_ip[0] != '\0' &&
	    mono_ms() - d->st_touched >= LAST_SEEN_SAVE_MS) {
		/*
		 * Only last_seen moved: worth a write now and then, not every
		 * minute on a Pi's SD card.
		 */
		d->st_dirty = true;
	}
}

/* What the mapper thread did for one forward; t is complete. */
static void
task_finished(struct pkd *d, const struct round *r, const struct task *t,
    int64_t now)
{
	struct fwd *f;

	d->status.info.quirks |= t->quirks;
	if (t->op == TASK_CLOSE) {
		if (t->rc == -1 && t->err.code != PME_CONFLICT) {
			log_warnx("removing %s: %s", t->name, t->err.msg);
			d->fw.closing_at = now + FORWARDS_RETRY_MAX_MS / 2;
			return;
		}
		/* Done, or another host's now: either way not ours. */
		forwards_closed(&d->fw, t->name, t->spec.ext);
		if (forwards_find(&d->fw, t->name) == NULL)
			state_remove(&d->st, t->name);
		d->st_dirty = true;
		if (t->rc == 0 && t->removed)
			pkd_event(d, EV_MAPPING_REMOVED, t->name, "forward of "
			    "port %u/%s removed from the router", t->spec.ext,
			    portspec_proto_str(t->spec.proto));
		return;
	}
	if ((f = forwards_find(&d->fw, t->name)) == NULL)
		return;		/* removed by a reload meanwhile */
	if (t->restored)
		pkd_event(d, EV_MAPPING_LOST, f->cfg.name, "the router no "
		    "longer forwarded port %u/%s%s", f->cfg.ext,
		    portspec_proto_str(f->cfg.proto), r->rebooted ?
		    " (it restarted)" : "");
	if (t->rc == -1)
		fwd_failed(d, f, &t->err, now, t->restored);
	else if (t->op == TASK_OPEN || t->restored || t->refreshed)
		fwd_done(d, f, t, now);
	else
		forwards_verified(f, d->cfg.lease, now);
}

/*
 * Applies a round's results.  At its deadline (timed_out) the mapper thread
 * may still be at work: what it completed counts as if the round had ended,
 * and only the forwards it had not got to fail.  Only the fields the loop
 * wrote itself are read of those (name, op): the thread writes the others.
 */
static void
round_finished(struct pkd *d, int64_t now, bool timed_out)
{
	struct round *r = d->round;
	struct pm_error late;
	size_t i, ndone = 0;
	bool discovered;

	discovered = atomic_load_explicit(&r->discovered, memory_order_acquire);
	if (discovered)
		discover_finished(d, r, timed_out);
	gateway_round_end(&d->gw, r);
	pmerr_set(&late, PME_TIMEOUT, 0, "the router did not finish answering "
	    "in time");
	for (i = 0; i < r->nt; i++) {
		const struct task *t = &r->t[i];
		struct fwd *f;

		if (task_complete(t)) {
			task_finished(d, r, t, now);
			ndone++;
		} else if (t->op != TASK_CLOSE &&
		    (f = forwards_find(&d->fw, t->name)) != NULL)
			fwd_failed(d, f, &late, now, false);
		/* A removal left undone stays on the closing list. */
	}
	if (timed_out)
		log_warnx("a round of router work missed its deadline %s%zu of "
		    "%zu task(s) done; abandoning the rest", discovered ? "with " :
		    "before the router was found, ", ndone, r->nt);
	save_state(d);
}

static void
round_reap(struct pkd *d, int64_t now, bool timed_out)
{
	/* An abandoned thread stops before its next task. */
	if (timed_out)
		atomic_store_explicit(&d->round->abandoned, true,
		    memory_order_relaxed);
	/* A round changes states, leases and addresses: the status moves. */
	d->status.gen++;
	round_finished(d, now, timed_out);
	/*
	 * The job owns the round; releasing frees it once the thread is done,
	 * so this is the last the loop sees of it.
	 */
	job_release(d->job);
	d->job = NULL;
	d->round = NULL;
}

static void
netcheck(struct pkd *d)
{
	struct netinfo ni;
	struct pm_error err;

	pinholes_netcheck(&d->ph);
	if (netinfo_get(&ni, &err) == -1) {
		if (strcmp(d->status.gw_error, err.msg) != 0)
			log_warnx("%s", err.msg);
		str_copy(d->status.gw_error, err.msg,
		    sizeof(d->status.gw_error));
		return;
	}
	note_network(d, &ni);
}

static void
dump_status(struct pkd *d)
{
	char *s = status_json(&d->status);

	if (s != NULL) {
		log_warnx("status: %s", s);
		free(s);
	}
}

static void
reload(struct pkd *d)
{
	struct config ncfg;
	struct config_web oweb;
	char err[512];

	config_init(&ncfg);
	if (config_load(d->cfg_path, &ncfg, err, sizeof(err)) == -1) {
		log_warnx("reload failed, keeping the running configuration: "
		    "%s", err);
		config_free(&ncfg);
		return;
	}
	if (forwards_merge(&d->fw, &ncfg) == -1) {
		log_warnx("reload failed: out of memory");
		config_free(&ncfg);
		return;
	}
	oweb = d->cfg.web;
	if (strcmp(ncfg.socket, d->cfg.socket) != 0 ||
	    strcmp(ncfg.state_dir, d->cfg.state_dir) != 0)
		log_warnx("socket and state_dir changes take effect at the "
		    "next start");
	str_copy(ncfg.socket, d->cfg.socket, sizeof(ncfg.socket));
	str_copy(ncfg.state_dir, d->cfg.state_dir, sizeof(ncfg.state_dir));
	config_free(&d->cfg);
	d->cfg = ncfg;
	/* fwd_load copied the forwards' settings; they point at nothing now. */
	str_copy(d->hooks.cmd, d->cfg.on_change, sizeof(d->hooks.cmd));
	d->status.gen++;
	front_reload(d->front, &oweb);
	forwards_plan_closes(&d->fw);
	pinholes_sync(&d->ph);
	log_warnx("configuration reloaded: %zu forward(s), %zu to remove",
	    d->fw.nfwd, d->fw.nclosing);
}

static void
shutdown_forwards(struct pkd *d)
{
	int64_t now = mono_ms(), deadline = now + SHUTDOWN_WAIT_MS;

	/*
	 * Let a round in flight finish first, or give up on it keeping what it
	 * did: state.json must know every forward the router made for us.
	 */
	if (d->job != NULL)
		round_reap(d, mono_ms(), job_wait(d->job, deadline) == -1);
	pinholes_stop(&d->ph, d->cfg.remove_on_exit, deadline);
	if (d->ph_dirty)
		d->st_dirty = true;
	if (!d->cfg.remove_on_exit)
		return;
	forwards_close_all(&d->fw);
	if (d->fw.nclosing == 0)
		return;
	d->stopping = false;
	schedule(d, mono_ms());
	d->stopping = true;
	if (d->job == NULL)
		return;
	if (job_wait(d->job, deadline) == 0)
		round_reap(d, mono_ms(), false);
	else {
		round_reap(d, mono_ms(), true);
		log_warnx("the router did not answer in time; forwards left "
		    "in place");
	}
}

static int
setup(struct pkd *d)
{
	char err[512], dir[PATH_MAX], *slash;
	sigset_t mask;

	if (startup_ensure_dir(d->cfg.state_dir, 0750) == -1) {
		log_warn("state directory %s", d->cfg.state_dir);
		return -1;
	}
	if ((d->st_writer = writer_start(d->cfg.state_dir, STATE_FILE,
	    0600)) == NULL) {
		log_warn("cannot start the thread that writes %s/%s",
		    d->cfg.state_dir, STATE_FILE);
		return -1;
	}
	state_init(&d->st);
	if (state_load(d->cfg.state_dir, &d->st, err, sizeof(err)) == -1) {
		/* Keep the bad file for a person to look at; start afresh. */
		char bad[PATH_MAX + 32], cur[PATH_MAX + 32];

		/* Out of memory says nothing of the file: keep it, fail. */
		if (strstr(err, strerror(ENOMEM)) != NULL) {
			log_warnx("%s", err);
			return -1;
		}

		log_warnx("%s; starting with an empty state", err);
		snprintf(bad, sizeof(bad), "%s/%s.corrupt", d->cfg.state_dir,
		    STATE_FILE);
		snprintf(cur, sizeof(cur), "%s/%s", d->cfg.state_dir,
		    STATE_FILE);
		rename(cur, bad);
		state_init(&d->st);
	}
	hookq_init(&d->hooks, d->cfg.on_change);
	if (forwards_load(&d->fw) == -1 || pinholes_sync(&d->ph) == -1)
		return -1;
	d->status.gen++;

	str_copy(dir, d->cfg.socket, sizeof(dir));
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		startup_ensure_dir(dir, 0755);
	}
	/* A [web] that cannot be served as configured is a failed start. */
	if ((d->front = front_start(&d->cfg, d->cfg_path, &d->fw,
	    &d->status)) == NULL)
		return -1;

	startup_signal_mask(&mask);
	if ((d->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) ==
	    -1) {
		log_warn("signalfd");
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	watch_init(&d->w);
	netcheck(d);
	d->verify_at = mono_ms() + (int64_t)d->cfg.verify_interval * 1000;
	return 0;
}

/* Handles the signals; returns false when it is time to stop. */
static bool
handle_signals(struct pkd *d)
{
	struct signalfd_siginfo si;
	bool run = true;

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			reload(d);
			break;
		case SIGTERM:
		case SIGINT:
			log_warnx("stopping on %s", si.ssi_signo == SIGTERM ?
			    "SIGTERM" : "SIGINT");
			run = false;
			break;
		case SIGUSR1:
			dump_status(d);
			break;
		case SIGCHLD:
			hookq_tick(&d->hooks, mono_ms());
			break;
		}
	}
	return run;
}

/* The pinholes' turn: what is due of them, and their records saved. */
static void
ipv6_turn(struct pkd *d)
{
	pinholes_run(&d->ph, mono_ms());
	if (!d->ph_dirty)
		return;
	d->ph_dirty = false;
	d->st_dirty = true;
	d->status.gen++;
	save_state(d);
}

/*
 * The earliest deadline of them all.  While a round runs, the refresh
 * schedule waits for it (its tasks are still due); while a write-ahead is
 * on its way to the disk, so does the round that waits for it.
 */
static int64_t
next_deadline(struct pkd *d, int64_t now)
{
	int64_t next = now + 3600 * 1000, wd;
	size_t k;

	if (d->job != NULL)
		next = d->round_deadline;
	else if (d->wal_until != 0)
		next = d->wal_until;	/* or the writer's news */
	else {
		if (d->verify_at < next)
			next = d->verify_at;
		if (d->fw.nclosing > 0 && d->fw.closing_at < next)
			next = d->fw.closing_at;
		/* A family = 6 forward is never due over IPv4. */
		for (k = 0; k < d->fw.nfwd; k++)
			if (d->fw.fwd[k].refresh_at < next &&
			    config_forward_v4(&d->fw.fwd[k].cfg))
				next = d->fw.fwd[k].refresh_at;
	}
	if (hookq_deadline(&d->hooks) < next)
		next = hookq_deadline(&d->hooks);
	if (d->netcheck_at != 0 && d->netcheck_at < next)
		next = d->netcheck_at;
	if (front_deadline(d->front, now) < next)
		next = front_deadline(d->front, now);
	if ((wd = notify_watchdog(now)) < next)
		next = wd;
	if (pinholes_deadline(&d->ph, now) < next)
		next = pinholes_deadline(&d->ph, now);
	return next;
}

static void
loop(struct pkd *d)
{
	for (;;) {
		struct pollfd pfd[12];
		int64_t now = mono_ms(), next;
		int fds[12], n = 0, i, rc, napi;
		char why[256];

		schedule(d, now);
		hookq_tick(&d->hooks, now);

		next = next_deadline(d, now);
		fds[n] = d->sigfd;
		fds[++n] = writer_fd(d->st_writer);
		if (d->job != NULL)
			fds[++n] = job_fd(d->job);
		if (d->w.pmp_fd != -1)
			fds[++n] = d->w.pmp_fd;
		if (d->w.ssdp_fd != -1)
			fds[++n] = d->w.ssdp_fd;
		if (d->w.nl_fd != -1)
			fds[++n] = d->w.nl_fd;
		if (forwards_fd(&d->fw) != -1)
			fds[++n] = forwards_fd(&d->fw);
		n++;
		napi = front_fds(d->front, fds + n, (int)nitems(fds) - n);
		napi += pinholes_fds(&d->ph, fds + n + napi,
		    (int)nitems(fds) - n - napi);
		n += napi;
		for (i = 0; i < n; i++) {
			pfd[i].fd = fds[i];
			pfd[i].events = front_events(d->front, fds[i]);
			pfd[i].revents = 0;
		}
		rc = poll(pfd, (nfds_t)n, ms_until(next));
		if (rc == -1 && errno != EINTR) {
			log_warn("poll");
			return;
		}
		now = mono_ms();
		for (i = 0; rc > 0 && i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			if (fds[i] == d->sigfd) {
				if (!handle_signals(d))
					return;
			} else if (fds[i] == writer_fd(d->st_writer)) {
				state_collect(d);
			} else if (d->job != NULL && fds[i] == job_fd(d->job)) {
				if (job_done(d->job))
					round_reap(d, now, false);
			} else if (i >= n - napi ||
			    fds[i] == forwards_fd(&d->fw)) {
				/* Served below. */
			} else {
				switch (watch_read(&d->w, fds[i], why,
				    sizeof(why))) {
				case WATCH_ROUTER:
					log_info("%s; checking the forwards",
					    why);
					d->verify_now = true;
					forwards_retry_failed(&d->fw, now);
					pinholes_verify_now(&d->ph);
					break;
				case WATCH_NETWORK:
					if (d->netcheck_at == 0)
						d->netcheck_at = now +
						    NETCHECK_DEBOUNCE_MS;
					break;
				case WATCH_NOTHING:
					break;
				}
			}
		}
		if (d->job != NULL && now >= d->round_deadline &&
		    !job_done(d->job))
			round_reap(d, now, true);
		if (d->netcheck_at != 0 && now >= d->netcheck_at) {
			d->netcheck_at = 0;
			netcheck(d);
		}
		/* A change of the API's forwards on disk: it applies now. */
		if (forwards_run(&d->fw) > 0) {
			d->status.gen++;
			pinholes_sync(&d->ph);
		}
		ipv6_turn(d);
		front_run(d->front, mono_ms());
	}
}

int
main(int argc, char **argv)
{
	static struct pkd d;
	const char *path = CONFIG_DEFAULT_PATH;
	sigset_t mask;
	char err[512];
	int c, foreground = 0, check = 0, verbose = 0;

	while ((c = getopt(argc, argv, "c:fnvh")) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("portkeeperd", verbose);
	mallopt(M_ARENA_MAX, 1);	/* few threads: one heap keeps less */
	if (check)
		return startup_check_config(path, verbose);

	/*
	 * A SIGHUP (systemctl reload) or SIGTERM that comes while the daemon
	 * starts waits for the loop, rather than killing it half-started.
	 */
	startup_signal_mask(&mask);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	str_copy(d.cfg_path, path, sizeof(d.cfg_path));
	config_init(&d.cfg);
	if (config_load(path, &d.cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "portkeeperd: %s\n", err);
		return 1;
	}
	srandom((unsigned)(time(NULL) ^ getpid()));
	if (!foreground) {
		startup_daemonize();
		log_to_syslog();
	}
	d.sigfd = -1;
	forwards_init(&d.fw, &d.cfg, &d.st);
	pinholes_init(&d.ph, &d.cfg, &d.fw, &d.st, &d.ph_dirty, pinhole_event,
	    &d);
	status_init(&d.status, &d.fw, &d.st);
	d.status.ph = &d.ph;
	if (setup(&d) == -1)
		return 1;
	log_warnx("started (version %s): %zu forward(s), %s", PK_VERSION,
	    d.fw.nfwd, d.status.ni_ok ? d.status.ni.internal_str :
	    "no network yet");
	notify_ready();

	loop(&d);

	shutdown_forwards(&d);
	save_state(&d);
	/* The writer writes while the hooks finish. */
	hookq_drain(&d.hooks, 5000);
	state_finish(&d);
	front_stop(d.front);
	watch_close(&d.w);
	log_warnx("stopped");
	state_free(&d.st);
	pinholes_free(&d.ph);
	forwards_free(&d.fw);
	gateway_free(&d.gw);
	status_free(&d.status);
	config_free(&d.cfg);
	return 0;
}
