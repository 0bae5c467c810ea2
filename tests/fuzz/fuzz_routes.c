/*
 * The kernel's routing table as /proc/net/route prints it
 * (netinfo_parse_routes), from which portkeeper takes the default
 * gateway: the one router it trusts.
 */
#include "fuzz.h"

#include <arpa/inet.h>

#include "netinfo.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in_addr gw;
	char ifname[IF_NAMESIZE], *s = fuzz_strndup(data, size);

	if (netinfo_parse_routes(s, &gw, ifname) == 0) {
		FUZZ_ASSERT(strlen(ifname) < IF_NAMESIZE);
		FUZZ_ASSERT(gw.s_addr != 0);
	}
	free(s);
	return 0;
}
