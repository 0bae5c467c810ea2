#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
ms_until(int64_t deadline)
{
	int64_t left = deadline - mono_ms();

	if (left < 0)
		return 0;
	if (left > 3600 * 1000)
		return 3600 * 1000;
	return (int)left;
}

void
str_vappendf(char *buf, size_t sz, const char *fmt, va_list ap)
{
	size_t n = strlen(buf);

	if (n + 1 < sz)
		vsnprintf(buf + n, sz - n, fmt, ap);
}

int
str_copy(char *dst, const char *src, size_t dstsz)
{
	size_t n;

	if (dstsz == 0)
		return -1;
	n = strlen(src);
	if (n >= dstsz) {
		memcpy(dst, src, dstsz - 1);
		dst[dstsz - 1] = '\0';
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

void
str_printable(char *dst, size_t dstlen, const char *s)
{
	size_t i;

	if (dstlen == 0)
		return;
	for (i = 0; s[i] != '\0' && i + 1 < dstlen; i++)
		dst[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	dst[i] = '\0';
}

int
parse_uint(const char *s, unsigned long min, unsigned long max,
    unsigned long *out)
{
	unsigned long v = 0;
	const char *p;

	if (s == NULL || *s == '\0')
		return -1;
	/* strtoul accepts signs and spaces; a port or lease must be digits. */
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		if (v > (ULONG_MAX - (unsigned long)(*p - '0')) / 10)
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > max)
			return -1;
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* write(2) until everything is out. */
static int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* file_write_atomic, and file_write_runtime when !durable: no fsync. */
static int
file_write(const char *dir, const char *name, const char *text, size_t len,
    unsigned int mode, bool durable, char *err, size_t errlen)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	int fd, dfd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, name) >=
	    sizeof(tmp)) {
		snprintf(err, errlen, "%s: directory name too long", dir);
		return -1;
	}
	fd = open(tmp, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC | O_NOFOLLOW,
	    (mode_t)mode);
	if (fd == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	/* A temporary file left by a crash keeps its mode; umask may vary. */
	if (fchmod(fd, (mode_t)mode) == -1 || write_all(fd, text, len) == -1 ||
	    (durable && fsync(fd) == -1)) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	/* close can report a delayed write error (NFS); do not ignore it. */
	if (close(fd) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) == -1) {
		snprintf(err, errlen, "rename %s to %s: %s", tmp, path,
		    strerror(errno));
		unlink(tmp);
		return -1;
	}
	/*
	 * The rename lives in the directory; until the directory is on disk,
	 * a power cut may bring back the old file.  The new one is in place
	 * either way, so there is nothing to clean up if this fails.
	 */
	if (!durable)
		return 0;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (fsync(dfd) == -1) {
		snprintf(err, errlen, "fsync %s: %s", dir, strerror(errno));
		close(dfd);
		return -1;
	}
	close(dfd);
	return 0;
}

int
file_write_atomic(const char *dir, const char *name, const char *text,
    size_t len, unsigned int mode, char *err, size_t errlen)
{
	return file_write(dir, name, text, len, mode, true, err, errlen);
}

int
file_write_runtime(const char *dir, const char *name, const char *text,
    size_t len, unsigned int mode, char *err, size_t errlen)
{
	return file_write(dir, name, text, len, mode, false, err, errlen);
}

int
file_read_bounded(const char *path, size_t max, char **out, size_t *outlen,
    char *err, size_t errlen)
{
	struct stat sb;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, rc = -1;

	*out = NULL;
	*outlen = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if ((uintmax_t)sb.st_size > max) {
		snprintf(err, errlen, "%s: %jd bytes, larger than the %zu "
		    "allowed", path, (intmax_t)sb.st_size, max);
		goto out;
	}
	/*
	 * Read until end of file rather than trusting st_size, which can
	 * change under us; one byte more than the limit tells a file that
	 * grew too big.  The NUL after the text is for parsers of strings.
	 */
	if ((buf = malloc(max + 2)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	for (;;) {
		n = read(fd, buf + len, max + 1 - len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			snprintf(err, errlen, "%s: larger than the %zu bytes "
			    "allowed", path, max);
			goto out;
		}
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	buf = NULL;
	rc = 1;
 out:
	free(buf);
	close(fd);
	return rc;
}
