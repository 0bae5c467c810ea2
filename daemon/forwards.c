/*
 * The forwards portkeeperd keeps: portkeeper.conf's, then those added
 * through the web API (state_dir/forwards.conf), with what is known of
 * each on the router; the mappings to take off the router; and the
 * changes of the API's forwards.
 *
 * A change is checked on the loop and prepared (the new list and the
 * file's text), a thread saves forwards.conf (two fsyncs, which took
 * seconds on a busy SD card), and the loop applies it once it is on disk:
 * the API answers only then, because its answer promises that the forward
 * survives a restart.  One change at a time, in the order they came: the
 * next is checked once the last is applied, so that it sees it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "forwards.h"
#include "job.h"
#include "log.h"
#include "round.h"
#include "util.h"

/* Room for a sentence that quotes a path. */
#define FORWARDS_MSG_MAX	(PATH_MAX + 1024)

struct forwards_change {
	bool			 add;
	char			 name[CONFIG_NAME_MAX];
	struct config_forward	 f;		/* add: the new forward */
	forwards_done_fn	*done;		/* NULL: nobody waits */
	void			*arg;
	struct forwards_change	*next;		/* in the queue */
	/* Prepared by forwards_change_begin, for the thread. */
	struct config_forward	*list;		/* the API's forwards after */
	size_t			 n;
	char			*text;		/* forwards.conf to be */
	size_t			 len;
	char			 dir[PATH_MAX];
	int			 rc;		/* the save: 0 or -1 */
	char			 err[512];
};

void
forwards_init(struct forwards *fw, const struct config *cfg,
    const struct state *st)
{
	memset(fw, 0, sizeof(*fw));
	fw->cfg = cfg;
	fw->st = st;
}

/*
 * The forwards to keep: list, whose last nweb came through the API,
 * keeping what we know of those unchanged.
 */
static int
forwards_set(struct forwards *fw, const struct config_forward *list,
    size_t n, size_t nweb)
{
	struct fwd *nf;
	size_t i, j;

	if (n == 0) {
		free(fw->fwd);
		fw->fwd = NULL;
		fw->nfwd = 0;
		return 0;
	}
	if ((nf = calloc(n, sizeof(*nf))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		nf[i].cfg = list[i];
		nf[i].state = FWD_PENDING;
		nf[i].refresh_at = 0;
		for (j = 0; j < fw->nfwd; j++) {
			struct fwd *o = &fw->fwd[j];

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
	free(fw->fwd);
	fw->fwd = nf;
	fw->nfwd = n;
	return 0;
}

/* Whether f clashes with one of list; says how in msg. */
static bool
forwards_clash(const struct config_forward *list, size_t n,
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

int
forwards_merge(struct forwards *fw, const struct config *cfg)
{
	struct config_forward *all;
	size_t i, n = cfg->nfwd;
	char msg[256];
	int rc;

	if ((all = calloc(cfg->nfwd + fw->nweb + 1, sizeof(*all))) == NULL)
		return -1;
	if (cfg->nfwd > 0)
		memcpy(all, cfg->fwd, cfg->nfwd * sizeof(*all));
	for (i = 0; i < fw->nweb; i++) {
		if (forwards_clash(all, n, &fw->web[i], msg, sizeof(msg))) {
			log_warnx("%s/%s: [forward %s] left out: %s in %s",
			    cfg->state_dir, FORWARDS_FILE, fw->web[i].name,
			    msg, cfg->path);
			continue;
		}
		all[n++] = fw->web[i];
	}
	rc = forwards_set(fw, all, n, n - cfg->nfwd);
	free(all);
	return rc;
}

/* Reads state_dir/forwards.conf; a missing file is no forwards. */
static void
forwards_load_web(struct forwards *fw)
{
	struct config wc;
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", fw->cfg->state_dir,
	    FORWARDS_FILE);
	if (access(path, F_OK) == -1 && errno == ENOENT)
		return;
	if (config_load(path, &wc, fw->web_err, sizeof(fw->web_err)) == -1 ||
	    wc.web.enabled) {
		/* Keep the file for a person to fix; never overwrite it. */
		if (wc.web.enabled)
			snprintf(fw->web_err, sizeof(fw->web_err), "%.400s: "
			    "holds a [web] section; it may only hold "
			    "[forward NAME] sections", path);
		log_warnx("%s; forwards cannot be added or removed through "
		    "the API until it is fixed", fw->web_err);
		fw->web_broken = true;
		config_free(&wc);
		return;
	}
	fw->web = wc.fwd;
	fw->nweb = wc.nfwd;
	wc.fwd = NULL;
	config_free(&wc);
}

int
forwards_load(struct forwards *fw)
{
	const struct state *st = fw->st;
	struct fwd *f;
	size_t i;

	forwards_load_web(fw);
	if (forwards_merge(fw, fw->cfg) == -1)
		return -1;
	/* Reconcile: what we made before and no longer want goes. */
	forwards_plan_closes(fw);
	for (i = 0; i < st->nm; i++)
		if ((f = forwards_find(fw, st->m[i].name)) != NULL &&
		    forwards_wanted(fw, &st->m[i]))
			f->adopted = true;
	return 0;
}

static void
forwards_change_free(void *arg)
{
	struct forwards_change *ch = arg;

	if (ch == NULL)
		return;
	free(ch->list);
	free(ch->text);
	free(ch);
}

void
forwards_free(struct forwards *fw)
{
	struct forwards_change *ch;

	while ((ch = fw->queue) != NULL) {
		fw->queue = ch->next;
		forwards_change_free(ch);
	}
	/* A change still being saved is saved by its thread, or not at all. */
	if (fw->save_job != NULL)
		job_release(fw->save_job);
	fw->save_job = NULL;
	fw->saving = NULL;
	free(fw->fwd);
	free(fw->web);
	free(fw->closing);
	fw->fwd = NULL;
	fw->web = NULL;
	fw->closing = NULL;
	fw->nfwd = fw->nweb = fw->nclosing = 0;
}

struct fwd *
forwards_find(const struct forwards *fw, const char *name)
{
	size_t i;

	for (i = 0; i < fw->nfwd; i++)
		if (strcmp(fw->fwd[i].cfg.name, name) == 0)
			return &fw->fwd[i];
	return NULL;
}

bool
forwards_wanted(const struct forwards *fw, const struct state_mapping *m)
{
	size_t i;

	for (i = 0; i < fw->nfwd; i++) {
		const struct config_forward *c = &fw->fwd[i].cfg;

		if (strcmp(c->name, m->name) == 0 && c->ext == m->ext &&
		    c->in == m->in && c->proto == m->proto &&
		    config_forward_v4(c))
			return true;
	}
	return false;
}

/* Puts m on the closing list, unless it is there; -1 out of memory. */
static int
forwards_close(struct forwards *fw, const struct state_mapping *m)
{
	struct state_mapping *nc;
	size_t j;

	for (j = 0; j < fw->nclosing; j++)
		if (strcmp(fw->closing[j].name, m->name) == 0 &&
		    fw->closing[j].ext == m->ext &&
		    fw->closing[j].proto == m->proto)
			return 0;
	nc = reallocarray(fw->closing, fw->nclosing + 1, sizeof(*fw->closing));
	if (nc == NULL)
		return -1;
	fw->closing = nc;
	fw->closing[fw->nclosing++] = *m;
	return 0;
}

void
forwards_plan_closes(struct forwards *fw)
{
	size_t i;

	for (i = 0; i < fw->st->nm; i++)
		if (!forwards_wanted(fw, &fw->st->m[i]))
			(void)forwards_close(fw, &fw->st->m[i]);
}

void
forwards_close_all(struct forwards *fw)
{
	struct state_mapping *m, *nc;
	size_t i;

	for (i = 0; i < fw->nfwd; i++) {
		if ((m = state_find((struct state *)fw->st,
		    fw->fwd[i].cfg.name)) == NULL)
			continue;
		nc = reallocarray(fw->closing, fw->nclosing + 1,
		    sizeof(*fw->closing));
		if (nc == NULL)
			break;
		fw->closing = nc;
		fw->closing[fw->nclosing++] = *m;
	}
	free(fw->fwd);
	fw->fwd = NULL;
	fw->nfwd = 0;
}

void
forwards_closed(struct forwards *fw, const char *name, uint16_t ext)
{
	size_t j;

	for (j = 0; j < fw->nclosing; j++) {
		if (strcmp(fw->closing[j].name, name) == 0 &&
		    fw->closing[j].ext == ext) {
			fw->closing[j] = fw->closing[--fw->nclosing];
			break;
		}
	}
}

/* Sets ch's list (taken over) and the text of forwards.conf. */
static enum forwards_rc
forwards_change_prepare(struct forwards *fw, struct forwards_change *ch,
    struct config_forward *list, size_t n, char *msg, size_t msglen)
{
	FILE *fp;
	size_t i;

	ch->list = list;
	ch->n = n;
	str_copy(ch->dir, fw->cfg->state_dir, sizeof(ch->dir));
	if ((fp = open_memstream(&ch->text, &ch->len)) == NULL) {
		snprintf(msg, msglen, "out of memory");
		return FORWARDS_FAILED;
	}
	fprintf(fp, "; Forwards added through portkeeperd's web API.  "
	    "portkeeperd rewrites this\n; file: put forwards of your own in "
	    "portkeeper.conf.\n");
	for (i = 0; i < n; i++)
		fprintf(fp, "\n[forward %s]\nexternal = %u\ninternal = %u\n"
		    "protocol = %s\nfamily = %s\n", list[i].name, list[i].ext,
		    list[i].in, portspec_proto_str(list[i].proto),
		    config_family_str(list[i].family));
	if (fclose(fp) != 0) {
		snprintf(msg, msglen, "out of memory");
		return FORWARDS_FAILED;
	}
	return FORWARDS_OK;
}

static enum forwards_rc
forwards_add_begin(struct forwards *fw, struct forwards_change *ch,
    char *msg, size_t msglen)
{
	struct config_forward *nw;
	size_t i;

	if (fw->web_broken) {
		snprintf(msg, msglen, "%s", fw->web_err);
		return FORWARDS_FAILED;
	}
	for (i = 0; i < fw->nfwd; i++)
		if (forwards_clash(&fw->fwd[i].cfg, 1, &ch->f, msg, msglen))
			return FORWARDS_CONFLICT;
	if (fw->nfwd >= CONFIG_FORWARDS_MAX) {
		snprintf(msg, msglen, "there are %d forwards already",
		    CONFIG_FORWARDS_MAX);
		return FORWARDS_CONFLICT;
	}
	if ((nw = reallocarray(NULL, fw->nweb + 1, sizeof(*nw))) == NULL) {
		snprintf(msg, msglen, "out of memory");
		return FORWARDS_FAILED;
	}
	if (fw->nweb > 0)
		memcpy(nw, fw->web, fw->nweb * sizeof(*nw));
	ch->f.line = 0;
	nw[fw->nweb] = ch->f;
	return forwards_change_prepare(fw, ch, nw, fw->nweb + 1, msg, msglen);
}

static enum forwards_rc
forwards_remove_begin(struct forwards *fw, struct forwards_change *ch,
    char *msg, size_t msglen)
{
	struct config_forward *nw = NULL;
	const struct config_forward *cf;
	const char *name = ch->name;
	size_t i, n = 0;

	if ((cf = config_find(fw->cfg, name)) != NULL) {
		snprintf(msg, msglen, "forward \"%s\" is defined in %s at line "
		    "%d: remove it there and reload portkeeperd", name,
		    fw->cfg->path, cf->line);
		return FORWARDS_READ_ONLY;
	}
	for (i = 0; i < fw->nweb; i++)
		if (strcmp(fw->web[i].name, name) == 0)
			break;
	if (i == fw->nweb) {
		snprintf(msg, msglen, "there is no forward named \"%s\"", name);
		return FORWARDS_NOT_FOUND;
	}
	if (fw->web_broken) {
		snprintf(msg, msglen, "%s", fw->web_err);
		return FORWARDS_FAILED;
	}
	if (fw->nweb > 1 &&
	    (nw = reallocarray(NULL, fw->nweb - 1, sizeof(*nw))) == NULL) {
		snprintf(msg, msglen, "out of memory");
		return FORWARDS_FAILED;
	}
	for (i = 0; i < fw->nweb; i++)
		if (strcmp(fw->web[i].name, name) != 0)
			nw[n++] = fw->web[i];
	return forwards_change_prepare(fw, ch, nw, n, msg, msglen);
}

/* On a thread of its own (job_start): nothing of the daemon is touched. */
static void
forwards_save(void *arg)
{
	struct forwards_change *ch = arg;

	ch->rc = file_write_atomic(ch->dir, FORWARDS_FILE, ch->text, ch->len,
	    0640, ch->err, sizeof(ch->err));
}

/* Tells ch's submitter, if one still waits, what came of it. */
static void
forwards_answer(struct forwards_change *ch, enum forwards_rc rc,
    const char *msg)
{
	if (ch->done != NULL)
		ch->done(ch->arg, rc, msg);
	else if (rc != FORWARDS_OK)
		log_warnx("web: a change whose client left: %s", msg);
	ch->done = NULL;
}

/* The change is on disk, or could not be saved: applies it. */
static enum forwards_rc
forwards_commit(struct forwards *fw, struct forwards_change *ch, char *msg,
    size_t msglen)
{
	if (ch->rc == -1) {
		log_warnx("%s", ch->err);
		snprintf(msg, msglen, "cannot save the forward: %s", ch->err);
		return FORWARDS_FAILED;
	}
	/* The list moves into the forwards kept. */
	free(fw->web);
	fw->web = ch->list;
	fw->nweb = ch->n;
	ch->list = NULL;
	ch->n = 0;
	if (forwards_merge(fw, fw->cfg) == -1) {
		snprintf(msg, msglen, "out of memory");
		return FORWARDS_FAILED;
	}
	if (ch->add) {
		log_warnx("forward %s (port %u/%s to %u) added through the API",
		    ch->f.name, ch->f.ext, portspec_proto_str(ch->f.proto),
		    ch->f.in);
	} else {
		/* What the router holds for it goes on the closing list. */
		forwards_plan_closes(fw);
		log_warnx("forward %s removed through the API", ch->name);
	}
	return FORWARDS_OK;
}

/*
 * Checks the changes that wait, in order, until one is saved on a thread:
 * those refused are answered on the way.
 */
static void
forwards_next(struct forwards *fw)
{
	struct forwards_change *ch;
	enum forwards_rc rc;
	char msg[FORWARDS_MSG_MAX];

	while (!fw->stopping && fw->save_job == NULL &&
	    (ch = fw->queue) != NULL) {
		fw->queue = ch->next;
		ch->next = NULL;
		rc = ch->add ? forwards_add_begin(fw, ch, msg, sizeof(msg)) :
		    forwards_remove_begin(fw, ch, msg, sizeof(msg));
		if (rc == FORWARDS_OK && (fw->save_job = job_start(
		    forwards_save, ch, forwards_change_free)) == NULL) {
			snprintf(msg, sizeof(msg), "cannot start a thread to "
			    "save the forward");
			rc = FORWARDS_FAILED;
		}
		if (rc != FORWARDS_OK) {
			forwards_answer(ch, rc, msg);
			forwards_change_free(ch);
			continue;
		}
		fw->saving = ch;
	}
}

struct forwards_change *
forwards_submit(struct forwards *fw, bool add, const struct config_forward *f,
    const char *name, forwards_done_fn *done, void *arg)
{
	struct forwards_change *ch, **p;

	if ((ch = calloc(1, sizeof(*ch))) == NULL) {
		done(arg, FORWARDS_FAILED, "out of memory");
		return NULL;
	}
	ch->add = add;
	if (add)
		ch->f = *f;
	str_copy(ch->name, add ? f->name : name, sizeof(ch->name));
	ch->done = done;
	ch->arg = arg;
	for (p = &fw->queue; *p != NULL; p = &(*p)->next)
		;
	*p = ch;
	forwards_next(fw);
	/* Answered already: the handle is gone. */
	if (ch != fw->saving) {
		for (p = &fw->queue; *p != NULL; p = &(*p)->next)
			if (*p == ch)
				return ch;
		return NULL;
	}
	return ch;
}

void
forwards_cancel(struct forwards *fw, struct forwards_change *ch)
{
	struct forwards_change **p;

	if (ch == NULL)
		return;
	if (ch == fw->saving) {
		/* Applied all the same. */
		ch->done = NULL;
		return;
	}
	for (p = &fw->queue; *p != NULL; p = &(*p)->next) {
		if (*p == ch) {
			*p = ch->next;
			forwards_change_free(ch);
			return;
		}
	}
}

/* A task of the mapper thread for what the router holds as m or f. */
static void
forwards_task(struct task *t, enum task_op op, const char *name,
    uint16_t ext, uint16_t in, enum pm_proto proto)
{
	t->op = op;
	str_copy(t->name, name, sizeof(t->name));
	t->spec.ext = ext;
	t->spec.in = in;
	t->spec.in_given = 1;
	t->spec.proto = proto;
}

size_t
forwards_tasks(const struct forwards *fw, struct task *t, int64_t now,
    bool verify, uint32_t lease)
{
	const struct state_mapping *m;
	const struct fwd *f;
	size_t i, n = 0;

	for (i = 0; i < fw->nclosing && now >= fw->closing_at; i++) {
		m = &fw->closing[i];
		forwards_task(&t[n++], TASK_CLOSE, m->name, m->ext, m->in,
		    m->proto);
	}
	for (i = 0; i < fw->nfwd; i++) {
		f = &fw->fwd[i];
		/* family = 6: its pinhole is pinholes.c's. */
		if (!config_forward_v4(&f->cfg))
			continue;
		if (now < f->refresh_at && !(verify && f->state == FWD_ACTIVE))
			continue;
		/*
		 * A permanent UPnP forward (the router grants no lease) is
		 * only looked at when due: asking for it again would be
		 * refused with a lease and granted without, twice the work.
		 */
		forwards_task(&t[n], now >= f->refresh_at &&
		    !forwards_permanent(f) ? TASK_OPEN : TASK_VERIFY,
		    f->cfg.name, f->cfg.ext, f->cfg.in, f->cfg.proto);
		t[n++].lease = lease;
	}
	return n;
}

/* Jitter of +-10 % so that many forwards do not refresh in lockstep. */
static int64_t
forwards_jitter(int64_t ms)
{
	int64_t span = ms / 5;

	if (span <= 0)
		return ms;
	return ms - span / 2 + (int64_t)(random() % (span + 1));
}

void
forwards_state(const struct fwd *f, const char *ip, uint32_t lease,
    struct state_mapping *sm)
{
	memset(sm, 0, sizeof(*sm));
	str_copy(sm->name, f->cfg.name, sizeof(sm->name));
	sm->proto = f->cfg.proto;
	sm->ext = f->cfg.ext;
	sm->in = f->cfg.in;
	str_copy(sm->internal_ip, ip, sizeof(sm->internal_ip));
	sm->method = f->method;
	sm->expires = lease != 0 ? (int64_t)time(NULL) + lease : 0;
}

size_t
forwards_write_ahead(const struct forwards *fw, struct state *st,
    const struct task *t, size_t n, const char *ip, enum pm_method method)
{
	const struct state_mapping *o;
	struct state_mapping sm;
	const struct fwd *f;
	size_t i, added = 0;

	for (i = 0; i < n; i++) {
		if (t[i].op != TASK_OPEN ||
		    (f = forwards_find(fw, t[i].name)) == NULL)
			continue;
		o = state_find(st, f->cfg.name);
		if (o != NULL && o->ext == f->cfg.ext && o->in == f->cfg.in &&
		    o->proto == f->cfg.proto)
			continue;
		forwards_state(f, ip, t[i].lease, &sm);
		/* Which protocol will serve is the round's to find out. */
		if (sm.method != PM_UPNP && sm.method != PM_NATPMP)
			sm.method = method == PM_NATPMP ? PM_NATPMP : PM_UPNP;
		if (state_put(st, &sm) == 0)
			added++;
	}
	return added;
}

bool
forwards_permanent(const struct fwd *f)
{
	return f->lease == 0 && f->method == PM_UPNP &&
	    f->state == FWD_ACTIVE;
}

void
forwards_retry_failed(struct forwards *fw, int64_t now)
{
	size_t i;

	for (i = 0; i < fw->nfwd; i++) {
		struct fwd *f = &fw->fwd[i];

		if (f->state == FWD_FAILED && f->refresh_at > now)
			f->refresh_at = now;
	}
}

void
forwards_verified(struct fwd *f, uint32_t default_lease, int64_t now)
{
	if (forwards_permanent(f) && now >= f->refresh_at)
		f->refresh_at = now + forwards_jitter((int64_t)default_lease *
		    500);
}

bool
forwards_failed(struct fwd *f, const struct pm_error *err, int64_t now,
    bool gone, const char *prev_internal)
{
	int64_t backoff = FORWARDS_RETRY_MIN_MS <<
	    (f->failures < 5 ? f->failures : 5);
	struct pm_error msg;
	bool changed = f->state != FWD_FAILED ||
	    strcmp(f->error, err->msg) != 0;

	if (backoff > FORWARDS_RETRY_MAX_MS)
		backoff = FORWARDS_RETRY_MAX_MS;
	f->failures++;
	f->refresh_at = now + forwards_jitter(backoff);
	/*
	 * After this host's address changed, the router usually still holds
	 * the forward for the old address, and neither protocol lets us remove
	 * it from the new one (miniupnpd answers 606).  Say so plainly.
	 */
	if (err->code == PME_CONFLICT && prev_internal[0] != '\0' &&
	    strstr(err->msg, prev_internal) != NULL) {
		snprintf(msg.msg, sizeof(msg.msg), "port %u/%s still points at "
		    "this host's old address %s; the router keeps it until its "
		    "lease runs out, and portkeeperd re-points the forward then",
		    f->cfg.ext, portspec_proto_str(f->cfg.proto), prev_internal);
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
		return false;
	}
	f->state = FWD_FAILED;
	return changed;
}

enum fwd_state
forwards_done(struct fwd *f, enum pm_method method, uint32_t lease,
    uint32_t default_lease, int64_t now)
{
	enum fwd_state was = f->state;

	f->state = FWD_ACTIVE;
	f->failures = 0;
	f->error[0] = '\0';
	f->method = method;
	f->lease = lease;
	f->last_refresh = (int64_t)time(NULL);
	f->expires_at = lease != 0 ? now + (int64_t)lease * 1000 : 0;
	/* Refresh at half the lease (RFC 6886 section 3.7 suggests so too). */
	f->refresh_at = now + forwards_jitter((int64_t)(lease != 0 ? lease :
	    default_lease) * 500);
	f->made = true;
	return was;
}

int
forwards_fd(const struct forwards *fw)
{
	return fw->save_job != NULL ? job_fd(fw->save_job) : -1;
}

/* The save ended: applies it and answers its submitter. */
static int
forwards_reap(struct forwards *fw)
{
	struct forwards_change *ch = fw->saving;
	enum forwards_rc rc;
	char msg[FORWARDS_MSG_MAX] = "";

	rc = forwards_commit(fw, ch, msg, sizeof(msg));
	fw->saving = NULL;
	forwards_answer(ch, rc, msg);
	job_release(fw->save_job);
	fw->save_job = NULL;
	return rc == FORWARDS_OK;
}

int
forwards_run(struct forwards *fw)
{
	int n = 0;

	if (fw->save_job != NULL && job_done(fw->save_job))
		n = forwards_reap(fw);
	forwards_next(fw);
	return n;
}

void
forwards_stop(struct forwards *fw, int64_t deadline)
{
	struct forwards_change *ch;

	fw->stopping = true;
	if (fw->save_job != NULL) {
		if (job_wait(fw->save_job, deadline) == 0)
			(void)forwards_reap(fw);
		else {
			/* The disk outlasted the wait. */
			ch = fw->saving;
			if (ch->done != NULL)
				ch->done(ch->arg, FORWARDS_STOPPING,
				    "portkeeperd is stopping while the disk "
				    "is still saving the change; it applies "
				    "at the next start if it was saved");
			ch->done = NULL;
			fw->saving = NULL;
			job_release(fw->save_job);
			fw->save_job = NULL;
		}
	}
	while ((ch = fw->queue) != NULL) {
		fw->queue = ch->next;
		forwards_answer(ch, FORWARDS_STOPPING,
		    "portkeeperd is stopping");
		forwards_change_free(ch);
	}
}
