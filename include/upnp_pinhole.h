/*
 * UPnP IGD:2 pinholes: the IPv6 firewall service (UPnP Forum,
 * "WANIPv6FirewallControl:1 Service", 2010) that lets a host open its own
 * global IPv6 address to inbound connections.  portkeeper's IPv6 fallback
 * behind PCP.
 *
 * The requests go on a TCP connection bound to the address being opened:
 * the router checks that a pinhole's InternalClient is the address the
 * request came from (section 2.5.2 recommends it; miniupnpd's secure mode,
 * on by default, answers 606 otherwise), and libminiupnpc's UPNP_AddPinhole
 * cannot bind, so these are portkeeper's own requests.
 *
 * From nothing to a pinhole:
 *	struct upnp_pinhole_target t;
 *	upnp_pinhole_find(&t, gw4, local4, &gw6, ifindex, &addr6, dl, &e);
 *	upnp_pinhole_status(&t, &enabled, &inbound, dl, &e);	(optional)
 *	upnp_pinhole_add(&t, PM_TCP, 8080, 3600, &uid, dl, &e);
 *	... upnp_pinhole_update(&t, uid, 3600, dl, &e) before it runs out ...
 *	upnp_pinhole_delete(&t, uid, dl, &e);
 * where gw4/local4 are the IPv4 default gateway and this host's address
 * on its link (netinfo), gw6/ifindex the IPv6 default gateway (usually the
 * router's link-local address, as router advertisements give it) and its
 * interface, addr6 this host's stable global address (netinfo6).  The
 * UniqueID is all there is to find the pinhole again: no client protocol
 * lists pinholes, so the caller keeps it.
 *
 * Every function returns by deadline (monotonic ms) and blocks until then
 * at most: run them on a job (job.h) as the rest of upnp.h.
 */
#ifndef PK_UPNP_PINHOLE_H
#define PK_UPNP_PINHOLE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pmerr.h"
#include "portspec.h"

#define UPNP_PINHOLE_URL_MAX	320
/* AddPinhole's LeaseTime range (section 2.5.2): no permanent pinholes. */
#define UPNP_PINHOLE_LEASE_MIN	1
#define UPNP_PINHOLE_LEASE_MAX	86400

/* Where the requests go, and from where. */
struct upnp_pinhole_target {
	char			url[UPNP_PINHOLE_URL_MAX];  /* http://[gw6]:port/.. */
	char			stype[128];	/* serviceType, as the router has it */
	struct sockaddr_in6	source;		/* the address opened, port 0 */
	unsigned		scope_id;	/* gw6's interface if link-local */
};

/*
 * Finds the router's firewall service: SSDP and the description over
 * IPv4 (as upnp_discover; the control URL must be on gw4), then points
 * the target at the same port and path on gw6, to be reached from source.
 * Not upnp_choose: behind carrier-grade NAT the WAN connection may call
 * itself unconnected while the firewall works, so nothing here asks it.
 * Returns 0, or -1 with err set: PME_NO_GATEWAY when no IGD answered,
 * PME_UNSUPPORTED when its description has no WANIPv6FirewallControl.
 */
int	upnp_pinhole_find(struct upnp_pinhole_target *, struct in_addr gw4,
	    struct in_addr local4, const struct in6_addr *gw6,
	    unsigned scope_id, const struct in6_addr *source, int64_t deadline,
	    struct pm_error *err);

/*
 * Fills the target from a control URL the caller already has (absolute,
 * http://IPV4:PORT/path or http://[IPV6]:PORT/path): its port and path are
 * kept and its host is replaced by gw6.  0, or -1 with err set.
 */
int	upnp_pinhole_target(struct upnp_pinhole_target *, const char *control,
	    const char *stype, const struct in6_addr *gw6, unsigned scope_id,
	    const struct in6_addr *source, struct pm_error *err);

/* GetFirewallStatus.  0 with both filled, or -1 with err set. */
int	upnp_pinhole_status(const struct upnp_pinhole_target *, bool *enabled,
	    bool *inbound_allowed, int64_t deadline, struct pm_error *err);

/*
 * AddPinhole for the target's source address, port and protocol from any
 * remote host and port, for lease seconds (1 to 86400).  0 with the
 * router's UniqueID, or -1 with err set: PME_PINHOLE_REFUSED (firewall
 * off, pinholes not allowed, this host not allowed, a port below 1024),
 * PME_OUT_OF_RESOURCES (table full), PME_USAGE (lease out of range).
 * On miniupnpd before 2.3.3 adding an existing pinhole again corrupts its
 * lease: refresh with upnp_pinhole_update instead.
 */
int	upnp_pinhole_add(const struct upnp_pinhole_target *, enum pm_proto,
	    uint16_t port, uint32_t lease, uint16_t *unique_id,
	    int64_t deadline, struct pm_error *err);

/*
 * UpdatePinhole: a new lease (1 to 86400 s) for the pinhole unique_id.
 * 1 done, 0 the router has no such pinhole (it expired: add it again),
 * -1 with err set.
 */
int	upnp_pinhole_update(const struct upnp_pinhole_target *,
	    uint16_t unique_id, uint32_t lease, int64_t deadline,
	    struct pm_error *err);

/* DeletePinhole.  1 deleted, 0 there was none, -1 with err set. */
int	upnp_pinhole_delete(const struct upnp_pinhole_target *,
	    uint16_t unique_id, int64_t deadline, struct pm_error *err);

/*
 * The answers, taken apart (for the functions above, tests and the fuzz
 * target).  action is "GetFirewallStatus", "AddPinhole", "UpdatePinhole"
 * or "DeletePinhole"; port the pinhole's (0 for GetFirewallStatus), for
 * the sentence of a refusal; doing completes "could not ...".  Returns 1 for a success answer (with *res
 * filled as action gives), 0 for NoSuchEntry (704), -1 with err set.
 */
struct upnp_pinhole_answer {
	bool		enabled;		/* GetFirewallStatus */
	bool		inbound_allowed;	/* GetFirewallStatus */
	uint16_t	unique_id;		/* AddPinhole */
};
int	upnp_pinhole_parse(const char *action, uint16_t port,
	    const char *doing, int status, const char *body, size_t len,
	    struct upnp_pinhole_answer *res, struct pm_error *err);

/* Sets err for the UPnP error code a firewall action was answered with. */
void	upnp_pinhole_error(struct pm_error *err, int code, uint16_t port,
	    const char *doing);

#endif
