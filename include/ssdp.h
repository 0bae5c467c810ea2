/*
 * SSDP (UPnP Device Architecture 1.1, section 1): finding the router's IGD
 * description.  portkeeper sends its own M-SEARCH, unicast to the default
 * gateway as well as multicast, and stops at the first answer from the
 * gateway instead of sitting out a fixed discovery delay as upnpDiscover()
 * does.  Everything received is parsed with bounds and the description URL
 * must point at the gateway itself.
 */
#ifndef PK_SSDP_H
#define PK_SSDP_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "pmerr.h"

#define SSDP_URL_MAX	256

enum ssdp_kind { SSDP_OTHER = 0, SSDP_RESPONSE, SSDP_NOTIFY, SSDP_MSEARCH };

struct ssdp_msg {
	enum ssdp_kind	kind;
	char		location[SSDP_URL_MAX];
	char		st[128];	/* ST of a response, NT of a NOTIFY */
	char		nts[32];	/* ssdp:alive / ssdp:byebye */
	char		usn[192];
	long		bootid;		/* BOOTID.UPNP.ORG, -1 when absent */
};

/*
 * Parses one SSDP datagram.  Returns 0, or -1 when it is not a well-formed
 * SSDP message (no status or request line, a header line too long).  Header
 * values that do not fit their field make the message invalid rather than
 * being silently cut.
 */
int	ssdp_parse(const char *buf, size_t len, struct ssdp_msg *msg);

/*
 * Splits an "http://A.B.C.D[:PORT]/path" URL.  Returns 0 with the address and
 * port (80 when absent), or -1 for anything else (names, IPv6, other schemes,
 * user info).
 */
int	ssdp_url_addr(const char *url, struct in_addr *addr, uint16_t *port);

/*
 * Searches for an InternetGatewayDevice at gateway, from the local address,
 * until deadline (monotonic ms).  On success copies its description URL into
 * location and returns 0.  Returns -1 with PME_NO_GATEWAY when nothing
 * answered in time, naming any IGD that answered from another address.
 */
int	ssdp_search(struct in_addr gateway, struct in_addr local,
	    int64_t deadline, char location[SSDP_URL_MAX],
	    struct pm_error *err);

#endif
