/*
 * htpasswd files (htpasswd_load): the input is the file.  htpasswd_load
 * reads a path, so the input goes into a memory file (memfd) and is
 * loaded through /proc/self/fd; no disk is touched.  Loading checks the
 * shape of every hash but runs none (htpasswd_check would run bcrypt), so
 * a loaded file is only counted.
 */
#include <sys/mman.h>

#include <unistd.h>

#include "fuzz.h"

#include "htpasswd.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct htpasswd *h;
	char path[64], err[512];
	size_t off = 0;
	ssize_t n;
	int fd;

	FUZZ_ASSERT((fd = memfd_create("htpasswd", MFD_CLOEXEC)) != -1);
	while (off < size) {
		FUZZ_ASSERT((n = write(fd, data + off, size - off)) > 0);
		off += (size_t)n;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	err[0] = '\0';
	if ((h = htpasswd_load(path, err, sizeof(err))) != NULL) {
		FUZZ_ASSERT(htpasswd_count(h) > 0);
		htpasswd_free(h);
	} else
		FUZZ_ASSERT(err[0] != '\0');
	close(fd);
	return 0;
}
