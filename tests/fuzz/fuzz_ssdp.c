/*
 * SSDP datagrams from the LAN (ssdp_parse): M-SEARCH answers that
 * ssdp_search reads and the NOTIFYs portkeeperd's watcher hears, and the
 * description URL they carry (ssdp_url_addr), which must name the
 * gateway.  Datagrams arrive as they are, without a NUL after them.
 */
#include "fuzz.h"

#include "ssdp.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ssdp_msg m;
	struct in_addr a;
	uint16_t port;
	char *s;

	/* Both readers use a buffer of 1500 or 2048 bytes. */
	if (size > 2048)
		return 0;
	if (ssdp_parse((const char *)data, size, &m) == 0) {
		FUZZ_ASSERT(m.kind != SSDP_OTHER);
		FUZZ_ASSERT(strlen(m.location) < sizeof(m.location));
		if (ssdp_url_addr(m.location, &a, &port) == 0)
			FUZZ_ASSERT(port >= 1);
	}
	/* The control URL from the router's description, as miniupnpc gives
	 * it. */
	s = fuzz_strndup(data, size);
	if (ssdp_url_addr(s, &a, &port) == 0)
		FUZZ_ASSERT(port >= 1);
	free(s);
	return 0;
}
