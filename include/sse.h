/*
 * Event streams (GET /api/events) in portkeeperd-web: each is a suspended
 * connection that the daemon's bytes (sse_cursor.c makes them) resume.
 * When a stream has sent all it had it asks for more (its set's pull), and
 * stays parked until they come: the daemon sends them when an event came,
 * the status changed or a keep-alive is due.
 */
#ifndef PK_SSE_H
#define PK_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <microhttpd.h>

#define SSE_MAX		16	/* event streams at once */

struct sse;

struct sse_set {
	/* Asks the daemon for stream id's next bytes (webproxy_pull). */
	void		(*pull)(void *arg, uint32_t id);
	void		*pull_arg;
	struct sse	*head;
	size_t		 n;
	bool		 stopping;
};

void	sse_init(struct sse_set *, void (*pull)(void *, uint32_t), void *arg);
/* A stream for the request id; NULL with *full when SSE_MAX are open. */
struct MHD_Response *sse_open(struct sse_set *, struct MHD_Connection *c,
	    uint32_t id, bool *full);
/* The daemon's next bytes for stream id; -1: out of memory (it ends). */
int	sse_data(struct sse_set *, uint32_t id, const char *p, size_t len);
/* Stream id ends once it has sent what it has. */
void	sse_end(struct sse_set *, uint32_t id);
void	sse_end_all(struct sse_set *);
/* Streams open. */
size_t	sse_count(const struct sse_set *);

#endif
