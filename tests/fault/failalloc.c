/*
 * failalloc: see failalloc.h.  glibc documents this way of replacing its
 * allocator ("Replacing malloc" in its manual): malloc, free, calloc and
 * realloc defined by the program are used by the whole process, libc's own
 * calls included.  memalign and the like stay glibc's; nothing here uses
 * them, and their blocks are freed by __libc_free all the same.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "failalloc.h"

void	*__libc_malloc(size_t);
void	*__libc_calloc(size_t, size_t);
void	*__libc_realloc(void *, size_t);
void	 __libc_free(void *);

/*
 * The pointers allocated while armed, in an open-addressed table with
 * linear probing.  A freed slot becomes a tombstone, so that probing goes
 * on past it; the table is cleared at each arm.
 */
#define TABLE_SIZE	(1u << 14)
#define TOMBSTONE	((void *)1)

static void		*table[TABLE_SIZE];
static long		 live;
static bool		 overflow;

static bool		 armed;
static unsigned long	 count, fail_at;
static enum failalloc_mode mode;
static bool		 injected;
static void		*site;

static size_t
slot_of(const void *p)
{
	uintptr_t h = (uintptr_t)p;

	h ^= h >> 17;
	h *= 0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 40) & (TABLE_SIZE - 1);
}

static void
remember(void *p)
{
	size_t i, n;

	for (i = slot_of(p), n = 0; n < TABLE_SIZE; i = (i + 1) &
	    (TABLE_SIZE - 1), n++) {
		if (table[i] == NULL || table[i] == TOMBSTONE) {
			table[i] = p;
			live++;
			return;
		}
	}
	overflow = true;
}

/* Forgets p if it was remembered. */
static void
forget(void *p)
{
	size_t i, n;

	if (p == NULL)
		return;
	for (i = slot_of(p), n = 0; n < TABLE_SIZE && table[i] != NULL;
	    i = (i + 1) & (TABLE_SIZE - 1), n++) {
		if (table[i] == p) {
			table[i] = TOMBSTONE;
			live--;
			return;
		}
	}
}

/* Whether this allocation is to fail; counts it. */
static bool
should_fail(void *caller)
{
	if (!armed)
		return false;
	count++;
	if (fail_at == 0 || count < fail_at ||
	    (mode == FAILALLOC_ONCE && count != fail_at))
		return false;
	if (!injected)
		site = caller;
	injected = true;
	errno = ENOMEM;
	return true;
}

void *
malloc(size_t n)
{
	void *p;

	if (should_fail(__builtin_return_address(0)))
		return NULL;
	p = __libc_malloc(n);
	if (armed && p != NULL)
		remember(p);
	return p;
}

void *
calloc(size_t nmemb, size_t n)
{
	void *p;

	if (should_fail(__builtin_return_address(0)))
		return NULL;
	p = __libc_calloc(nmemb, n);
	if (armed && p != NULL)
		remember(p);
	return p;
}

static void *
do_realloc(void *old, size_t n, void *caller)
{
	void *p;

	/* glibc: realloc(p, 0) frees p; that is no allocation. */
	if (old != NULL && n == 0) {
		forget(old);
		return __libc_realloc(old, 0);
	}
	if (should_fail(caller))
		return NULL;
	if ((p = __libc_realloc(old, n)) == NULL)
		return NULL;
	/*
	 * A block allocated before arming and grown while armed counts as
	 * new: it must be freed by whoever grew it, or handed back.
	 */
	forget(old);
	if (armed)
		remember(p);
	return p;
}

void *
realloc(void *old, size_t n)
{
	return do_realloc(old, n, __builtin_return_address(0));
}

void *
reallocarray(void *old, size_t nmemb, size_t n)
{
	size_t total;

	if (__builtin_mul_overflow(nmemb, n, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return do_realloc(old, total, __builtin_return_address(0));
}

void
free(void *p)
{
	forget(p);
	__libc_free(p);
}

void
failalloc_arm(unsigned long n, enum failalloc_mode m)
{
	memset(table, 0, sizeof(table));
	live = 0;
	overflow = false;
	count = 0;
	fail_at = n;
	mode = m;
	injected = false;
	site = NULL;
	armed = true;
}

unsigned long
failalloc_disarm(void)
{
	armed = false;
	return count;
}

bool
failalloc_injected(void)
{
	return injected;
}

void *
failalloc_site(void)
{
	return site;
}

long
failalloc_live(void)
{
	return overflow ? -1 : live;
}
