/*
 * The web API's request-safety checks, as pure functions the HTTP handler
 * calls before a route runs: the Host allow-list (DNS rebinding), the
 * same-origin check for writes (CSRF) and the JSON content type.  The
 * failed-login limiter is ratelimit.h's.
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
