/*
 * UPnP-IGD client.  miniupnpc parses the device description and the SOAP
 * answers; the HTTP underneath is our own, because miniupnpc's has per-read
 * timeouts but no overall deadline and no size limit: a router dripping one
 * byte a second held a thread for ever, and one announcing 2 GB got them.
 * Every function here takes a deadline (monotonic ms) it returns by, and
 * reads at most UPNP_HTTP_MAX bytes of an answer.  They still block, so
 * callers run them on a job (job.h).
 */
#ifndef PK_UPNP_H
#define PK_UPNP_H

#include <miniupnpc/miniupnpc.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "mapping.h"
#include "pmerr.h"
#include "ssdp.h"
#include "upnp_desc.h"
#include "upnp_http.h"

/* Never read more entries than this from a router's table. */
#define UPNP_LIST_MAX	1024

struct upnp_igd {
	struct UPNPUrls	urls;
	struct IGDdatas	data;
	int		have_urls;
	char		location[SSDP_URL_MAX];
	struct in_addr	gateway;
	struct in_addr	local;
	struct upnp_desc desc;		/* every connection service */
	size_t		chosen;		/* the one in data.first */
	unsigned	quirks;		/* enum pm_quirk bits met */
};

/*
 * Finds the IGD at gateway (SSDP, then its description, all by deadline)
 * and checks that its control URL points at the gateway too.  Returns 0, or
 * -1 with err set.  Call upnp_igd_free() in both cases.
 */
int	upnp_discover(struct upnp_igd *, struct in_addr gateway,
	    struct in_addr local, int64_t deadline, struct pm_error *err);

/*
 * The first half of upnp_discover: SSDP and the description, every
 * service of it in igd->desc (connection services or none, and the IPv6
 * firewall), URLBase in igd->data; no service is selected.  0, or -1 with
 * err set.  Call upnp_igd_free() in both cases.
 */
int	upnp_describe(struct upnp_igd *, struct in_addr gateway,
	    struct in_addr local, int64_t deadline, struct pm_error *err);
void	upnp_igd_free(struct upnp_igd *);

/*
 * Picks the connection service to use and reads its external address (and
 * its status, with want_status or when there are several).  With several,
 * it asks each and prefers one that is connected and has a public address,
 * then one that is connected, then the first: a router may list a WAN
 * connection that is down beside the one in use.  0, or -1 with err set.
 */
int	upnp_choose(struct upnp_igd *, int64_t deadline, int want_status,
	    char ip[16], int *connected, char status[64],
	    struct pm_error *err);

/*
 * Copies what src learned of the IGD (its location, description, chosen
 * service and quirks) into dst, without src's URLs: dst can outlive src and
 * be handed to upnp_resume.  Call upnp_igd_free() on dst in any case.
 */
void	upnp_igd_keep(struct upnp_igd *dst, const struct upnp_igd *src);

/*
 * Takes up an IGD that upnp_igd_keep kept, with igd->gateway and igd->local
 * set, without SSDP or its description: selects the service chosen before
 * and asks it for the external address (and its status, with want_status),
 * which also proves it is still there.  0, or -1 with err set when it did
 * not answer, or answered with an error: the IGD may have moved.
 */
int	upnp_resume(struct upnp_igd *, int64_t deadline, int want_status,
	    char ip[16], int *connected, char status[64],
	    struct pm_error *err);

/*
 * GetExternalIPAddress: copies the router's answer, unchecked, into ip (an
 * empty string when the router has none).  0 or -1 with err set.
 */
int	upnp_external_ip(struct upnp_igd *, int64_t deadline, char ip[16],
	    struct pm_error *err);

/* GetStatusInfo: connected is 1 when the router says "Connected". */
int	upnp_status(struct upnp_igd *, int64_t deadline, int *connected,
	    char status[64], struct pm_error *err);

/* AddPortMapping towards client:int_port; lease 0 asks for permanent. */
int	upnp_add(struct upnp_igd *, int64_t deadline, enum pm_proto,
	    uint16_t ext_port, uint16_t int_port, const char *client,
	    const char *desc, uint32_t lease, struct pm_error *err);

/*
 * GetSpecificPortMappingEntry.  Returns 1 with *m filled, 0 when the router
 * has no such mapping, -1 with err set.
 */
int	upnp_get(struct upnp_igd *, int64_t deadline, enum pm_proto,
	    uint16_t ext_port, struct pm_mapping *m, struct pm_error *err);

/* DeletePortMapping.  Returns 1 deleted, 0 there was none, -1 error. */
int	upnp_delete(struct upnp_igd *, int64_t deadline, enum pm_proto,
	    uint16_t ext_port, struct pm_error *err);

/*
 * The whole table through GetGenericPortMappingEntry, at most UPNP_LIST_MAX
 * entries; entries the router garbles are skipped.  *out is malloc'd.
 */
int	upnp_list(struct upnp_igd *, int64_t deadline, struct pm_mapping **out,
	    size_t *n, struct pm_error *err);

#endif
