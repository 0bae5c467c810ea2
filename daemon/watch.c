/*
 * Hearing the router and the network move, without polling them: NAT-PMP
 * and PCP announcements (a router sends them when it starts and when its
 * address changes), SSDP NOTIFY (a restarted IGD announces a new LOCATION or
 * BOOTID), and rtnetlink news of our own addresses and routes.  Only the
 * default gateway is listened to; everything is length-checked.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "netinfo.h"
#include "watch.h"
#include "ssdp.h"
#include "util.h"

#define ANNOUNCE_GROUP	"224.0.0.1"
#define ANNOUNCE_PORT	5350
#define SSDP_GROUP	"239.255.255.250"
#define SSDP_PORT	1900

void
watch_init(struct watch *w)
{
	memset(w, 0, sizeof(*w));
	w->pmp_fd = w->ssdp_fd = -1;
	w->bootid = -1;
	w->nl_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    NETLINK_ROUTE);
	if (w->nl_fd != -1) {
		struct sockaddr_nl snl;

		memset(&snl, 0, sizeof(snl));
		snl.nl_family = AF_NETLINK;
		snl.nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE |
		    RTMGRP_LINK | RTMGRP_IPV6_IFADDR;
		if (bind(w->nl_fd, (struct sockaddr *)&snl, sizeof(snl)) ==
		    -1) {
			log_warn("netlink; address changes are noticed only "
			    "by the periodic check");
			close(w->nl_fd);
			w->nl_fd = -1;
		}
	}
}

static int
mcast_socket(const char *group, int port, struct in_addr local)
{
	struct sockaddr_in sin;
	struct ip_mreq mreq;
	int s, one = 1;

	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		return -1;
	/* Other programs (the router's own tools, a second daemon) may share. */
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	inet_pton(AF_INET, group, &sin.sin_addr);
	memset(&mreq, 0, sizeof(mreq));
	mreq.imr_multiaddr = sin.sin_addr;
	mreq.imr_interface = local;
	if (bind(s, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    setsockopt(s, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq,
	    sizeof(mreq)) == -1) {
		log_warn("cannot listen on %s:%d; router restarts are noticed "
		    "at the next check instead", group, port);
		close(s);
		return -1;
	}
	return s;
}

void
watch_open(struct watch *w, const struct netinfo *ni)
{
	if (w->pmp_fd != -1 && w->gateway.s_addr == ni->gateway.s_addr &&
	    w->local.s_addr == ni->internal.s_addr)
		return;
	if (w->pmp_fd != -1)
		close(w->pmp_fd);
	if (w->ssdp_fd != -1)
		close(w->ssdp_fd);
	w->gateway = ni->gateway;
	w->local = ni->internal;
	w->pmp_fd = mcast_socket(ANNOUNCE_GROUP, ANNOUNCE_PORT, ni->internal);
	w->ssdp_fd = mcast_socket(SSDP_GROUP, SSDP_PORT, ni->internal);
}

void
watch_close(struct watch *w)
{
	if (w->pmp_fd != -1)
		close(w->pmp_fd);
	if (w->ssdp_fd != -1)
		close(w->ssdp_fd);
	if (w->nl_fd != -1)
		close(w->nl_fd);
	w->pmp_fd = w->ssdp_fd = w->nl_fd = -1;
}

int
watch_parse_announce(const unsigned char *buf, size_t len, uint32_t *epoch)
{
	/* NAT-PMP: version 0, opcode 128, result 0, epoch, address. */
	if (len >= 12 && buf[0] == 0 && buf[1] == 128 && buf[2] == 0 &&
	    buf[3] == 0) {
		*epoch = (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 |
		    (uint32_t)buf[6] << 8 | buf[7];
		return 1;
	}
	/* PCP: version 2, R bit with opcode ANNOUNCE (0), 24-byte header. */
	if (len >= 24 && buf[0] == 2 && buf[1] == 0x80) {
		*epoch = (uint32_t)buf[8] << 24 | (uint32_t)buf[9] << 16 |
		    (uint32_t)buf[10] << 8 | buf[11];
		return 1;
	}
	return 0;
}

/* Marks any address, route or link message (RTM_*) as news. */
static int
watch_nl_msg(uint16_t type, const void *data, size_t len, void *arg)
{
	enum watch_news *news = arg;

	(void)data;
	(void)len;
	if (type >= RTM_BASE)
		*news = WATCH_NETWORK;
	return 0;
}

/*
 * Any address, route or link news from the groups watch_init joined: let
 * the loop look again.  A buffer the walk cannot read (cut short, say)
 * counts as news too, since a look costs one check and missing a change
 * costs a forward.
 */
static enum watch_news
watch_read_netlink(int fd)
{
	uint32_t buf[2048];	/* 8 KiB, aligned for the message headers */
	enum watch_news news = WATCH_NOTHING;
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		if (netinfo_nl_walk(buf, (size_t)n, watch_nl_msg, &news) == -1)
			news = WATCH_NETWORK;
	return news;
}

enum watch_news
watch_read(struct watch *w, int fd, char *why, size_t whylen)
{
	unsigned char buf[2048];
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	enum watch_news news = WATCH_NOTHING;
	ssize_t n;
	uint32_t epoch;

	why[0] = '\0';
	if (fd == w->nl_fd)
		return watch_read_netlink(fd);
	while ((n = recvfrom(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT,
	    (struct sockaddr *)&from, &flen)) >= 0) {
		struct ssdp_msg msg;

		flen = sizeof(from);
		if (from.sin_addr.s_addr != w->gateway.s_addr)
			continue;
		if (fd == w->pmp_fd && watch_parse_announce(buf, (size_t)n,
		    &epoch)) {
			snprintf(why, whylen, "the router announced itself "
			    "(%s, epoch %u)", buf[0] == 0 ? "NAT-PMP" : "PCP",
			    epoch);
			news = WATCH_ROUTER;
			w->announce_news++;
			continue;
		}
		if (fd != w->ssdp_fd)
			continue;
		buf[n] = '\0';
		if (ssdp_parse((char *)buf, (size_t)n, &msg) == -1 ||
		    msg.kind != SSDP_NOTIFY ||
		    strcmp(msg.nts, "ssdp:alive") != 0 ||
		    msg.location[0] == '\0')
			continue;
		/*
		 * Only a new description URL or boot id means a new router.
		 * While no IGD is known, any NOTIFY says there may be one now,
		 * to be looked for at the next check (not at once: a router
		 * whose UPnP is broken would have us look at every NOTIFY).
		 */
		if (w->location[0] == '\0')
			w->ssdp_news++;
		if (w->location[0] != '\0' &&
		    strcmp(msg.location, w->location) != 0) {
			char loc[100];

			str_printable(loc, sizeof(loc), msg.location);
			snprintf(why, whylen, "the router's UPnP service moved "
			    "to %s", loc);
			news = WATCH_ROUTER;
			/* Once: the router repeats NOTIFY for every service. */
			str_copy(w->location, msg.location,
			    sizeof(w->location));
			w->ssdp_news++;
		} else if (msg.bootid != -1 && w->bootid != -1 &&
		    msg.bootid != w->bootid) {
			snprintf(why, whylen, "the router's UPnP boot id "
			    "changed to %ld", msg.bootid);
			news = WATCH_ROUTER;
			w->ssdp_news++;
		}
		if (msg.bootid != -1)
			w->bootid = msg.bootid;
	}
	return news;
}
