/*
 * A UPnP device description (UDA 1.1 section 2.3, TR-064 section 2.2),
 * walked whole: miniupnpc's parserootdesc keeps only the first and the last
 * connection service, and only under the schemas-upnp-org names, but a
 * router may list several WAN connections of which only one is connected,
 * and a DSL router may name its services urn:dslforum-org (TR-064).
 */
#ifndef PK_UPNP_DESC_H
#define PK_UPNP_DESC_H

#include <stddef.h>

/* Connection services looked at: real descriptions have one to four. */
#define UPNP_DESC_SERVICES_MAX	8

struct upnp_desc_service {
	char	type[128];	/* serviceType */
	char	control[128];	/* controlURL, as written */
	char	scpd[128];	/* SCPDURL */
	char	events[128];	/* eventSubURL */
};

struct upnp_desc {
	/* The root device's, as written (callers make them printable). */
	char	device_type[128];
	char	manufacturer[64];
	char	model_name[64];
	char	model_number[32];
	char	friendly_name[64];
	/* WANIPConnection and WANPPPConnection services, in document order. */
	struct upnp_desc_service svc[UPNP_DESC_SERVICES_MAX];
	size_t	nsvc;
	/*
	 * The first WANIPv6FirewallControl service, in whichever device it
	 * sits (IGD:2 puts it in the WANConnectionDevice): firewall.type is
	 * "" when there is none.
	 */
	struct upnp_desc_service firewall;
};

/*
 * Walks the description body[0..len) with miniupnpc's XML parser.  Returns
 * the number of connection services found (0 to UPNP_DESC_SERVICES_MAX);
 * the firewall service, if any, is in d->firewall whatever that number.
 */
size_t	upnp_desc_parse(const char *body, size_t len, struct upnp_desc *);

/* 1 for a WANIPConnection or WANPPPConnection type of any version. */
int	upnp_desc_is_connection(const char *type);

/* 1 for a WANIPv6FirewallControl type of any version. */
int	upnp_desc_is_firewall(const char *type);

/* 1 for a service type in TR-064's urn:dslforum-org namespace. */
int	upnp_desc_is_tr064(const char *type);

#endif
