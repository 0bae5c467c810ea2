/*
 * portkeeperd's pure pieces: the epoch rule, announcement parsing, and the
 * write-ahead of the forwards a round is about to make.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Static helpers and all: the daemon's files are not in the library. */
#include "../../daemon/round.c"
#include "../../daemon/watch.c"
#include "forwards.h"

static void
test_epoch_reset(void **state)
{
	(void)state;
	/* 100 s apart, the epoch moved 100 s: the same router. */
	assert_false(round_epoch_reset(1000, 0, 1100, 100000));
	/* Clocks drift: 7/8 of the elapsed time minus 2 s is still fine. */
	assert_false(round_epoch_reset(1000, 0, 1086, 100000));
	/* Less than that: its table was reset (RFC 6886 section 3.6). */
	assert_true(round_epoch_reset(1000, 0, 1080, 100000));
	/* A router that restarted shows a small epoch. */
	assert_true(round_epoch_reset(5000, 0, 3, 1000));
	/* Straight away, any step backwards counts. */
	assert_true(round_epoch_reset(5000, 0, 4999, 0));
	assert_false(round_epoch_reset(5000, 0, 5000, 0));
	/* No overflow near the top of the range. */
	assert_false(round_epoch_reset(0xfffffff0u, 0, 0xfffffffau, 10000));
}

static void
test_announce(void **state)
{
	const unsigned char pmp[12] = { 0, 128, 0, 0, 0, 0, 0, 7,
	    11, 22, 33, 2 };
	unsigned char pcp[24] = { 2, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	unsigned char bad[12];
	uint32_t epoch = 0;

	(void)state;
	assert_int_equal(watch_parse_announce(pmp, sizeof(pmp), &epoch), 1);
	assert_int_equal(epoch, 7);
	assert_int_equal(watch_parse_announce(pcp, sizeof(pcp), &epoch), 1);
	assert_int_equal(epoch, 256);
	/* Short, wrong version or opcode, an error result: not announcements. */
	assert_int_equal(watch_parse_announce(pmp, 11, &epoch), 0);
	assert_int_equal(watch_parse_announce(pcp, 23, &epoch), 0);
	memcpy(bad, pmp, sizeof(bad));
	bad[1] = 129;
	assert_int_equal(watch_parse_announce(bad, sizeof(bad), &epoch), 0);
	bad[1] = 128;
	bad[3] = 3;
	assert_int_equal(watch_parse_announce(bad, sizeof(bad), &epoch), 0);
	bad[3] = 0;
	bad[0] = 1;
	assert_int_equal(watch_parse_announce(bad, sizeof(bad), &epoch), 0);
	pcp[1] = 0x81;	/* a MAP response, not ANNOUNCE */
	assert_int_equal(watch_parse_announce(pcp, sizeof(pcp), &epoch), 0);
	assert_int_equal(watch_parse_announce(pmp, 0, &epoch), 0);
}

/*
 * The forwards a round opens and state.json does not know are recorded
 * before it; those it knows, refreshes and removals are left alone.
 */
static void
test_write_ahead(void **state)
{
	static const char conf[] = "[portkeeper]\nlease = 120\n"
	    "[forward web]\nexternal = 80\ninternal = 8080\n"
	    "[forward ssh]\nexternal = 2222\ninternal = 22\n"
	    "[forward game]\nexternal = 9100\nprotocol = udp\n";
	struct state_mapping known = { .name = "ssh", .proto = PM_TCP,
	    .ext = 2222, .in = 22, .internal_ip = "192.168.1.50",
	    .method = PM_NATPMP, .expires = 1000 };
	struct config cfg;
	struct state st;
	struct forwards fw;
	struct task t[4];
	const struct state_mapping *m;
	char err[256];

	(void)state;
	config_init(&cfg);
	assert_int_equal(config_parse(conf, sizeof(conf) - 1, "t.conf", &cfg,
	    err, sizeof(err)), 0);
	state_init(&st);
	assert_int_equal(state_put(&st, &known), 0);
	forwards_init(&fw, &cfg, &st);
	assert_int_equal(forwards_merge(&fw, &cfg), 0);
	assert_int_equal(forwards_tasks(&fw, t, 0, false, 120), 3);
	/* A removal is no forward to make. */
	t[2].op = TASK_CLOSE;
	assert_int_equal(forwards_write_ahead(&fw, &st, t, 3, "192.168.1.50",
	    PM_AUTO), 1);
	assert_int_equal(st.nm, 2);
	assert_non_null(m = state_find(&st, "web"));
	assert_int_equal(m->ext, 80);
	assert_int_equal(m->in, 8080);
	assert_int_equal(m->method, PM_UPNP);
	assert_string_equal(m->internal_ip, "192.168.1.50");
	assert_true(m->expires > 0);
	/* The known one is untouched, the closed one not recorded. */
	assert_int_equal(state_find(&st, "ssh")->expires, 1000);
	assert_null(state_find(&st, "game"));
	/* Once recorded, nothing more to write ahead. */
	assert_int_equal(forwards_write_ahead(&fw, &st, t, 3, "192.168.1.50",
	    PM_AUTO), 0);
	/* A forward whose ports changed is written again, by the method. */
	fw.fwd[0].cfg.in = 8081;
	assert_int_equal(forwards_write_ahead(&fw, &st, t, 3, "192.168.1.50",
	    PM_NATPMP), 1);
	assert_int_equal(state_find(&st, "web")->in, 8081);
	assert_int_equal(state_find(&st, "web")->method, PM_NATPMP);
	/* No address of this host yet: nothing it could record. */
	fw.fwd[0].cfg.in = 8082;
	assert_int_equal(forwards_write_ahead(&fw, &st, t, 3, "", PM_AUTO), 0);
	forwards_free(&fw);
	state_free(&st);
	config_free(&cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_epoch_reset),
		cmocka_unit_test(test_announce),
		cmocka_unit_test(test_write_ahead),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
