#include <sys/ioctl.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr6.h"
#include "netinfo.h"
#include "netinfo6.h"
#include "util.h"

/* One RTM_NEWADDR: an IPv6 address is added to the list, others skipped. */
static int
netinfo6_addr_msg(uint16_t type, const void *data, size_t len, void *arg)
{
	struct netinfo6_addrs *all = arg;
	struct netinfo6_addr *a;
	struct netinfo_ifaddr ia;
	int rc;

	if ((rc = netinfo_ifaddr_parse(type, data, len, AF_INET6, &ia)) != 1)
		return rc;
	/* More than fit are left out: a host has a handful. */
	if (all->n >= NETINFO6_MAX_ADDRS)
		return 0;
	a = &all->a[all->n++];
	memcpy(&a->addr, ia.local, 16);
	a->ifindex = ia.ifindex;
	a->prefixlen = ia.prefixlen;
	a->flags = ia.flags;
	a->valid = ia.valid;
	a->preferred = ia.preferred;
	return 0;
}

int
netinfo6_parse_addrs(const void *buf, size_t len, struct netinfo6_addrs *all)
{
	return netinfo_nl_walk(buf, len, netinfo6_addr_msg, all);
}

/*
 * The first hop with a gateway of an RTA_MULTIPATH attribute: rtnexthop
 * records, each followed by its own attributes (linux/rtnetlink.h).
 * Returns 1 with r's gateway and interface set, 0 for none, -1 when a
 * record's length does not fit.
 */
static int
netinfo6_route_hop(const void *data, size_t len, struct netinfo6_route *r)
{
	const struct rtnexthop *nh = data;
	const struct rtattr *rta;
	int left = (int)len, alen;

	for (; left > 0; left -= (int)RTNH_ALIGN(nh->rtnh_len),
	    nh = RTNH_NEXT(nh)) {
		if (!RTNH_OK(nh, left))
			return -1;
		alen = (int)(nh->rtnh_len - RTNH_LENGTH(0));
		for (rta = RTNH_DATA(nh); RTA_OK(rta, alen);
		    rta = RTA_NEXT(rta, alen)) {
			if (rta->rta_type != RTA_GATEWAY)
				continue;
			if (RTA_PAYLOAD(rta) != 16)
				return -1;
			memcpy(&r->gateway, RTA_DATA(rta), 16);
			r->ifindex = (unsigned)nh->rtnh_ifindex;
			return 1;
		}
	}
	return 0;
}

/* Reads a 4-byte attribute; -1 when it has another length. */
static int
netinfo6_u32(const struct rtattr *rta, uint32_t *v)
{
	if (RTA_PAYLOAD(rta) != 4)
		return -1;
	memcpy(v, RTA_DATA(rta), 4);
	return 0;
}

/*
 * One RTM_NEWROUTE: an rtmsg and its attributes (RFC 3549 section 3.1.1;
 * linux/rtnetlink.h), kept in *best when it is a better default route.
 */
static int
netinfo6_route_msg(uint16_t type, const void *data, size_t len, void *arg)
{
	struct netinfo6_route *best = arg, r;
	const struct rtmsg *rtm = data;
	const struct rtattr *rta;
	uint32_t table;
	bool gw = false;
	int rlen, rc = 0;

	if (type != RTM_NEWROUTE)
		return 0;
	if (len < sizeof(*rtm))
		return -1;
	if (rtm->rtm_family != AF_INET6)
		return 0;
	memset(&r, 0, sizeof(r));
	table = rtm->rtm_table;
	rlen = (int)(len - NLMSG_ALIGN(sizeof(*rtm)));
	for (rta = RTM_RTA(rtm); RTA_OK(rta, rlen); rta = RTA_NEXT(rta, rlen)) {
		switch (rta->rta_type) {
		case RTA_GATEWAY:
			if (RTA_PAYLOAD(rta) != 16)
				return -1;
			memcpy(&r.gateway, RTA_DATA(rta), 16);
			gw = true;
			break;
		case RTA_OIF:
			rc = netinfo6_u32(rta, &r.ifindex);
			break;
		case RTA_PRIORITY:
			rc = netinfo6_u32(rta, &r.metric);
			break;
		case RTA_TABLE:
			rc = netinfo6_u32(rta, &table);
			break;
		case RTA_MULTIPATH:
			if (!gw && (rc = netinfo6_route_hop(RTA_DATA(rta),
			    RTA_PAYLOAD(rta), &r)) == 1)
				gw = true;
			break;
		}
		if (rc == -1)
			return -1;
		rc = 0;
	}
	/* A route over a link that is down or has no carrier reaches no one. */
	if (rtm->rtm_dst_len != 0 || rtm->rtm_type != RTN_UNICAST ||
	    table != RT_TABLE_MAIN || !gw || r.ifindex == 0 ||
	    (rtm->rtm_flags & (RTNH_F_DEAD | RTNH_F_LINKDOWN)))
		return 0;
	if (!best->found || r.metric < best->metric) {
		*best = r;
		best->found = true;
	}
	return 0;
}

int
netinfo6_parse_routes(const void *buf, size_t len, struct netinfo6_route *best)
{
	return netinfo_nl_walk(buf, len, netinfo6_route_msg, best);
}

const char *
netinfo6_kind(const struct netinfo6_addr *a, const unsigned char *mac,
    size_t maclen)
{
	const unsigned char *iid = a->addr.s6_addr + 8;

	if (a->flags & IFA_F_PERMANENT)
		return "static";
	if (a->prefixlen == 128)
		return "dhcpv6";
	if (mac != NULL && maclen == 6) {
		/* RFC 4291 appendix A: the U/L bit flipped, ff:fe between. */
		if (iid[0] == (mac[0] ^ 0x02) && iid[1] == mac[1] &&
		    iid[2] == mac[2] && iid[3] == 0xff && iid[4] == 0xfe &&
		    memcmp(iid + 5, mac + 3, 3) == 0)
			return "eui64";
	} else if (iid[3] == 0xff && iid[4] == 0xfe)
		return "eui64";
	return "stable_privacy";
}

/* Most stable first: what netinfo6_choose prefers. */
static int
netinfo6_rank(const char *kind)
{
	static const char *const order[] = {
		"static", "dhcpv6", "stable_privacy", "eui64"
	};
	int i;

	for (i = 0; i < 4; i++)
		if (strcmp(kind, order[i]) == 0)
			return i;
	return 4;
}

/*
 * Why the kernel's flags forbid opening an address, as the end of a
 * sentence "X is ...", or NULL when they do not.  DADFAILED comes with
 * TENTATIVE, and a temporary address ends deprecated: the first reason
 * that applies is the one a person needs.
 */
static const char *
netinfo6_unusable(uint32_t flags)
{
	if (flags & IFA_F_TEMPORARY)
		return "a temporary (privacy) address: it changes every day "
		    "(RFC 8981), so a pinhole for it would soon lead nowhere";
	if (flags & IFA_F_DADFAILED)
		return "a duplicate: another host on the link has it "
		    "(duplicate address detection failed)";
	if (flags & (IFA_F_TENTATIVE | IFA_F_OPTIMISTIC))
		return "still being checked for duplicates on the link; try "
		    "again in a few seconds";
	if (flags & IFA_F_DEPRECATED)
		return "deprecated: its preferred lifetime ran out, as when "
		    "the router stops advertising its prefix";
	return NULL;
}

static bool
netinfo6_better(const struct netinfo6_addr *a, const char *kind,
    const struct netinfo6_addr *b, const char *bkind)
{
	if (netinfo6_rank(kind) != netinfo6_rank(bkind))
		return netinfo6_rank(kind) < netinfo6_rank(bkind);
	if (a->preferred != b->preferred)
		return a->preferred > b->preferred;
	return memcmp(&a->addr, &b->addr, 16) < 0;
}

static void
netinfo6_set(struct netinfo6 *ni, const struct netinfo6_addr *a,
    const char *kind)
{
	ni->addr = a->addr;
	inet_ntop(AF_INET6, &a->addr, ni->addr_str, sizeof(ni->addr_str));
	ni->kind = kind;
	ni->only_temporary = false;
}

/*
 * Says why the default route's interface has no address to open: only
 * temporary ones (named), a global one the kernel's flags forbid, only a
 * non-global one, or none.
 */
static void
netinfo6_none(struct netinfo6 *ni, const struct netinfo6_addrs *all,
    struct pm_error *err)
{
	const struct netinfo6_addr *bad = NULL, *local = NULL;
	char s[INET6_ADDRSTRLEN], temps[3 * (INET6_ADDRSTRLEN + 2)] = "";
	size_t i, ntemp = 0;

	for (i = 0; i < all->n; i++) {
		const struct netinfo6_addr *a = &all->a[i];

		if (a->ifindex != ni->ifindex)
			continue;
		if (addr6_classify(&a->addr) != ADDR6_GLOBAL) {
			if (local == NULL &&
			    addr6_classify(&a->addr) == ADDR6_ULA)
				local = a;
		} else if (a->flags & IFA_F_TEMPORARY) {
			if (ntemp++ < 3) {
				inet_ntop(AF_INET6, &a->addr, s, sizeof(s));
				snprintf(temps + strlen(temps), sizeof(temps) -
				    strlen(temps), "%s%s", ntemp > 1 ? ", " : "",
				    s);
			}
		} else if (bad == NULL)
			bad = a;
	}
	ni->only_temporary = ntemp > 0 && bad == NULL;
	if (bad != NULL) {
		inet_ntop(AF_INET6, &bad->addr, s, sizeof(s));
		pmerr_set(err, PME_NO_IPV6, 0, "this host has no stable global "
		    "IPv6 address on %s that portkeeper can open (%s is %s)",
		    ni->ifname, s, netinfo6_unusable(bad->flags));
	} else if (ntemp > 0)
		pmerr_set(err, PME_NO_IPV6, 0, "this host has no stable global "
		    "IPv6 address on %s (only temporary ones: %s%s; portkeeper "
		    "does not open those, they change every day)", ni->ifname,
		    temps, ntemp > 3 ? ", ..." : "");
	else if (local != NULL) {
		inet_ntop(AF_INET6, &local->addr, s, sizeof(s));
		pmerr_set(err, PME_NO_IPV6, 0, "this host has no global IPv6 "
		    "address on %s, only %s, which is %s and not reachable "
		    "from the internet", ni->ifname, s,
		    addr6_describe(&local->addr));
	} else
		pmerr_set(err, PME_NO_IPV6, 0, "this host has no global IPv6 "
		    "address on %s; check that the router advertises a global "
		    "prefix (ip -6 addr)", ni->ifname);
}

/* Checks --address: a usable global address on the route's interface. */
static int
netinfo6_want(struct netinfo6 *ni, const struct netinfo6_addrs *all,
    const unsigned char *mac, size_t maclen, const char *want,
    struct pm_error *err)
{
	const struct netinfo6_addr *found = NULL;
	struct in6_addr w;
	enum addr6_class cls;
	char s[INET6_ADDRSTRLEN], other[IF_NAMESIZE];
	const char *why;
	size_t i;

	if ((cls = addr6_parse(want, &w)) == ADDR6_INVALID) {
		str_printable(s, sizeof(s), want);
		pmerr_set(err, PME_USAGE, 0, "%s is not an IPv6 address", s);
		return -1;
	}
	inet_ntop(AF_INET6, &w, s, sizeof(s));
	if (cls != ADDR6_GLOBAL) {
		pmerr_set(err, PME_USAGE, 0, "%s is %s, not reachable from the "
		    "internet", s, addr6_describe(&w));
		return -1;
	}
	for (i = 0; i < all->n; i++)
		if (memcmp(&all->a[i].addr, &w, 16) == 0 && (found == NULL ||
		    all->a[i].ifindex == ni->ifindex))
			found = &all->a[i];
	if (found == NULL) {
		pmerr_set(err, PME_USAGE, 0, "%s is not an address of this "
		    "host (ip -6 addr)", s);
		return -1;
	}
	if (found->ifindex != ni->ifindex) {
		if (if_indextoname(found->ifindex, other) == NULL)
			snprintf(other, sizeof(other), "#%u", found->ifindex);
		pmerr_set(err, PME_USAGE, 0, "%s is on %s, not on %s where the "
		    "IPv6 default route goes, so the router there cannot open "
		    "it", s, other, ni->ifname);
		return -1;
	}
	if ((why = netinfo6_unusable(found->flags)) != NULL) {
		pmerr_set(err, PME_USAGE, 0, "%s is %s", s, why);
		return -1;
	}
	netinfo6_set(ni, found, netinfo6_kind(found, mac, maclen));
	return 0;
}

int
netinfo6_choose(struct netinfo6 *ni, const struct netinfo6_addrs *all,
    const unsigned char *mac, size_t maclen, const char *want,
    struct pm_error *err)
{
	const struct netinfo6_addr *best = NULL;
	const char *kind, *bkind = NULL;
	size_t i;

	if (want != NULL)
		return netinfo6_want(ni, all, mac, maclen, want, err);
	for (i = 0; i < all->n; i++) {
		const struct netinfo6_addr *a = &all->a[i];

		if (a->ifindex != ni->ifindex ||
		    addr6_classify(&a->addr) != ADDR6_GLOBAL ||
		    netinfo6_unusable(a->flags) != NULL)
			continue;
		kind = netinfo6_kind(a, mac, maclen);
		if (best == NULL || netinfo6_better(a, kind, best, bkind)) {
			best = a;
			bkind = kind;
		}
	}
	if (best == NULL) {
		netinfo6_none(ni, all, err);
		return -1;
	}
	netinfo6_set(ni, best, bkind);
	return 0;
}

/*
 * The interface's MAC address (SIOCGIFHWADDR, netdevice(7)), for telling
 * EUI-64 identifiers; 0 when it has none (a tunnel, PPP).
 */
static size_t
netinfo6_mac(const char *ifname, unsigned char mac[6])
{
	struct ifreq ifr;
	int s;

	if ((s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(s, SIOCGIFHWADDR, &ifr) == -1 ||
	    ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
		close(s);
		return 0;
	}
	close(s);
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return 6;
}

/* The default route: ni's gateway, interface and gateway_str. */
static int
netinfo6_route(struct netinfo6 *ni, struct pm_error *err)
{
	struct netinfo6_route r;
	char gw[INET6_ADDRSTRLEN];

	memset(&r, 0, sizeof(r));
	if (netinfo_nl_dump(RTM_GETROUTE, AF_INET6, netinfo6_route_msg,
	    &r) == -1) {
		pmerr_set(err, PME_NO_IPV6, 0, "cannot read this host's IPv6 "
		    "routes from the kernel (rtnetlink: %s); is IPv6 disabled?",
		    strerror(errno));
		return -1;
	}
	if (!r.found) {
		pmerr_set(err, PME_NO_IPV6, 0, "this host has no IPv6 default "
		    "route, so there is no router to open a pinhole on; check "
		    "that the router sends router advertisements (ip -6 route)");
		return -1;
	}
	ni->gateway = r.gateway;
	ni->ifindex = r.ifindex;
	if (if_indextoname(r.ifindex, ni->ifname) == NULL) {
		pmerr_set(err, PME_NETWORK, 0, "the IPv6 default route's "
		    "interface #%u went away: %s", r.ifindex, strerror(errno));
		return -1;
	}
	inet_ntop(AF_INET6, &r.gateway, gw, sizeof(gw));
	/* A link-local gateway means nothing without its interface. */
	snprintf(ni->gateway_str, sizeof(ni->gateway_str), "%s%s%s", gw,
	    addr6_classify(&r.gateway) == ADDR6_LINKLOCAL ? "%" : "",
	    addr6_classify(&r.gateway) == ADDR6_LINKLOCAL ? ni->ifname : "");
	return 0;
}

int
netinfo6_get(struct netinfo6 *ni, const char *want, struct pm_error *err)
{
	struct netinfo6_addrs *all;
	unsigned char mac[6];
	size_t maclen;
	int rc;

	memset(ni, 0, sizeof(*ni));
	if (netinfo6_route(ni, err) == -1)
		return -1;
	if ((all = calloc(1, sizeof(*all))) == NULL) {
		pmerr_set(err, PME_INTERNAL, 0, "out of memory");
		return -1;
	}
	if (netinfo_nl_dump(RTM_GETADDR, AF_INET6, netinfo6_addr_msg, all) ==
	    -1) {
		pmerr_set(err, PME_NETWORK, 0, "cannot read this host's IPv6 "
		    "addresses from the kernel (rtnetlink): %s",
		    strerror(errno));
		free(all);
		return -1;
	}
	maclen = netinfo6_mac(ni->ifname, mac);
	rc = netinfo6_choose(ni, all, maclen ? mac : NULL, maclen, want, err);
	free(all);
	return rc;
}
