/*
 * htpasswd files, the ones Apache's htpasswd writes and nginx's
 * auth_basic_user_file reads: loading them, checking a user's password and
 * parsing an HTTP Basic Authorization header (RFC 7617).
 *
 * Accepted hashes: bcrypt ($2y$, $2b$, $2a$; htpasswd -B), SHA-crypt ($5$,
 * $6$; htpasswd -2 and -5), yescrypt ($y$), and MD5-crypt ($apr1$, the
 * default of htpasswd, and $1$) with a warning that it is weak.  Unsalted
 * {SHA}, DES crypt and plaintext passwords are refused at load.
 *
 * A struct htpasswd may be shared by threads: its cache is guarded by a
 * lock that is never held while a hash runs, and it is reference-counted,
 * so that a thread checking a password keeps the file it started with
 * while the daemon loads a new one.
 */
#ifndef PK_HTPASSWD_H
#define PK_HTPASSWD_H

#include <stddef.h>

/* The longest user name and password, in bytes, that can match. */
#define HTPASSWD_USER_MAX	255
#define HTPASSWD_PASS_MAX	511
/* Enough for any hash htpasswd_hash makes. */
#define HTPASSWD_HASH_MAX	128

struct htpasswd;

/*
 * Errors are "PATH:LINE: message" in a caller's buffer, not a struct
 * pm_error: like the configuration, a password file is either good or
 * refused whole, and only the person fixing it needs to know why.
 */

/*
 * Loads path.  Returns NULL on error with "PATH:LINE: message" (or
 * "PATH: message") in err.  Warnings, such as an $apr1$ entry being weak,
 * go through log_warnx(), prefixed "PATH:LINE:".
 */
struct htpasswd	*htpasswd_load(const char *path, char *err, size_t errlen);

/*
 * Returns 1 when user and password match an entry, 0 otherwise, an unknown
 * user included.  An unknown user is checked against the costliest hash
 * of the file, and every failure lasts at least as long as the slowest
 * check seen, so that timing tells neither which users exist nor which
 * hash they have, however the file mixes them.  A pair that matched is
 * remembered (as a keyed hash) in a small cache, so that the next check of
 * it costs microseconds instead of a bcrypt run; a failure costs the full
 * hash every time.
 */
int		 htpasswd_check(struct htpasswd *, const char *user,
		    const char *password);

/*
 * The cache alone: returns 1 when user and password matched before and are
 * still remembered, 0 otherwise (an unknown user included), never running
 * the hash.  It costs microseconds whatever the answer, so it may run where
 * nothing may block; a 0 is no verdict, only that htpasswd_check is needed.
 */
int		 htpasswd_cached(struct htpasswd *, const char *user,
		    const char *password);

/* The number of users. */
size_t		 htpasswd_count(const struct htpasswd *);

/*
 * Takes another reference to h and returns h.  htpasswd_free drops one;
 * the last frees h.
 */
struct htpasswd	*htpasswd_ref(struct htpasswd *);

void		 htpasswd_free(struct htpasswd *);

/*
 * Parses an Authorization header value, "Basic BASE64(user:password)",
 * into user and pass, both NUL-terminated (and both empty on error).  The
 * scheme is case-insensitive; the password may be empty.  Returns 0, or -1
 * when the value is malformed (another scheme, bad base64, no colon, a NUL
 * byte, a control character in the user) or user or password does not
 * fit.
 */
int		 htpasswd_parse_basic(const char *header, char *user,
		    size_t userlen, char *pass, size_t passlen);

/*
 * Makes a bcrypt hash ("$2y$") of password with cost (10 when cost is 0
 * or less; at most 17) into out, which should hold HTPASSWD_HASH_MAX
 * bytes.  Returns 0, or -1 with a message in err.
 */
int		 htpasswd_hash(const char *password, int cost, char *out,
		    size_t outlen, char *err, size_t errlen);

#endif
