/*
 * The event streams of GET /api/events (HTML's server-sent events): each
 * new event, the status document when it changed (at most four a second),
 * and a keep-alive comment.  A stream whose client has nothing to read is
 * a suspended libmicrohttpd connection, so that it costs nothing between
 * events.
 */
#ifndef PK_SSE_H
#define PK_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <microhttpd.h>

#include "status.h"

#define SSE_MAX		16	/* event streams at once */

struct sse;

struct sse_set {
	struct status	*st;
	struct sse	*head;
	size_t		 n;
	bool		 stopping;
};

void	sse_init(struct sse_set *, struct status *st);
/*
 * The response that streams to c, from the event after last_id (the
 * Last-Event-ID header, or NULL: from now).  NULL when SSE_MAX streams are
 * open or they stop (*full is then true), or out of memory.
 */
struct MHD_Response *sse_open(struct sse_set *, struct MHD_Connection *c,
	    const char *last_id, bool *full);
/* The earliest a stream has something to send, or next. */
int64_t	sse_deadline(const struct sse_set *, int64_t next);
/* Resumes the streams that have something to send at now. */
void	sse_run(struct sse_set *, int64_t now);
/* Stopping: every stream ends. */
void	sse_stop(struct sse_set *);

#endif
