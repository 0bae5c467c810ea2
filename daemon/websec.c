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

/* Record kinds: free, IPv4, IPv6 /64, any other family (one shared). */
#define KIND_FREE	0
#define KIND_V4		4
#define KIND_V6		6
#define KIND_OTHER	0xff

/*
 * Splits an authority of n bytes, "name[:port]" or "[v6][:port]", into
 * the name (without brackets) and checks the port: digits, 1 to 65535.
 * An unbracketed name with a colon is refused, as RFC 3986 section 3.2.2
 * requires brackets around IPv6.  Returns 0 or -1.
 */
static int
authority_split(const char *s, size_t n, const char **name, size_t *namelen,
    bool *bracketed)
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
ip_literal(int af, const char *s, size_t n)
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
name_equal(const char *a, size_t alen, const char *b)
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
	    authority_split(host, n, &name, &namelen, &bracketed) == -1)
		return false;
	/* inet_pton refuses "%zone", which is how zone ids are refused. */
	if (bracketed)
		return ip_literal(AF_INET6, name, namelen);
	if (ip_literal(AF_INET, name, namelen))
		return true;
	if (name_equal(name, namelen, "localhost"))
		return true;
	for (i = 0; i < nallowed; i++) {
		if (allowed[i] != NULL && name_equal(name, namelen, allowed[i]))
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
/* The failed-login limiter */

/* The record key: the IPv4 address, or the /64 of an IPv6 one. */
static uint8_t
rl_key(const struct sockaddr *sa, uint8_t key[8])
{
	const struct sockaddr_in6 *s6;

	memset(key, 0, 8);
	if (sa != NULL && sa->sa_family == AF_INET) {
		memcpy(key, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return KIND_V4;
	}
	if (sa == NULL || sa->sa_family != AF_INET6)
		return KIND_OTHER;
	s6 = (const struct sockaddr_in6 *)sa;
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		memcpy(key, &s6->sin6_addr.s6_addr[12], 4);
		return KIND_V4;
	}
	memcpy(key, s6->sin6_addr.s6_addr, 8);
	return KIND_V6;
}

/*
 * When a record stops mattering: its block has ended and its newest
 * failure has left the window.  The record that stopped mattering first
 * is the stalest, and the one a new address takes.
 */
static int64_t
rl_expiry(const struct ratelimit_rec *r)
{
	int64_t t;

	if (r->kind == KIND_FREE)
		return INT64_MIN;
	t = r->nfails > 0 ? r->fails[r->nfails - 1] + RATELIMIT_WINDOW_MS :
	    INT64_MIN;
	return r->until > t ? r->until : t;
}

static struct ratelimit_rec *
rl_find(struct ratelimit *rl, const struct sockaddr *sa, bool create)
{
	struct ratelimit_rec *r, *stalest = &rl->rec[0];
	uint8_t key[8], kind;
	size_t i;

	kind = rl_key(sa, key);
	for (i = 0; i < RATELIMIT_SLOTS; i++) {
		r = &rl->rec[i];
		if (r->kind == kind && memcmp(r->key, key, sizeof(key)) == 0)
			return r;
		if (rl_expiry(r) < rl_expiry(stalest))
			stalest = r;
	}
	if (!create)
		return NULL;
	memset(stalest, 0, sizeof(*stalest));
	stalest->kind = kind;
	memcpy(stalest->key, key, sizeof(key));
	return stalest;
}

/* Forgets the failures that have left the window at now. */
static void
rl_expire(struct ratelimit_rec *r, int64_t now)
{
	uint8_t i = 0;

	while (i < r->nfails && r->fails[i] <= now - RATELIMIT_WINDOW_MS)
		i++;
	memmove(r->fails, r->fails + i, (r->nfails - i) * sizeof(r->fails[0]));
	r->nfails -= i;
}

void
ratelimit_init(struct ratelimit *rl)
{
	memset(rl, 0, sizeof(*rl));
}

unsigned
ratelimit_check(struct ratelimit *rl, const struct sockaddr *addr,
    int64_t now)
{
	struct ratelimit_rec *r = rl_find(rl, addr, false);

	if (r == NULL || now >= r->until)
		return 0;
	/* Whole seconds, rounded up, so that a retry then is not early. */
	return (unsigned)((r->until - now + 999) / 1000);
}

void
ratelimit_fail(struct ratelimit *rl, const struct sockaddr *addr,
    int64_t now)
{
	struct ratelimit_rec *r = rl_find(rl, addr, true);

	if (now < r->until) {
		/*
		 * Trying on while told to wait is a guesser, not a person
		 * who mistyped: each try doubles the wait.
		 */
		r->step = r->step == 0 ? RATELIMIT_WINDOW_MS : r->step * 2;
		if (r->step > RATELIMIT_MAX_MS)
			r->step = RATELIMIT_MAX_MS;
		if (now + r->step > r->until)
			r->until = now + r->step;
		return;
	}
	r->step = 0;
	rl_expire(r, now);
	/* Not blocked, so fewer than RATELIMIT_BURST are counted. */
	r->fails[r->nfails++] = now;
	if (r->nfails == RATELIMIT_BURST)
		r->until = r->fails[0] + RATELIMIT_WINDOW_MS;
}

void
ratelimit_success(struct ratelimit *rl, const struct sockaddr *addr,
    int64_t now)
{
	struct ratelimit_rec *r = rl_find(rl, addr, false);

	(void)now;
	if (r != NULL)
		memset(r, 0, sizeof(*r));
}

/* ------------------------------------------------------------------ */
/* allowed_hosts */

/*
 * Why the n bytes at s are not a host name or IP literal, or NULL when
 * they are one.
 */
static const char *
host_invalid(const char *s, size_t n)
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
		if (ip_literal(AF_INET6, s, n))
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
	if (numeric && !ip_literal(AF_INET, s, n))
		return "is not a valid IPv4 address";
	return NULL;
}

/* The start of the n bytes at s for a message: printable, cut short. */
static void
quote(char q[QUOTE_MAX + 4], const char *s, size_t n)
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
		quote(q, p, n);
		if ((why = host_invalid(p, n)) != NULL) {
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
