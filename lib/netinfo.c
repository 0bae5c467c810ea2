#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netinfo.h"
#include "util.h"

#define RTF_UP_GW	0x0003	/* RTF_UP | RTF_GATEWAY */

int
netinfo_parse_routes(const char *text, struct in_addr *gateway,
    char ifname[IF_NAMESIZE])
{
	const char *line = text, *nl;
	unsigned long best_metric = (unsigned long)-1;
	int found = 0;

	/* Skip the header line. */
	if ((nl = strchr(line, '\n')) == NULL)
		return -1;
	for (line = nl + 1; *line != '\0'; line = nl + 1) {
		char buf[256], iface[IF_NAMESIZE + 1];
		unsigned long dest, gw, flags, metric, mask;
		size_t len;

		nl = strchr(line, '\n');
		len = nl != NULL ? (size_t)(nl - line) : strlen(line);
		if (len < sizeof(buf)) {
			memcpy(buf, line, len);
			buf[len] = '\0';
			/* Iface Destination Gateway Flags RefCnt Use Metric Mask */
			if (sscanf(buf, "%16s %lx %lx %lx %*d %*d %lu %lx", iface,
			    &dest, &gw, &flags, &metric, &mask) == 6 &&
			    strlen(iface) < IF_NAMESIZE && dest == 0 &&
			    mask == 0 && (flags & RTF_UP_GW) == RTF_UP_GW &&
			    gw != 0 && gw <= UINT32_MAX &&
			    (!found || metric < best_metric)) {
				/*
				 * The kernel prints the raw network-order word
				 * as a host integer, so it goes back unchanged
				 * (%lx reads more than 32 bits: checked above).
				 */
				gateway->s_addr = (in_addr_t)gw;
				memcpy(ifname, iface, strlen(iface) + 1);
				best_metric = metric;
				found = 1;
			}
		}
		if (nl == NULL)
			break;
	}
	return found ? 0 : -1;
}

static int
read_file(const char *path, char *buf, size_t bufsz)
{
	FILE *f;
	size_t n;

	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, bufsz - 1, f);
	buf[n] = '\0';
	fclose(f);
	return 0;
}

int
netinfo_get(struct netinfo *ni, struct pm_error *err)
{
	char text[16384];
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	int s;

	memset(ni, 0, sizeof(*ni));
	if (read_file("/proc/net/route", text, sizeof(text)) == -1) {
		pmerr_set(err, PME_NO_ROUTE, 0, "cannot read the routing "
		    "table /proc/net/route: %s", strerror(errno));
		return -1;
	}
	if (netinfo_parse_routes(text, &ni->gateway, ni->ifname) == -1) {
		pmerr_set(err, PME_NO_ROUTE, 0, "this host has no IPv4 default "
		    "route, so there is no home router to ask; check the "
		    "network connection (ip route)");
		return -1;
	}
	inet_ntop(AF_INET, &ni->gateway, ni->gateway_str,
	    sizeof(ni->gateway_str));

	/*
	 * Connecting a UDP socket sends nothing but makes the kernel choose the
	 * source address it would use for the gateway, which is exactly the
	 * address the router knows us by.
	 */
	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		pmerr_set(err, PME_NETWORK, 0, "socket: %s", strerror(errno));
		return -1;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(9);
	sin.sin_addr = ni->gateway;
	if (connect(s, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(s, (struct sockaddr *)&sin, &slen) == -1) {
		pmerr_set(err, PME_NO_ROUTE, 0, "cannot find this host's "
		    "address towards the gateway %s: %s", ni->gateway_str,
		    strerror(errno));
		close(s);
		return -1;
	}
	close(s);
	ni->internal = sin.sin_addr;
	inet_ntop(AF_INET, &ni->internal, ni->internal_str,
	    sizeof(ni->internal_str));
	return 0;
}

int
netinfo_nl_walk(const void *buf, size_t len,
    int (*fn)(uint16_t type, const void *data, size_t len, void *arg),
    void *arg)
{
	const struct nlmsghdr *nh = buf;
	int left = len > INT_MAX ? INT_MAX : (int)len;

	/* NLMSG_OK checks the header and its length against what is left. */
	for (; NLMSG_OK(nh, left); nh = NLMSG_NEXT(nh, left)) {
		if (nh->nlmsg_type == NLMSG_DONE)
			return 1;
		if (nh->nlmsg_type == NLMSG_ERROR)
			return -1;
		if (fn(nh->nlmsg_type, NLMSG_DATA(nh),
		    nh->nlmsg_len - NLMSG_HDRLEN, arg) == -1)
			return -1;
	}
	return left == 0 ? 0 : -1;
}

int
netinfo_ifaddr_parse(uint16_t type, const void *data, size_t len,
    uint8_t family, struct netinfo_ifaddr *ia)
{
	const struct ifaddrmsg *ifa = data;
	const struct rtattr *rta;
	bool have_local = false, have_address = false;
	unsigned char address[16];
	struct ifa_cacheinfo ci;
	size_t alen;
	int rlen;

	if (type != RTM_NEWADDR)
		return 0;
	if (len < sizeof(*ifa))
		return -1;
	if (ifa->ifa_family != family ||
	    (family != AF_INET && family != AF_INET6))
		return 0;
	alen = ifa->ifa_family == AF_INET ? 4 : 16;
	memset(ia, 0, sizeof(*ia));
	ia->family = ifa->ifa_family;
	ia->ifindex = ifa->ifa_index;
	ia->prefixlen = ifa->ifa_prefixlen;
	ia->flags = ifa->ifa_flags;
	ia->valid = ia->preferred = 0xffffffffu;
	rlen = (int)(len - sizeof(*ifa));
	for (rta = IFA_RTA(ifa); RTA_OK(rta, rlen); rta = RTA_NEXT(rta, rlen)) {
		size_t plen = RTA_PAYLOAD(rta);

		switch (rta->rta_type) {
		case IFA_LOCAL:
			if (plen != alen)
				return -1;
			memcpy(ia->local, RTA_DATA(rta), alen);
			have_local = true;
			break;
		case IFA_ADDRESS:
			if (plen != alen)
				return -1;
			memcpy(address, RTA_DATA(rta), alen);
			have_address = true;
			break;
		case IFA_CACHEINFO:
			if (plen < sizeof(ci))
				return -1;
			memcpy(&ci, RTA_DATA(rta), sizeof(ci));
			ia->valid = ci.ifa_valid;
			ia->preferred = ci.ifa_prefered;
			break;
		case IFA_FLAGS:
			/* The 32 bits; ifa_flags has room for only 8. */
			if (plen < 4)
				return -1;
			memcpy(&ia->flags, RTA_DATA(rta), 4);
			break;
		case IFA_LABEL:
			plen = strnlen(RTA_DATA(rta), plen);
			if (plen >= sizeof(ia->label))
				plen = sizeof(ia->label) - 1;
			memcpy(ia->label, RTA_DATA(rta), plen);
			ia->label[plen] = '\0';
			break;
		}
	}
	/* A point-to-point address has its peer in IFA_ADDRESS. */
	if (!have_local) {
		if (!have_address)
			return 0;
		memcpy(ia->local, address, alen);
	}
	return 1;
}

struct addr_want {
	struct in_addr		 addr;
	struct netinfo_addr	*out;
};

/* One RTM_NEWADDR: the IPv4 address asked for, or 0 to go on. */
static int
netinfo_addr_msg(uint16_t type, const void *data, size_t len, void *arg)
{
	struct addr_want *w = arg;
	struct netinfo_addr *out = w->out;
	struct netinfo_ifaddr ia;
	int rc;

	if ((rc = netinfo_ifaddr_parse(type, data, len, AF_INET, &ia)) != 1)
		return rc;
	if (memcmp(ia.local, &w->addr, 4) != 0)
		return 0;
	memset(out, 0, sizeof(*out));
	out->found = true;
	out->ifindex = (int)ia.ifindex;
	out->prefixlen = ia.prefixlen;
	out->valid = ia.valid;
	out->preferred = ia.preferred;
	out->flags = ia.flags;
	str_printable(out->label, sizeof(out->label), ia.label);
	return 0;
}

int
netinfo_parse_addrs(const void *buf, size_t len, struct in_addr addr,
    struct netinfo_addr *out)
{
	struct addr_want w = { addr, out };

	return netinfo_nl_walk(buf, len, netinfo_addr_msg, &w);
}

int
netinfo_nl_dump(uint16_t type, uint8_t family,
    int (*fn)(uint16_t type, const void *data, size_t len, void *arg),
    void *arg)
{
	/*
	 * Every dump request's header (ifaddrmsg, rtmsg, ifinfomsg) starts
	 * with its family byte; the request carries the header of its type
	 * and nothing else, as a strict kernel wants (netlink(7)).
	 */
	struct {
		struct nlmsghdr		nh;
		union {
			uint8_t			family;
			struct ifaddrmsg	ifa;
			struct rtmsg		rtm;
			struct ifinfomsg	ifi;
		} u;
	} req;
	size_t hdrlen = type == RTM_GETROUTE ? sizeof(struct rtmsg) :
	    type == RTM_GETLINK ? sizeof(struct ifinfomsg) :
	    sizeof(struct ifaddrmsg);
	struct timeval tv = { 0, 500000 };
	char *buf;
	ssize_t n;
	int s, rc = -1;

	if ((buf = malloc(32768)) == NULL)
		return -1;
	if ((s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)) ==
	    -1) {
		free(buf);
		return -1;
	}
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = (uint32_t)NLMSG_LENGTH(hdrlen);
	req.nh.nlmsg_type = type;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nh.nlmsg_seq = 1;
	req.u.family = family;
	if (send(s, &req, req.nh.nlmsg_len, 0) != (ssize_t)req.nh.nlmsg_len)
		goto out;
	/* A dump comes in as many buffers as it takes, up to NLMSG_DONE. */
	for (;;) {
		n = recv(s, buf, 32768, 0);
		if (n <= 0)
			goto out;
		if ((rc = netinfo_nl_walk(buf, (size_t)n, fn, arg)) != 0)
			break;
	}
	if (rc == 1)
		rc = 0;
	else
		errno = EPROTO;		/* NLMSG_ERROR or garbage */
out:
	close(s);
	free(buf);
	return rc;
}

int
netinfo_addr_lookup(struct in_addr addr, struct netinfo_addr *out)
{
	struct addr_want w = { addr, out };

	memset(out, 0, sizeof(*out));
	return netinfo_nl_dump(RTM_GETADDR, AF_INET, netinfo_addr_msg, &w);
}
