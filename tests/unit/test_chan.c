/*
 * chan.c: frames between portkeeperd and portkeeperd-web, whole and cut,
 * and the frames a broken or hostile peer could send.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/socket.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chan.h"

struct pair {
	struct chan	a, b;
};

/* Reads c until there is nothing more to read now. */
static void
drain(struct chan *c)
{
	int rc;

	while ((rc = chan_read(c)) == 1)
		continue;
	assert_int_equal(rc, 0);
}

static int
setup(void **state)
{
	struct pair *p = calloc(1, sizeof(*p));
	int sv[2];

	assert_non_null(p);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv), 0);
	chan_init(&p->a, sv[0]);
	chan_init(&p->b, sv[1]);
	*state = p;
	return 0;
}

static int
teardown(void **state)
{
	struct pair *p = *state;

	chan_close(&p->a);
	chan_close(&p->b);
	free(p);
	return 0;
}

/* Whole messages come out as they went in, an absent field as NULL. */
static void
test_roundtrip(void **state)
{
	struct pair *p = *state;
	struct chan_msg m, got;
	static const char bin[] = { 'a', '\0', 'b' };

	memset(&m, 0, sizeof(m));
	m.type = CHAN_REQ;
	m.id = 0x01020304;
	m.num = CHAN_RQ_WEB | CHAN_RQ_READ_ONLY;
	chan_set(&m, CHAN_RQ_METHOD, "GET");
	chan_set(&m, CHAN_RQ_URL, "/api/status");
	m.f[CHAN_RQ_BODY].p = bin;
	m.f[CHAN_RQ_BODY].len = sizeof(bin);
	chan_set(&m, CHAN_RQ_HOST, "pi.lan");
	m.n = CHAN_RQ_N;
	assert_int_equal(chan_send(&p->a, &m), 0);
	assert_int_equal(chan_send(&p->a, &m), 0);
	drain(&p->b);
	assert_int_equal(chan_next(&p->b, &got), 1);
	assert_int_equal(got.type, CHAN_REQ);
	assert_int_equal(got.id, 0x01020304);
	assert_int_equal(got.num, CHAN_RQ_WEB | CHAN_RQ_READ_ONLY);
	assert_int_equal(got.n, CHAN_RQ_N);
	assert_int_equal(got.f[CHAN_RQ_URL].len, 11);
	assert_memory_equal(got.f[CHAN_RQ_URL].p, "/api/status", 11);
	assert_int_equal(got.f[CHAN_RQ_BODY].len, 3);
	assert_memory_equal(got.f[CHAN_RQ_BODY].p, bin, 3);
	assert_null(got.f[CHAN_RQ_ORIGIN].p);
	assert_int_equal(chan_next(&p->b, &got), 1);
	assert_int_equal(chan_next(&p->b, &got), 0);
}

/* A frame larger than the socket takes at once waits, then arrives. */
static void
test_large(void **state)
{
	struct pair *p = *state;
	struct chan_msg m, got;
	size_t len = 3 * 1024 * 1024, off = 0;
	char *big = malloc(len);
	int i;

	assert_non_null(big);
	for (off = 0; off < len; off++)
		big[off] = (char)(off * 7);
	memset(&m, 0, sizeof(m));
	m.type = CHAN_DATA;
	m.id = 9;
	m.n = 1;
	m.f[0].p = big;
	m.f[0].len = (uint32_t)len;
	assert_int_equal(chan_send(&p->a, &m), 0);
	assert_true(chan_want_write(&p->a));
	for (i = 0; i < 10000 && chan_next(&p->b, &got) == 0; i++) {
		assert_int_equal(chan_flush(&p->a), 0);
		drain(&p->b);
	}
	assert_false(chan_want_write(&p->a));
	assert_int_equal(got.type, CHAN_DATA);
	assert_int_equal(got.f[0].len, len);
	assert_memory_equal(got.f[0].p, big, len);
	free(big);
}

/* Bytes in: what chan_next makes of them. */
static int
parse(struct pair *p, const void *bytes, size_t len, struct chan_msg *m)
{
	assert_int_equal(write(p->a.fd, bytes, len), (ssize_t)len);
	drain(&p->b);
	return chan_next(&p->b, m);
}

static void
test_cut(void **state)
{
	struct pair *p = *state;
	struct chan_msg m;
	/* length 16: type 3, id 7, num 0, one field of 2 bytes "ok" */
	static const unsigned char frame[] = {
		0, 0, 0, 16, 3, 0, 0, 0, 7, 0, 0, 0, 0, 1, 0, 0, 0, 2, 'o', 'k'
	};

	assert_int_equal(parse(p, frame, 7, &m), 0);
	assert_int_equal(parse(p, frame + 7, sizeof(frame) - 7, &m), 1);
	assert_int_equal(m.id, 7);
	assert_int_equal(m.f[0].len, 2);
}

static void
test_malformed(void **state)
{
	struct pair *p = *state;
	struct chan_msg m;
	/* A field that claims more than the frame holds. */
	static const unsigned char over[] = {
		0, 0, 0, 16, 3, 0, 0, 0, 7, 0, 0, 0, 0, 1, 0, 0, 0, 9, 'o', 'k'
	};

	assert_int_equal(parse(p, over, sizeof(over), &m), -1);
}

static void
test_bad_lengths(void **state)
{
	struct pair *p = *state;
	struct chan_msg m;
	/* Larger than CHAN_FRAME_MAX. */
	static const unsigned char huge[] = { 0x7f, 0xff, 0xff, 0xff };
	/* Shorter than a header. */
	static const unsigned char tiny[] = { 0, 0, 0, 3, 1, 2, 3 };
	/* More fields than there can be. */
	static const unsigned char many[] = {
		0, 0, 0, 10, 3, 0, 0, 0, 7, 0, 0, 0, 0, 99
	};
	/* Bytes left over after the last field. */
	static const unsigned char left[] = {
		0, 0, 0, 11, 3, 0, 0, 0, 7, 0, 0, 0, 0, 0, 'x'
	};

	assert_int_equal(parse(p, huge, sizeof(huge), &m), -1);
	teardown(state);
	setup(state);
	p = *state;
	assert_int_equal(parse(p, tiny, sizeof(tiny), &m), -1);
	teardown(state);
	setup(state);
	p = *state;
	assert_int_equal(parse(p, many, sizeof(many), &m), -1);
	teardown(state);
	setup(state);
	p = *state;
	assert_int_equal(parse(p, left, sizeof(left), &m), -1);
}

/* The other end gone: reads and writes say so. */
static void
test_gone(void **state)
{
	struct pair *p = *state;
	struct chan_msg m;

	chan_close(&p->b);
	assert_int_equal(chan_read(&p->a), -1);
	memset(&m, 0, sizeof(m));
	m.type = CHAN_PULL;
	assert_int_equal(chan_send(&p->a, &m), -1);
}

/* A message of more than CHAN_FRAME_MAX is refused, not sent. */
static void
test_too_big(void **state)
{
	struct pair *p = *state;
	struct chan_msg m;
	static char x;

	memset(&m, 0, sizeof(m));
	m.type = CHAN_DATA;
	m.n = 1;
	m.f[0].p = &x;
	m.f[0].len = CHAN_FRAME_MAX;
	assert_int_equal(chan_send(&p->a, &m), -1);
	assert_false(chan_want_write(&p->a));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_lengths, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_big, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
