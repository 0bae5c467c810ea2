/*
 * The web API's request-safety checks: Host allow-list (DNS rebinding),
 * same-origin (CSRF), JSON content type, failed-login limiter, and the
 * allowed_hosts parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "websec.h"

static const char *const allowed[] = { "pi.local", "portkeeper.home.arpa." };

static void
check_hosts(const char *const *hosts, size_t n, bool want)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (websec_host_allowed(hosts[i], allowed, nitems(allowed)) !=
		    want)
			fail_msg("Host \"%s\": expected %s", hosts[i],
			    want ? "allowed" : "refused");
	}
}

static void
test_host_allowed(void **state)
{
	static const char *const yes[] = {
		"192.168.1.10", "192.168.1.10:8088", "127.0.0.1:1",
		"10.0.0.1:65535",
		"[::1]", "[::1]:8088", "[fe80::1]", "[2001:db8::5]:80",
		"[::ffff:192.168.1.10]:8088",
		"localhost", "localhost:8088", "LOCALHOST", "localhost.",
		"pi.local", "PI.LOCAL:8088", "Pi.Local.", "pi.local.:8088",
		"portkeeper.home.arpa", "portkeeper.home.arpa.:80",
	};
	static const char *const no[] = {
		/* DNS rebinding: the attacker's name, however dressed. */
		"evil.example", "evil.example:8088", "EVIL.EXAMPLE",
		"192.168.1.10.evil.example", "192.168.1.10.evil.example:8088",
		"pi.local.evil.example", "evilpi.local", "xpi.local",
		"pi.loca", "pi.local..", "localhost.evil.example",
		"foo.localhost", "127.0.0.1.nip.io",
		/* Zone ids: browsers never send them. */
		"[fe80::1%eth0]", "[fe80::1%25eth0]:8088",
		/* Malformed: brackets, ports, unbracketed IPv6. */
		"", "[", "]", "[]", "[::1", "::1]", "::1", "[::1]:",
		"[::1]8088", "[::1]:0", "[::1]:99999", "[::1]:abc",
		"[192.168.1.10]", "[pi.local]",
		"192.168.1.10:", "192.168.1.10:0", "192.168.1.10:99999",
		"192.168.1.10:abc", "192.168.1.10:-1", "192.168.1.10:+80",
		"192.168.1.10: 80", "192.168.1.10:80:80",
		"192.168.1.300", "192.168.1", "192.168.1.10.",
		"pi.local:99999", "pi.local:abc", "pi.local:", ":8088",
		"localhost:0", "localhost:123456789012345678901234567890",
		"pi.local ", " pi.local", "user@pi.local", "pi.local/",
	};
	char *big;

	(void)state;
	check_hosts(yes, nitems(yes), true);
	check_hosts(no, nitems(no), false);
	assert_false(websec_host_allowed(NULL, allowed, nitems(allowed)));
	/* Without a list only IP literals and localhost pass. */
	assert_true(websec_host_allowed("localhost:8088", NULL, 0));
	assert_true(websec_host_allowed("192.168.1.10", NULL, 0));
	assert_false(websec_host_allowed("pi.local", NULL, 0));

	/* An over-long header, and one that is a long run of colons. */
	big = malloc(70000);
	assert_non_null(big);
	memset(big, 'a', 69999);
	big[69999] = '\0';
	assert_false(websec_host_allowed(big, allowed, nitems(allowed)));
	memcpy(big, "pi.local:", 9);
	assert_false(websec_host_allowed(big, allowed, nitems(allowed)));
	memset(big, ':', 69999);
	assert_false(websec_host_allowed(big, allowed, nitems(allowed)));
	big[0] = '[';
	assert_false(websec_host_allowed(big, allowed, nitems(allowed)));
	free(big);
}

static void
test_same_origin(void **state)
{
	const char *h = "192.168.1.10:8088";

	(void)state;
	/* curl and scripts send neither header. */
	assert_true(websec_same_origin(NULL, NULL, h));
	/* The web UI itself, in a browser with and without Fetch Metadata. */
	assert_true(websec_same_origin("http://192.168.1.10:8088", NULL, h));
	assert_true(websec_same_origin("HTTP://192.168.1.10:8088", NULL, h));
	assert_true(websec_same_origin("https://pi.local", NULL, "pi.local"));
	assert_true(websec_same_origin("http://pi.local:8088", NULL,
	    "PI.local:8088"));
	assert_true(websec_same_origin("http://[::1]:8088", NULL, "[::1]:8088"));
	assert_true(websec_same_origin("http://192.168.1.10:8088",
	    "same-origin", h));
	/* Behind a proxy that rewrites Host, Fetch Metadata still decides. */
	assert_true(websec_same_origin("https://pi.local", "same-origin",
	    "127.0.0.1:8088"));
	/* Typed or bookmarked by the user. */
	assert_true(websec_same_origin(NULL, "none", h));

	/* A cross-site form POST. */
	assert_false(websec_same_origin("http://evil.example", NULL, h));
	assert_false(websec_same_origin("http://evil.example", "cross-site",
	    h));
	assert_false(websec_same_origin(NULL, "cross-site", h));
	/* Another device on the same site. */
	assert_false(websec_same_origin("http://192.168.1.11:8088",
	    "same-site", h));
	assert_false(websec_same_origin(NULL, "same-site", h));
	/* Sandboxed frames, file: pages and redirects send "null". */
	assert_false(websec_same_origin("null", NULL, h));
	/* Another port is another origin. */
	assert_false(websec_same_origin("http://192.168.1.10:8089", NULL, h));
	assert_false(websec_same_origin("http://192.168.1.10", NULL, h));
	assert_false(websec_same_origin("http://pi.local:8088", NULL,
	    "pi.local"));
	/* Origins are never anything else. */
	assert_false(websec_same_origin("ftp://192.168.1.10:8088", NULL, h));
	assert_false(websec_same_origin("192.168.1.10:8088", NULL, h));
	assert_false(websec_same_origin("http://192.168.1.10:8088/", NULL, h));
	assert_false(websec_same_origin("http://x@192.168.1.10:8088", NULL,
	    h));
	assert_false(websec_same_origin("http://192.168.1.10:8088.evil.example",
	    NULL, h));
	assert_false(websec_same_origin("http://", NULL, h));
	assert_false(websec_same_origin("", NULL, h));
	assert_false(websec_same_origin("http://192.168.1.10:8088", NULL, ""));
	assert_false(websec_same_origin("http://192.168.1.10:8088", NULL,
	    NULL));
	/* Unknown Fetch Metadata values are refused. */
	assert_false(websec_same_origin(NULL, "", h));
	assert_false(websec_same_origin(NULL, "same-origin ", h));
	assert_false(websec_same_origin(NULL, "whatever", h));
}

static void
test_is_json(void **state)
{
	(void)state;
	assert_true(websec_is_json("application/json"));
	assert_true(websec_is_json("application/json; charset=utf-8"));
	assert_true(websec_is_json("application/json;charset=UTF-8"));
	assert_true(websec_is_json("Application/JSON"));
	assert_true(websec_is_json(" application/json ; charset=utf-8"));
	assert_false(websec_is_json(NULL));
	assert_false(websec_is_json(""));
	assert_false(websec_is_json("text/plain"));
	assert_false(websec_is_json("application/jsonp"));
	assert_false(websec_is_json("application/json-patch+json"));
	assert_false(websec_is_json("application/x-www-form-urlencoded"));
	assert_false(websec_is_json("multipart/form-data; boundary=x"));
	assert_false(websec_is_json("application/js"));
	assert_false(websec_is_json("text/plain; application/json"));
	assert_false(websec_is_json("application/json x"));
}

/* A client address, IPv6 when s has a colon. */
static struct sockaddr_storage
client(const char *s)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(s, ':') == NULL) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(40000);
		assert_int_equal(inet_pton(AF_INET, s, &sin->sin_addr), 1);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(40000);
		assert_int_equal(inet_pton(AF_INET6, s, &sin6->sin6_addr), 1);
	}
	return ss;
}

#define SA(ss)	((const struct sockaddr *)&(ss))

/* A limiter for each test: the table is too large for the stack. */
static int
limiter_setup(void **state)
{
	struct ratelimit *rl;

	if ((rl = malloc(sizeof(*rl))) == NULL)
		return -1;
	ratelimit_init(rl);
	*state = rl;
	return 0;
}

static int
limiter_teardown(void **state)
{
	free(*state);
	return 0;
}

/* Fails n logins from sa, one a second from t, each allowed first. */
static int64_t
fail_n(struct ratelimit *rl, const struct sockaddr *sa, int64_t t, int n)
{
	int i;

	for (i = 0; i < n; i++, t += 1000) {
		assert_int_equal(ratelimit_check(rl, sa, t), 0);
		ratelimit_fail(rl, sa, t);
	}
	return t - 1000;
}

static void
test_limit_burst(void **state)
{
	struct ratelimit *rl = *state;
	struct sockaddr_storage a = client("192.168.1.50");
	struct sockaddr_storage b = client("192.168.1.51");
	int64_t t0 = 5000000, last;

	assert_int_equal(ratelimit_check(rl, SA(a), t0), 0);
	/* Ten tries pass; after them the address waits out the window. */
	last = fail_n(rl, SA(a), t0, RATELIMIT_BURST);
	assert_int_equal(last, t0 + 9000);
	assert_int_equal(ratelimit_check(rl, SA(a), last), 51);
	assert_int_equal(ratelimit_check(rl, SA(a), last + 500), 51);
	assert_int_equal(ratelimit_check(rl, SA(a), t0 + 59001), 1);
	assert_int_equal(ratelimit_check(rl, SA(a), t0 + 59999), 1);
	/* Another address is not affected. */
	assert_int_equal(ratelimit_check(rl, SA(b), last), 0);
	/* Once the oldest failure leaves the window, one more try. */
	assert_int_equal(ratelimit_check(rl, SA(a), t0 + 60000), 0);
	ratelimit_fail(rl, SA(a), t0 + 60000);
	assert_int_equal(ratelimit_check(rl, SA(a), t0 + 60000), 1);
	assert_int_equal(ratelimit_check(rl, SA(a), t0 + 61000), 0);

	/* Failures spread wider than the window never block. */
	ratelimit_init(rl);
	for (last = t0; last < t0 + 600000; last += 7000) {
		assert_int_equal(ratelimit_check(rl, SA(a), last), 0);
		ratelimit_fail(rl, SA(a), last);
	}
}

static void
test_limit_extend(void **state)
{
	struct ratelimit *rl = *state;
	struct sockaddr_storage a = client("192.168.1.50");
	int64_t t, last;
	unsigned prev = 0, wait;
	int i;

	last = fail_n(rl, SA(a), 0, RATELIMIT_BURST);
	assert_int_equal(ratelimit_check(rl, SA(a), last), 51);
	/* Guessing on while blocked: 60, 120, 240, 480 s, then 15 min. */
	t = last + 1000;
	ratelimit_fail(rl, SA(a), t);
	assert_int_equal(ratelimit_check(rl, SA(a), t), 60);
	ratelimit_fail(rl, SA(a), t);
	assert_int_equal(ratelimit_check(rl, SA(a), t), 120);
	ratelimit_fail(rl, SA(a), t);
	assert_int_equal(ratelimit_check(rl, SA(a), t), 240);
	ratelimit_fail(rl, SA(a), t);
	assert_int_equal(ratelimit_check(rl, SA(a), t), 480);
	for (i = 0; i < 100; i++) {
		ratelimit_fail(rl, SA(a), t);
		wait = ratelimit_check(rl, SA(a), t);
		assert_true(wait >= prev);
		assert_true(wait <= RATELIMIT_MAX_MS / 1000);
		prev = wait;
	}
	assert_int_equal(prev, RATELIMIT_MAX_MS / 1000);
	/* The block ends, and the address starts afresh. */
	t += RATELIMIT_MAX_MS;
	assert_int_equal(ratelimit_check(rl, SA(a), t), 0);
	last = fail_n(rl, SA(a), t, RATELIMIT_BURST);
	assert_int_equal(ratelimit_check(rl, SA(a), last), 51);
}

static void
test_limit_success(void **state)
{
	struct ratelimit *rl = *state;
	struct sockaddr_storage a = client("192.168.1.50");
	int64_t last;

	/* A success clears the failures before it ... */
	last = fail_n(rl, SA(a), 0, RATELIMIT_BURST - 1);
	ratelimit_success(rl, SA(a), last);
	last = fail_n(rl, SA(a), last + 1000, RATELIMIT_BURST - 1);
	assert_int_equal(ratelimit_check(rl, SA(a), last), 0);
	ratelimit_fail(rl, SA(a), last);
	assert_true(ratelimit_check(rl, SA(a), last) > 0);
	/* ... and a block; success without a record is harmless. */
	ratelimit_success(rl, SA(a), last);
	assert_int_equal(ratelimit_check(rl, SA(a), last), 0);
	ratelimit_success(rl, SA(a), last);
}

static void
test_limit_grouping(void **state)
{
	struct ratelimit *rl = *state;
	struct sockaddr_storage a1 = client("2001:db8:1:2::10");
	struct sockaddr_storage a2 = client("2001:db8:1:2:aaaa:bbbb:cccc:dddd");
	struct sockaddr_storage other = client("2001:db8:1:3::10");
	struct sockaddr_storage ip4 = client("192.168.1.50");
	struct sockaddr_storage mapped = client("::ffff:192.168.1.50");
	struct sockaddr_storage unix_ss;
	int64_t last;
	int i;

	/* One /64: five from each address of a home host add up. */
	fail_n(rl, SA(a1), 0, 5);
	last = fail_n(rl, SA(a2), 5000, 5);
	assert_true(ratelimit_check(rl, SA(a1), last) > 0);
	assert_true(ratelimit_check(rl, SA(a2), last) > 0);
	assert_int_equal(ratelimit_check(rl, SA(other), last), 0);

	/* An IPv4-mapped address is the IPv4 address. */
	fail_n(rl, SA(ip4), 0, 5);
	last = fail_n(rl, SA(mapped), 5000, 5);
	assert_true(ratelimit_check(rl, SA(ip4), last) > 0);
	assert_true(ratelimit_check(rl, SA(mapped), last) > 0);
	ratelimit_success(rl, SA(mapped), last);
	assert_int_equal(ratelimit_check(rl, SA(ip4), last), 0);

	/* Other families share one record; NULL is one of them. */
	memset(&unix_ss, 0, sizeof(unix_ss));
	unix_ss.ss_family = AF_UNIX;
	for (i = 0; i < RATELIMIT_BURST; i++)
		ratelimit_fail(rl, i % 2 ? SA(unix_ss) : NULL, 0);
	assert_true(ratelimit_check(rl, NULL, 0) > 0);
	assert_true(ratelimit_check(rl, SA(unix_ss), 0) > 0);
}

static void
test_limit_full(void **state)
{
	struct ratelimit *rl = *state;
	struct sockaddr_storage a = client("192.168.1.50"), x;
	char s[32];
	int64_t t = 0, last;
	int i;

	last = fail_n(rl, SA(a), t, RATELIMIT_BURST);
	assert_true(ratelimit_check(rl, SA(a), last) > 0);
	/*
	 * Fill every slot with addresses failing once, each later than
	 * the blocked one: while the table has room, it keeps its block.
	 */
	for (i = 0; i < RATELIMIT_SLOTS - 1; i++) {
		snprintf(s, sizeof(s), "10.0.%d.%d", i / 250, i % 250 + 1);
		x = client(s);
		ratelimit_fail(rl, SA(x), last + 1);
	}
	assert_true(ratelimit_check(rl, SA(a), last + 1) > 0);
	/* One more: the stalest record, the blocked one, gives way. */
	x = client("172.16.0.1");
	ratelimit_fail(rl, SA(x), last + 2);
	assert_int_equal(ratelimit_check(rl, SA(a), last + 2), 0);
	/* The table keeps working: a fresh burst blocks the newcomer. */
	last = fail_n(rl, SA(x), last + 3, RATELIMIT_BURST - 1);
	assert_true(ratelimit_check(rl, SA(x), last) > 0);
	/* Expired records are the first to be reused. */
	t = last + 10 * RATELIMIT_WINDOW_MS;
	for (i = 0; i < 3 * RATELIMIT_SLOTS; i++) {
		snprintf(s, sizeof(s), "10.1.%d.%d", i / 250, i % 250 + 1);
		x = client(s);
		last = fail_n(rl, SA(x), t, RATELIMIT_BURST);
		assert_true(ratelimit_check(rl, SA(x), last) > 0);
		t += RATELIMIT_WINDOW_MS;
	}
}

static void
test_parse_hosts(void **state)
{
	char buf[512], err[256];
	const char *out[8];
	char big[400];
	size_t i;
	static const struct {
		const char	*value, *msg;
	} bad[] = {
		{ "http://pi.local", "scheme" },
		{ "pi.local/ui", "path" },
		{ "*.home.arpa", "wildcard" },
		{ "pi.local:8088", "port" },
		{ "pi_4.local", "character" },
		{ "pi..local", "empty label" },
		{ ".pi.local", "empty label" },
		{ "pi.local..", "empty label" },
		{ "-pi.local", "starts with '-'" },
		{ "pi-.local", "ends with '-'" },
		{ "192.168.1.300", "IPv4" },
		{ "1.2.3", "IPv4" },
		{ "[::1", "IPv6" },
		{ "[pi.local]", "IPv6" },
		{ "[fe80::1%eth0]", "IPv6" },
		{ "fe80::zz", "IPv6" },
		{ "ok.example, pi\x01.local", "pi?.local" },
	};

	(void)state;
	assert_int_equal(websec_parse_hosts("a.example, b.example pi.local",
	    buf, sizeof(buf), out, nitems(out), err, sizeof(err)), 3);
	assert_string_equal(out[0], "a.example");
	assert_string_equal(out[1], "b.example");
	assert_string_equal(out[2], "pi.local");
	assert_int_equal(websec_parse_hosts(" ,,PI.local.,\t192.168.1.10 "
	    "[::1], fe80::1 ,", buf, sizeof(buf), out, nitems(out), err,
	    sizeof(err)), 4);
	assert_string_equal(out[0], "PI.local.");
	assert_string_equal(out[1], "192.168.1.10");
	assert_string_equal(out[2], "[::1]");
	assert_string_equal(out[3], "fe80::1");
	assert_int_equal(websec_parse_hosts("", buf, sizeof(buf), out,
	    nitems(out), err, sizeof(err)), 0);
	assert_int_equal(websec_parse_hosts(" , ", buf, sizeof(buf), out,
	    nitems(out), err, sizeof(err)), 0);
	assert_int_equal(websec_parse_hosts(NULL, buf, sizeof(buf), out,
	    nitems(out), err, sizeof(err)), 0);

	/* What it parsed is what websec_host_allowed takes. */
	assert_int_equal(websec_parse_hosts("pi.local nas.home.arpa.", buf,
	    sizeof(buf), out, nitems(out), err, sizeof(err)), 2);
	assert_true(websec_host_allowed("NAS.home.arpa:8088", out, 2));
	assert_false(websec_host_allowed("evil.example", out, 2));

	for (i = 0; i < nitems(bad); i++) {
		if (websec_parse_hosts(bad[i].value, buf, sizeof(buf), out,
		    nitems(out), err, sizeof(err)) != -1)
			fail_msg("\"%s\" was accepted", bad[i].value);
		if (strstr(err, bad[i].msg) == NULL)
			fail_msg("\"%s\": \"%s\" lacks \"%s\"", bad[i].value,
			    err, bad[i].msg);
	}
	/* The message quotes the bad name, and only that one. */
	assert_int_equal(websec_parse_hosts("ok.example evil/x", buf,
	    sizeof(buf), out, nitems(out), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "\"evil/x\""));
	assert_null(strstr(err, "ok.example"));

	/* 253 characters pass, 254 do not; the quote is cut short. */
	memset(big, 'a', sizeof(big));
	for (i = 63; i < 253; i += 64)
		big[i] = '.';
	big[253] = '\0';
	assert_int_equal(websec_parse_hosts(big, buf, sizeof(buf), out,
	    nitems(out), err, sizeof(err)), 1);
	assert_int_equal(strlen(out[0]), 253);
	assert_true(websec_host_allowed(big, out, 1));
	big[253] = 'a';
	big[254] = '\0';
	assert_int_equal(websec_parse_hosts(big, buf, sizeof(buf), out,
	    nitems(out), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "253"));
	assert_non_null(strstr(err, "...\""));
	assert_true(strlen(err) < 160);
	/* A label of 64. */
	memset(big, 'a', 64);
	strcpy(big + 64, ".example");
	assert_int_equal(websec_parse_hosts(big, buf, sizeof(buf), out,
	    nitems(out), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "63"));

	/* Too many names, and too little room. */
	assert_int_equal(websec_parse_hosts("a b c d e f g h i", buf,
	    sizeof(buf), out, nitems(out), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 8"));
	assert_non_null(strstr(err, "\"i\""));
	assert_int_equal(websec_parse_hosts("a b", buf, sizeof(buf), out, 2,
	    err, sizeof(err)), 2);
	assert_int_equal(websec_parse_hosts("one.example two.example", buf,
	    16, out, nitems(out), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "\"two.example\""));
	assert_int_equal(websec_parse_hosts("one.example", buf, 12, out,
	    nitems(out), err, sizeof(err)), 1);
	/* A short err is cut, not overrun. */
	assert_int_equal(websec_parse_hosts("http://x", buf, sizeof(buf), out,
	    nitems(out), err, 8), -1);
	assert_int_equal(strlen(err), 7);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_allowed),
		cmocka_unit_test(test_same_origin),
		cmocka_unit_test(test_is_json),
		cmocka_unit_test_setup_teardown(test_limit_burst,
		    limiter_setup, limiter_teardown),
		cmocka_unit_test_setup_teardown(test_limit_extend,
		    limiter_setup, limiter_teardown),
		cmocka_unit_test_setup_teardown(test_limit_success,
		    limiter_setup, limiter_teardown),
		cmocka_unit_test_setup_teardown(test_limit_grouping,
		    limiter_setup, limiter_teardown),
		cmocka_unit_test_setup_teardown(test_limit_full,
		    limiter_setup, limiter_teardown),
		cmocka_unit_test(test_parse_hosts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
