/*
 * portkeeperd telling systemd how it is doing (sd_notify(3), Type=notify):
 * ready once, then watchdog pings from the loop.  Outside systemd
 * (NOTIFY_SOCKET unset) both do nothing.
 */
#ifndef PK_PKD_NOTIFY_H
#define PK_PKD_NOTIFY_H

#include <stdint.h>

/* Says READY=1 and notes WatchdogSec= if the unit sets one. */
void	notify_ready(void);

/*
 * Sends WATCHDOG=1 when one is due at now (monotonic ms).  Returns when the
 * next one is due, INT64_MAX when there is no watchdog: the loop must not
 * sleep past it.
 */
int64_t	notify_watchdog(int64_t now);

#endif
