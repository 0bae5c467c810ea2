/*
 * slowfsync: a disk under load, for tests/integration/test_slowdisk.sh.
 * Preloaded (LD_PRELOAD), it makes every fsync(2) and fdatasync(2) of the
 * process wait SLOWFSYNC_MS milliseconds (default 1500) before doing the
 * real one: an SD card busy with other writes took 1.03 s for one fsync.
 * With SLOWFSYNC_LOG set, it appends a line per call to that file ("fsync
 * FD MS PATH", MS the time the call took in all, PATH the file's name as
 * /proc/self/fd has it), so that a test can tell that the slow calls
 * happened, when, and to which file.
 *
 * Build: cc -shared -fPIC -o slowfsync.so slowfsync.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int	(*real_fsync)(int);
static int	(*real_fdatasync)(int);
static long	delay_ms = 1500;
static const char *log_path;

/* Resolved once, before any thread of the program can call them. */
__attribute__((constructor)) static void
slowfsync_init(void)
{
	const char *s;

	*(void **)&real_fsync = dlsym(RTLD_NEXT, "fsync");
	*(void **)&real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
	if ((s = getenv("SLOWFSYNC_MS")) != NULL)
		delay_ms = strtol(s, NULL, 10);
	log_path = getenv("SLOWFSYNC_LOG");
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
slow(const char *name, int (*real)(int), int fd)
{
	struct timespec ts;
	long start = now_ms();
	char line[PATH_MAX + 64], proc[32], path[PATH_MAX];
	ssize_t plen;
	int rc, saved, lfd, n;

	/* Before the real call: a directory's name, a file's before rename. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if ((plen = readlink(proc, path, sizeof(path) - 1)) < 0)
		plen = 0;
	path[plen] = '\0';

	ts.tv_sec = delay_ms / 1000;
	ts.tv_nsec = (delay_ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
	if (real == NULL) {
		errno = ENOSYS;
		return -1;
	}
	rc = real(fd);
	saved = errno;
	if (log_path != NULL && (lfd = open(log_path, O_WRONLY | O_APPEND |
	    O_CREAT | O_CLOEXEC, 0644)) != -1) {
		n = snprintf(line, sizeof(line), "%s %d %ld %s\n", name, fd,
		    now_ms() - start, path);
		/* The log is a help, not the test: a failed write is lost. */
		if (n > 0 && write(lfd, line, (size_t)n) != n)
			n = 0;
		close(lfd);
	}
	errno = saved;
	return rc;
}

int
fsync(int fd)
{
	return slow("fsync", real_fsync, fd);
}

int
fdatasync(int fd)
{
	return slow("fdatasync", real_fdatasync, fd);
}
