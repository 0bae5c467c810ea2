#include <arpa/inet.h>
#include <string.h>

#include "addr6.h"

/*
 * The IANA IPv6 Special-Purpose Address Registry (RFC 6890 section 2.2.3
 * and its later entries) and the architecture's blocks (RFC 4291 section
 * 2.4), each with its "globally reachable" answer folded into its class.
 * The few globally reachable blocks inside 2001::/23 are listed as global
 * so that the longest match keeps them so.
 */
static const struct {
	unsigned char	 p[16];
	int		 len;
	enum addr6_class cls;
	const char	*phrase;
} addr6_blocks[] = {
	{ { 0 }, 128, ADDR6_UNSPECIFIED, "the unspecified address (::)" },
	{ { [15] = 1 }, 128, ADDR6_LOOPBACK, "the loopback address (::1)" },
	{ { [10] = 0xff, [11] = 0xff }, 96, ADDR6_V4MAPPED,
	    "an IPv4-mapped address (::ffff:0:0/96)" },
	/* RFC 6052: an IPv4 address seen through NAT64, never a host's. */
	{ { 0, 0x64, 0xff, 0x9b }, 96, ADDR6_SPECIAL,
	    "a NAT64 address (64:ff9b::/96)" },
	{ { 0, 0x64, 0xff, 0x9b, 0, 1 }, 48, ADDR6_SPECIAL,
	    "a local-use NAT64 address (64:ff9b:1::/48)" },
	{ { 1, 0 }, 64, ADDR6_SPECIAL, "a discard-only address (100::/64)" },
	{ { 1, 0, 0, 0, 0, 0, 0, 1 }, 64, ADDR6_SPECIAL,
	    "a dummy-prefix address (100:0:0:1::/64)" },
	{ { 0x20, 0x01 }, 23, ADDR6_SPECIAL,
	    "an IETF protocol assignment (2001::/23)" },
	{ { 0x20, 0x01 }, 32, ADDR6_SPECIAL,
	    "a Teredo tunnel address (2001::/32)" },
	{ { 0x20, 0x01, 0, 1, [15] = 1 }, 128, ADDR6_GLOBAL,
	    "the PCP anycast address (2001:1::1)" },
	{ { 0x20, 0x01, 0, 1, [15] = 2 }, 128, ADDR6_GLOBAL,
	    "the TURN anycast address (2001:1::2)" },
	{ { 0x20, 0x01, 0, 1, [15] = 3 }, 128, ADDR6_GLOBAL,
	    "the DNS-SD service registration anycast address (2001:1::3)" },
	{ { 0x20, 0x01, 0, 2, 0, 0 }, 48, ADDR6_SPECIAL,
	    "a benchmarking address (2001:2::/48)" },
	{ { 0x20, 0x01, 0, 3 }, 32, ADDR6_GLOBAL,
	    "an AMT address (2001:3::/32)" },
	{ { 0x20, 0x01, 0, 4, 0x01, 0x12 }, 48, ADDR6_GLOBAL,
	    "an AS112 address (2001:4:112::/48)" },
	{ { 0x20, 0x01, 0, 0x10 }, 28, ADDR6_SPECIAL,
	    "a deprecated ORCHID address (2001:10::/28)" },
	{ { 0x20, 0x01, 0, 0x20 }, 28, ADDR6_GLOBAL,
	    "an ORCHIDv2 address (2001:20::/28)" },
	{ { 0x20, 0x01, 0, 0x30 }, 28, ADDR6_GLOBAL,
	    "a drone remote ID tag (2001:30::/28)" },
	{ { 0x20, 0x01, 0x0d, 0xb8 }, 32, ADDR6_DOCUMENTATION,
	    "a documentation address (2001:db8::/32)" },
	/* RFC 7526 deprecated 6to4's relays; the registry leaves it N/A. */
	{ { 0x20, 0x02 }, 16, ADDR6_SPECIAL, "a 6to4 address (2002::/16)" },
	{ { 0x3f, 0xff }, 20, ADDR6_DOCUMENTATION,
	    "a documentation address (3fff::/20)" },
	{ { 0x5f, 0x00 }, 16, ADDR6_SPECIAL,
	    "a segment routing identifier (5f00::/16)" },
	{ { 0xfc }, 7, ADDR6_ULA, "a unique local address (fc00::/7)" },
	{ { 0xfe, 0x80 }, 10, ADDR6_LINKLOCAL,
	    "a link-local address (fe80::/10)" },
	{ { 0xfe, 0xc0 }, 10, ADDR6_RESERVED,
	    "a site-local address (fec0::/10, deprecated by RFC 3879)" },
	{ { 0xff }, 8, ADDR6_MULTICAST, "a multicast address (ff00::/8)" },
	{ { 0x20 }, 3, ADDR6_GLOBAL, "a global unicast address (2000::/3)" },
};

#define ADDR6_NBLOCKS	(sizeof(addr6_blocks) / sizeof(addr6_blocks[0]))

static bool
addr6_in_block(const struct in6_addr *a, const unsigned char p[16], int len)
{
	int full = len / 8, rest = len % 8;

	if (memcmp(a->s6_addr, p, (size_t)full) != 0)
		return false;
	return rest == 0 || ((a->s6_addr[full] ^ p[full]) &
	    (0xff << (8 - rest)) & 0xff) == 0;
}

/* The index of the longest block holding a, or -1 for none. */
static int
addr6_block(const struct in6_addr *a)
{
	int best = -1;
	size_t i;

	for (i = 0; i < ADDR6_NBLOCKS; i++)
		if (addr6_in_block(a, addr6_blocks[i].p, addr6_blocks[i].len) &&
		    (best == -1 || addr6_blocks[i].len > addr6_blocks[best].len))
			best = (int)i;
	return best;
}

enum addr6_class
addr6_classify(const struct in6_addr *a)
{
	int i = addr6_block(a);

	return i == -1 ? ADDR6_RESERVED : addr6_blocks[i].cls;
}

enum addr6_class
addr6_parse(const char *s, struct in6_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (s == NULL || strnlen(s, INET6_ADDRSTRLEN) >= INET6_ADDRSTRLEN ||
	    inet_pton(AF_INET6, s, out) != 1) {
		memset(out, 0, sizeof(*out));
		return ADDR6_INVALID;
	}
	return addr6_classify(out);
}

const char *
addr6_describe(const struct in6_addr *a)
{
	int i = addr6_block(a);

	return i == -1 ? "an address outside the global unicast range "
	    "(2000::/3)" : addr6_blocks[i].phrase;
}

const char *
addr6_class_str(enum addr6_class cls)
{
	switch (cls) {
	case ADDR6_GLOBAL:		return "global";
	case ADDR6_ULA:			return "ula";
	case ADDR6_LINKLOCAL:		return "link-local";
	case ADDR6_LOOPBACK:		return "loopback";
	case ADDR6_UNSPECIFIED:		return "unspecified";
	case ADDR6_MULTICAST:		return "multicast";
	case ADDR6_V4MAPPED:		return "ipv4-mapped";
	case ADDR6_DOCUMENTATION:	return "documentation";
	case ADDR6_SPECIAL:		return "special";
	case ADDR6_RESERVED:		return "reserved";
	case ADDR6_INVALID:		break;
	}
	return "invalid";
}
