/*
 * The probe server and its client.  See probe.h for the exchange.
 *
 * The server is libmicrohttpd with a thread per connection: a probe blocks
 * for up to the connect-back timeout, and at most PROBE_CONN_MAX of them
 * (PROBE_CONN_PER_IP per address) run at once.  Bodies are capped at
 * PROBE_BODY_MAX bytes, idle connections closed after PROBE_IDLE_S.  The
 * client is a blocking HTTP/1.0 exchange with a deadline, meant to run on a
 * job (job.h).
 */
#include <sys/random.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "log.h"
#include "probe.h"
#include "util.h"

#ifndef PK_VERSION
#define PK_VERSION "0.1.0"
#endif

#define PROBE_MAGIC		"PORTKEEPER-PROBE"
#define PROBE_MAGIC_OK		"PORTKEEPER-PROBE-OK"
#define PROBE_CONN_PER_IP	4
#define PROBE_IDLE_S		10
#define PROBE_MEMORY_LIMIT	(32 * 1024)
#define PROBE_RATE_SOURCES	4096
#define PROBE_ANSWER_MAX	8192	/* bytes of an answer the client reads */
#define PROBE_TOKEN_WAIT_MS	1000	/* for the answer to a token */
#define PROBE_FIELDS_MAX	8

void
probe_addr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	const struct sockaddr_in6 *s6;

	buf[0] = '\0';
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    buf, (socklen_t)len);
		return;
	}
	if (sa->sa_family != AF_INET6)
		return;
	s6 = (const struct sockaddr_in6 *)sa;
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], buf,
		    (socklen_t)len);
	else
		inet_ntop(AF_INET6, &s6->sin6_addr, buf, (socklen_t)len);
}

/* Turns an IPv4-mapped IPv6 address into plain IPv4; sets the port. */
static socklen_t
normalize_peer(const struct sockaddr *sa, uint16_t port,
    struct sockaddr_storage *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)out;

			s4->sin_family = AF_INET;
			memcpy(&s4->sin_addr, &s6->sin6_addr.s6_addr[12], 4);
			s4->sin_port = htons(port);
			return sizeof(*s4);
		}
		memcpy(out, s6, sizeof(*s6));
		((struct sockaddr_in6 *)out)->sin6_port = htons(port);
		return sizeof(*s6);
	}
	memcpy(out, sa, sizeof(struct sockaddr_in));
	((struct sockaddr_in *)out)->sin_port = htons(port);
	return sizeof(struct sockaddr_in);
}

/* ------------------------------------------------------------------ */
/* URLs and addresses */

static bool
hostname_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '-';
}

int
probe_url_parse(const char *s, struct probe_url *u, char *err, size_t errlen)
{
	char q[80];
	const char *auth, *auth_end, *hend, *p;
	unsigned long port = 80;
	size_t i, n;

	memset(u, 0, sizeof(*u));
	if (s == NULL || *s == '\0') {
		snprintf(err, errlen, "empty probe URL: give "
		    "http://HOST[:PORT], where portkeeper probe-server runs");
		return -1;
	}
	str_printable(q, sizeof(q), s);
	if (strlen(s) >= sizeof(u->text)) {
		snprintf(err, errlen, "probe URL \"%s...\" is longer than %zu "
		    "characters", q, sizeof(u->text) - 1);
		return -1;
	}
	for (i = 0; s[i] != '\0'; i++) {
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f) {
			snprintf(err, errlen, "probe URL \"%s\" contains a space "
			    "or a control character", q);
			return -1;
		}
	}
	if (strncasecmp(s, "https://", 8) == 0) {
		snprintf(err, errlen, "probe URL \"%s\": https is not "
		    "supported; the probe server speaks plain HTTP "
		    "(http://HOST:PORT), nothing secret is exchanged", q);
		return -1;
	}
	if (strncasecmp(s, "http://", 7) != 0) {
		snprintf(err, errlen, "probe URL \"%s\" must start with "
		    "http://", q);
		return -1;
	}
	auth = s + 7;
	auth_end = auth + strcspn(auth, "/?#");
	if (memchr(auth, '@', (size_t)(auth_end - auth)) != NULL) {
		snprintf(err, errlen, "probe URL \"%s\": user names and "
		    "passwords are not supported", q);
		return -1;
	}
	if (*auth == '[') {
		struct in6_addr a6;

		hend = memchr(auth, ']', (size_t)(auth_end - auth));
		n = hend != NULL ? (size_t)(hend - auth - 1) : 0;
		if (hend == NULL || n == 0 || n >= sizeof(u->host)) {
			snprintf(err, errlen, "probe URL \"%s\": an IPv6 "
			    "address goes in brackets, as in http://[::1]:8770",
			    q);
			return -1;
		}
		memcpy(u->host, auth + 1, n);
		u->host[n] = '\0';
		if (inet_pton(AF_INET6, u->host, &a6) != 1) {
			snprintf(err, errlen, "probe URL \"%s\": \"%s\" is not an "
			    "IPv6 address", q, u->host);
			return -1;
		}
		u->host_v6 = true;
		p = hend + 1;
	} else {
		hend = memchr(auth, ':', (size_t)(auth_end - auth));
		if (hend == NULL)
			hend = auth_end;
		n = (size_t)(hend - auth);
		if (n == 0 || n > 253) {
			snprintf(err, errlen, "probe URL \"%s\" has no host name",
			    q);
			return -1;
		}
		for (i = 0; i < n; i++) {
			if (!hostname_char(auth[i])) {
				snprintf(err, errlen, "probe URL \"%s\": bad "
				    "character '%c' in the host name", q,
				    auth[i]);
				return -1;
			}
		}
		memcpy(u->host, auth, n);
		u->host[n] = '\0';
		p = hend;
	}
	if (p < auth_end) {
		char num[8];

		n = (size_t)(auth_end - p - 1);
		if (*p != ':' || n == 0 || n >= sizeof(num)) {
			snprintf(err, errlen, "probe URL \"%s\": expected "
			    "\":PORT\" after the host", q);
			return -1;
		}
		memcpy(num, p + 1, n);
		num[n] = '\0';
		if (parse_uint(num, 1, 65535, &port) == -1) {
			snprintf(err, errlen, "probe URL \"%s\": bad port \"%s\": "
			    "expected 1 to 65535", q, num);
			return -1;
		}
	}
	u->port = (uint16_t)port;
	if (*auth_end == '\0' || strcmp(auth_end, "/") == 0)
		str_copy(u->path, "/probe", sizeof(u->path));
	else if (*auth_end != '/' || strchr(auth_end, '#') != NULL ||
	    str_copy(u->path, auth_end, sizeof(u->path)) == -1) {
		snprintf(err, errlen, "probe URL \"%s\": expected a path that "
		    "starts with \"/\", without \"#\", of at most %zu "
		    "characters", q, sizeof(u->path) - 1);
		return -1;
	}
	str_copy(u->text, s, sizeof(u->text));
	return 0;
}

int
probe_listen_parse(const char *s, struct sockaddr_storage *ss,
    socklen_t *sslen, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 1], q[80];
	const char *colon, *h;
	unsigned long port;
	size_t n;

	memset(ss, 0, sizeof(*ss));
	str_printable(q, sizeof(q), s != NULL ? s : "");
	if (s == NULL || (colon = strrchr(s, ':')) == NULL)
		goto bad;
	if (parse_uint(colon + 1, 0, 65535, &port) == -1) {
		snprintf(err, errlen, "bad port in listen address \"%s\": "
		    "expected 0 to 65535", q);
		return -1;
	}
	h = s;
	n = (size_t)(colon - s);
	if (*s == '[') {
		if (n < 3 || colon[-1] != ']')
			goto bad;
		h++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(host))
		goto bad;
	memcpy(host, h, n);
	host[n] = '\0';
	if (*s == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			goto bad;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*sslen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		if (strnlen(host, 16) > 15 ||
		    inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			goto bad;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*sslen = sizeof(*s4);
	}
	return 0;
bad:
	snprintf(err, errlen, "bad listen address \"%s\": expected "
	    "A.B.C.D:PORT or [IPV6]:PORT, e.g. 0.0.0.0:8770", q);
	return -1;
}

/* ------------------------------------------------------------------ */
/* Tokens and the line exchanged with them */

bool
probe_token_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i >= PROBE_TOKEN_MAX)
			return false;
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		    s[i] == '-'))
			return false;
	}
	return i >= PROBE_TOKEN_MIN;
}

int
probe_token_new(char tok[PROBE_TOKEN_MAX + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[PROBE_TOKEN_LEN / 2];
	size_t i;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -1;
	for (i = 0; i < sizeof(r); i++) {
		tok[2 * i] = hex[r[i] >> 4];
		tok[2 * i + 1] = hex[r[i] & 0xf];
	}
	tok[PROBE_TOKEN_LEN] = '\0';
	return 0;
}

int
probe_line(char *buf, size_t len, bool ok, const char *tok)
{
	int n = snprintf(buf, len, "%s %s\n", ok ? PROBE_MAGIC_OK :
	    PROBE_MAGIC, tok);

	return n < 0 || (size_t)n >= len ? -1 : n;
}

int
probe_line_parse(const char *buf, size_t len, bool ok,
    char tok[PROBE_TOKEN_MAX + 1])
{
	const char *magic = ok ? PROBE_MAGIC_OK : PROBE_MAGIC;
	size_t mlen = strlen(magic), n;
	const char *nl = memchr(buf, '\n', len);

	if (nl == NULL)
		return len >= PROBE_LINE_MAX ? -1 : 0;
	n = (size_t)(nl - buf);
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	if (n <= mlen + 1 || memcmp(buf, magic, mlen) != 0 ||
	    buf[mlen] != ' ' || n - mlen - 1 > PROBE_TOKEN_MAX)
		return -1;
	memcpy(tok, buf + mlen + 1, n - mlen - 1);
	tok[n - mlen - 1] = '\0';
	return probe_token_ok(tok) ? 1 : -1;
}

/* ------------------------------------------------------------------ */
/* Requests */

static const char *const target_words[] = {
	"host", "hostname", "address", "addr", "ip", "target", "to",
	"destination", "dest", "dst", "server",
};

int
probe_req_parse(const char *body, size_t len, struct probe_req *r,
    char *field, size_t fieldlen, char *msg, size_t msglen)
{
	cJSON *root, *it, *jt;
	const char *names[PROBE_FIELDS_MAX];
	char name[48];
	size_t n = 0, i;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	r->proto = PM_TCP;
	field[0] = '\0';
	if ((root = cJSON_ParseWithLength(body, len)) == NULL ||
	    !cJSON_IsObject(root)) {
		snprintf(msg, msglen, "the body is not a JSON object: send "
		    "{\"port\":N,\"protocol\":\"tcp\"}");
		goto out;
	}
	for (it = root->child; it != NULL; it = it->next) {
		str_printable(name, sizeof(name), it->string != NULL ?
		    it->string : "");
		if (n == PROBE_FIELDS_MAX) {
			snprintf(msg, msglen, "too many fields: the fields are "
			    "port, protocol and token");
			goto out;
		}
		for (i = 0; i < n; i++) {
			if (strcmp(names[i], it->string) == 0) {
				str_copy(field, name, fieldlen);
				snprintf(msg, msglen, "%s: given twice", name);
				goto out;
			}
		}
		names[n++] = it->string;
		if (strcmp(it->string, "port") == 0 ||
		    strcmp(it->string, "protocol") == 0 ||
		    strcmp(it->string, "token") == 0)
			continue;
		str_copy(field, name, fieldlen);
		for (i = 0; i < nitems(target_words); i++)
			if (strcasecmp(it->string, target_words[i]) == 0)
				break;
		if (i < nitems(target_words))
			snprintf(msg, msglen, "%s: not accepted: the probe only "
			    "ever connects back to the address the request "
			    "comes from", name);
		else
			snprintf(msg, msglen, "%s: unknown field; the fields "
			    "are port, protocol and token", name);
		goto out;
	}

	jt = cJSON_GetObjectItemCaseSensitive(root, "port");
	if (jt == NULL || !cJSON_IsNumber(jt) || jt->valuedouble < 1 ||
	    jt->valuedouble > 65535 ||
	    jt->valuedouble != (double)(long)jt->valuedouble) {
		str_copy(field, "port", fieldlen);
		snprintf(msg, msglen, "port: %s; expected an integer from 1 "
		    "to 65535", jt == NULL ? "missing" : "bad value");
		goto out;
	}
	r->port = (uint16_t)jt->valuedouble;
	jt = cJSON_GetObjectItemCaseSensitive(root, "protocol");
	if (jt != NULL && (!cJSON_IsString(jt) ||
	    portspec_proto_parse(jt->valuestring, &r->proto) == -1)) {
		str_copy(field, "protocol", fieldlen);
		snprintf(msg, msglen, "protocol: expected \"tcp\" or \"udp\"");
		goto out;
	}
	jt = cJSON_GetObjectItemCaseSensitive(root, "token");
	if (jt != NULL && (!cJSON_IsString(jt) ||
	    !probe_token_ok(jt->valuestring))) {
		str_copy(field, "token", fieldlen);
		snprintf(msg, msglen, "token: expected %d to %d letters, "
		    "digits, '_' or '-'", PROBE_TOKEN_MIN, PROBE_TOKEN_MAX);
		goto out;
	}
	if (jt != NULL)
		str_copy(r->token, jt->valuestring, sizeof(r->token));
	if (r->proto == PM_UDP && r->token[0] == '\0') {
		str_copy(field, "token", fieldlen);
		snprintf(msg, msglen, "token: required for udp: a datagram "
		    "that nobody answers proves nothing, so the probe sends a "
		    "token for the requester to answer");
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Rate limit: a token bucket per source */

struct rate_ent {
	unsigned char	key[8];
	uint8_t		klen;
	double		tokens;
	int64_t		last;
};

struct probe_rate {
	pthread_mutex_t	 lock;
	double		 cap;
	double		 per_ms;
	struct rate_ent	*v;
	size_t		 n, max;
};

struct probe_rate *
probe_rate_new(unsigned per_minute, size_t max_sources)
{
	struct probe_rate *r;

	if (per_minute == 0 || max_sources == 0 ||
	    (r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	if ((r->v = calloc(max_sources, sizeof(*r->v))) == NULL) {
		free(r);
		return NULL;
	}
	pthread_mutex_init(&r->lock, NULL);
	r->cap = per_minute;
	r->per_ms = per_minute / 60000.0;
	r->max = max_sources;
	return r;
}

void
probe_rate_free(struct probe_rate *r)
{
	if (r == NULL)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r->v);
	free(r);
}

/* The bucket key: the IPv4 address, or the /64 of an IPv6 one. */
static size_t
rate_key(const struct sockaddr *sa, unsigned char key[8])
{
	if (sa->sa_family == AF_INET) {
		memcpy(key, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 4;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			memcpy(key, &s6->sin6_addr.s6_addr[12], 4);
			return 4;
		}
		memcpy(key, s6->sin6_addr.s6_addr, 8);
		return 8;
	}
	return 0;
}

static double
rate_refill(const struct probe_rate *r, const struct rate_ent *e,
    int64_t now)
{
	double t = e->tokens + (double)(now - e->last) * r->per_ms;

	return t > r->cap ? r->cap : t;
}

int
probe_rate_take(struct probe_rate *r, const struct sockaddr *sa, int64_t now,
    int *retry_after)
{
	unsigned char key[8];
	size_t klen = rate_key(sa, key), i, victim = 0;
	double best = -1, t;
	struct rate_ent *e = NULL;
	int rc = 0;

	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->n; i++) {
		if (r->v[i].klen == klen && memcmp(r->v[i].key, key, klen) == 0) {
			e = &r->v[i];
			break;
		}
	}
	if (e == NULL) {
		if (r->n < r->max)
			e = &r->v[r->n++];
		else {
			/* Forget the source that is closest to a full bucket. */
			for (i = 0; i < r->n; i++) {
				t = rate_refill(r, &r->v[i], now);
				if (t > best) {
					best = t;
					victim = i;
				}
			}
			e = &r->v[victim];
		}
		memcpy(e->key, key, klen);
		e->klen = (uint8_t)klen;
		e->tokens = r->cap;
		e->last = now;
	}
	e->tokens = rate_refill(r, e, now);
	e->last = now;
	if (e->tokens >= 1.0)
		e->tokens -= 1.0;
	else {
		/* Whole seconds, rounded up. */
		*retry_after = (int)((1.0 - e->tokens) / r->per_ms / 1000) + 1;
		if (*retry_after < 1)
			*retry_after = 1;
		rc = -1;
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Sockets with deadlines */

/*
 * Connects s (non-blocking) to sa until deadline.  Returns 0, or -1 with
 * errno (ETIMEDOUT when the deadline passed).
 */
static int
connect_until(int s, const struct sockaddr *sa, socklen_t len,
    int64_t deadline)
{
	struct pollfd pfd;
	socklen_t elen = sizeof(int);
	int e = 0, n;

	if (connect(s, sa, len) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return -1;
	for (;;) {
		pfd.fd = s;
		pfd.events = POLLOUT;
		n = poll(&pfd, 1, ms_until(deadline));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			errno = n == 0 ? ETIMEDOUT : errno;
			return -1;
		}
		break;
	}
	if (getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &elen) == -1)
		return -1;
	if (e != 0) {
		errno = e;
		return -1;
	}
	return 0;
}

/* Sends all of buf before deadline.  0 or -1. */
static int
send_until(int s, const char *buf, size_t len, int64_t deadline)
{
	struct pollfd pfd;
	ssize_t n;

	while (len > 0) {
		n = send(s, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			return -1;
		pfd.fd = s;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, ms_until(deadline)) == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
	return 0;
}

/*
 * Reads into buf until stop_at_newline sees "\n", the peer closes, buf is
 * full, or deadline.  Returns the bytes read (buf NUL-terminated), or -1
 * with errno (ETIMEDOUT when nothing came in time).
 */
static ssize_t
read_until(int s, char *buf, size_t cap, bool stop_at_newline,
    int64_t deadline)
{
	struct pollfd pfd;
	size_t len = 0;
	ssize_t n;
	int pr;

	while (len + 1 < cap) {
		pfd.fd = s;
		pfd.events = POLLIN;
		pr = poll(&pfd, 1, ms_until(deadline));
		if (pr == -1 && errno == EINTR)
			continue;
		if (pr <= 0) {
			if (len > 0)
				break;
			errno = ETIMEDOUT;
			return -1;
		}
		n = recv(s, buf + len, cap - 1 - len, 0);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n == -1)
			return len > 0 ? (ssize_t)len : -1;
		if (n == 0)
			break;
		len += (size_t)n;
		if (stop_at_newline && memchr(buf, '\n', len) != NULL)
			break;
	}
	buf[len] = '\0';
	return (ssize_t)len;
}

/* ------------------------------------------------------------------ */
/* Connecting back (the server's half) */

static int
connect_back_tcp(const struct sockaddr *dst, socklen_t dlen, const char *a,
    uint16_t port, const char *token, int timeout_ms,
    struct probe_outcome *out)
{
	int64_t t0 = mono_ms(), deadline = t0 + timeout_ms;
	char line[PROBE_LINE_MAX + 8], tok[PROBE_TOKEN_MAX + 1];
	ssize_t n;
	int s, e;

	if ((s = socket(dst->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		snprintf(out->detail, sizeof(out->detail), "socket: %s",
		    strerror(errno));
		return -1;
	}
	if (connect_until(s, dst, dlen, deadline) == -1) {
		e = errno;
		out->error = e;
		out->elapsed_ms = (int)(mono_ms() - t0);
		if (e == ETIMEDOUT)
			snprintf(out->detail, sizeof(out->detail), "no answer "
			    "from %s:%u within %d ms: a firewall, or a NAT "
			    "without this forward, drops the connection", a,
			    port, timeout_ms);
		else if (e == ECONNREFUSED)
			snprintf(out->detail, sizeof(out->detail), "%s:%u "
			    "refused the connection: nothing forwards or "
			    "listens on that port there", a, port);
		else
			snprintf(out->detail, sizeof(out->detail), "cannot "
			    "connect to %s:%u: %s", a, port, strerror(e));
		close(s);
		return 0;
	}
	out->reachable = true;
	out->elapsed_ms = (int)(mono_ms() - t0);
	if (token == NULL || token[0] == '\0') {
		snprintf(out->detail, sizeof(out->detail), "connected to %s:%u "
		    "in %d ms", a, port, out->elapsed_ms);
		close(s);
		return 0;
	}
	/* A connection made just in time still gets a moment to answer. */
	if (deadline < mono_ms() + PROBE_TOKEN_WAIT_MS)
		deadline = mono_ms() + PROBE_TOKEN_WAIT_MS;
	probe_line(line, sizeof(line), false, token);
	if (send_until(s, line, strlen(line), deadline) == 0 &&
	    (n = read_until(s, line, sizeof(line), true, deadline)) > 0 &&
	    probe_line_parse(line, (size_t)n, true, tok) == 1 &&
	    strcmp(tok, token) == 0)
		out->token_echoed = true;
	out->elapsed_ms = (int)(mono_ms() - t0);
	snprintf(out->detail, sizeof(out->detail), "connected to %s:%u in "
	    "%d ms; %s", a, port, out->elapsed_ms, out->token_echoed ?
	    "the token came back" : "but the token did not come back: "
	    "something else answers there");
	close(s);
	return 0;
}

static int
connect_back_udp(const struct sockaddr *dst, socklen_t dlen, const char *a,
    uint16_t port, const char *token, int timeout_ms,
    struct probe_outcome *out)
{
	int64_t t0 = mono_ms(), deadline = t0 + timeout_ms, next = t0;
	char line[PROBE_LINE_MAX + 8], buf[PROBE_LINE_MAX + 8];
	char tok[PROBE_TOKEN_MAX + 1];
	struct pollfd pfd;
	size_t llen;
	ssize_t n;
	int s, sent = 0;

	if ((s = socket(dst->sa_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1 || connect(s, dst, dlen) == -1) {
		snprintf(out->detail, sizeof(out->detail), "cannot send to "
		    "%s:%u: %s", a, port, strerror(errno));
		if (s != -1)
			close(s);
		return -1;
	}
	probe_line(line, sizeof(line), false, token);
	llen = strlen(line);
	while (mono_ms() < deadline) {
		/* Datagrams get lost: three tries, spread over the time. */
		if (mono_ms() >= next && sent < 3) {
			send(s, line, llen, MSG_NOSIGNAL);
			sent++;
			next = mono_ms() + timeout_ms / 4;
		}
		pfd.fd = s;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, ms_until(sent < 3 && next < deadline ? next :
		    deadline)) <= 0)
			continue;
		n = recv(s, buf, sizeof(buf) - 1, 0);
		if (n == -1 && errno == ECONNREFUSED) {
			out->error = ECONNREFUSED;
			out->elapsed_ms = (int)(mono_ms() - t0);
			snprintf(out->detail, sizeof(out->detail), "%s:%u "
			    "refused the datagram (ICMP port unreachable): "
			    "nothing forwards or listens on that port there", a,
			    port);
			close(s);
			return 0;
		}
		if (n > 0 && probe_line_parse(buf, (size_t)n, true, tok) == 1 &&
		    strcmp(tok, token) == 0) {
			out->reachable = out->token_echoed = true;
			out->elapsed_ms = (int)(mono_ms() - t0);
			snprintf(out->detail, sizeof(out->detail), "%s:%u "
			    "answered the token over UDP in %d ms", a, port,
			    out->elapsed_ms);
			close(s);
			return 0;
		}
	}
	out->error = ETIMEDOUT;
	out->elapsed_ms = (int)(mono_ms() - t0);
	snprintf(out->detail, sizeof(out->detail), "no answer to the token "
	    "from %s:%u/udp within %d ms", a, port, timeout_ms);
	close(s);
	return 0;
}

int
probe_connect_back(const struct sockaddr *peer, uint16_t port,
    enum pm_proto proto, const char *token, int timeout_ms,
    struct probe_outcome *out)
{
	struct sockaddr_storage dst;
	socklen_t dlen;
	char a[PROBE_ADDR_MAX];

	memset(out, 0, sizeof(*out));
	dlen = normalize_peer(peer, port, &dst);
	probe_addr_str((struct sockaddr *)&dst, a, sizeof(a));
	if (proto == PM_UDP) {
		if (token == NULL || token[0] == '\0') {
			snprintf(out->detail, sizeof(out->detail), "UDP needs a "
			    "token");
			return -1;
		}
		return connect_back_udp((struct sockaddr *)&dst, dlen, a, port,
		    token, timeout_ms, out);
	}
	return connect_back_tcp((struct sockaddr *)&dst, dlen, a, port, token,
	    timeout_ms, out);
}

/* ------------------------------------------------------------------ */
/* The server */

struct probe_server {
	struct MHD_Daemon	*mhd;
	int			 fd;
	struct probe_rate	*rate;
	unsigned		 per_minute;
	int			 connect_ms;
};

struct conn_body {
	char	buf[PROBE_BODY_MAX];
	size_t	len;
	bool	too_big;
};

static enum MHD_Result
respond(struct MHD_Connection *c, unsigned status, cJSON *obj,
    int retry_after)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *s, ra[16];

	s = cJSON_PrintUnformatted(obj);
	cJSON_Delete(obj);
	if (s == NULL)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(s), s,
	    MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(s);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, "Allow", "GET, POST");
	if (retry_after > 0) {
		snprintf(ra, sizeof(ra), "%d", retry_after);
		MHD_add_response_header(resp, "Retry-After", ra);
	}
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
respond_error(struct MHD_Connection *c, unsigned status, const char *field,
    const char *msg, int retry_after)
{
	cJSON *obj = cJSON_CreateObject();

	cJSON_AddStringToObject(obj, "error", msg);
	if (field != NULL)
		cJSON_AddStringToObject(obj, "field", field);
	return respond(c, status, obj, retry_after);
}

static enum MHD_Result
serve_probe(struct probe_server *ps, struct MHD_Connection *c,
    const struct conn_body *b)
{
	const union MHD_ConnectionInfo *ci;
	struct probe_req req;
	struct probe_outcome out;
	char src[PROBE_ADDR_MAX], field[48], msg[256];
	cJSON *obj;
	int retry;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || ci->client_addr == NULL)
		return MHD_NO;
	probe_addr_str(ci->client_addr, src, sizeof(src));
	/* Every request counts, good or bad: a flood is a flood. */
	if (probe_rate_take(ps->rate, ci->client_addr, mono_ms(), &retry) ==
	    -1) {
		log_info("probe from %s: rate limited", src);
		snprintf(msg, sizeof(msg), "rate limited: at most %u probes a "
		    "minute from %s; try again in %d s", ps->per_minute, src,
		    retry);
		return respond_error(c, MHD_HTTP_TOO_MANY_REQUESTS, NULL, msg,
		    retry);
	}
	if (b->too_big) {
		snprintf(msg, sizeof(msg), "the body is larger than %d bytes",
		    PROBE_BODY_MAX);
		return respond_error(c, MHD_HTTP_CONTENT_TOO_LARGE, NULL, msg,
		    0);
	}
	if (probe_req_parse(b->buf, b->len, &req, field, sizeof(field), msg,
	    sizeof(msg)) == -1) {
		log_info("probe from %s: refused: %s", src, msg);
		return respond_error(c, MHD_HTTP_BAD_REQUEST, field[0] != '\0' ?
		    field : NULL, msg, 0);
	}
	/* The one address this server ever connects to: the requester's. */
	probe_connect_back(ci->client_addr, req.port, req.proto, req.token,
	    ps->connect_ms, &out);
	log_info("probe from %s: %u/%s %s%s (%d ms)", src, req.port,
	    portspec_proto_str(req.proto), out.reachable ? "reachable" : "unreachable",
	    req.token[0] == '\0' ? "" : out.token_echoed ? ", token answered" :
	    ", token not answered", out.elapsed_ms);
	obj = cJSON_CreateObject();
	cJSON_AddBoolToObject(obj, "reachable", out.reachable);
	cJSON_AddStringToObject(obj, "source_seen", src);
	cJSON_AddNumberToObject(obj, "port", req.port);
	cJSON_AddStringToObject(obj, "protocol", portspec_proto_str(req.proto));
	if (req.token[0] != '\0')
		cJSON_AddBoolToObject(obj, "token_echoed", out.token_echoed);
	cJSON_AddNumberToObject(obj, "elapsed_ms", out.elapsed_ms);
	cJSON_AddStringToObject(obj, "detail", out.detail);
	return respond(c, MHD_HTTP_OK, obj, 0);
}

static enum MHD_Result
serve(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *data,
    size_t *size, void **con_cls)
{
	struct probe_server *ps = cls;
	struct conn_body *b = *con_cls;
	cJSON *obj;

	(void)version;
	if (b == NULL) {
		if ((b = calloc(1, sizeof(*b))) == NULL)
			return MHD_NO;
		*con_cls = b;
		return MHD_YES;
	}
	if (*size != 0) {
		if (b->len + *size > sizeof(b->buf))
			b->too_big = true;
		else {
			memcpy(b->buf + b->len, data, *size);
			b->len += *size;
		}
		*size = 0;
		return MHD_YES;
	}
	if (strcmp(url, "/probe") != 0 && strcmp(url, "/") != 0)
		return respond_error(c, MHD_HTTP_NOT_FOUND, NULL, "no such path: "
		    "POST /probe", 0);
	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) {
		obj = cJSON_CreateObject();
		cJSON_AddStringToObject(obj, "service", "portkeeper probe");
		cJSON_AddStringToObject(obj, "version", PK_VERSION);
		cJSON_AddStringToObject(obj, "usage", "POST /probe "
		    "{\"port\":N,\"protocol\":\"tcp\"}: connects back to the "
		    "address the request comes from");
		return respond(c, MHD_HTTP_OK, obj, 0);
	}
	if (strcmp(method, "POST") != 0 || strcmp(url, "/probe") != 0)
		return respond_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, NULL,
		    "use POST /probe", 0);
	return serve_probe(ps, c, b);
}

static void
conn_done(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	free(*con_cls);
	*con_cls = NULL;
}

struct probe_server *
probe_server_start(const struct probe_server_opts *o, struct pm_error *err)
{
	struct probe_server *ps;
	char a[80];
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_THREAD_PER_CONNECTION;
	int one = 1, zero = 0;

	if ((ps = calloc(1, sizeof(*ps))) == NULL) {
		pmerr_set(err, PME_INTERNAL, 0, "out of memory");
		return NULL;
	}
	ps->fd = -1;
	ps->per_minute = o->rate;
	ps->connect_ms = o->connect_ms;
	if ((ps->rate = probe_rate_new(o->rate, PROBE_RATE_SOURCES)) == NULL) {
		pmerr_set(err, PME_INTERNAL, 0, "out of memory");
		goto fail;
	}
	/*
	 * The socket is ours, not libmicrohttpd's, so that a failure to bind
	 * is reported with its real reason, and "[::]" takes IPv4 too.
	 */
	if ((ps->fd = socket(o->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC,
	    0)) == -1) {
		pmerr_set(err, PME_NETWORK, 0, "socket: %s", strerror(errno));
		goto fail;
	}
	setsockopt(ps->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (o->addr.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)&o->addr;

		flags |= MHD_USE_IPv6;
		setsockopt(ps->fd, IPPROTO_IPV6, IPV6_V6ONLY,
		    IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr) ? &zero : &one,
		    sizeof(int));
	}
	if (bind(ps->fd, (const struct sockaddr *)&o->addr, o->addrlen) == -1 ||
	    listen(ps->fd, 64) == -1) {
		probe_addr_str((const struct sockaddr *)&o->addr, a, sizeof(a));
		pmerr_set(err, PME_NETWORK, 0, "cannot listen on %s port %u: %s",
		    a, ntohs(((const struct sockaddr_in *)&o->addr)->sin_port),
		    strerror(errno));
		goto fail;
	}
	ps->mhd = MHD_start_daemon(flags, 0, NULL, NULL, serve, ps,
	    MHD_OPTION_LISTEN_SOCKET, ps->fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)PROBE_CONN_MAX,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)PROBE_CONN_PER_IP,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)PROBE_IDLE_S,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)PROBE_MEMORY_LIMIT,
	    MHD_OPTION_NOTIFY_COMPLETED, conn_done, NULL,
	    MHD_OPTION_END);
	if (ps->mhd == NULL) {
		pmerr_set(err, PME_INTERNAL, 0, "libmicrohttpd could not start");
		goto fail;
	}
	return ps;
fail:
	if (ps->fd != -1)
		close(ps->fd);
	probe_rate_free(ps->rate);
	free(ps);
	return NULL;
}

void
probe_server_addr(const struct probe_server *ps, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char a[PROBE_ADDR_MAX];

	if (getsockname(ps->fd, (struct sockaddr *)&ss, &sl) == -1) {
		str_copy(buf, "?", len);
		return;
	}
	probe_addr_str((struct sockaddr *)&ss, a, sizeof(a));
	snprintf(buf, len, ss.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", a,
	    ntohs(((struct sockaddr_in *)&ss)->sin_port));
}

void
probe_server_stop(struct probe_server *ps)
{
	if (ps == NULL)
		return;
	MHD_stop_daemon(ps->mhd);
	close(ps->fd);
	probe_rate_free(ps->rate);
	free(ps);
}

/* ------------------------------------------------------------------ */
/* The client */

int
probe_answer_parse(const char *buf, size_t len, const char *url,
    struct probe_answer *a, struct pm_error *err)
{
	const char *body, *hend;
	char first[48], msg[200];
	unsigned status;
	cJSON *root = NULL, *j;
	struct in6_addr a6;
	int rc = -1;

	memset(a, 0, sizeof(*a));
	{
		size_t n = strcspn(buf, "\r\n");

		if (n >= sizeof(first))
			n = sizeof(first) - 1;
		memcpy(first, buf, n);
		first[n] = '\0';
		str_printable(first, sizeof(first), first);
	}
	if (len < 12 || strncmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ' ||
	    sscanf(buf + 9, "%3u", &status) != 1) {
		pmerr_set(err, PME_BAD_REPLY, 0, "the server at %s is not a "
		    "portkeeper probe server: it answered \"%s\"", url, first);
		return -1;
	}
	if ((hend = strstr(buf, "\r\n\r\n")) != NULL)
		body = hend + 4;
	else if ((hend = strstr(buf, "\n\n")) != NULL)
		body = hend + 2;
	else {
		pmerr_set(err, PME_BAD_REPLY, 0, "the probe server at %s sent "
		    "an incomplete answer", url);
		return -1;
	}
	root = cJSON_ParseWithLength(body, len - (size_t)(body - buf));
	if (root == NULL || !cJSON_IsObject(root)) {
		pmerr_set(err, PME_BAD_REPLY, 0, "the server at %s is not a "
		    "portkeeper probe server: it answered \"%s\" without JSON",
		    url, first);
		goto out;
	}
	if (status != 200) {
		j = cJSON_GetObjectItemCaseSensitive(root, "error");
		str_printable(msg, sizeof(msg), cJSON_IsString(j) ?
		    j->valuestring : first);
		if (status == 429)
			pmerr_set(err, PME_REFUSED, status, "the probe server at "
			    "%s turned the request down: %s", url, msg);
		else
			pmerr_set(err, PME_REFUSED, status, "the probe server at "
			    "%s refused the request (HTTP %u): %s", url, status,
			    msg);
		goto out;
	}
	j = cJSON_GetObjectItemCaseSensitive(root, "reachable");
	if (!cJSON_IsBool(j))
		goto bad;
	a->reachable = cJSON_IsTrue(j);
	j = cJSON_GetObjectItemCaseSensitive(root, "source_seen");
	if (!cJSON_IsString(j) || strlen(j->valuestring) >= PROBE_ADDR_MAX ||
	    inet_pton(strchr(j->valuestring, ':') != NULL ? AF_INET6 : AF_INET,
	    j->valuestring, &a6) != 1)
		goto bad;
	str_copy(a->source_seen, j->valuestring, sizeof(a->source_seen));
	j = cJSON_GetObjectItemCaseSensitive(root, "token_echoed");
	a->token_echoed = cJSON_IsTrue(j);
	j = cJSON_GetObjectItemCaseSensitive(root, "detail");
	if (cJSON_IsString(j))
		str_printable(a->detail, sizeof(a->detail), j->valuestring);
	rc = 0;
	goto out;
bad:
	pmerr_set(err, PME_BAD_REPLY, 0, "the probe server at %s answered "
	    "without \"reachable\" or a valid \"source_seen\"", url);
out:
	cJSON_Delete(root);
	return rc;
}

int
probe_ask(const struct probe_url *u, uint16_t port, enum pm_proto proto,
    const char *token, int64_t deadline, struct probe_answer *a,
    struct pm_error *err)
{
	struct sockaddr_in sin;
	char body[160], req[768], hostport[300], *resp = NULL;
	int64_t t0 = mono_ms();
	ssize_t n;
	int s = -1, e, rc = -1;

	memset(a, 0, sizeof(*a));
	if (u->host_v6) {
		pmerr_set(err, PME_USAGE, 0, "the probe URL %s names an IPv6 "
		    "address, but port forwarding is IPv4: give the probe "
		    "server's IPv4 address, or a name that has one", u->text);
		return -1;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(u->port);
	if (inet_pton(AF_INET, u->host, &sin.sin_addr) != 1) {
		struct addrinfo hints, *res = NULL;

		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_INET;
		hints.ai_socktype = SOCK_STREAM;
		if ((e = getaddrinfo(u->host, NULL, &hints, &res)) != 0 ||
		    res == NULL) {
			pmerr_set(err, PME_NETWORK, 0, "cannot find the IPv4 "
			    "address of the probe server %s: %s", u->host,
			    gai_strerror(e));
			return -1;
		}
		sin.sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
		freeaddrinfo(res);
	}
	if ((s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		pmerr_set(err, PME_NETWORK, 0, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect_until(s, (struct sockaddr *)&sin, sizeof(sin), deadline) ==
	    -1) {
		e = errno;
		if (e == ETIMEDOUT)
			pmerr_set(err, PME_TIMEOUT, 0, "the probe server at %s "
			    "did not answer within %d ms", u->text,
			    (int)(mono_ms() - t0));
		else
			pmerr_set(err, PME_NETWORK, 0, "cannot reach the probe "
			    "server at %s: %s%s", u->text, strerror(e),
			    e == ECONNREFUSED ? " (is portkeeper probe-server "
			    "running there, on that port?)" : "");
		goto out;
	}
	if (token != NULL && token[0] != '\0')
		snprintf(body, sizeof(body), "{\"port\":%u,\"protocol\":\"%s\","
		    "\"token\":\"%s\"}", port, portspec_proto_str(proto), token);
	else
		snprintf(body, sizeof(body), "{\"port\":%u,\"protocol\":\"%s\"}",
		    port, portspec_proto_str(proto));
	if (u->port == 80)
		snprintf(hostport, sizeof(hostport), "%s", u->host);
	else
		snprintf(hostport, sizeof(hostport), "%s:%u", u->host, u->port);
	n = snprintf(req, sizeof(req), "POST %s HTTP/1.0\r\nHost: %s\r\n"
	    "User-Agent: portkeeper/%s\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", u->path,
	    hostport, PK_VERSION, strlen(body), body);
	if (n < 0 || (size_t)n >= sizeof(req) ||
	    send_until(s, req, (size_t)n, deadline) == -1) {
		pmerr_set(err, PME_NETWORK, 0, "cannot send to the probe server "
		    "at %s: %s", u->text, strerror(errno));
		goto out;
	}
	if ((resp = malloc(PROBE_ANSWER_MAX + 1)) == NULL) {
		pmerr_set(err, PME_INTERNAL, 0, "out of memory");
		goto out;
	}
	if ((n = read_until(s, resp, PROBE_ANSWER_MAX + 1, false, deadline)) <=
	    0) {
		if (n == -1 && errno == ETIMEDOUT)
			pmerr_set(err, PME_TIMEOUT, 0, "the probe server at %s "
			    "did not answer within %d ms", u->text,
			    (int)(mono_ms() - t0));
		else
			pmerr_set(err, PME_BAD_REPLY, 0, "the probe server at %s "
			    "closed the connection without an answer", u->text);
		goto out;
	}
	rc = probe_answer_parse(resp, (size_t)n, u->text, a, err);
	a->elapsed_ms = (int)(mono_ms() - t0);
out:
	free(resp);
	if (s != -1)
		close(s);
	return rc;
}
