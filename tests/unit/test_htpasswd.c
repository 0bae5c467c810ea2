/*
 * htpasswd files: every hash format against vectors from apache2-utils,
 * refused and malformed files, the cache (alone, too, and from threads at
 * once), references, Basic headers, hashing.
 *
 * The .c is included to look at the cache's fill level.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/htpasswd.c"

/*
 * Made with apache2-utils 2.4 (htpasswd -n prints "user:hash"):
 *   htpasswd -nbB -C 10 alice pw    bcrypt
 *   htpasswd -nb2 alice pw          SHA-256 crypt
 *   htpasswd -nb5 alice pw          SHA-512 crypt
 *   htpasswd -nbm alice pw          $apr1$, htpasswd's default
 *   htpasswd -nbs alice pw          {SHA}
 *   htpasswd -nbd alice pw          DES crypt
 *   htpasswd -nbB -C 10 bob 'p:w'   a colon in the password
 *   htpasswd -nbm carol ''          an empty password
 * and, for what htpasswd cannot make:
 *   openssl passwd -1 pw
 *   openssl passwd -apr1 -salt abcdefgh \
 *       'a longer password with more than sixteen bytes'
 *   libxcrypt's crypt_gensalt_rn("$y$", 0, ...) and crypt_r of "pw"
 */
#define BCRYPT_ALICE \
    "alice:$2y$10$CzCcEf17THiZ4ZYmViUrgutgGSSe6cFQzYBq3Z5U6K9vNyGqCqFsq"
#define SHA256_ALICE \
    "alice:$5$SGM8ODqnMwx7w5ke$dz4EppUH40OSZftI1wgXg8ETfIyogcKGfw0ZAtqzKQ9"
#define SHA512_ALICE \
    "alice:$6$m5vQNdZAwtrRfnfW$n.lXrjhDjSzEQi1wW4.erFQEpPjXl/hD8jUplPRfge." \
    "Lh9ZSSbTQ7BxyJOgVJdomyFGwbGl25IoDzcBvYG7hj1"
#define APR1_ALICE	"alice:$apr1$3niUypvN$nG7ETDGWrfEMQxP9HXN9T1"
#define SHA1_ALICE	"alice:{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM="
#define DES_ALICE	"alice:lsvMgs1nG0ulY"
#define BCRYPT_BOB \
    "bob:$2y$10$9RJu46TadiD8VYxycxcj2.WYvQcbEQ9wtm/9UyGVw1hBNFFA4/zzq"
#define APR1_CAROL	"carol:$apr1$cSeUf5Sg$9c9uMcoZyR4yTnwhvdbUH/"
#define MD5_ALICE	"alice:$1$Pbb6UH0d$wHCoGyoPL.xq9bOEdlmKi0"
#define APR1_LONG	"dave:$apr1$abcdefgh$mrEHXLEzEHl8lSp0n8XeF/"
#define APR1_LONG_PW	"a longer password with more than sixteen bytes"
#define YESCRYPT_ALICE \
    "alice:$y$j9T$5rZw85vg7QtNF9ntEmm761$xHsIAzkRn1bYq.NKbjqkTzgQ81lDOewUmF" \
    "Tyeox4yBB"

static char dir[64];
static char path[128];
static int nfiles;

static int
setup(void **state)
{
	(void)state;
	log_init("test_htpasswd", 0);
	strcpy(dir, "/tmp/test_htpasswd.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	struct dirent *de;
	char p[sizeof(dir) + 258];
	DIR *d;

	(void)state;
	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
			unlink(p);
		}
		closedir(d);
	}
	return rmdir(dir);
}

/* Writes len bytes of text to a new file in dir; its name is in path. */
static const char *
write_bytes(const char *text, size_t len)
{
	FILE *fp;

	snprintf(path, sizeof(path), "%s/f%d", dir, nfiles++);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(text, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	/* As portkeeper passwd makes them: see test_mode_warning. */
	assert_int_equal(chmod(path, 0640), 0);
	return path;
}

static struct htpasswd *
load_text(const char *text, char *err, size_t errlen)
{
	err[0] = '\0';
	return htpasswd_load(write_bytes(text, strlen(text)), err, errlen);
}

static struct htpasswd *
must_load(const char *text)
{
	struct htpasswd *h;
	char err[512];

	if ((h = load_text(text, err, sizeof(err))) == NULL)
		fail_msg("refused: %s\n%s", err, text);
	return h;
}

/* text is refused with exactly "PATH" followed by want. */
static void
expect_error(const char *text, size_t len, const char *want)
{
	char err[512], full[768];

	err[0] = '\0';
	if (htpasswd_load(write_bytes(text, len), err, sizeof(err)) != NULL)
		fail_msg("accepted:\n%s", text);
	snprintf(full, sizeof(full), "%s%s", path, want);
	assert_string_equal(err, full);
}

static void
expect_error_str(const char *text, const char *want)
{
	expect_error(text, strlen(text), want);
}

static void
test_formats(void **state)
{
	static const char *const lines[] = {
		BCRYPT_ALICE, SHA256_ALICE, SHA512_ALICE, APR1_ALICE,
		MD5_ALICE, YESCRYPT_ALICE,
	};
	struct htpasswd *h;
	char text[256];
	size_t i;

	(void)state;
	for (i = 0; i < nitems(lines); i++) {
		snprintf(text, sizeof(text), "%s\n", lines[i]);
		h = must_load(text);
		assert_int_equal(htpasswd_count(h), 1);
		if (htpasswd_check(h, "alice", "pw") != 1)
			fail_msg("right password refused: %s", lines[i]);
		assert_int_equal(htpasswd_check(h, "alice", "pW"), 0);
		assert_int_equal(htpasswd_check(h, "alice", "pw "), 0);
		assert_int_equal(htpasswd_check(h, "alice", "p"), 0);
		assert_int_equal(htpasswd_check(h, "alice", ""), 0);
		assert_int_equal(htpasswd_check(h, "bob", "pw"), 0);
		assert_int_equal(htpasswd_check(h, "Alice", "pw"), 0);
		assert_int_equal(htpasswd_check(h, "", "pw"), 0);
		htpasswd_free(h);
	}
}

/* $2b$ and $2a$ hash an ASCII password as $2y$ does. */
static void
test_bcrypt_variants(void **state)
{
	static const char *const magic[] = { "$2b$", "$2a$" };
	struct htpasswd *h;
	char text[256];
	size_t i;

	(void)state;
	for (i = 0; i < nitems(magic); i++) {
		snprintf(text, sizeof(text), "alice:%s%s\n", magic[i],
		    BCRYPT_ALICE + strlen("alice:$2y$"));
		h = must_load(text);
		assert_int_equal(htpasswd_check(h, "alice", "pw"), 1);
		assert_int_equal(htpasswd_check(h, "alice", "pv"), 0);
		htpasswd_free(h);
	}
}

static void
test_more_vectors(void **state)
{
	struct htpasswd *h;

	(void)state;
	h = must_load(BCRYPT_BOB "\n" APR1_CAROL "\n" APR1_LONG "\n");
	assert_int_equal(htpasswd_count(h), 3);
	assert_int_equal(htpasswd_check(h, "bob", "p:w"), 1);
	assert_int_equal(htpasswd_check(h, "bob", "p"), 0);
	assert_int_equal(htpasswd_check(h, "carol", ""), 1);
	assert_int_equal(htpasswd_check(h, "carol", "pw"), 0);
	assert_int_equal(htpasswd_check(h, "dave", APR1_LONG_PW), 1);
	assert_int_equal(htpasswd_check(h, "dave", APR1_LONG_PW "x"), 0);
	assert_int_equal(htpasswd_check(h, "bob", ""), 0);
	htpasswd_free(h);
}

/* What log_warnx says while text loads. */
static void
load_capturing(const char *text, char *out, size_t outlen)
{
	struct htpasswd *h;
	char err[512], logpath[160];
	ssize_t n;
	int fd, saved;

	snprintf(logpath, sizeof(logpath), "%s/log", dir);
	assert_true((fd = open(logpath, O_RDWR | O_CREAT | O_TRUNC, 0600)) != -1);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	h = load_text(text, err, sizeof(err));
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	assert_non_null(h);
	htpasswd_free(h);
	n = pread(fd, out, outlen - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
}

/* A file every user may read is said to be one (issue 13). */
static void
test_mode_warning(void **state)
{
	struct htpasswd *h;
	char log[2048], err[512], logpath[160], want[256];
	const char *p;
	ssize_t n;
	int fd, saved;

	(void)state;
	p = write_bytes(BCRYPT_BOB "\n", strlen(BCRYPT_BOB "\n"));
	assert_int_equal(chmod(p, 0644), 0);
	snprintf(logpath, sizeof(logpath), "%s/log", dir);
	assert_true((fd = open(logpath, O_RDWR | O_CREAT | O_TRUNC, 0600)) != -1);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	h = htpasswd_load(p, err, sizeof(err));
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	assert_non_null(h);
	htpasswd_free(h);
	n = pread(fd, log, sizeof(log) - 1, 0);
	log[n > 0 ? n : 0] = '\0';
	close(fd);
	snprintf(want, sizeof(want), "%s: every user of this host can read "
	    "its password hashes (mode 0644): chmod 640 it", p);
	if (strstr(log, want) == NULL)
		fail_msg("no warning \"%s\" in \"%s\"", want, log);
}

static void
test_weak_warning(void **state)
{
	char log[2048], want[256];

	(void)state;
	load_capturing("# users\n" BCRYPT_BOB "\n" APR1_ALICE "\n", log,
	    sizeof(log));
	snprintf(want, sizeof(want), "%s:3: user alice has a weak MD5 "
	    "password hash ($apr1$); replace it with \"portkeeper passwd "
	    "alice\"", path);
	if (strstr(log, want) == NULL)
		fail_msg("no warning \"%s\" in \"%s\"", want, log);
	assert_null(strstr(log, "bob"));

	load_capturing(BCRYPT_BOB "\n" SHA512_ALICE "\n", log, sizeof(log));
	assert_string_equal(log, "");
}

static void
test_refused(void **state)
{
	static const struct {
		const char	*line, *why;
	} t[] = {
		{ SHA1_ALICE, "{SHA} (htpasswd -s) is unsalted SHA-1, which "
		    "is cracked in moments" },
		{ "alice:hunter2", "the password is not hashed (plaintext, "
		    "htpasswd -p)" },
		{ DES_ALICE, "DES crypt (htpasswd -d) uses only the first 8 "
		    "characters of a password and is cracked in hours" },
		{ "alice:$7$CU..../....abcdefgh$xyz", "hash type $7$ is not "
		    "supported: use bcrypt, SHA-crypt or yescrypt" },
		{ "alice:{SSHA}abcdef", "hash type {SSHA} is not supported: "
		    "use bcrypt, SHA-crypt or yescrypt" },
		{ "alice:", "no password hash" },
		{ "alice:$2y$10$CzCcEf17THiZ4ZYmViUrgutgGSSe6cFQzYBq3Z5U6K9vN",
		    "malformed bcrypt hash" },
		{ "alice:$2y$1x$CzCcEf17THiZ4ZYmViUrgutgGSSe6cFQzYBq3Z5U6K9vNy"
		    "GqCqFsq", "malformed bcrypt hash" },
		{ "alice:$2y$18$CzCcEf17THiZ4ZYmViUrgutgGSSe6cFQzYBq3Z5U6K9vNy"
		    "GqCqFsq", "bcrypt cost 18 would make every login take many "
		    "seconds; use at most 17 (10 is the default)" },
		{ "alice:$5$rounds=05000$SGM8ODqnMwx7w5ke$dz4EppUH40OSZftI1wgX"
		    "g8ETfIyogcKGfw0ZAtqzKQ9", "malformed SHA-crypt rounds" },
		{ "alice:$5$rounds=99999999$SGM8ODqnMwx7w5ke$dz4EppUH40OSZftI1"
		    "wgXg8ETfIyogcKGfw0ZAtqzKQ9", "99999999 SHA-crypt rounds "
		    "would make every login take many seconds; use at most "
		    "10000000 (5000 is the default)" },
		{ "alice:$6$m5vQNdZAwtrRfnfW$n.lXrjhDjSzEQi1wW4", "malformed "
		    "SHA-crypt hash" },
		{ "alice:$apr1$3niUypvN$nG7ETDGWrfEMQxP9HXN9T", "malformed "
		    "MD5-crypt hash" },
		{ "alice:$y$j9T$5rZw85vg7QtNF9ntEmm761", "malformed yescrypt "
		    "hash" },
	};
	char text[512], want[512];
	size_t i;

	(void)state;
	for (i = 0; i < nitems(t); i++) {
		snprintf(text, sizeof(text), "# line 1\n%s\n" BCRYPT_BOB "\n",
		    t[i].line);
		snprintf(want, sizeof(want), ":2: user alice: %s; set a new "
		    "password with \"portkeeper passwd alice\"", t[i].why);
		expect_error_str(text, want);
	}
}

static void
test_malformed(void **state)
{
	char text[2200];

	(void)state;
	expect_error_str(BCRYPT_BOB "\nalice\n", ":2: no colon: expected "
	    "USER:HASH");
	snprintf(text, sizeof(text), "%s\n%s\n", BCRYPT_BOB,
	    BCRYPT_ALICE + strlen("alice"));
	expect_error_str(text, ":2: empty user name");
	expect_error_str(BCRYPT_ALICE "\n" BCRYPT_BOB "\n" SHA512_ALICE "\n"
	    BCRYPT_BOB "\n", ":3: user alice again (first on line 1)");
	expect_error_str("", ": no users");
	expect_error_str("# nobody yet\n\n   \n", ": no users");
	expect_error(BCRYPT_BOB "\nal\0ice:x\n", strlen(BCRYPT_BOB) + 10,
	    ":2: NUL byte");
	snprintf(text, sizeof(text), "al\tice%s\n",
	    SHA512_ALICE + strlen("alice"));
	expect_error_str(text, ":1: control character in the user name");
	snprintf(text, sizeof(text), "al\x7fice%s\n",
	    SHA512_ALICE + strlen("alice"));
	expect_error_str(text, ":1: control character in the user name");
	memset(text, 'u', 256);
	strcpy(text + 256, SHA512_ALICE + strlen("alice"));
	expect_error_str(text, ":1: user name longer than 255 bytes");

	/* 1024 bytes are a line; 1025 are too many. */
	text[0] = '#';
	memset(text + 1, 'x', 1023);
	strcpy(text + 1024, "\n" BCRYPT_BOB "\n");
	htpasswd_free(must_load(text));
	text[0] = '#';
	memset(text + 1, 'x', 1024);
	strcpy(text + 1025, "\n" BCRYPT_BOB "\n");
	expect_error_str(text, ":1: line longer than 1024 bytes");
}

static void
test_unreadable(void **state)
{
	char err[512], want[256], missing[160];

	(void)state;
	snprintf(missing, sizeof(missing), "%s/missing", dir);
	assert_null(htpasswd_load(missing, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: No such file or directory", missing);
	assert_string_equal(err, want);
	assert_null(htpasswd_load(dir, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: Is a directory", dir);
	assert_string_equal(err, want);
	/* A short err buffer is truncated, never overrun. */
	memset(err, 'X', sizeof(err));
	assert_null(htpasswd_load(missing, err, 8));
	assert_int_equal(strlen(err), 7);
	assert_int_equal(err[8], 'X');
}

/*
 * The file's buffer, which the entries point into while it is loaded, is
 * the file's size, not the 1 MB read_all allows: a block that size was
 * mapped on its own, and freeing it raised glibc's mmap threshold.
 */
static void
test_buffer_fits(void **state)
{
	struct htpasswd *h;

	(void)state;
	h = must_load("admin:$2y$05$bvIG6Nmid91Mu9RcmmWZfO5HJIMCT8riNW0hEp8f6/FuA2/mHZFpe\n");
	assert_true(malloc_usable_size(h->buf) < 4096);
	htpasswd_free(h);
}

static void
test_layout(void **state)
{
	struct htpasswd *h;

	(void)state;
	h = must_load("# portkeeper users\n\n"
	    BCRYPT_BOB "\r\n"
	    "   \t\n"
	    "#alice:nothing\n"
	    SHA512_ALICE ":nginx takes a comment here\n"
	    APR1_CAROL "  \t");
	assert_int_equal(htpasswd_count(h), 3);
	assert_int_equal(htpasswd_check(h, "bob", "p:w"), 1);
	assert_int_equal(htpasswd_check(h, "alice", "pw"), 1);
	assert_int_equal(htpasswd_check(h, "carol", ""), 1);
	assert_int_equal(htpasswd_check(h, "#alice", "nothing"), 0);
	htpasswd_free(h);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* fn(h, user, pw) must answer want; returns the seconds it took. */
static double
timed(int (*fn)(struct htpasswd *, const char *, const char *),
    struct htpasswd *h, const char *user, const char *pw, int want)
{
	double t0 = now_s();

	assert_int_equal(fn(h, user, pw), want);
	return now_s() - t0;
}

/* n users "u0", "u1"... whose passwords are their names (bcrypt cost 4). */
static struct htpasswd *
load_numbered(int n)
{
	char text[32 * 100], hash[HTPASSWD_HASH_MAX], err[256], u[16];
	size_t len = 0;
	int i;

	for (i = 0; i < n; i++) {
		snprintf(u, sizeof(u), "u%d", i);
		assert_int_equal(htpasswd_hash(u, 4, hash, sizeof(hash), err,
		    sizeof(err)), 0);
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "%s:%s\n", u, hash);
	}
	return must_load(text);
}

static void
test_cache(void **state)
{
	struct htpasswd *h;
	char u[16];
	double first, cached;
	int i;

	(void)state;
	h = must_load(BCRYPT_ALICE "\n" BCRYPT_BOB "\n");
	assert_int_equal(h->ncached, 0);
	first = timed(htpasswd_check, h, "alice", "pw", 1);
	assert_int_equal(h->ncached, 1);

	/* The remembered pair is fast; a wrong password is not let in. */
	cached = timed(htpasswd_check, h, "alice", "pw", 1);
	if (cached * 10 > first)
		fail_msg("cached check took %.6f s, bcrypt %.6f s", cached,
		    first);
	assert_int_equal(htpasswd_check(h, "alice", "pW"), 0);
	assert_int_equal(htpasswd_check(h, "alice", "pw\n"), 0);
	assert_int_equal(htpasswd_check(h, "alice", ""), 0);
	assert_int_equal(htpasswd_check(h, "bob", "pw"), 0);
	assert_int_equal(htpasswd_check(h, "nobody", "pw"), 0);
	/* Failures are not remembered. */
	assert_int_equal(h->ncached, 1);
	assert_int_equal(htpasswd_check(h, "bob", "p:w"), 1);
	assert_int_equal(h->ncached, 2);
	assert_int_equal(htpasswd_check(h, "alice", "pw"), 1);
	assert_int_equal(h->ncached, 2);
	htpasswd_free(h);

	/* More users than slots: the cache stays bounded and right. */
	h = load_numbered(20);
	for (i = 0; i < 40; i++) {
		snprintf(u, sizeof(u), "u%d", i % 20);
		assert_int_equal(htpasswd_check(h, u, u), 1);
		assert_int_equal(htpasswd_check(h, u, "u"), 0);
	}
	assert_int_equal(h->ncached, CACHE_SLOTS);
	/* Another user's remembered password is not this user's. */
	assert_int_equal(htpasswd_check(h, "u1", "u19"), 0);
	htpasswd_free(h);
}

/* The cache alone: it answers what matched before, and never hashes. */
static void
test_cached(void **state)
{
	struct htpasswd *h;
	char big[HTPASSWD_PASS_MAX + 2];
	double first, alone;

	(void)state;
	h = must_load(BCRYPT_ALICE "\n" BCRYPT_BOB "\n");
	assert_int_equal(htpasswd_cached(h, "alice", "pw"), 0);
	assert_int_equal(h->ncached, 0);
	first = timed(htpasswd_check, h, "alice", "pw", 1);
	alone = timed(htpasswd_cached, h, "alice", "pw", 1);
	if (alone * 10 > first)
		fail_msg("the cache alone took %.6f s, bcrypt %.6f s", alone,
		    first);
	/* No verdict on anything else, and nothing remembered by it. */
	assert_int_equal(htpasswd_cached(h, "alice", "pW"), 0);
	assert_int_equal(htpasswd_cached(h, "alice", ""), 0);
	assert_int_equal(htpasswd_cached(h, "bob", "p:w"), 0);
	assert_int_equal(htpasswd_cached(h, "bob", "pw"), 0);
	assert_int_equal(htpasswd_cached(h, "nobody", "pw"), 0);
	assert_int_equal(htpasswd_cached(h, "Alice", "pw"), 0);
	assert_int_equal(h->ncached, 1);
	/* A wrong password, even checked in full, is never cached. */
	assert_int_equal(htpasswd_check(h, "bob", "pw"), 0);
	assert_int_equal(htpasswd_cached(h, "bob", "pw"), 0);
	assert_int_equal(htpasswd_check(h, "bob", "p:w"), 1);
	assert_int_equal(htpasswd_cached(h, "bob", "p:w"), 1);
	assert_int_equal(htpasswd_cached(h, "alice", "pw"), 1);
	/* Hostile arguments: 0, never a crash. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(htpasswd_cached(h, "alice", big), 0);
	assert_int_equal(htpasswd_cached(h, big, "pw"), 0);
	assert_int_equal(htpasswd_cached(h, NULL, "pw"), 0);
	assert_int_equal(htpasswd_cached(h, "alice", NULL), 0);
	assert_int_equal(htpasswd_cached(NULL, "alice", "pw"), 0);
	htpasswd_free(h);
}

/* A reference outlives htpasswd_free of the first (a reload). */
static void
test_ref(void **state)
{
	struct htpasswd *h, *h2;

	(void)state;
	h = must_load(BCRYPT_ALICE "\n");
	assert_int_equal(htpasswd_check(h, "alice", "pw"), 1);
	h2 = htpasswd_ref(h);
	assert_ptr_equal(h2, h);
	assert_int_equal(h->refs, 2);
	htpasswd_free(h);
	assert_int_equal(htpasswd_cached(h2, "alice", "pw"), 1);
	assert_int_equal(htpasswd_check(h2, "alice", "pv"), 0);
	htpasswd_free(h2);
}

/* Threads checking at once, as the daemon's do; the cache churns. */
#define T_THREADS	4
#define T_USERS		20		/* more than CACHE_SLOTS */
#define T_ROUNDS	30

struct t_arg {
	struct htpasswd	*h;
	int		 id;
	int		 wrong;		/* answers that were wrong */
};

static void *
t_check(void *p)
{
	struct t_arg *a = p;
	char u[16], bad[24];
	int i;

	for (i = 0; i < T_ROUNDS; i++) {
		snprintf(u, sizeof(u), "u%d", (a->id * 7 + i) % T_USERS);
		snprintf(bad, sizeof(bad), "%sx", u);
		a->wrong += htpasswd_check(a->h, u, u) != 1;
		a->wrong += htpasswd_check(a->h, u, bad) != 0;
		a->wrong += htpasswd_cached(a->h, u, bad) != 0;
		a->wrong += htpasswd_check(a->h, "nobody", u) != 0;
	}
	return NULL;
}

static void
test_threads(void **state)
{
	struct htpasswd *h;
	struct t_arg args[T_THREADS];
	pthread_t tid[T_THREADS];
	char u[16];
	int i, n = 0, wrong = 0;

	(void)state;
	h = load_numbered(T_USERS);
	for (i = 0; i < T_THREADS; i++) {
		args[i].h = htpasswd_ref(h);
		args[i].id = i;
		args[i].wrong = 0;
		assert_int_equal(pthread_create(&tid[i], NULL, t_check,
		    &args[i]), 0);
	}
	/* The loop's part meanwhile: the cache alone, never a false yes. */
	for (i = 0; i < 2000; i++) {
		snprintf(u, sizeof(u), "u%d", i % T_USERS);
		n += htpasswd_cached(h, u, u);
		wrong += htpasswd_cached(h, u, "u") != 0;
	}
	for (i = 0; i < T_THREADS; i++) {
		assert_int_equal(pthread_join(tid[i], NULL), 0);
		wrong += args[i].wrong;
		htpasswd_free(args[i].h);
	}
	assert_int_equal(wrong, 0);
	assert_int_equal(h->ncached, CACHE_SLOTS);
	assert_int_equal(h->refs, 1);
	htpasswd_free(h);
	(void)n;
}

/*
 * The cache answers at once while another thread runs a bcrypt: the lock
 * is not held while hashing.
 */
struct t_slow {
	struct htpasswd	*h;
	atomic_int	 state;		/* 1 hashing, 2 done */
	double		 took;		/* seconds per wrong check */
};

static void *
t_slow_check(void *p)
{
	struct t_slow *a = p;
	double t0;
	int i;

	atomic_store(&a->state, 1);
	t0 = now_s();
	for (i = 0; i < 3; i++)
		(void)htpasswd_check(a->h, "alice", "wrong");
	a->took = (now_s() - t0) / 3;
	atomic_store(&a->state, 2);
	return NULL;
}

static void
test_cached_while_hashing(void **state)
{
	struct t_slow a;
	pthread_t tid;
	double t, worst = 0;
	int n = 0;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.h = must_load(BCRYPT_ALICE "\n" BCRYPT_BOB "\n");
	assert_int_equal(htpasswd_check(a.h, "bob", "p:w"), 1);
	assert_int_equal(pthread_create(&tid, NULL, t_slow_check, &a), 0);
	while (atomic_load(&a.state) == 0)
		;
	while (atomic_load(&a.state) == 1) {
		if ((t = timed(htpasswd_cached, a.h, "bob", "p:w", 1)) > worst)
			worst = t;
		n++;
	}
	assert_int_equal(pthread_join(tid, NULL), 0);
	if (n == 0 || worst * 4 > a.took)
		fail_msg("%d cached checks, the slowest %.6f s, while a bcrypt "
		    "took %.6f s", n, worst, a.took);
	htpasswd_free(a.h);
}

/* Long, empty and odd inputs to check: 0, never a crash. */
static void
test_hostile_check(void **state)
{
	struct htpasswd *h;
	char *big;

	(void)state;
	h = must_load(APR1_ALICE "\n");
	assert_non_null(big = malloc(100001));
	memset(big, 'a', 100000);
	big[100000] = '\0';
	assert_int_equal(htpasswd_check(h, big, "pw"), 0);
	assert_int_equal(htpasswd_check(h, "alice", big), 0);
	big[HTPASSWD_PASS_MAX] = '\0';
	assert_int_equal(htpasswd_check(h, "alice", big), 0);
	assert_int_equal(htpasswd_check(h, "alice", "\xff\xfe\x01"), 0);
	assert_int_equal(htpasswd_check(h, NULL, "pw"), 0);
	assert_int_equal(htpasswd_check(h, "alice", NULL), 0);
	assert_int_equal(htpasswd_check(NULL, "alice", "pw"), 0);
	assert_int_equal(htpasswd_check(h, "alice", "pw"), 1);
	free(big);
	htpasswd_free(h);
	htpasswd_free(NULL);
}

/* Random bytes and mangled vectors: loads or refuses, never crashes. */
static void
test_hostile_file(void **state)
{
	static const char *const lines[] = {
		BCRYPT_ALICE, SHA512_ALICE, APR1_ALICE, YESCRYPT_ALICE,
	};
	struct htpasswd *h;
	char buf[600], err[512];
	size_t len, i, j;
	unsigned int seed = 1;

	(void)state;
	for (i = 0; i < 400; i++) {
		if (i % 2 == 0) {
			len = (size_t)rand_r(&seed) % sizeof(buf);
			for (j = 0; j < len; j++)
				buf[j] = (char)rand_r(&seed);
		} else {
			/* A real line with a few bytes changed. */
			len = (size_t)snprintf(buf, sizeof(buf), "%s\n",
			    lines[(i / 2) % nitems(lines)]);
			for (j = 0; j < 3; j++)
				buf[(size_t)rand_r(&seed) % len] =
				    (char)rand_r(&seed);
		}
		h = htpasswd_load(write_bytes(buf, len), err, sizeof(err));
		if (h != NULL) {
			htpasswd_check(h, "alice", "pw");
			htpasswd_free(h);
		}
		unlink(path);
	}
}

static void
test_parse_basic(void **state)
{
	static const char *const bad[] = {
		"Basic YWxpY2Vwdw==",		/* no colon */
		"Basic YWwAaWNlOnB3",		/* a NUL byte */
		"Basic YQFiOnB3",		/* a control character in user */
		"Basic YWxp!2U6cHc=",
		"Basic YWxpY2U6cHc",		/* not a multiple of 4 */
		"Basic =YWxpY2U6cHc",
		"Basic YWxpY2U6c=c=",
		"Basic YWxpY2U6cHc= x",
		"Basic YWxpY2U6 cHc=",
		"Basic ",
		"Basic",
		"BasicYWxpY2U6cHc=",
		"Bearer YWxpY2U6cHc=",
		"Digest username=\"alice\"",
		"",
	};
	char user[16], pass[16], *big;
	size_t i;

	(void)state;
	assert_int_equal(htpasswd_parse_basic("Basic YWxpY2U6cHc=", user,
	    sizeof(user), pass, sizeof(pass)), 0);
	assert_string_equal(user, "alice");
	assert_string_equal(pass, "pw");
	assert_int_equal(htpasswd_parse_basic("basic YWxpY2U6cHc=", user,
	    sizeof(user), pass, sizeof(pass)), 0);
	assert_int_equal(htpasswd_parse_basic(" BASIC \tYWxpY2U6cHc=  ",
	    user, sizeof(user), pass, sizeof(pass)), 0);
	assert_string_equal(user, "alice");
	/* The password may be empty, and may hold colons and controls. */
	assert_int_equal(htpasswd_parse_basic("Basic YWxpY2U6", user,
	    sizeof(user), pass, sizeof(pass)), 0);
	assert_string_equal(user, "alice");
	assert_string_equal(pass, "");
	assert_int_equal(htpasswd_parse_basic("Basic Ym9iOnA6dw==", user,
	    sizeof(user), pass, sizeof(pass)), 0);
	assert_string_equal(user, "bob");
	assert_string_equal(pass, "p:w");
	assert_int_equal(htpasswd_parse_basic("Basic YWxpY2U6cAF3", user,
	    sizeof(user), pass, sizeof(pass)), 0);
	assert_string_equal(pass, "p\x01w");
	assert_int_equal(htpasswd_parse_basic("Basic OnB3", user,
	    sizeof(user), pass, sizeof(pass)), 0);
	assert_string_equal(user, "");

	for (i = 0; i < nitems(bad); i++) {
		strcpy(user, "x");
		strcpy(pass, "x");
		if (htpasswd_parse_basic(bad[i], user, sizeof(user), pass,
		    sizeof(pass)) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_string_equal(user, "");
		assert_string_equal(pass, "");
	}
	assert_int_equal(htpasswd_parse_basic(NULL, user, sizeof(user), pass,
	    sizeof(pass)), -1);

	/* Too long: for the buffers given, or for any. */
	assert_int_equal(htpasswd_parse_basic("Basic YWxpY2U6cHc=", user, 5,
	    pass, sizeof(pass)), -1);
	assert_int_equal(htpasswd_parse_basic("Basic YWxpY2U6cHc=", user, 6,
	    pass, 2), -1);
	assert_int_equal(htpasswd_parse_basic("Basic YWxpY2U6cHc=", user, 6,
	    pass, 3), 0);
	assert_non_null(big = malloc(4000));
	strcpy(big, "Basic ");
	memset(big + 6, 'Q', 3000);
	big[3006] = '\0';
	assert_int_equal(htpasswd_parse_basic(big, user, sizeof(user), pass,
	    sizeof(pass)), -1);
	free(big);
}

static void
test_hash(void **state)
{
	struct htpasswd *h;
	char hash[HTPASSWD_HASH_MAX], hash2[HTPASSWD_HASH_MAX], text[256];
	char err[256], *big;

	(void)state;
	assert_int_equal(htpasswd_hash("s3cret", 0, hash, sizeof(hash), err,
	    sizeof(err)), 0);
	assert_int_equal(strncmp(hash, "$2y$10$", 7), 0);
	assert_int_equal(strlen(hash), 60);
	assert_int_equal(htpasswd_hash("s3cret", 0, hash2, sizeof(hash2), err,
	    sizeof(err)), 0);
	assert_string_not_equal(hash, hash2);	/* salted */
	snprintf(text, sizeof(text), "alice:%s\n", hash);
	h = must_load(text);
	assert_int_equal(htpasswd_check(h, "alice", "s3cret"), 1);
	assert_int_equal(htpasswd_check(h, "alice", "s3cre"), 0);
	htpasswd_free(h);

	assert_int_equal(htpasswd_hash("x", 4, hash, sizeof(hash), err,
	    sizeof(err)), 0);
	assert_int_equal(strncmp(hash, "$2y$04$", 7), 0);
	assert_int_equal(htpasswd_hash("x", 18, hash, sizeof(hash), err,
	    sizeof(err)), -1);
	assert_string_equal(err, "bcrypt cost 18: expected 4 to 17");
	assert_int_equal(htpasswd_hash("x", 4, hash, 20, err, sizeof(err)),
	    -1);
	assert_non_null(big = calloc(1, HTPASSWD_PASS_MAX + 2));
	memset(big, 'a', HTPASSWD_PASS_MAX + 1);
	assert_int_equal(htpasswd_hash(big, 4, hash, sizeof(hash), err,
	    sizeof(err)), -1);
	assert_string_equal(err, "password longer than 511 bytes");
	free(big);
}

/*
 * Mixed hash types (issue 13, item 6): an unknown user is checked against
 * the costliest entry, and a failure lasts at least as long as the slowest
 * check seen, so that its time tells neither which users exist nor which
 * hash they have.  Lower bounds only: a sleep makes them certain.
 */
static int64_t
check_ns(struct htpasswd *h, const char *user, const char *pw, int *ok)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	*ok = htpasswd_check(h, user, pw);
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (int64_t)(b.tv_sec - a.tv_sec) * 1000000000 +
	    (b.tv_nsec - a.tv_nsec);
}

static void
test_failure_timing(void **state)
{
	struct htpasswd *h;
	char text[512], hash[HTPASSWD_HASH_MAX], err[256];
	int64_t slow;
	int ok;

	(void)state;
	assert_int_equal(htpasswd_hash("pw", 8, hash, sizeof(hash), err,
	    sizeof(err)), 0);
	snprintf(text, sizeof(text), "%s\nbob:%s\n", APR1_ALICE, hash);
	h = must_load(text);
	/* Sorted alice, bob: the decoy is bob's bcrypt, not alice's MD5. */
	assert_string_equal(h->ent[h->decoy].user, "bob");

	(void)check_ns(h, "bob", "wrong", &ok);
	assert_int_equal(ok, 0);
	slow = h->slow_ns;
	assert_true(slow > 0);
	/* alice's MD5 takes microseconds; her failure waits for bob's. */
	assert_true(check_ns(h, "alice", "wrong", &ok) >= slow);
	assert_int_equal(ok, 0);
	assert_true(check_ns(h, "nobody", "wrong", &ok) >= slow);
	assert_int_equal(ok, 0);
	assert_string_equal(h->ent[h->decoy].user, "bob");
	/* A right password is not held back. */
	assert_int_equal(htpasswd_check(h, "alice", "pw"), 1);
	htpasswd_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_bcrypt_variants),
		cmocka_unit_test(test_more_vectors),
		cmocka_unit_test(test_weak_warning),
		cmocka_unit_test(test_mode_warning),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_buffer_fits),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_cached),
		cmocka_unit_test(test_ref),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_cached_while_hashing),
		cmocka_unit_test(test_hostile_check),
		cmocka_unit_test(test_hostile_file),
		cmocka_unit_test(test_parse_basic),
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_failure_timing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
