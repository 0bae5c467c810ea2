/*
 * failalloc: an allocator that fails the Nth allocation on request, and
 * remembers what was allocated meanwhile so that a leak shows.
 *
 * failalloc.c defines malloc, calloc, realloc, reallocarray and free in the
 * program it is linked into.  A definition in the executable interposes on
 * every shared library (ELF symbol lookup starts there), so the
 * allocations of libc itself (fopen's FILE and buffer, strdup,
 * open_memstream), of cJSON and of inih are counted and can fail, not only
 * portkeeper's own.  The real work is done by glibc's __libc_malloc and
 * friends, which valgrind also intercepts, so the two can be combined
 * (valgrind --soname-synonyms=somalloc=nouserintercepts, so that it leaves
 * these definitions alone).
 *
 * Not thread-safe: the loaders run on one thread.
 */
#ifndef PK_FAILALLOC_H
#define PK_FAILALLOC_H

#include <stdbool.h>
#include <stddef.h>

enum failalloc_mode {
	FAILALLOC_ONCE,		/* only the Nth allocation fails */
	FAILALLOC_FROM,		/* the Nth and every later one fail */
};

/*
 * Starts counting allocations from 1 and recording them; the nth fails
 * (with errno ENOMEM, as glibc's do), never when n is 0.  Forgets what an
 * earlier arm recorded.
 */
void		failalloc_arm(unsigned long n, enum failalloc_mode mode);

/*
 * Stops counting and failing; returns how many allocations were asked for
 * since failalloc_arm.  Frees are still recorded, so that failalloc_live
 * keeps falling as the caller frees what was allocated while armed.
 */
unsigned long	failalloc_disarm(void);

/* Whether an allocation was failed since failalloc_arm. */
bool		failalloc_injected(void);

/* The code address that asked for the first failed allocation, or NULL. */
void		*failalloc_site(void);

/*
 * Allocations made while armed that are not freed yet; -1 when more were
 * live at once than the table holds (the check is then impossible).
 */
long		failalloc_live(void);

#endif
