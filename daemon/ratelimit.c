/*
 * The failed-login limiter of the web API's Basic authentication: a fixed
 * table of records per client address, each a short history of failures.
 * Addresses come from the network, so each is reduced to a fixed-size key
 * before it is compared.
 */
#include <netinet/in.h>

#include <stdbool.h>
#include <string.h>

#include "ratelimit.h"

/* Record kinds: free, IPv4, IPv6 /64, any other family (one shared). */
#define RATELIMIT_KIND_FREE	0
#define RATELIMIT_KIND_V4	4
#define RATELIMIT_KIND_V6	6
#define RATELIMIT_KIND_OTHER	0xff

/* The record key: the IPv4 address, or the /64 of an IPv6 one. */
static uint8_t
ratelimit_key(const struct sockaddr *sa, uint8_t key[8])
{
	const struct sockaddr_in6 *s6;

	memset(key, 0, 8);
	if (sa != NULL && sa->sa_family == AF_INET) {
		memcpy(key, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return RATELIMIT_KIND_V4;
	}
	if (sa == NULL || sa->sa_family != AF_INET6)
		return RATELIMIT_KIND_OTHER;
	s6 = (const struct sockaddr_in6 *)sa;
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		memcpy(key, &s6->sin6_addr.s6_addr[12], 4);
		return RATELIMIT_KIND_V4;
	}
	memcpy(key, s6->sin6_addr.s6_addr, 8);
	return RATELIMIT_KIND_V6;
}

/*
 * When a record stops mattering: its block has ended and its newest
 * failure has left the window.  The record that stopped mattering first
 * is the stalest, and the one a new address takes.
 */
static int64_t
ratelimit_expiry(const struct ratelimit_rec *r)
{
	int64_t t;

	if (r->kind == RATELIMIT_KIND_FREE)
		return INT64_MIN;
	t = r->nfails > 0 ? r->fails[r->nfails - 1] + RATELIMIT_WINDOW_MS :
	    INT64_MIN;
	/* A guesser is remembered as one for ratelimit_clean. */
	if (r->last_fail != 0 && r->last_fail + RATELIMIT_GUESSER_MS > t)
		t = r->last_fail + RATELIMIT_GUESSER_MS;
	return r->until > t ? r->until : t;
}

static struct ratelimit_rec *
ratelimit_find(struct ratelimit *rl, const struct sockaddr *sa, bool create)
{
	struct ratelimit_rec *r, *stalest = &rl->rec[0];
	uint8_t key[8], kind;
	size_t i;

	kind = ratelimit_key(sa, key);
	for (i = 0; i < RATELIMIT_SLOTS; i++) {
		r = &rl->rec[i];
		if (r->kind == kind && memcmp(r->key, key, sizeof(key)) == 0)
			return r;
		if (ratelimit_expiry(r) < ratelimit_expiry(stalest))
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
ratelimit_expire(struct ratelimit_rec *r, int64_t now)
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
	struct ratelimit_rec *r = ratelimit_find(rl, addr, false);

	if (r == NULL || now >= r->until)
		return 0;
	/* Whole seconds, rounded up, so that a retry then is not early. */
	return (unsigned)((r->until - now + 999) / 1000);
}

void
ratelimit_fail(struct ratelimit *rl, const struct sockaddr *addr,
    int64_t now)
{
	struct ratelimit_rec *r = ratelimit_find(rl, addr, true);

	r->last_fail = now;
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
	ratelimit_expire(r, now);
	/* Not blocked, so fewer than RATELIMIT_BURST are counted. */
	r->fails[r->nfails++] = now;
	if (r->nfails == RATELIMIT_BURST)
		r->until = r->fails[0] + RATELIMIT_WINDOW_MS;
}

bool
ratelimit_clean(struct ratelimit *rl, const struct sockaddr *addr,
    int64_t now)
{
	struct ratelimit_rec *r = ratelimit_find(rl, addr, false);

	if (r == NULL)
		return true;
	return now >= r->until && (r->last_fail == 0 ||
	    now - r->last_fail >= RATELIMIT_GUESSER_MS);
}

bool
ratelimit_same_client(const struct sockaddr *a, const struct sockaddr *b)
{
	uint8_t ka[8], kb[8];

	return ratelimit_key(a, ka) == ratelimit_key(b, kb) &&
	    memcmp(ka, kb, sizeof(ka)) == 0;
}

int64_t
ratelimit_expires(const struct ratelimit *rl)
{
	int64_t t = INT64_MIN, e;
	size_t i;

	for (i = 0; i < RATELIMIT_SLOTS; i++)
		if ((e = ratelimit_expiry(&rl->rec[i])) > t)
			t = e;
	return t;
}
