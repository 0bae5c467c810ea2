#include <arpa/inet.h>
#include <string.h>

#include "addr.h"

static const struct {
	uint32_t	 net;
	int		 len;
	enum addr_class	 cls;
} ranges[] = {
	{ 0x00000000, 8, ADDR_UNSPECIFIED },	/* 0.0.0.0/8 */
	{ 0x0a000000, 8, ADDR_PRIVATE },	/* 10.0.0.0/8 */
	{ 0x64400000, 10, ADDR_CGNAT },		/* 100.64.0.0/10 */
	{ 0x7f000000, 8, ADDR_LOOPBACK },	/* 127.0.0.0/8 */
	{ 0xa9fe0000, 16, ADDR_LINKLOCAL },	/* 169.254.0.0/16 */
	{ 0xac100000, 12, ADDR_PRIVATE },	/* 172.16.0.0/12 */
	{ 0xc0000000, 24, ADDR_RESERVED },	/* 192.0.0.0/24 */
	{ 0xc0000200, 24, ADDR_RESERVED },	/* 192.0.2.0/24 */
	{ 0xc0586300, 24, ADDR_RESERVED },	/* 192.88.99.0/24 */
	{ 0xc0a80000, 16, ADDR_PRIVATE },	/* 192.168.0.0/16 */
	{ 0xc6120000, 15, ADDR_RESERVED },	/* 198.18.0.0/15 */
	{ 0xc6336400, 24, ADDR_RESERVED },	/* 198.51.100.0/24 */
	{ 0xcb007100, 24, ADDR_RESERVED },	/* 203.0.113.0/24 */
	{ 0xe0000000, 4, ADDR_MULTICAST },	/* 224.0.0.0/4 */
	{ 0xf0000000, 4, ADDR_RESERVED },	/* 240.0.0.0/4 and broadcast */
};

enum addr_class
addr_classify(struct in_addr in)
{
	uint32_t a = ntohl(in.s_addr);
	size_t i;

	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		uint32_t mask = 0xffffffffu << (32 - ranges[i].len);

		if ((a & mask) == ranges[i].net)
			return ranges[i].cls;
	}
	return ADDR_PUBLIC;
}

enum addr_class
addr_parse(const char *s, struct in_addr *out)
{
	struct in_addr in;

	memset(out, 0, sizeof(*out));
	if (s == NULL || *s == '\0')
		return ADDR_NONE;
	if (strnlen(s, 16) > 15 || inet_pton(AF_INET, s, &in) != 1)
		return ADDR_INVALID;
	*out = in;
	return addr_classify(in);
}

const char *
addr_class_str(enum addr_class cls)
{
	switch (cls) {
	case ADDR_NONE:		return "none";
	case ADDR_PUBLIC:	return "public";
	case ADDR_PRIVATE:	return "private";
	case ADDR_CGNAT:	return "carrier-grade NAT";
	case ADDR_LOOPBACK:	return "loopback";
	case ADDR_LINKLOCAL:	return "link-local";
	case ADDR_UNSPECIFIED:	return "unspecified";
	case ADDR_MULTICAST:	return "multicast";
	case ADDR_RESERVED:	return "reserved";
	case ADDR_INVALID:	break;
	}
	return "invalid";
}

bool
addr_class_is_public(enum addr_class cls)
{
	return cls == ADDR_PUBLIC;
}
