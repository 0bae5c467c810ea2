/*
 * What the fuzz targets share (tests/fuzz/README.md).  Each fuzz_NAME.c
 * defines LLVMFuzzerTestOneInput for one of portkeeper's parsers; it is
 * linked with libFuzzer by make fuzz, and with replay.c (a plain main that
 * feeds it every file of corpus/NAME/) by make check.
 */
#ifndef PK_FUZZ_H
#define PK_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * A property the parser promised does not hold: say which and abort, which
 * both libFuzzer and the replay driver report as a failure of this input.
 */
#define FUZZ_ASSERT(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: fuzz check failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

/*
 * The n bytes at p as a NUL-terminated string, the way callers hand text
 * that came off the network or out of a file to a parser that takes a C
 * string.  An embedded NUL simply ends it early.  Free with free().
 */
static inline char *
fuzz_strndup(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	FUZZ_ASSERT(s != NULL);
	if (n > 0)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/*
 * Splits a NUL-terminated copy of the input (in buf, freed by the caller)
 * into at most max fields at '\n'; the last field takes the rest, newlines
 * and all.  Fields the input does not reach are NULL, so that a target can
 * fuzz "header absent" as well as "header empty".  Returns the count.
 */
static inline size_t
fuzz_fields(const uint8_t *data, size_t size, char **buf, char **f,
    size_t max)
{
	char *p, *nl;
	size_t n = 0;

	*buf = p = fuzz_strndup(data, size);
	memset(f, 0, max * sizeof(*f));
	if (size == 0 || max == 0)
		return 0;
	while (n < max) {
		f[n++] = p;
		if (n == max || (nl = strchr(p, '\n')) == NULL)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	return n;
}

#endif
