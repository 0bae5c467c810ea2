/*
 * Which IPv6 address and router portkeeper opens (netinfo6): rtnetlink
 * address and route dumps built by hand, the kinds of address, the
 * preference between them, and the sentences for an --address refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netinfo6.h"
#include "nlbuf.h"

#define FOREVER	0xffffffffu

/* Appends an RTM_NEWADDR; flags go into IFA_FLAGS, their low byte too. */
static void
nl_addr6(struct nlbuf *nb, const char *addr, int plen, int ifindex,
    uint32_t flags, uint32_t valid, uint32_t preferred)
{
	struct nlmsghdr *nh = nl_begin(nb, RTM_NEWADDR,
	    sizeof(struct ifaddrmsg));
	struct ifaddrmsg *ifa = NLMSG_DATA(nh);
	struct ifa_cacheinfo ci;
	struct in6_addr a;

	ifa->ifa_family = AF_INET6;
	ifa->ifa_prefixlen = (unsigned char)plen;
	ifa->ifa_flags = (unsigned char)flags;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned)ifindex;
	assert_int_equal(inet_pton(AF_INET6, addr, &a), 1);
	nl_attr(nb, nh, IFA_ADDRESS, &a, 16);
	memset(&ci, 0, sizeof(ci));
	ci.ifa_valid = valid;
	ci.ifa_prefered = preferred;
	nl_attr(nb, nh, IFA_CACHEINFO, &ci, sizeof(ci));
	nl_attr(nb, nh, IFA_FLAGS, &flags, 4);
}

/* Appends an RTM_NEWROUTE to dst/dlen; gw NULL: none, metric 0: none. */
static struct nlmsghdr *
nl_route6(struct nlbuf *nb, int family, const char *dst, int dlen,
    const char *gw, int oif, uint32_t metric, uint32_t table, int rtype)
{
	struct nlmsghdr *nh = nl_begin(nb, RTM_NEWROUTE, sizeof(struct rtmsg));
	struct rtmsg *rtm = NLMSG_DATA(nh);
	unsigned char a[16];
	uint32_t u;

	rtm->rtm_family = (unsigned char)family;
	rtm->rtm_dst_len = (unsigned char)dlen;
	rtm->rtm_table = table < 256 ? (unsigned char)table : RT_TABLE_UNSPEC;
	rtm->rtm_protocol = RTPROT_RA;
	rtm->rtm_type = (unsigned char)rtype;
	u = table;
	nl_attr(nb, nh, RTA_TABLE, &u, 4);
	if (dst != NULL) {
		inet_pton(family, dst, a);
		nl_attr(nb, nh, RTA_DST, a, family == AF_INET ? 4 : 16);
	}
	if (metric != 0)
		nl_attr(nb, nh, RTA_PRIORITY, &metric, 4);
	if (gw != NULL) {
		inet_pton(family, gw, a);
		nl_attr(nb, nh, RTA_GATEWAY, a, family == AF_INET ? 4 : 16);
	}
	if (oif != 0) {
		u = (uint32_t)oif;
		nl_attr(nb, nh, RTA_OIF, &u, 4);
	}
	return nh;
}

static const char *
str6(const struct in6_addr *a)
{
	static char s[INET6_ADDRSTRLEN];

	return inet_ntop(AF_INET6, a, s, sizeof(s));
}

static int
parse_addrs(const void *buf, size_t len)
{
	static struct netinfo6_addrs all;

	memset(&all, 0, sizeof(all));
	return netinfo6_parse_addrs(buf, len, &all);
}

static int
parse_routes(const void *buf, size_t len)
{
	struct netinfo6_route r;

	memset(&r, 0, sizeof(r));
	return netinfo6_parse_routes(buf, len, &r);
}

/*
 * Cut short anywhere, in a buffer of just that size (so that ASan sees a
 * read past it): an error or an unfinished dump, never a finished one.
 */
static void
cut_short(const struct nlbuf *nb, int (*parse)(const void *, size_t))
{
	size_t cut;

	for (cut = 1; cut < nb->len; cut++) {
		unsigned char *copy = malloc(cut);

		memcpy(copy, nb->b, cut);
		assert_int_not_equal(parse(copy, cut), 1);
		free(copy);
	}
}

static void
test_parse_addrs6(void **state)
{
	static struct nlbuf nb;
	struct netinfo6_addrs all;
	struct nlmsghdr *nh;
	struct in_addr v4;
	size_t cut;

	(void)state;
	memset(&nb, 0, sizeof(nb));
	/* An IPv4 address in the same dump is not listed. */
	nh = nl_begin(&nb, RTM_NEWADDR, sizeof(struct ifaddrmsg));
	((struct ifaddrmsg *)NLMSG_DATA(nh))->ifa_family = AF_INET;
	inet_pton(AF_INET, "192.168.77.10", &v4);
	nl_attr(&nb, nh, IFA_LOCAL, &v4, 4);
	nl_addr6(&nb, "2a0c:7700:77::10", 64, 2,
	    IFA_F_PERMANENT | IFA_F_MANAGETEMPADDR, FOREVER, FOREVER);
	nl_addr6(&nb, "2a0c:7700:77:0:1ced:1f91:b517:bc78", 64, 2,
	    IFA_F_TEMPORARY, 86400, 3600);
	nl_done(&nb);

	memset(&all, 0, sizeof(all));
	assert_int_equal(netinfo6_parse_addrs(nb.b, nb.len, &all), 1);
	assert_int_equal(all.n, 2);
	assert_string_equal(str6(&all.a[0].addr), "2a0c:7700:77::10");
	assert_int_equal(all.a[0].ifindex, 2);
	assert_int_equal(all.a[0].prefixlen, 64);
	/* IFA_FLAGS carries what the 8-bit ifa_flags cannot. */
	assert_int_equal(all.a[0].flags,
	    IFA_F_PERMANENT | IFA_F_MANAGETEMPADDR);
	assert_int_equal(all.a[0].valid, FOREVER);
	assert_int_equal(all.a[1].flags, IFA_F_TEMPORARY);
	assert_int_equal(all.a[1].valid, 86400);
	assert_int_equal(all.a[1].preferred, 3600);

	cut_short(&nb, parse_addrs);

	/* An IFA_ADDRESS of 4 bytes in an AF_INET6 message is refused. */
	memset(&nb, 0, sizeof(nb));
	nh = nl_begin(&nb, RTM_NEWADDR, sizeof(struct ifaddrmsg));
	((struct ifaddrmsg *)NLMSG_DATA(nh))->ifa_family = AF_INET6;
	nl_attr(&nb, nh, IFA_ADDRESS, &v4, 4);
	memset(&all, 0, sizeof(all));
	assert_int_equal(netinfo6_parse_addrs(nb.b, nb.len, &all), -1);

	/* More addresses than fit: the first NETINFO6_MAX_ADDRS are kept. */
	memset(&nb, 0, sizeof(nb));
	for (cut = 0; cut < NETINFO6_MAX_ADDRS + 3; cut++) {
		char s[INET6_ADDRSTRLEN];

		snprintf(s, sizeof(s), "2a0c:7700:77::%zx", cut + 1);
		nl_addr6(&nb, s, 64, 2, IFA_F_PERMANENT, FOREVER, FOREVER);
	}
	memset(&all, 0, sizeof(all));
	assert_int_equal(netinfo6_parse_addrs(nb.b, nb.len, &all), 0);
	assert_int_equal(all.n, NETINFO6_MAX_ADDRS);
}

static void
test_parse_routes6(void **state)
{
	static struct nlbuf nb;
	struct netinfo6_route r;
	struct nlmsghdr *nh;

	(void)state;
	memset(&nb, 0, sizeof(nb));
	/* IPv4's default, an on-link prefix, other tables, unreachable. */
	nl_route6(&nb, AF_INET, NULL, 0, "192.168.77.1", 2, 1, RT_TABLE_MAIN,
	    RTN_UNICAST);
	nl_route6(&nb, AF_INET6, "2a0c:7700:77::", 64, NULL, 2, 256,
	    RT_TABLE_MAIN, RTN_UNICAST);
	nl_route6(&nb, AF_INET6, NULL, 0, "fe80::99", 2, 1, RT_TABLE_LOCAL,
	    RTN_UNICAST);
	nl_route6(&nb, AF_INET6, NULL, 0, "fe80::98", 2, 1, 1000, RTN_UNICAST);
	nl_route6(&nb, AF_INET6, NULL, 0, NULL, 1, 1, RT_TABLE_MAIN,
	    RTN_UNREACHABLE);
	/* A default route without a gateway has no router to ask. */
	nl_route6(&nb, AF_INET6, NULL, 0, NULL, 4, 2, RT_TABLE_MAIN,
	    RTN_UNICAST);
	/* A link without carrier. */
	nh = nl_route6(&nb, AF_INET6, NULL, 0, "fe80::97", 6, 1, RT_TABLE_MAIN,
	    RTN_UNICAST);
	((struct rtmsg *)NLMSG_DATA(nh))->rtm_flags = RTNH_F_LINKDOWN;
	/* Two routers: the lowest metric wins, not the first. */
	nl_route6(&nb, AF_INET6, NULL, 0, "fe80::1", 2, 1024, RT_TABLE_MAIN,
	    RTN_UNICAST);
	nl_route6(&nb, AF_INET6, NULL, 0, "fe80::2", 3, 100, RT_TABLE_MAIN,
	    RTN_UNICAST);
	nl_route6(&nb, AF_INET6, NULL, 0, "fe80::3", 2, 600, RT_TABLE_MAIN,
	    RTN_UNICAST);
	nl_done(&nb);
	memset(&r, 0, sizeof(r));
	assert_int_equal(netinfo6_parse_routes(nb.b, nb.len, &r), 1);
	assert_true(r.found);
	assert_string_equal(str6(&r.gateway), "fe80::2");
	assert_int_equal(r.ifindex, 3);
	assert_int_equal(r.metric, 100);

	cut_short(&nb, parse_routes);

	/* No default route at all. */
	memset(&nb, 0, sizeof(nb));
	nl_route6(&nb, AF_INET6, "fe80::", 64, NULL, 2, 256, RT_TABLE_MAIN,
	    RTN_UNICAST);
	nl_done(&nb);
	memset(&r, 0, sizeof(r));
	assert_int_equal(netinfo6_parse_routes(nb.b, nb.len, &r), 1);
	assert_false(r.found);

	/* A multipath default route: its first hop with a gateway. */
	memset(&nb, 0, sizeof(nb));
	nh = nl_route6(&nb, AF_INET6, NULL, 0, NULL, 0, 50, RT_TABLE_MAIN,
	    RTN_UNICAST);
	{
		unsigned char mp[64] = { 0 };
		struct rtnexthop *h = (void *)mp;
		struct rtattr *rta;
		unsigned char gw[16];

		/* A hop without a gateway, then one via fe80::7 on 5. */
		h->rtnh_len = sizeof(*h);
		h->rtnh_ifindex = 4;
		h = RTNH_NEXT(h);
		h->rtnh_ifindex = 5;
		rta = RTNH_DATA(h);
		rta->rta_type = RTA_GATEWAY;
		rta->rta_len = RTA_LENGTH(16);
		inet_pton(AF_INET6, "fe80::7", gw);
		memcpy(RTA_DATA(rta), gw, 16);
		h->rtnh_len = (unsigned short)RTNH_LENGTH(RTA_LENGTH(16));
		nl_attr(&nb, nh, RTA_MULTIPATH, mp,
		    sizeof(*h) + RTNH_ALIGN(h->rtnh_len));
	}
	nl_done(&nb);
	memset(&r, 0, sizeof(r));
	assert_int_equal(netinfo6_parse_routes(nb.b, nb.len, &r), 1);
	assert_true(r.found);
	assert_string_equal(str6(&r.gateway), "fe80::7");
	assert_int_equal(r.ifindex, 5);

	/* A lying RTA_OIF length. */
	memset(&nb, 0, sizeof(nb));
	nh = nl_route6(&nb, AF_INET6, NULL, 0, "fe80::1", 0, 1, RT_TABLE_MAIN,
	    RTN_UNICAST);
	nl_attr(&nb, nh, RTA_OIF, "\2\0", 2);
	memset(&r, 0, sizeof(r));
	assert_int_equal(netinfo6_parse_routes(nb.b, nb.len, &r), -1);
}

static void
add(struct netinfo6_addrs *all, const char *addr, int plen, unsigned ifindex,
    uint32_t flags, uint32_t valid, uint32_t preferred)
{
	struct netinfo6_addr *a = &all->a[all->n++];

	memset(a, 0, sizeof(*a));
	assert_int_equal(inet_pton(AF_INET6, addr, &a->addr), 1);
	a->prefixlen = (uint8_t)plen;
	a->ifindex = ifindex;
	a->flags = flags;
	a->valid = valid;
	a->preferred = preferred;
}

static const unsigned char mac[6] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55 };

static void
test_kind(void **state)
{
	struct netinfo6_addrs all = { .n = 0 };

	(void)state;
	add(&all, "2a0c:7700:77::10", 64, 2, IFA_F_PERMANENT, FOREVER,
	    FOREVER);
	add(&all, "2a0c:7700:77::20", 64, 2,
	    IFA_F_PERMANENT | IFA_F_MANAGETEMPADDR, FOREVER, FOREVER);
	add(&all, "2a0c:7700:77::1234", 128, 2, 0, 7200, 3600);
	add(&all, "2a0c:7700:77:0:211:22ff:fe33:4455", 64, 2,
	    IFA_F_MANAGETEMPADDR, 86400, 14400);
	add(&all, "2a0c:7700:77:0:8d3c:5a1f:b2e4:17c9", 64, 2, 0, 86400,
	    14400);
	/* ff:fe from another card's MAC: not this link's EUI-64. */
	add(&all, "2a0c:7700:77:0:2aa:bbff:fecc:ddee", 64, 2, 0, 86400,
	    14400);
	/* A static address with an EUI-64 identifier is still static. */
	add(&all, "2a0c:7700:77:0:211:22ff:fe33:4455", 64, 2,
	    IFA_F_PERMANENT, FOREVER, FOREVER);

	assert_string_equal(netinfo6_kind(&all.a[0], mac, 6), "static");
	assert_string_equal(netinfo6_kind(&all.a[1], mac, 6), "static");
	assert_string_equal(netinfo6_kind(&all.a[2], mac, 6), "dhcpv6");
	assert_string_equal(netinfo6_kind(&all.a[3], mac, 6), "eui64");
	assert_string_equal(netinfo6_kind(&all.a[4], mac, 6),
	    "stable_privacy");
	assert_string_equal(netinfo6_kind(&all.a[5], mac, 6),
	    "stable_privacy");
	/* Without the MAC address, the ff:fe pattern alone. */
	assert_string_equal(netinfo6_kind(&all.a[5], NULL, 0), "eui64");
	assert_string_equal(netinfo6_kind(&all.a[4], NULL, 0),
	    "stable_privacy");
	assert_string_equal(netinfo6_kind(&all.a[6], mac, 6), "static");
}

/* The default route's interface, as netinfo6_get fills it. */
static void
route(struct netinfo6 *ni)
{
	memset(ni, 0, sizeof(*ni));
	ni->ifindex = 2;
	strcpy(ni->ifname, "eth0");
}

static const char *
choose(const struct netinfo6_addrs *all, const char *want,
    struct netinfo6 *ni, struct pm_error *err)
{
	route(ni);
	memset(err, 0, sizeof(*err));
	if (netinfo6_choose(ni, all, mac, 6, want, err) == -1)
		return NULL;
	return ni->addr_str;
}

static void
test_preference(void **state)
{
	struct netinfo6_addrs all = { .n = 0 };
	struct netinfo6 ni;
	struct pm_error err;

	(void)state;
	/* Not candidates: another link, non-global, temporary, unsettled. */
	add(&all, "2a0c:7700:88::10", 64, 3, IFA_F_PERMANENT, FOREVER,
	    FOREVER);
	add(&all, "fd00::10", 64, 2, IFA_F_PERMANENT, FOREVER, FOREVER);
	add(&all, "fe80::211:22ff:fe33:4455", 64, 2, IFA_F_PERMANENT, FOREVER,
	    FOREVER);
	add(&all, "2001:db8::10", 64, 2, IFA_F_PERMANENT, FOREVER, FOREVER);
	add(&all, "2a0c:7700:77:0:1ced:1f91:b517:bc78", 64, 2,
	    IFA_F_TEMPORARY, 86400, 86000);
	add(&all, "2a0c:7700:77::dead", 64, 2, IFA_F_PERMANENT |
	    IFA_F_DEPRECATED, FOREVER, 0);
	add(&all, "2a0c:7700:77::beef", 64, 2, IFA_F_PERMANENT |
	    IFA_F_TENTATIVE, FOREVER, FOREVER);
	add(&all, "2a0c:7700:77::bad", 64, 2, IFA_F_PERMANENT |
	    IFA_F_TENTATIVE | IFA_F_DADFAILED, FOREVER, FOREVER);
	add(&all, "2a0c:7700:77::0b71", 64, 2, IFA_F_OPTIMISTIC, 86400,
	    86400);
	/* Then the candidates, least stable first. */
	add(&all, "2a0c:7700:77:0:211:22ff:fe33:4455", 64, 2, 0, 86400,
	    14400);
	assert_string_equal(choose(&all, NULL, &ni, &err),
	    "2a0c:7700:77:0:211:22ff:fe33:4455");
	assert_string_equal(ni.kind, "eui64");
	/* Of two stable-privacy ones, the longer preferred lifetime. */
	add(&all, "2a0c:7700:77:0:8d3c:5a1f:b2e4:17c9", 64, 2, 0, 86400,
	    3600);
	add(&all, "2a0c:7700:77:0:9d3c:5a1f:b2e4:17c9", 64, 2, 0, 86400,
	    7200);
	assert_string_equal(choose(&all, NULL, &ni, &err),
	    "2a0c:7700:77:0:9d3c:5a1f:b2e4:17c9");
	assert_string_equal(ni.kind, "stable_privacy");
	add(&all, "2a0c:7700:77::1234", 128, 2, 0, 7200, 3600);
	assert_string_equal(choose(&all, NULL, &ni, &err),
	    "2a0c:7700:77::1234");
	assert_string_equal(ni.kind, "dhcpv6");
	/* Two static ones: the lower address, whatever the order. */
	add(&all, "2a0c:7700:77::20", 64, 2,
	    IFA_F_PERMANENT | IFA_F_MANAGETEMPADDR, FOREVER, FOREVER);
	add(&all, "2a0c:7700:77::10", 64, 2, IFA_F_PERMANENT, FOREVER,
	    FOREVER);
	assert_string_equal(choose(&all, NULL, &ni, &err),
	    "2a0c:7700:77::10");
	assert_string_equal(ni.kind, "static");
	assert_false(ni.only_temporary);
	assert_int_equal(err.code, PME_OK);
}

static void
test_none(void **state)
{
	struct netinfo6_addrs all = { .n = 0 };
	struct netinfo6 ni;
	struct pm_error err;

	(void)state;
	assert_null(choose(&all, NULL, &ni, &err));
	assert_int_equal(err.code, PME_NO_IPV6);
	assert_string_equal(err.msg, "this host has no global IPv6 address "
	    "on eth0; check that the router advertises a global prefix "
	    "(ip -6 addr)");

	add(&all, "fe80::1", 64, 2, IFA_F_PERMANENT, FOREVER, FOREVER);
	add(&all, "fd00::10", 64, 2, IFA_F_PERMANENT, FOREVER, FOREVER);
	assert_null(choose(&all, NULL, &ni, &err));
	assert_string_equal(err.msg, "this host has no global IPv6 address "
	    "on eth0, only fd00::10, which is a unique local address "
	    "(fc00::/7) and not reachable from the internet");

	add(&all, "2a0c:7700:77:0:1ced:1f91:b517:bc78", 64, 2,
	    IFA_F_TEMPORARY, 86400, 3600);
	add(&all, "2a0c:7700:77:0:5e1:a2b3:c4d5:e6f7", 64, 2,
	    IFA_F_TEMPORARY | IFA_F_DEPRECATED, 3600, 0);
	assert_null(choose(&all, NULL, &ni, &err));
	assert_int_equal(err.code, PME_NO_IPV6);
	assert_true(ni.only_temporary);
	assert_string_equal(err.msg, "this host has no stable global IPv6 "
	    "address on eth0 (only temporary ones: "
	    "2a0c:7700:77:0:1ced:1f91:b517:bc78, "
	    "2a0c:7700:77:0:5e1:a2b3:c4d5:e6f7; portkeeper does not open "
	    "those, they change every day)");

	add(&all, "2a0c:7700:77::10", 64, 2, IFA_F_DEPRECATED, 3600, 0);
	assert_null(choose(&all, NULL, &ni, &err));
	assert_false(ni.only_temporary);
	assert_string_equal(err.msg, "this host has no stable global IPv6 "
	    "address on eth0 that portkeeper can open (2a0c:7700:77::10 is "
	    "deprecated: its preferred lifetime ran out, as when the router "
	    "stops advertising its prefix)");
}

static void
test_want(void **state)
{
	struct netinfo6_addrs all = { .n = 0 };
	struct netinfo6 ni;
	struct pm_error err;
	static const struct {
		const char	*want;
		const char	*msg;
	} refused[] = {
		{ "2a0c:7700:77:0:1ced:1f91:b517:beef",
		    "2a0c:7700:77:0:1ced:1f91:b517:beef is a temporary "
		    "(privacy) address: it changes every day (RFC 8981), so a "
		    "pinhole for it would soon lead nowhere" },
		{ "fd00::10", "fd00::10 is a unique local address (fc00::/7), "
		    "not reachable from the internet" },
		{ "fe80::1", "fe80::1 is a link-local address (fe80::/10), not "
		    "reachable from the internet" },
		{ "2001:db8::1", "2001:db8::1 is a documentation address "
		    "(2001:db8::/32), not reachable from the internet" },
		{ "2a0c:7700:77::99", "2a0c:7700:77::99 is not an address of "
		    "this host (ip -6 addr)" },
		{ "2a0c:7700:77::bad", "2a0c:7700:77::bad is a duplicate: "
		    "another host on the link has it (duplicate address "
		    "detection failed)" },
		{ "2a0c:7700:77::0b71", "2a0c:7700:77::b71 is still being "
		    "checked for duplicates on the link; try again in a few "
		    "seconds" },
		{ "2a0c:7700:88::10", "2a0c:7700:88::10 is on #9999, not on "
		    "eth0 where the IPv6 default route goes, so the router "
		    "there cannot open it" },
		{ "192.168.77.10", "192.168.77.10 is not an IPv6 address" },
		{ "x\033[2J", "x?[2J is not an IPv6 address" },
	};
	size_t i;

	(void)state;
	add(&all, "2a0c:7700:77::10", 64, 2, IFA_F_PERMANENT, FOREVER,
	    FOREVER);
	add(&all, "2a0c:7700:77::11", 64, 2, 0, 86400, 14400);
	add(&all, "2a0c:7700:77:0:1ced:1f91:b517:beef", 64, 2,
	    IFA_F_TEMPORARY, 86400, 3600);
	add(&all, "fd00::10", 64, 2, IFA_F_PERMANENT, FOREVER, FOREVER);
	add(&all, "fe80::1", 64, 2, IFA_F_PERMANENT, FOREVER, FOREVER);
	add(&all, "2a0c:7700:77::bad", 64, 2, IFA_F_PERMANENT |
	    IFA_F_TENTATIVE | IFA_F_DADFAILED, FOREVER, FOREVER);
	add(&all, "2a0c:7700:77::b71", 64, 2, IFA_F_OPTIMISTIC, 86400, 86400);
	add(&all, "2a0c:7700:88::10", 64, 9999, IFA_F_PERMANENT, FOREVER,
	    FOREVER);

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		if (choose(&all, refused[i].want, &ni, &err) != NULL)
			fail_msg("%s accepted", refused[i].want);
		assert_int_equal(err.code, PME_USAGE);
		assert_string_equal(err.msg, refused[i].msg);
	}
	/* Another stable global address of this host is accepted. */
	assert_string_equal(choose(&all, "2a0c:7700:77::11", &ni, &err),
	    "2a0c:7700:77::11");
	assert_string_equal(ni.kind, "stable_privacy");
	assert_string_equal(choose(&all, "2a0c:7700:77:0::10", &ni, &err),
	    "2a0c:7700:77::10");
	assert_string_equal(ni.kind, "static");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_addrs6),
		cmocka_unit_test(test_parse_routes6),
		cmocka_unit_test(test_kind),
		cmocka_unit_test(test_preference),
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_want),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
