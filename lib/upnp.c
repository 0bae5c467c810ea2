#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <miniupnpc/upnpreplyparse.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "log.h"
#include "upnp.h"
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

struct http_req {
	const char	*url;
	const char	*method;
	const char	*headers;	/* more header lines, or "" */
	const char	*body;		/* or NULL */
	const char	*doing;		/* "forward port 80/tcp" */
	const char	*answer;	/* "its answer to AddPortMapping" */
};

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
too_slow(const struct http_req *q, size_t got, int64_t start,
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
	struct sockaddr_in	 sin;
	char			 host[INET_ADDRSTRLEN];
	uint16_t		 port;
	int			 s;
	int64_t			 start;
};

/*
 * Finds the router's address in q->url and writes the request into req.
 * Returns its length, or -1 with err set.
 */
static ssize_t
http_request(const struct http_req *q, struct http_conn *c, char *req,
    size_t reqsz, struct pm_error *err)
{
	const char *path;
	int n;

	memset(&c->sin, 0, sizeof(c->sin));
	c->sin.sin_family = AF_INET;
	if (ssdp_url_addr(q->url, &c->sin.sin_addr, &c->port) == -1) {
		char u[100];

		str_printable(u, sizeof(u), q->url);
		pmerr_set(err, PME_BAD_REPLY, 0, "could not %s: \"%s\" is not "
		    "an http://ADDRESS URL", q->doing, u);
		return -1;
	}
	c->sin.sin_port = htons(c->port);
	inet_ntop(AF_INET, &c->sin.sin_addr, c->host, sizeof(c->host));
	path = q->url + 7 + strcspn(q->url + 7, "/");
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

static void
cannot_talk(const struct http_req *q, const struct http_conn *c, int soerr,
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
http_connect(const struct http_req *q, struct http_conn *c, int64_t deadline,
    struct pm_error *err)
{
	socklen_t sl = sizeof(int);
	int soerr = 0;

	if ((c->s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		pmerr_set(err, PME_NETWORK, 0, "could not %s: socket: %s",
		    q->doing, strerror(errno));
		return -1;
	}
	if (connect(c->s, (struct sockaddr *)&c->sin, sizeof(c->sin)) == -1 &&
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
http_send(const struct http_req *q, const struct http_conn *c,
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
http_read(const struct http_req *q, const struct http_conn *c,
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

/*
 * Sends the request and reads the answer by deadline.  Returns 0 with the
 * status and body (inside *buf, which the caller frees), or -1 with err set.
 */
static int
http_exchange(const struct http_req *q, int64_t deadline, int *status,
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

/* ---------------------------------------------------------------------------
 * SOAP (UPnP Device Architecture 1.1, section 3.2).
 */

struct soap_arg {
	const char	*name;
	const char	*value;
};

/* Appends s to dst (of dstsz, holding a string) with XML's specials escaped. */
static void
xml_append(char *dst, size_t dstsz, const char *s)
{
	size_t n = strlen(dst);

	for (; *s != '\0' && n + 7 < dstsz; s++) {
		const char *e = NULL;

		switch (*s) {
		case '&':	e = "&amp;"; break;
		case '<':	e = "&lt;"; break;
		case '>':	e = "&gt;"; break;
		case '"':	e = "&quot;"; break;
		case '\'':	e = "&apos;"; break;
		}
		if (e != NULL) {
			memcpy(dst + n, e, strlen(e));
			n += strlen(e);
		} else
			dst[n++] = *s;
	}
	dst[n] = '\0';
}

/*
 * Calls action on the IGD's WANIPConnection (or WANPPPConnection) service.
 * Returns 0 with the answer's values in *pd (ClearNameValueList() them),
 * the UPnP error code (> 0) the router answered with, or -1 with err set.
 */
static int
soap_call(struct upnp_igd *igd, int64_t deadline, const char *action,
    const struct soap_arg *args, size_t nargs, const char *doing,
    struct NameValueParserData *pd, struct pm_error *err)
{
	char body[2048], headers[400], answer[80], stype[MINIUPNPC_URL_MAXSIZE];
	char *buf, *rbody;
	const char *code;
	struct http_req q;
	size_t i, rlen;
	unsigned long c;
	int status;

	memset(pd, 0, sizeof(*pd));
	/* The router's own words go into our request: printable only. */
	str_printable(stype, sizeof(stype), igd->data.first.servicetype);
	snprintf(body, sizeof(body), "<?xml version=\"1.0\"?>\r\n"
	    "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" "
	    "s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\">"
	    "<s:Body><u:%s xmlns:u=\"", action);
	xml_append(body, sizeof(body), stype);
	strncat(body, "\">", sizeof(body) - strlen(body) - 1);
	for (i = 0; i < nargs; i++) {
		size_t n = strlen(body);

		snprintf(body + n, sizeof(body) - n, "<%s>", args[i].name);
		xml_append(body, sizeof(body), args[i].value);
		n = strlen(body);
		snprintf(body + n, sizeof(body) - n, "</%s>", args[i].name);
	}
	i = strlen(body);
	if (snprintf(body + i, sizeof(body) - i, "</u:%s></s:Body>"
	    "</s:Envelope>\r\n", action) >= (int)(sizeof(body) - i)) {
		pmerr_set(err, PME_INTERNAL, 0, "could not %s: the SOAP request "
		    "does not fit", doing);
		return -1;
	}
	snprintf(headers, sizeof(headers), "Content-Type: text/xml; "
	    "charset=\"utf-8\"\r\nSOAPAction: \"%s#%s\"\r\n", stype, action);
	snprintf(answer, sizeof(answer), "its answer to %s", action);
	q.url = igd->urls.controlURL;
	q.method = "POST";
	q.headers = headers;
	q.body = body;
	q.doing = doing;
	q.answer = answer;
	if (http_exchange(&q, deadline, &status, &buf, &rbody, &rlen, err) ==
	    -1)
		return -1;
	ParseNameValue(rbody, (int)rlen, pd);
	free(buf);

	if ((code = GetValueFromNameValueList(pd, "errorCode")) != NULL) {
		char shown[24];

		if (parse_uint(code, 1, 999999, &c) == 0) {
			ClearNameValueList(pd);
			return (int)c;
		}
		str_printable(shown, sizeof(shown), code);
		pmerr_set(err, PME_BAD_REPLY, 0, "could not %s: the router "
		    "misbehaves: it answered %s with a fault whose error code "
		    "\"%s\" is not a number", doing, action, shown);
		ClearNameValueList(pd);
		return -1;
	}
	if (status != 200) {
		pmerr_set(err, PME_BAD_REPLY, 0, "could not %s: the router "
		    "answered %s with HTTP status %d and no UPnP error code",
		    doing, action, status);
		ClearNameValueList(pd);
		return -1;
	}
	return 0;
}

/* The value name in an answer to action, or NULL with err set. */
static const char *
soap_value(struct NameValueParserData *pd, const char *name,
    const char *action, const char *doing, struct pm_error *err)
{
	const char *v = GetValueFromNameValueList(pd, name);

	if (v == NULL)
		pmerr_set(err, PME_BAD_REPLY, 0, "could not %s: the router "
		    "misbehaves: its answer to %s has no %s", doing, action,
		    name);
	return v;
}

/* ---------------------------------------------------------------------------
 * The IGD.
 */

int
upnp_discover(struct upnp_igd *igd, struct in_addr gateway,
    struct in_addr local, int64_t deadline, struct pm_error *err)
{
	char gw[INET_ADDRSTRLEN], loc[SSDP_URL_MAX], doing[SSDP_URL_MAX + 64];
	char url[110], *buf, *body;
	struct http_req q;
	struct in_addr caddr;
	uint16_t cport;
	size_t len;
	int status;

	memset(igd, 0, sizeof(*igd));
	igd->gateway = gateway;
	igd->local = local;
	inet_ntop(AF_INET, &gateway, gw, sizeof(gw));
	if (ssdp_search(gateway, local, deadline, igd->location, err) == -1)
		return -1;
	log_debug("upnp: IGD description at %s", igd->location);
	str_printable(loc, sizeof(loc), igd->location);
	snprintf(doing, sizeof(doing), "read the router's UPnP description "
	    "%s", loc);
	q.url = igd->location;
	q.method = "GET";
	q.headers = "";
	q.body = NULL;
	q.doing = doing;
	q.answer = "its description";
	if (http_exchange(&q, deadline, &status, &buf, &body, &len, err) == -1)
		return -1;
	if (status != 200) {
		free(buf);
		pmerr_set(err, PME_BAD_REPLY, 0, "the router at %s announced "
		    "UPnP-IGD but answered HTTP status %d for its description "
		    "%s", gw, status, loc);
		return -1;
	}
	parserootdesc(body, (int)len, &igd->data);
	free(buf);
	GetUPNPUrls(&igd->urls, &igd->data, igd->location, 0);
	igd->have_urls = 1;
	if (igd->data.first.servicetype[0] == '\0' ||
	    igd->urls.controlURL == NULL || igd->urls.controlURL[0] == '\0') {
		pmerr_set(err, PME_BAD_REPLY, 0, "the router's UPnP "
		    "description (%s) has no WANIPConnection or "
		    "WANPPPConnection service: it is garbled, or not an "
		    "Internet gateway's", loc);
		return -1;
	}
	/*
	 * The description is the router's word; a control URL on another host
	 * would make us send our requests there.
	 */
	if (ssdp_url_addr(igd->urls.controlURL, &caddr, &cport) == -1 ||
	    caddr.s_addr != gateway.s_addr) {
		str_printable(url, sizeof(url), igd->urls.controlURL);
		pmerr_set(err, PME_BAD_REPLY, 0, "the router's UPnP control "
		    "URL \"%s\" is not an http:// URL on the gateway %s; "
		    "refusing to use it", url, gw);
		return -1;
	}
	return 0;
}

void
upnp_igd_free(struct upnp_igd *igd)
{
	if (igd->have_urls)
		FreeUPNPUrls(&igd->urls);
	igd->have_urls = 0;
}

int
upnp_external_ip(struct upnp_igd *igd, int64_t deadline, char ip[16],
    struct pm_error *err)
{
	static const char what[] = "ask the router for its external address";
	struct NameValueParserData pd;
	const char *v;
	int rc;

	ip[0] = '\0';
	rc = soap_call(igd, deadline, "GetExternalIPAddress", NULL, 0, what,
	    &pd, err);
	if (rc > 0)
		pmerr_upnp(err, rc, what);
	if (rc != 0)
		return -1;
	if ((v = soap_value(&pd, "NewExternalIPAddress",
	    "GetExternalIPAddress", what, err)) == NULL) {
		ClearNameValueList(&pd);
		return -1;
	}
	str_copy(ip, v, 16);
	ClearNameValueList(&pd);
	return 0;
}

int
upnp_status(struct upnp_igd *igd, int64_t deadline, int *connected,
    char status[64], struct pm_error *err)
{
	static const char what[] = "ask the router for its connection status";
	struct NameValueParserData pd;
	const char *v;
	int rc;

	status[0] = '\0';
	rc = soap_call(igd, deadline, "GetStatusInfo", NULL, 0, what, &pd,
	    err);
	if (rc > 0)
		pmerr_upnp(err, rc, what);
	if (rc != 0)
		return -1;
	if ((v = soap_value(&pd, "NewConnectionStatus", "GetStatusInfo",
	    what, err)) == NULL) {
		ClearNameValueList(&pd);
		return -1;
	}
	str_printable(status, 64, v);
	ClearNameValueList(&pd);
	*connected = strcmp(status, "Connected") == 0;
	return 0;
}

int
upnp_add(struct upnp_igd *igd, int64_t deadline, enum pm_proto proto,
    uint16_t ext_port, uint16_t int_port, const char *client,
    const char *desc, uint32_t lease, struct pm_error *err)
{
	char ext[6], in[6], dur[11], what[64];
	struct NameValueParserData pd;
	const struct soap_arg args[] = {
		{ "NewRemoteHost", "" },
		{ "NewExternalPort", ext },
		{ "NewProtocol", portspec_proto_upnp(proto) },
		{ "NewInternalPort", in },
		{ "NewInternalClient", client },
		{ "NewEnabled", "1" },
		{ "NewPortMappingDescription", desc },
		{ "NewLeaseDuration", dur },
	};
	int rc;

	snprintf(ext, sizeof(ext), "%u", ext_port);
	snprintf(in, sizeof(in), "%u", int_port);
	snprintf(dur, sizeof(dur), "%u", lease);
	snprintf(what, sizeof(what), "forward port %u/%s", ext_port,
	    portspec_proto_str(proto));
	rc = soap_call(igd, deadline, "AddPortMapping", args, nitems(args),
	    what, &pd, err);
	if (rc > 0)
		pmerr_upnp(err, rc, what);
	if (rc != 0)
		return -1;
	ClearNameValueList(&pd);
	return 0;
}

/* Fills m from the strings the router sent; -1 when they make no entry. */
static int
fill_mapping(struct pm_mapping *m, enum pm_proto proto, const char *ext,
    const char *client, const char *in, const char *desc,
    const char *enabled, const char *duration, struct in_addr local)
{
	unsigned long eport, iport, dur = 0;
	struct in_addr a;

	memset(m, 0, sizeof(*m));
	if (parse_uint(ext, 1, 65535, &eport) == -1 ||
	    parse_uint(in, 1, 65535, &iport) == -1 || client[0] == '\0' ||
	    addr_parse(client, &a) == ADDR_INVALID ||
	    (duration[0] != '\0' &&
	    parse_uint(duration, 0, UINT32_MAX, &dur) == -1))
		return -1;
	m->proto = proto;
	m->ext_port = (uint16_t)eport;
	m->int_port = (uint16_t)iport;
	str_copy(m->int_client, client, sizeof(m->int_client));
	/* Another host's words, shown to people: printable only. */
	str_printable(m->desc, sizeof(m->desc), desc);
	m->enabled = strcmp(enabled, "0") != 0;
	m->lease = (uint32_t)dur;
	m->this_host = a.s_addr == local.s_addr;
	return 0;
}

/* A value of an answer, or "" when the router left it out. */
static const char *
value_or_empty(struct NameValueParserData *pd, const char *name)
{
	const char *v = GetValueFromNameValueList(pd, name);

	return v != NULL ? v : "";
}

int
upnp_get(struct upnp_igd *igd, int64_t deadline, enum pm_proto proto,
    uint16_t ext_port, struct pm_mapping *m, struct pm_error *err)
{
	char ext[6], what[80], client[16], in[8];
	struct NameValueParserData pd;
	const struct soap_arg args[] = {
		{ "NewRemoteHost", "" },
		{ "NewExternalPort", ext },
		{ "NewProtocol", portspec_proto_upnp(proto) },
	};
	int rc;

	snprintf(ext, sizeof(ext), "%u", ext_port);
	snprintf(what, sizeof(what), "look up port %u/%s on the router",
	    ext_port, portspec_proto_str(proto));
	rc = soap_call(igd, deadline, "GetSpecificPortMappingEntry", args,
	    nitems(args), what, &pd, err);
	/* Some routers answer 402 or 501 for an entry that does not exist. */
	if (rc == 714)
		return 0;
	if (rc > 0)
		pmerr_upnp(err, rc, what);
	if (rc != 0)
		return -1;
	rc = fill_mapping(m, proto, ext, value_or_empty(&pd,
	    "NewInternalClient"), value_or_empty(&pd, "NewInternalPort"),
	    value_or_empty(&pd, "NewPortMappingDescription"),
	    value_or_empty(&pd, "NewEnabled"),
	    value_or_empty(&pd, "NewLeaseDuration"), igd->local);
	if (rc == -1) {
		str_printable(client, sizeof(client), value_or_empty(&pd,
		    "NewInternalClient"));
		str_printable(in, sizeof(in), value_or_empty(&pd,
		    "NewInternalPort"));
		pmerr_set(err, PME_BAD_REPLY, 0, "could not %s: the router "
		    "answered with an invalid entry (client \"%s\", port "
		    "\"%s\")", what, client, in);
	}
	ClearNameValueList(&pd);
	return rc == -1 ? -1 : 1;
}

int
upnp_delete(struct upnp_igd *igd, int64_t deadline, enum pm_proto proto,
    uint16_t ext_port, struct pm_error *err)
{
	char ext[6], what[64];
	struct NameValueParserData pd;
	const struct soap_arg args[] = {
		{ "NewRemoteHost", "" },
		{ "NewExternalPort", ext },
		{ "NewProtocol", portspec_proto_upnp(proto) },
	};
	int rc;

	snprintf(ext, sizeof(ext), "%u", ext_port);
	snprintf(what, sizeof(what), "remove the forward of port %u/%s",
	    ext_port, portspec_proto_str(proto));
	rc = soap_call(igd, deadline, "DeletePortMapping", args, nitems(args),
	    what, &pd, err);
	if (rc == 714)
		return 0;
	if (rc > 0)
		pmerr_upnp(err, rc, what);
	if (rc != 0)
		return -1;
	ClearNameValueList(&pd);
	return 1;
}

int
upnp_list(struct upnp_igd *igd, int64_t deadline, struct pm_mapping **out,
    size_t *n, struct pm_error *err)
{
	static const char what[] = "read the router's port forwarding table";
	struct pm_mapping *v = NULL, *nv;
	size_t cap = 0, cnt = 0;
	int i, rc;

	for (i = 0; i < UPNP_LIST_MAX; i++) {
		char idx[12], ext[8], client[16], proto[8];
		struct NameValueParserData pd;
		const struct soap_arg args[] = {
			{ "NewPortMappingIndex", idx },
		};
		enum pm_proto p;

		snprintf(idx, sizeof(idx), "%d", i);
		rc = soap_call(igd, deadline, "GetGenericPortMappingEntry",
		    args, nitems(args), what, &pd, err);
		/* 713 (SpecifiedArrayIndexInvalid) marks the end of table. */
		if (rc == 713 || ((rc == 714 || rc == 402) && i > 0) ||
		    (rc == 714 && i == 0))
			break;
		if (rc > 0)
			pmerr_upnp(err, rc, what);
		if (rc != 0) {
			free(v);
			return -1;
		}
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL) {
				pmerr_set(err, PME_INTERNAL, 0, "out of memory");
				ClearNameValueList(&pd);
				free(v);
				return -1;
			}
			v = nv;
		}
		if (portspec_proto_parse(value_or_empty(&pd, "NewProtocol"), &p) == -1 ||
		    fill_mapping(&v[cnt], p, value_or_empty(&pd,
		    "NewExternalPort"), value_or_empty(&pd,
		    "NewInternalClient"), value_or_empty(&pd,
		    "NewInternalPort"), value_or_empty(&pd,
		    "NewPortMappingDescription"), value_or_empty(&pd,
		    "NewEnabled"), value_or_empty(&pd, "NewLeaseDuration"),
		    igd->local) == -1) {
			str_printable(ext, sizeof(ext), value_or_empty(&pd,
			    "NewExternalPort"));
			str_printable(proto, sizeof(proto), value_or_empty(&pd,
			    "NewProtocol"));
			str_printable(client, sizeof(client),
			    value_or_empty(&pd, "NewInternalClient"));
			log_warnx("the router's table entry %d is garbled "
			    "(port \"%s\", protocol \"%s\", client \"%s\"); "
			    "skipped", i, ext, proto, client);
			ClearNameValueList(&pd);
			continue;
		}
		ClearNameValueList(&pd);
		cnt++;
	}
	*out = v;
	*n = cnt;
	return 0;
}
