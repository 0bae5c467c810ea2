/*
 * portkeeperd: keeps the configured forwards open on the home router across
 * lease expiry, router reboots and address changes, and tracks this host's
 * and the router's addresses.
 *
 * One poll loop, whose timeout is the earliest deadline (refreshes, the
 * periodic check, the hook queue, libmicrohttpd, the round in flight).  All
 * router work runs in rounds on a mapper thread (job.h) with a hard deadline,
 * so a slow or hostile router never freezes the loop.  Time is monotonic for
 * every deadline and wall-clock only for what people read.
 */
#include <sys/signalfd.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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
#include "pkd.h"
#include "notify.h"
#include "util.h"

#ifndef PK_VERSION
#define PK_VERSION "0.1.0"
#endif

#define ROUND_TIMEOUT_MS	2500	/* discovery, per round */
#define ROUND_BASE_MS		8000	/* hard deadline of a round ... */
#define ROUND_PER_TASK_MS	3000	/* ... plus this per task, capped: */
#define ROUND_MAX_MS		120000
#define RETRY_MIN_MS		2000	/* back-off after a failure */
#define RETRY_MAX_MS		60000
#define NETCHECK_DEBOUNCE_MS	200
#define SHUTDOWN_WAIT_MS	8000
#define STATE_FLUSH_MS		5000	/* for the last state.json, at exit */
#define LAST_SEEN_SAVE_MS	(3600 * 1000)	/* see discover_finished */
#define WEBFWD_FILE		"forwards.conf"

static void	plan_closes(struct pkd *);

static void	usage(void) __attribute__((noreturn));

static void
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

/* Jitter of +-10 % so that many forwards do not refresh in lockstep. */
static int64_t
jitter(int64_t ms)
{
	int64_t span = ms / 5;

	if (span <= 0)
		return ms;
	return ms - span / 2 + (int64_t)(random() % (span + 1));
}

void
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
	if (d->info_ok && d->info.external_ip[0] != '\0')
		str_copy(ev.external_ip, d->info.external_ip,
		    sizeof(ev.external_ip));
	else if (d->st.nhist > 0)
		str_copy(ev.external_ip, d->st.hist[d->st.nhist - 1].ip,
		    sizeof(ev.external_ip));
	if (type == EV_EXTERNAL_IP_CHANGED && d->st.nhist > 1)
		str_copy(ev.old_external_ip, d->st.hist[d->st.nhist - 2].ip,
		    sizeof(ev.old_external_ip));
	if (d->ni_ok)
		str_copy(ev.internal_ip, d->ni.internal_str,
		    sizeof(ev.internal_ip));
	log_warnx("%s%s%s: %s", event_type_str(type), forward ? " " : "",
	    forward ? forward : "", ev.detail);
	eventlog_add(&d->ev, &ev);
	hookq_push(&d->hooks, &ev);
	if (type == EV_EXTERNAL_IP_CHANGED)
		d->nextchanges++;
	d->gen++;
}

/*
 * The forwards to keep: the configuration's, then those added through the
 * API (nweb of them at the end of list), keeping what we know of old ones.
 */
static int
fwd_load(struct pkd *d, const struct config_forward *list, size_t n,
    size_t nweb)
{
	struct fwd *nf;
	size_t i, j;

	if (n == 0) {
		free(d->fwd);
		d->fwd = NULL;
		d->nfwd = 0;
		return 0;
	}
	if ((nf = calloc(n, sizeof(*nf))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		nf[i].cfg = list[i];
		nf[i].state = FWD_PENDING;
		nf[i].refresh_at = 0;
		for (j = 0; j < d->nfwd; j++) {
			struct fwd *o = &d->fwd[j];

			/* Unchanged: keep its lease and schedule. */
			if (strcmp(o->cfg.name, list[i].name) == 0 &&
			    o->cfg.ext == list[i].ext &&
			    o->cfg.in == list[i].in &&
			    o->cfg.proto == list[i].proto) {
				nf[i] = *o;
				nf[i].cfg = list[i];
			}
		}
		nf[i].web = i >= n - nweb;
	}
	free(d->fwd);
	d->fwd = nf;
	d->nfwd = n;
	return 0;
}

/* Whether a forward of the API clashes with one of cfg; says how in msg. */
static bool
fwd_clash(const struct config_forward *list, size_t n,
    const struct config_forward *f, char *msg, size_t msglen)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(list[i].name, f->name) == 0) {
			snprintf(msg, msglen, "a forward named \"%s\" exists "
			    "already", f->name);
			return true;
		}
		if (list[i].ext == f->ext && list[i].proto == f->proto) {
			snprintf(msg, msglen, "external port %u/%s is "
			    "forwarded already, by \"%s\"", f->ext,
			    portspec_proto_str(f->proto), list[i].name);
			return true;
		}
	}
	return false;
}

/*
 * The configuration's forwards and the API's together.  Where an API
 * forward clashes with one the file gained since, the file wins and the
 * API's is left out (it stays in forwards.conf).
 */
static int
fwd_merge(struct pkd *d, const struct config *cfg)
{
	struct config_forward *all;
	size_t i, n = cfg->nfwd;
	char msg[256];
	int rc;

	if ((all = calloc(cfg->nfwd + d->nwebfwd + 1, sizeof(*all))) == NULL)
		return -1;
	if (cfg->nfwd > 0)
		memcpy(all, cfg->fwd, cfg->nfwd * sizeof(*all));
	for (i = 0; i < d->nwebfwd; i++) {
		if (fwd_clash(all, n, &d->webfwd[i], msg, sizeof(msg))) {
			log_warnx("%s/%s: [forward %s] left out: %s in %s",
			    cfg->state_dir, WEBFWD_FILE, d->webfwd[i].name,
			    msg, cfg->path);
			continue;
		}
		all[n++] = d->webfwd[i];
	}
	rc = fwd_load(d, all, n, n - cfg->nfwd);
	free(all);
	d->gen++;
	return rc;
}

/* Reads state_dir/forwards.conf; a missing file is no forwards. */
static void
webfwd_load(struct pkd *d)
{
	struct config wc;
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", d->cfg.state_dir, WEBFWD_FILE);
	if (access(path, F_OK) == -1 && errno == ENOENT)
		return;
	if (config_load(path, &wc, d->webfwd_err, sizeof(d->webfwd_err)) ==
	    -1 || wc.web.enabled) {
		/* Keep the file for a person to fix; never overwrite it. */
		if (wc.web.enabled)
			snprintf(d->webfwd_err, sizeof(d->webfwd_err), "%.400s: "
			    "holds a [web] section; it may only hold "
			    "[forward NAME] sections", path);
		log_warnx("%s; forwards cannot be added or removed through "
		    "the API until it is fixed", d->webfwd_err);
		d->webfwd_broken = true;
		config_free(&wc);
		return;
	}
	d->webfwd = wc.fwd;
	d->nwebfwd = wc.nfwd;
	wc.fwd = NULL;
	config_free(&wc);
}

/*
 * A change of the API's forwards.  The loop checks it and prepares the new
 * list and the file's text, a thread saves forwards.conf (two fsyncs, which
 * took seconds on a busy SD card), and the loop applies it once it is on
 * disk: the API answers only then, because its answer promises that the
 * forward survives a restart.
 */
struct fwd_change {
	bool			 add;
	char			 name[CONFIG_NAME_MAX];
	struct config_forward	 f;		/* add: the new forward */
	struct config_forward	*list;		/* the API's forwards after it */
	size_t			 n;
	char			*text;		/* forwards.conf as it will be */
	size_t			 len;
	char			 dir[PATH_MAX];
	int			 rc;		/* the save: 0 or -1 */
	char			 err[512];
};

void
pkd_forward_change_free(void *arg)
{
	struct fwd_change *ch = arg;

	if (ch == NULL)
		return;
	free(ch->list);
	free(ch->text);
	free(ch);
}

/* The change with list (taken over) and the text of forwards.conf. */
static int
change_new(struct pkd *d, struct config_forward *list, size_t n,
    struct fwd_change **out, char *msg, size_t msglen)
{
	struct fwd_change *ch;
	FILE *fp = NULL;
	size_t i;

	if ((ch = calloc(1, sizeof(*ch))) == NULL ||
	    (fp = open_memstream(&ch->text, &ch->len)) == NULL) {
		free(ch);
		free(list);
		snprintf(msg, msglen, "out of memory");
		return PKD_FAILED;
	}
	ch->list = list;
	ch->n = n;
	str_copy(ch->dir, d->cfg.state_dir, sizeof(ch->dir));
	fprintf(fp, "; Forwards added through portkeeperd's web API.  "
	    "portkeeperd rewrites this\n; file: put forwards of your own in "
	    "portkeeper.conf.\n");
	for (i = 0; i < n; i++)
		fprintf(fp, "\n[forward %s]\nexternal = %u\ninternal = %u\n"
		    "protocol = %s\n", list[i].name, list[i].ext, list[i].in,
		    portspec_proto_str(list[i].proto));
	if (fclose(fp) != 0) {
		pkd_forward_change_free(ch);
		snprintf(msg, msglen, "out of memory");
		return PKD_FAILED;
	}
	*out = ch;
	return 0;
}

int
pkd_forward_add_begin(struct pkd *d, const struct config_forward *f,
    struct fwd_change **out, char *msg, size_t msglen)
{
	struct config_forward *nw;
	size_t i;
	int rc;

	if (d->webfwd_broken) {
		snprintf(msg, msglen, "%s", d->webfwd_err);
		return PKD_FAILED;
	}
	for (i = 0; i < d->nfwd; i++)
		if (fwd_clash(&d->fwd[i].cfg, 1, f, msg, msglen))
			return PKD_CONFLICT;
	if (d->nfwd >= CONFIG_FORWARDS_MAX) {
		snprintf(msg, msglen, "there are %d forwards already",
		    CONFIG_FORWARDS_MAX);
		return PKD_CONFLICT;
	}
	if ((nw = reallocarray(NULL, d->nwebfwd + 1, sizeof(*nw))) == NULL) {
		snprintf(msg, msglen, "out of memory");
		return PKD_FAILED;
	}
	if (d->nwebfwd > 0)
		memcpy(nw, d->webfwd, d->nwebfwd * sizeof(*nw));
	nw[d->nwebfwd] = *f;
	nw[d->nwebfwd].line = 0;
	if ((rc = change_new(d, nw, d->nwebfwd + 1, out, msg, msglen)) != 0)
		return rc;
	(*out)->add = true;
	(*out)->f = nw[d->nwebfwd];
	str_copy((*out)->name, f->name, sizeof((*out)->name));
	return 0;
}

int
pkd_forward_remove_begin(struct pkd *d, const char *name,
    struct fwd_change **out, char *msg, size_t msglen)
{
	struct config_forward *nw = NULL;
	const struct config_forward *cf;
	size_t i, n = 0;
	int rc;

	if ((cf = config_find(&d->cfg, name)) != NULL) {
		snprintf(msg, msglen, "forward \"%s\" is defined in %s at line "
		    "%d: remove it there and reload portkeeperd", name,
		    d->cfg.path, cf->line);
		return PKD_READ_ONLY;
	}
	for (i = 0; i < d->nwebfwd; i++)
		if (strcmp(d->webfwd[i].name, name) == 0)
			break;
	if (i == d->nwebfwd) {
		snprintf(msg, msglen, "there is no forward named \"%s\"", name);
		return PKD_NOT_FOUND;
	}
	if (d->webfwd_broken) {
		snprintf(msg, msglen, "%s", d->webfwd_err);
		return PKD_FAILED;
	}
	if (d->nwebfwd > 1 &&
	    (nw = reallocarray(NULL, d->nwebfwd - 1, sizeof(*nw))) == NULL) {
		snprintf(msg, msglen, "out of memory");
		return PKD_FAILED;
	}
	for (i = 0; i < d->nwebfwd; i++)
		if (strcmp(d->webfwd[i].name, name) != 0)
			nw[n++] = d->webfwd[i];
	if ((rc = change_new(d, nw, n, out, msg, msglen)) != 0)
		return rc;
	str_copy((*out)->name, name, sizeof((*out)->name));
	return 0;
}

bool
pkd_forward_change_add(const struct fwd_change *ch, char *name, size_t len)
{
	str_copy(name, ch->name, len);
	return ch->add;
}

/* On a thread of its own (job_start): nothing of the daemon is touched. */
void
pkd_forward_save(void *arg)
{
	struct fwd_change *ch = arg;

	ch->rc = file_write_atomic(ch->dir, WEBFWD_FILE, ch->text, ch->len,
	    0640, ch->err, sizeof(ch->err));
}

int
pkd_forward_commit(struct pkd *d, struct fwd_change *ch, char *msg,
    size_t msglen)
{
	if (ch->rc == -1) {
		log_warnx("%s", ch->err);
		snprintf(msg, msglen, "cannot save the forward: %s", ch->err);
		return PKD_FAILED;
	}
	/* The list moves into the daemon. */
	free(d->webfwd);
	d->webfwd = ch->list;
	d->nwebfwd = ch->n;
	ch->list = NULL;
	ch->n = 0;
	if (fwd_merge(d, &d->cfg) == -1) {
		snprintf(msg, msglen, "out of memory");
		return PKD_FAILED;
	}
	if (ch->add) {
		log_warnx("forward %s (port %u/%s to %u) added through the API",
		    ch->f.name, ch->f.ext, portspec_proto_str(ch->f.proto), ch->f.in);
	} else {
		/* What the router holds for it goes on the closing list. */
		plan_closes(d);
		log_warnx("forward %s removed through the API", ch->name);
	}
	return 0;
}

static bool
fwd_wanted(const struct pkd *d, const struct state_mapping *m)
{
	size_t i;

	for (i = 0; i < d->nfwd; i++) {
		const struct config_forward *c = &d->fwd[i].cfg;

		if (strcmp(c->name, m->name) == 0 && c->ext == m->ext &&
		    c->in == m->in && c->proto == m->proto)
			return true;
	}
	return false;
}

/*
 * Every mapping the state says we made that the configuration no longer
 * wants goes on the closing list.
 */
static void
plan_closes(struct pkd *d)
{
	size_t i;

	for (i = 0; i < d->st.nm; i++) {
		const struct state_mapping *m = &d->st.m[i];
		struct state_mapping *nc;
		size_t j;
		bool dup = false;

		if (fwd_wanted(d, m))
			continue;
		for (j = 0; j < d->nclosing; j++)
			if (strcmp(d->closing[j].name, m->name) == 0 &&
			    d->closing[j].ext == m->ext &&
			    d->closing[j].proto == m->proto)
				dup = true;
		if (dup)
			continue;
		nc = reallocarray(d->closing, d->nclosing + 1,
		    sizeof(*d->closing));
		if (nc == NULL)
			continue;
		d->closing = nc;
		d->closing[d->nclosing++] = *m;
	}
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
	size_t i, n = 0;
	bool verify = d->verify_now || now >= d->verify_at;

	if (d->job != NULL || d->stopping)
		return;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return;
	r->t = calloc(d->nfwd + d->nclosing + 1, sizeof(*r->t));
	if (r->t == NULL) {
		free(r);
		return;
	}
	for (i = 0; i < d->nclosing && now >= d->closing_at; i++) {
		struct task *t = &r->t[n++];

		t->op = TASK_CLOSE;
		str_copy(t->name, d->closing[i].name, sizeof(t->name));
		t->spec.ext = d->closing[i].ext;
		t->spec.in = d->closing[i].in;
		t->spec.in_given = 1;
		t->spec.proto = d->closing[i].proto;
	}
	for (i = 0; i < d->nfwd; i++) {
		struct fwd *f = &d->fwd[i];
		struct task *t;

		if (now < f->refresh_at && !(verify && f->state == FWD_ACTIVE))
			continue;
		t = &r->t[n++];
		t->op = now >= f->refresh_at ? TASK_OPEN : TASK_VERIFY;
		str_copy(t->name, f->cfg.name, sizeof(t->name));
		t->spec.ext = f->cfg.ext;
		t->spec.in = f->cfg.in;
		t->spec.in_given = 1;
		t->spec.proto = f->cfg.proto;
		t->lease = d->cfg.lease;
	}
	if (n == 0 && !verify) {
		round_free(r);
		return;
	}
	r->nt = n;
	r->via = d->cfg.method;
	r->timeout_ms = ROUND_TIMEOUT_MS;
	r->have_epoch = d->epoch_known;
	r->epoch_prev = d->epoch;
	r->epoch_mono_prev = d->epoch_mono;
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
	d->nrounds++;
	log_debug("round %lu: %zu task(s)%s", d->nrounds, n,
	    verify ? ", verifying" : "");
}

static struct fwd *
fwd_find(struct pkd *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->nfwd; i++)
		if (strcmp(d->fwd[i].cfg.name, name) == 0)
			return &d->fwd[i];
	return NULL;
}

/*
 * A forward could not be made or refreshed.  gone says the router is known
 * to have lost it; otherwise a forward whose lease still runs gets one
 * retry before it is reported failed, so that a lost packet does not make
 * it flap.
 */
static void
fwd_failed(struct pkd *d, struct fwd *f, const struct pm_error *err,
    int64_t now, bool gone)
{
	int64_t backoff = RETRY_MIN_MS << (f->failures < 5 ? f->failures : 5);
	struct pm_error msg;
	bool changed = f->state != FWD_FAILED ||
	    strcmp(f->error, err->msg) != 0;

	if (backoff > RETRY_MAX_MS)
		backoff = RETRY_MAX_MS;
	f->failures++;
	d->nfailures++;
	f->refresh_at = now + jitter(backoff);
	/*
	 * After this host's address changed, the router usually still holds
	 * the forward for the old address, and neither protocol lets us remove
	 * it from the new one (miniupnpd answers 606).  Say so plainly.
	 */
	if (err->code == PME_CONFLICT && d->prev_internal[0] != '\0' &&
	    strstr(err->msg, d->prev_internal) != NULL) {
		snprintf(msg.msg, sizeof(msg.msg), "port %u/%s still points at "
		    "this host's old address %s; the router keeps it until its "
		    "lease runs out, and portkeeperd re-points the forward then",
		    f->cfg.ext, portspec_proto_str(f->cfg.proto), d->prev_internal);
		msg.code = err->code;
		err = &msg;
		changed = f->state != FWD_FAILED ||
		    strcmp(f->error, err->msg) != 0;
	}
	str_copy(f->error, err->msg, sizeof(f->error));
	if (!gone && f->state == FWD_ACTIVE && f->failures == 1 &&
	    (f->expires_at == 0 || now < f->expires_at) &&
	    err->code != PME_CONFLICT && err->code != PME_NO_PUBLIC_ADDRESS) {
		log_warnx("refreshing %s failed, retrying: %s", f->cfg.name,
		    err->msg);
		return;
	}
	f->state = FWD_FAILED;
	if (changed)
		pkd_event(d, EV_MAPPING_FAILED, f->cfg.name, "%s", err->msg);
}

static void
fwd_done(struct pkd *d, struct fwd *f, const struct task *t, int64_t now)
{
	enum fwd_state was = f->state;
	struct state_mapping sm;
	uint32_t lease = t->res.lease;

	d->nrefreshes++;
	f->state = FWD_ACTIVE;
	f->failures = 0;
	f->error[0] = '\0';
	f->method = t->res.method;
	f->lease = lease;
	f->last_refresh = wall_now();
	f->expires_at = lease != 0 ? now + (int64_t)lease * 1000 : 0;
	/* Refresh at half the lease (RFC 6886 section 3.7 suggests so too). */
	f->refresh_at = now + jitter((int64_t)(lease != 0 ? lease :
	    d->cfg.lease) * 500);
	f->made = true;

	memset(&sm, 0, sizeof(sm));
	str_copy(sm.name, f->cfg.name, sizeof(sm.name));
	sm.proto = f->cfg.proto;
	sm.ext = f->cfg.ext;
	sm.in = f->cfg.in;
	str_copy(sm.internal_ip, d->ni.internal_str, sizeof(sm.internal_ip));
	sm.method = f->method;
	sm.expires = lease != 0 ? wall_now() + lease : 0;
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
		    portspec_proto_str(f->cfg.proto), d->ni.internal_str, f->cfg.in,
		    portmap_method_name(f->method));
	else if (was == FWD_FAILED)
		pkd_event(d, EV_MAPPING_RESTORED, f->cfg.name, "port %u/%s is "
		    "forwarded to %s:%u again via %s", f->cfg.ext,
		    portspec_proto_str(f->cfg.proto), d->ni.internal_str, f->cfg.in,
		    portmap_method_name(f->method));
	else if (was == FWD_PENDING && f->adopted)
		log_info("%s: port %u/%s forwarded to %s:%u via %s (as in the "
		    "last run)", f->cfg.name, f->cfg.ext,
		    portspec_proto_str(f->cfg.proto), d->ni.internal_str, f->cfg.in,
		    portmap_method_name(f->method));
	else if (was == FWD_PENDING)
		pkd_event(d, EV_MAPPING_ADDED, f->cfg.name, "port %u/%s "
		    "forwarded to %s:%u via %s, lease %u s", f->cfg.ext,
		    portspec_proto_str(f->cfg.proto), d->ni.internal_str, f->cfg.in,
		    portmap_method_name(f->method), lease);
	else
		log_debug("refreshed %s, lease %u s", f->cfg.name, lease);
}

static void
note_network(struct pkd *d, const struct netinfo *ni)
{
	size_t i;

	if (d->ni_ok && d->ni.internal.s_addr == ni->internal.s_addr &&
	    d->ni.gateway.s_addr == ni->gateway.s_addr)
		return;
	if (d->ni_ok && d->ni.gateway.s_addr != ni->gateway.s_addr)
		pkd_event(d, EV_GATEWAY_CHANGED, NULL, "the default gateway "
		    "is now %s (was %s)", ni->gateway_str, d->ni.gateway_str);
	if ((d->ni_ok && d->ni.internal.s_addr != ni->internal.s_addr) ||
	    (!d->ni_ok && d->st.internal_ip[0] != '\0' &&
	    strcmp(d->st.internal_ip, ni->internal_str) != 0)) {
		char old[INET_ADDRSTRLEN];

		str_copy(old, d->ni_ok ? d->ni.internal_str :
		    d->st.internal_ip, sizeof(old));
		str_copy(d->prev_internal, old, sizeof(d->prev_internal));
		d->ni = *ni;
		d->ni_ok = true;
		pkd_event(d, EV_INTERNAL_IP_CHANGED, NULL, "this host's LAN "
		    "address is now %s (was %s); re-pointing every forward",
		    ni->internal_str, old);
		/* Every forward must point at the new address now. */
		for (i = 0; i < d->nfwd; i++)
			d->fwd[i].refresh_at = 0;
	}
	d->ni = *ni;
	d->ni_ok = true;
	str_copy(d->st.internal_ip, ni->internal_str,
	    sizeof(d->st.internal_ip));
	d->st_dirty = true;
	d->gen++;
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
		d->info_ok = false;
		/* Once per change: a router that is away stays away a while. */
		if (strcmp(d->gw_error, r->discover_err.msg) != 0)
			log_warnx("%s", r->discover_err.msg);
		str_copy(d->gw_error, r->discover_err.msg, sizeof(d->gw_error));
		return;
	}
	d->info = r->info;
	d->info_ok = true;
	d->info_time = wall_now();
	d->gw_error[0] = '\0';
	if (r->info.upnp_found)
		str_copy(d->w.location, r->info.upnp_location,
		    sizeof(d->w.location));
	if (r->info.natpmp_found) {
		d->epoch_known = true;
		d->epoch = r->info.epoch;
		d->epoch_mono = r->epoch_mono;
	}
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
	size_t j;

	if (t->op == TASK_CLOSE) {
		if (t->rc == -1 && t->err.code != PME_CONFLICT) {
			log_warnx("removing %s: %s", t->name, t->err.msg);
			d->closing_at = now + RETRY_MAX_MS / 2;
			return;
		}
		/* Done, or another host's now: either way not ours. */
		for (j = 0; j < d->nclosing; j++) {
			if (strcmp(d->closing[j].name, t->name) == 0 &&
			    d->closing[j].ext == t->spec.ext) {
				d->closing[j] = d->closing[--d->nclosing];
				break;
			}
		}
		if (fwd_find(d, t->name) == NULL)
			state_remove(&d->st, t->name);
		d->st_dirty = true;
		if (t->rc == 0 && t->removed)
			pkd_event(d, EV_MAPPING_REMOVED, t->name, "forward of "
			    "port %u/%s removed from the router", t->spec.ext,
			    portspec_proto_str(t->spec.proto));
		return;
	}
	if ((f = fwd_find(d, t->name)) == NULL)
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
	pmerr_set(&late, PME_TIMEOUT, 0, "the router did not finish answering "
	    "in time");
	for (i = 0; i < r->nt; i++) {
		const struct task *t = &r->t[i];
		struct fwd *f;

		if (task_complete(t)) {
			task_finished(d, r, t, now);
			ndone++;
		} else if (t->op != TASK_CLOSE &&
		    (f = fwd_find(d, t->name)) != NULL)
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
	d->gen++;
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

	if (netinfo_get(&ni, &err) == -1) {
		if (strcmp(d->gw_error, err.msg) != 0)
			log_warnx("%s", err.msg);
		str_copy(d->gw_error, err.msg, sizeof(d->gw_error));
		return;
	}
	note_network(d, &ni);
}

static void
dump_status(struct pkd *d)
{
	char *s = api_status_json(d);

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
	if (fwd_merge(d, &ncfg) == -1) {
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
	api_reload(d, &oweb);
	plan_closes(d);
	log_warnx("configuration reloaded: %zu forward(s), %zu to remove",
	    d->nfwd, d->nclosing);
}

static void
shutdown_forwards(struct pkd *d)
{
	int64_t now = mono_ms(), deadline = now + SHUTDOWN_WAIT_MS;
	size_t i;

	/*
	 * Let a round in flight finish first, or give up on it keeping what it
	 * did: state.json must know every forward the router made for us.
	 */
	if (d->job != NULL)
		round_reap(d, mono_ms(), job_wait(d->job, deadline) == -1);
	if (!d->cfg.remove_on_exit)
		return;
	for (i = 0; i < d->nfwd; i++) {
		struct state_mapping *m = state_find(&d->st, d->fwd[i].cfg.name);

		if (m != NULL) {
			struct state_mapping *nc = reallocarray(d->closing,
			    d->nclosing + 1, sizeof(*d->closing));

			if (nc == NULL)
				break;
			d->closing = nc;
			d->closing[d->nclosing++] = *m;
		}
	}
	free(d->fwd);
	d->fwd = NULL;
	d->nfwd = 0;
	if (d->nclosing == 0)
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
check_config(const char *path, int verbose)
{
	struct config cfg;
	char err[512];

	config_init(&cfg);
	if (config_load(path, &cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		config_free(&cfg);
		return 1;
	}
	if (verbose)
		config_print(&cfg, stdout);
	fprintf(stderr, "configuration OK\n");
	config_free(&cfg);
	return 0;
}

static void
daemonize(void)
{
	int fd;

	switch (fork()) {
	case -1:
		fatalx("fork: %s", strerror(errno));
	case 0:
		break;
	default:
		_exit(0);
	}
	if (setsid() == -1)
		fatalx("setsid: %s", strerror(errno));
	if (chdir("/") == -1)
		fatalx("chdir /: %s", strerror(errno));
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > 2)
			close(fd);
	}
}

static int
ensure_dir(const char *path, mode_t mode)
{
	struct stat sb;

	if (stat(path, &sb) == 0)
		return S_ISDIR(sb.st_mode) ? 0 : -1;
	return mkdir(path, mode);
}

/* The signals the loop reads from its signalfd. */
static void
signal_mask(sigset_t *mask)
{
	sigemptyset(mask);
	sigaddset(mask, SIGHUP);
	sigaddset(mask, SIGTERM);
	sigaddset(mask, SIGINT);
	sigaddset(mask, SIGUSR1);
	sigaddset(mask, SIGCHLD);
}

static int
setup(struct pkd *d)
{
	char err[512], dir[PATH_MAX], *slash;
	sigset_t mask;
	size_t i;

	if (ensure_dir(d->cfg.state_dir, 0750) == -1) {
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
	eventlog_init(&d->ev);
	hookq_init(&d->hooks, d->cfg.on_change);
	webfwd_load(d);
	if (fwd_merge(d, &d->cfg) == -1)
		return -1;
	/* Reconcile: what we made before and no longer want goes. */
	plan_closes(d);
	for (i = 0; i < d->st.nm; i++) {
		struct fwd *f = fwd_find(d, d->st.m[i].name);

		if (f != NULL && fwd_wanted(d, &d->st.m[i]))
			f->adopted = true;
	}

	str_copy(dir, d->cfg.socket, sizeof(dir));
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		ensure_dir(dir, 0755);
	}
	/* A [web] that cannot be served as configured is a failed start. */
	if (api_start(d) == -1)
		return -1;

	signal_mask(&mask);
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

static void
loop(struct pkd *d)
{
	for (;;) {
		struct pollfd pfd[12];
		int64_t now = mono_ms(), next, wd;
		int fds[12], n = 0, i, rc, napi;
		char why[256];
		size_t k;

		schedule(d, now);
		hookq_tick(&d->hooks, now);

		/*
		 * The earliest deadline of them all.  While a round runs, the
		 * refresh schedule waits for it (its tasks are still due).
		 */
		next = now + 3600 * 1000;
		if (d->job != NULL)
			next = d->round_deadline;
		else {
			if (d->verify_at < next)
				next = d->verify_at;
			if (d->nclosing > 0 && d->closing_at < next)
				next = d->closing_at;
			for (k = 0; k < d->nfwd; k++)
				if (d->fwd[k].refresh_at < next)
					next = d->fwd[k].refresh_at;
		}
		if (hookq_deadline(&d->hooks) < next)
			next = hookq_deadline(&d->hooks);
		if (d->netcheck_at != 0 && d->netcheck_at < next)
			next = d->netcheck_at;
		if (api_deadline(d, now) < next)
			next = api_deadline(d, now);
		if ((wd = notify_watchdog(now)) < next)
			next = wd;

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
		n++;
		napi = api_fds(d, fds + n, (int)nitems(fds) - n);
		n += napi;
		for (i = 0; i < n; i++) {
			pfd[i].fd = fds[i];
			pfd[i].events = POLLIN;
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
			} else if (i >= n - napi) {
				/* api_run below serves them all. */
			} else {
				switch (watch_read(&d->w, fds[i], why,
				    sizeof(why))) {
				case WATCH_ROUTER:
					log_info("%s; checking the forwards",
					    why);
					d->verify_now = true;
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
		api_run(d, mono_ms());
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
	if (check)
		return check_config(path, verbose);

	/*
	 * A SIGHUP (systemctl reload) or SIGTERM that comes while the daemon
	 * starts waits for the loop, rather than killing it half-started.
	 */
	signal_mask(&mask);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	str_copy(d.cfg_path, path, sizeof(d.cfg_path));
	config_init(&d.cfg);
	if (config_load(path, &d.cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "portkeeperd: %s\n", err);
		return 1;
	}
	srandom((unsigned)(time(NULL) ^ getpid()));
	if (!foreground) {
		daemonize();
		log_to_syslog();
	}
	d.sigfd = -1;
	if (setup(&d) == -1)
		return 1;
	log_warnx("started (version %s): %zu forward(s), %s", PK_VERSION,
	    d.nfwd, d.ni_ok ? d.ni.internal_str : "no network yet");
	notify_ready();

	loop(&d);

	shutdown_forwards(&d);
	save_state(&d);
	/* The writer writes while the hooks finish. */
	hookq_drain(&d.hooks, 5000);
	state_finish(&d);
	api_stop(&d);
	watch_close(&d.w);
	log_warnx("stopped");
	state_free(&d.st);
	config_free(&d.cfg);
	free(d.fwd);
	free(d.webfwd);
	free(d.closing);
	return 0;
}
