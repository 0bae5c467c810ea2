/*
 * The HTTP layer of the web API, in the daemon's loop: libmicrohttpd on
 * the control socket and, when the configuration has [web], on TCP (with
 * TLS if configured), carrying requests to the API core (api.h).
 */
#ifndef PK_HTTP_H
#define PK_HTTP_H

#include <stdint.h>

#include "config.h"
#include "forwards.h"
#include "status.h"

struct http;

/*
 * Serves the API over cfg, fw and st, which stay the caller's.  NULL only
 * when [web] cannot be served as configured (said in the log); a control
 * socket that cannot be made is logged and done without.
 */
struct http	*http_start(const struct config *cfg, struct forwards *fw,
		    struct status *st);
/* Answers what waits (503 when it cannot be done) and stops. */
void		 http_stop(struct http *);
/* SIGHUP: reloads [web]'s password file and host list. */
void		 http_reload(struct http *, const struct config_web *old);
/* The descriptors to poll, the earliest deadline, and the work. */
int		 http_fds(struct http *, int *fds, int max);
int64_t		 http_deadline(struct http *, int64_t now);
void		 http_run(struct http *, int64_t now);

#endif
