/*
 * READY=1 tells systemd that the configuration is loaded and the control
 * socket listens, so "systemctl start portkeeper" returns only when
 * "portkeeper status" can answer.  WATCHDOG=1 comes from the poll loop at
 * half of WatchdogSec=: every deadline and every router call has a bound,
 * so a loop that stops turning is a bug, and systemd restarts the daemon.
 *
 * The protocol (sd_notify(3)) is one datagram to the socket named by
 * $NOTIFY_SOCKET, and is written here rather than taken from libsystemd:
 * linking libsystemd for two messages cost the daemon about 1 MB of
 * resident memory, a quarter of its budget on a Raspberry Pi.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"
#include "util.h"

static int64_t	wd_interval;	/* ms between pings; 0: no watchdog */
static int64_t	wd_next;	/* monotonic ms */

/* Sends one state line to systemd; nothing when not started by it. */
static void
notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t len;
	size_t n;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return;
	n = strlen(path);
	if (n >= sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, n);
	/* "@name" is a socket in the abstract namespace: a leading NUL. */
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len) == -1)
		log_debug("sd_notify %s: %s", state, strerror(errno));
	close(fd);
}

void
notify_ready(void)
{
	const char *usec = getenv("WATCHDOG_USEC"), *pid;
	unsigned long us, p;

	/* As sd_watchdog_enabled(3): WATCHDOG_PID, if set, must be us. */
	pid = getenv("WATCHDOG_PID");
	if (usec != NULL && parse_uint(usec, 1, ULONG_MAX, &us) == 0 &&
	    (pid == NULL || (parse_uint(pid, 1, ULONG_MAX, &p) == 0 &&
	    p == (unsigned long)getpid()))) {
		wd_interval = (int64_t)(us / 2000);
		if (wd_interval < 1)
			wd_interval = 1;
		wd_next = mono_ms() + wd_interval;
	}
	notify("READY=1");
}

int64_t
notify_watchdog(int64_t now)
{
	if (wd_interval == 0)
		return INT64_MAX;
	if (now >= wd_next) {
		notify("WATCHDOG=1");
		wd_next = now + wd_interval;
	}
	return wd_next;
}
