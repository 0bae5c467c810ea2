/*
 * The web API's request-safety checks: Host allow-list (DNS rebinding),
 * same-origin (CSRF), JSON content type, and the allowed_hosts parser
 * (the failed-login limiter is test_ratelimit's).
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
		cmocka_unit_test(test_parse_hosts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
