/*
 * What the probe's client and server share: the wire format (see probe.h
 * for the exchange), its parsers, and sockets with deadlines.  The server
 * is in probe_server.c, the client in probe_client.c.
 */
#include <sys/random.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "probe.h"
#include "util.h"

#define PROBE_MAGIC		"PORTKEEPER-PROBE"
#define PROBE_MAGIC_OK		"PORTKEEPER-PROBE-OK"
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
/* Sockets with deadlines */

/*
 * Connects s (non-blocking) to sa until deadline.  Returns 0, or -1 with
 * errno (ETIMEDOUT when the deadline passed).
 */
int
probe_connect_until(int s, const struct sockaddr *sa, socklen_t len,
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
int
probe_send_until(int s, const char *buf, size_t len, int64_t deadline)
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
ssize_t
probe_read_until(int s, char *buf, size_t cap, bool stop_at_newline,
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

