/*
 * The web API's request-safety checks.  Every string here comes from a
 * browser, a script or a config file, so each is measured with a bound
 * first and copied only into buffers whose size was checked.
 */
#include <netinet/in.h>
#include <arpa/inet.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util.h"
#include "websec.h"

/* 253 for the name, brackets for IPv6, ":65535". */
#define HOST_MAX	(253 + 2 + 6)
#define NAME_MAX_LEN	253
#define LABEL_MAX	63
#define QUOTE_MAX	60	/* characters of a bad name quoted */

/*
 * Splits an authority of n bytes, "name[:port]" or "[v6][:port]", into
 * the name (without brackets) and checks the port: digits, 1 to 65535.
 * An unbracketed name with a colon is refused, as RFC 3986 section 3.2.2
 * requires brackets around IPv6.  Returns 0 or -1.
 */
static int
websec_authority_split(const char *s, size_t n, const char **name,
    size_t *namelen, bool *bracketed)
{
	const char *end = s + n, *p;
	char num[8];
	unsigned long port;

	*bracketed = n > 0 && s[0] == '[';
	if (*bracketed) {
		if ((p = memchr(s, ']', n)) == NULL)
			return -1;
		*name = s + 1;
		*namelen = (size_t)(p - s - 1);
		p++;
	} else {
		p = memchr(s, ':', n);
		if (p == NULL)
			p = end;
		*name = s;
		*namelen = (size_t)(p - s);
	}
	if (*namelen == 0)
		return -1;
	if (p == end)
		return 0;
	/* What follows the name is ":PORT" and nothing else. */
	if (*p != ':' || (size_t)(end - p - 1) >= sizeof(num))
		return -1;
	memcpy(num, p + 1, (size_t)(end - p - 1));
	num[end - p - 1] = '\0';
	return parse_uint(num, 1, 65535, &port);
}

/* True when the n bytes at s are an address inet_pton takes for af. */
static bool
websec_ip_literal(int af, const char *s, size_t n)
{
	char a[INET6_ADDRSTRLEN];
	unsigned char bin[sizeof(struct in6_addr)];

	if (n >= sizeof(a))
		return false;
	memcpy(a, s, n);
	a[n] = '\0';
	return inet_pton(af, a, bin) == 1;
}

/* Case-insensitive equality of two names, each with one trailing dot off. */
static bool
websec_name_equal(const char *a, size_t alen, const char *b)
{
	size_t blen = strnlen(b, NAME_MAX_LEN + 2);

	if (alen > 1 && a[alen - 1] == '.')
		alen--;
	if (blen > 1 && b[blen - 1] == '.')
		blen--;
	return alen == blen && strncasecmp(a, b, alen) == 0;
}

bool
websec_host_allowed(const char *host, const char *const *allowed,
    size_t nallowed)
{
	const char *name;
	size_t n, namelen, i;
	bool bracketed;

	if (host == NULL)
		return false;
	n = strnlen(host, HOST_MAX + 1);
	if (n == 0 || n > HOST_MAX ||
	    websec_authority_split(host, n, &name, &namelen, &bracketed) == -1)
		return false;
	/* inet_pton refuses "%zone", which is how zone ids are refused. */
	if (bracketed)
		return websec_ip_literal(AF_INET6, name, namelen);
	if (websec_ip_literal(AF_INET, name, namelen))
		return true;
	if (websec_name_equal(name, namelen, "localhost"))
		return true;
	for (i = 0; i < nallowed; i++) {
		if (allowed[i] != NULL &&
		    websec_name_equal(name, namelen, allowed[i]))
			return true;
	}
	return false;
}

bool
websec_same_origin(const char *origin, const char *sec_fetch_site,
    const char *host)
{
	const char *auth;

	/*
	 * Sec-Fetch-Site is set by the browser and cannot be forged by a
	 * page, and it still holds behind a reverse proxy that rewrites
	 * Host, where Origin would not match; so when present it decides.
	 */
	if (sec_fetch_site != NULL)
		return strcmp(sec_fetch_site, "same-origin") == 0 ||
		    strcmp(sec_fetch_site, "none") == 0;
	/*
	 * Current browsers send Origin on every write, so its absence is a
	 * script.  An old browser might omit it on a cross-site form, but a
	 * form cannot send application/json: websec_is_json stops that one.
	 */
	if (origin == NULL)
		return true;
	if (host == NULL || *host == '\0')
		return false;
	if (strncasecmp(origin, "http://", 7) == 0)
		auth = origin + 7;
	else if (strncasecmp(origin, "https://", 8) == 0)
		auth = origin + 8;
	else
		return false;	/* "null", and anything else */
	/*
	 * A serialized origin has no user, path, query or fragment; with
	 * any of them it is not what a browser sends.
	 */
	if (auth[strcspn(auth, "@/?#")] != '\0')
		return false;
	return strcasecmp(auth, host) == 0;
}

bool
websec_is_json(const char *content_type)
{
	const char *p = content_type;

	if (p == NULL)
		return false;
	p += strspn(p, " \t");
	if (strncasecmp(p, "application/json", 16) != 0)
		return false;
	p += 16;
	p += strspn(p, " \t");
	return *p == '\0' || *p == ';';
}

/* ------------------------------------------------------------------ */
/* allowed_hosts */

/*
 * Why the n bytes at s are not a host name or IP literal, or NULL when
 * they are one.
 */
static const char *
websec_host_invalid(const char *s, size_t n)
{
	const char *c;
	size_t i, label = 0;
	bool bracketed, numeric = true;

	if (n > NAME_MAX_LEN)
		return "is longer than 253 characters";
	if (memmem(s, n, "://", 3) != NULL)
		return "has a scheme: give the host name alone";
	if (memchr(s, '/', n) != NULL)
		return "has a path: give the host name alone";
	if (memchr(s, '*', n) != NULL)
		return "is a wildcard: give each name in full";
	if ((bracketed = n >= 2 && s[0] == '[' && s[n - 1] == ']')) {
		s++;
		n -= 2;
	}
	if (bracketed || (c = memchr(s, ':', n)) != NULL) {
		if (websec_ip_literal(AF_INET6, s, n))
			return NULL;
		if (!bracketed && memchr(c + 1, ':', n - (size_t)(c - s) - 1)
		    == NULL)
			return "has a port: give the host name alone (any port "
			    "is allowed)";
		return "is not an IPv6 address";
	}
	if (n > 1 && s[n - 1] == '.')
		n--;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return "has an empty label or one that ends "
				    "with '-'";
			label = 0;
			numeric = true;
			continue;
		}
		if (!(s[i] >= 'a' && s[i] <= 'z') &&
		    !(s[i] >= 'A' && s[i] <= 'Z') &&
		    !(s[i] >= '0' && s[i] <= '9') && s[i] != '-')
			return "has a character other than letters, digits, "
			    "'-' and '.'";
		if (label == 0 && s[i] == '-')
			return "has a label that starts with '-'";
		if (++label > LABEL_MAX)
			return "has a label longer than 63 characters";
		if (s[i] < '0' || s[i] > '9')
			numeric = false;
	}
	if (label == 0 || s[n - 1] == '-')
		return "has an empty label or one that ends with '-'";
	/*
	 * Browsers read a name whose last label is a number as an IPv4
	 * address, so one must be a valid dotted quad.
	 */
	if (numeric && !websec_ip_literal(AF_INET, s, n))
		return "is not a valid IPv4 address";
	return NULL;
}

/* The start of the n bytes at s for a message: printable, cut short. */
static void
websec_quote(char q[QUOTE_MAX + 4], const char *s, size_t n)
{
	size_t k = n < QUOTE_MAX ? n : QUOTE_MAX;

	memcpy(q, s, k);
	q[k] = '\0';
	str_printable(q, k + 1, q);
	if (k < n)
		memcpy(q + k, "...", 4);
}

int
websec_parse_hosts(const char *value, char *buf, size_t buflen,
    const char **out, size_t max, char *err, size_t errlen)
{
	static const char sep[] = ", \t";
	const char *p = value, *why;
	char q[QUOTE_MAX + 4];
	size_t n, used = 0;
	int count = 0;

	if (errlen > 0)
		err[0] = '\0';
	if (p == NULL)
		return 0;
	for (;;) {
		p += strspn(p, sep);
		if (*p == '\0')
			break;
		n = strcspn(p, sep);
		websec_quote(q, p, n);
		if ((why = websec_host_invalid(p, n)) != NULL) {
			snprintf(err, errlen, "\"%s\" %s", q, why);
			return -1;
		}
		if ((size_t)count >= max || count == INT_MAX) {
			snprintf(err, errlen, "more than %zu host names, at "
			    "\"%s\"", max, q);
			return -1;
		}
		if (buflen - used < n + 1) {
			snprintf(err, errlen, "the host names are longer than "
			    "%zu characters in all, at \"%s\"", buflen, q);
			return -1;
		}
		memcpy(buf + used, p, n);
		buf[used + n] = '\0';
		out[count++] = buf + used;
		used += n + 1;
		p += n;
	}
	return count;
}
