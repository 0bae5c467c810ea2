/*
 * htpasswd files and HTTP Basic authentication.  See htpasswd.h; checking
 * a password is htpasswd_check.c's.
 *
 * The file is hostile input like any other: it is read whole with a size
 * cap, every line is checked for length, NUL bytes and the exact shape of
 * its hash before anything is kept, and nothing from it reaches an error
 * message but the user name.
 */
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "htpasswd.h"
#include "htpasswd_impl.h"
#include "log.h"
#include "util.h"

#define LINE_MAX_LEN		1024		/* bytes, without the newline */
#define FILE_MAX		(1024 * 1024)
#define BASIC_MAX		1024		/* decoded user:password */
/*
 * htpasswd -B takes costs 4 to 17; above that, every login would block
 * the daemon for many seconds: on a 2020s server core cost 10 takes 60 ms
 * and cost 17 eight seconds, a Raspberry Pi several times as long.
 * SHA-crypt's rounds are capped for the same reason (SHA-512 with ten
 * million rounds takes five seconds there).
 */
#define SHACRYPT_ROUNDS_MAX	10000000UL

/* crypt's base-64 alphabet (MD5-crypt and the others). */
const char htpasswd_itoa64[] =
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static int
lerr(char *err, size_t errlen, const char *path, int line, const char *fmt,
    ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(err, errlen, "%s:%d: %s", path, line, msg);
	else
		snprintf(err, errlen, "%s: %s", path, msg);
	return -1;
}

static int
is_itoa64(char c)
{
	return c != '\0' && strchr(htpasswd_itoa64, c) != NULL;
}

/* The number of leading characters of s from crypt's base-64 alphabet. */
static size_t
span64(const char *s)
{
	size_t n = 0;

	while (is_itoa64(s[n]))
		n++;
	return n;
}

/*
 * s is "rounds=N$" with N a canonical decimal (libxcrypt writes it back
 * as it parsed it, so "rounds=05000" could never match).  Returns the
 * length of that prefix, 0 when s does not start with "rounds=", or -1
 * when N is malformed or out of range.
 */
static int
shacrypt_rounds(const char *s, unsigned long *rounds)
{
	char digits[16];
	size_t n;

	if (strncmp(s, "rounds=", 7) != 0)
		return 0;
	n = strspn(s + 7, "0123456789");
	if (n == 0 || n >= sizeof(digits) || s[7] == '0' || s[7 + n] != '$')
		return -1;
	memcpy(digits, s + 7, n);
	digits[n] = '\0';
	if (parse_uint(digits, 1000, 999999999, rounds) == -1)
		return -1;
	return (int)(7 + n + 1);
}

/*
 * Checks that hash is one this module verifies, in exactly the shape the
 * algorithm writes, and sets e's kind.  Returns 0, or -1 with why said
 * (a sentence fragment that follows "user NAME: ").
 */
static int
hash_parse(const char *hash, struct hp_entry *e, char *why, size_t whylen)
{
	size_t len = strlen(hash), n, want;
	unsigned long rounds = 0;
	const char *p;
	int cost, r;

	e->hash = hash;
	e->hashlen = len;
	e->kind = HP_CRYPT;
	e->weak = 0;
	if (len == 0) {
		snprintf(why, whylen, "no password hash");
		return -1;
	}
	if (strncmp(hash, "$2y$", 4) == 0 || strncmp(hash, "$2b$", 4) == 0 ||
	    strncmp(hash, "$2a$", 4) == 0) {
		if (len != 60 || hash[4] < '0' || hash[4] > '9' ||
		    hash[5] < '0' || hash[5] > '9' || hash[6] != '$' ||
		    span64(hash + 7) != 53) {
			snprintf(why, whylen, "malformed bcrypt hash");
			return -1;
		}
		cost = (hash[4] - '0') * 10 + (hash[5] - '0');
		if (cost < 4 || cost > 31) {
			snprintf(why, whylen, "malformed bcrypt hash (cost %d)",
			    cost);
			return -1;
		}
		if (cost > BCRYPT_COST_MAX) {
			snprintf(why, whylen, "bcrypt cost %d would make every "
			    "login take many seconds; use at most %d (10 is the "
			    "default)", cost, BCRYPT_COST_MAX);
			return -1;
		}
		return 0;
	}
	if (strncmp(hash, "$5$", 3) == 0 || strncmp(hash, "$6$", 3) == 0) {
		want = hash[1] == '5' ? 43 : 86;
		p = hash + 3;
		if ((r = shacrypt_rounds(p, &rounds)) == -1) {
			snprintf(why, whylen, "malformed SHA-crypt rounds");
			return -1;
		}
		p += r;
		n = span64(p);
		if (n == 0 || n > 16 || p[n] != '$' || span64(p + n + 1) != want ||
		    p[n + 1 + want] != '\0') {
			snprintf(why, whylen, "malformed SHA-crypt hash");
			return -1;
		}
		if (rounds > SHACRYPT_ROUNDS_MAX) {
			snprintf(why, whylen, "%lu SHA-crypt rounds would make "
			    "every login take many seconds; use at most %lu (5000 "
			    "is the default)", rounds, SHACRYPT_ROUNDS_MAX);
			return -1;
		}
		return 0;
	}
	if (strncmp(hash, "$y$", 3) == 0) {
		/* $y$PARAMS$SALT$HASH, all in crypt's base-64 alphabet. */
		p = hash + 3;
		if ((n = span64(p)) > 0 && p[n] == '$') {
			p += n + 1;
			n = span64(p);
		} else
			n = 0;
		if (n == 0 || p[n] != '$' || span64(p + n + 1) != 43 ||
		    p[n + 1 + 43] != '\0') {
			snprintf(why, whylen, "malformed yescrypt hash");
			return -1;
		}
		return 0;
	}
	if (strncmp(hash, "$apr1$", 6) == 0 || strncmp(hash, "$1$", 3) == 0) {
		p = hash + (hash[1] == 'a' ? 6 : 3);
		n = span64(p);
		if (n == 0 || n > MD5CRYPT_SALT_MAX || p[n] != '$' ||
		    span64(p + n + 1) != 22 || p[n + 1 + 22] != '\0') {
			snprintf(why, whylen, "malformed MD5-crypt hash");
			return -1;
		}
		e->kind = HP_MD5;
		e->weak = 1;
		return 0;
	}
	/* What follows is refused; say why without quoting the field. */
	if (strncmp(hash, "{SHA}", 5) == 0) {
		snprintf(why, whylen, "{SHA} (htpasswd -s) is unsalted SHA-1, "
		    "which is cracked in moments");
		return -1;
	}
	if (hash[0] == '$' && (n = strspn(hash + 1, htpasswd_itoa64 + 2)) > 0 &&
	    n <= 8 && hash[1 + n] == '$') {
		snprintf(why, whylen, "hash type $%.*s$ is not supported: use "
		    "bcrypt, SHA-crypt or yescrypt", (int)n, hash + 1);
		return -1;
	}
	if (hash[0] == '{' && (n = strspn(hash + 1, htpasswd_itoa64 + 2)) > 0 &&
	    n <= 8 && hash[1 + n] == '}') {
		snprintf(why, whylen, "hash type {%.*s} is not supported: use "
		    "bcrypt, SHA-crypt or yescrypt", (int)n, hash + 1);
		return -1;
	}
	if (len == 13 && span64(hash) == 13) {
		snprintf(why, whylen, "DES crypt (htpasswd -d) uses only the "
		    "first 8 characters of a password and is cracked in hours");
		return -1;
	}
	snprintf(why, whylen, "the password is not hashed (plaintext, "
	    "htpasswd -p)");
	return -1;
}

/* One line of the file, without its newline; s[len] may be written. */
static int
parse_line(struct htpasswd *h, const char *path, int line, char *s,
    size_t len, char *err, size_t errlen)
{
	struct hp_entry e, *ent;
	char *colon, *end, why[256];
	size_t i;

	if (len > LINE_MAX_LEN)
		return lerr(err, errlen, path, line, "line longer than %d "
		    "bytes", LINE_MAX_LEN);
	if (memchr(s, '\0', len) != NULL)
		return lerr(err, errlen, path, line, "NUL byte");
	/* Windows line ends and trailing blanks are not part of the hash. */
	while (len > 0 && (s[len - 1] == '\r' || s[len - 1] == ' ' ||
	    s[len - 1] == '\t'))
		len--;
	s[len] = '\0';
	if (strspn(s, " \t") == len || s[0] == '#')
		return 0;
	if ((colon = strchr(s, ':')) == NULL)
		return lerr(err, errlen, path, line, "no colon: expected "
		    "USER:HASH");
	*colon = '\0';
	if (colon == s)
		return lerr(err, errlen, path, line, "empty user name");
	if ((size_t)(colon - s) > HTPASSWD_USER_MAX)
		return lerr(err, errlen, path, line, "user name longer than %d "
		    "bytes", HTPASSWD_USER_MAX);
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return lerr(err, errlen, path, line, "control character "
			    "in the user name");
	/* nginx allows a comment after a third colon. */
	if ((end = strchr(colon + 1, ':')) != NULL)
		*end = '\0';
	memset(&e, 0, sizeof(e));
	if (hash_parse(colon + 1, &e, why, sizeof(why)) == -1)
		return lerr(err, errlen, path, line, "user %s: %s; set a new "
		    "password with \"portkeeper passwd %s\"", s, why, s);
	e.user = s;
	e.line = line;
	if ((ent = reallocarray(h->ent, h->n + 1, sizeof(*ent))) == NULL)
		return lerr(err, errlen, path, 0, "%s", strerror(errno));
	h->ent = ent;
	h->ent[h->n++] = e;
	return 0;
}

/* Reads all of path into a NUL-terminated buffer. */
static int
read_all(const char *path, char **bufp, size_t *lenp, char *err,
    size_t errlen)
{
	FILE *fp;
	char *buf, *shrunk;
	size_t len;
	struct stat sb;

	if ((fp = fopen(path, "re")) == NULL)
		return lerr(err, errlen, path, 0, "%s", strerror(errno));
	/*
	 * Apache's htpasswd makes its files 0644.  The hashes are slow to
	 * crack, not impossible: say so, once a load, as portkeeper passwd
	 * never makes such a file.
	 */
	if (fstat(fileno(fp), &sb) == 0 && (sb.st_mode & S_IROTH))
		log_warnx("%s: every user of this host can read its password "
		    "hashes (mode %04o): chmod 640 it, with the group the "
		    "daemon runs as (chgrp portkeeper)", path,
		    (unsigned)(sb.st_mode & 07777));
	if ((buf = malloc(FILE_MAX + 2)) == NULL) {
		fclose(fp);
		return lerr(err, errlen, path, 0, "%s", strerror(errno));
	}
	len = fread(buf, 1, FILE_MAX + 1, fp);
	if (ferror(fp)) {
		lerr(err, errlen, path, 0, "%s", strerror(errno));
		goto fail;
	}
	if (len > FILE_MAX) {
		lerr(err, errlen, path, 0, "larger than %d bytes", FILE_MAX);
		goto fail;
	}
	fclose(fp);
	buf[len] = '\0';
	/*
	 * The entries point into the buffer for as long as the file is
	 * loaded: keep only what it holds.  Left at 1 MB, the block was
	 * mapped on its own, and freeing it at a reload raised glibc's mmap
	 * threshold to 1 MB, so that later large blocks (a router's 128 KiB
	 * description) came from the heap and stayed there.
	 */
	if ((shrunk = realloc(buf, len + 1)) != NULL)
		buf = shrunk;
	*bufp = buf;
	*lenp = len;
	return 0;
fail:
	fclose(fp);
	free(buf);
	return -1;
}

static int
ent_cmp(const void *a, const void *b)
{
	const struct hp_entry *x = a, *y = b;
	int c;

	if ((c = strcmp(x->user, y->user)) != 0)
		return c;
	return (x->line > y->line) - (x->line < y->line);
}

/*
 * Before any check has been timed: the bcrypt entry of the highest cost,
 * else the first that libxcrypt verifies (SHA-crypt, yescrypt), else the
 * first.  MD5-crypt is always the cheapest.
 */
static size_t
decoy_guess(const struct htpasswd *h)
{
	size_t i, best = 0;
	int cost, best_cost = -1;

	for (i = 0; i < h->n; i++) {
		if (h->ent[i].kind != HP_CRYPT)
			continue;
		cost = 0;
		if (strncmp(h->ent[i].hash, "$2", 2) == 0)
			cost = 1 + (h->ent[i].hash[4] - '0') * 10 +
			    (h->ent[i].hash[5] - '0');
		if (cost > best_cost) {
			best = i;
			best_cost = cost;
		}
	}
	return best;
}

struct htpasswd *
htpasswd_load(const char *path, char *err, size_t errlen)
{
	struct htpasswd *h;
	char *p, *end, *nl;
	size_t len = 0, i, dup = 0;
	int line = 0;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		lerr(err, errlen, path, 0, "%s", strerror(errno));
		return NULL;
	}
	if (pthread_mutex_init(&h->lock, NULL) != 0) {
		lerr(err, errlen, path, 0, "cannot make a mutex");
		free(h);
		return NULL;
	}
	h->refs = 1;
	if (read_all(path, &h->buf, &len, err, errlen) == -1)
		goto fail;
	for (p = h->buf, end = h->buf + len; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (parse_line(h, path, ++line, p, (size_t)(nl - p), err,
		    errlen) == -1)
			goto fail;
	}
	if (h->n == 0) {
		lerr(err, errlen, path, 0, "no users");
		goto fail;
	}
	for (i = 0; i < h->n; i++)
		if (h->ent[i].weak)
			log_warnx("%s:%d: user %s has a weak MD5 password hash "
			    "(%.*s); replace it with \"portkeeper passwd %s\"",
			    path, h->ent[i].line, h->ent[i].user,
			    h->ent[i].hash[1] == 'a' ? 6 : 3, h->ent[i].hash,
			    h->ent[i].user);
	/*
	 * Sorted for bsearch; a duplicate is then next to its first.  The
	 * one reported is the earliest line that repeats a user.
	 */
	qsort(h->ent, h->n, sizeof(*h->ent), ent_cmp);
	for (i = 1; i < h->n; i++)
		if (strcmp(h->ent[i - 1].user, h->ent[i].user) == 0 &&
		    (dup == 0 || h->ent[i].line < h->ent[dup].line))
			dup = i;
	if (dup != 0) {
		lerr(err, errlen, path, h->ent[dup].line, "user %s again (first "
		    "on line %d)", h->ent[dup].user, h->ent[dup - 1].line);
		goto fail;
	}
	h->decoy = decoy_guess(h);
	if (getrandom(h->key, sizeof(h->key), 0) != (ssize_t)sizeof(h->key)) {
		lerr(err, errlen, path, 0, "getrandom: %s", strerror(errno));
		goto fail;
	}
	return h;
fail:
	htpasswd_free(h);
	return NULL;
}

size_t
htpasswd_count(const struct htpasswd *h)
{
	return h->n;
}

struct htpasswd *
htpasswd_ref(struct htpasswd *h)
{
	pthread_mutex_lock(&h->lock);
	h->refs++;
	pthread_mutex_unlock(&h->lock);
	return h;
}

void
htpasswd_free(struct htpasswd *h)
{
	int last;

	if (h == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	last = --h->refs == 0;
	pthread_mutex_unlock(&h->lock);
	if (!last)
		return;
	pthread_mutex_destroy(&h->lock);
	explicit_bzero(h->key, sizeof(h->key));
	explicit_bzero(h->cache, sizeof(h->cache));
	free(h->ent);
	free(h->buf);
	free(h);
}

static int
b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Decodes padded base64 (RFC 4648 section 4), strictly: length a multiple
 * of 4, '=' only as the last one or two characters.  0 or -1.
 */
static int
b64_decode(const char *s, size_t len, uint8_t *out, size_t outsz,
    size_t *outlen)
{
	size_t i, j, n = 0, pad = 0;
	uint32_t v;
	int d;

	if (len == 0 || len % 4 != 0 || len / 4 * 3 > outsz)
		return -1;
	if (s[len - 1] == '=')
		pad = s[len - 2] == '=' ? 2 : 1;
	for (i = 0; i < len; i += 4) {
		v = 0;
		for (j = 0; j < 4; j++) {
			if (i + j >= len - pad)
				d = 0;
			else if ((d = b64_value(s[i + j])) == -1)
				return -1;
			v = v << 6 | (uint32_t)d;
		}
		out[n++] = (uint8_t)(v >> 16);
		out[n++] = (uint8_t)(v >> 8);
		out[n++] = (uint8_t)v;
	}
	*outlen = n - pad;
	return 0;
}

int
htpasswd_parse_basic(const char *header, char *user, size_t userlen,
    char *pass, size_t passlen)
{
	uint8_t dec[BASIC_MAX];
	const char *p, *q;
	uint8_t *colon;
	size_t blen, dlen = 0, ulen, plen, i;
	int rc = -1;

	if (user == NULL || pass == NULL || userlen == 0 || passlen == 0)
		return -1;
	user[0] = pass[0] = '\0';
	if (header == NULL)
		return -1;
	/* RFC 7235 section 2.1: the scheme, then one or more spaces. */
	for (p = header; *p == ' ' || *p == '\t'; p++)
		;
	if (strncasecmp(p, "Basic", 5) != 0 || (p[5] != ' ' && p[5] != '\t'))
		return -1;
	for (p += 5; *p == ' ' || *p == '\t'; p++)
		;
	blen = strcspn(p, " \t");
	for (q = p + blen; *q == ' ' || *q == '\t'; q++)
		;
	if (*q != '\0' || b64_decode(p, blen, dec, sizeof(dec), &dlen) == -1)
		goto out;
	/* RFC 7617 section 2: the user-id has no colon and no controls. */
	if (memchr(dec, '\0', dlen) != NULL ||
	    (colon = memchr(dec, ':', dlen)) == NULL)
		goto out;
	ulen = (size_t)(colon - dec);
	plen = dlen - ulen - 1;
	for (i = 0; i < ulen; i++)
		if (dec[i] < 0x20 || dec[i] == 0x7f)
			goto out;
	if (ulen >= userlen || plen >= passlen)
		goto out;
	memcpy(user, dec, ulen);
	user[ulen] = '\0';
	memcpy(pass, colon + 1, plen);
	pass[plen] = '\0';
	rc = 0;
out:
	explicit_bzero(dec, sizeof(dec));
	return rc;
}
