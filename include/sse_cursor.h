/*
 * Where one event stream is in the daemon's story: the last event and the
 * status document it has sent, and when it is due the next status or a
 * keep-alive.  Knows nothing of the transport (sse.c streams it over
 * libmicrohttpd), so that what a stream says is made in one place.
 */
#ifndef PK_SSE_CURSOR_H
#define PK_SSE_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define SSE_STATUS_MS		250	/* 4 status documents a second */
#define SSE_PING_MS		15000	/* keep-alive comment */

struct sse_cursor {
	uint64_t	ev_seq;		/* the last event sent */
	uint64_t	gen;		/* the status sent */
	bool		sent_status;
	int64_t		status_at;	/* when, monotonic ms */
	int64_t		ping_at;
};

/*
 * A new stream at now: after the event whose id last names (the
 * Last-Event-ID of a browser reconnecting), or else after the newest.
 */
void	sse_cursor_init(struct sse_cursor *, const struct status *st,
	    const char *last, int64_t now);
/* Whether the cursor has something to send at now. */
bool	sse_cursor_due(const struct sse_cursor *, const struct status *st,
	    int64_t now);
/* The earlier of next and when the cursor is due. */
int64_t	sse_cursor_deadline(const struct sse_cursor *, const struct status *st,
	    int64_t next);
/*
 * Appends to *buf (malloc'd, *len bytes; NULL and 0 for none) the events
 * not sent yet, the status document if due and, with nothing else to say,
 * a keep-alive when due.  Stops at the first allocation that fails,
 * leaving the cursor at what the buffer holds.
 */
void	sse_cursor_fill(struct sse_cursor *, struct status *st, int64_t now,
	    char **buf, size_t *len);

#endif
