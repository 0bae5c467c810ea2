/*
 * The one interface in front of the IPv6 pinhole protocols, as portmap.h
 * is for IPv4 forwards.  IPv6 has no port translation: a pinhole lets the
 * internet reach this host's own global address on one port, through the
 * router's firewall.  PCP (RFC 6887 MAP, the external address being the
 * host's own) comes first; UPnP IGD:2's WANIPv6FirewallControl is the
 * fallback for routers without PCP.  Neither lets a client list pinholes:
 * what identifies one (a PCP nonce, a UPnP UniqueID) is in the result, for
 * the caller to keep (mapstore.h) and give back to close it.
 */
#ifndef PK_PORTMAP6_H
#define PK_PORTMAP6_H

#include <stdbool.h>
#include <stdint.h>

#include "mapping.h"
#include "mapstore.h"
#include "netinfo6.h"
#include "pmerr.h"
#include "portspec.h"

struct portmap6;

/* What the router said about its pinhole services (portmap6_discover). */
struct portmap6_info {
	bool		pcp_found;
	uint32_t	pcp_epoch;
	struct pm_error	pcp_error;	/* why PCP was not found */
	bool		upnp_found;
	bool		upnp_status_known;
	bool		firewall_enabled;
	bool		inbound_pinhole_allowed;
	struct pm_error	upnp_error;
};

struct portmap6_result {
	enum pm_method	method;		/* PM_PCP or PM_UPNP */
	uint32_t	lease;		/* as granted */
	uint32_t	epoch;		/* PCP's answer's (RFC 6887 section 8.5) */
	/* What closes it again (kind MS_PCP or MS_UPNP_PINHOLE). */
	struct mapstore_entry id;
	char		note[256];	/* a fallback taken, or "" */
};

/*
 * Finds the IPv6 default route and the address to open: this host's stable
 * global one, or want (--address; NULL for the stable one).  via is
 * PM_AUTO, PM_PCP or PM_UPNP.  Returns NULL with err set (PME_NO_IPV6,
 * PME_USAGE for a want that cannot be opened, PME_INTERNAL).
 */
struct portmap6	*portmap6_new(enum pm_method via, const char *want,
		    int timeout_ms, struct pm_error *err);
void		 portmap6_free(struct portmap6 *);
const struct netinfo6 *portmap6_netinfo(const struct portmap6 *);

/*
 * Asks the router over the allowed protocols whether it opens pinholes.
 * Returns 0 when one of them answered, else -1 with err (PME_NO_GATEWAY).
 */
int		 portmap6_discover(struct portmap6 *, struct pm_error *err);
const struct portmap6_info *portmap6_info(const struct portmap6 *);

/*
 * Opens port/proto of this host's address for lease seconds (1 to
 * 86400: UPnP has no permanent pinholes, and PCP grants what it will).
 * Returns 0 with *res, or -1 with err set.
 */
int		 portmap6_open(struct portmap6 *, enum pm_proto proto,
		    uint16_t port, uint32_t lease, struct portmap6_result *res,
		    struct pm_error *err);

/*
 * Renews the UPnP pinhole id identifies (UpdatePinhole): adding it again
 * instead corrupts its lease on miniupnpd before 2.3.3.  Returns 1 with
 * *res when it was renewed, 0 when there is nothing to renew (a PCP
 * mapping, or the router no longer has it: open it anew), -1 with err.
 */
int		 portmap6_renew(struct portmap6 *,
		    const struct mapstore_entry *id, uint32_t lease,
		    struct portmap6_result *res, struct pm_error *err);

/*
 * Maps the PCP pinhole id identifies again with its own nonce (RFC 6887
 * section 11.2.1: a refresh is the same MAP; after the router lost it, it
 * makes it anew).  0 with *res (its epoch too), or -1 with err set.
 */
int		 portmap6_remap(struct portmap6 *,
		    const struct mapstore_entry *id, uint32_t lease,
		    struct portmap6_result *res, struct pm_error *err);

/*
 * Asks the router's PCP server for its epoch alone (ANNOUNCE, section
 * 14.1), which tells whether it lost its state.  0 with *epoch, or -1.
 */
int		 portmap6_announce(struct portmap6 *, uint32_t *epoch,
		    struct pm_error *err);

/*
 * Closes the pinhole id identifies (from portmap6_open, as kept by the
 * caller).  *removed tells whether the router had it.  0, or -1 with err.
 */
int		 portmap6_close(struct portmap6 *,
		    const struct mapstore_entry *id, bool *removed,
		    enum pm_method *method, struct pm_error *err);

#endif
