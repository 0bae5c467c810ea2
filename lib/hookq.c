/*
 * The on_change hook queue: one hook at a time, in order, off the caller.
 *
 * The hook is a program the administrator names in the configuration.  It
 * runs with the daemon's user, so it gets exactly what it needs and nothing
 * of the daemon's: no shell between us and it, a fixed environment, stdin
 * from /dev/null, no descriptors beyond 0-2, default signal handling, and
 * its own process group so that a hook that overruns can be killed with
 * everything it started.
 */
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hookq.h"
#include "log.h"
#include "util.h"

#define HOOK_PATH	"PATH=/usr/sbin:/usr/bin:/sbin:/bin"

/*
 * Not in hookq.h: only the tests shorten the timeout, so that a hook that
 * overruns can be tested without waiting HOOK_TIMEOUT_S.  ms <= 0 restores
 * the default.
 */
void	hookq_set_timeout_ms(int ms);
/* The same for the first retry's delay (later ones double it). */
void	hookq_set_retry_ms(int ms);

static int hook_timeout_ms = HOOK_TIMEOUT_S * 1000;
static int hook_retry_ms = HOOK_RETRY_S * 1000;

/*
 * struct hookq has no room for the event whose hook is running, yet the
 * message about how it ended should name it.  Children belong to the whole
 * process, so a small table by process id serves every queue.
 */
static struct {
	pid_t		pid;
	enum event_type	type;
} hook_running[8];

void
hookq_set_timeout_ms(int ms)
{
	hook_timeout_ms = ms > 0 ? ms : HOOK_TIMEOUT_S * 1000;
}

void
hookq_set_retry_ms(int ms)
{
	hook_retry_ms = ms > 0 ? ms : HOOK_RETRY_S * 1000;
}

void
hookq_init(struct hookq *q, const char *cmd)
{
	memset(q, 0, offsetof(struct hookq, q));	/* not the queues */
	if (cmd != NULL && str_copy(q->cmd, cmd, sizeof(q->cmd)) == -1) {
		log_warnx("on_change hook path too long; hooks disabled");
		q->cmd[0] = '\0';
	}
}

/* An address event says what is true now: one of each kind waits at most. */
static bool
is_address_event(enum event_type t)
{
	return t == EV_EXTERNAL_IP_CHANGED || t == EV_INTERNAL_IP_CHANGED ||
	    t == EV_IPV6_ADDRESS_CHANGED || t == EV_GATEWAY_CHANGED ||
	    t == EV_ROUTER_RESTARTED;
}

/*
 * Whether b is about what a is about, so that the newer of the two tells
 * the state now: the same kind of address event, or events of one forward
 * in one family (its IPv4 forward and its IPv6 pinhole are two things).
 */
static bool
same_subject(const struct event *a, const struct event *b)
{
	if (is_address_event(a->type) || is_address_event(b->type))
		return a->type == b->type;
	return a->forward[0] != '\0' && strcmp(a->forward, b->forward) == 0 &&
	    eventlog_family(a->type) == eventlog_family(b->type);
}

static struct hookq_item *
item_at(struct hookq *q, size_t i)
{
	return &q->q[(q->start + i) % HOOKQ_MAX];
}

/* The waiting item about what ev is about, or NULL. */
static struct hookq_item *
waiting_find(struct hookq *q, const struct event *ev)
{
	size_t i;

	for (i = 0; i < q->count; i++)
		if (same_subject(&item_at(q, i)->ev, ev))
			return item_at(q, i);
	return NULL;
}

/*
 * Folds e into w, two events of one kind: the state now from the newer,
 * and where it started from (the old external address) from the older, so
 * that a hook that missed the changes in between sees what they add up to.
 * Events without a sequence number (tests) count as coming in order.
 */
static void
fold(struct event *w, const struct event *e)
{
	struct event older, newer;

	if (e->seq != 0 && w->seq != 0 && e->seq < w->seq) {
		older = *e;
		newer = *w;
	} else {
		older = *w;
		newer = *e;
	}
	*w = newer;
	str_copy(w->old_external_ip, older.old_external_ip,
	    sizeof(w->old_external_ip));
	str_copy(w->old_ipv6, older.old_ipv6, sizeof(w->old_ipv6));
	if (w->type == EV_IPV6_ADDRESS_CHANGED) {
		snprintf(w->detail, sizeof(w->detail), "this host's IPv6 "
		    "address changed from %s to %s (after changes that came "
		    "while the hook was busy)", w->old_ipv6[0] != '\0' ?
		    w->old_ipv6 : "none", w->ipv6[0] != '\0' ? w->ipv6 :
		    "none");
		return;
	}
	if (w->type != EV_EXTERNAL_IP_CHANGED)
		return;
	if (w->old_external_ip[0] == '\0')
		snprintf(w->detail, sizeof(w->detail), "the router's external "
		    "address is %s (after changes that came while the hook "
		    "was busy)", w->external_ip);
	else
		snprintf(w->detail, sizeof(w->detail), "the router's external "
		    "address is now %s (was %s, before changes that came "
		    "while the hook was busy)", w->external_ip,
		    w->old_external_ip);
}

/* Takes the i-th waiting item out, keeping the order of the others. */
static void
waiting_remove(struct hookq *q, size_t i)
{
	for (; i + 1 < q->count; i++)
		*item_at(q, i) = *item_at(q, i + 1);
	q->count--;
}

/*
 * The queue is full: a forward's event goes, one that a newer event of
 * the same forward supersedes if there is one (the newer tells the
 * forward's state now), else the oldest forward's event.  Address events
 * wait once per kind, so there is always a forward's event to take.
 */
static void
make_room(struct hookq *q)
{
	const struct hookq_item *it;
	size_t i, j, victim = q->count;
	bool superseded = false;

	for (i = 0; i < q->count && !superseded; i++) {
		it = item_at(q, i);
		if (is_address_event(it->ev.type))
			continue;
		if (victim == q->count)
			victim = i;
		for (j = i + 1; j < q->count; j++) {
			if (same_subject(&it->ev, &item_at(q, j)->ev)) {
				victim = i;
				superseded = true;
				break;
			}
		}
	}
	if (victim == q->count)
		victim = 0;	/* not reached: HOOKQ_MAX > address kinds */
	it = item_at(q, victim);
	q->dropped++;
	log_warnx("on_change hook queue full (%d waiting): dropping %s event "
	    "#%llu of %s, %s (%lu dropped so far)", HOOKQ_MAX,
	    eventlog_type_str(it->ev.type), (unsigned long long)it->ev.seq,
	    it->ev.forward, superseded ? "which a newer event of it replaces" :
	    "the oldest forward's event waiting", q->dropped);
	waiting_remove(q, victim);
}

static void
enqueue(struct hookq *q, const struct hookq_item *in)
{
	struct hookq_item *w;

	if (is_address_event(in->ev.type) &&
	    (w = waiting_find(q, &in->ev)) != NULL) {
		fold(&w->ev, &in->ev);
		q->coalesced++;
		log_debug("on_change hook: %s event #%llu folded into the one "
		    "waiting", eventlog_type_str(in->ev.type),
		    (unsigned long long)in->ev.seq);
		return;
	}
	if (q->count == HOOKQ_MAX)
		make_room(q);
	*item_at(q, q->count) = *in;
	q->count++;
}

/* A newer event replaces a retry about the same thing, taking its start. */
static void
retry_cancel(struct hookq *q, struct event *ev)
{
	size_t i;

	for (i = 0; i < q->nretry; ) {
		if (!same_subject(&q->retry[i].ev, ev)) {
			i++;
			continue;
		}
		if (is_address_event(ev->type))
			fold(ev, &q->retry[i].ev);
		q->coalesced++;
		q->retry[i] = q->retry[--q->nretry];
	}
}

void
hookq_push(struct hookq *q, const struct event *ev)
{
	struct hookq_item it;

	if (q->cmd[0] == '\0')
		return;
	memset(&it, 0, sizeof(it));
	eventlog_copy(&it.ev, ev);
	retry_cancel(q, &it.ev);
	enqueue(q, &it);
}

/*
 * The running hook exited with HOOK_TEMPFAIL: its event runs again later,
 * unless a newer one about the same thing already waits to run.
 */
static void
retry_schedule(struct hookq *q, int64_t now_ms)
{
	struct hookq_item it = q->cur, *w;
	int64_t delay;
	size_t i;
	unsigned int n;

	it.tries++;
	if (it.tries > HOOK_RETRIES) {
		log_warnx("on_change hook %s asked for the %s event again %u "
		    "times: giving up on it", q->cmd,
		    eventlog_type_str(it.ev.type), HOOK_RETRIES);
		return;
	}
	if ((w = waiting_find(q, &it.ev)) != NULL) {
		if (is_address_event(it.ev.type))
			fold(&w->ev, &it.ev);
		return;
	}
	delay = hook_retry_ms;
	for (n = 1; n < it.tries && delay < HOOK_RETRY_MAX_S * 1000; n++)
		delay *= 2;
	if (delay > HOOK_RETRY_MAX_S * 1000)
		delay = HOOK_RETRY_MAX_S * 1000;
	it.at = now_ms + delay;
	if (q->nretry == HOOKQ_RETRY_MAX) {
		/* The one due first goes: it has been waiting longest. */
		for (i = n = 0; i < q->nretry; i++)
			if (q->retry[i].at < q->retry[n].at)
				n = i;
		q->dropped++;
		log_warnx("on_change hook: too many events waiting to be run "
		    "again: dropping %s event #%llu",
		    eventlog_type_str(q->retry[n].ev.type),
		    (unsigned long long)q->retry[n].ev.seq);
		q->retry[n] = q->retry[--q->nretry];
	}
	q->retry[q->nretry++] = it;
	log_info("on_change hook %s asked for the %s event again: running it "
	    "in %lld s", q->cmd, eventlog_type_str(it.ev.type),
	    (long long)((delay + 999) / 1000));
}

/* Retries that are due join the queue. */
static void
retry_due(struct hookq *q, int64_t now_ms)
{
	struct hookq_item it;
	size_t i;

	for (i = 0; i < q->nretry; ) {
		if (q->retry[i].at > now_ms) {
			i++;
			continue;
		}
		it = q->retry[i];
		q->retry[i] = q->retry[--q->nretry];
		enqueue(q, &it);
	}
}

static void
running_set(pid_t pid, enum event_type type)
{
	size_t i;

	for (i = 0; i < nitems(hook_running); i++) {
		if (hook_running[i].pid == 0) {
			hook_running[i].pid = pid;
			hook_running[i].type = type;
			return;
		}
	}
}

/* The name of the event pid runs for, forgetting it. */
static const char *
running_take(pid_t pid)
{
	size_t i;

	for (i = 0; i < nitems(hook_running); i++) {
		if (hook_running[i].pid == pid) {
			hook_running[i].pid = 0;
			return eventlog_type_str(hook_running[i].type);
		}
	}
	return "an";
}

/*
 * The child's side, between fork and execve: only async-signal-safe calls,
 * since the daemon has other threads.  Any failure is written to errfd as
 * an errno value; errfd is close-on-exec, so a successful execve closes it
 * with nothing written.
 */
static void __attribute__((noreturn))
hook_child(const char *path, char *const argv[], char *const envp[],
    int errfd)
{
	struct sigaction sa;
	struct rlimit rl;
	sigset_t none;
	unsigned int fd, max;
	int sig, nfd, e;

	/*
	 * Every signal back to its default action, and then none blocked:
	 * an ignored SIGPIPE or SIGCHLD would otherwise survive execve, and
	 * the daemon blocks the signals it reads from a signalfd.  sigaction
	 * refuses SIGKILL, SIGSTOP and glibc's own signals; that is fine.
	 */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) == -1)
		goto fail;

	/* Its own process group, so that a kill reaches what it started. */
	if (setpgid(0, 0) == -1)
		goto fail;
	if ((nfd = open("/dev/null", O_RDONLY)) == -1)
		goto fail;
	if (nfd != STDIN_FILENO) {
		if (dup2(nfd, STDIN_FILENO) == -1)
			goto fail;
		close(nfd);
	}
	/* Everything but 0-2 and errfd (which is at least 3). */
	if ((errfd > 3 && close_range(3, (unsigned int)errfd - 1, 0) == -1) ||
	    close_range((unsigned int)errfd + 1, ~0U, 0) == -1) {
		/* Kernels before 5.9: one by one. */
		max = 65536;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		    rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < max)
			max = (unsigned int)rl.rlim_cur;
		for (fd = 3; fd < max; fd++)
			if (fd != (unsigned int)errfd)
				close((int)fd);
	}
	execve(path, argv, envp);
 fail:
	e = errno;
	(void)!write(errfd, &e, sizeof(e));
	_exit(127);
}

static void
hook_start(struct hookq *q, const struct hookq_item *it, int64_t now_ms)
{
	const struct event *ev = &it->ev;
	static char env_path[] = HOOK_PATH;
	char env_event[64], env_ext[48], env_old[48], env_int[48];
	char env_fwd[32 + CONFIG_NAME_MAX], env_detail[32 + sizeof(ev->detail)];
	char env_v6[32 + sizeof(ev->ipv6)], env_oldv6[32 + sizeof(ev->old_ipv6)];
	char env_family[32];
	char name[32];
	char *argv[] = { q->cmd, name, NULL };
	char *envp[] = { env_path, env_event, env_ext, env_old, env_int,
	    env_fwd, env_detail, env_v6, env_oldv6, env_family, NULL };
	int family = eventlog_family(ev->type);
	sigset_t all, old;
	ssize_t n;
	pid_t pid;
	int pfd[2], fd, e;

	/* Everything the child needs is ready before it exists. */
	str_copy(name, eventlog_type_str(ev->type), sizeof(name));
	snprintf(env_event, sizeof(env_event), "PORTKEEPER_EVENT=%s", name);
	snprintf(env_ext, sizeof(env_ext), "PORTKEEPER_EXTERNAL_IP=%s",
	    ev->external_ip);
	snprintf(env_old, sizeof(env_old), "PORTKEEPER_OLD_EXTERNAL_IP=%s",
	    ev->old_external_ip);
	snprintf(env_int, sizeof(env_int), "PORTKEEPER_INTERNAL_IP=%s",
	    ev->internal_ip);
	snprintf(env_fwd, sizeof(env_fwd), "PORTKEEPER_FORWARD=%s",
	    ev->forward);
	snprintf(env_detail, sizeof(env_detail), "PORTKEEPER_DETAIL=%s",
	    ev->detail);
	snprintf(env_v6, sizeof(env_v6), "PORTKEEPER_IPV6=%s", ev->ipv6);
	snprintf(env_oldv6, sizeof(env_oldv6), "PORTKEEPER_OLD_IPV6=%s",
	    ev->old_ipv6);
	if (family != 0)
		snprintf(env_family, sizeof(env_family),
		    "PORTKEEPER_FAMILY=%d", family);
	else
		snprintf(env_family, sizeof(env_family), "PORTKEEPER_FAMILY=");

	/* The child reports a failed execve (ENOENT, EACCES) through this. */
	if (pipe2(pfd, O_CLOEXEC) == -1) {
		log_warn("on_change hook for %s: pipe", name);
		return;
	}
	/* Above stdin, which the child replaces, whatever the daemon closed. */
	if (pfd[1] < 3) {
		if ((fd = fcntl(pfd[1], F_DUPFD_CLOEXEC, 3)) == -1) {
			log_warn("on_change hook for %s: fcntl", name);
			close(pfd[0]);
			close(pfd[1]);
			return;
		}
		close(pfd[1]);
		pfd[1] = fd;
	}

	/*
	 * No signal handler of the daemon's may run in the child before it
	 * has reset them all; the parent restores its mask right after.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid == 0)
		hook_child(q->cmd, argv, envp, pfd[1]);
	e = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(pfd[1]);
	if (pid == -1) {
		close(pfd[0]);
		log_warnx("on_change hook for %s: fork: %s", name,
		    strerror(e));
		return;
	}

	while ((n = read(pfd[0], &e, sizeof(e))) == -1 && errno == EINTR)
		;
	close(pfd[0]);
	if (n != 0) {
		/* The child is exiting already; do not leave a zombie. */
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
		log_warnx("on_change hook %s for %s: %s", q->cmd, name,
		    n == (ssize_t)sizeof(e) ? strerror(e) : "cannot start");
		return;
	}
	log_debug("on_change hook %s for %s: pid %ld", q->cmd, name,
	    (long)pid);
	q->running = pid;
	q->started = now_ms;
	q->cur = *it;
	running_set(pid, ev->type);
}

static void
hook_report(const struct hookq *q, pid_t pid, int status)
{
	const char *name = running_take(pid);

	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		log_debug("on_change hook %s for %s event done", q->cmd, name);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == HOOK_TEMPFAIL)
		log_info("on_change hook %s for %s event exited with status "
		    "%d: to be run again", q->cmd, name, HOOK_TEMPFAIL);
	else if (WIFEXITED(status))
		log_warnx("on_change hook %s for %s event exited with status "
		    "%d", q->cmd, name, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		log_warnx("on_change hook %s for %s event killed by signal %d "
		    "(%s)", q->cmd, name, WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
}

/* Kills the running hook and everything it started, and reaps it. */
static void
hook_kill(struct hookq *q)
{
	pid_t pid = q->running;
	int status;

	/* The group is gone when the hook already ended; then just pid. */
	if (kill(-pid, SIGKILL) == -1)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	running_take(pid);
	q->running = 0;
}

static void
hook_check(struct hookq *q, int64_t now_ms)
{
	pid_t pid = q->running, r;
	int status;

	while ((r = waitpid(pid, &status, WNOHANG)) == -1 && errno == EINTR)
		;
	if (r == pid) {
		hook_report(q, pid, status);
		q->running = 0;
		if (WIFEXITED(status) && WEXITSTATUS(status) == HOOK_TEMPFAIL)
			retry_schedule(q, now_ms);
		return;
	}
	if (r == -1) {
		/* ECHILD: someone else reaped it (SIGCHLD set to SIG_IGN). */
		log_debug("on_change hook %s: waitpid %ld: %s", q->cmd,
		    (long)pid, strerror(errno));
		running_take(pid);
		q->running = 0;
		return;
	}
	if (now_ms - q->started < hook_timeout_ms)
		return;
	log_warnx("on_change hook %s for %s event still running after %d ms: "
	    "killing it%s", q->cmd, running_take(pid), hook_timeout_ms,
	    is_address_event(q->cur.ev.type) ? "; it will be run again" : "");
	hook_kill(q);
	/*
	 * An address change must still reach the name the hook keeps: its
	 * event runs again later, as one the hook asked for with 75.
	 */
	if (is_address_event(q->cur.ev.type))
		retry_schedule(q, now_ms);
}

/*
 * Which waiting event runs next: the oldest address event, else the oldest
 * of all.  An address change is what a dynamic DNS hook acts on, and a burst
 * of forwards' events (a router that restarted with forty of them) would
 * otherwise keep the name on the old address for as long as the hook takes
 * to go through them all; a forward's event only reports, and loses nothing
 * by waiting.
 */
static size_t
next_index(struct hookq *q)
{
	size_t i;

	for (i = 0; i < q->count; i++)
		if (is_address_event(item_at(q, i)->ev.type))
			return i;
	return 0;
}

void
hookq_tick(struct hookq *q, int64_t now_ms)
{
	struct hookq_item it;
	size_t i;

	if (q->running != 0)
		hook_check(q, now_ms);
	retry_due(q, now_ms);
	/* Hooks that cannot start are logged and skipped. */
	while (q->running == 0 && q->count > 0) {
		i = next_index(q);
		it = *item_at(q, i);
		waiting_remove(q, i);
		hook_start(q, &it, now_ms);
	}
}

int64_t
hookq_deadline(const struct hookq *q)
{
	int64_t next = INT64_MAX;
	size_t i;

	if (q->running != 0)
		next = q->started + hook_timeout_ms;
	else if (q->count > 0)
		return mono_ms();
	for (i = 0; i < q->nretry; i++)
		if (q->retry[i].at < next)
			next = q->retry[i].at;
	return next;
}

void
hookq_drain(struct hookq *q, int timeout_ms)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int64_t now, end = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);

	for (;;) {
		now = mono_ms();
		hookq_tick(q, now);
		if (q->running == 0 && q->count == 0)
			return;
		if (now >= end)
			break;
		nanosleep(&ts, NULL);
	}

	/*
	 * Out of time, at shutdown: a hook left behind would outlive the
	 * daemon with no one to stop it, and the events still waiting will
	 * not run at all.  Say so rather than lose them quietly.
	 */
	if (q->running != 0) {
		log_warnx("on_change hook %s for %s event still running at "
		    "shutdown: killing it", q->cmd, running_take(q->running));
		hook_kill(q);
	}
	if (q->count > 0) {
		log_warnx("on_change hook: %zu events not run at shutdown",
		    q->count);
		q->start = q->count = 0;
	}
	if (q->nretry > 0) {
		log_warnx("on_change hook: %zu events waiting to be run again "
		    "not run at shutdown", q->nretry);
		q->nretry = 0;
	}
}
