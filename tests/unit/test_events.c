/*
 * The event log and the on_change hook.  Hooks are real programs: small
 * shell scripts in a temporary directory that write down what they saw.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "eventlog.h"
#include "hookq.h"
#include "util.h"

/* In hookq.c, for tests only. */
void	hookq_set_timeout_ms(int ms);
void	hookq_set_retry_ms(int ms);

static char dir[64];

static void
path_in(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static void
write_file(const char *name, const char *text, mode_t mode)
{
	char path[128];
	int fd;

	path_in(path, sizeof(path), name);
	assert_true((fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, mode)) >=
	    0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* The whole of dir/name, or "" when it does not exist; caller frees. */
static char *
read_file(const char *name)
{
	char path[128], *buf;
	FILE *f;
	size_t n;

	path_in(path, sizeof(path), name);
	assert_non_null(buf = calloc(1, 65536));
	if ((f = fopen(path, "r")) == NULL)
		return buf;
	n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* A hook script: sh with DIR replaced by the test directory. */
static void
write_hook(const char *name, const char *body)
{
	char text[4096], *p;
	const char *s;
	size_t n = 0;

	n = (size_t)snprintf(text, sizeof(text), "#!/bin/sh\n");
	for (s = body; *s != '\0' && n + 64 < sizeof(text); ) {
		if (strncmp(s, "DIR", 3) == 0) {
			n += (size_t)snprintf(text + n, sizeof(text) - n, "%s",
			    dir);
			s += 3;
		} else
			text[n++] = *s++;
	}
	text[n] = '\0';
	p = text;
	write_file(name, p, 0755);
}

static int
setup(void **unused)
{
	(void)unused;
	str_copy(dir, "/tmp/pk-test-events.XXXXXX", sizeof(dir));
	if (mkdtemp(dir) == NULL)
		return -1;
	hookq_set_timeout_ms(0);
	return 0;
}

static int
teardown(void **unused)
{
	char cmd[128];

	(void)unused;
	hookq_set_timeout_ms(0);
	hookq_set_retry_ms(0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
mkevent(struct event *ev, enum event_type type, const char *forward,
    const char *detail)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	str_copy(ev->forward, forward, sizeof(ev->forward));
	str_copy(ev->detail, detail, sizeof(ev->detail));
}

/* Like assert_non_null(strstr()), but shows both on failure. */
#define assert_contains(hay, needle) do {				\
	if (strstr((hay), (needle)) == NULL)				\
		fail_msg("\"%s\" not in:\n%s", (needle), (hay));	\
} while (0)

/* Runs f with stderr going to dir/name, to check what was logged. */
static int saved_stderr = -1;

static void
capture_stderr(const char *name)
{
	char path[128];
	int fd;

	path_in(path, sizeof(path), name);
	assert_true((fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600)) >=
	    0);
	assert_true((saved_stderr = dup(STDERR_FILENO)) >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
}

static void
restore_stderr(void)
{
	assert_int_equal(dup2(saved_stderr, STDERR_FILENO), STDERR_FILENO);
	close(saved_stderr);
	saved_stderr = -1;
}

static void
test_eventlog_type_str(void **unused)
{
	static const char *const names[] = {
		"external_ip_changed", "internal_ip_changed", "mapping_lost",
		"mapping_restored", "mapping_failed", "mapping_added",
		"mapping_removed", "router_restarted", "gateway_changed",
		"ipv6_address_changed", "pinhole_added", "pinhole_lost",
		"pinhole_restored", "pinhole_failed", "pinhole_removed",
	};
	size_t i;

	(void)unused;
	assert_int_equal(EV_PINHOLE_REMOVED + 1, nitems(names));
	for (i = 0; i < nitems(names); i++)
		assert_string_equal(eventlog_type_str((enum event_type)i),
		    names[i]);
	assert_string_equal(eventlog_type_str((enum event_type)99), "unknown");
}

static void
test_eventlog(void **unused)
{
	static struct eventlog el;
	struct event ev;
	const struct event *e;
	time_t before;
	size_t i;

	(void)unused;
	eventlog_init(&el);
	assert_int_equal(eventlog_count(&el), 0);
	assert_null(eventlog_get(&el, 0));

	before = time(NULL);
	mkevent(&ev, EV_MAPPING_ADDED, "web", "web is forwarded");
	ev.seq = 777;		/* ignored */
	assert_int_equal(eventlog_add(&el, &ev), 1);
	ev.time = 1234;
	assert_int_equal(eventlog_add(&el, &ev), 2);
	assert_int_equal(eventlog_count(&el), 2);
	e = eventlog_get(&el, 0);
	assert_int_equal(e->seq, 1);
	/* Time 0 means now; any other time is kept. */
	assert_true(e->time >= (int64_t)before &&
	    e->time <= (int64_t)time(NULL));
	assert_string_equal(e->forward, "web");
	assert_string_equal(e->detail, "web is forwarded");
	assert_int_equal(eventlog_get(&el, 1)->time, 1234);

	/* Unterminated strings from the caller are cut, not overrun. */
	memset(ev.detail, 'x', sizeof(ev.detail));
	memset(ev.forward, 'y', sizeof(ev.forward));
	eventlog_add(&el, &ev);
	e = eventlog_get(&el, 2);
	assert_int_equal(strlen(e->detail), sizeof(e->detail) - 1);
	assert_int_equal(strlen(e->forward), sizeof(e->forward) - 1);

	/* Full: the oldest go, sequence numbers go on. */
	mkevent(&ev, EV_MAPPING_LOST, "web", "");
	for (i = 4; i <= 300; i++) {
		ev.time = (int64_t)i;
		assert_int_equal(eventlog_add(&el, &ev), i);
	}
	assert_int_equal(eventlog_count(&el), EVENTLOG_MAX);
	assert_int_equal(eventlog_get(&el, 0)->seq, 300 - EVENTLOG_MAX + 1);
	assert_int_equal(eventlog_get(&el, 0)->time, 300 - EVENTLOG_MAX + 1);
	assert_int_equal(eventlog_get(&el, EVENTLOG_MAX - 1)->seq, 300);
	for (i = 1; i < EVENTLOG_MAX; i++)
		assert_int_equal(eventlog_get(&el, i)->seq,
		    eventlog_get(&el, i - 1)->seq + 1);
	assert_null(eventlog_get(&el, EVENTLOG_MAX));
}

static void
test_hook_environment(void **unused)
{
	static struct hookq q;
	struct event ev;
	char hook[128], want[PATH_MAX + 512], cwd[PATH_MAX], *got, *info;
	sigset_t set, oset;
	int fd;

	(void)unused;
	write_hook("hook",
	    "printf '%s|%s|%s|%s|%s|%s|%s|%s\\n' \"$#\" \"$1\" "
	    "\"$PORTKEEPER_EVENT\" \"$PORTKEEPER_EXTERNAL_IP\" "
	    "\"$PORTKEEPER_OLD_EXTERNAL_IP\" \"$PORTKEEPER_INTERNAL_IP\" "
	    "\"$PORTKEEPER_FORWARD\" \"$PORTKEEPER_DETAIL\" >> DIR/out\n"
	    "env | sort > DIR/env\n"
	    "{\n"
	    "  echo \"arg0=$0\"\n"
	    "  echo \"stdin=$(readlink /proc/$$/fd/0)\"\n"
	    "  if [ -e /proc/$$/fd/42 ]; then echo fd42=open; "
	    "else echo fd42=closed; fi\n"
	    "  echo \"pgid=$(cut -d' ' -f5 /proc/$$/stat) pid=$$\"\n"
	    "} > DIR/info\n"
	    /*
	     * Read the masks from a process the shell execs into: the shell
	     * blocks every signal for a moment around each fork, so reading
	     * its own status from a child races with that.
	     */
	    "exec grep -E '^Sig(Blk|Ign):' /proc/self/status >> DIR/info\n");
	path_in(hook, sizeof(hook), "hook");

	/*
	 * What the daemon has that the hook must not: a secret in its
	 * environment, a descriptor without close-on-exec, a blocked signal
	 * and an ignored SIGPIPE.
	 */
	assert_int_equal(setenv("SECRET", "1", 1), 0);
	assert_true((fd = open("/dev/null", O_RDONLY)) >= 0);
	assert_int_equal(dup2(fd, 42), 42);
	close(fd);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	assert_int_equal(sigprocmask(SIG_BLOCK, &set, &oset), 0);
	signal(SIGPIPE, SIG_IGN);

	hookq_init(&q, hook);
	mkevent(&ev, EV_EXTERNAL_IP_CHANGED, "", "external address changed "
	    "from 11.22.33.2 to 11.22.33.3");
	str_copy(ev.external_ip, "11.22.33.3", sizeof(ev.external_ip));
	str_copy(ev.old_external_ip, "11.22.33.2", sizeof(ev.old_external_ip));
	str_copy(ev.internal_ip, "192.168.77.10", sizeof(ev.internal_ip));
	str_copy(ev.ipv6, "2a0c:7700:77::10", sizeof(ev.ipv6));
	hookq_push(&q, &ev);
	hookq_drain(&q, 10000);

	sigprocmask(SIG_SETMASK, &oset, NULL);
	signal(SIGPIPE, SIG_DFL);
	close(42);
	unsetenv("SECRET");
	assert_int_equal(q.running, 0);
	assert_int_equal(q.count, 0);

	got = read_file("out");
	assert_string_equal(got, "1|external_ip_changed|external_ip_changed|"
	    "11.22.33.3|11.22.33.2|192.168.77.10||external address changed "
	    "from 11.22.33.2 to 11.22.33.3\n");
	free(got);

	/*
	 * Exactly these variables (sorted, as env | sort prints them); the
	 * shell adds PWD by itself.
	 */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	snprintf(want, sizeof(want),
	    "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"
	    "PORTKEEPER_DETAIL=external address changed from 11.22.33.2 to "
	    "11.22.33.3\n"
	    "PORTKEEPER_EVENT=external_ip_changed\n"
	    "PORTKEEPER_EXTERNAL_IP=11.22.33.3\n"
	    "PORTKEEPER_FAMILY=4\n"
	    "PORTKEEPER_FORWARD=\n"
	    "PORTKEEPER_INTERNAL_IP=192.168.77.10\n"
	    "PORTKEEPER_IPV6=2a0c:7700:77::10\n"
	    "PORTKEEPER_OLD_EXTERNAL_IP=11.22.33.2\n"
	    "PORTKEEPER_OLD_IPV6=\n"
	    "PWD=%s\n", cwd);
	got = read_file("env");
	assert_string_equal(got, want);
	assert_null(strstr(got, "SECRET"));
	free(got);

	info = read_file("info");
	snprintf(want, sizeof(want), "arg0=%s\n", hook);
	assert_contains(info, want);
	assert_contains(info, "stdin=/dev/null\n");
	assert_contains(info, "fd42=closed\n");
	assert_contains(info, "SigBlk:\t0000000000000000\n");
	/*
	 * No ignored signal either, but glibc's own two (32 and 33): sigaction
	 * refuses to touch them, and a parent started by posix_spawn (make
	 * does that) passes them on ignored.
	 */
	{
		const char *p = strstr(info, "SigIgn:\t");
		unsigned long long ign;

		assert_non_null(p);
		assert_int_equal(sscanf(p + 8, "%llx", &ign), 1);
		assert_int_equal(ign & ~0x180000000ULL, 0);
	}
	/* Its own process group, so that a kill reaches what it started. */
	{
		long pgid = -1, pid = -2;
		const char *p = strstr(info, "pgid=");

		assert_non_null(p);
		assert_int_equal(sscanf(p, "pgid=%ld pid=%ld", &pgid, &pid), 2);
		assert_int_equal(pgid, pid);
	}
	free(info);
}

static void
test_hook_order(void **unused)
{
	static struct hookq q;
	struct event ev;
	char hook[128], *got;

	(void)unused;
	write_hook("hook", "echo \"$1 $PORTKEEPER_FORWARD $PORTKEEPER_DETAIL\""
	    " >> DIR/out\n");
	path_in(hook, sizeof(hook), "hook");
	hookq_init(&q, hook);
	assert_int_equal(hookq_deadline(&q), INT64_MAX);

	mkevent(&ev, EV_MAPPING_LOST, "web", "one");
	hookq_push(&q, &ev);
	mkevent(&ev, EV_MAPPING_RESTORED, "web", "two");
	hookq_push(&q, &ev);
	mkevent(&ev, EV_ROUTER_RESTARTED, "", "three");
	hookq_push(&q, &ev);
	mkevent(&ev, EV_MAPPING_REMOVED, "ssh", "four");
	hookq_push(&q, &ev);
	assert_int_equal(q.count, 4);
	assert_int_equal(q.running, 0);
	/* Pushing does not run anything; the next tick is due now. */
	assert_true(hookq_deadline(&q) <= mono_ms());

	/*
	 * One at a time: a tick starts the first, the rest wait.  The
	 * address event goes ahead of the forwards' events that came before
	 * it (a dynamic DNS hook must not wait behind a burst of them).
	 */
	hookq_tick(&q, mono_ms());
	assert_true(q.running > 0);
	assert_int_equal(q.count, 3);
	assert_int_equal(hookq_deadline(&q),
	    q.started + HOOK_TIMEOUT_S * 1000);

	hookq_drain(&q, 10000);
	assert_int_equal(q.running, 0);
	assert_int_equal(q.count, 0);
	assert_int_equal(q.dropped, 0);
	assert_int_equal(hookq_deadline(&q), INT64_MAX);
	got = read_file("out");
	assert_string_equal(got,
	    "router_restarted  three\n"
	    "mapping_lost web one\n"
	    "mapping_restored web two\n"
	    "mapping_removed ssh four\n");
	free(got);
}

/* dir/name holds a pid; true when that process is gone (or a zombie). */
static int
pid_gone(const char *name)
{
	char *s, path[64], stat[256];
	long pid;
	FILE *f;
	int gone = 1;

	s = read_file(name);
	pid = strtol(s, NULL, 10);
	free(s);
	assert_true(pid > 1);
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) != NULL) {
		if (fgets(stat, sizeof(stat), f) != NULL) {
			char *p = strrchr(stat, ')');

			gone = p != NULL && p[1] == ' ' && p[2] == 'Z';
		}
		fclose(f);
	}
	return gone;
}

static void
test_hook_timeout(void **unused)
{
	static struct hookq q;
	struct event ev;
	char hook[128], *got, *log;
	int64_t t0, t1;
	int i;

	(void)unused;
	/* mapping_lost hangs (with a child of its own); the rest are quick. */
	write_hook("hook",
	    "echo \"start $1\" >> DIR/out\n"
	    "if [ \"$1\" = mapping_lost ]; then\n"
	    "  sleep 20 &\n"
	    "  echo $! > DIR/sleep.pid\n"
	    "  wait\n"
	    "fi\n"
	    "echo \"end $1\" >> DIR/out\n");
	path_in(hook, sizeof(hook), "hook");
	hookq_set_timeout_ms(300);
	hookq_init(&q, hook);

	mkevent(&ev, EV_MAPPING_LOST, "web", "");
	hookq_push(&q, &ev);
	mkevent(&ev, EV_MAPPING_RESTORED, "web", "");
	hookq_push(&q, &ev);

	capture_stderr("log");
	t0 = mono_ms();
	hookq_tick(&q, t0);
	assert_true(q.running > 0);
	assert_int_equal(hookq_deadline(&q), q.started + 300);
	/* Not overdue yet: ticking early leaves it alone. */
	hookq_tick(&q, q.started + 100);
	assert_true(q.running > 0);
	assert_int_equal(q.count, 1);

	hookq_drain(&q, 10000);
	t1 = mono_ms();
	restore_stderr();

	assert_int_equal(q.running, 0);
	assert_int_equal(q.count, 0);
	assert_true(t1 - t0 >= 250);
	assert_true(t1 - t0 < 5000);
	got = read_file("out");
	assert_string_equal(got, "start mapping_lost\nstart mapping_restored\n"
	    "end mapping_restored\n");
	free(got);
	log = read_file("log");
	assert_contains(log, hook);
	assert_contains(log, "mapping_lost");
	assert_contains(log, "killing it");
	free(log);

	/* The hook's own child went with it. */
	for (i = 0; i < 100 && !pid_gone("sleep.pid"); i++)
		usleep(20000);
	assert_true(pid_gone("sleep.pid"));
}

static void
test_hook_exit_status(void **unused)
{
	static struct hookq q;
	struct event ev;
	char hook[128], *log;

	(void)unused;
	write_hook("hook",
	    "case $1 in\n"
	    "mapping_failed) exit 3 ;;\n"
	    "gateway_changed) kill -TERM $$ ;;\n"
	    "esac\n"
	    "exit 0\n");
	path_in(hook, sizeof(hook), "hook");
	hookq_init(&q, hook);
	mkevent(&ev, EV_MAPPING_FAILED, "web", "");
	hookq_push(&q, &ev);
	mkevent(&ev, EV_GATEWAY_CHANGED, "", "");
	hookq_push(&q, &ev);
	mkevent(&ev, EV_MAPPING_ADDED, "web", "");
	hookq_push(&q, &ev);

	capture_stderr("log");
	hookq_drain(&q, 10000);
	restore_stderr();
	assert_int_equal(q.running, 0);
	assert_int_equal(q.count, 0);

	log = read_file("log");
	assert_contains(log, "for mapping_failed event exited with "
	    "status 3");
	assert_contains(log, "for gateway_changed event killed by "
	    "signal 15");
	/* Success is not worth a warning. */
	assert_null(strstr(log, "mapping_added"));
	free(log);
}

/*
 * A hook that cannot start is logged with its path and the queue moves on.
 * (Under valgrind posix_spawn works like fork, so the failure shows as the
 * child's non-zero exit status instead; either way it is logged.)
 */
static void
test_hook_cannot_start(void **unused)
{
	static struct hookq q;
	struct event ev;
	char hook[128], *log;
	int64_t t0;

	(void)unused;
	path_in(hook, sizeof(hook), "missing-hook");
	hookq_init(&q, hook);
	mkevent(&ev, EV_MAPPING_LOST, "web", "");
	hookq_push(&q, &ev);
	hookq_push(&q, &ev);
	hookq_push(&q, &ev);

	capture_stderr("log");
	t0 = mono_ms();
	hookq_drain(&q, 10000);
	restore_stderr();
	assert_true(mono_ms() - t0 < 5000);
	assert_int_equal(q.running, 0);
	assert_int_equal(q.count, 0);
	log = read_file("log");
	assert_contains(log, hook);
	if (strstr(log, "No such file or directory") == NULL &&
	    strstr(log, "exited with status") == NULL)
		fail_msg("not logged as missing:\n%s", log);
	free(log);

	/* Not executable. */
	write_file("not-executable", "#!/bin/sh\nexit 0\n", 0644);
	path_in(hook, sizeof(hook), "not-executable");
	hookq_init(&q, hook);
	hookq_push(&q, &ev);
	capture_stderr("log");
	hookq_drain(&q, 10000);
	restore_stderr();
	assert_int_equal(q.running, 0);
	assert_int_equal(q.count, 0);
	log = read_file("log");
	assert_contains(log, hook);
	if (strstr(log, "Permission denied") == NULL &&
	    strstr(log, "exited with status") == NULL)
		fail_msg("not logged as not executable:\n%s", log);
	free(log);

	/* No hook configured: nothing is queued. */
	hookq_init(&q, "");
	hookq_push(&q, &ev);
	assert_int_equal(q.count, 0);
	hookq_tick(&q, mono_ms());
	assert_int_equal(q.running, 0);
	assert_int_equal(hookq_deadline(&q), INT64_MAX);
}

static void
test_hook_overflow(void **unused)
{
	static struct hookq q;
	struct event ev;
	char hook[128], want[8192], *got, *log;
	size_t n;
	int i;

	(void)unused;
	/* The first hook waits for the test to say go. */
	write_hook("hook",
	    "if [ \"$1\" = mapping_lost ]; then\n"
	    "  while [ ! -e DIR/go ]; do sleep 0.02; done\n"
	    "fi\n"
	    "echo \"$PORTKEEPER_DETAIL\" >> DIR/out\n");
	path_in(hook, sizeof(hook), "hook");
	hookq_init(&q, hook);

	mkevent(&ev, EV_MAPPING_LOST, "web", "1");
	hookq_push(&q, &ev);
	hookq_tick(&q, mono_ms());
	assert_true(q.running > 0);
	assert_int_equal(q.count, 0);

	/* The queue holds HOOKQ_MAX waiting; three more push out 2, 3, 4. */
	capture_stderr("log");
	for (i = 2; i <= HOOKQ_MAX + 4; i++) {
		char d[16];

		snprintf(d, sizeof(d), "%d", i);
		mkevent(&ev, EV_MAPPING_ADDED, "web", d);
		hookq_push(&q, &ev);
	}
	restore_stderr();
	assert_int_equal(q.count, HOOKQ_MAX);
	assert_int_equal(q.dropped, 3);
	log = read_file("log");
	assert_contains(log, "queue full");
	free(log);

	write_file("go", "", 0644);
	hookq_drain(&q, 60000);
	assert_int_equal(q.running, 0);
	assert_int_equal(q.count, 0);
	assert_int_equal(q.dropped, 3);

	n = (size_t)snprintf(want, sizeof(want), "1\n");
	for (i = 5; i <= HOOKQ_MAX + 4; i++)
		n += (size_t)snprintf(want + n, sizeof(want) - n, "%d\n", i);
	got = read_file("out");
	assert_string_equal(got, want);
	free(got);
}

static void
mkaddr(struct event *ev, const char *ext, const char *old, uint64_t seq)
{
	mkevent(ev, EV_EXTERNAL_IP_CHANGED, "", "address");
	str_copy(ev->external_ip, ext, sizeof(ev->external_ip));
	str_copy(ev->old_external_ip, old, sizeof(ev->old_external_ip));
	ev->seq = seq;
}

/*
 * A burst while the hook is busy (issue 13: 39 forwards, a router that
 * comes back with a new address): the address change is never dropped,
 * and two of them add up to one from the oldest old to the newest new.
 */
static void
test_hook_coalesce(void **unused)
{
	static struct hookq q;
	struct event ev;
	char hook[128], name[16], *got, *log;
	uint64_t seq = 1;
	int i;

	(void)unused;
	write_hook("hook",
	    "while [ ! -e DIR/go ]; do sleep 0.02; done\n"
	    "echo \"$1 $PORTKEEPER_FORWARD $PORTKEEPER_EXTERNAL_IP "
	    "$PORTKEEPER_OLD_EXTERNAL_IP\" >> DIR/out\n");
	path_in(hook, sizeof(hook), "hook");
	hookq_init(&q, hook);

	mkevent(&ev, EV_ROUTER_RESTARTED, "", "busy");
	ev.seq = seq++;
	hookq_push(&q, &ev);
	hookq_tick(&q, mono_ms());
	assert_true(q.running > 0);

	capture_stderr("log");
	mkaddr(&ev, "11.22.33.4", "11.22.33.2", seq++);
	hookq_push(&q, &ev);
	/* 40 forwards lost, then 40 restored: 80 events behind it. */
	for (i = 0; i < 80; i++) {
		snprintf(name, sizeof(name), "f%02d", i % 40);
		mkevent(&ev, i < 40 ? EV_MAPPING_LOST : EV_MAPPING_RESTORED,
		    name, "");
		ev.seq = seq++;
		hookq_push(&q, &ev);
	}
	mkaddr(&ev, "11.22.33.5", "11.22.33.4", seq++);
	hookq_push(&q, &ev);
	restore_stderr();
	assert_int_equal(q.count, HOOKQ_MAX);
	assert_int_equal(q.coalesced, 1);
	/* 81 wanted in: 17 forwards' losses went, each replaced by its restore. */
	assert_int_equal(q.dropped, 81 - HOOKQ_MAX);
	log = read_file("log");
	assert_contains(log, "dropping mapping_lost event #3 of f00, which a "
	    "newer event of it replaces");
	free(log);

	write_file("go", "", 0644);
	hookq_drain(&q, 60000);
	got = read_file("out");
	/* One address change, from the oldest old to the newest new. */
	assert_true(strncmp(got, "router_restarted ", 17) == 0);
	assert_contains(got, "\nexternal_ip_changed  11.22.33.5 11.22.33.2\n"
	    "mapping_");
	assert_null(strstr(got, "11.22.33.4"));
	/* Every forward's last word is there. */
	for (i = 0; i < 40; i++) {
		char line[64];

		snprintf(line, sizeof(line), "mapping_restored f%02d ", i);
		assert_contains(got, line);
	}
	free(got);
}

/* Runs q until its count of retries waiting is no longer n (10 s at most). */
static void
tick_while_retries(struct hookq *q, size_t n, int64_t t0)
{
	while (q->nretry == n && mono_ms() - t0 < 10000) {
		hookq_tick(q, mono_ms());
		usleep(10000);
	}
}

/*
 * A hook that exits 75 (ddclient skipped the update) gets its event again
 * later; a newer change waiting meanwhile takes its place and its start.
 */
static void
test_hook_retry(void **unused)
{
	static struct hookq q;
	struct event ev;
	char hook[128], *got;
	int64_t t0, due;

	(void)unused;
	write_hook("hook",
	    "echo \"$PORTKEEPER_EXTERNAL_IP $PORTKEEPER_OLD_EXTERNAL_IP\" "
	    ">> DIR/out\n"
	    "[ -e DIR/ok ] || exit 75\n");
	path_in(hook, sizeof(hook), "hook");
	hookq_init(&q, hook);
	hookq_set_retry_ms(300);

	capture_stderr("log");
	mkaddr(&ev, "11.22.33.4", "11.22.33.2", 1);
	hookq_push(&q, &ev);
	t0 = mono_ms();
	tick_while_retries(&q, 0, t0);
	assert_int_equal(q.nretry, 1);
	assert_int_equal(q.count, 0);
	due = hookq_deadline(&q);
	assert_true(due > mono_ms() && due <= mono_ms() + 300);

	/* Due, it runs again; this time it asks for 600 ms. */
	tick_while_retries(&q, 1, t0);
	tick_while_retries(&q, 0, t0);
	assert_int_equal(q.nretry, 1);
	assert_int_equal(q.retry[0].tries, 2);
	assert_true(hookq_deadline(&q) > mono_ms() + 300);

	/* A newer change replaces the retry, and starts where it started. */
	write_file("ok", "", 0644);
	mkaddr(&ev, "11.22.33.5", "11.22.33.4", 2);
	hookq_push(&q, &ev);
	assert_int_equal(q.nretry, 0);
	hookq_drain(&q, 10000);
	restore_stderr();
	got = read_file("out");
	assert_string_equal(got,
	    "11.22.33.4 11.22.33.2\n"
	    "11.22.33.4 11.22.33.2\n"
	    "11.22.33.5 11.22.33.2\n");
	free(got);
}

/*
 * An address event whose hook hangs is killed at the timeout and run again
 * later: the name the hook keeps must still follow the address.  A
 * forward's event is not (test_hook_timeout).
 */
static void
test_hook_overrun_retried(void **unused)
{
	static struct hookq q;
	struct event ev;
	char hook[128], *got;
	int64_t t0;

	(void)unused;
	/* The first run hangs; the next one is quick. */
	write_hook("hook",
	    "echo \"start $PORTKEEPER_EXTERNAL_IP\" >> DIR/out\n"
	    "if [ ! -e DIR/hung ]; then touch DIR/hung; sleep 20; fi\n"
	    "echo \"end $PORTKEEPER_EXTERNAL_IP\" >> DIR/out\n");
	path_in(hook, sizeof(hook), "hook");
	hookq_set_timeout_ms(300);
	hookq_set_retry_ms(100);
	hookq_init(&q, hook);

	capture_stderr("log");
	mkaddr(&ev, "11.22.33.4", "11.22.33.2", 1);
	hookq_push(&q, &ev);
	t0 = mono_ms();
	tick_while_retries(&q, 0, t0);
	assert_int_equal(q.nretry, 1);
	assert_int_equal(q.running, 0);
	while ((q.nretry > 0 || q.running != 0) && mono_ms() - t0 < 10000) {
		hookq_tick(&q, mono_ms());
		usleep(10000);
	}
	restore_stderr();
	got = read_file("out");
	assert_string_equal(got, "start 11.22.33.4\nstart 11.22.33.4\n"
	    "end 11.22.33.4\n");
	free(got);
	got = read_file("log");
	assert_contains(got, "killing it; it will be run again");
	free(got);
}

static void
test_hook_drain_timeout(void **unused)
{
	static struct hookq q;
	struct event ev;
	char hook[128], *got, *log;
	int64_t t0;

	(void)unused;
	/* Shutdown does not wait for a slow hook past its own limit. */
	write_hook("hook",
	    "echo \"$1\" >> DIR/out\n"
	    "sleep 20\n");
	path_in(hook, sizeof(hook), "hook");
	hookq_init(&q, hook);
	mkevent(&ev, EV_MAPPING_LOST, "web", "");
	hookq_push(&q, &ev);
	mkevent(&ev, EV_MAPPING_RESTORED, "web", "");
	hookq_push(&q, &ev);

	capture_stderr("log");
	t0 = mono_ms();
	hookq_drain(&q, 300);
	restore_stderr();
	assert_true(mono_ms() - t0 < 5000);
	assert_int_equal(q.running, 0);
	assert_int_equal(q.count, 0);
	got = read_file("out");
	assert_string_equal(got, "mapping_lost\n");
	free(got);
	log = read_file("log");
	assert_contains(log, "at shutdown");
	assert_contains(log, "1 events not run");
	free(log);
	/* No child is left to reap. */
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/*
 * The example hook in packaging/hooks, run with a stand-in ddclient that
 * writes down its arguments.  Needs the source tree as the working
 * directory (tests/run.sh runs from there); skipped otherwise.
 */
#define DDCLIENT_HOOK	"packaging/hooks/ddclient-update"

static int
run_ddclient_hook(const char *event, const char *ip, int fake_rc)
{
	char cmd[1024];
	int rc;

	/* The address goes in the variable the event reads it from. */
	snprintf(cmd, sizeof(cmd), "env -i PATH=%s:/usr/bin:/bin FAKE_RC=%d "
	    "PORTKEEPER_EVENT='%s' PORTKEEPER_EXTERNAL_IP='%s' "
	    "PORTKEEPER_OLD_EXTERNAL_IP=11.22.33.2 PORTKEEPER_IPV6='%s' "
	    "PORTKEEPER_OLD_IPV6=2a0c:7700:77::10 %s '%s' 2>>%s/log",
	    dir, fake_rc, event, strchr(ip, ':') == NULL ? ip : "192.0.2.1",
	    strchr(ip, ':') != NULL ? ip : "", DDCLIENT_HOOK, event, dir);
	rc = system(cmd);
	assert_true(WIFEXITED(rc));
	return WEXITSTATUS(rc);
}

static void
test_ddclient_hook(void **unused)
{
	struct stat sb;
	char args[128], *got;

	(void)unused;
	if (stat(DDCLIENT_HOOK, &sb) == -1)
		skip();
	assert_true(sb.st_mode & S_IXUSR);
	assert_int_equal(system("sh -n " DDCLIENT_HOOK), 0);
	write_hook("ddclient", "echo \"$*\" >> DIR/args\nexit $FAKE_RC\n");
	path_in(args, sizeof(args), "args");

	/* Other events: nothing to do, and not a failure. */
	assert_int_equal(run_ddclient_hook("mapping_lost", "", 0), 0);
	assert_int_equal(run_ddclient_hook("internal_ip_changed", "1.2.3.4",
	    0), 0);
	assert_int_equal(access(args, F_OK), -1);

	assert_int_equal(run_ddclient_hook("external_ip_changed", "11.22.33.3",
	    0), 0);
	got = read_file("args");
	assert_string_equal(got, "-daemon=0 -use=ip -ip=11.22.33.3 "
	    "-file=/etc/ddclient.conf\n");
	free(got);

	/* ddclient's failure is the hook's. */
	assert_int_equal(run_ddclient_hook("external_ip_changed", "11.22.33.4",
	    1), 1);
	/* One that ran out of time (timeout(1)'s 124) is run again later. */
	assert_int_equal(run_ddclient_hook("external_ip_changed", "11.22.33.4",
	    124), 75);

	/* Not an address: ddclient is not run. */
	assert_int_equal(unlink(args), 0);
	assert_int_equal(run_ddclient_hook("external_ip_changed", "999.1.1.1",
	    0), 1);
	assert_int_equal(run_ddclient_hook("external_ip_changed", "", 0), 1);
	assert_int_equal(run_ddclient_hook("external_ip_changed", "1.2.3", 0),
	    1);
	assert_int_equal(run_ddclient_hook("external_ip_changed", "-x", 0), 1);
	assert_int_equal(access(args, F_OK), -1);

	/* A carrier-grade NAT or private address is not published. */
	assert_int_equal(run_ddclient_hook("external_ip_changed", "100.64.0.2",
	    0), 0);
	assert_int_equal(run_ddclient_hook("external_ip_changed",
	    "100.127.255.1", 0), 0);
	assert_int_equal(run_ddclient_hook("external_ip_changed", "10.1.2.3",
	    0), 0);
	assert_int_equal(run_ddclient_hook("external_ip_changed", "172.20.0.1",
	    0), 0);
	assert_int_equal(run_ddclient_hook("external_ip_changed",
	    "192.168.1.1", 0), 0);
	assert_int_equal(access(args, F_OK), -1);
	/* Its neighbours are public. */
	assert_int_equal(run_ddclient_hook("external_ip_changed", "100.128.0.1",
	    0), 0);
	assert_int_equal(run_ddclient_hook("external_ip_changed", "172.32.0.1",
	    0), 0);
	got = read_file("args");
	assert_string_equal(got, "-daemon=0 -use=ip -ip=100.128.0.1 "
	    "-file=/etc/ddclient.conf\n-daemon=0 -use=ip -ip=172.32.0.1 "
	    "-file=/etc/ddclient.conf\n");
	free(got);
	assert_int_equal(unlink(args), 0);

	/* This host's new IPv6 address goes to the AAAA record, as -ip. */
	assert_int_equal(run_ddclient_hook("ipv6_address_changed",
	    "2a0c:7700:88::10", 0), 0);
	got = read_file("args");
	assert_string_equal(got, "-daemon=0 -use=ip -ip=2a0c:7700:88::10 "
	    "-file=/etc/ddclient.conf\n");
	free(got);
	assert_int_equal(unlink(args), 0);
	/* Pinholes coming and going do not move the name either. */
	assert_int_equal(run_ddclient_hook("pinhole_added", "2a0c:7700:88::10",
	    0), 0);
	assert_int_equal(access(args, F_OK), -1);
	/* Nothing that is not an IPv6 address reaches ddclient. */
	assert_int_equal(run_ddclient_hook("ipv6_address_changed", ":", 0), 1);
	assert_int_equal(run_ddclient_hook("ipv6_address_changed", "1:2", 0),
	    1);
	assert_int_equal(run_ddclient_hook("ipv6_address_changed",
	    "2a0c::1::2", 0), 1);
	assert_int_equal(run_ddclient_hook("ipv6_address_changed",
	    "2a0c:77000::1", 0), 1);
	assert_int_equal(run_ddclient_hook("ipv6_address_changed",
	    "2a0c::-x", 0), 1);
	assert_int_equal(access(args, F_OK), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eventlog_type_str),
		cmocka_unit_test(test_eventlog),
		cmocka_unit_test_setup_teardown(test_hook_environment, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_hook_order, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_hook_timeout, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_hook_exit_status, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_hook_cannot_start, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_hook_overflow, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_hook_coalesce, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_hook_retry, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_hook_overrun_retried, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_hook_drain_timeout, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ddclient_hook, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
