/*
 * The web API's request-safety checks, as pure functions the HTTP handler
 * calls before a route runs: the Host allow-list (DNS rebinding), the
 * same-origin check for writes (CSRF), the JSON content type, and the
 * failed-login limiter (password guessing).
 */
#ifndef PK_WEBSEC_H
#define PK_WEBSEC_H

#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Host header allow-list, against DNS rebinding: a page on evil.example
 * whose name later resolves to 192.168.1.10 sends "Host: evil.example".
 * Allowed are any IP literal (an IPv4 dotted quad, or IPv6 in brackets,
 * with or without a port), "localhost", and the names in allowed
 * (case-insensitive exact match; a port and one trailing dot are ignored).
 * A rebinding attack cannot make the browser send an address literal it
 * did not navigate to.  IPv6 zone ids ("[fe80::1%eth0]") are refused:
 * browsers do not send them.  NULL, empty, over-long or malformed Host
 * (a port that is not 1 to 65535) is not allowed.
 */
bool	websec_host_allowed(const char *host, const char *const *allowed,
	    size_t nallowed);

/*
 * CSRF check for state-changing requests (POST, DELETE, PUT, PATCH), once
 * the Host check has passed.  Allowed when Sec-Fetch-Site is "same-origin"
 * or "none" (typed by the user), or when it is absent (NULL) and Origin is
 * absent too (not a browser: curl, scripts) or Origin's host[:port] equals
 * host (scheme http or https).  Refused: Origin "null", Sec-Fetch-Site
 * "cross-site" or "same-site" (another host of the same site is another
 * device), and any value that is not one of these.
 */
bool	websec_same_origin(const char *origin, const char *sec_fetch_site,
	    const char *host);

/* Content-Type is application/json, any parameters, case-insensitive. */
bool	websec_is_json(const char *content_type);

/*
 * Failed-login limiter, per client address (IPv4, IPv4-mapped IPv6 as
 * IPv4, IPv6 by /64: one home host has many addresses).  A fixed table,
 * the stalest record reused when it is full.  After RATELIMIT_BURST
 * failures within RATELIMIT_WINDOW_MS from one address, it is blocked
 * until the window of its oldest counted failure ends; every failure
 * reported while blocked extends the block by a step that doubles from
 * the window, to at most RATELIMIT_MAX_MS from that failure.  A NULL
 * addr, or one of another family, shares one record with all such.  Not
 * thread-safe: the caller serializes.
 */
#define RATELIMIT_SLOTS		256
#define RATELIMIT_BURST		10
#define RATELIMIT_WINDOW_MS	60000
#define RATELIMIT_MAX_MS	(15 * 60000)

struct ratelimit_rec {
	uint8_t		 kind;		/* 0: a free slot, else 4, 6 or other */
	uint8_t		 key[8];	/* the IPv4 address or the IPv6 /64 */
	uint8_t		 nfails;	/* counted in fails[] */
	int64_t		 fails[RATELIMIT_BURST];	/* oldest first */
	int64_t		 until;		/* blocked while now < until */
	int64_t		 step;		/* the last extension, 0 if none */
};

struct ratelimit {
	struct ratelimit_rec	rec[RATELIMIT_SLOTS];
};

void	ratelimit_init(struct ratelimit *);
/*
 * Returns 0 when addr may try to log in at now (monotonic ms), else the
 * seconds to wait (at least 1, for Retry-After).
 */
unsigned ratelimit_check(struct ratelimit *, const struct sockaddr *addr,
	    int64_t now);
/* Counts a failed login, or a try refused while blocked. */
void	ratelimit_fail(struct ratelimit *, const struct sockaddr *addr,
	    int64_t now);
/* A successful login clears addr's record. */
void	ratelimit_success(struct ratelimit *, const struct sockaddr *addr,
	    int64_t now);

/*
 * Splits a config value "a.example, b.example pi.local" (commas and/or
 * spaces) into at most max names, copied NUL-terminated into buf, with
 * pointers in out.  A name is a host name (labels of letters, digits and
 * hyphens, one trailing dot allowed) or an IP literal (IPv6 with or
 * without brackets), at most 253 characters: no scheme, port, path or
 * wildcard.  Returns the count, or -1 with a message in err that quotes
 * the bad name.
 */
int	websec_parse_hosts(const char *value, char *buf, size_t buflen,
	    const char **out, size_t max, char *err, size_t errlen);

#endif
