/*
 * What htpasswd.c (loading a file), htpasswd_hash.c (making a hash) and
 * htpasswd_check.c (checking a password, the cache) share.  They are two files so that a
 * program that only writes password files (portkeeper passwd) links
 * neither nettle nor the checks: the command line then starts without
 * loading nettle.  Only those two files and their unit test include this.
 */
#ifndef PK_HTPASSWD_IMPL_H
#define PK_HTPASSWD_IMPL_H

/* bcrypt costs: what portkeeper passwd makes, and the most accepted. */
#define BCRYPT_COST_DEFAULT	10
#define BCRYPT_COST_MAX		17

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <nettle/sha2.h>	/* SHA256_DIGEST_SIZE only: no code */

#define CACHE_SLOTS		16
#define MD5CRYPT_SALT_MAX	8
#define MD5CRYPT_OUT_MAX	64

enum hp_kind {
	HP_CRYPT,		/* verified by libxcrypt */
	HP_MD5,			/* $apr1$ or $1$, verified here */
};

struct hp_entry {
	const char	*user;
	const char	*hash;
	size_t		 hashlen;
	enum hp_kind	 kind;
	int		 weak;
	int		 line;
};

/*
 * Once loaded, the entries and the key never change, so that threads read
 * them without a lock.  The lock guards what does change: the cache and
 * the count of references.  It is never held while a hash runs, so that a
 * check the cache answers never waits for a bcrypt on another thread.
 */
struct htpasswd {
	pthread_mutex_t		 lock;
	int			 refs;
	char			*buf;	/* the file, fields NUL-terminated */
	struct hp_entry		*ent;	/* sorted by user */
	size_t			 n;
	uint8_t			 key[32];
	uint8_t			 cache[CACHE_SLOTS][SHA256_DIGEST_SIZE];
	size_t			 ncached, next;
	/*
	 * So that the time a failed login takes does not tell which users
	 * exist, nor which hash a user has: an unknown user is checked
	 * against the costliest entry (decoy), and every failure lasts at
	 * least as long as the slowest check seen (slow_ns).  Both under
	 * lock; decoy starts as the bcrypt of the highest cost.
	 */
	size_t			 decoy;
	int64_t			 slow_ns;
};

/* crypt's base-64 alphabet, "./0-9A-Za-z". */
extern const char	htpasswd_itoa64[];

#endif
