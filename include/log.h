/*
 * Logging for the portkeeper programs, in the style of OpenBSD's log.c:
 * log_warn() appends strerror(errno), log_warnx() does not.  The command line
 * tool writes to stderr; the daemon may switch to syslog later.
 */
#ifndef PK_LOG_H
#define PK_LOG_H

#include <stdbool.h>

void	log_init(const char *progname, int verbosity);
/* From now on write to syslog (daemon facility) instead of stderr. */
void	log_to_syslog(void);
/* Whether log_to_syslog was called. */
bool	log_is_syslog(void);
int	log_verbosity(void);
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * For start-up failures and broken invariants only.  Named as in OpenBSD's
 * log.c rather than log_fatalx (see util.h).
 */
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
