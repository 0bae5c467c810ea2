/*
 * portkeeperd-web: the HTTP server of portkeeperd's control socket and web
 * UI, in a process of its own (front.c says why).  portkeeperd starts it
 * with the listening sockets as descriptors 3 (the control socket, -u) and
 * 4 ([web], -w), and its end of the channel as 5.  The options say which
 * are there, not the descriptors being open: a library's constructor may
 * have opened a file as 3 or 4 before main() runs.  It reads the
 * configuration file itself for [web]'s passwords, hosts and TLS.  It ends when the daemon closes the channel, on SIGTERM, or
 * once nothing has been going on for PORTKEEPERD_WEB_IDLE_MS (default
 * WEB_IDLE_MS): no connection, event stream, request in flight or login
 * failure still remembered.  The daemon starts it again on the next
 * connection.  It is not meant to be run by hand.
 */
#include <sys/signalfd.h>
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "http.h"
#include "log.h"
#include "util.h"

#define WEB_IDLE_MS	60000
#define WEB_FD_UNIX	3
#define WEB_FD_WEB	4
#define WEB_FD_CHAN	5

/* Whether fd is an open socket: the channel, when portkeeperd started us. */
static bool
web_is_socket(int fd)
{
	struct stat sb;

	return fstat(fd, &sb) == 0 && S_ISSOCK(sb.st_mode);
}

static int64_t
web_idle_ms(void)
{
	const char *s = getenv("PORTKEEPERD_WEB_IDLE_MS");
	unsigned long v;

	if (s != NULL && parse_uint(s, 0, 86400000UL, &v) == 0)
		return (int64_t)v;
	return WEB_IDLE_MS;
}

/* SIGHUP: the passwords and hosts of [web] as the file says now. */
static void
web_reload(struct http *h, const char *path)
{
	struct config ncfg;
	char err[512];

	config_init(&ncfg);
	if (config_load(path, &ncfg, err, sizeof(err)) == -1) {
		log_warnx("web: %s; keeping the previous passwords and hosts",
		    err);
		return;
	}
	http_reload(h, &ncfg.web);
	config_free(&ncfg);
}

int
main(int argc, char **argv)
{
	const char *path = CONFIG_DEFAULT_PATH;
	struct config cfg;
	struct http *h;
	struct signalfd_siginfo si;
	struct pollfd pfd[8];
	int fds[8], c, foreground = 0, verbose = 0, n, i, sigfd;
	int unix_fd = -1, web_listen_fd = -1;
	int64_t idle_ms = web_idle_ms(), now, next;
	sigset_t mask;
	char err[512];
	bool run = true;

	while ((c = getopt(argc, argv, "c:fuvw")) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'u':
			unix_fd = WEB_FD_UNIX;
			break;
		case 'w':
			web_listen_fd = WEB_FD_WEB;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'v':
			verbose++;
			break;
		default:
			fprintf(stderr, "usage: portkeeperd-web [-fuvw] [-c FILE] "
			    "(started by portkeeperd)\n");
			return 2;
		}
	}
	log_init("portkeeperd", verbose);
	if (!foreground)
		log_to_syslog();
	mallopt(M_ARENA_MAX, 1);
	if (!web_is_socket(WEB_FD_CHAN)) {
		log_warnx("web: portkeeperd-web is started by portkeeperd, "
		    "not by hand");
		return 2;
	}
	config_init(&cfg);
	if (config_load(path, &cfg, err, sizeof(err)) == -1) {
		log_warnx("web: %s", err);
		return 1;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) == -1) {
		log_warn("web: signalfd");
		return 1;
	}
	if ((h = http_start(&cfg, unix_fd, web_listen_fd, WEB_FD_CHAN)) ==
	    NULL) {
		log_warnx("web: cannot start portkeeperd-web");
		return 1;
	}
	while (run) {
		now = mono_ms();
		next = http_deadline(h, now);
		if (idle_ms > 0 && http_idle_since(h, now) + idle_ms < next)
			next = http_idle_since(h, now) + idle_ms;
		fds[0] = sigfd;
		n = 1 + http_fds(h, fds + 1, (int)nitems(fds) - 1);
		for (i = 0; i < n; i++) {
			pfd[i].fd = fds[i];
			pfd[i].events = POLLIN |
			    (http_pollout(h, fds[i]) ? POLLOUT : 0);
			pfd[i].revents = 0;
		}
		if (poll(pfd, (nfds_t)n, ms_until(next)) == -1 &&
		    errno != EINTR) {
			log_warn("web: poll");
			break;
		}
		while (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGHUP)
				web_reload(h, path);
			else
				run = false;
		}
		now = mono_ms();
		http_run(h, now);
		if (http_daemon_gone(h))
			run = false;
		if (idle_ms > 0 && now >= http_idle_since(h, now) + idle_ms) {
			log_debug("web: idle for %lld ms; ending",
			    (long long)idle_ms);
			run = false;
		}
	}
	http_stop(h);
	config_free(&cfg);
	return 0;
}
