/*
 * The probe server and client: URL and request parsing, tokens, the rate
 * limit, answers, and a real exchange on the loopback interface.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probe.h"
#include "util.h"

static void
assert_has(const char *s, const char *needle)
{
	if (strstr(s, needle) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", s, needle);
}

static void
test_url(void **state)
{
	static const struct {
		const char	*url, *host, *path;
		uint16_t	 port;
		bool		 v6;
	} good[] = {
		{ "http://11.22.33.1:8770", "11.22.33.1", "/probe", 8770, false },
		{ "http://vps.example.net", "vps.example.net", "/probe", 80,
		    false },
		{ "http://vps.example.net/", "vps.example.net", "/probe", 80,
		    false },
		{ "HTTP://Box-1.example:1/pk/probe?x=1", "Box-1.example",
		    "/pk/probe?x=1", 1, false },
		{ "http://[2001:db8::1]:8770", "2001:db8::1", "/probe", 8770,
		    true },
		{ "http://[::1]", "::1", "/probe", 80, true },
	};
	static const struct {
		const char	*url, *needle;
	} bad[] = {
		{ "", "empty" },
		{ "https://vps.example.net", "https is not supported" },
		{ "ftp://vps.example.net", "must start with http://" },
		{ "vps.example.net:8770", "must start with http://" },
		{ "http://", "no host" },
		{ "http://:8770", "no host" },
		{ "http://a b", "space" },
		{ "http://a\tb", "control" },
		{ "http://user:pw@vps", "passwords" },
		{ "http://vps:0", "bad port" },
		{ "http://vps:65536", "bad port" },
		{ "http://vps:http", "bad port" },
		{ "http://vps:", "\":PORT\"" },
		{ "http://vps_1", "bad character '_'" },
		{ "http://[::1", "brackets" },
		{ "http://[nope]:80", "not an IPv6 address" },
		{ "http://[::1]x", "\":PORT\"" },
		{ "http://vps/a#frag", "path" },
		{ "http://vps#frag", "path" },
	};
	struct probe_url u;
	char err[256], longurl[400];
	size_t i;

	(void)state;
	for (i = 0; i < nitems(good); i++) {
		if (probe_url_parse(good[i].url, &u, err, sizeof(err)) != 0)
			fail_msg("%s: %s", good[i].url, err);
		assert_string_equal(u.host, good[i].host);
		assert_string_equal(u.path, good[i].path);
		assert_int_equal(u.port, good[i].port);
		assert_int_equal(u.host_v6, good[i].v6);
		assert_string_equal(u.text, good[i].url);
	}
	for (i = 0; i < nitems(bad); i++) {
		err[0] = '\0';
		if (probe_url_parse(bad[i].url, &u, err, sizeof(err)) != -1)
			fail_msg("accepted \"%s\"", bad[i].url);
		assert_has(err, bad[i].needle);
		/* Messages stay printable whatever came in. */
		for (size_t k = 0; err[k] != '\0'; k++)
			assert_true(err[k] >= 0x20 && err[k] < 0x7f);
	}
	memset(longurl, 'a', sizeof(longurl) - 1);
	memcpy(longurl, "http://", 7);
	longurl[sizeof(longurl) - 1] = '\0';
	assert_int_equal(probe_url_parse(longurl, &u, err, sizeof(err)), -1);
	assert_has(err, "longer than");
	assert_int_equal(probe_url_parse(NULL, &u, err, sizeof(err)), -1);
}

static void
test_listen(void **state)
{
	static const char *const bad[] = {
		"8770", ":8770", "1.2.3.4", "1.2.3.4:", "1.2.3.4:65536",
		"1.2.3.4:-1", "::1:8770", "[::1]8770", "[::1]", "[]:80",
		"a.b.c.d:1", "1.2.3.4.5:1", "[1.2.3.4]:80", "1.2.3.4:80x", "",
	};
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	char err[200];
	size_t i;

	(void)state;
	assert_int_equal(probe_listen_parse("0.0.0.0:8770", &ss, &len, err,
	    sizeof(err)), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(s4->sin_port), 8770);
	assert_int_equal(len, sizeof(*s4));
	assert_int_equal(probe_listen_parse("[::]:8770", &ss, &len, err,
	    sizeof(err)), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(s6->sin6_port), 8770);
	assert_true(IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr));
	assert_int_equal(probe_listen_parse("[2001:db8::7]:0", &ss, &len, err,
	    sizeof(err)), 0);
	assert_int_equal(ntohs(s6->sin6_port), 0);
	for (i = 0; i < nitems(bad); i++) {
		if (probe_listen_parse(bad[i], &ss, &len, err, sizeof(err)) !=
		    -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_true(strlen(err) > 0);
	}
}

static void
expect_req_error(const char *body, const char *field, const char *needle)
{
	struct probe_req r;
	char f[48], msg[256];

	if (probe_req_parse(body, strlen(body), &r, f, sizeof(f), msg,
	    sizeof(msg)) != -1)
		fail_msg("accepted %s", body);
	assert_string_equal(f, field);
	assert_has(msg, needle);
	/* The message names the field it is about. */
	if (field[0] != '\0')
		assert_has(msg, field);
}

static void
test_request(void **state)
{
	struct probe_req r;
	char f[48], msg[256];
	const char *ok1 = "{\"port\":80}";
	const char *ok2 = "{\"token\":\"abcdEFGH_-09\",\"protocol\":\"udp\","
	    "\"port\":65535}";

	(void)state;
	assert_int_equal(probe_req_parse(ok1, strlen(ok1), &r, f, sizeof(f),
	    msg, sizeof(msg)), 0);
	assert_int_equal(r.port, 80);
	assert_int_equal(r.proto, PM_TCP);
	assert_string_equal(r.token, "");
	assert_int_equal(probe_req_parse(ok2, strlen(ok2), &r, f, sizeof(f),
	    msg, sizeof(msg)), 0);
	assert_int_equal(r.port, 65535);
	assert_int_equal(r.proto, PM_UDP);
	assert_string_equal(r.token, "abcdEFGH_-09");

	expect_req_error("", "", "not a JSON object");
	expect_req_error("port=80", "", "not a JSON object");
	expect_req_error("[80]", "", "not a JSON object");
	expect_req_error("{\"port\":80", "", "not a JSON object");
	expect_req_error("{}", "port", "missing");
	expect_req_error("{\"port\":0}", "port", "1 to 65535");
	expect_req_error("{\"port\":65536}", "port", "1 to 65535");
	expect_req_error("{\"port\":-80}", "port", "1 to 65535");
	expect_req_error("{\"port\":80.5}", "port", "integer");
	expect_req_error("{\"port\":\"80\"}", "port", "integer");
	expect_req_error("{\"port\":1e9}", "port", "integer");
	expect_req_error("{\"port\":80,\"protocol\":\"sctp\"}", "protocol",
	    "\"tcp\" or \"udp\"");
	expect_req_error("{\"port\":80,\"protocol\":6}", "protocol", "tcp");
	expect_req_error("{\"port\":80,\"token\":\"short\"}", "token",
	    "8 to 64");
	expect_req_error("{\"port\":80,\"token\":\"has space in it\"}",
	    "token", "letters");
	expect_req_error("{\"port\":80,\"token\":12345678}", "token",
	    "letters");
	expect_req_error("{\"port\":80,\"token\":\"0123456789012345678901234"
	    "5678901234567890123456789012345678901234\"}", "token", "8 to 64");
	expect_req_error("{\"port\":80,\"protocol\":\"udp\"}", "token",
	    "required for udp");
	/* Nobody gets to name another address. */
	expect_req_error("{\"port\":80,\"host\":\"203.0.113.9\"}", "host",
	    "not accepted");
	expect_req_error("{\"address\":\"203.0.113.9\",\"port\":80}",
	    "address", "connects back to the address the request comes from");
	expect_req_error("{\"port\":80,\"Target\":\"x\"}", "Target",
	    "not accepted");
	expect_req_error("{\"port\":80,\"colour\":\"red\"}", "colour",
	    "unknown field");
	expect_req_error("{\"port\":80,\"port\":81}", "port", "given twice");
	expect_req_error("{\"port\":80,\"a\":1,\"b\":1,\"c\":1,\"d\":1,\"e\":1,"
	    "\"f\":1,\"g\":1,\"h\":1}", "a", "unknown field");
	/* The length given is the length used: no reading past it. */
	assert_int_equal(probe_req_parse("{\"port\":80}garbage", 11, &r, f,
	    sizeof(f), msg, sizeof(msg)), 0);
	assert_int_equal(probe_req_parse("{\"port\":80}", 5, &r, f, sizeof(f),
	    msg, sizeof(msg)), -1);
}

static void
test_tokens(void **state)
{
	char a[PROBE_TOKEN_MAX + 1], b[PROBE_TOKEN_MAX + 1];
	char line[PROBE_LINE_MAX + 8], tok[PROBE_TOKEN_MAX + 1];
	int n;

	(void)state;
	assert_int_equal(probe_token_new(a), 0);
	assert_int_equal(probe_token_new(b), 0);
	assert_int_equal(strlen(a), PROBE_TOKEN_LEN);
	assert_true(probe_token_ok(a));
	assert_string_not_equal(a, b);
	assert_true(probe_token_ok("abcdefgh"));
	assert_false(probe_token_ok("abcdefg"));
	assert_false(probe_token_ok("abcd efgh"));
	assert_false(probe_token_ok("abcdefgh\n"));
	assert_false(probe_token_ok(""));

	n = probe_line(line, sizeof(line), false, a);
	assert_int_equal(n, (int)strlen(line));
	assert_int_equal(probe_line_parse(line, (size_t)n, false, tok), 1);
	assert_string_equal(tok, a);
	/* A hello is not an answer, and the other way round. */
	assert_int_equal(probe_line_parse(line, (size_t)n, true, tok), -1);
	n = probe_line(line, sizeof(line), true, a);
	assert_int_equal(probe_line_parse(line, (size_t)n, true, tok), 1);
	assert_string_equal(tok, a);
	assert_int_equal(probe_line_parse(line, (size_t)n, false, tok), -1);
	/* Not complete yet; CRLF; garbage; too long without a newline. */
	assert_int_equal(probe_line_parse(line, (size_t)n - 1, true, tok), 0);
	assert_int_equal(probe_line_parse("PORTKEEPER-PROBE abcdefgh\r\n", 27,
	    false, tok), 1);
	assert_string_equal(tok, "abcdefgh");
	assert_int_equal(probe_line_parse("GET / HTTP/1.0\r\n", 16, false, tok),
	    -1);
	assert_int_equal(probe_line_parse("PORTKEEPER-PROBE a b c d e\n", 27,
	    false, tok), -1);
	assert_int_equal(probe_line_parse("PORTKEEPER-PROBE \n", 18, false,
	    tok), -1);
	memset(line, 'x', sizeof(line));
	assert_int_equal(probe_line_parse(line, sizeof(line), false, tok), -1);
	assert_int_equal(probe_line(line, 10, false, a), -1);
}

static struct sockaddr_storage
sa(const char *addr)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(addr, ':') != NULL) {
		ss.ss_family = AF_INET6;
		inet_pton(AF_INET6, addr,
		    &((struct sockaddr_in6 *)&ss)->sin6_addr);
	} else {
		ss.ss_family = AF_INET;
		inet_pton(AF_INET, addr, &((struct sockaddr_in *)&ss)->sin_addr);
	}
	return ss;
}

static int
take(struct probe_rate *r, const char *addr, int64_t now, int *retry)
{
	struct sockaddr_storage ss = sa(addr);

	return probe_rate_take(r, (struct sockaddr *)&ss, now, retry);
}

static void
test_rate(void **state)
{
	struct probe_rate *r;
	int retry = 0, i;

	(void)state;
	assert_null(probe_rate_new(0, 10));
	r = probe_rate_new(3, 8);
	assert_non_null(r);
	for (i = 0; i < 3; i++)
		assert_int_equal(take(r, "203.0.113.7", 1000, &retry), 0);
	assert_int_equal(take(r, "203.0.113.7", 1000, &retry), -1);
	/* 3 a minute: the next one in 20 s. */
	assert_in_range(retry, 19, 21);
	/* Others are not affected. */
	assert_int_equal(take(r, "203.0.113.8", 1000, &retry), 0);
	/* The same host as IPv4-mapped IPv6 is the same bucket. */
	assert_int_equal(take(r, "::ffff:203.0.113.7", 1000, &retry), -1);
	/* Refilled evenly: one more after 20 s, not two. */
	assert_int_equal(take(r, "203.0.113.7", 21000, &retry), 0);
	assert_int_equal(take(r, "203.0.113.7", 21000, &retry), -1);
	/* A long pause refills the bucket, but only to its size. */
	for (i = 0; i < 3; i++)
		assert_int_equal(take(r, "203.0.113.7", 10000000, &retry), 0);
	assert_int_equal(take(r, "203.0.113.7", 10000000, &retry), -1);

	/* IPv6 counts per /64. */
	for (i = 0; i < 3; i++)
		assert_int_equal(take(r, "2001:db8:1:2::1", 0, &retry), 0);
	assert_int_equal(take(r, "2001:db8:1:2:ffff::9", 0, &retry), -1);
	assert_int_equal(take(r, "2001:db8:1:3::1", 0, &retry), 0);
	probe_rate_free(r);

	/* A full table forgets its most idle source, not a busy one. */
	r = probe_rate_new(2, 2);
	assert_int_equal(take(r, "198.51.100.1", 0, &retry), 0);
	assert_int_equal(take(r, "198.51.100.1", 0, &retry), 0);
	assert_int_equal(take(r, "198.51.100.2", 0, &retry), 0);
	assert_int_equal(take(r, "198.51.100.3", 0, &retry), 0);
	assert_int_equal(take(r, "198.51.100.1", 0, &retry), -1);
	probe_rate_free(r);
	probe_rate_free(NULL);
}

static void
test_answer(void **state)
{
	static const char ok[] = "HTTP/1.0 200 OK\r\nContent-Type: "
	    "application/json\r\n\r\n{\"reachable\":true,\"source_seen\":"
	    "\"11.22.33.2\",\"token_echoed\":true,\"detail\":\"in\\u0007 3 ms\"}";
	static const struct {
		const char	*text;
		enum pm_errcode	 code;
		const char	*needle;
	} bad[] = {
		{ "SSH-2.0-OpenSSH_9.2\r\n", PME_BAD_REPLY, "not a portkeeper "
		    "probe server" },
		{ "HTTP/1.0 200 OK\r\n", PME_BAD_REPLY, "incomplete" },
		{ "HTTP/1.0 200 OK\r\n\r\n<html>", PME_BAD_REPLY,
		    "without JSON" },
		{ "HTTP/1.0 200 OK\r\n\r\n{\"source_seen\":\"1.2.3.4\"}",
		    PME_BAD_REPLY, "reachable" },
		{ "HTTP/1.0 200 OK\r\n\r\n{\"reachable\":true,\"source_seen\":"
		    "\"1.2.3\"}", PME_BAD_REPLY, "source_seen" },
		{ "HTTP/1.0 200 OK\r\n\r\n{\"reachable\":1,\"source_seen\":"
		    "\"1.2.3.4\"}", PME_BAD_REPLY, "reachable" },
		{ "HTTP/1.0 429 Too Many Requests\r\nRetry-After: 6\r\n\r\n"
		    "{\"error\":\"rate limited: try again in 6 s\"}", PME_REFUSED,
		    "rate limited" },
		{ "HTTP/1.0 400 Bad Request\r\n\r\n{\"error\":\"port: bad\","
		    "\"field\":\"port\"}", PME_REFUSED, "port: bad" },
	};
	struct probe_answer a;
	struct pm_error err;
	size_t i;

	(void)state;
	assert_int_equal(probe_answer_parse(ok, strlen(ok), "http://x", &a,
	    &err), 0);
	assert_true(a.reachable);
	assert_true(a.token_echoed);
	assert_string_equal(a.source_seen, "11.22.33.2");
	/* A control byte from the far end is not printed as is. */
	assert_string_equal(a.detail, "in? 3 ms");
	for (i = 0; i < nitems(bad); i++) {
		pmerr_clear(&err);
		if (probe_answer_parse(bad[i].text, strlen(bad[i].text),
		    "http://x", &a, &err) != -1)
			fail_msg("accepted %s", bad[i].text);
		assert_int_equal(err.code, bad[i].code);
		assert_has(err.msg, bad[i].needle);
		assert_has(err.msg, "http://x");
	}
}

/* ------------------------------------------------------------------ */
/* A real exchange on 127.0.0.1 */

static struct probe_server *
server(unsigned rate, struct probe_url *u)
{
	struct probe_server_opts o;
	struct pm_error err;
	struct probe_server *ps;
	char where[80], url[120], e[200];

	memset(&o, 0, sizeof(o));
	assert_int_equal(probe_listen_parse("127.0.0.1:0", &o.addr, &o.addrlen,
	    e, sizeof(e)), 0);
	o.rate = rate;
	o.connect_ms = 500;
	ps = probe_server_start(&o, &err);
	if (ps == NULL)
		fail_msg("%s", err.msg);
	probe_server_addr(ps, where, sizeof(where));
	snprintf(url, sizeof(url), "http://%s", where);
	assert_int_equal(probe_url_parse(url, u, e, sizeof(e)), 0);
	return ps;
}

/* A TCP listener on 127.0.0.1 that answers one probe line. */
struct responder {
	int		fd;
	uint16_t	port;
	bool		answer;
	pthread_t	tid;
};

static void *
respond(void *arg)
{
	struct responder *r = arg;
	char buf[PROBE_LINE_MAX + 8], tok[PROBE_TOKEN_MAX + 1], line[128];
	struct pollfd pfd = { r->fd, POLLIN, 0 };
	ssize_t n;
	int c;

	if (poll(&pfd, 1, 3000) != 1 || (c = accept(r->fd, NULL, NULL)) == -1)
		return NULL;
	n = recv(c, buf, sizeof(buf) - 1, 0);
	if (n > 0 && r->answer && probe_line_parse(buf, (size_t)n, false,
	    tok) == 1 && probe_line(line, sizeof(line), true, tok) > 0)
		send(c, line, strlen(line), 0);
	close(c);
	return NULL;
}

static void
responder_start(struct responder *r, bool answer)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(r->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(r->fd, 4), 0);
	getsockname(r->fd, (struct sockaddr *)&sin, &sl);
	r->port = ntohs(sin.sin_port);
	r->answer = answer;
	pthread_create(&r->tid, NULL, respond, r);
}

static void
responder_stop(struct responder *r)
{
	pthread_join(r->tid, NULL);
	close(r->fd);
}

/* A port on 127.0.0.1 where nothing listens. */
static uint16_t
closed_port(void)
{
	struct responder r;

	responder_start(&r, false);
	shutdown(r.fd, SHUT_RDWR);
	responder_stop(&r);
	return r.port;
}

/* Sends a raw request; returns the answer (static). */
static const char *
raw(const struct probe_url *u, const char *req)
{
	static char buf[4096];
	struct sockaddr_in sin;
	size_t len = 0;
	ssize_t n;
	int s;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(u->port);
	inet_pton(AF_INET, u->host, &sin.sin_addr);
	s = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(send(s, req, strlen(req), 0), (ssize_t)strlen(req));
	while (len + 1 < sizeof(buf) &&
	    (n = recv(s, buf + len, sizeof(buf) - 1 - len, 0)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(s);
	return buf;
}

/* POSTs body to /probe with its right length. */
static const char *
post(const struct probe_url *u, const char *body)
{
	char req[2048];

	snprintf(req, sizeof(req), "POST /probe HTTP/1.0\r\nContent-Length: "
	    "%zu\r\n\r\n%s", strlen(body), body);
	return raw(u, req);
}

static void
test_exchange(void **state)
{
	struct probe_server *ps;
	struct probe_url u;
	struct probe_answer a;
	struct pm_error err;
	struct responder r;
	char tok[PROBE_TOKEN_MAX + 1], req[512], body[64];
	const char *ans;
	int i;

	(void)state;
	ps = server(100, &u);

	/* Open port: reachable, and the source is what the server saw. */
	responder_start(&r, false);
	assert_int_equal(probe_ask(&u, r.port, PM_TCP, NULL,
	    mono_ms() + 3000, &a, &err), 0);
	responder_stop(&r);
	assert_true(a.reachable);
	assert_false(a.token_echoed);
	assert_string_equal(a.source_seen, "127.0.0.1");

	/* With a token: only an answer with that token counts. */
	probe_token_new(tok);
	responder_start(&r, true);
	assert_int_equal(probe_ask(&u, r.port, PM_TCP, tok, mono_ms() + 3000,
	    &a, &err), 0);
	responder_stop(&r);
	assert_true(a.reachable);
	assert_true(a.token_echoed);
	responder_start(&r, false);
	assert_int_equal(probe_ask(&u, r.port, PM_TCP, tok, mono_ms() + 3000,
	    &a, &err), 0);
	responder_stop(&r);
	assert_true(a.reachable);
	assert_false(a.token_echoed);
	assert_has(a.detail, "did not come back");

	/* Closed port. */
	assert_int_equal(probe_ask(&u, closed_port(), PM_TCP, NULL,
	    mono_ms() + 3000, &a, &err), 0);
	assert_false(a.reachable);
	assert_has(a.detail, "refused");

	/* UDP: a datagram that nobody answers is not "reachable". */
	assert_int_equal(probe_ask(&u, closed_port(), PM_UDP, tok,
	    mono_ms() + 3000, &a, &err), 0);
	assert_false(a.reachable);

	/*
	 * A forwarded-for header changes nothing: the server connects back
	 * to the connection's own address.
	 */
	responder_start(&r, false);
	snprintf(body, sizeof(body), "{\"port\":%u}", r.port);
	snprintf(req, sizeof(req), "POST /probe HTTP/1.0\r\nX-Forwarded-For: "
	    "203.0.113.9\r\nForwarded: for=203.0.113.9\r\nContent-Length: "
	    "%zu\r\n\r\n%s", strlen(body), body);
	ans = raw(&u, req);
	responder_stop(&r);
	assert_has(ans, "200 OK");
	assert_has(ans, "\"source_seen\":\"127.0.0.1\"");
	assert_has(ans, "\"reachable\":true");

	/* Refusals name the field. */
	ans = post(&u, "{\"port\":22,\"host\":\"203.0.113.9\",\"x\":1}");
	assert_has(ans, "400 Bad Request");
	assert_has(ans, "\"field\":\"host\"");
	assert_has(ans, "not accepted");
	ans = post(&u, "{\"port\":}");
	assert_has(ans, "400 Bad Request");
	ans = raw(&u, "GET /nothing HTTP/1.0\r\n\r\n");
	assert_has(ans, "404");
	ans = raw(&u, "DELETE /probe HTTP/1.0\r\n\r\n");
	assert_has(ans, "405");
	ans = raw(&u, "GET / HTTP/1.0\r\n\r\n");
	assert_has(ans, "portkeeper probe");
	{
		char big[PROBE_BODY_MAX + 200];

		snprintf(big, sizeof(big), "POST /probe HTTP/1.0\r\n"
		    "Content-Length: %d\r\n\r\n", PROBE_BODY_MAX + 1);
		memset(big + strlen(big), ' ', PROBE_BODY_MAX + 1);
		big[sizeof(big) - 1] = '\0';
		ans = raw(&u, big);
		assert_has(ans, "413");
	}
	probe_server_stop(ps);

	/* The rate limit: 3 a minute, the 4th is refused with Retry-After. */
	ps = server(3, &u);
	for (i = 0; i < 3; i++)
		assert_int_equal(probe_ask(&u, closed_port(), PM_TCP, NULL,
		    mono_ms() + 3000, &a, &err), 0);
	assert_int_equal(probe_ask(&u, closed_port(), PM_TCP, NULL,
	    mono_ms() + 3000, &a, &err), -1);
	assert_int_equal(err.code, PME_REFUSED);
	assert_int_equal(err.router_code, 429);
	assert_has(err.msg, "rate limited");
	ans = post(&u, "{\"port\":22}");
	assert_has(ans, "429");
	assert_has(ans, "Retry-After: ");
	probe_server_stop(ps);
}

static void
test_client_errors(void **state)
{
	struct probe_url u;
	struct probe_answer a;
	struct pm_error err;
	char e[200], url[64];

	(void)state;
	/* Nobody there. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", closed_port());
	assert_int_equal(probe_url_parse(url, &u, e, sizeof(e)), 0);
	assert_int_equal(probe_ask(&u, 80, PM_TCP, NULL, mono_ms() + 2000, &a,
	    &err), -1);
	assert_int_equal(err.code, PME_NETWORK);
	assert_has(err.msg, "probe-server running");
	/* Over IPv6 the probe would test another path than the forward's. */
	assert_int_equal(probe_url_parse("http://[::1]:1", &u, e, sizeof(e)),
	    0);
	assert_int_equal(probe_ask(&u, 80, PM_TCP, NULL, mono_ms() + 2000, &a,
	    &err), -1);
	assert_has(err.msg, "IPv4");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_answer),
		cmocka_unit_test(test_exchange),
		cmocka_unit_test(test_client_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
