/*
 * A new bcrypt hash for portkeeper passwd.  Apart from the parser
 * (htpasswd.c), so that a program that only reads password files (the
 * daemon checks one at start-up with -n) does not load libcrypt.
 */
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "htpasswd.h"
#include "htpasswd_impl.h"
#include "util.h"

int
htpasswd_hash(const char *password, int cost, char *out, size_t outlen,
    char *err, size_t errlen)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	const char *h;
	int rc = -1;

	if (cost <= 0)
		cost = BCRYPT_COST_DEFAULT;
	if (cost < 4 || cost > BCRYPT_COST_MAX) {
		snprintf(err, errlen, "bcrypt cost %d: expected 4 to %d", cost,
		    BCRYPT_COST_MAX);
		return -1;
	}
	if (strnlen(password, HTPASSWD_PASS_MAX + 1) > HTPASSWD_PASS_MAX) {
		snprintf(err, errlen, "password longer than %d bytes",
		    HTPASSWD_PASS_MAX);
		return -1;
	}
	if (crypt_gensalt_rn("$2y$", (unsigned long)cost, NULL, 0, setting,
	    sizeof(setting)) == NULL) {
		snprintf(err, errlen, "cannot make a bcrypt salt: %s",
		    strerror(errno));
		return -1;
	}
	if ((cd = calloc(1, sizeof(*cd))) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	h = crypt_r(password, setting, cd);
	if (h == NULL || h[0] == '*' || strncmp(h, "$2y$", 4) != 0)
		snprintf(err, errlen, "bcrypt failed: %s", strerror(errno));
	else if (str_copy(out, h, outlen) == -1)
		snprintf(err, errlen, "no room for the hash");
	else
		rc = 0;
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return rc;
}
