/* The state file: its JSON, its checks, and saving it atomically. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state.h"
#include "util.h"

static const char example[] =
    "{\"version\":1,\"internal_ip\":\"192.168.77.10\","
    "\"external_ip_history\":[{\"ip\":\"11.22.33.2\","
    "\"first_seen\":1700000000,\"last_seen\":1700000100}],"
    "\"mappings\":[{\"name\":\"web\",\"protocol\":\"tcp\","
    "\"external_port\":80,\"internal_port\":8080,"
    "\"internal_ip\":\"192.168.77.10\",\"method\":\"natpmp\","
    "\"expires\":1700003600}]}";

static void
mapping(struct state_mapping *m, const char *name, enum pm_proto proto,
    uint16_t ext, uint16_t in, const char *ip, enum pm_method method,
    int64_t expires)
{
	memset(m, 0, sizeof(*m));
	str_copy(m->name, name, sizeof(m->name));
	m->proto = proto;
	m->ext = ext;
	m->in = in;
	str_copy(m->internal_ip, ip, sizeof(m->internal_ip));
	m->method = method;
	m->expires = expires;
}

/* A state that uses every kind of value. */
static void
sample(struct state *st)
{
	struct state_mapping m;
	char old[16];

	state_init(st);
	str_copy(st->internal_ip, "192.168.77.10", sizeof(st->internal_ip));
	assert_int_equal(state_note_external_ip(st, "11.22.33.2", 1700000000,
	    old), 1);
	assert_int_equal(state_note_external_ip(st, "100.64.1.2", 1700000500,
	    old), 1);
	mapping(&m, "web", PM_TCP, 80, 8080, "192.168.77.10", PM_NATPMP,
	    1700003600);
	assert_int_equal(state_put(st, &m), 0);
	/* Past 2^31, which cJSON's valueint cannot hold. */
	mapping(&m, "game.udp-1_x", PM_UDP, 65535, 1, "10.0.0.7", PM_UPNP,
	    4102444800LL);
	assert_int_equal(state_put(st, &m), 0);
	mapping(&m, "ssh", PM_TCP, 2222, 22, "192.168.77.10", PM_UPNP, 0);
	assert_int_equal(state_put(st, &m), 0);
}

static void
assert_state_equal(const struct state *a, const struct state *b)
{
	size_t i;

	assert_string_equal(a->internal_ip, b->internal_ip);
	assert_int_equal(a->nhist, b->nhist);
	for (i = 0; i < a->nhist; i++) {
		assert_string_equal(a->hist[i].ip, b->hist[i].ip);
		assert_int_equal(a->hist[i].first_seen, b->hist[i].first_seen);
		assert_int_equal(a->hist[i].last_seen, b->hist[i].last_seen);
	}
	assert_int_equal(a->nm, b->nm);
	for (i = 0; i < a->nm; i++) {
		assert_string_equal(a->m[i].name, b->m[i].name);
		assert_int_equal(a->m[i].proto, b->m[i].proto);
		assert_int_equal(a->m[i].ext, b->m[i].ext);
		assert_int_equal(a->m[i].in, b->m[i].in);
		assert_string_equal(a->m[i].internal_ip, b->m[i].internal_ip);
		assert_int_equal(a->m[i].method, b->m[i].method);
		assert_int_equal(a->m[i].expires, b->m[i].expires);
	}
}

static void
assert_state_empty(const struct state *st)
{
	assert_null(st->m);
	assert_int_equal(st->nm, 0);
	assert_int_equal(st->nhist, 0);
	assert_string_equal(st->internal_ip, "");
}

static void
test_example(void **unused)
{
	struct state st;
	char e[256];

	(void)unused;
	e[0] = '\0';
	if (state_parse(example, strlen(example), &st, e, sizeof(e)) != 0)
		fail_msg("%s", e);
	assert_string_equal(st.internal_ip, "192.168.77.10");
	assert_int_equal(st.nhist, 1);
	assert_string_equal(st.hist[0].ip, "11.22.33.2");
	assert_int_equal(st.hist[0].first_seen, 1700000000);
	assert_int_equal(st.hist[0].last_seen, 1700000100);
	assert_int_equal(st.nm, 1);
	assert_string_equal(st.m[0].name, "web");
	assert_int_equal(st.m[0].proto, PM_TCP);
	assert_int_equal(st.m[0].ext, 80);
	assert_int_equal(st.m[0].in, 8080);
	assert_string_equal(st.m[0].internal_ip, "192.168.77.10");
	assert_int_equal(st.m[0].method, PM_NATPMP);
	assert_int_equal(st.m[0].expires, 1700003600);
	assert_ptr_equal(state_find(&st, "web"), &st.m[0]);
	state_free(&st);
}

static void
test_roundtrip(void **unused)
{
	struct state a, b, empty;
	char *text, *text2, e[256];

	(void)unused;
	sample(&a);
	assert_non_null(text = state_to_json(&a));
	if (state_parse(text, strlen(text), &b, e, sizeof(e)) != 0)
		fail_msg("%s\n%s", e, text);
	assert_state_equal(&a, &b);
	/* Writing what was read gives the same text. */
	assert_non_null(text2 = state_to_json(&b));
	assert_string_equal(text, text2);
	/* Times are plain integers. */
	assert_non_null(strstr(text, "4102444800"));
	free(text);
	free(text2);
	state_free(&a);
	state_free(&b);

	/* An empty state (internal address not known yet) reads back. */
	state_init(&empty);
	assert_non_null(text = state_to_json(&empty));
	if (state_parse(text, strlen(text), &a, e, sizeof(e)) != 0)
		fail_msg("%s\n%s", e, text);
	assert_state_empty(&a);
	free(text);
	state_free(&a);
}

static void
test_forward_compatible(void **unused)
{
	static const char text[] =
	    "{\"version\":1,\"written_by\":\"portkeeperd 9\",\"future\":"
	    "{\"a\":[1,2,{\"b\":null}]},\"external_ip_history\":[{\"ip\":"
	    "\"8.8.8.8\",\"first_seen\":0,\"last_seen\":0,\"asn\":15169}],"
	    "\"mappings\":[{\"name\":\"a\",\"protocol\":\"udp\","
	    "\"external_port\":1,\"internal_port\":65535,\"internal_ip\":"
	    "\"10.1.2.3\",\"method\":\"upnp\",\"expires\":0,\"note\":true,"
	    "\"lease\":3600.5}]}";
	struct state st;
	char e[256];

	(void)unused;
	if (state_parse(text, strlen(text), &st, e, sizeof(e)) != 0)
		fail_msg("%s", e);
	assert_int_equal(st.nm, 1);
	assert_int_equal(st.m[0].proto, PM_UDP);
	assert_int_equal(st.m[0].method, PM_UPNP);
	assert_int_equal(st.nhist, 1);
	state_free(&st);

	/* The lists and the internal address may be missing. */
	assert_int_equal(state_parse("{\"version\":1}", 13, &st, e,
	    sizeof(e)), 0);
	assert_state_empty(&st);
	state_free(&st);
}

/* The example with one mapping field replaced (or left out: NULL). */
static char *
with_mapping_field(const char *key, const char *value)
{
	static const char *const keys[] = { "name", "protocol",
	    "external_port", "internal_port", "internal_ip", "method",
	    "expires" };
	static const char *const values[] = { "\"web\"", "\"tcp\"", "80",
	    "8080", "\"192.168.77.10\"", "\"natpmp\"", "1700003600" };
	char buf[1024];
	size_t i, n;
	int first = 1;
	char *s;

	n = (size_t)snprintf(buf, sizeof(buf),
	    "{\"version\":1,\"mappings\":[{");
	for (i = 0; i < nitems(keys); i++) {
		const char *v = values[i];

		if (strcmp(keys[i], key) == 0) {
			if (value == NULL)
				continue;
			v = value;
		}
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s\"%s\":%s",
		    first ? "" : ",", keys[i], v);
		first = 0;
	}
	snprintf(buf + n, sizeof(buf) - n, "}]}");
	assert_non_null(s = strdup(buf));
	return s;
}

static char *
with_history_field(const char *key, const char *value)
{
	static const char *const keys[] = { "ip", "first_seen", "last_seen" };
	static const char *const values[] = { "\"11.22.33.2\"", "1", "2" };
	char buf[1024];
	size_t i, n;
	int first = 1;
	char *s;

	n = (size_t)snprintf(buf, sizeof(buf),
	    "{\"version\":1,\"external_ip_history\":[{");
	for (i = 0; i < nitems(keys); i++) {
		const char *v = values[i];

		if (strcmp(keys[i], key) == 0) {
			if (value == NULL)
				continue;
			v = value;
		}
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s\"%s\":%s",
		    first ? "" : ",", keys[i], v);
		first = 0;
	}
	snprintf(buf + n, sizeof(buf) - n, "}]}");
	assert_non_null(s = strdup(buf));
	return s;
}

/* text must be refused with a message containing want; st stays empty. */
static void
refused(const char *text, size_t len, const char *want)
{
	struct state st;
	char e[256];

	memset(&st, 0xa5, sizeof(st));
	e[0] = '\0';
	if (state_parse(text, len, &st, e, sizeof(e)) != -1)
		fail_msg("accepted: %s", text);
	if (strstr(e, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\" for %s", e, want, text);
	assert_state_empty(&st);
	state_free(&st);
}

static void
test_mapping_fields_invalid(void **unused)
{
	static const struct {
		const char	*key;
		const char	*value;		/* NULL: missing */
		const char	*want;
	} cases[] = {
		{ "name", NULL, "mappings[0].name: missing" },
		{ "name", "\"\"", "mappings[0].name" },
		{ "name", "\"a b\"", "\"a b\"" },
		{ "name", "\"<script>\"", "\"<script>\"" },
		{ "name", "\"caf\\u00e9\"", "mappings[0].name" },
		{ "name", "\"a\\nb\"", "\"a?b\"" },
		{ "name", "\"web\\u0000b\"", "contains a NUL" },
		{ "name", "\"0123456789012345678901234567890123456789"
		    "012345678901234567890123\"", "mappings[0].name" },
		{ "name", "5", "mappings[0].name: expected a string, got a "
		    "number" },
		{ "name", "null", "got null" },
		{ "name", "[\"web\"]", "got an array" },
		{ "protocol", "\"sctp\"", "\"sctp\" is not tcp or udp" },
		{ "protocol", "\"TCP\"", "mappings[0].protocol" },
		{ "protocol", "6", "mappings[0].protocol" },
		{ "protocol", NULL, "mappings[0].protocol: missing" },
		{ "external_port", "0", "mappings[0].external_port: 0 is out "
		    "of range" },
		{ "external_port", "65536", "65536 is out of range (1 to "
		    "65535)" },
		{ "external_port", "-1", "mappings[0].external_port" },
		{ "external_port", "80.5", "not a whole number" },
		{ "external_port", "\"80\"", "expected an integer, got a "
		    "string" },
		{ "external_port", "true", "got a boolean" },
		{ "external_port", "{}", "got an object" },
		{ "external_port", "1e400", "mappings[0].external_port" },
		{ "external_port", NULL, "mappings[0].external_port: missing" },
		{ "internal_port", "0", "mappings[0].internal_port" },
		{ "internal_port", "99999999999999999999", "internal_port" },
		{ "internal_port", "8080.25", "internal_port" },
		{ "internal_ip", "\"999.1.1.1\"", "\"999.1.1.1\" is not" },
		{ "internal_ip", "\"<script>\"", "mappings[0].internal_ip" },
		{ "internal_ip", "\"\"", "mappings[0].internal_ip" },
		{ "internal_ip", "\"192.168.77.10 \"", "internal_ip" },
		{ "internal_ip", "\"0.0.0.0\"", "internal_ip" },
		{ "internal_ip", "\"127.0.0.1\"", "internal_ip" },
		{ "internal_ip", "\"239.255.255.250\"", "internal_ip" },
		{ "internal_ip", "\"255.255.255.255\"", "internal_ip" },
		{ "internal_ip", "\"::1\"", "internal_ip" },
		{ "internal_ip", "3232255242", "expected a string" },
		{ "method", "\"auto\"", "\"auto\" is not upnp or natpmp" },
		{ "method", "\"pcp\"", "mappings[0].method" },
		{ "method", "\"UPNP\"", "mappings[0].method" },
		{ "method", "1", "mappings[0].method" },
		{ "expires", "-1", "mappings[0].expires: -1 is out of range" },
		{ "expires", "1700003600.5", "not a whole number" },
		{ "expires", "1e300", "mappings[0].expires" },
		{ "expires", "9223372036854775807", "mappings[0].expires" },
		{ "expires", "\"1700003600\"", "expected an integer" },
		{ "expires", "null", "mappings[0].expires" },
	};
	size_t i;
	char *text;

	(void)unused;
	for (i = 0; i < nitems(cases); i++) {
		text = with_mapping_field(cases[i].key, cases[i].value);
		refused(text, strlen(text), cases[i].want);
		free(text);
	}
	/* The base text itself is fine. */
	text = with_mapping_field("", NULL);
	{
		struct state st;
		char e[256];

		assert_int_equal(state_parse(text, strlen(text), &st, e,
		    sizeof(e)), 0);
		state_free(&st);
	}
	free(text);
}

static void
test_history_fields_invalid(void **unused)
{
	static const struct {
		const char	*key;
		const char	*value;
		const char	*want;
	} cases[] = {
		{ "ip", "\"999.1.1.1\"", "external_ip_history[0].ip" },
		{ "ip", "\"<script>\"", "external_ip_history[0].ip" },
		{ "ip", "\"\"", "external_ip_history[0].ip" },
		{ "ip", "\"1.2.3\"", "external_ip_history[0].ip" },
		{ "ip", "7", "expected a string" },
		{ "ip", NULL, "external_ip_history[0].ip: missing" },
		{ "first_seen", "-1", "external_ip_history[0].first_seen: -1" },
		{ "first_seen", "1.5", "not a whole number" },
		{ "first_seen", "\"1\"", "expected an integer" },
		{ "first_seen", "false", "got a boolean" },
		{ "last_seen", "-1700000000", "last_seen" },
		{ "last_seen", "1e19", "last_seen" },
		{ "last_seen", NULL, "external_ip_history[0].last_seen: "
		    "missing" },
	};
	size_t i;
	char *text;

	(void)unused;
	for (i = 0; i < nitems(cases); i++) {
		text = with_history_field(cases[i].key, cases[i].value);
		refused(text, strlen(text), cases[i].want);
		free(text);
	}
	/* History addresses may be of any kind, even private or reserved. */
	text = with_history_field("ip", "\"10.0.0.1\"");
	{
		struct state st;
		char e[256];

		assert_int_equal(state_parse(text, strlen(text), &st, e,
		    sizeof(e)), 0);
		state_free(&st);
	}
	free(text);
}

static void
test_document_invalid(void **unused)
{
	static const struct {
		const char	*text;
		const char	*want;
	} cases[] = {
		{ "", "not valid JSON" },
		{ "{", "not valid JSON" },
		{ "{\"version\":1,\"mappings\":[{\"name\":\"web\"",
		    "not valid JSON" },
		{ "{\"version\":1} trailing", "not valid JSON" },
		{ "\xff\xfe{}", "not valid JSON" },
		{ "[]", "expected a JSON object, got an array" },
		{ "42", "expected a JSON object, got a number" },
		{ "\"state\"", "got a string" },
		{ "null", "got null" },
		{ "{}", "version: missing" },
		{ "{\"version\":2}", "version: 2 is not supported" },
		{ "{\"version\":0}", "version: 0 is not supported" },
		{ "{\"version\":-1}", "version" },
		{ "{\"version\":1.5}", "version" },
		{ "{\"version\":\"1\"}", "version: expected an integer" },
		{ "{\"version\":1,\"internal_ip\":\"999.1.1.1\"}",
		    "internal_ip: \"999.1.1.1\"" },
		{ "{\"version\":1,\"internal_ip\":\"<script>\"}",
		    "internal_ip" },
		{ "{\"version\":1,\"internal_ip\":5}", "internal_ip" },
		{ "{\"version\":1,\"internal_ip\":null}", "internal_ip" },
		{ "{\"version\":1,\"mappings\":{}}", "mappings: expected an "
		    "array" },
		{ "{\"version\":1,\"mappings\":[5]}", "mappings[0]: expected "
		    "an object" },
		{ "{\"version\":1,\"external_ip_history\":\"x\"}",
		    "external_ip_history: expected an array" },
		{ "{\"version\":1,\"external_ip_history\":[[]]}",
		    "external_ip_history[0]: expected an object" },
	};
	size_t i;

	(void)unused;
	for (i = 0; i < nitems(cases); i++)
		refused(cases[i].text, strlen(cases[i].text), cases[i].want);
	/* Truncated anywhere: never accepted, never a crash. */
	for (i = 0; i < strlen(example); i++)
		refused(example, i, "");
	/* The length is honoured, even without a NUL. */
	refused("{\"version\":1}", 5, "not valid JSON");
	/* A NUL byte anywhere, even where a string would hide it. */
	refused("{\"version\":1}\0", 14, "contains a NUL");
	refused("{\"version\":1,\"x\":\"a\0b\"}", 23, "contains a NUL");
}

static void
test_escaped_backslash(void **unused)
{
	/* "\\u0000" is a backslash and "u0000", not a NUL. */
	static const char text[] =
	    "{\"version\":1,\"note\":\"C:\\\\u0000\"}";
	static const char bad[] =
	    "{\"version\":1,\"note\":\"\\\\\\u0000\"}";
	struct state st;
	char e[256];

	(void)unused;
	if (state_parse(text, strlen(text), &st, e, sizeof(e)) != 0)
		fail_msg("%s: %s", text, e);
	state_free(&st);
	refused(bad, strlen(bad), "contains a NUL");
}

static void
test_duplicates(void **unused)
{
	static const char text[] =
	    "{\"version\":1,\"mappings\":["
	    "{\"name\":\"web\",\"protocol\":\"tcp\",\"external_port\":80,"
	    "\"internal_port\":80,\"internal_ip\":\"192.168.1.2\","
	    "\"method\":\"upnp\",\"expires\":0},"
	    "{\"name\":\"ssh\",\"protocol\":\"tcp\",\"external_port\":22,"
	    "\"internal_port\":22,\"internal_ip\":\"192.168.1.2\","
	    "\"method\":\"upnp\",\"expires\":0},"
	    "{\"name\":\"web\",\"protocol\":\"udp\",\"external_port\":81,"
	    "\"internal_port\":81,\"internal_ip\":\"192.168.1.2\","
	    "\"method\":\"natpmp\",\"expires\":0}]}";

	(void)unused;
	refused(text, strlen(text),
	    "mappings[2].name: \"web\" already used by mappings[0]");
}

/* A document with n mappings or n history entries. */
static char *
many(size_t n, int history)
{
	size_t len = 64 + n * 200, off, i;
	char *s;

	assert_non_null(s = malloc(len));
	off = (size_t)snprintf(s, len, "{\"version\":1,\"%s\":[",
	    history ? "external_ip_history" : "mappings");
	for (i = 0; i < n; i++) {
		if (history)
			off += (size_t)snprintf(s + off, len - off,
			    "%s{\"ip\":\"11.0.%zu.%zu\",\"first_seen\":%zu,"
			    "\"last_seen\":%zu}", i ? "," : "", i / 256,
			    i % 256, i, i + 1);
		else
			off += (size_t)snprintf(s + off, len - off,
			    "%s{\"name\":\"f%zu\",\"protocol\":\"tcp\","
			    "\"external_port\":%zu,\"internal_port\":%zu,"
			    "\"internal_ip\":\"192.168.1.2\",\"method\":"
			    "\"upnp\",\"expires\":0}", i ? "," : "", i,
			    i % 65535 + 1, i % 65535 + 1);
	}
	snprintf(s + off, len - off, "]}");
	return s;
}

static void
test_limits(void **unused)
{
	struct state st;
	char *text, e[256];

	(void)unused;
	/* As many mappings as allowed read; one more is refused. */
	text = many(STATE_MAPPINGS_MAX, 0);
	if (state_parse(text, strlen(text), &st, e, sizeof(e)) != 0)
		fail_msg("%s", e);
	assert_int_equal(st.nm, STATE_MAPPINGS_MAX);
	assert_string_equal(st.m[STATE_MAPPINGS_MAX - 1].name, "f4095");
	state_free(&st);
	free(text);
	text = many(STATE_MAPPINGS_MAX + 1, 0);
	refused(text, strlen(text), "mappings: 4097 entries, at most 4096");
	free(text);

	/* A longer history keeps its newest entries. */
	text = many(STATE_HISTORY_MAX + 8, 1);
	if (state_parse(text, strlen(text), &st, e, sizeof(e)) != 0)
		fail_msg("%s", e);
	assert_int_equal(st.nhist, STATE_HISTORY_MAX);
	assert_string_equal(st.hist[0].ip, "11.0.0.8");
	assert_int_equal(st.hist[0].first_seen, 8);
	assert_string_equal(st.hist[STATE_HISTORY_MAX - 1].ip, "11.0.0.39");
	state_free(&st);
	free(text);
}

static void
test_note_external_ip(void **unused)
{
	struct state st;
	char old[16], want[24];
	int i;

	(void)unused;
	state_init(&st);
	memset(old, 'x', sizeof(old));
	assert_int_equal(state_note_external_ip(&st, "11.22.33.2", 100, old),
	    1);
	assert_string_equal(old, "");
	assert_int_equal(st.nhist, 1);

	assert_int_equal(state_note_external_ip(&st, "11.22.33.2", 200, old),
	    0);
	assert_int_equal(st.nhist, 1);
	assert_int_equal(st.hist[0].first_seen, 100);
	assert_int_equal(st.hist[0].last_seen, 200);

	assert_int_equal(state_note_external_ip(&st, "11.22.33.3", 300, old),
	    1);
	assert_string_equal(old, "11.22.33.2");
	assert_int_equal(st.nhist, 2);
	assert_string_equal(st.hist[1].ip, "11.22.33.3");
	assert_int_equal(st.hist[1].first_seen, 300);
	assert_int_equal(st.hist[1].last_seen, 300);

	/* Back to an earlier address is a change too. */
	assert_int_equal(state_note_external_ip(&st, "11.22.33.2", 400, old),
	    1);
	assert_string_equal(old, "11.22.33.3");
	assert_int_equal(st.nhist, 3);

	/* No address, or garbage, is not recorded. */
	assert_int_equal(state_note_external_ip(&st, "", 500, old), 0);
	assert_int_equal(state_note_external_ip(&st, "999.1.1.1", 500, old),
	    0);
	assert_int_equal(st.nhist, 3);
	assert_int_equal(st.hist[2].last_seen, 400);

	/* Full: the oldest goes. */
	for (i = 0; i < STATE_HISTORY_MAX; i++) {
		snprintf(want, sizeof(want), "1.1.1.%d", i);
		assert_int_equal(state_note_external_ip(&st, want, 1000 + i,
		    old), 1);
	}
	assert_int_equal(st.nhist, STATE_HISTORY_MAX);
	assert_string_equal(st.hist[0].ip, "1.1.1.0");
	assert_string_equal(st.hist[STATE_HISTORY_MAX - 1].ip, "1.1.1.31");
	assert_int_equal(state_note_external_ip(&st, "2.2.2.2", 2000, old),
	    1);
	assert_string_equal(old, "1.1.1.31");
	assert_string_equal(st.hist[0].ip, "1.1.1.1");
	assert_string_equal(st.hist[STATE_HISTORY_MAX - 1].ip, "2.2.2.2");
	assert_int_equal(st.nhist, STATE_HISTORY_MAX);
	state_free(&st);
}

static void
test_put_find_remove(void **unused)
{
	struct state st;
	struct state_mapping m;
	char name[CONFIG_NAME_MAX];
	size_t i;

	(void)unused;
	state_init(&st);
	assert_null(state_find(&st, "web"));
	state_remove(&st, "web");

	mapping(&m, "a", PM_TCP, 1, 1, "192.168.1.2", PM_UPNP, 0);
	assert_int_equal(state_put(&st, &m), 0);
	mapping(&m, "b", PM_TCP, 2, 2, "192.168.1.2", PM_UPNP, 0);
	assert_int_equal(state_put(&st, &m), 0);
	mapping(&m, "c", PM_UDP, 3, 3, "192.168.1.2", PM_NATPMP, 10);
	assert_int_equal(state_put(&st, &m), 0);
	assert_int_equal(st.nm, 3);

	/* Same name: replaced in place. */
	mapping(&m, "b", PM_UDP, 20, 21, "192.168.1.3", PM_NATPMP, 99);
	assert_int_equal(state_put(&st, &m), 0);
	assert_int_equal(st.nm, 3);
	assert_ptr_equal(state_find(&st, "b"), &st.m[1]);
	assert_int_equal(st.m[1].ext, 20);
	assert_int_equal(st.m[1].expires, 99);

	/* Removal keeps the order of the rest. */
	state_remove(&st, "b");
	assert_int_equal(st.nm, 2);
	assert_string_equal(st.m[0].name, "a");
	assert_string_equal(st.m[1].name, "c");
	assert_null(state_find(&st, "b"));
	state_remove(&st, "nope");
	assert_int_equal(st.nm, 2);

	/* Nothing that state_parse would refuse gets in. */
	mapping(&m, "a b", PM_TCP, 1, 1, "192.168.1.2", PM_UPNP, 0);
	assert_int_equal(state_put(&st, &m), -1);
	mapping(&m, "", PM_TCP, 1, 1, "192.168.1.2", PM_UPNP, 0);
	assert_int_equal(state_put(&st, &m), -1);
	mapping(&m, "d", PM_TCP, 0, 1, "192.168.1.2", PM_UPNP, 0);
	assert_int_equal(state_put(&st, &m), -1);
	mapping(&m, "d", PM_TCP, 1, 0, "192.168.1.2", PM_UPNP, 0);
	assert_int_equal(state_put(&st, &m), -1);
	mapping(&m, "d", PM_TCP, 1, 1, "", PM_UPNP, 0);
	assert_int_equal(state_put(&st, &m), -1);
	mapping(&m, "d", PM_TCP, 1, 1, "192.168.1.2", PM_AUTO, 0);
	assert_int_equal(state_put(&st, &m), -1);
	mapping(&m, "d", PM_TCP, 1, 1, "192.168.1.2", PM_UPNP, -5);
	assert_int_equal(state_put(&st, &m), -1);
	assert_int_equal(st.nm, 2);

	/* Growing to the limit, through many reallocations. */
	for (i = st.nm; i < STATE_MAPPINGS_MAX; i++) {
		snprintf(name, sizeof(name), "n%zu", i);
		mapping(&m, name, PM_TCP, 1, 1, "192.168.1.2", PM_UPNP, 0);
		assert_int_equal(state_put(&st, &m), 0);
	}
	assert_int_equal(st.nm, STATE_MAPPINGS_MAX);
	mapping(&m, "one-too-many", PM_TCP, 1, 1, "192.168.1.2", PM_UPNP, 0);
	assert_int_equal(state_put(&st, &m), -1);
	/* Replacing still works when full. */
	mapping(&m, "a", PM_TCP, 5, 5, "192.168.1.2", PM_UPNP, 0);
	assert_int_equal(state_put(&st, &m), 0);
	assert_int_equal(state_find(&st, "a")->ext, 5);
	/* Shrink and grow again. */
	for (i = 2; i < 100; i++) {
		snprintf(name, sizeof(name), "n%zu", i);
		state_remove(&st, name);
	}
	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "m%zu", i);
		mapping(&m, name, PM_TCP, 1, 1, "192.168.1.2", PM_UPNP, 0);
		assert_int_equal(state_put(&st, &m), 0);
	}
	assert_int_equal(st.nm, STATE_MAPPINGS_MAX - 98 + 50);
	assert_string_equal(st.m[st.nm - 1].name, "m49");
	state_free(&st);
	assert_null(st.m);
	assert_int_equal(st.nm, 0);
}

static void
tmpdir(char dir[64])
{
	str_copy(dir, "/tmp/pk-test-state.XXXXXX", 64);
	assert_non_null(mkdtemp(dir));
}

static void
rmtree(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd;

	assert_true((fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, mode)) >=
	    0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void
test_save_load(void **unused)
{
	struct state a, b;
	struct state_mapping m;
	struct stat sb;
	char dir[64], path[128], tmp[128], e[512];

	(void)unused;
	tmpdir(dir);
	snprintf(path, sizeof(path), "%s/state.json", dir);
	snprintf(tmp, sizeof(tmp), "%s/state.json.tmp", dir);

	/* Nothing saved yet: an empty state. */
	memset(&b, 0x5a, sizeof(b));
	if (state_load(dir, &b, e, sizeof(e)) != 0)
		fail_msg("%s", e);
	assert_state_empty(&b);
	state_free(&b);

	sample(&a);
	if (state_save(dir, &a, e, sizeof(e)) != 0)
		fail_msg("%s", e);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(stat(tmp, &sb), -1);
	assert_int_equal(errno, ENOENT);
	if (state_load(dir, &b, e, sizeof(e)) != 0)
		fail_msg("%s", e);
	assert_state_equal(&a, &b);
	state_free(&b);

	/*
	 * Saving over a previous file, with a temporary file left behind by a
	 * crash (and a wider mode): the new contents win, the file is 0600,
	 * and the temporary file is gone.
	 */
	write_file(tmp, "half a sta", 0644);
	assert_int_equal(chmod(tmp, 0644), 0);
	mapping(&m, "extra", PM_UDP, 5000, 5001, "192.168.77.11", PM_UPNP, 0);
	assert_int_equal(state_put(&a, &m), 0);
	state_remove(&a, "web");
	if (state_save(dir, &a, e, sizeof(e)) != 0)
		fail_msg("%s", e);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(stat(tmp, &sb), -1);
	if (state_load(dir, &b, e, sizeof(e)) != 0)
		fail_msg("%s", e);
	assert_state_equal(&a, &b);
	assert_null(state_find(&b, "web"));
	assert_non_null(state_find(&b, "extra"));
	state_free(&b);
	state_free(&a);
	rmtree(dir);

	/* A directory that does not exist is the same as a first start. */
	assert_int_equal(state_load("/nonexistent/portkeeper", &b, e,
	    sizeof(e)), 0);
	assert_state_empty(&b);
}

static void
test_save_fails(void **unused)
{
	struct state a;
	struct stat sb;
	char dir[64], path[128], tmp[128], e[512];

	(void)unused;
	sample(&a);
	e[0] = '\0';
	assert_int_equal(state_save("/nonexistent/portkeeper", &a, e,
	    sizeof(e)), -1);
	assert_non_null(strstr(e, "/nonexistent/portkeeper/state.json.tmp"));
	assert_non_null(strstr(e, "No such file"));

	/* The rename fails: the temporary file is cleaned up. */
	tmpdir(dir);
	snprintf(path, sizeof(path), "%s/state.json", dir);
	snprintf(tmp, sizeof(tmp), "%s/state.json.tmp", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(e, sizeof(e), "%s/state.json/x", dir);
	write_file(e, "x", 0600);
	e[0] = '\0';
	assert_int_equal(state_save(dir, &a, e, sizeof(e)), -1);
	assert_non_null(strstr(e, "rename"));
	assert_int_equal(stat(tmp, &sb), -1);
	assert_int_equal(errno, ENOENT);
	state_free(&a);
	rmtree(dir);
}

static void
test_load_fails(void **unused)
{
	struct state st;
	char dir[64], path[128], e[512];
	int fd;

	(void)unused;
	tmpdir(dir);
	snprintf(path, sizeof(path), "%s/state.json", dir);

	/* The message names the file and the field. */
	write_file(path, "{\"version\":1,\"mappings\":[{\"name\":\"web\","
	    "\"protocol\":\"tcp\",\"external_port\":70000}]}", 0600);
	memset(&st, 0x5a, sizeof(st));
	assert_int_equal(state_load(dir, &st, e, sizeof(e)), -1);
	assert_non_null(strstr(e, path));
	assert_non_null(strstr(e, "mappings[0].external_port: 70000"));
	assert_state_empty(&st);

	write_file(path, "{\"version\":7}", 0600);
	assert_int_equal(state_load(dir, &st, e, sizeof(e)), -1);
	assert_non_null(strstr(e, "version: 7 is not supported"));
	assert_state_empty(&st);

	/* Over 4 MiB: refused without being read. */
	assert_true((fd = open(path, O_WRONLY | O_TRUNC)) >= 0);
	assert_int_equal(ftruncate(fd, 4 * 1024 * 1024 + 1), 0);
	close(fd);
	assert_int_equal(state_load(dir, &st, e, sizeof(e)), -1);
	assert_non_null(strstr(e, path));
	assert_non_null(strstr(e, "larger than"));
	assert_state_empty(&st);

	/* Exactly 4 MiB is read (and then is not JSON). */
	assert_true((fd = open(path, O_WRONLY | O_TRUNC)) >= 0);
	assert_int_equal(ftruncate(fd, 4 * 1024 * 1024), 0);
	close(fd);
	assert_int_equal(state_load(dir, &st, e, sizeof(e)), -1);
	assert_non_null(strstr(e, "not valid JSON"));

	/* Not a file. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(state_load(dir, &st, e, sizeof(e)), -1);
	assert_non_null(strstr(e, path));
	assert_state_empty(&st);
	rmtree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_forward_compatible),
		cmocka_unit_test(test_mapping_fields_invalid),
		cmocka_unit_test(test_history_fields_invalid),
		cmocka_unit_test(test_document_invalid),
		cmocka_unit_test(test_escaped_backslash),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_note_external_ip),
		cmocka_unit_test(test_put_find_remove),
		cmocka_unit_test(test_save_load),
		cmocka_unit_test(test_save_fails),
		cmocka_unit_test(test_load_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
