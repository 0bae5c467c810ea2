/*
 * The daemon's side of its web and control sockets.  portkeeperd holds
 * the listening sockets; the HTTP server (libmicrohttpd, and with it
 * GnuTLS, the password hashes, the LAN's requests) runs in a process of
 * its own, portkeeperd-web, started at start-up and again on the first
 * connection after it ended for being idle.  It hands each request over
 * the channel (chan.h); the answer and event streams are made here, by
 * the API core (api.c) and the streams' cursors (sse_cursor.c).
 */
#ifndef PK_FRONT_H
#define PK_FRONT_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "forwards.h"
#include "status.h"

struct front;

/*
 * Opens the sockets and starts the web process, waiting until it listens:
 * NULL when a [web] cannot be served as configured (a failed start).  A
 * control socket that cannot be opened is logged, not fatal.
 */
struct front	*front_start(const struct config *cfg, const char *cfg_path,
		    struct forwards *fw, struct status *st);
void		 front_stop(struct front *);
/* After a reload: the web process rereads its part of the file. */
void		 front_reload(struct front *, const struct config_web *old);
int		 front_fds(struct front *, int *fds, int max);
/*
 * The poll events for fd, one of the loop's: POLLIN, and for the channel
 * POLLOUT when it has something to write, without POLLIN while it waits
 * for a backlog of answers to drain (then it reads no more requests).
 */
short		 front_events(const struct front *, int fd);
int64_t		 front_deadline(struct front *, int64_t now);
void		 front_run(struct front *, int64_t now);

#endif
