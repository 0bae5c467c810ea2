/*
 * Checking a password against a loaded htpasswd file (htpasswd.h), and the
 * cache of pairs that matched.  Apart from htpasswd.c, which loads files and
 * makes hashes, so that only a program that checks passwords (portkeeperd)
 * links nettle: its MD5 for Apache's $apr1$ (MD5-crypt with another magic
 * string, which libxcrypt cannot verify), its HMAC-SHA256 for the cache's
 * tags and its constant-time comparison.
 */
#include <crypt.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nettle/hmac.h>
#include <nettle/md5.h>
#include <nettle/memops.h>
#include <nettle/sha2.h>

#include "htpasswd.h"
#include "htpasswd_impl.h"

static int
ent_find(const void *key, const void *elem)
{
	const struct hp_entry *e = elem;

	return strcmp(key, e->user);
}

static char *
to64(char *p, uint32_t v, int n)
{
	while (n-- > 0) {
		*p++ = htpasswd_itoa64[v & 0x3f];
		v >>= 6;
	}
	return p;
}

/*
 * MD5-crypt, Poul-Henning Kamp's algorithm as FreeBSD and Apache's APR
 * implement it: magic ("$1$" or "$apr1$") and salt from setting, 1000
 * rounds of MD5.  Writes "MAGIC SALT $ HASH" into out.
 */
static const char *
md5crypt(const char *pw, const char *setting, char out[MD5CRYPT_OUT_MAX])
{
	struct md5_ctx ctx, alt;
	uint8_t fin[MD5_DIGEST_SIZE];
	const char *magic = setting[1] == 'a' ? "$apr1$" : "$1$", *salt;
	size_t mlen = strlen(magic), plen = strlen(pw), slen, i;
	char *p;

	salt = setting + mlen;
	slen = strcspn(salt, "$");
	if (slen > MD5CRYPT_SALT_MAX)
		slen = MD5CRYPT_SALT_MAX;

	md5_init(&ctx);
	md5_update(&ctx, plen, (const uint8_t *)pw);
	md5_update(&ctx, mlen, (const uint8_t *)magic);
	md5_update(&ctx, slen, (const uint8_t *)salt);

	md5_init(&alt);
	md5_update(&alt, plen, (const uint8_t *)pw);
	md5_update(&alt, slen, (const uint8_t *)salt);
	md5_update(&alt, plen, (const uint8_t *)pw);
	md5_digest(&alt, sizeof(fin), fin);
	for (i = plen; i > 0; i -= i > 16 ? 16 : i)
		md5_update(&ctx, i > 16 ? 16 : i, fin);
	/* The original's quirk: a NUL byte or the first byte of pw. */
	for (i = plen; i > 0; i >>= 1)
		md5_update(&ctx, 1, (i & 1) ? (const uint8_t *)"" :
		    (const uint8_t *)pw);
	md5_digest(&ctx, sizeof(fin), fin);

	for (i = 0; i < 1000; i++) {
		md5_init(&ctx);
		if (i & 1)
			md5_update(&ctx, plen, (const uint8_t *)pw);
		else
			md5_update(&ctx, sizeof(fin), fin);
		if (i % 3)
			md5_update(&ctx, slen, (const uint8_t *)salt);
		if (i % 7)
			md5_update(&ctx, plen, (const uint8_t *)pw);
		if (i & 1)
			md5_update(&ctx, sizeof(fin), fin);
		else
			md5_update(&ctx, plen, (const uint8_t *)pw);
		md5_digest(&ctx, sizeof(fin), fin);
	}

	memcpy(out, magic, mlen);
	memcpy(out + mlen, salt, slen);
	p = out + mlen + slen;
	*p++ = '$';
	p = to64(p, (uint32_t)fin[0] << 16 | fin[6] << 8 | fin[12], 4);
	p = to64(p, (uint32_t)fin[1] << 16 | fin[7] << 8 | fin[13], 4);
	p = to64(p, (uint32_t)fin[2] << 16 | fin[8] << 8 | fin[14], 4);
	p = to64(p, (uint32_t)fin[3] << 16 | fin[9] << 8 | fin[15], 4);
	p = to64(p, (uint32_t)fin[4] << 16 | fin[10] << 8 | fin[5], 4);
	p = to64(p, fin[11], 2);
	*p = '\0';
	explicit_bzero(fin, sizeof(fin));
	explicit_bzero(&ctx, sizeof(ctx));
	explicit_bzero(&alt, sizeof(alt));
	return out;
}

/*
 * Hashes password with e's setting; 1 when it gives e's hash.  libxcrypt's
 * work area (about 32 KiB) is the caller's own, so that threads hash at
 * the same time.
 */
static int
verify(const struct hp_entry *e, const char *password)
{
	char buf[MD5CRYPT_OUT_MAX];
	struct crypt_data *cd = NULL;
	const char *out = NULL;
	int ok;

	if (e->kind == HP_MD5)
		out = md5crypt(password, e->hash, buf);
	else if ((cd = calloc(1, sizeof(*cd))) != NULL &&
	    (out = crypt_r(password, e->hash, cd)) != NULL && out[0] == '*')
		out = NULL;	/* libxcrypt's failure token, "*0" or "*1" */
	ok = out != NULL && strlen(out) == e->hashlen &&
	    memeql_sec(out, e->hash, e->hashlen);
	explicit_bzero(buf, sizeof(buf));
	if (cd != NULL) {
		explicit_bzero(cd, sizeof(*cd));
		free(cd);
	}
	return ok;
}

/* The arguments a check can match at all. */
static int
check_args(const struct htpasswd *h, const char *user, const char *password)
{
	return h != NULL && h->n > 0 && user != NULL && password != NULL &&
	    strnlen(user, HTPASSWD_USER_MAX + 1) <= HTPASSWD_USER_MAX &&
	    strnlen(password, HTPASSWD_PASS_MAX + 1) <= HTPASSWD_PASS_MAX;
}

/*
 * The cache's tag of user and password against e's hash, and whether the
 * cache holds it.  The stored hash is part of the tag, so that a pair
 * remembered for one hash never vouches for another.  The key is random
 * and never leaves the struct: the cache says nothing about the passwords
 * to someone who can read memory dumps but not the key.
 */
static int
cache_find(struct htpasswd *h, const struct hp_entry *e, const char *user,
    const char *password, uint8_t tag[static SHA256_DIGEST_SIZE])
{
	struct hmac_sha256_ctx mac;
	size_t i;
	int hit = 0;

	hmac_sha256_set_key(&mac, sizeof(h->key), h->key);
	hmac_sha256_update(&mac, strlen(user) + 1, (const uint8_t *)user);
	hmac_sha256_update(&mac, strlen(password) + 1,
	    (const uint8_t *)password);
	hmac_sha256_update(&mac, e->hashlen, (const uint8_t *)e->hash);
	hmac_sha256_digest(&mac, SHA256_DIGEST_SIZE, tag);
	explicit_bzero(&mac, sizeof(mac));
	pthread_mutex_lock(&h->lock);
	for (i = 0; i < h->ncached; i++)
		hit |= memeql_sec(tag, h->cache[i], SHA256_DIGEST_SIZE);
	pthread_mutex_unlock(&h->lock);
	return hit;
}

static void
cache_add(struct htpasswd *h, const uint8_t tag[static SHA256_DIGEST_SIZE])
{
	pthread_mutex_lock(&h->lock);
	memcpy(h->cache[h->next], tag, SHA256_DIGEST_SIZE);
	h->next = (h->next + 1) % CACHE_SLOTS;
	if (h->ncached < CACHE_SLOTS)
		h->ncached++;
	pthread_mutex_unlock(&h->lock);
}

int
htpasswd_cached(struct htpasswd *h, const char *user, const char *password)
{
	uint8_t tag[SHA256_DIGEST_SIZE];
	const struct hp_entry *e;
	int hit;

	if (!check_args(h, user, password))
		return 0;
	/*
	 * An unknown user's tag is made all the same, against the first
	 * entry, so that this costs the same whoever asks; it cannot be in
	 * the cache, which holds only pairs that matched.
	 */
	e = bsearch(user, h->ent, h->n, sizeof(*e), ent_find);
	hit = cache_find(h, e != NULL ? e : &h->ent[0], user, password, tag);
	explicit_bzero(tag, sizeof(tag));
	return e != NULL && hit;
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * A check of entry i that took took_ns: if it failed, it lasts as long as
 * the slowest check seen; if slower than any before, i becomes the decoy.
 * Runs on the password-check threads, never on a daemon's loop.
 */
static void
failure_pace(struct htpasswd *h, size_t i, int64_t took_ns, bool failed)
{
	struct timespec ts;
	int64_t wait;

	pthread_mutex_lock(&h->lock);
	wait = h->slow_ns - took_ns;
	if (took_ns > h->slow_ns) {
		h->slow_ns = took_ns;
		h->decoy = i;
	} else if (i == h->decoy) {
		/*
		 * The decoy's own checks let the mark sink back towards its
		 * usual time, so that one check slowed by a busy machine does
		 * not hold every later failure as long.
		 */
		h->slow_ns -= (h->slow_ns - took_ns) / 8;
	}
	pthread_mutex_unlock(&h->lock);
	if (!failed || wait <= 0)
		return;
	ts.tv_sec = (time_t)(wait / 1000000000);
	ts.tv_nsec = (long)(wait % 1000000000);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

int
htpasswd_check(struct htpasswd *h, const char *user, const char *password)
{
	uint8_t tag[SHA256_DIGEST_SIZE];
	const struct hp_entry *e;
	int64_t t0 = now_ns();
	size_t decoy;
	int ok;

	if (!check_args(h, user, password))
		return 0;
	if ((e = bsearch(user, h->ent, h->n, sizeof(*e), ent_find)) == NULL) {
		/* As much work as a wrong password for a user who exists. */
		pthread_mutex_lock(&h->lock);
		decoy = h->decoy;
		pthread_mutex_unlock(&h->lock);
		(void)verify(&h->ent[decoy], password);
		failure_pace(h, decoy, now_ns() - t0, true);
		return 0;
	}
	if (cache_find(h, e, user, password, tag))
		ok = 1;
	else {
		if ((ok = verify(e, password)) == 1)
			cache_add(h, tag);
		failure_pace(h, (size_t)(e - h->ent), now_ns() - t0, ok != 1);
	}
	explicit_bzero(tag, sizeof(tag));
	return ok;
}
