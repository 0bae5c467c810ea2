/*
 * HTTP Basic credentials, the value of an Authorization header
 * (htpasswd_parse_basic), with the buffers the daemon gives it.
 */
#include "fuzz.h"

#include "htpasswd.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char user[HTPASSWD_USER_MAX + 1], pass[HTPASSWD_PASS_MAX + 1];
	char small[4], *h = fuzz_strndup(data, size);
	size_t i;

	if (htpasswd_parse_basic(h, user, sizeof(user), pass,
	    sizeof(pass)) == 0) {
		FUZZ_ASSERT(strchr(user, ':') == NULL);
		for (i = 0; user[i] != '\0'; i++)
			FUZZ_ASSERT((unsigned char)user[i] >= 0x20 &&
			    user[i] != 0x7f);
	} else
		FUZZ_ASSERT(user[0] == '\0' && pass[0] == '\0');
	/* Buffers too small for what is in the header. */
	if (htpasswd_parse_basic(h, small, sizeof(small), small,
	    sizeof(small)) == 0)
		FUZZ_ASSERT(strlen(small) < sizeof(small));
	free(h);
	return 0;
}
