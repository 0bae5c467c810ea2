/*
 * The web process's side of the channel (webproxy.h).  An answer's
 * strings are copies kept with the request until it ends, since the
 * response libmicrohttpd builds from them is built after the wake.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chan.h"
#include "log.h"
#include "webproxy.h"


struct wp_req {
	uint32_t		 id;
	struct api_request	*q;
	bool			 answered;
	unsigned		 status;	/* 0: close */
	bool			 stream;
	char			*s[CHAN_RS_N];	/* the answer's strings */
	size_t			 body_len;
	struct wp_req		*next;
};

struct webproxy {
	struct chan		 ch;
	struct sse_set		*sse;
	uint32_t		 next_id;
	struct wp_req		*reqs;
	size_t			 nreqs;
	bool			 gone;
};

struct webproxy *
webproxy_new(int fd, struct sse_set *sse)
{
	struct webproxy *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	chan_init(&p->ch, fd);
	p->sse = sse;
	p->next_id = 1;
	return p;
}

static void
wp_req_free(struct webproxy *p, struct wp_req *r)
{
	struct wp_req **pp;
	int i;

	for (pp = &p->reqs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			p->nreqs--;
			break;
		}
	}
	for (i = 0; i < CHAN_RS_N; i++)
		free(r->s[i]);
	free(r);
}

void
webproxy_free(struct webproxy *p)
{
	if (p == NULL)
		return;
	while (p->reqs != NULL)
		wp_req_free(p, p->reqs);
	chan_close(&p->ch);
	free(p);
}

static void
wp_send(struct webproxy *p, const struct chan_msg *m)
{
	if (!p->gone && chan_send(&p->ch, m) == -1) {
		log_warnx("web: cannot reach portkeeperd: %s", strerror(errno));
		p->gone = true;
	}
}

void
webproxy_ready(struct webproxy *p)
{
	struct chan_msg m;

	memset(&m, 0, sizeof(m));
	m.type = CHAN_READY;
	wp_send(p, &m);
}

static struct wp_req *
wp_find(struct webproxy *p, const struct api_request *q)
{
	struct wp_req *r;

	for (r = p->reqs; r != NULL; r = r->next)
		if (r->q == q)
			return r;
	return NULL;
}

static struct wp_req *
wp_find_id(struct webproxy *p, uint32_t id)
{
	struct wp_req *r;

	for (r = p->reqs; r != NULL; r = r->next)
		if (r->id == id)
			return r;
	return NULL;
}

/* A request header the core reads, for the channel. */
static const char *
wp_header(const struct api_request *q, const char *name)
{
	return q->header != NULL ? q->header(q->ctx, name) : NULL;
}

static int
wp_send_req(struct webproxy *p, struct wp_req *r, const struct api_request *q)
{
	struct chan_msg m;

	memset(&m, 0, sizeof(m));
	m.type = CHAN_REQ;
	m.id = r->id;
	m.num = (q->web ? CHAN_RQ_WEB : 0) |
	    (q->read_only ? CHAN_RQ_READ_ONLY : 0) |
	    (q->too_large ? CHAN_RQ_TOO_LARGE : 0);
	chan_set(&m, CHAN_RQ_METHOD, q->method);
	chan_set(&m, CHAN_RQ_URL, q->url);
	m.f[CHAN_RQ_BODY].p = q->body != NULL ? q->body : "";
	m.f[CHAN_RQ_BODY].len = q->body != NULL ? (uint32_t)q->len : 0;
	chan_set(&m, CHAN_RQ_ORIGIN, wp_header(q, "Origin"));
	chan_set(&m, CHAN_RQ_HOST, wp_header(q, "Host"));
	chan_set(&m, CHAN_RQ_FETCH_SITE, wp_header(q, "Sec-Fetch-Site"));
	chan_set(&m, CHAN_RQ_CONTENT_TYPE, wp_header(q, "Content-Type"));
	chan_set(&m, CHAN_RQ_CONTENT_LENGTH, wp_header(q, "Content-Length"));
	chan_set(&m, CHAN_RQ_IF_NONE_MATCH, wp_header(q, "If-None-Match"));
	chan_set(&m, CHAN_RQ_LAST_EVENT_ID, wp_header(q, "Last-Event-ID"));
	m.n = CHAN_RQ_N;
	wp_send(p, &m);
	return p->gone ? -1 : 0;
}

/* The answer to a request the daemon can no longer give. */
static enum api_rc
wp_stopping(struct api_response *r)
{
	return api_error(r, 503, "stopping", "portkeeperd is stopping");
}

enum api_rc
webproxy_handle(struct webproxy *p, struct api_request *q,
    struct api_response *ar)
{
	struct wp_req *r;

	if ((r = wp_find(p, q)) == NULL) {
		if (p->gone)
			return wp_stopping(ar);
		if ((r = calloc(1, sizeof(*r))) == NULL)
			return API_CLOSE;
		r->id = p->next_id++;
		if (p->next_id == 0)
			p->next_id = 1;
		r->q = q;
		r->next = p->reqs;
		p->reqs = r;
		p->nreqs++;
		if (wp_send_req(p, r, q) == -1)
			return wp_stopping(ar);
		return API_WAIT;
	}
	if (!r->answered)
		return p->gone ? wp_stopping(ar) : API_WAIT;
	if (r->status == 0)
		return API_CLOSE;
	ar->status = r->status;
	ar->type = r->s[CHAN_RS_TYPE];
	/* The body goes to libmicrohttpd, which frees it. */
	ar->body = r->s[CHAN_RS_BODY];
	r->s[CHAN_RS_BODY] = NULL;
	ar->len = r->body_len;
	ar->etag = r->s[CHAN_RS_ETAG];
	ar->cache = r->s[CHAN_RS_CACHE];
	ar->hname = r->s[CHAN_RS_HNAME];
	ar->hvalue = r->s[CHAN_RS_HVALUE];
	ar->stream = r->stream;
	if (ar->stream) {
		free(ar->body);
		ar->body = NULL;
		ar->len = 0;
	}
	return API_ANSWER;
}

uint32_t
webproxy_id(struct webproxy *p, const struct api_request *q)
{
	struct wp_req *r = wp_find(p, q);

	return r != NULL ? r->id : 0;
}

void
webproxy_done(struct webproxy *p, struct api_request *q)
{
	struct chan_msg m;
	struct wp_req *r;

	if ((r = wp_find(p, q)) == NULL)
		return;
	memset(&m, 0, sizeof(m));
	m.type = CHAN_DONE;
	m.id = r->id;
	wp_send(p, &m);
	wp_req_free(p, r);
}

void
webproxy_pull(struct webproxy *p, uint32_t id)
{
	struct chan_msg m;

	memset(&m, 0, sizeof(m));
	m.type = CHAN_PULL;
	m.id = id;
	wp_send(p, &m);
}

int
webproxy_fd(const struct webproxy *p)
{
	return p != NULL && !p->gone ? p->ch.fd : -1;
}

bool
webproxy_want_write(const struct webproxy *p)
{
	return p != NULL && !p->gone && chan_want_write(&p->ch);
}

bool
webproxy_gone(const struct webproxy *p)
{
	return p->gone;
}

size_t
webproxy_pending(const struct webproxy *p)
{
	return p->nreqs;
}

/* The daemon's answer to r. */
static int
wp_answer(struct webproxy *p, const struct chan_msg *m)
{
	struct wp_req *r;
	int i;

	if (m->n < CHAN_RS_N)
		return -1;
	/* A request that ended meanwhile: its DONE is on its way. */
	if ((r = wp_find_id(p, m->id)) == NULL || r->answered)
		return 0;
	r->status = m->num & 0xffff;
	r->stream = (m->num & CHAN_RS_STREAM) != 0;
	for (i = 0; i < CHAN_RS_N; i++)
		if (m->f[i].p != NULL &&
		    (r->s[i] = chan_strdup(&m->f[i])) == NULL)
			r->status = 0;
	r->body_len = m->f[CHAN_RS_BODY].p != NULL ?
	    m->f[CHAN_RS_BODY].len : 0;
	if (r->status != 0 && (r->status < 100 || r->status > 599))
		return -1;
	r->answered = true;
	r->q->wake(r->q->ctx);
	return 0;
}

/* The daemon is gone: what waits for it is answered so. */
static void
wp_lost(struct webproxy *p)
{
	struct wp_req *r;

	if (!p->gone)
		log_debug("web: portkeeperd closed the channel");
	p->gone = true;
	for (r = p->reqs; r != NULL; r = r->next)
		if (!r->answered)
			r->q->wake(r->q->ctx);
	sse_end_all(p->sse);
}

/* One message from the daemon; -1 for one that breaks the protocol. */
static int
wp_dispatch(struct webproxy *p, const struct chan_msg *m)
{
	switch (m->type) {
	case CHAN_RESP:
		return wp_answer(p, m);
	case CHAN_DATA:
		if (m->n != 1 || m->f[0].p == NULL)
			return -1;
		/* Out of memory ends that stream alone. */
		sse_data(p->sse, m->id, m->f[0].p, m->f[0].len);
		return 0;
	case CHAN_END:
		sse_end(p->sse, m->id);
		return 0;
	default:
		return -1;
	}
}

void
webproxy_run(struct webproxy *p)
{
	struct chan_msg m;
	int rc = 0, got;

	if (p->gone)
		return;
	while (rc != -1 && (got = chan_read(&p->ch)) == 1)
		while (rc != -1 && (rc = chan_next(&p->ch, &m)) == 1)
			rc = wp_dispatch(p, &m);
	if (rc == -1)
		log_warnx("web: a malformed message from portkeeperd");
	if (rc == -1 || got == -1 || chan_flush(&p->ch) == -1)
		wp_lost(p);
}
