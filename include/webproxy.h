/*
 * portkeeperd-web's way to the daemon's API core: each request that passed
 * the checks of its headers goes over the channel (chan.h) and waits
 * (API_WAIT) for the answer, which wakes it; an event stream's bytes come
 * to sse.c as the daemon makes them.
 */
#ifndef PK_WEBPROXY_H
#define PK_WEBPROXY_H

#include <stdbool.h>
#include <stdint.h>

#include "api.h"
#include "sse.h"

struct webproxy;

/* fd: the channel's socket, taken over. */
struct webproxy	*webproxy_new(int fd, struct sse_set *sse);
void		 webproxy_free(struct webproxy *);
/* Tells the daemon that this process listens. */
void		 webproxy_ready(struct webproxy *);
/* As api_handle: API_WAIT until the daemon answered, then its answer. */
enum api_rc	 webproxy_handle(struct webproxy *, struct api_request *q,
		    struct api_response *r);
/* The request's id on the channel (an event stream's, for sse_open). */
uint32_t	 webproxy_id(struct webproxy *, const struct api_request *q);
void		 webproxy_done(struct webproxy *, struct api_request *q);
/* A stream has sent all it had: the next bytes, when there are some. */
void		 webproxy_pull(struct webproxy *, uint32_t id);
int		 webproxy_fd(const struct webproxy *);
bool		 webproxy_want_write(const struct webproxy *);
/* Reads the daemon's answers and writes what waits. */
void		 webproxy_run(struct webproxy *);
/* The daemon closed the channel (it stops) or broke it. */
bool		 webproxy_gone(const struct webproxy *);
/* Requests waiting for the daemon. */
size_t		 webproxy_pending(const struct webproxy *);

#endif
