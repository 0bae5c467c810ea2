/*
 * The checks of a request on the [web] listener before the API sees it:
 * the Host allow-list (against DNS rebinding) and HTTP Basic
 * authentication (RFC 7617) against the htpasswd file, with failed logins
 * limited per address.  A password the htpasswd cache does not vouch for
 * costs a bcrypt run (55 ms at cost 10), so it is checked on a thread
 * while its request waits, a few at a time; more are answered 503 "busy"
 * at once.  Nothing here knows libmicrohttpd: a request that waits is
 * woken through its callback.
 */
#ifndef PK_HTTP_AUTH_H
#define PK_HTTP_AUTH_H

#include <sys/socket.h>
#include <stdbool.h>
#include <stdint.h>

#include "api.h"
#include "config.h"

/* Where a request is with its password. */
enum http_auth_state {
	HTTP_AUTH_NONE,		/* checked on the spot, or not at all */
	HTTP_AUTH_WAIT,		/* waits while a thread checks it */
	HTTP_AUTH_PASSED,	/* the thread said yes: the checks go on */
	HTTP_AUTH_FAILED,	/* the thread said no: 401 */
};

struct http_auth_slot;

/* A request's part in the checks, zeroed by the transport. */
struct http_auth_wait {
	enum http_auth_state	 state;
	void			 (*wake)(void *ctx);
	void			*ctx;
	struct http_auth_slot	*slot;		/* HTTP_AUTH_WAIT: the check */
	struct http_auth_wait	*next;		/* its other waiters */
	bool			 origin;	/* the one that started it */
	struct sockaddr_storage	 addr;		/* the client, for limits */
	bool			 has_addr;
};

struct http_auth;

/*
 * The checks of [web] w: its password file and host list.  NULL when they
 * cannot be loaded (said in the log).
 */
struct http_auth *http_auth_new(const struct config_web *w);
/* SIGHUP: reloads them; keeps the old on error.  0, or -1. */
int	http_auth_reload(struct http_auth *, const struct config_web *w);
/* Whether a password is asked at all. */
bool	http_auth_on(const struct http_auth *);
/* A password check in flight, or a login failure still remembered. */
bool	http_auth_busy(const struct http_auth *, int64_t now);
/*
 * Waits for the checks in flight until deadline (monotonic ms), refuses
 * new ones, and wakes their requests to be answered.
 */
void	http_auth_stop(struct http_auth *, int64_t deadline);
void	http_auth_free(struct http_auth *);

/* The Host check: API_GO_ON, or API_ANSWER with a 421 in r. */
enum api_rc http_auth_host(struct http_auth *, const char *host,
	    struct api_response *r);
/*
 * The password check of a request from sa with the Authorization header
 * authorization (both may be NULL): API_GO_ON, API_WAIT (w->wake is
 * called once it is checked: then http_auth_resumed), API_ANSWER with r
 * (401, 429, 503), or API_CLOSE.
 */
enum api_rc http_auth_check(struct http_auth *, const struct sockaddr *sa,
	    const char *authorization, struct http_auth_wait *w,
	    struct api_response *r);
/* The same after w was woken: API_GO_ON, API_WAIT again, or API_ANSWER. */
enum api_rc http_auth_resumed(struct http_auth *, struct http_auth_wait *w,
	    struct api_response *r);
/* w's client left: it no longer waits (its check still counts). */
void	http_auth_leave(struct http_auth_wait *w);

/* One descriptor for every check in flight, or -1; http_auth_run reaps. */
int	http_auth_fd(const struct http_auth *);
void	http_auth_run(struct http_auth *, int64_t now);

#endif
