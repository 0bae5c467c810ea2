/*
 * rtnetlink messages (netinfo_nl_walk, netinfo_parse_addrs,
 * netinfo6_parse_addrs, netinfo6_parse_routes): the RTM_NEWADDR dumps
 * portkeeper doctor reads to learn whether this host's address is from
 * DHCP, the IPv6 address and route dumps that choose what to open, through the one walk portkeeperd's watcher also
 * reads its address, route and link news with.  The kernel is trusted, but
 * the walk follows lengths it reads from the buffer, so it is held to the
 * same bounds as the network's.
 *
 * Input: 4 bytes of the address to look for, then the buffer.
 */
#include "fuzz.h"

#include "netinfo.h"
#include "netinfo6.h"

struct span {
	const unsigned char	*buf;
	size_t			 len;
};

/* Every payload the walk hands out lies within the buffer. */
static int
in_buffer(uint16_t type, const void *data, size_t len, void *arg)
{
	const struct span *sp = arg;
	const unsigned char *p = data;

	(void)type;
	FUZZ_ASSERT(p >= sp->buf && len <= sp->len &&
	    (size_t)(p - sp->buf) <= sp->len - len);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct netinfo_addr out;
	struct netinfo6_addrs *all;
	struct netinfo6_route r;
	int rc6;
	struct in_addr addr;
	struct span sp;
	void *buf;
	int rc;

	if (size < 4 || size > 4 + 32768)
		return 0;
	memcpy(&addr, data, 4);
	/* recv() fills an aligned buffer; NLMSG_OK needs the alignment. */
	FUZZ_ASSERT((buf = malloc(size - 4 > 0 ? size - 4 : 1)) != NULL);
	memcpy(buf, data + 4, size - 4);
	memset(&out, 0, sizeof(out));
	rc = netinfo_parse_addrs(buf, size - 4, addr, &out);
	FUZZ_ASSERT(rc >= -1 && rc <= 1);
	FUZZ_ASSERT(strlen(out.label) < sizeof(out.label));
	sp.buf = buf;
	sp.len = size - 4;
	FUZZ_ASSERT(netinfo_nl_walk(buf, size - 4, in_buffer, &sp) == rc ||
	    rc == -1);
	/* The IPv6 readers fail where the walk fails, and stay in bounds. */
	FUZZ_ASSERT((all = calloc(1, sizeof(*all))) != NULL);
	rc6 = netinfo6_parse_addrs(buf, size - 4, all);
	FUZZ_ASSERT(rc6 >= -1 && rc6 <= 1 && all->n <= NETINFO6_MAX_ADDRS);
	memset(&r, 0, sizeof(r));
	rc6 = netinfo6_parse_routes(buf, size - 4, &r);
	FUZZ_ASSERT(rc6 >= -1 && rc6 <= 1 && (!r.found || r.ifindex != 0));
	free(all);
	free(buf);
	return 0;
}
