/*
 * The state writer: state.json written on a thread of its own.  Writing it
 * atomically takes two fsyncs (file_write_atomic), and under disk load one
 * fsync alone took 1.03 s, during which a loop that wrote it itself served
 * no API request and kept no deadline.  The loop
 * serializes the state, which is cheap, and hands the text over; only the
 * newest state matters, so a text handed over while another is being
 * written replaces any still waiting.  Outcomes go back to the loop, which
 * logs them, through a pipe it polls.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "writer.h"
#include "util.h"

struct writer {
	pthread_t	 tid;
	pthread_mutex_t	 lock;
	pthread_cond_t	 work;		/* a text to write, or stop */
	pthread_cond_t	 idle;		/* a write finished */
	int		 pipe[2];	/* a byte per write finished */
	char		 dir[PATH_MAX];
	char		 name[64];
	unsigned int	 mode;
	/* The rest under lock. */
	char		*pending;	/* the newest text not yet begun */
	size_t		 pending_len;
	bool		 busy;		/* a write in progress */
	bool		 stop;
	int		 outcome;	/* as writer_collect returns it */
	char		 err[512];	/* the last failure's */
};

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	char err[sizeof(w->err)], c = 1;
	char *text;
	size_t len;
	int rc;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->pending == NULL && !w->stop)
			pthread_cond_wait(&w->work, &w->lock);
		/* Told to stop, it still writes what it was given. */
		if (w->pending == NULL)
			break;
		text = w->pending;
		len = w->pending_len;
		w->pending = NULL;
		w->busy = true;
		pthread_mutex_unlock(&w->lock);

		rc = file_write_atomic(w->dir, w->name, text, len, w->mode, err,
		    sizeof(err));
		free(text);

		pthread_mutex_lock(&w->lock);
		w->busy = false;
		if (rc == -1) {
			w->outcome = -1;
			str_copy(w->err, err, sizeof(w->err));
		} else if (w->outcome == 0)
			w->outcome = 1;
		pthread_cond_broadcast(&w->idle);
		/* Full, the pipe has a byte waiting already: enough. */
		while (write(w->pipe[1], &c, 1) == -1 && errno == EINTR)
			;
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Frees w; its thread has ended, or never started. */
static void
writer_destroy(struct writer *w)
{
	free(w->pending);
	pthread_cond_destroy(&w->idle);
	pthread_cond_destroy(&w->work);
	pthread_mutex_destroy(&w->lock);
	close(w->pipe[0]);
	close(w->pipe[1]);
	free(w);
}

struct writer *
writer_start(const char *dir, const char *name, unsigned int mode)
{
	struct writer *w;
	pthread_condattr_t ca;
	sigset_t all, old;
	int rc;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	if (str_copy(w->dir, dir, sizeof(w->dir)) == -1 ||
	    str_copy(w->name, name, sizeof(w->name)) == -1) {
		free(w);
		errno = ENAMETOOLONG;
		return NULL;
	}
	w->mode = mode;
	if (pipe2(w->pipe, O_CLOEXEC | O_NONBLOCK) == -1) {
		free(w);
		return NULL;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->work, NULL);
	/* writer_flush's deadline is monotonic, as every deadline here. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->idle, &ca);
	pthread_condattr_destroy(&ca);

	/* Signals belong to the main thread's loop, never to the writer. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&w->tid, NULL, writer_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		writer_destroy(w);
		errno = rc;
		return NULL;
	}
	return w;
}

void
writer_put(struct writer *w, char *text, size_t len)
{
	pthread_mutex_lock(&w->lock);
	/* Older than text, and never begun: nobody needs it any more. */
	free(w->pending);
	w->pending = text;
	w->pending_len = len;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->lock);
}

int
writer_fd(const struct writer *w)
{
	return w->pipe[0];
}

int
writer_collect(struct writer *w, char *err, size_t errlen)
{
	char buf[64];
	int outcome;

	while (read(w->pipe[0], buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&w->lock);
	outcome = w->outcome;
	if (outcome == -1)
		str_copy(err, w->err, errlen);
	w->outcome = 0;
	pthread_mutex_unlock(&w->lock);
	return outcome;
}

bool
writer_idle(struct writer *w)
{
	bool idle;

	pthread_mutex_lock(&w->lock);
	idle = w->pending == NULL && !w->busy;
	pthread_mutex_unlock(&w->lock);
	return idle;
}

int
writer_flush(struct writer *w, int64_t deadline)
{
	struct timespec ts;
	int idle;

	ts.tv_sec = (time_t)(deadline / 1000);
	ts.tv_nsec = (long)(deadline % 1000) * 1000000;
	pthread_mutex_lock(&w->lock);
	while ((w->pending != NULL || w->busy) &&
	    pthread_cond_timedwait(&w->idle, &w->lock, &ts) != ETIMEDOUT)
		;
	idle = w->pending == NULL && !w->busy;
	pthread_mutex_unlock(&w->lock);
	return idle ? 0 : -1;
}

void
writer_free(struct writer *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->tid, NULL);
	writer_destroy(w);
}
