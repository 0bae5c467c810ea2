/* portkeeperd's pure pieces: the epoch rule and announcement parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Static helpers and all: the daemon's files are not in the library. */
#include "../../daemon/round.c"
#include "../../daemon/watch.c"

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_epoch_reset),
		cmocka_unit_test(test_announce),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
