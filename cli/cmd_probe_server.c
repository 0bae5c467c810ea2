/*
 * portkeeper probe-server runs the program portkeeper-probe-server (see
 * probe/probed.c), so that the command line itself does not link
 * libmicrohttpd and GnuTLS.  The program is looked for beside this one (the
 * build tree) and then in ../libexec/portkeeper/ from it (an installed
 * tree, whatever its prefix), never through PATH.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "util.h"

#define PROBED_NAME	"portkeeper-probe-server"

int
cmd_probe_server(int argc, char **argv)
{
	static const char *const where[] = { "", "/../libexec/portkeeper" };
	char self[PATH_MAX], path[PATH_MAX + 64], *dir;
	ssize_t n;
	size_t i;
	int e = ENOENT;

	(void)argc;
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) == -1) {
		fprintf(stderr, "portkeeper: cannot find where portkeeper "
		    "is installed (/proc/self/exe): %s\n", strerror(errno));
		return 1;
	}
	self[n] = '\0';
	dir = dirname(self);
	for (i = 0; i < nitems(where); i++) {
		snprintf(path, sizeof(path), "%s%s/%s", dir, where[i],
		    PROBED_NAME);
		execv(path, argv);
		if (errno != ENOENT)
			e = errno;
	}
	fprintf(stderr, "portkeeper: probe-server is the program %s, which "
	    "is not in %s nor in %s/../libexec/portkeeper: %s; reinstall "
	    "portkeeper\n", PROBED_NAME, dir, dir, strerror(e));
	return 1;
}
