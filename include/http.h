/*
 * portkeeperd-web's HTTP server (http.c): the control socket and [web],
 * on listening sockets the daemon opened and handed over, each request
 * carried to the daemon over the channel.
 */
#ifndef PK_HTTP_H
#define PK_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

struct http;

/*
 * unix_fd, web_fd: the listening sockets (-1: none), chan_fd the channel
 * to the daemon, taken over.  NULL when [web] cannot be served.
 */
struct http	*http_start(const struct config *cfg, int unix_fd, int web_fd,
		    int chan_fd);
void		 http_stop(struct http *);
/* The passwords and hosts of w, after a reload. */
void		 http_reload(struct http *, const struct config_web *w);
int		 http_fds(struct http *, int *fds, int max);
/* Whether fd (one of http_fds') has something to write: POLLOUT. */
bool		 http_pollout(const struct http *, int fd);
int64_t		 http_deadline(struct http *, int64_t now);
void		 http_run(struct http *, int64_t now);
/*
 * Since when nothing has been going on: no connection, stream, request in
 * flight or login lockout (now while something is).
 */
int64_t		 http_idle_since(const struct http *, int64_t now);
/* The daemon closed the channel: time to stop. */
bool		 http_daemon_gone(const struct http *);

#endif
