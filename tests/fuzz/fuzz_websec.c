/*
 * The web API's request checks on header values: Host against the
 * allow-list (websec_host_allowed), Origin and Sec-Fetch-Site
 * (websec_same_origin), Content-Type (websec_is_json), and the
 * allowed_hosts list of the configuration (websec_parse_hosts).
 *
 * Input: lines "Host", "Origin", "Sec-Fetch-Site", "Content-Type", then
 * the allowed_hosts value; a line the input does not reach is a header
 * the request does not have.
 */
#include "fuzz.h"

#include "websec.h"

#define HOSTS_MAX	32	/* as in pkd_api.c */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *f[5], hostbuf[512], err[256];
	const char *hosts[HOSTS_MAX];
	int n;

	fuzz_fields(data, size, &buf, f, 5);
	n = websec_parse_hosts(f[4], hostbuf, sizeof(hostbuf), hosts,
	    HOSTS_MAX, err, sizeof(err));
	FUZZ_ASSERT(n >= -1 && n <= HOSTS_MAX);
	if (n == -1) {
		FUZZ_ASSERT(err[0] != '\0');
		n = 0;
	}
	if (websec_host_allowed(f[0], hosts, (size_t)n)) {
		FUZZ_ASSERT(f[0] != NULL && f[0][0] != '\0');
		/* What the daemon checks next for a write. */
		websec_same_origin(f[1], f[2], f[0]);
	}
	websec_same_origin(f[1], f[2], f[0]);
	websec_is_json(f[3]);
	/* An allow-list entry is itself an allowed Host. */
	if (n > 0 && strchr(hosts[0], ':') == NULL)
		FUZZ_ASSERT(websec_host_allowed(hosts[0], hosts, (size_t)n));
	free(buf);
	return 0;
}
