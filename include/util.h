/*
 * Small helpers shared by every module: monotonic time and bounded string
 * handling.
 *
 * util.c and log.c are the two exceptions to the rule that a file's
 * functions carry its name: these are named for what they do (mono_ms,
 * str_copy, parse_uint, file_write_atomic), like libc's, because every
 * module calls them, and log.c keeps OpenBSD's log_* and fatalx.
 */
#ifndef PK_UTIL_H
#define PK_UTIL_H

#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC; every lease and deadline uses this. */
int64_t	mono_ms(void);

/* Milliseconds left until deadline (never negative). */
int	ms_until(int64_t deadline);

/*
 * Copies src into dst of size dstsz, always NUL-terminating.  Returns 0, or
 * -1 when src did not fit (dst then holds a truncated copy).
 */
int	str_copy(char *dst, const char *src, size_t dstsz);

/*
 * Appends the formatted text to the string in buf of size sz, cut to fit:
 * for sentences built a clause at a time.
 */
void	str_vappendf(char *buf, size_t sz, const char *fmt, va_list ap)
	    __attribute__((format(printf, 3, 0)));

/*
 * Copies s into dst of size dstlen as printable ASCII (any other byte
 * becomes '?'), cut to fit: for text from a router, a peer or a file that
 * goes into a log line, a sentence or JSON.  dst may be s.
 */
void	str_printable(char *dst, size_t dstlen, const char *s);

/*
 * Parses a decimal unsigned integer in [min, max] that fills the whole
 * string: no sign, no spaces, no trailing characters.  Returns 0 or -1.
 */
int	parse_uint(const char *s, unsigned long min, unsigned long max,
	    unsigned long *out);

/*
 * Replaces dir/name with len bytes of text, atomically: a temporary file
 * (opened with O_NOFOLLOW, so a planted symbolic link cannot redirect the
 * write) is written, fsynced and renamed over it, and the directory is
 * fsynced.  mode is the file's.  0, or -1 with "PATH: reason" in err.
 */
int	file_write_atomic(const char *dir, const char *name, const char *text,
	    size_t len, unsigned int mode, char *err, size_t errlen);
/*
 * The same without the fsyncs, for a file in the runtime directory (/run or
 * $XDG_RUNTIME_DIR, a tmpfs that a reboot empties): the rename still keeps
 * it whole for a reader and after a crash of the writer, and a power cut
 * takes the whole directory anyway.
 */
int	file_write_runtime(const char *dir, const char *name, const char *text,
	    size_t len, unsigned int mode, char *err, size_t errlen);

/*
 * Reads the regular file path (not through a symbolic link), at most max
 * bytes, into *out (malloc'd, NUL-terminated) and *outlen.  1 read, 0 the
 * file does not exist, -1 with "PATH: reason" in err.
 */
int	file_read_bounded(const char *path, size_t max, char **out,
	    size_t *outlen, char *err, size_t errlen);

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

#endif
