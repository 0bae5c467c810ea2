/*
 * One entry of the router's port-mapping table, whichever protocol made it.
 */
#ifndef PK_MAPPING_H
#define PK_MAPPING_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "portspec.h"

enum pm_method { PM_AUTO = 0, PM_UPNP, PM_NATPMP, PM_PCP };

struct pm_mapping {
	enum pm_proto	proto;
	uint16_t	ext_port;
	uint16_t	int_port;
	char		int_client[INET_ADDRSTRLEN];
	char		desc[80];
	uint32_t	lease;		/* seconds left; 0 means permanent */
	bool		enabled;
	bool		this_host;	/* int_client is this host */
};

/* "auto", "upnp", "natpmp", "pcp"; and back, returning 0 or -1. */
const char	*portmap_method_str(enum pm_method);
const char	*portmap_method_name(enum pm_method);	/* "UPnP-IGD", "NAT-PMP", "PCP" */
int		 portmap_method_parse(const char *, enum pm_method *);

#endif
