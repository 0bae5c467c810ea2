/*
 * A total deadline for each HTTP request; see httpguard.h for why.
 *
 * Each connection has an entry, made when libmicrohttpd reports it
 * started and kept in its socket context, so that the access handler finds
 * it without a search; the entries are also on a list for httpguard_run.
 * A connection is cut with shutdown(2) on its socket rather than close(2):
 * the descriptor stays libmicrohttpd's, which sees end of file on its next
 * read and closes it the usual way, calling our notify callback.
 */
#include <sys/socket.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "httpguard.h"
#include "log.h"
#include "util.h"

#define GUARD_TICK_MS	100

struct guard_conn {
	struct guard_conn	*prev, *next;
	int			 fd;
	int64_t			 deadline;	/* monotonic ms; 0 none */
	bool			 cut;
};

struct httpguard {
	pthread_mutex_t		 mu;
	struct guard_conn	*head;
	int			 request_ms;
	/*
	 * No deadline is earlier than this (monotonic ms; INT64_MAX none):
	 * lowered as deadlines are set, made exact by a scan.  So the poll
	 * loop asks in O(1), and a scan runs only when one is due.
	 */
	int64_t			 next;
	unsigned long		 ncut;
	pthread_t		 thread;
	bool			 have_thread;
	bool			 stop;		/* under mu */
	pthread_cond_t		 wake;
};

struct httpguard *
httpguard_new(int request_ms)
{
	struct httpguard *g;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->wake, NULL);
	g->request_ms = request_ms;
	g->next = INT64_MAX;
	return g;
}

static struct guard_conn *
conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

void
httpguard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode code)
{
	struct httpguard *g = cls;
	struct guard_conn *gc;
	const union MHD_ConnectionInfo *ci;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(c,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		/* Out of memory: the connection goes unguarded, as before. */
		if (ci == NULL || (gc = calloc(1, sizeof(*gc))) == NULL)
			return;
		gc->fd = ci->connect_fd;
		gc->deadline = mono_ms() + g->request_ms;
		pthread_mutex_lock(&g->mu);
		if (gc->deadline < g->next)
			g->next = gc->deadline;
		gc->next = g->head;
		if (g->head != NULL)
			g->head->prev = gc;
		g->head = gc;
		pthread_mutex_unlock(&g->mu);
		*socket_context = gc;
		return;
	}
	if (code != MHD_CONNECTION_NOTIFY_CLOSED || *socket_context == NULL)
		return;
	gc = *socket_context;
	pthread_mutex_lock(&g->mu);
	if (gc->prev != NULL)
		gc->prev->next = gc->next;
	else
		g->head = gc->next;
	if (gc->next != NULL)
		gc->next->prev = gc->prev;
	pthread_mutex_unlock(&g->mu);
	free(gc);
	*socket_context = NULL;
}

static void
set_deadline(struct httpguard *g, struct MHD_Connection *c, int64_t when)
{
	struct guard_conn *gc;

	if (g == NULL || (gc = conn_of(c)) == NULL)
		return;
	pthread_mutex_lock(&g->mu);
	gc->deadline = when;
	if (when != 0 && when < g->next)
		g->next = when;
	pthread_mutex_unlock(&g->mu);
}

void
httpguard_complete(struct httpguard *g, struct MHD_Connection *c)
{
	set_deadline(g, c, 0);
}

void
httpguard_ended(struct httpguard *g, struct MHD_Connection *c)
{
	if (g != NULL)
		set_deadline(g, c, mono_ms() + g->request_ms);
}

int64_t
httpguard_deadline(struct httpguard *g)
{
	int64_t next;

	pthread_mutex_lock(&g->mu);
	next = g->next;
	pthread_mutex_unlock(&g->mu);
	return next;
}

int
httpguard_run(struct httpguard *g, int64_t now_ms)
{
	struct guard_conn *gc;
	int64_t next = INT64_MAX;
	int n = 0;

	pthread_mutex_lock(&g->mu);
	if (now_ms < g->next) {
		pthread_mutex_unlock(&g->mu);
		return 0;
	}
	for (gc = g->head; gc != NULL; gc = gc->next) {
		if (gc->deadline == 0 || gc->cut)
			continue;
		if (gc->deadline > now_ms) {
			if (gc->deadline < next)
				next = gc->deadline;
			continue;
		}
		/* Once: the entry stays until libmicrohttpd closes it. */
		gc->cut = true;
		shutdown(gc->fd, SHUT_RDWR);
		n++;
	}
	g->next = next;
	g->ncut += (unsigned long)n;
	pthread_mutex_unlock(&g->mu);
	if (n > 0)
		log_debug("dropped %d connection(s) whose request was not "
		    "complete within %d ms", n, g->request_ms);
	return n;
}

unsigned long
httpguard_cut(struct httpguard *g)
{
	unsigned long n;

	pthread_mutex_lock(&g->mu);
	n = g->ncut;
	pthread_mutex_unlock(&g->mu);
	return n;
}

static void *
guard_main(void *arg)
{
	struct httpguard *g = arg;
	struct timespec ts;

	pthread_mutex_lock(&g->mu);
	while (!g->stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += GUARD_TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&g->wake, &g->mu, &ts);
		if (g->stop)
			break;
		pthread_mutex_unlock(&g->mu);
		httpguard_run(g, mono_ms());
		pthread_mutex_lock(&g->mu);
	}
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

int
httpguard_start_thread(struct httpguard *g)
{
	int e;

	if ((e = pthread_create(&g->thread, NULL, guard_main, g)) != 0) {
		errno = e;
		return -1;
	}
	g->have_thread = true;
	return 0;
}

void
httpguard_free(struct httpguard *g)
{
	struct guard_conn *gc, *next;

	if (g == NULL)
		return;
	if (g->have_thread) {
		pthread_mutex_lock(&g->mu);
		g->stop = true;
		pthread_cond_signal(&g->wake);
		pthread_mutex_unlock(&g->mu);
		pthread_join(g->thread, NULL);
	}
	/* libmicrohttpd has stopped: what is left it never reported closed. */
	for (gc = g->head; gc != NULL; gc = next) {
		next = gc->next;
		free(gc);
	}
	pthread_cond_destroy(&g->wake);
	pthread_mutex_destroy(&g->mu);
	free(g);
}
