/*
 * The web API's core (docs/api.md), without a transport: the routes, the
 * checks of a request's method and headers, and the handlers, answering a
 * struct api_request with a struct api_response.  The HTTP layer (http.h)
 * carries them over libmicrohttpd; the unit tests call them directly.
 *
 * A request is handled in two calls: api_check once its headers are in
 * (after the transport's own checks: Host and password), api_handle once
 * its body is.  A request that must wait (a change of forwards.conf being
 * saved, a diagnosis running) gets API_WAIT: the core calls the request's
 * wake() once it may go on, and the transport calls api_handle again.
 */
#ifndef PK_API_H
#define PK_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "assets.h"
#include "config.h"
#include "forwards.h"
#include "status.h"

enum api_route {
	API_R_NONE, API_R_HEALTH, API_R_STATUS, API_R_FORWARDS, API_R_FORWARD,
	API_R_DOCTOR, API_R_EVENTS, API_R_METRICS, API_R_ASSET
};

/* What a call of api_check or api_handle came to. */
enum api_rc {
	API_GO_ON,	/* api_check: read the body, then api_handle */
	API_ANSWER,	/* send the response */
	API_WAIT,	/* wait for wake(), then call api_handle again */
	API_CLOSE,	/* no answer could be made: close the connection */
};

struct api_request {
	/* The transport's. */
	const char		*method;
	const char		*url;		/* unescaped */
	bool			 web;		/* from the LAN: more checks */
	bool			 read_only;	/* [web] without passwords */
	/* A request header's value, or NULL. */
	const char		*(*header)(void *ctx, const char *name);
	/* The request waited (API_WAIT) and may go on. */
	void			 (*wake)(void *ctx);
	void			*ctx;
	char			*body;		/* NUL-terminated */
	size_t			 len;
	bool			 too_large;
	/* The core's: zeroed by the transport before api_check. */
	bool			 routed;
	enum api_route		 route;
	char			 name[CONFIG_NAME_MAX];
	const struct asset	*asset;
	bool			 waiting;	/* for wake() */
	bool			 doctor;	/* waits for the diagnosis */
	struct forwards_change	*change;	/* waits for forwards.c */
	bool			 change_answered;
	enum forwards_rc	 change_rc;
	char			 change_msg[512];
};

struct api_response {
	unsigned		 status;
	const char		*type;		/* Content-Type */
	char			*body;		/* malloc'd, or NULL */
	const void		*data;		/* or static, of len bytes */
	size_t			 len;
	const char		*etag;
	const char		*cache;		/* Cache-Control, or NULL */
	const char		*hname;		/* one more header, or NULL */
	const char		*hvalue;
	char			 hbuf[96];	/* where hvalue may point */
	bool			 stream;	/* the transport's event stream */
};

struct api;

/*
 * The core over the running configuration, the forwards and the status,
 * which stay the caller's.  NULL out of memory.
 */
struct api	*api_new(const struct config *cfg, struct forwards *fw,
		    struct status *st);
void		 api_free(struct api *);

/*
 * Finds the resource q->url names (api_check does, if not done): a
 * transport may ask before its own checks (GET /api/health needs no
 * password).
 */
void		 api_route(struct api_request *q);
enum api_rc	 api_check(struct api *, struct api_request *,
		    struct api_response *);
enum api_rc	 api_handle(struct api *, struct api_request *,
		    struct api_response *);
/* The request's client left: nothing is answered to it any more. */
void		 api_request_done(struct api *, struct api_request *);

/* The diagnosis thread's descriptor to poll, or -1; api_run wakes. */
int		 api_fd(const struct api *);
void		 api_run(struct api *);
/*
 * Stopping: what waits is woken to be answered (503), a change being saved
 * gets until deadline (monotonic ms), and new writes are refused.
 */
void		 api_stop(struct api *, int64_t deadline);
bool		 api_stopping(const struct api *);

/*
 * Fills r with {"error":{"code":CODE,"message":MSG}}; API_ANSWER, or
 * API_CLOSE out of memory.  For the transport's own refusals too.
 */
enum api_rc	 api_error(struct api_response *, unsigned status,
		    const char *code, const char *fmt, ...)
		    __attribute__((format(printf, 4, 5)));
/* The same with Retry-After: retry seconds. */
enum api_rc	 api_error_retry(struct api_response *, unsigned status,
		    const char *code, const char *msg, unsigned retry);
/* Frees what r holds, if it was not sent. */
void		 api_response_free(struct api_response *);

/* The file of the web UI served at url ("/" is "/index.html"), or NULL. */
const struct asset *api_asset_find(const char *url);

#endif
