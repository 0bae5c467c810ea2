/*
 * The failed-login limiter: a burst blocks an address, failures while
 * blocked extend the block, a login clears it, IPv6 counts by /64, and a
 * full table reuses its stalest record.
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

#include "ratelimit.h"
#include "util.h"

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

/*
 * A success clears nothing (issue 13, item 5: nine guesses and the right
 * password, over and over, used to guess without limit); an address with
 * no failure in the window is clean.
 */
static void
test_limit_success(void **state)
{
	struct ratelimit *rl = *state;
	struct sockaddr_storage a = client("192.168.1.50");
	struct sockaddr_storage b = client("192.168.1.51");
	int64_t last;

	assert_true(ratelimit_clean(rl, SA(a), 0));
	last = fail_n(rl, SA(a), 0, RATELIMIT_BURST - 1);
	assert_false(ratelimit_clean(rl, SA(a), last));
	assert_true(ratelimit_clean(rl, SA(b), last));
	/* One more failure after a right password still blocks. */
	ratelimit_fail(rl, SA(a), last + 1000);
	assert_true(ratelimit_check(rl, SA(a), last + 1000) > 0);
	assert_false(ratelimit_clean(rl, SA(a), last + 1000));
	/* A guesser for longer than the window; then clean again. */
	assert_false(ratelimit_clean(rl, SA(a), last + 1000 +
	    RATELIMIT_WINDOW_MS + 1));
	assert_true(ratelimit_clean(rl, SA(a), last + 1000 +
	    RATELIMIT_GUESSER_MS));
	assert_true(ratelimit_same_client(SA(a), SA(a)));
	assert_false(ratelimit_same_client(SA(a), SA(b)));
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
	assert_true(ratelimit_same_client(SA(ip4), SA(mapped)));
	assert_true(ratelimit_same_client(SA(a1), SA(a2)));
	assert_false(ratelimit_same_client(SA(a1), SA(other)));

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
