/*
 * portkeeperd's pinholes: their records in state.json (every field
 * checked, an older file without them still loads), when they are
 * refreshed (RFC 6887 section 11.2.1), and a restarted daemon adopting
 * what the last run recorded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pcp.h"
#include "pinholes.h"
#include "state.h"
#include "util.h"

#define PCP_REC \
    "{\"family\":6,\"protocol\":\"tcp\",\"address\":\"2a0c:7700:77::10\"," \
    "\"port\":8080,\"external_port\":8080,\"expires\":1700003600," \
    "\"kind\":\"pcp\",\"nonce\":\"00112233445566778899aabb\"," \
    "\"name\":\"web\",\"lease\":3600}"
#define UPNP_REC \
    "{\"family\":6,\"protocol\":\"udp\",\"address\":\"2a0c:7700:77::10\"," \
    "\"port\":5353,\"external_port\":5353,\"expires\":1700000100," \
    "\"kind\":\"upnp_pinhole\",\"unique_id\":7,\"name\":\"dns\"," \
    "\"lease\":100}"
#define DOC(pinholes) \
    "{\"version\":1,\"internal_ip\":\"\",\"external_ip_history\":[]," \
    "\"mappings\":[],\"pinholes\":" pinholes "}"

static int
parse(const char *text, struct state *st, char *err, size_t errlen)
{
	return state_parse(text, strlen(text), st, err, errlen);
}

static void
test_older_file_loads(void **unused)
{
	struct state st;
	char err[256];
	const char *old = "{\"version\":1,\"internal_ip\":\"192.168.77.10\","
	    "\"external_ip_history\":[],\"mappings\":[]}";

	(void)unused;
	assert_int_equal(parse(old, &st, err, sizeof(err)), 0);
	assert_int_equal(st.nph, 0);
	state_free(&st);
}

static void
test_records_roundtrip(void **unused)
{
	struct state st, again;
	char err[256], *j1, *j2;
	uint8_t nonce[PCP_NONCE_LEN];

	(void)unused;
	assert_int_equal(parse(DOC("[" PCP_REC "," UPNP_REC "]"), &st, err,
	    sizeof(err)), 0);
	assert_int_equal(st.nph, 2);
	assert_string_equal(st.ph[0].name, "web");
	assert_int_equal(st.ph[0].id.kind, MS_PCP);
	assert_int_equal(pcp_nonce_parse("00112233445566778899aabb", nonce),
	    0);
	assert_memory_equal(st.ph[0].id.nonce, nonce, PCP_NONCE_LEN);
	assert_int_equal(st.ph[0].lease, 3600);
	assert_int_equal(st.ph[0].id.expires, 1700003600);
	assert_int_equal(st.ph[1].id.kind, MS_UPNP_PINHOLE);
	assert_int_equal(st.ph[1].id.unique_id, 7);
	assert_int_equal(st.ph[1].id.proto, PM_UDP);
	assert_non_null(j1 = state_to_json(&st));
	assert_int_equal(parse(j1, &again, err, sizeof(err)), 0);
	assert_non_null(j2 = state_to_json(&again));
	assert_string_equal(j1, j2);
	free(j1);
	free(j2);
	state_free(&again);
	state_free(&st);
}

/* Each field off, one at a time: the whole file is refused. */
static void
test_records_invalid(void **unused)
{
	static const char *const bad[] = {
		DOC("{}"),
		DOC("[1]"),
		DOC("[" PCP_REC "," PCP_REC "]"),	/* a name twice */
		DOC("[{\"family\":4,\"protocol\":\"tcp\",\"address\":"
		    "\"2a0c:7700:77::10\",\"port\":8080,\"external_port\":8080,"
		    "\"expires\":1,\"kind\":\"pcp\",\"nonce\":"
		    "\"00112233445566778899aabb\",\"name\":\"web\",\"lease\":1}]"),
		DOC("[{\"family\":6,\"protocol\":\"tcp\",\"address\":"
		    "\"fd00::10\",\"port\":8080,\"external_port\":8080,"
		    "\"expires\":1,\"kind\":\"pcp\",\"nonce\":"
		    "\"00112233445566778899aabb\",\"name\":\"web\",\"lease\":1}]"),
		DOC("[{\"family\":6,\"protocol\":\"tcp\",\"address\":"
		    "\"2a0c:7700:77::10\",\"port\":8080,\"external_port\":80,"
		    "\"expires\":1,\"kind\":\"pcp\",\"nonce\":"
		    "\"00112233445566778899aabb\",\"name\":\"web\",\"lease\":1}]"),
		DOC("[{\"family\":6,\"protocol\":\"tcp\",\"address\":"
		    "\"2a0c:7700:77::10\",\"port\":8080,\"external_port\":8080,"
		    "\"expires\":1,\"kind\":\"pcp\",\"nonce\":\"0011\","
		    "\"name\":\"web\",\"lease\":1}]"),
		DOC("[{\"family\":6,\"protocol\":\"tcp\",\"address\":"
		    "\"2a0c:7700:77::10\",\"port\":8080,\"external_port\":8080,"
		    "\"expires\":1,\"kind\":\"pcp\",\"nonce\":"
		    "\"00112233445566778899aabb\",\"name\":\"web\",\"lease\":0}]"),
		DOC("[{\"family\":6,\"protocol\":\"tcp\",\"address\":"
		    "\"2a0c:7700:77::10\",\"port\":8080,\"external_port\":8080,"
		    "\"expires\":1,\"kind\":\"pcp\",\"nonce\":"
		    "\"00112233445566778899aabb\",\"name\":\"a b\",\"lease\":1}]"),
		DOC("[{\"family\":6,\"protocol\":\"tcp\",\"address\":"
		    "\"2a0c:7700:77::10\",\"port\":8080,\"external_port\":8080,"
		    "\"expires\":-1,\"kind\":\"pcp\",\"nonce\":"
		    "\"00112233445566778899aabb\",\"name\":\"web\",\"lease\":1}]"),
		DOC("[{\"family\":6,\"protocol\":\"tcp\",\"address\":"
		    "\"2a0c:7700:77::10\",\"port\":8080,\"external_port\":8080,"
		    "\"expires\":1,\"kind\":\"map\",\"name\":\"web\","
		    "\"lease\":1}]"),
	};
	struct state st;
	char err[256];
	size_t i;

	(void)unused;
	for (i = 0; i < nitems(bad); i++) {
		err[0] = '\0';
		assert_int_equal(parse(bad[i], &st, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "pinholes"));
		assert_int_equal(st.nph, 0);
		state_free(&st);
	}
}

static void
record(struct state_pinhole *p, const char *name, uint16_t port,
    int64_t expires, uint32_t lease)
{
	memset(p, 0, sizeof(*p));
	str_copy(p->name, name, sizeof(p->name));
	p->id.family = 6;
	p->id.proto = PM_TCP;
	str_copy(p->id.addr, "2a0c:7700:77::10", sizeof(p->id.addr));
	p->id.port = p->id.ext_port = port;
	p->id.kind = MS_PCP;
	p->id.expires = expires;
	memset(p->id.nonce, 0x5a, sizeof(p->id.nonce));
	p->lease = lease;
}

static void
test_put_find_remove(void **unused)
{
	struct state st;
	struct state_pinhole p;

	(void)unused;
	state_init(&st);
	record(&p, "web", 8080, 1700003600, 3600);
	assert_int_equal(state_pinhole_put(&st, &p), 0);
	p.lease = 1800;
	assert_int_equal(state_pinhole_put(&st, &p), 0);	/* replaced */
	assert_int_equal(st.nph, 1);
	assert_int_equal(state_pinhole_find(&st, "web")->lease, 1800);
	record(&p, "ssh", 22, 1700003600, 3600);
	assert_int_equal(state_pinhole_put(&st, &p), 0);
	/* What state_parse would refuse is not kept either. */
	record(&p, "bad", 8081, 1700003600, 0);
	assert_int_equal(state_pinhole_put(&st, &p), -1);
	record(&p, "bad", 8081, 1700003600, 60);
	str_copy(p.id.addr, "fe80::1", sizeof(p.id.addr));
	assert_int_equal(state_pinhole_put(&st, &p), -1);
	assert_int_equal(st.nph, 2);
	state_pinhole_remove(&st, "web");
	assert_null(state_pinhole_find(&st, "web"));
	assert_non_null(state_pinhole_find(&st, "ssh"));
	state_pinhole_remove(&st, "nothing");
	assert_int_equal(st.nph, 1);
	state_free(&st);
}

/* This host's IPv6 addresses, kept as the router's IPv4 ones are. */
static void
test_ipv6_history(void **unused)
{
	struct state st, again;
	char old[INET6_ADDRSTRLEN], err[256], *j;
	int i;

	(void)unused;
	state_init(&st);
	assert_int_equal(state_note_ipv6(&st, "2a0c:7700:77::10", 100, old),
	    1);
	assert_string_equal(old, "");
	assert_int_equal(state_note_ipv6(&st, "2a0c:7700:77::10", 200, old),
	    0);
	assert_int_equal(st.hist6[0].last_seen, 200);
	assert_int_equal(state_note_ipv6(&st, "2a0c:7700:78::10", 300, old),
	    1);
	assert_string_equal(old, "2a0c:7700:77::10");
	/* Only global addresses are worth a line in the history. */
	assert_int_equal(state_note_ipv6(&st, "fe80::1", 400, old), 0);
	assert_int_equal(state_note_ipv6(&st, "not an address", 400, old), 0);
	assert_int_equal(st.nhist6, 2);
	assert_non_null(j = state_to_json(&st));
	assert_int_equal(parse(j, &again, err, sizeof(err)), 0);
	assert_int_equal(again.nhist6, 2);
	assert_string_equal(again.hist6[1].ip, "2a0c:7700:78::10");
	assert_int_equal(again.hist6[0].first_seen, 100);
	free(j);
	state_free(&again);
	/* Full: the oldest goes. */
	for (i = 0; i < STATE_HISTORY_MAX + 3; i++) {
		char ip[INET6_ADDRSTRLEN];

		snprintf(ip, sizeof(ip), "2a0c:7700:%x::10", i + 1);
		state_note_ipv6(&st, ip, 500 + i, old);
	}
	assert_int_equal(st.nhist6, STATE_HISTORY_MAX);
	state_free(&st);
	assert_int_equal(parse("{\"version\":1,\"ipv6_history\":[{\"ip\":"
	    "\"fd00::1\",\"first_seen\":1,\"last_seen\":2}]}", &st, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "ipv6_history[0]"));
	state_free(&st);
}

/* RFC 6887 section 11.2.1: between 1/2 and 5/8 of the lifetime. */
static void
test_refresh_timing(void **unused)
{
	uint32_t leases[] = { 1, 20, 120, 3600, 86400 }, r;
	size_t i;
	int64_t ms, lo, hi;
	bool low_seen, high_seen;

	(void)unused;
	for (i = 0; i < nitems(leases); i++) {
		lo = (int64_t)leases[i] * 500;
		hi = (int64_t)leases[i] * 625;
		assert_int_equal(pinholes_refresh_ms(leases[i], 0), lo);
		assert_int_equal(pinholes_refresh_ms(leases[i],
		    (uint32_t)(hi - lo)), hi);
		low_seen = high_seen = false;
		for (r = 0; r < 100000; r++) {
			ms = pinholes_refresh_ms(leases[i], (uint32_t)random());
			assert_true(ms >= lo && ms <= hi);
			low_seen |= ms < lo + (hi - lo) / 4 + 1;
			high_seen |= ms > hi - (hi - lo) / 4 - 1;
		}
		/* Spread over the range, not stuck at one end. */
		assert_true(low_seen && high_seen);
	}
}

/*
 * A restarted daemon adopts the recorded pinhole of a forward that is
 * still kept over IPv6: active, its nonce kept, refreshed when the last
 * run would have, not at once.
 */
static void
test_adopt(void **unused)
{
	struct config cfg;
	struct forwards fw;
	struct fwd f[2];
	struct state st;
	struct state_pinhole p;
	struct pinholes ph;
	const struct pinhole *h;
	int64_t wall = (int64_t)time(NULL), now = mono_ms();
	bool dirty = false;

	(void)unused;
	config_init(&cfg);
	state_init(&st);
	memset(&fw, 0, sizeof(fw));
	memset(f, 0, sizeof(f));
	str_copy(f[0].cfg.name, "web", sizeof(f[0].cfg.name));
	f[0].cfg.ext = f[0].cfg.in = 8080;
	f[0].cfg.family = CONFIG_FAMILY_BOTH;
	str_copy(f[1].cfg.name, "v4", sizeof(f[1].cfg.name));
	f[1].cfg.ext = f[1].cfg.in = 8081;
	f[1].cfg.family = CONFIG_FAMILY_4;
	fw.fwd = f;
	fw.nfwd = 2;
	/* Made 1000 s ago with a lease of 3600 s. */
	record(&p, "web", 8080, wall + 2600, 3600);
	assert_int_equal(state_pinhole_put(&st, &p), 0);
	pinholes_init(&ph, &cfg, &fw, &st, &dirty, NULL, NULL);
	assert_int_equal(pinholes_sync(&ph), 0);
	assert_int_equal(ph.nph, 1);		/* family 4 has none */
	assert_null(pinholes_find(&ph, "v4"));
	assert_non_null(h = pinholes_find(&ph, "web"));
	assert_true(h->adopted && h->have_id);
	assert_int_equal(h->state, PH_ACTIVE);
	assert_memory_equal(h->id.nonce, p.id.nonce, PCP_NONCE_LEN);
	/* Due between 1800 and 2250 s after it was made: 800 to 1250 s. */
	assert_true(h->refresh_at >= now + 799 * 1000 &&
	    h->refresh_at <= now + 1251 * 1000);
	assert_false(dirty);
	pinholes_free(&ph);

	/* One that ran out meanwhile is refreshed at once, with its nonce. */
	record(&p, "web", 8080, wall - 5, 3600);
	assert_int_equal(state_pinhole_put(&st, &p), 0);
	pinholes_init(&ph, &cfg, &fw, &st, &dirty, NULL, NULL);
	assert_int_equal(pinholes_sync(&ph), 0);
	assert_non_null(h = pinholes_find(&ph, "web"));
	assert_true(h->have_id);
	assert_int_equal(h->refresh_at, 0);
	pinholes_free(&ph);

	/* A forward whose port changed does not adopt the old pinhole. */
	f[0].cfg.in = 9090;
	pinholes_init(&ph, &cfg, &fw, &st, &dirty, NULL, NULL);
	assert_int_equal(pinholes_sync(&ph), 0);
	assert_false(pinholes_find(&ph, "web")->have_id);
	pinholes_free(&ph);

	/* ipv6 = off: the forward's pinhole is off, and says why. */
	cfg.ipv6 = CONFIG_IPV6_OFF;
	pinholes_init(&ph, &cfg, &fw, &st, &dirty, NULL, NULL);
	assert_int_equal(pinholes_sync(&ph), 0);
	assert_int_equal(pinholes_find(&ph, "web")->state, PH_OFF);
	assert_string_equal(pinholes_state_str(PH_OFF), "off");
	pinholes_free(&ph);
	state_free(&st);
	config_free(&cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_older_file_loads),
		cmocka_unit_test(test_records_roundtrip),
		cmocka_unit_test(test_records_invalid),
		cmocka_unit_test(test_put_find_remove),
		cmocka_unit_test(test_ipv6_history),
		cmocka_unit_test(test_refresh_timing),
		cmocka_unit_test(test_adopt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
