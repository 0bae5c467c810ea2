/*
 * What portkeeperd does before its loop: checks a configuration for -n,
 * leaves the terminal, makes its directories and blocks the signals the
 * loop reads from a signalfd.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "htpasswd.h"
#include "log.h"
#include "startup.h"

int
startup_check_config(const char *path, int verbose)
{
	struct config cfg;
	struct htpasswd *pw;
	char err[512];

	config_init(&cfg);
	if (config_load(path, &cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		config_free(&cfg);
		return 1;
	}
	/*
	 * What the start would refuse, -n refuses too: under systemd a start
	 * that exits 1 is a restart loop, not a message.
	 */
	if (cfg.web.enabled && cfg.web.htpasswd[0] != '\0') {
		if ((pw = htpasswd_load(cfg.web.htpasswd, err,
		    sizeof(err))) == NULL) {
			fprintf(stderr, "%s: [web] htpasswd: %s\n", path, err);
			config_free(&cfg);
			return 1;
		}
		htpasswd_free(pw);
	}
	if (verbose)
		config_print(&cfg, stdout);
	fprintf(stderr, "configuration OK\n");
	config_free(&cfg);
	return 0;
}

void
startup_daemonize(void)
{
	int fd;

	switch (fork()) {
	case -1:
		fatalx("fork: %s", strerror(errno));
	case 0:
		break;
	default:
		_exit(0);
	}
	if (setsid() == -1)
		fatalx("setsid: %s", strerror(errno));
	if (chdir("/") == -1)
		fatalx("chdir /: %s", strerror(errno));
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > 2)
			close(fd);
	}
}

int
startup_ensure_dir(const char *path, mode_t mode)
{
	struct stat sb;

	if (stat(path, &sb) == 0)
		return S_ISDIR(sb.st_mode) ? 0 : -1;
	return mkdir(path, mode);
}

/* The signals the loop reads from its signalfd. */
void
startup_signal_mask(sigset_t *mask)
{
	sigemptyset(mask);
	sigaddset(mask, SIGHUP);
	sigaddset(mask, SIGTERM);
	sigaddset(mask, SIGINT);
	sigaddset(mask, SIGUSR1);
	sigaddset(mask, SIGCHLD);
}
