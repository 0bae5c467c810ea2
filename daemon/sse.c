/*
 * Event streams over libmicrohttpd (sse.h).  A stream whose bytes are all
 * sent asks the daemon for more once, and parks its connection until they
 * come (sse_data) or the stream ends (sse_end).
 */
#include <stdlib.h>
#include <string.h>

#include "sse.h"

struct sse {
	struct sse_set		*set;
	struct MHD_Connection	*c;
	uint32_t		 id;
	bool			 suspended;
	bool			 asked;		/* for more, not come yet */
	bool			 ended;
	char			*buf;
	size_t			 len, off;
	struct sse		*next;
};

void
sse_init(struct sse_set *set, void (*pull)(void *, uint32_t), void *arg)
{
	memset(set, 0, sizeof(*set));
	set->pull = pull;
	set->pull_arg = arg;
}

static struct sse *
sse_find(struct sse_set *set, uint32_t id)
{
	struct sse *s;

	for (s = set->head; s != NULL; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

static void
sse_resume(struct sse *s)
{
	if (s->suspended) {
		s->suspended = false;
		MHD_resume_connection(s->c);
	}
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
		if (s->ended || s->set->stopping)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (!s->asked) {
			s->asked = true;
			s->set->pull(s->set->pull_arg, s->id);
		}
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
sse_open(struct sse_set *set, struct MHD_Connection *c, uint32_t id,
    bool *full)
{
	struct MHD_Response *r;
	struct sse *s;

	*full = set->n >= SSE_MAX || set->stopping;
	if (*full || (s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->set = set;
	s->c = c;
	s->id = id;
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

int
sse_data(struct sse_set *set, uint32_t id, const char *p, size_t len)
{
	struct sse *s;
	char *nb;

	if ((s = sse_find(set, id)) == NULL)
		return 0;
	s->asked = false;
	if ((nb = realloc(s->buf, s->len + len)) == NULL) {
		s->ended = true;
		sse_resume(s);
		return -1;
	}
	memcpy(nb + s->len, p, len);
	s->buf = nb;
	s->len += len;
	sse_resume(s);
	return 0;
}

void
sse_end(struct sse_set *set, uint32_t id)
{
	struct sse *s;

	if ((s = sse_find(set, id)) != NULL) {
		s->ended = true;
		sse_resume(s);
	}
}

void
sse_end_all(struct sse_set *set)
{
	struct sse *s;

	set->stopping = true;
	for (s = set->head; s != NULL; s = s->next)
		sse_resume(s);
}

size_t
sse_count(const struct sse_set *set)
{
	return set->n;
}
