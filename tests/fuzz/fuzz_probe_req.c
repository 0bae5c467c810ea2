/*
 * Requests to the probe server: the body of POST /probe
 * (probe_req_parse), which anyone on the internet can send.  The server
 * hands over at most PROBE_BODY_MAX bytes, not NUL-terminated.
 */
#include "fuzz.h"

#include "probe.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct probe_req r;
	char field[48], msg[256];

	if (size > PROBE_BODY_MAX)
		return 0;
	msg[0] = '\0';
	if (probe_req_parse((const char *)data, size, &r, field,
	    sizeof(field), msg, sizeof(msg)) == 0) {
		FUZZ_ASSERT(r.port >= 1);
		FUZZ_ASSERT(r.proto == PM_TCP || r.proto == PM_UDP);
		FUZZ_ASSERT(r.token[0] == '\0' || probe_token_ok(r.token));
		FUZZ_ASSERT(r.proto == PM_TCP || r.token[0] != '\0');
	} else
		FUZZ_ASSERT(msg[0] != '\0');
	return 0;
}
