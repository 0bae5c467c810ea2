/*
 * Event streams (HTML Living Standard, "Server-sent events"): "id:",
 * "event:" and "data:" lines, a blank line after each message.  A stream
 * is suspended whenever it has nothing to send, and resumed by sse_run
 * when an event came, the status changed or a keep-alive is due.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"
#include "util.h"

#define SSE_STATUS_MS		250	/* 4 status documents a second */
#define SSE_PING_MS		15000	/* keep-alive comment */

/* An event stream: suspended whenever it has nothing to send. */
struct sse {
	struct sse_set		*set;
	struct MHD_Connection	*c;
	bool			 suspended;
	uint64_t		 ev_seq;	/* the last event sent */
	uint64_t		 gen;		/* the status sent */
	bool			 sent_status;
	int64_t			 status_at;	/* when, monotonic ms */
	int64_t			 ping_at;
	char			*buf;
	size_t			 len, off;
	struct sse		*next;
};

void
sse_init(struct sse_set *set, struct status *st)
{
	memset(set, 0, sizeof(*set));
	set->st = st;
}

static int __attribute__((format(printf, 2, 3)))
sse_append(struct sse *s, const char *fmt, ...)
{
	va_list ap;
	char *t, *nb;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&t, fmt, ap);
	va_end(ap);
	if (n == -1)
		return -1;
	if (s->buf == NULL) {
		s->buf = t;
		s->len = (size_t)n;
		return 0;
	}
	if ((nb = realloc(s->buf, s->len + (size_t)n + 1)) == NULL) {
		free(t);
		return -1;
	}
	memcpy(nb + s->len, t, (size_t)n + 1);
	s->buf = nb;
	s->len += (size_t)n;
	free(t);
	return 0;
}

/* Whether the status document is due to s. */
static bool
sse_status_due(const struct sse *s)
{
	return !s->sent_status || s->gen != s->set->st->gen;
}

/* Whether s has something to send at now. */
static bool
sse_due(const struct sse *s, int64_t now)
{
	const struct eventlog *ev = &s->set->st->ev;
	size_t n = eventlog_count(ev);

	if (s->set->stopping || now >= s->ping_at)
		return true;
	if (n > 0 && eventlog_get(ev, n - 1)->seq > s->ev_seq)
		return true;
	return sse_status_due(s) && now >= s->status_at + SSE_STATUS_MS;
}

/* The events s has not sent, and the status if due. */
static void
sse_fill(struct sse *s, int64_t now)
{
	struct status *st = s->set->st;
	size_t i, n = eventlog_count(&st->ev);
	const char *doc;

	for (i = 0; i < n; i++) {
		const struct event *e = eventlog_get(&st->ev, i);
		cJSON *x;
		char *j;

		if (e->seq <= s->ev_seq)
			continue;
		x = status_event_json(e);
		j = cJSON_PrintUnformatted(x);
		cJSON_Delete(x);
		if (j == NULL || sse_append(s, "id: %llu\nevent: %s\ndata: %s"
		    "\n\n", (unsigned long long)e->seq,
		    eventlog_type_str(e->type), j) == -1) {
			free(j);
			return;
		}
		free(j);
		s->ev_seq = e->seq;
	}
	if (sse_status_due(s) && now >= s->status_at + SSE_STATUS_MS &&
	    (doc = status_json_cached(st)) != NULL &&
	    sse_append(s, "event: status\ndata: %s\n\n", doc) == 0) {
		s->gen = st->gen;
		s->sent_status = true;
		s->status_at = now;
	}
	if (s->len == 0 && now >= s->ping_at)
		sse_append(s, ": keep-alive\n\n");
	if (s->len > 0)
		s->ping_at = now + SSE_PING_MS;
}

/* libmicrohttpd's content reader. */
static ssize_t
sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct sse *s = cls;
	size_t n;

	(void)pos;
	if (s->off == s->len) {
		free(s->buf);
		s->buf = NULL;
		s->off = s->len = 0;
		if (s->set->stopping)
			return MHD_CONTENT_READER_END_OF_STREAM;
		sse_fill(s, mono_ms());
	}
	if (s->len == 0) {
		/* Nothing to say: park the connection until there is. */
		MHD_suspend_connection(s->c);
		s->suspended = true;
		return 0;
	}
	n = s->len - s->off < max ? s->len - s->off : max;
	memcpy(buf, s->buf + s->off, n);
	s->off += n;
	return (ssize_t)n;
}

static void
sse_free(void *cls)
{
	struct sse *s = cls, **pp;

	for (pp = &s->set->head; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			s->set->n--;
			break;
		}
	}
	free(s->buf);
	free(s);
}

struct MHD_Response *
sse_open(struct sse_set *set, struct MHD_Connection *c, const char *last,
    bool *full)
{
	struct MHD_Response *r;
	struct sse *s;
	unsigned long n;
	size_t ne = eventlog_count(&set->st->ev);

	*full = set->n >= SSE_MAX || set->stopping;
	if (*full || (s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->set = set;
	s->c = c;
	s->ping_at = mono_ms() + SSE_PING_MS;
	s->status_at = mono_ms() - SSE_STATUS_MS;
	/* A browser reconnecting says what it has seen. */
	if (last != NULL && parse_uint(last, 0, ULONG_MAX, &n) == 0)
		s->ev_seq = n;
	else if (ne > 0)
		s->ev_seq = eventlog_get(&set->st->ev, ne - 1)->seq;
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read,
	    s, sse_free);
	if (r == NULL) {
		free(s);
		return NULL;
	}
	s->next = set->head;
	set->head = s;
	set->n++;
	return r;
}

int64_t
sse_deadline(const struct sse_set *set, int64_t next)
{
	const struct sse *s;
	int64_t t;

	for (s = set->head; s != NULL; s = s->next) {
		if (!s->suspended)
			continue;
		t = s->ping_at;
		if (sse_status_due(s) && s->status_at + SSE_STATUS_MS < t)
			t = s->status_at + SSE_STATUS_MS;
		if (t < next)
			next = t;
	}
	return next;
}

void
sse_run(struct sse_set *set, int64_t now)
{
	struct sse *s;

	for (s = set->head; s != NULL; s = s->next) {
		if (s->suspended && sse_due(s, now)) {
			s->suspended = false;
			MHD_resume_connection(s->c);
		}
	}
}

void
sse_stop(struct sse_set *set)
{
	struct sse *s;

	set->stopping = true;
	for (s = set->head; s != NULL; s = s->next) {
		if (s->suspended) {
			s->suspended = false;
			MHD_resume_connection(s->c);
		}
	}
}
