#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netinfo.h"
#include "util.h"

#define RTF_UP_GW	0x0003	/* RTF_UP | RTF_GATEWAY */

int
netinfo_parse_routes(const char *text, struct in_addr *gateway,
    char ifname[IF_NAMESIZE])
{
	const char *line = text, *nl;
	unsigned long best_metric = (unsigned long)-1;
	int found = 0;

	/* Skip the header line. */
	if ((nl = strchr(line, '\n')) == NULL)
		return -1;
	for (line = nl + 1; *line != '\0'; line = nl + 1) {
		char buf[256], iface[IF_NAMESIZE + 1];
		unsigned long dest, gw, flags, metric, mask;
		size_t len;

		nl = strchr(line, '\n');
		len = nl != NULL ? (size_t)(nl - line) : strlen(line);
		if (len < sizeof(buf)) {
			memcpy(buf, line, len);
			buf[len] = '\0';
			/* Iface Destination Gateway Flags RefCnt Use Metric Mask */
			if (sscanf(buf, "%16s %lx %lx %lx %*d %*d %lu %lx", iface,
			    &dest, &gw, &flags, &metric, &mask) == 6 &&
			    strlen(iface) < IF_NAMESIZE && dest == 0 &&
			    mask == 0 && (flags & RTF_UP_GW) == RTF_UP_GW &&
			    gw != 0 && gw <= UINT32_MAX &&
			    (!found || metric < best_metric)) {
				/*
				 * The kernel prints the raw network-order word
				 * as a host integer, so it goes back unchanged
				 * (%lx reads more than 32 bits: checked above).
				 */
				gateway->s_addr = (in_addr_t)gw;
				memcpy(ifname, iface, strlen(iface) + 1);
				best_metric = metric;
				found = 1;
			}
		}
		if (nl == NULL)
			break;
	}
	return found ? 0 : -1;
}

static int
read_file(const char *path, char *buf, size_t bufsz)
{
	FILE *f;
	size_t n;

	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, bufsz - 1, f);
	buf[n] = '\0';
	fclose(f);
	return 0;
}

int
netinfo_get(struct netinfo *ni, struct pm_error *err)
{
	char text[16384];
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	int s;

	memset(ni, 0, sizeof(*ni));
	if (read_file("/proc/net/route", text, sizeof(text)) == -1) {
		pmerr_set(err, PME_NO_ROUTE, 0, "cannot read the routing "
		    "table /proc/net/route: %s", strerror(errno));
		return -1;
	}
	if (netinfo_parse_routes(text, &ni->gateway, ni->ifname) == -1) {
		pmerr_set(err, PME_NO_ROUTE, 0, "this host has no IPv4 default "
		    "route, so there is no home router to ask; check the "
		    "network connection (ip route)");
		return -1;
	}
	inet_ntop(AF_INET, &ni->gateway, ni->gateway_str,
	    sizeof(ni->gateway_str));

	/*
	 * Connecting a UDP socket sends nothing but makes the kernel choose the
	 * source address it would use for the gateway, which is exactly the
	 * address the router knows us by.
	 */
	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		pmerr_set(err, PME_NETWORK, 0, "socket: %s", strerror(errno));
		return -1;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(9);
	sin.sin_addr = ni->gateway;
	if (connect(s, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(s, (struct sockaddr *)&sin, &slen) == -1) {
		pmerr_set(err, PME_NO_ROUTE, 0, "cannot find this host's "
		    "address towards the gateway %s: %s", ni->gateway_str,
		    strerror(errno));
		close(s);
		return -1;
	}
	close(s);
	ni->internal = sin.sin_addr;
	inet_ntop(AF_INET, &ni->internal, ni->internal_str,
	    sizeof(ni->internal_str));
	return 0;
}
