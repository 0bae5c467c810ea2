/*
 * READY=1 tells systemd that the configuration is loaded and the control
 * socket listens, so "systemctl start portkeeper" returns only when
 * "portkeeper status" can answer.  WATCHDOG=1 comes from the poll loop at
 * half of WatchdogSec=: every deadline and every router call has a bound,
 * so a loop that stops turning is a bug, and systemd restarts the daemon.
 */
#include <systemd/sd-daemon.h>

#include "pkd_notify.h"
#include "util.h"

static int64_t	wd_interval;	/* ms between pings; 0: no watchdog */
static int64_t	wd_next;	/* monotonic ms */

void
pkd_notify_ready(void)
{
	uint64_t usec;

	/* 0 without a watchdog, or when WATCHDOG_PID names another process. */
	if (sd_watchdog_enabled(0, &usec) > 0) {
		wd_interval = (int64_t)(usec / 2000);
		if (wd_interval < 1)
			wd_interval = 1;
		wd_next = mono_ms() + wd_interval;
	}
	sd_notify(0, "READY=1");
}

int64_t
pkd_notify_watchdog(int64_t now)
{
	if (wd_interval == 0)
		return INT64_MAX;
	if (now >= wd_next) {
		sd_notify(0, "WATCHDOG=1");
		wd_next = now + wd_interval;
	}
	return wd_next;
}
