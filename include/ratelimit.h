/*
 * The web API's failed-login limiter, against password guessing.
 */
#ifndef PK_RATELIMIT_H
#define PK_RATELIMIT_H

#include <sys/socket.h>
#include <stdbool.h>
#include <stdint.h>

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
/* How long an address that failed stays a guesser for ratelimit_clean. */
#define RATELIMIT_GUESSER_MS	(10 * 60000)

struct ratelimit_rec {
	uint8_t		 kind;		/* 0: a free slot, else 4, 6 or other */
	uint8_t		 key[8];	/* the IPv4 address or the IPv6 /64 */
	uint8_t		 nfails;	/* counted in fails[] */
	int64_t		 fails[RATELIMIT_BURST];	/* oldest first */
	int64_t		 until;		/* blocked while now < until */
	int64_t		 last_fail;	/* the newest failure, or 0 */
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
/*
 * Whether addr has had no failed login within RATELIMIT_GUESSER_MS of now:
 * an address that has not been guessing.  Longer than the window, so that
 * a guesser among many, whose turn comes seldom, stays one.  A successful login clears
 * nothing: else nine guesses and the right password, over and over, guess
 * without limit once the file has more than one user.
 */
bool	ratelimit_clean(struct ratelimit *, const struct sockaddr *addr,
	    int64_t now);
/* Whether a and b count as one client: the same IPv4 address or /64. */
/*
 * When the last record stops mattering (INT64_MIN with none): until then
 * the web process stays, or a guesser who waits would find it forgotten.
 */
int64_t	ratelimit_expires(const struct ratelimit *);
bool	ratelimit_same_client(const struct sockaddr *a,
	    const struct sockaddr *b);

#endif
