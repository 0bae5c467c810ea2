/*
 * The web API's core (docs/api.md): its handlers, which read and change
 * the forwards; routing and the checks of a request's headers, which need
 * no daemon state, are in api_check.c.  Nothing here knows HTTP's
 * transport: a request comes as a struct
 * api_request, its answer goes back as a struct api_response, and a
 * request that must wait is woken through its wake() callback.  That is
 * what lets tests/unit/test_api.c call every route without a socket.
 *
 * Writes of forwards go to forwards.c, which saves forwards.conf on a
 * thread and answers once it is on disk; a diagnosis runs on a thread of
 * its own.  Neither blocks the loop.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "api.h"
#include "api_impl.h"
#include "doctor.h"
#include "doctor6.h"
#include "job.h"
#include "util.h"
#include "webapi.h"

/* How long a diagnosis may take to stop when the daemon does. */
#define API_DOCTOR_STOP_MS	3000

/* The doctor run in flight, on its own thread. */
struct api_doctor {
	struct doctor_opts	 opts;
	struct config_forward	 fwd;
	char			 probe[256];
	volatile sig_atomic_t	 stop;
	struct doctor_report	 r;
	/*
	 * IPv6's run, beside IPv4's on the same thread.  cfg is a copy of
	 * the running configuration without its forwards (a reload may free
	 * them meanwhile): one port's run reads only opts.forward of them.
	 */
	struct config		 cfg;
	int			 family;	/* 6: IPv6 alone */
	struct doctor6_call	 c6;
};

struct api {
	const struct config	*cfg;
	struct forwards		*fw;
	struct status		*st;
	struct job		*doc_job;
	struct api_doctor	*doc;
	struct api_request	*doc_req;	/* waits for it; NULL: left */
	bool			 stopping;
};

struct api *
api_new(const struct config *cfg, struct forwards *fw, struct status *st)
{
	struct api *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->cfg = cfg;
	a->fw = fw;
	a->st = st;
	return a;
}

void
api_free(struct api *a)
{
	if (a == NULL)
		return;
	if (a->doc_job != NULL)
		job_release(a->doc_job);
	free(a);
}

/* Handlers. */

static enum api_rc
api_get_forward(struct api *a, struct api_request *q, struct api_response *r)
{
	struct fwd *f;
	cJSON *x;

	if ((f = forwards_find(a->fw, q->name)) != NULL) {
		x = status_forward_json(f, mono_ms());
		status_forward_ipv6(a->st, x, f->cfg.name, mono_ms());
		return api_reply_json(r, API_OK, x, NULL, NULL);
	}
	return api_error(r, API_NOT_FOUND, "not_found",
	    "there is no forward named \"%s\"", q->name);
}

static enum api_rc
api_get_forwards(struct api *a, struct api_response *r)
{
	cJSON *o = cJSON_CreateObject(), *arr, *x;
	int64_t now = mono_ms();
	size_t i;

	arr = cJSON_AddArrayToObject(o, "forwards");
	for (i = 0; i < a->fw->nfwd; i++) {
		x = status_forward_json(&a->fw->fwd[i], now);
		status_forward_ipv6(a->st, x, a->fw->fwd[i].cfg.name, now);
		cJSON_AddItemToArray(arr, x);
	}
	return api_reply_json(r, API_OK, o, NULL, NULL);
}

/* The HTTP status for a body webapi refused. */
static unsigned
api_body_status(const struct webapi_error *err)
{
	if (strcmp(err->code, "too_large") == 0)
		return API_TOO_LARGE;
	if (strcmp(err->code, "internal") == 0)
		return API_INTERNAL;
	return API_BAD_REQUEST;
}

/* The 201 of a forward just added: the forward as GET shows it. */
static enum api_rc
api_forward_created(struct api *a, struct api_request *q,
    struct api_response *r)
{
	struct fwd *f;

	if ((f = forwards_find(a->fw, q->name)) == NULL)
		return api_error(r, API_INTERNAL, "internal",
		    "the forward was saved but is not running");
	snprintf(r->hbuf, sizeof(r->hbuf), "/api/forwards/%s", q->name);
	return api_reply_json(r, API_CREATED, status_forward_json(f,
	    mono_ms()), "Location", r->hbuf);
}

static enum api_rc
api_change_refused(struct api_response *r, enum forwards_rc rc,
    const char *msg)
{
	switch (rc) {
	case FORWARDS_CONFLICT:
		return api_error(r, API_CONFLICT, "conflict", "%s", msg);
	case FORWARDS_NOT_FOUND:
		return api_error(r, API_NOT_FOUND, "not_found", "%s", msg);
	case FORWARDS_READ_ONLY:
		return api_error(r, API_CONFLICT, "read_only", "%s", msg);
	case FORWARDS_STOPPING:
		return api_error(r, API_UNAVAILABLE, "stopping", "%s", msg);
	default:
		return api_error(r, API_INTERNAL, "internal", "%s", msg);
	}
}

/* Wakes q if it waits. */
static void
api_wake(struct api_request *q)
{
	if (q->waiting) {
		q->waiting = false;
		q->wake(q->ctx);
	}
}

/* forwards.c's answer to q's change (a forwards_done_fn). */
static void
api_change_done(void *arg, enum forwards_rc rc, const char *msg)
{
	struct api_request *q = arg;

	q->change = NULL;
	q->change_rc = rc;
	str_copy(q->change_msg, msg != NULL ? msg : "", sizeof(q->change_msg));
	q->change_answered = true;
	api_wake(q);
}

/* The answer to a change, once it is on disk or refused. */
static enum api_rc
api_change_reply(struct api *a, struct api_request *q,
    struct api_response *r)
{
	if (q->change_rc != FORWARDS_OK)
		return api_change_refused(r, q->change_rc, q->change_msg);
	return q->route == API_R_FORWARDS ? api_forward_created(a, q, r) :
	    api_reply_empty(r, API_NO_CONTENT, NULL);
}

/*
 * Submits q's change of the API's forwards (f, or the removal of q->name),
 * and waits for it unless it was answered at once.
 */
static enum api_rc
api_change(struct api *a, struct api_request *q, struct api_response *r,
    const struct config_forward *f)
{
	if (a->stopping)
		return api_stopping_error(r);
	q->change = forwards_submit(a->fw, f != NULL, f, q->name,
	    api_change_done, q);
	if (q->change_answered)
		return api_change_reply(a, q, r);
	q->waiting = true;
	return API_WAIT;
}

static enum api_rc
api_post_forward(struct api *a, struct api_request *q,
    struct api_response *r)
{
	struct config_forward f;
	struct webapi_error err;

	if (webapi_parse_forward(q->body, q->len, &f, &err) == -1)
		return api_error(r, api_body_status(&err), err.code, "%s",
		    err.msg);
	str_copy(q->name, f.name, sizeof(q->name));
	return api_change(a, q, r, &f);
}

/*
 * The diagnosis of both families, as portkeeper doctor does it: IPv6's
 * unless the forward is kept over IPv4 alone, IPv4's unless over IPv6
 * alone.  One after the other: each step has a deadline of its own.
 */
static void
api_doctor_run(void *arg)
{
	struct api_doctor *r = arg;

	if (r->family != 4)
		doctor6_job(&r->c6);
	if (r->family != 6)
		doctor_run(&r->opts, &r->r);
	else
		doctor6_skip_v4(&r->r, r->opts.spec.ext, r->opts.spec.proto,
		    "the forward is kept over IPv6 alone");
}

/* The diagnosis of port/proto, as the configuration says to reach it. */
static struct api_doctor *
api_doctor_new(struct api *a, uint16_t port, enum pm_proto proto)
{
	struct api_doctor *r;
	size_t i;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->opts.spec.ext = port;
	r->opts.spec.in = port;
	r->opts.spec.proto = proto;
	r->opts.via = a->cfg->method;
	r->opts.timeout_ms = 2000;
	str_copy(r->probe, a->cfg->probe, sizeof(r->probe));
	r->opts.probe_url = r->probe;
	r->opts.stop = &r->stop;
	/* A forward of this port says which internal port is meant. */
	for (i = 0; i < a->fw->nfwd; i++) {
		const struct config_forward *c = &a->fw->fwd[i].cfg;

		if (c->ext == port && c->proto == proto) {
			r->fwd = *c;
			r->opts.forward = &r->fwd;
			r->opts.spec.in = r->fwd.in;
			r->opts.spec.in_given = 1;
			r->opts.internal_given = true;
			r->family = !config_forward_v4(c) ? 6 :
			    !config_forward_v6(c) ? 4 : 0;
		}
	}
	r->cfg = *a->cfg;
	r->cfg.fwd = NULL;
	r->cfg.nfwd = 0;
	if (r->family != 4)
		doctor6_opts_from(&r->c6.o, &r->opts, &r->cfg, r->family);
	return r;
}

static enum api_rc
api_post_doctor(struct api *a, struct api_request *q, struct api_response *r)
{
	struct webapi_error err;
	struct api_doctor *d;
	uint16_t port;
	enum pm_proto proto;

	if (webapi_parse_doctor(q->body, q->len, &port, &proto, &err) == -1)
		return api_error(r, api_body_status(&err), err.code, "%s",
		    err.msg);
	if (a->doc_job != NULL)
		return api_error(r, API_CONFLICT, "busy", "a diagnosis is "
		    "already running; try again in a few seconds");
	/* Nothing may wait when the transport stops. */
	if (a->stopping)
		return api_stopping_error(r);
	if ((d = api_doctor_new(a, port, proto)) == NULL)
		return API_CLOSE;
	if ((a->doc_job = job_start(api_doctor_run, d, free)) == NULL) {
		free(d);
		return api_error(r, API_INTERNAL, "internal",
		    "cannot start a thread for the diagnosis");
	}
	a->doc = d;
	a->doc_req = q;
	q->doctor = true;
	q->waiting = true;
	return API_WAIT;
}

/* The report of both families, as portkeeper doctor --json gives it. */
static cJSON *
api_doctor_json(struct api_doctor *d)
{
	const char *verdict;
	char summary[2560];
	cJSON *obj;

	obj = doctor_report_json(&d->r);
	if (d->family == 4)
		return obj;
	verdict = doctor6_words(d->family != 6 ? &d->r : NULL, &d->c6.r,
	    summary, sizeof(summary));
	doctor6_json_both(obj, verdict, summary, d->family == 6 ? "skipped" :
	    doctor_verdict_str(d->r.verdict), doctor6_report_json(&d->c6.r));
	return obj;
}

/* The doctor's thread has finished, or we stop: answer its request. */
static enum api_rc
api_doctor_done(struct api *a, struct api_request *q, struct api_response *r)
{
	enum api_rc rc;

	q->doctor = false;
	if (a->stopping)
		rc = api_stopping_error(r);
	else
		rc = api_reply_json(r, API_OK, api_doctor_json(a->doc), NULL,
		    NULL);
	job_release(a->doc_job);
	a->doc_job = NULL;
	a->doc = NULL;
	a->doc_req = NULL;
	return rc;
}

/* GET and HEAD /api/events: the transport opens the stream. */
static enum api_rc
api_get_events(struct api_request *q, struct api_response *r)
{
	r->status = API_OK;
	r->type = "text/event-stream";
	r->stream = strcmp(q->method, "HEAD") != 0;
	return API_ANSWER;
}

static enum api_rc
api_get_metrics(struct api *a, struct api_response *r)
{
	if ((r->body = status_metrics(a->st, &r->len)) == NULL)
		return API_CLOSE;
	r->status = API_OK;
	r->type = "text/plain; version=0.0.4; charset=utf-8";
	r->cache = "no-store";
	return API_ANSWER;
}

static enum api_rc
api_get_asset(struct api_request *q, struct api_response *r)
{
	const struct asset *as = q->asset;
	const char *inm = api_header(q, "If-None-Match");
	bool same = inm != NULL && strstr(inm, as->etag) != NULL;

	r->status = same ? API_NOT_MODIFIED : API_OK;
	r->type = as->type;
	r->data = as->data;
	r->len = same ? 0 : as->len;
	r->etag = as->etag;
	/* Revalidate every time: the ETag makes that a 304. */
	r->cache = "no-cache";
	return API_ANSWER;
}

static enum api_rc
api_dispatch(struct api *a, struct api_request *q, struct api_response *r)
{
	bool get = strcmp(q->method, "GET") == 0 ||
	    strcmp(q->method, "HEAD") == 0;
	const char *s;

	if (q->too_large)
		return api_error(r, API_TOO_LARGE, "too_large",
		    "the body is larger than 16 KiB");
	switch (q->route) {
	case API_R_HEALTH:
		return api_reply(r, API_OK, strdup("{\"ok\":true}"), NULL,
		    NULL);
	case API_R_STATUS:
		s = status_json_cached(a->st);
		return api_reply(r, API_OK, s != NULL ? strdup(s) : NULL, NULL,
		    NULL);
	case API_R_FORWARDS:
		return get ? api_get_forwards(a, r) :
		    api_post_forward(a, q, r);
	case API_R_FORWARD:
		return get ? api_get_forward(a, q, r) :
		    api_change(a, q, r, NULL);
	case API_R_DOCTOR:
		return api_post_doctor(a, q, r);
	case API_R_EVENTS:
		return api_get_events(q, r);
	case API_R_METRICS:
		return api_get_metrics(a, r);
	case API_R_ASSET:
		return api_get_asset(q, r);
	case API_R_NONE:
		break;
	}
	return api_error(r, API_NOT_FOUND, "not_found", "no such resource");
}

enum api_rc
api_handle(struct api *a, struct api_request *q, struct api_response *r)
{
	if (q->change != NULL || q->change_answered) {
		if (q->change_answered)
			return api_change_reply(a, q, r);
		/* Not for us: keep waiting. */
		q->waiting = true;
		return API_WAIT;
	}
	if (q->doctor) {
		/* Stopping: answer now, or the daemon could not stop. */
		if (a->doc_job != NULL && a->doc_req == q &&
		    (job_done(a->doc_job) || a->stopping))
			return api_doctor_done(a, q, r);
		q->waiting = true;
		return API_WAIT;
	}
	return api_dispatch(a, q, r);
}

void
api_request_done(struct api *a, struct api_request *q)
{
	/* The client left while the doctor ran: nobody waits for it now. */
	if (q->doctor && a->doc_req == q)
		a->doc_req = NULL;
	/* Nor for its change, which is applied all the same if saving. */
	if (q->change != NULL)
		forwards_cancel(a->fw, q->change);
	q->change = NULL;
	q->waiting = false;
}

int
api_fd(const struct api *a)
{
	return a->doc_job != NULL ? job_fd(a->doc_job) : -1;
}

void
api_run(struct api *a)
{
	if (a->doc_job == NULL || !job_done(a->doc_job))
		return;
	if (a->doc_req != NULL) {
		api_wake(a->doc_req);
		return;
	}
	/* Its client left; nobody wants the report. */
	job_release(a->doc_job);
	a->doc_job = NULL;
	a->doc = NULL;
}

void
api_stop(struct api *a, int64_t deadline)
{
	int64_t now = mono_ms();

	a->stopping = true;
	if (a->doc != NULL)
		a->doc->stop = 1;
	if (a->doc_job != NULL)
		job_wait(a->doc_job, now + API_DOCTOR_STOP_MS);
	/* A change saved meanwhile is answered; the waiting are refused. */
	forwards_stop(a->fw, deadline);
	if (a->doc_req != NULL)
		api_wake(a->doc_req);
}

bool
api_stopping(const struct api *a)
{
	return a->stopping;
}
