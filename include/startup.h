/* portkeeperd's start (startup.c). */
#ifndef PK_STARTUP_H
#define PK_STARTUP_H

#include <signal.h>
#include <sys/types.h>

/*
 * portkeeperd -n: loads path and refuses what the start would refuse,
 * printing the normalized configuration when verbose.  The exit status.
 */
int	startup_check_config(const char *path, int verbose);
/* Forks, leaves the session and points stdio at /dev/null. */
void	startup_daemonize(void);
/* path is a directory, made with mode when missing: 0, or -1. */
int	startup_ensure_dir(const char *path, mode_t mode);
/* The signals the loop reads from its signalfd. */
void	startup_signal_mask(sigset_t *mask);

#endif
