#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "job.h"
#include "util.h"

struct job {
	pthread_mutex_t	  lock;
	int		  refs;
	int		  done;
	int		  pipe[2];
	void		(*fn)(void *);
	void		 *arg;
	void		(*free_arg)(void *);
};

static void
job_unref(struct job *j)
{
	int last;

	pthread_mutex_lock(&j->lock);
	last = --j->refs == 0;
	pthread_mutex_unlock(&j->lock);
	if (!last)
		return;
	if (j->free_arg != NULL)
		j->free_arg(j->arg);
	close(j->pipe[0]);
	close(j->pipe[1]);
	pthread_mutex_destroy(&j->lock);
	free(j);
}

static void *
job_main(void *p)
{
	struct job *j = p;
	char c = 1;

	j->fn(j->arg);
	pthread_mutex_lock(&j->lock);
	j->done = 1;
	pthread_mutex_unlock(&j->lock);
	while (write(j->pipe[1], &c, 1) == -1 && errno == EINTR)
		;
	job_unref(j);
	return NULL;
}

struct job *
job_start(void (*fn)(void *), void *arg, void (*free_arg)(void *))
{
	struct job *j;
	pthread_attr_t attr;
	pthread_t tid;
	sigset_t all, old;
	int rc;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	if (pipe2(j->pipe, O_CLOEXEC | O_NONBLOCK) == -1) {
		free(j);
		return NULL;
	}
	pthread_mutex_init(&j->lock, NULL);
	j->refs = 2;
	j->fn = fn;
	j->arg = arg;
	j->free_arg = free_arg;

	/* Signals belong to the main thread's loop, never to a worker. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&tid, &attr, job_main, j);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		close(j->pipe[0]);
		close(j->pipe[1]);
		pthread_mutex_destroy(&j->lock);
		free(j);
		errno = rc;
		return NULL;
	}
	return j;
}

int
job_fd(const struct job *j)
{
	return j->pipe[0];
}

int
job_done(struct job *j)
{
	int done;

	pthread_mutex_lock(&j->lock);
	done = j->done;
	pthread_mutex_unlock(&j->lock);
	return done;
}

int
job_wait(struct job *j, int64_t deadline)
{
	struct pollfd pfd;

	for (;;) {
		if (job_done(j))
			return 0;
		if (mono_ms() >= deadline)
			return -1;
		pfd.fd = j->pipe[0];
		pfd.events = POLLIN;
		poll(&pfd, 1, ms_until(deadline));
	}
}

void
job_release(struct job *j)
{
	if (j != NULL)
		job_unref(j);
}
