/*
 * What this host looks like on its LAN: the default gateway (the only
 * router portkeeper will talk to) and the address the router sees us as.
 */
#ifndef PK_NETINFO_H
#define PK_NETINFO_H

#include <net/if.h>
#include <netinet/in.h>

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

#endif
