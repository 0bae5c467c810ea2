/*
 * What this host looks like on its LAN: the default gateway (the only
 * router portkeeper will talk to), the address the router sees us as, and
 * how the kernel holds that address (rtnetlink).  The one reader of
 * rtnetlink messages (netinfo_nl_walk) is here too: portkeeper doctor's
 * address lookup and portkeeperd's watcher both go through it.
 */
#ifndef PK_NETINFO_H
#define PK_NETINFO_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pmerr.h"

struct netinfo {
	struct in_addr	gateway;
	struct in_addr	internal;	/* our address towards the gateway */
	char		ifname[IF_NAMESIZE];
	char		gateway_str[INET_ADDRSTRLEN];
	char		internal_str[INET_ADDRSTRLEN];
};

/*
 * Finds the IPv4 default route with the lowest metric and the source
 * address the kernel uses to reach its gateway: the address on the interface
 * that routes to the gateway, not the first interface and not a container
 * bridge.  Returns 0, or -1 with PME_NO_ROUTE in err.
 */
int	netinfo_get(struct netinfo *, struct pm_error *err);

/*
 * Parses the text of /proc/net/route and picks the default route with the
 * lowest metric.  Returns 0 or -1 when there is none.  Kept separate so that
 * tests can feed it any table.
 */
int	netinfo_parse_routes(const char *text, struct in_addr *gateway,
	    char ifname[IF_NAMESIZE]);

/*
 * Walks one buffer of netlink messages as recv() filled it (rtnetlink,
 * RFC 3549 section 2.3.2; the framing of netlink(7)), calling fn with each
 * message's type and payload once the message's length is checked against
 * what is left of the buffer.  fn sees every type but NLMSG_DONE and
 * NLMSG_ERROR; it returns 0 to go on, -1 to stop the walk as an error.
 * Returns 1 at NLMSG_DONE (a dump ends), 0 when the buffer ended after a
 * whole message, -1 on NLMSG_ERROR, a message that does not fit, or fn's
 * -1.  buf must be aligned as recv() fills it (4 bytes).
 */
int	netinfo_nl_walk(const void *buf, size_t len,
	    int (*fn)(uint16_t type, const void *data, size_t len, void *arg),
	    void *arg);

/*
 * Asks the kernel for a dump of type (RTM_GETADDR, RTM_GETROUTE or
 * RTM_GETLINK) for family (AF_INET, AF_INET6 or AF_UNSPEC) and walks every
 * buffer of the answer with fn, as netinfo_nl_walk does.  Returns 0 once
 * the dump ended, -1 when rtnetlink could not be asked, answered
 * NLMSG_ERROR or garbage, did not answer within half a second, or fn
 * returned -1.
 */
int	netinfo_nl_dump(uint16_t type, uint8_t family,
	    int (*fn)(uint16_t type, const void *data, size_t len, void *arg),
	    void *arg);

/* One RTM_NEWADDR of either family, as netinfo_ifaddr_parse reads it. */
struct netinfo_ifaddr {
	uint8_t		family;		/* AF_INET or AF_INET6 */
	unsigned	ifindex;
	uint8_t		prefixlen;
	uint32_t	flags;		/* IFA_F_*: IFA_FLAGS' 32 bits */
	uint32_t	valid;		/* seconds; 0xffffffff forever */
	uint32_t	preferred;
	unsigned char	local[16];	/* 4 bytes for AF_INET */
	char		label[16];	/* IPv4 only; not yet printable */
};

/*
 * Reads one message as netinfo_nl_walk hands it out: an RTM_NEWADDR
 * payload (an ifaddrmsg and its attributes, RFC 3549 section 3.1.2;
 * linux/if_addr.h) of family (AF_INET or AF_INET6), checking every
 * attribute's length before its payload is read.  Returns 1 with *ia
 * filled, 0 for another type or family or a message without an address,
 * -1 when it is malformed.
 */
int	netinfo_ifaddr_parse(uint16_t type, const void *data, size_t len,
	    uint8_t family, struct netinfo_ifaddr *ia);

/* An address as the kernel holds it (rtnetlink RTM_GETADDR). */
struct netinfo_addr {
	bool		found;
	int		ifindex;
	uint8_t		prefixlen;
	uint32_t	valid;		/* seconds; 0xffffffff forever */
	uint32_t	preferred;
	uint32_t	flags;		/* IFA_F_* */
	char		label[16];
};

/*
 * Looks for addr in one buffer of RTM_NEWADDR messages (a dump reply).
 * Returns 1 when the buffer ended the dump (NLMSG_DONE), 0 when more
 * follows, -1 on NLMSG_ERROR or a malformed message.  *out is filled when
 * addr is seen.  Kept apart so tests can feed it any bytes.
 */
int	netinfo_parse_addrs(const void *buf, size_t len, struct in_addr addr,
	    struct netinfo_addr *out);

/*
 * Asks the kernel how it holds addr (its prefix length and lifetime: a
 * finite one means DHCP).  Returns 0 (out->found tells whether the kernel
 * has it) or -1 when rtnetlink could not be asked or answered garbage.
 */
int	netinfo_addr_lookup(struct in_addr addr, struct netinfo_addr *out);

#endif
