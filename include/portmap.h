/*
 * The one port-mapping interface in front of every protocol.  The caller
 * says which protocol to use (or auto), portmap finds the gateway, asks
 * NAT-PMP (with PCP, RFC 6887, beside it on the same port) and UPnP-IGD at
 * the same time and lets whichever answers first serve, PCP before NAT-PMP
 * when the router speaks both, and turns every router answer into a
 * pm_error a person can act on.
 */
#ifndef PK_PORTMAP_H
#define PK_PORTMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "mapping.h"
#include "netinfo.h"
#include "pmerr.h"
#include "portspec.h"

struct portmap;

/* The length of a PCP mapping nonce (RFC 6887 section 11.1: 96 bits). */
#define PM_NONCE_LEN	12

/*
 * What portkeeper met on a router that sets it apart from the UPnP-IGD
 * specification's plain case: a bit each in portmap_info.quirks.  router.h
 * names them and says them in a sentence.
 */
enum pm_quirk {
	/* Refused a forward with a lease (725, 402 or 606), took lease 0. */
	PMQ_PERMANENT_ONLY	= 1 << 0,
	/* Several WAN connection services: a connected one was chosen. */
	PMQ_SEVERAL_SERVICES	= 1 << 1,
	/* The connection service has TR-064's urn:dslforum-org name. */
	PMQ_TR064_NAMES		= 1 << 2,
	/* Refused forwards with 606 (Action not authorized), lease 0 too. */
	PMQ_REFUSES_ALL		= 1 << 3,
};
#define PMQ_ALL	0x0f

/* What the gateway told us while being discovered. */
struct portmap_info {
	enum pm_method	method;		/* the protocol that serves */
	bool		upnp_found;
	bool		upnp_connected;
	char		upnp_status[64];
	char		upnp_location[256];
	char		control_url[256];
	char		upnp_external_ip[16];
	bool		natpmp_found;
	int		natpmp_result;
	uint32_t	epoch;
	char		natpmp_external_ip[16];
	bool		pcp_found;	/* PCP answered (--via pcp or auto) */
	uint32_t	pcp_epoch;
	char		pcp_external_ip[16];	/* "" when it gave none */
	struct pm_error	pcp_error;
	char		external_ip[16];	/* from the serving protocol */
	enum addr_class	external_class;
	struct pm_error	upnp_error;	/* why UPnP was not found */
	struct pm_error	natpmp_error;
	/* From the UPnP description (printable, "" when it has none). */
	char		router_manufacturer[64];
	char		router_model[96];	/* modelName, else modelNumber */
	char		router_name[64];	/* friendlyName */
	char		upnp_service[128];	/* the connection service used */
	unsigned	quirks;			/* enum pm_quirk bits */
};

struct portmap_open_result {
	enum pm_method	method;
	uint16_t	ext_port;
	uint32_t	lease;
	char		note[256];	/* a fallback taken, or "" */
	/*
	 * On a PME_CONFLICT: the port NAT-PMP offered instead (and that was
	 * given back), for the caller to say how to accept it; else 0.
	 */
	uint16_t	offered_port;
	/*
	 * PCP: the nonce of the mapping (RFC 6887 section 11.1), which its
	 * refresh and its delete must repeat; has_nonce says there is one.
	 */
	bool		has_nonce;
	uint8_t		nonce[PM_NONCE_LEN];
};

/*
 * Finds the default gateway and this host's address.  timeout_ms bounds
 * discovery.  Returns NULL with err set (PME_NO_ROUTE, PME_INTERNAL).
 */
struct portmap	*portmap_new(enum pm_method via, int timeout_ms,
		    struct pm_error *err);
void		 portmap_free(struct portmap *);
/*
 * Keeps auto to the UPnP-IGD against NAT-PMP race, without PCP: for
 * portkeeperd, which cannot yet keep PCP nonces across restarts, and the
 * doctor, which judges the router as portkeeperd will use it.
 */
void		 portmap_auto_without_pcp(struct portmap *);
const struct netinfo *portmap_netinfo(const struct portmap *);

/*
 * Asks the gateway over the allowed protocols.  With all 0 it returns as
 * soon as one answered; with all 1 it waits for both (but never more than a
 * short grace period after the first answer).  Returns 0, or -1 with
 * PME_NO_GATEWAY when neither answered.
 */
int		 portmap_discover(struct portmap *, int all, struct pm_error *err);
const struct portmap_info *portmap_info(const struct portmap *);

/*
 * Forwards spec->ext on the router to spec->in on this host for lease
 * seconds (0: permanent, UPnP only).  Unless any_port, a different external
 * port offered by the router is released and reported as PME_CONFLICT.
 * Probes first if needed.  Returns 0 with *res, or -1 with err set.
 */
int		 portmap_open(struct portmap *, const struct portspec *spec,
		    uint32_t lease, bool any_port, const char *desc,
		    struct portmap_open_result *res, struct pm_error *err);

/*
 * Removes the forward of spec->ext.  *removed tells whether there was one.
 * A forward to another host is never removed (PME_CONFLICT).
 */
int		 portmap_close(struct portmap *, const struct portspec *spec,
		    bool *removed, enum pm_method *method,
		    struct pm_error *err);
/*
 * portmap_close with the nonce of the PCP mapping (NULL when unknown: PCP
 * then cannot remove it, RFC 6887 section 15, and says so in err).
 */
int		 portmap_close_nonce(struct portmap *, const struct portspec *spec,
		    const uint8_t *nonce, bool *removed, enum pm_method *method,
		    struct pm_error *err);

/*
 * Checks that the router still forwards spec to this host.  Returns 1 yes
 * (with *m), 0 the router has no such forward, 3 it forwards it elsewhere
 * (*m says where), 2 cannot tell (the router speaks only NAT-PMP, which
 * cannot list: watch its epoch instead), -1 error.
 */
int		 portmap_verify(struct portmap *, const struct portspec *spec,
		    struct pm_mapping *m, struct pm_error *err);

/* The router's table (UPnP only).  *out is malloc'd. */
int		 portmap_list(struct portmap *, struct pm_mapping **out,
		    size_t *n, struct pm_error *err);

#endif
