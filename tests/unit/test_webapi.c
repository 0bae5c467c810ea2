/* The web API's body parsers: every field checked, and named when wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "webapi.h"

static void
fwd_ok(const char *body, const char *name, unsigned ext, unsigned in,
    enum pm_proto proto)
{
	struct config_forward f;
	struct webapi_error err;

	if (webapi_parse_forward(body, strlen(body), &f, &err) != 0)
		fail_msg("refused %s: %s", body, err.msg);
	assert_string_equal(f.name, name);
	assert_int_equal(f.ext, ext);
	assert_int_equal(f.in, in);
	assert_int_equal(f.proto, proto);
}

static void
fwd_bad(const char *body, const char *code, const char *msg)
{
	struct config_forward f;
	struct webapi_error err;

	if (webapi_parse_forward(body, strlen(body), &f, &err) != -1)
		fail_msg("accepted %s", body);
	assert_string_equal(err.code, code);
	assert_string_equal(err.msg, msg);
}

static void
test_forward(void **state)
{
	(void)state;
	fwd_ok("{\"name\":\"web\",\"external\":80,\"internal\":8080,"
	    "\"protocol\":\"tcp\"}", "web", 80, 8080, PM_TCP);
	fwd_ok("{\"name\":\"dns\",\"external\":53,\"protocol\":\"udp\"}",
	    "dns", 53, 53, PM_UDP);
	fwd_ok("{\"external\":65535,\"name\":\"a.b-c_9\"}", "a.b-c_9", 65535,
	    65535, PM_TCP);

	/* family, as in portkeeper.conf; both when left out. */
	{
		struct config_forward f;
		struct webapi_error err;
		static const struct {
			const char		*body;
			enum config_family	 family;
		} fam[] = {
			{ "{\"name\":\"a\",\"external\":80}", CONFIG_FAMILY_BOTH },
			{ "{\"name\":\"a\",\"external\":80,\"family\":\"both\"}",
			    CONFIG_FAMILY_BOTH },
			{ "{\"name\":\"a\",\"external\":80,\"family\":\"4\"}",
			    CONFIG_FAMILY_4 },
			{ "{\"name\":\"a\",\"external\":80,\"family\":4}",
			    CONFIG_FAMILY_4 },
			{ "{\"name\":\"a\",\"external\":80,\"family\":6}",
			    CONFIG_FAMILY_6 },
		};
		size_t i;

		for (i = 0; i < sizeof(fam) / sizeof(fam[0]); i++) {
			if (webapi_parse_forward(fam[i].body,
			    strlen(fam[i].body), &f, &err) != 0)
				fail_msg("refused %s: %s", fam[i].body, err.msg);
			assert_int_equal(f.family, fam[i].family);
		}
	}
	fwd_bad("{\"name\":\"a\",\"external\":80,\"family\":\"ipv6\"}",
	    "bad_field", "field \"family\" must be \"both\", \"4\" or \"6\"");
	fwd_bad("{\"name\":\"a\",\"external\":80,\"family\":5}",
	    "bad_field", "field \"family\" must be \"both\", \"4\" or \"6\"");
	fwd_bad("{\"name\":\"a\",\"external\":80,\"internal\":8080,"
	    "\"family\":\"6\"}", "bad_field", "field \"family\" is \"6\", but "
	    "external and internal differ: IPv6 has no port translation, so "
	    "make them the same");

	fwd_bad("", "bad_json", "the body is empty: send a JSON object");
	fwd_bad("{\"name\":", "bad_json", "the body is not valid JSON");
	fwd_bad("{\"name\":\"a\",\"external\":80} x", "bad_json",
	    "the body is not valid JSON");
	fwd_bad("[1,2]", "bad_json", "the body must be a JSON object");
	fwd_bad("{\"external\":80}", "bad_field",
	    "field \"name\" is missing");
	fwd_bad("{\"name\":\"\",\"external\":80}", "bad_field",
	    "field \"name\" must be 1 to 63 letters, digits, '_', '.' or '-'");
	fwd_bad("{\"name\":\"<script>\",\"external\":80}", "bad_field",
	    "field \"name\" must be 1 to 63 letters, digits, '_', '.' or '-'");
	/* cJSON would end the name at the NUL: refused, not cut. */
	fwd_bad("{\"name\":\"web\\u0000x\",\"external\":80}", "bad_field",
	    "a string holds the character \\u0000, which no field may hold");
	/* "." and ".." are resolved away in URLs: not names (issue 13). */
	fwd_bad("{\"name\":\"..\",\"external\":80}", "bad_field",
	    "field \"name\" may not be \".\" or \"..\": URLs resolve them away");
	fwd_bad("{\"name\":7,\"external\":80}", "bad_field",
	    "field \"name\" must be 1 to 63 letters, digits, '_', '.' or '-'");
	fwd_bad("{\"name\":\"a\"}", "bad_field",
	    "field \"external\" is missing: give a port from 1 to 65535");
	fwd_bad("{\"name\":\"a\",\"external\":0}", "bad_field",
	    "field \"external\" must be a port, a whole number from 1 to 65535");
	fwd_bad("{\"name\":\"a\",\"external\":65536}", "bad_field",
	    "field \"external\" must be a port, a whole number from 1 to 65535");
	fwd_bad("{\"name\":\"a\",\"external\":80.5}", "bad_field",
	    "field \"external\" must be a port, a whole number from 1 to 65535");
	fwd_bad("{\"name\":\"a\",\"external\":\"80\"}", "bad_field",
	    "field \"external\" must be a port, a whole number from 1 to 65535");
	fwd_bad("{\"name\":\"a\",\"external\":80,\"internal\":-1}", "bad_field",
	    "field \"internal\" must be a port, a whole number from 1 to 65535");
	fwd_bad("{\"name\":\"a\",\"external\":80,\"protocol\":\"sctp\"}",
	    "bad_field", "field \"protocol\" must be \"tcp\" or \"udp\"");
	fwd_bad("{\"name\":\"a\",\"extrenal\":80}", "bad_field",
	    "unknown field \"extrenal\"");
	fwd_bad("{\"name\":\"a\",\"external\":80,\"external\":81}", "bad_field",
	    "field \"external\" is given twice");
}

static void
test_nul_and_size(void **state)
{
	static char big[WEBAPI_BODY_MAX + 2];
	struct config_forward f;
	struct webapi_error err;
	const char nul[] = "{\"name\":\"a\0\",\"external\":80}";

	(void)state;
	assert_int_equal(webapi_parse_forward(nul, sizeof(nul) - 1, &f, &err),
	    -1);
	assert_string_equal(err.code, "bad_json");
	memset(big, ' ', sizeof(big));
	assert_int_equal(webapi_parse_forward(big, sizeof(big), &f, &err), -1);
	assert_string_equal(err.code, "too_large");
}

static void
test_doctor(void **state)
{
	struct webapi_error err;
	enum pm_proto proto;
	uint16_t port;
	const char *b;

	(void)state;
	b = "{\"port\":80}";
	assert_int_equal(webapi_parse_doctor(b, strlen(b), &port, &proto,
	    &err), 0);
	assert_int_equal(port, 80);
	assert_int_equal(proto, PM_TCP);
	b = "{\"port\":5353,\"protocol\":\"udp\"}";
	assert_int_equal(webapi_parse_doctor(b, strlen(b), &port, &proto,
	    &err), 0);
	assert_int_equal(proto, PM_UDP);
	b = "{\"protocol\":\"udp\"}";
	assert_int_equal(webapi_parse_doctor(b, strlen(b), &port, &proto,
	    &err), -1);
	assert_string_equal(err.msg,
	    "field \"port\" is missing: give a port from 1 to 65535");
	b = "{\"port\":80,\"verbose\":true}";
	assert_int_equal(webapi_parse_doctor(b, strlen(b), &port, &proto,
	    &err), -1);
	assert_string_equal(err.msg, "unknown field \"verbose\"");
}

static void
test_label(void **state)
{
	char buf[16];

	(void)state;
	assert_string_equal(webapi_label(buf, sizeof(buf), "web"), "web");
	assert_string_equal(webapi_label(buf, sizeof(buf), "a\"b\\c\nd"),
	    "a\\\"b\\\\c\\nd");
	/* Cut, never overrun, and never half an escape. */
	assert_string_equal(webapi_label(buf, sizeof(buf),
	    "\"\"\"\"\"\"\"\"\"\""), "\\\"\\\"\\\"\\\"\\\"\\\"\\\"");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forward),
		cmocka_unit_test(test_nul_and_size),
		cmocka_unit_test(test_doctor),
		cmocka_unit_test(test_label),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
