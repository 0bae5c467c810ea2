/*
 * NAT-PMP and PCP datagrams from the router: replies to our requests
 * (pmp_parse_reply, RFC 6886 sections 3.2 and 3.3) and the announcements
 * portkeeperd listens for on 224.0.0.1:5350 (watch_parse_announce,
 * RFC 6886 section 3.2.1 and RFC 6887 section 14.1), which lives in the
 * daemon's own watch.c.
 */
#include "fuzz.h"

/* Static helpers and all: the daemon's files are not in the library. */
#include "../../daemon/watch.c"

#include "pmp.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pmp_reply r;
	uint32_t epoch = 0;
	uint16_t port;
	int op;

	/* pmp_read reads into 64 bytes, watch_read into 2048. */
	if (size > 2048)
		return 0;
	/* The port we asked about: the one in the reply, and another. */
	port = size >= 10 ? (uint16_t)(data[8] << 8 | data[9]) : 0;
	for (op = PMP_OP_PUBLIC; op <= PMP_OP_MAP_TCP; op++) {
		if (size <= 64 && pmp_parse_reply(data, size, op, port,
		    &r) == 0) {
			FUZZ_ASSERT(r.op == op);
			FUZZ_ASSERT(r.result != 0 || op == PMP_OP_PUBLIC ||
			    r.int_port == port);
		}
		if (size <= 64)
			pmp_parse_reply(data, size, op, (uint16_t)(port + 1), &r);
	}
	if (watch_parse_announce(data, size, &epoch) == 1 && data[0] == 0 &&
	    size <= 64) {
		/* A NAT-PMP announcement is a public address reply. */
		FUZZ_ASSERT(pmp_parse_reply(data, size, PMP_OP_PUBLIC, 0,
		    &r) == 0);
		FUZZ_ASSERT(r.epoch == epoch);
	}
	return 0;
}
