/*
 * portkeeperd's watchers (watch.c): they hear the router reboot or move (NAT-PMP
 * and PCP announcements, SSDP NOTIFY) and this host's network change
 * (rtnetlink).
 */
#ifndef PK_WATCH_H
#define PK_WATCH_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "netinfo.h"

/* The watchers: announcements, SSDP NOTIFY and netlink. */
struct watch {
	int		pmp_fd;		/* 224.0.0.1:5350 */
	int		ssdp_fd;	/* 239.255.255.250:1900 */
	int		nl_fd;		/* rtnetlink address and route groups */
	struct in_addr	gateway;
	struct in_addr	local;
	char		location[256];	/* the IGD's description URL as known */
	long		bootid;
	/*
	 * Counts of what the gateway said of its protocols on its own, for
	 * what is remembered of them (gateway.c): SSDP NOTIFYs that moved the
	 * IGD (a new LOCATION or BOOTID) or told of one while none is known,
	 * and NAT-PMP or PCP announcements.
	 */
	unsigned	ssdp_news;
	unsigned	announce_news;
};

void	watch_init(struct watch *);
/* (Re)opens the multicast listeners for this gateway and interface. */
void	watch_open(struct watch *, const struct netinfo *);
void	watch_close(struct watch *);

enum watch_news { WATCH_NOTHING = 0, WATCH_ROUTER, WATCH_NETWORK };
/* Reads what arrived on fd; says whether the router or our network moved. */
enum watch_news watch_read(struct watch *, int fd, char *why, size_t whylen);

/*
 * Checks an announcement datagram from the gateway: a NAT-PMP public address
 * announcement (RFC 6886 section 3.2.1) or a PCP ANNOUNCE (RFC 6887 section
 * 14.1).  Returns 1 with the epoch, 0 otherwise.
 */
int	watch_parse_announce(const unsigned char *buf, size_t len,
	    uint32_t *epoch);

#endif
