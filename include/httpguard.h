/*
 * A total deadline for each HTTP request, for servers built on
 * libmicrohttpd (the web API and the probe server).
 *
 * libmicrohttpd's MHD_OPTION_CONNECTION_TIMEOUT is an idle timeout: every
 * byte that arrives restarts it, so a client that sends one header byte
 * every few seconds (slowloris) keeps its connection, and enough of them
 * keep every connection slot.  The guard gives each request a deadline
 * instead: from the moment its connection opens, or its previous request
 * on the same connection ended, until the request is complete (its headers
 * and its body read).  A connection whose request is not complete by then
 * has its socket shut down, which libmicrohttpd sees as the client leaving.
 * A request that is complete is never cut: a password check, a save or an
 * event stream may take as long as it takes.
 *
 * Wire it up with MHD_OPTION_NOTIFY_CONNECTION, httpguard_notify, guard;
 * call httpguard_complete from the access handler once the request is
 * complete, and httpguard_ended from MHD_OPTION_NOTIFY_COMPLETED.  The
 * deadlines are enforced by httpguard_run, called from the server's poll
 * loop (httpguard_deadline says when), or by a thread of the guard's own
 * (httpguard_start_thread) for a server that runs its own threads.  Every
 * function may be called from any thread.
 */
#ifndef PK_HTTPGUARD_H
#define PK_HTTPGUARD_H

#include <stdint.h>

#include <microhttpd.h>

struct httpguard;

/* NULL when out of memory. */
struct httpguard *httpguard_new(int request_ms);
/* Stops the thread, if any; call after MHD_stop_daemon. */
void	httpguard_free(struct httpguard *);

void	httpguard_notify(void *cls, struct MHD_Connection *c,
	    void **socket_context, enum MHD_ConnectionNotificationCode code);
/* The request on c is complete: its deadline no longer applies. */
void	httpguard_complete(struct httpguard *, struct MHD_Connection *c);
/* The request on c ended; the next one on it has a deadline again. */
void	httpguard_ended(struct httpguard *, struct MHD_Connection *c);

/* The earliest deadline (monotonic ms), INT64_MAX when none. */
int64_t	httpguard_deadline(struct httpguard *);
/* Shuts down the connections past their deadline; returns how many. */
int	httpguard_run(struct httpguard *, int64_t now_ms);
/* Runs httpguard_run every 100 ms on a thread.  0, or -1 with errno. */
int	httpguard_start_thread(struct httpguard *);
/* Connections cut so far, for metrics and tests. */
unsigned long httpguard_cut(struct httpguard *);

#endif
