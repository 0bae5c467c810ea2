/*
 * Which IPv6 address portkeeper opens, and through which router: the IPv6
 * default route (its gateway is usually the router's link-local address,
 * learnt from router advertisements) and this host's stable global address
 * on that route's interface.  A pinhole is for one address; a temporary
 * (privacy) address changes every day (RFC 8981), so portkeeper never opens
 * one.  The parsers are kept apart from the sockets so that tests feed them
 * bytes (rtnetlink, through netinfo_nl_walk).
 */
#ifndef PK_NETINFO6_H
#define PK_NETINFO6_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pmerr.h"

struct netinfo6 {
	struct in6_addr	addr;		/* the stable global address */
	char		addr_str[INET6_ADDRSTRLEN];
	const char	*kind;		/* "static", "dhcpv6", "eui64", ... */
	struct in6_addr	gateway;
	unsigned	ifindex;	/* the default route's interface */
	char		ifname[IF_NAMESIZE];
	/* "fe80::1%eth0": a link-local gateway with its scope. */
	char		gateway_str[INET6_ADDRSTRLEN + IF_NAMESIZE + 1];
	bool		only_temporary;	/* why there is none: only these */
};

/*
 * Finds the IPv6 default route with the lowest metric and this host's
 * stable global address on its interface (the preference and the kinds are
 * netinfo6_kind's and netinfo6_choose's), or checks want (--address, or
 * NULL) instead.  Returns 0, or -1 with err: PME_NO_IPV6 when there is no
 * IPv6 default route or no stable global address on its interface (the
 * sentence says which, and names the temporary ones when there are only
 * those; ni->only_temporary is set then), PME_USAGE when want is not an
 * address this host may open (the sentence names it and says why), and
 * PME_NETWORK when rtnetlink cannot be asked.
 */
int	netinfo6_get(struct netinfo6 *ni, const char *want,
	    struct pm_error *err);

/* This host's IPv6 addresses, as an RTM_GETADDR dump lists them. */
#define NETINFO6_MAX_ADDRS	64
struct netinfo6_addr {
	struct in6_addr	addr;
	unsigned	ifindex;
	uint8_t		prefixlen;
	uint32_t	flags;		/* IFA_F_*, all 32 bits (IFA_FLAGS) */
	uint32_t	valid;		/* seconds; 0xffffffff forever */
	uint32_t	preferred;
};
struct netinfo6_addrs {
	struct netinfo6_addr	a[NETINFO6_MAX_ADDRS];
	size_t			n;	/* more are left out */
};

/*
 * Adds the IPv6 addresses of one buffer of RTM_NEWADDR messages (a dump
 * reply) to *all.  Returns 1 when the buffer ended the dump (NLMSG_DONE),
 * 0 when more follows, -1 on NLMSG_ERROR or a malformed message.
 */
int	netinfo6_parse_addrs(const void *buf, size_t len,
	    struct netinfo6_addrs *all);

/* The IPv6 default route portkeeper uses. */
struct netinfo6_route {
	bool		found;
	struct in6_addr	gateway;
	unsigned	ifindex;
	uint32_t	metric;
};

/*
 * Keeps in *best the default route of one buffer of RTM_NEWROUTE messages
 * (a dump reply) with the lowest metric (RTA_PRIORITY): an IPv6 unicast
 * route to ::/0 in the main table, through a gateway (RTA_GATEWAY and
 * RTA_OIF, or the first hop of RTA_MULTIPATH that has one), on a link that
 * is up (not RTNH_F_DEAD or RTNH_F_LINKDOWN).  A default
 * route without a gateway ("dev ppp0") has no router to ask and is left
 * out.  Returns as netinfo6_parse_addrs.
 */
int	netinfo6_parse_routes(const void *buf, size_t len,
	    struct netinfo6_route *best);

/*
 * How an address came to be, for `portkeeper ip --json`'s "kind".  The
 * kernel does not record it; these are heuristics, in this order:
 * - "static": IFA_F_PERMANENT, which is every address added by hand or by a
 *   network configuration without lifetimes, also when it is flagged
 *   mngtmpaddr (the kernel then makes temporary addresses beside it).
 *   Limit: an address added by hand with lifetimes is not permanent and is
 *   judged by the rules below.
 * - "dhcpv6": a /128 with finite lifetimes, as DHCPv6 clients (dhcpcd,
 *   dhclient, NetworkManager, systemd-networkd) add IA_NA addresses.
 *   Limit: a client that adds its lease with the on-link prefix length
 *   looks like SLAAC.
 * - "eui64": SLAAC with the interface identifier made from the link's MAC
 *   address (RFC 4291 appendix A: ff:fe in the middle, the U/L bit
 *   flipped), compared with mac when it is a 6-byte MAC, else the ff:fe
 *   pattern alone (mac NULL).
 * - "stable_privacy": any other non-permanent, non-temporary address: SLAAC
 *   with RFC 7217 identifiers (addr_gen_mode 2 or 3, NetworkManager's
 *   default) or a random identifier that does not change.
 * Returns a string constant.
 */
const char *netinfo6_kind(const struct netinfo6_addr *,
	    const unsigned char *mac, size_t maclen);

/*
 * Picks this host's address from all, on the interface ni->ifindex (named
 * ni->ifname; netinfo6_get fills both from the default route first).  The
 * candidates are global unicast (addr6_classify) and neither temporary,
 * deprecated, tentative, optimistic nor failed duplicate detection.  Of
 * several, the one of the most stable kind wins: static, then dhcpv6,
 * then stable_privacy, then eui64 (it moves with the network card and
 * shows its MAC address to every peer), then the longest preferred
 * lifetime, then the lowest address, so that the choice does not flip
 * between runs.  With want (a string as --address gives it), that address
 * is checked instead: it must be one of the candidates.  Returns 0 with
 * ni->addr, addr_str and kind filled, or -1 with err as netinfo6_get.
 */
int	netinfo6_choose(struct netinfo6 *ni, const struct netinfo6_addrs *all,
	    const unsigned char *mac, size_t maclen, const char *want,
	    struct pm_error *err);

#endif
