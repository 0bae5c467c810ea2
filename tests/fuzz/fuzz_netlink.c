/*
 * rtnetlink address dumps (doctor_parse_addrs): the RTM_NEWADDR messages
 * portkeeper doctor reads to learn whether this host's address is from
 * DHCP.  The kernel is trusted, but the parser walks lengths it reads
 * from the buffer, so it is held to the same bounds as the network's.
 *
 * Input: 4 bytes of the address to look for, then the buffer.
 */
#include "fuzz.h"

#include "doctor.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct doctor_addr out;
	struct in_addr addr;
	void *buf;
	int rc;

	if (size < 4 || size > 4 + 32768)
		return 0;
	memcpy(&addr, data, 4);
	/* recv() fills an aligned buffer; NLMSG_OK needs the alignment. */
	FUZZ_ASSERT((buf = malloc(size - 4 > 0 ? size - 4 : 1)) != NULL);
	memcpy(buf, data + 4, size - 4);
	memset(&out, 0, sizeof(out));
	rc = doctor_parse_addrs(buf, size - 4, addr, &out);
	FUZZ_ASSERT(rc >= -1 && rc <= 1);
	FUZZ_ASSERT(strlen(out.label) < sizeof(out.label));
	free(buf);
	return 0;
}
