/*
 * sse_cursor.c: what an event stream says and when, without a socket.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sse_cursor.h"
#include "util.h"

struct fixture {
	struct config	cfg;
	struct state	st;
	struct forwards	fw;
	struct status	status;
};

static int
setup(void **state)
{
	struct fixture *x = calloc(1, sizeof(*x));

	assert_non_null(x);
	config_init(&x->cfg);
	state_init(&x->st);
	forwards_init(&x->fw, &x->cfg, &x->st);
	status_init(&x->status, &x->fw, &x->st);
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *x = *state;

	forwards_free(&x->fw);
	status_free(&x->status);
	state_free(&x->st);
	free(x);
	return 0;
}

static void
add_event(struct status *st, enum event_type type, const char *fwd)
{
	struct event e;

	memset(&e, 0, sizeof(e));
	e.type = type;
	str_copy(e.forward, fwd, sizeof(e.forward));
	eventlog_add(&st->ev, &e);
}

/* What fill appends now, as a string to free. */
static char *
fill(struct sse_cursor *c, struct status *st, int64_t now)
{
	char *buf = NULL;
	size_t len = 0;

	sse_cursor_fill(c, st, now, &buf, &len);
	if (buf == NULL)
		return strdup("");
	assert_int_equal(strlen(buf), len);
	return buf;
}

/* A new stream starts after the newest event, with the status first. */
static void
test_new_stream(void **state)
{
	struct fixture *x = *state;
	struct sse_cursor c;
	int64_t now = 100000;
	char *s;

	add_event(&x->status, EV_MAPPING_ADDED, "web");
	sse_cursor_init(&c, &x->status, NULL, now);
	assert_true(sse_cursor_due(&c, &x->status, now));
	s = fill(&c, &x->status, now);
	assert_non_null(strstr(s, "event: status\ndata: {"));
	assert_null(strstr(s, "id: "));
	free(s);
	/* Said: nothing more until something happens or the ping. */
	assert_false(sse_cursor_due(&c, &x->status, now + 1));
	assert_int_equal(sse_cursor_deadline(&c, &x->status, INT64_MAX),
	    now + SSE_PING_MS);
}

/* An event is sent at once, with its id; the status waits its turn. */
static void
test_event_then_status(void **state)
{
	struct fixture *x = *state;
	struct sse_cursor c;
	int64_t now = 100000;
	char *s;

	sse_cursor_init(&c, &x->status, NULL, now);
	free(fill(&c, &x->status, now));
	add_event(&x->status, EV_MAPPING_LOST, "ssh");
	x->status.gen++;
	assert_true(sse_cursor_due(&c, &x->status, now + 10));
	s = fill(&c, &x->status, now + 10);
	assert_non_null(strstr(s, "id: 1\nevent: mapping_lost\ndata: {"));
	/* The status changed too, but one went out 10 ms ago. */
	assert_null(strstr(s, "event: status"));
	free(s);
	assert_false(sse_cursor_due(&c, &x->status, now + 20));
	assert_int_equal(sse_cursor_deadline(&c, &x->status, INT64_MAX),
	    now + SSE_STATUS_MS);
	assert_true(sse_cursor_due(&c, &x->status, now + SSE_STATUS_MS));
	s = fill(&c, &x->status, now + SSE_STATUS_MS);
	assert_non_null(strstr(s, "event: status\n"));
	free(s);
}

/* A browser that reconnects with Last-Event-ID gets what it missed. */
static void
test_last_event_id(void **state)
{
	struct fixture *x = *state;
	struct sse_cursor c;
	char *s;

	add_event(&x->status, EV_MAPPING_ADDED, "a");
	add_event(&x->status, EV_MAPPING_ADDED, "b");
	add_event(&x->status, EV_MAPPING_LOST, "c");
	sse_cursor_init(&c, &x->status, "1", 5000);
	s = fill(&c, &x->status, 5000);
	assert_null(strstr(s, "id: 1\n"));
	assert_non_null(strstr(s, "id: 2\n"));
	assert_non_null(strstr(s, "id: 3\nevent: mapping_lost\n"));
	assert_true(strstr(s, "id: 2\n") < strstr(s, "id: 3\n"));
	free(s);
	/* A Last-Event-ID that is no number counts as none: after the newest. */
	sse_cursor_init(&c, &x->status, "3x", 5000);
	assert_int_equal(c.ev_seq, 3);
}

/* With nothing to say for SSE_PING_MS, a keep-alive comment. */
static void
test_keep_alive(void **state)
{
	struct fixture *x = *state;
	struct sse_cursor c;
	int64_t now = 100000;
	char *s;

	sse_cursor_init(&c, &x->status, NULL, now);
	free(fill(&c, &x->status, now));
	s = fill(&c, &x->status, now + SSE_PING_MS - 1);
	assert_string_equal(s, "");
	free(s);
	assert_true(sse_cursor_due(&c, &x->status, now + SSE_PING_MS));
	s = fill(&c, &x->status, now + SSE_PING_MS);
	assert_string_equal(s, ": keep-alive\n\n");
	free(s);
	assert_int_equal(sse_cursor_deadline(&c, &x->status, INT64_MAX),
	    now + 2 * SSE_PING_MS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_new_stream, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_event_then_status, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_last_event_id, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_keep_alive, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
