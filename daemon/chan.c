/*
 * Framed messages between portkeeperd and portkeeperd-web (chan.h).  A
 * frame is checked field by field against its own length before anything
 * points into it: the other end is ours, but it parses what the LAN sends.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chan.h"

#define CHAN_READ_CHUNK	16384
#define CHAN_ABSENT	0xffffffffu

static void
put32(char *p, uint32_t v)
{
	p[0] = (char)(v >> 24);
	p[1] = (char)(v >> 16);
	p[2] = (char)(v >> 8);
	p[3] = (char)v;
}

static uint32_t
get32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 |
	    (uint32_t)u[2] << 8 | u[3];
}

void
chan_init(struct chan *c, int fd)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
}

void
chan_close(struct chan *c)
{
	if (c->fd != -1)
		close(c->fd);
	free(c->in);
	free(c->out);
	chan_init(c, -1);
}

/* Room for n more bytes in a buffer of which off bytes are spent. */
static int
chan_room(char **buf, size_t *len, size_t *off, size_t *cap, size_t n)
{
	size_t want;
	char *nb;

	if (*off > 0 && *off == *len)
		*off = *len = 0;
	if (*len + n <= *cap)
		return 0;
	if (*off > 0) {
		memmove(*buf, *buf + *off, *len - *off);
		*len -= *off;
		*off = 0;
		if (*len + n <= *cap)
			return 0;
	}
	want = *cap > 0 ? *cap : 4096;
	while (want < *len + n)
		want *= 2;
	if ((nb = realloc(*buf, want)) == NULL)
		return -1;
	*buf = nb;
	*cap = want;
	return 0;
}

int
chan_send(struct chan *c, const struct chan_msg *m)
{
	size_t total = 1 + 4 + 4 + 1, i;
	char *p;

	if (m->n > CHAN_FIELDS)
		return -1;
	for (i = 0; i < m->n; i++)
		total += 4 + (m->f[i].p != NULL ? m->f[i].len : 0);
	if (total > CHAN_FRAME_MAX)
		return -1;
	if (chan_room(&c->out, &c->out_len, &c->out_off, &c->out_cap,
	    4 + total) == -1)
		return -1;
	p = c->out + c->out_len;
	put32(p, (uint32_t)total);
	p[4] = (char)m->type;
	put32(p + 5, m->id);
	put32(p + 9, m->num);
	p[13] = (char)m->n;
	p += 14;
	for (i = 0; i < m->n; i++) {
		if (m->f[i].p == NULL) {
			put32(p, CHAN_ABSENT);
			p += 4;
			continue;
		}
		put32(p, m->f[i].len);
		memcpy(p + 4, m->f[i].p, m->f[i].len);
		p += 4 + m->f[i].len;
	}
	c->out_len += 4 + total;
	return chan_flush(c) == -1 ? -1 : 0;
}

int
chan_flush(struct chan *c)
{
	ssize_t n;

	while (c->out_off < c->out_len) {
		n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	return 0;
}

bool
chan_want_write(const struct chan *c)
{
	return c->out_off < c->out_len;
}

int
chan_read(struct chan *c)
{
	size_t want = CHAN_READ_CHUNK, have = c->in_len - c->in_off;
	ssize_t n;

	/*
	 * One read at a time, of a chunk or of the rest of the frame begun:
	 * the caller takes the whole messages out before the next, so that
	 * a burst of answers does not pile up here as well as where each
	 * goes (the web process holds 64 connections' answers otherwise).
	 */
	if (have >= 4) {
		uint32_t total = get32(c->in + c->in_off);

		if (total <= CHAN_FRAME_MAX && 4 + (size_t)total > have &&
		    4 + (size_t)total - have > want)
			want = 4 + (size_t)total - have;
	}
	if (chan_room(&c->in, &c->in_len, &c->in_off, &c->in_cap, want) == -1)
		return -1;
	do
		n = read(c->fd, c->in + c->in_len, want);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	if (n == 0)
		return -1;
	c->in_len += (size_t)n;
	return 1;
}

int
chan_next(struct chan *c, struct chan_msg *m)
{
	const char *p, *end;
	uint32_t total, len;
	unsigned i;

	if (c->in_len - c->in_off < 4)
		return 0;
	p = c->in + c->in_off;
	total = get32(p);
	if (total < 10 || total > CHAN_FRAME_MAX)
		return -1;
	if (c->in_len - c->in_off - 4 < total)
		return 0;
	end = p + 4 + total;
	memset(m, 0, sizeof(*m));
	m->type = (uint8_t)p[4];
	m->id = get32(p + 5);
	m->num = get32(p + 9);
	m->n = (uint8_t)p[13];
	if (m->n > CHAN_FIELDS)
		return -1;
	p += 14;
	for (i = 0; i < m->n; i++) {
		if (end - p < 4)
			return -1;
		len = get32(p);
		p += 4;
		if (len == CHAN_ABSENT)
			continue;
		if ((size_t)(end - p) < len)
			return -1;
		m->f[i].p = p;
		m->f[i].len = len;
		p += len;
	}
	if (p != end)
		return -1;
	c->in_off += 4 + total;
	return 1;
}

char *
chan_strdup(const struct chan_field *f)
{
	char *s;

	if ((s = malloc(f->p != NULL ? f->len + 1 : 1)) == NULL)
		return NULL;
	if (f->p != NULL)
		memcpy(s, f->p, f->len);
	s[f->p != NULL ? f->len : 0] = '\0';
	return s;
}

void
chan_set(struct chan_msg *m, unsigned i, const char *s)
{
	if (i >= CHAN_FIELDS)
		return;
	m->f[i].p = s;
	m->f[i].len = s != NULL ? (uint32_t)strlen(s) : 0;
	if (m->n <= i)
		m->n = (uint8_t)(i + 1);
}
