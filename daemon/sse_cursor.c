/*
 * What an event stream says (HTML Living Standard, "Server-sent events"):
 * "id:", "event:" and "data:" lines, a blank line after each message; the
 * events of the event log in order, the status document at most
 * 1000 / SSE_STATUS_MS times a second when it changed, and a comment as a
 * keep-alive when nothing else was said for SSE_PING_MS.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sse_cursor.h"
#include "util.h"

static int __attribute__((format(printf, 3, 4)))
sse_cursor_append(char **buf, size_t *len, const char *fmt, ...)
{
	va_list ap;
	char *t, *nb;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&t, fmt, ap);
	va_end(ap);
	if (n == -1)
		return -1;
	if (*buf == NULL) {
		*buf = t;
		*len = (size_t)n;
		return 0;
	}
	if ((nb = realloc(*buf, *len + (size_t)n + 1)) == NULL) {
		free(t);
		return -1;
	}
	memcpy(nb + *len, t, (size_t)n + 1);
	*buf = nb;
	*len += (size_t)n;
	free(t);
	return 0;
}

void
sse_cursor_init(struct sse_cursor *c, const struct status *st,
    const char *last, int64_t now)
{
	size_t ne = eventlog_count(&st->ev);
	unsigned long n;

	memset(c, 0, sizeof(*c));
	c->ping_at = now + SSE_PING_MS;
	c->status_at = now - SSE_STATUS_MS;
	if (last != NULL && parse_uint(last, 0, ULONG_MAX, &n) == 0)
		c->ev_seq = n;
	else if (ne > 0)
		c->ev_seq = eventlog_get(&st->ev, ne - 1)->seq;
}

/* Whether the status document is due to c. */
static bool
sse_cursor_status_due(const struct sse_cursor *c, const struct status *st)
{
	return !c->sent_status || c->gen != st->gen;
}

bool
sse_cursor_due(const struct sse_cursor *c, const struct status *st,
    int64_t now)
{
	size_t n = eventlog_count(&st->ev);

	if (now >= c->ping_at)
		return true;
	if (n > 0 && eventlog_get(&st->ev, n - 1)->seq > c->ev_seq)
		return true;
	return sse_cursor_status_due(c, st) && now >= c->status_at +
	    SSE_STATUS_MS;
}

int64_t
sse_cursor_deadline(const struct sse_cursor *c, const struct status *st,
    int64_t next)
{
	int64_t t = c->ping_at;

	if (sse_cursor_status_due(c, st) && c->status_at + SSE_STATUS_MS < t)
		t = c->status_at + SSE_STATUS_MS;
	return t < next ? t : next;
}

void
sse_cursor_fill(struct sse_cursor *c, struct status *st, int64_t now,
    char **buf, size_t *len)
{
	size_t i, n = eventlog_count(&st->ev);
	const char *doc;

	for (i = 0; i < n; i++) {
		const struct event *e = eventlog_get(&st->ev, i);
		cJSON *x;
		char *j;

		if (e->seq <= c->ev_seq)
			continue;
		x = status_event_json(e);
		j = cJSON_PrintUnformatted(x);
		cJSON_Delete(x);
		if (j == NULL || sse_cursor_append(buf, len, "id: %llu\n"
		    "event: %s\ndata: %s\n\n", (unsigned long long)e->seq,
		    eventlog_type_str(e->type), j) == -1) {
			free(j);
			return;
		}
		free(j);
		c->ev_seq = e->seq;
	}
	if (sse_cursor_status_due(c, st) && now >= c->status_at +
	    SSE_STATUS_MS && (doc = status_json_cached(st)) != NULL &&
	    sse_cursor_append(buf, len, "event: status\ndata: %s\n\n",
	    doc) == 0) {
		c->gen = st->gen;
		c->sent_status = true;
		c->status_at = now;
	}
	if (*len == 0 && now >= c->ping_at)
		sse_cursor_append(buf, len, ": keep-alive\n\n");
	if (*len > 0)
		c->ping_at = now + SSE_PING_MS;
}
