#include <sys/socket.h>

#include <net/if.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "ssdp.h"
#include "upnp_http.h"
#include "util.h"

#define HTTP_HEAD_MAX	8192
/* What the router may send in all: head, body and chunk framing. */
#define HTTP_READ_MAX	(HTTP_HEAD_MAX + UPNP_HTTP_MAX + 4096)

/* ---------------------------------------------------------------------------
 * HTTP answers, parsed with bounds.
 */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Walks a chunked body (RFC 9112 section 7.1) in p[0..n): 1 when complete,
 * with the data's length in *outlen (and the data moved to the front of p
 * when decode), 0 when more is needed, -1 when it is not valid.
 */
static int
chunked(char *p, size_t n, int decode, size_t *outlen, const char **why)
{
	size_t i = 0, out = 0;

	for (;;) {
		size_t size = 0, digits = 0;
		int v;

		while (i < n && (v = hexval((unsigned char)p[i])) != -1) {
			size = size * 16 + (size_t)v;
			digits++;
			i++;
			if (size > UPNP_HTTP_MAX) {
				*why = "has a chunk larger than 128 KiB";
				return -1;
			}
		}
		if (i == n)
			return 0;
		if (digits == 0) {
			*why = "has a chunk size that is not a hex number";
			return -1;
		}
		/* A chunk extension, if any, runs to the end of the line. */
		while (i < n && p[i] != '\n')
			i++;
		if (i == n)
			return 0;
		i++;
		if (size == 0) {
			*outlen = out;
			return 1;	/* the trailer section is not needed */
		}
		if (out + size > UPNP_HTTP_MAX) {
			*why = "has chunks adding up to more than 128 KiB";
			return -1;
		}
		if (n - i < size)
			return 0;
		if (decode)
			memmove(p + out, p + i, size);
		out += size;
		i += size;
		if (i < n && p[i] == '\r')
			i++;
		if (i == n)
			return 0;
		if (p[i] != '\n') {
			*why = "has a chunk longer than its size says";
			return -1;
		}
		i++;
	}
}

/* Copies a header value, trimmed, into dst; -1 when it does not fit. */
static int
header_value(char *dst, size_t dstsz, const char *v, const char *end)
{
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t' ||
	    end[-1] == '\r'))
		end--;
	if ((size_t)(end - v) >= dstsz)
		return -1;
	memcpy(dst, v, (size_t)(end - v));
	dst[end - v] = '\0';
	return 0;
}

int
upnp_http_parse(char *buf, size_t len, int eof, int *status, char **body,
    size_t *bodylen, const char **why)
{
	size_t lim = len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX;
	char *crlf = memmem(buf, lim, "\n\r\n", 3), *lf = memmem(buf, lim,
	    "\n\n", 2), *head_end, *b, *line, *eol;
	size_t blen, clen = 0, out;
	int st, have_clen = 0, is_chunked = 0, rc;

	/* The head ends at the first empty line (CRLF CRLF, or LF LF). */
	if (crlf == NULL && lf == NULL) {
		if (len >= HTTP_HEAD_MAX) {
			*why = "has a head longer than 8 KiB";
			return -1;
		}
		if (eof) {
			*why = len == 0 ? "is empty" : "was cut off in its head";
			return -1;
		}
		return 0;
	}
	if (crlf == NULL || (lf != NULL && lf < crlf)) {
		head_end = lf + 1;
		b = lf + 2;
	} else {
		head_end = crlf + 1;
		b = crlf + 3;
	}
	if (len < 13 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ' ||
	    buf[9] < '1' || buf[9] > '5' || buf[10] < '0' || buf[10] > '9' ||
	    buf[11] < '0' || buf[11] > '9' || (buf[12] != ' ' &&
	    buf[12] != '\r' && buf[12] != '\n')) {
		*why = "is not an HTTP answer";
		return -1;
	}
	st = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');

	for (line = memchr(buf, '\n', (size_t)(head_end - buf)) + 1;
	    line < head_end; line = eol + 1) {
		char *colon, val[32];

		eol = memchr(line, '\n', (size_t)(head_end - line));
		if ((colon = memchr(line, ':', (size_t)(eol - line))) == NULL)
			continue;
#define IS(h) ((size_t)(colon - line) == sizeof(h) - 1 && \
	strncasecmp(line, h, sizeof(h) - 1) == 0)
		if (IS("Content-Length")) {
			unsigned long v;

			if (header_value(val, sizeof(val), colon + 1, eol) ==
			    -1 || val[0] == '\0' ||
			    strspn(val, "0123456789") != strlen(val)) {
				*why = "has a Content-Length that is not a "
				    "number";
				return -1;
			}
			if (strlen(val) > 9 || parse_uint(val, 0,
			    UPNP_HTTP_MAX, &v) == -1) {
				*why = "announces a body of more than 128 KiB "
				    "(Content-Length)";
				return -1;
			}
			clen = v;
			have_clen = 1;
		} else if (IS("Transfer-Encoding")) {
			if (header_value(val, sizeof(val), colon + 1, eol) ==
			    -1 || strcasecmp(val, "chunked") != 0) {
				*why = "uses a transfer coding other than "
				    "chunked";
				return -1;
			}
			is_chunked = 1;
		}
#undef IS
	}

	blen = len - (size_t)(b - buf);
	if (is_chunked) {
		if ((rc = chunked(b, blen, 0, &out, why)) == -1)
			return -1;
		if (rc == 0) {
			if (!eof)
				return 0;
			*why = "was cut off in the middle of a chunk";
			return -1;
		}
		chunked(b, blen, 1, &out, why);
		blen = out;
	} else if (have_clen) {
		if (blen < clen) {
			if (!eof)
				return 0;
			*why = "was cut off before the end of its body";
			return -1;
		}
		blen = clen;
	} else {
		if (blen > UPNP_HTTP_MAX) {
			*why = "has a body larger than 128 KiB";
			return -1;
		}
		if (!eof)
			return 0;
	}
	*status = st;
	*body = b;
	*bodylen = blen;
	return 1;
}

/* ---------------------------------------------------------------------------
 * One HTTP exchange with the router, with a deadline and a size limit.
 */

/* Waits for events on s until deadline: 1 ready, 0 deadline passed. */
static int
wait_fd(int s, short events, int64_t deadline)
{
	struct pollfd pfd;
	int rc;

	for (;;) {
		if (mono_ms() >= deadline)
			return 0;
		pfd.fd = s;
		pfd.events = events;
		rc = poll(&pfd, 1, ms_until(deadline));
		if (rc > 0)
			return 1;
		if (rc == -1 && errno != EINTR)
			return 1;	/* let the next call say what is wrong */
	}
}

static void
too_slow(const struct upnp_http_req *q, size_t got, int64_t start,
    struct pm_error *err)
{
	long long ms = (long long)(mono_ms() - start);

	if (got == 0)
		pmerr_set(err, PME_TIMEOUT, 0, "could not %s: nothing of %s "
		    "arrived within %lld ms", q->doing, q->answer, ms);
	else
		pmerr_set(err, PME_TIMEOUT, 0, "could not %s: only %zu bytes "
		    "of %s arrived in %lld ms; the router misbehaves or is "
		    "overloaded", q->doing, got, q->answer, ms);
}

/* The router's end of one exchange, and when it began (for messages). */
struct http_conn {
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	char			 host[INET6_ADDRSTRLEN + 2];	/* [v6] */
	uint16_t		 port;
	int			 s;
	int64_t			 start;
};

/* The zone of an IPv6 URL: an interface name or index; 0 when unknown. */
static unsigned
upnp_http_zone(const char *z)
{
	unsigned long v;

	if (strncmp(z, "25", 2) == 0 && z[2] != '\0' &&
	    if_nametoindex(z + 2) != 0)
		return if_nametoindex(z + 2);	/* RFC 6874's "%25" */
	if (parse_uint(z, 1, UINT32_MAX, &v) == 0)
		return (unsigned)v;
	return if_nametoindex(z);
}

/* The IPv6 part of upnp_http_url, from the '[' on: -1 when invalid. */
static int
upnp_http_url6(const char *h, unsigned scope_id, struct sockaddr_in6 *sin6,
    const char **rest)
{
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 4], *pct;
	const char *e = strchr(h, ']');

	if (e == NULL || (size_t)(e - h - 1) >= sizeof(host))
		return -1;
	memcpy(host, h + 1, (size_t)(e - h - 1));
	host[e - h - 1] = '\0';
	memset(sin6, 0, sizeof(*sin6));
	sin6->sin6_family = AF_INET6;
	if ((pct = strchr(host, '%')) != NULL) {
		*pct = '\0';
		if ((scope_id = upnp_http_zone(pct + 1)) == 0)
			return -1;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
		return -1;
	if (IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr))
		sin6->sin6_scope_id = scope_id;
	*rest = e + 1;
	return 0;
}

int
upnp_http_url(const char *url, unsigned scope_id, struct sockaddr_storage *ss,
    socklen_t *sslen, const char **path)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	const char *e;
	unsigned long v;
	uint16_t port;

	memset(ss, 0, sizeof(*ss));
	if (strncasecmp(url, "http://[", 8) != 0) {
		if (ssdp_url_addr(url, &sin->sin_addr, &port) == -1)
			return -1;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*sslen = sizeof(*sin);
		*path = url + 7 + strcspn(url + 7, "/");
		return 0;
	}
	/* RFC 3986: no spaces or control bytes anywhere in a URL. */
	for (e = url; *e != '\0'; e++)
		if ((unsigned char)*e <= 0x20 || (unsigned char)*e >= 0x7f)
			return -1;
	if (upnp_http_url6(url + 7, scope_id, sin6, &e) == -1)
		return -1;
	port = 80;
	if (*e == ':') {
		char pbuf[6];
		size_t plen = strcspn(e + 1, "/");

		if (plen == 0 || plen >= sizeof(pbuf))
			return -1;
		memcpy(pbuf, e + 1, plen);
		pbuf[plen] = '\0';
		if (parse_uint(pbuf, 1, 65535, &v) == -1)
			return -1;
		port = (uint16_t)v;
		e += 1 + plen;
	}
	if (*e != '/' && *e != '\0')
		return -1;
	sin6->sin6_port = htons(port);
	*sslen = sizeof(*sin6);
	*path = e;
	return 0;
}

/*
 * Finds the router's address in q->url and writes the request into req.
 * Returns its length, or -1 with err set.
 */
static ssize_t
http_request(const struct upnp_http_req *q, struct http_conn *c, char *req,
    size_t reqsz, struct pm_error *err)
{
	const struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&c->ss;
	char a[INET6_ADDRSTRLEN];
	const char *path;
	int n;

	if (upnp_http_url(q->url, q->scope_id, &c->ss, &c->sslen, &path) ==
	    -1) {
		char u[100];

		str_printable(u, sizeof(u), q->url);
		pmerr_set(err, PME_BAD_REPLY, 0, "could not %s: \"%s\" is not "
		    "an http://ADDRESS URL", q->doing, u);
		return -1;
	}
	/* The Host header names no zone: it means nothing to the router. */
	if (c->ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		snprintf(c->host, sizeof(c->host), "[%s]", a);
		c->port = ntohs(sin6->sin6_port);
		if (IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr) &&
		    sin6->sin6_scope_id == 0) {
			pmerr_set(err, PME_USAGE, 0, "could not %s: the "
			    "link-local address %s needs an interface", q->doing,
			    a);
			return -1;
		}
	} else {
		const struct sockaddr_in *sin = (struct sockaddr_in *)&c->ss;

		inet_ntop(AF_INET, &sin->sin_addr, c->host, sizeof(c->host));
		c->port = ntohs(sin->sin_port);
	}
	if (*path == '\0')
		path = "/";
	if (q->body != NULL)
		n = snprintf(req, reqsz, "%s %s HTTP/1.1\r\nHost: %s:%u"
		    "\r\nConnection: close\r\nUser-Agent: portkeeper "
		    "UPnP/1.1\r\n%sContent-Length: %zu\r\n\r\n%s", q->method,
		    path, c->host, c->port, q->headers, strlen(q->body),
		    q->body);
	else
		n = snprintf(req, reqsz, "%s %s HTTP/1.1\r\nHost: %s:%u"
		    "\r\nConnection: close\r\nUser-Agent: portkeeper "
		    "UPnP/1.1\r\n%s\r\n", q->method, path, c->host, c->port,
		    q->headers);
	if (n < 0 || (size_t)n >= reqsz) {
		pmerr_set(err, PME_INTERNAL, 0, "could not %s: the request "
		    "does not fit in %zu bytes", q->doing, reqsz);
		return -1;
	}
	return n;
}

/*
 * Binds c->s to q->source, the address the router must see the request
 * come from.  Returns 0, or -1 with err set.
 */
static int
http_bind(const struct upnp_http_req *q, const struct http_conn *c,
    struct pm_error *err)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (q->source == NULL)
		return 0;
	if (q->source->sa_family != c->ss.ss_family) {
		pmerr_set(err, PME_USAGE, 0, "could not %s: the router's "
		    "address %s and this host's are of different families",
		    q->doing, c->host);
		return -1;
	}
	if (bind(c->s, q->source, q->sourcelen) == 0)
		return 0;
	if (q->source->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)
		    q->source)->sin6_addr, a, sizeof(a));
	else
		inet_ntop(AF_INET, &((const struct sockaddr_in *)
		    q->source)->sin_addr, a, sizeof(a));
	pmerr_set(err, PME_NETWORK, 0, "could not %s: cannot speak from %s: "
	    "%s", q->doing, a, strerror(errno));
	return -1;
}

static void
cannot_talk(const struct upnp_http_req *q, const struct http_conn *c, int soerr,
    struct pm_error *err)
{
	pmerr_set(err, PME_NETWORK, 0, "could not %s: cannot talk to the "
	    "router's UPnP service at %s:%u: %s", q->doing, c->host, c->port,
	    strerror(soerr));
}

/*
 * Connects c->s to the router by deadline.  Returns 0, or -1 with err set
 * and no socket left open.
 */
static int
http_connect(const struct upnp_http_req *q, struct http_conn *c, int64_t deadline,
    struct pm_error *err)
{
	socklen_t sl = sizeof(int);
	int soerr = 0;

	if ((c->s = socket(c->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		pmerr_set(err, PME_NETWORK, 0, "could not %s: socket: %s",
		    q->doing, strerror(errno));
		return -1;
	}
	if (http_bind(q, c, err) == -1)
		goto fail;
	if (connect(c->s, (struct sockaddr *)&c->ss, c->sslen) == -1 &&
	    errno != EINPROGRESS) {
		cannot_talk(q, c, errno, err);
		goto fail;
	}
	if (!wait_fd(c->s, POLLOUT, deadline)) {
		pmerr_set(err, PME_TIMEOUT, 0, "could not %s: the router's UPnP "
		    "service at %s:%u did not accept a connection within "
		    "%lld ms", q->doing, c->host, c->port,
		    (long long)(mono_ms() - c->start));
		goto fail;
	}
	if (getsockopt(c->s, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1)
		soerr = errno;
	if (soerr != 0) {
		cannot_talk(q, c, soerr, err);
		goto fail;
	}
	return 0;
fail:
	close(c->s);
	c->s = -1;
	return -1;
}

/* Sends all of req by deadline.  Returns 0, or -1 with err set. */
static int
http_send(const struct upnp_http_req *q, const struct http_conn *c,
    const char *req, size_t reqlen, int64_t deadline, struct pm_error *err)
{
	size_t sent = 0;

	while (sent < reqlen) {
		ssize_t w = send(c->s, req + sent, reqlen - sent, MSG_NOSIGNAL);

		if (w >= 0) {
			sent += (size_t)w;
			continue;
		}
		if (errno != EAGAIN && errno != EINTR) {
			pmerr_set(err, PME_NETWORK, 0, "could not %s: sending "
			    "to the router: %s", q->doing, strerror(errno));
			return -1;
		}
		if (!wait_fd(c->s, POLLOUT, deadline)) {
			too_slow(q, 0, c->start, err);
			return -1;
		}
	}
	return 0;
}

/*
 * Reads the answer by deadline, until upnp_http_parse finds it complete.
 * Returns 0 with the status and body (inside *buf, which the caller frees),
 * or -1 with err set.
 */
static int
http_read(const struct upnp_http_req *q, const struct http_conn *c,
    int64_t deadline, int *status, char **buf, char **body, size_t *bodylen,
    struct pm_error *err)
{
	char *b = NULL, *nb;
	const char *why;
	size_t cap = 0, got = 0;
	int eof = 0, rc;

	for (;;) {
		ssize_t r;

		if (got == cap) {
			if (cap == HTTP_READ_MAX) {
				pmerr_set(err, PME_BAD_REPLY, 0, "could not %s: "
				    "the router misbehaves: %s is larger than "
				    "128 KiB", q->doing, q->answer);
				goto fail;
			}
			cap = cap == 0 ? 8192 : cap * 2;
			if (cap > HTTP_READ_MAX)
				cap = HTTP_READ_MAX;
			if ((nb = realloc(b, cap + 1)) == NULL) {
				pmerr_set(err, PME_INTERNAL, 0, "out of memory");
				goto fail;
			}
			b = nb;
		}
		r = recv(c->s, b + got, cap - got, 0);
		if (r == -1 && (errno == EAGAIN || errno == EINTR)) {
			if (!wait_fd(c->s, POLLIN, deadline)) {
				too_slow(q, got, c->start, err);
				goto fail;
			}
			continue;
		}
		if (r == -1 && got == 0) {
			cannot_talk(q, c, errno, err);
			goto fail;
		}
		if (r == -1) {
			pmerr_set(err, PME_NETWORK, 0, "could not %s: reading "
			    "%s: %s", q->doing, q->answer, strerror(errno));
			goto fail;
		}
		if (r == 0)
			eof = 1;
		got += (size_t)r;
		b[got] = '\0';
		rc = upnp_http_parse(b, got, eof, status, body, bodylen, &why);
		if (rc == 1)
			break;
		if (rc == -1) {
			pmerr_set(err, PME_BAD_REPLY, 0, "could not %s: the "
			    "router misbehaves: %s %s", q->doing, q->answer,
			    why);
			goto fail;
		}
	}
	(*body)[*bodylen] = '\0';	/* within b: a chunked body shrank */
	*buf = b;
	return 0;
fail:
	free(b);
	return -1;
}

int
upnp_http_exchange(const struct upnp_http_req *q, int64_t deadline, int *status,
    char **buf, char **body, size_t *bodylen, struct pm_error *err)
{
	struct http_conn c;
	char req[4096];
	ssize_t reqlen;
	int rc;

	c.start = mono_ms();
	if ((reqlen = http_request(q, &c, req, sizeof(req), err)) == -1)
		return -1;
	if (http_connect(q, &c, deadline, err) == -1)
		return -1;
	rc = http_send(q, &c, req, (size_t)reqlen, deadline, err);
	if (rc == 0)
		rc = http_read(q, &c, deadline, status, buf, body, bodylen,
		    err);
	close(c.s);
	return rc;
}

