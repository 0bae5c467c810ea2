#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "ssdp.h"
#include "util.h"

#define SSDP_MCAST	"239.255.255.250"
#define SSDP_PORT	1900

/*
 * The root device types searched for: IGD:1 and IGD:2, and the TR-064 name
 * some DSL routers give their root device (Huawei's HG531 answers only to
 * it, or to ssdp:all, which would bring every device's answers).
 */
static const char *const igd_types[] = {
	"urn:schemas-upnp-org:device:InternetGatewayDevice:1",
	"urn:schemas-upnp-org:device:InternetGatewayDevice:2",
	"urn:dslforum-org:device:InternetGatewayDevice:1",
};

/* Copies a header value, trimmed; -1 when it does not fit. */
static int
copy_value(char *dst, size_t dstsz, const char *v, size_t vlen)
{
	while (vlen > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	if (vlen >= dstsz)
		return -1;
	memcpy(dst, v, vlen);
	dst[vlen] = '\0';
	return 0;
}

static int
has_prefix(const char *p, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && memcmp(p, prefix, n) == 0;
}

int
ssdp_parse(const char *buf, size_t len, struct ssdp_msg *msg)
{
	const char *p = buf, *end = buf + len;
	int first = 1;

	memset(msg, 0, sizeof(*msg));
	msg->bootid = -1;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *colon;
		size_t linelen, namelen;
		char val[32];

		linelen = eol != NULL ? (size_t)(eol - p) : (size_t)(end - p);
		if (linelen > 0 && p[linelen - 1] == '\r')
			linelen--;
		if (linelen > 512)
			return -1;
		if (linelen == 0)
			break;		/* end of headers */
		if (first) {
			if (has_prefix(p, linelen, "HTTP/1.") &&
			    linelen >= 12 && memcmp(p + 8, " 200", 4) == 0)
				msg->kind = SSDP_RESPONSE;
			else if (has_prefix(p, linelen, "NOTIFY * "))
				msg->kind = SSDP_NOTIFY;
			else if (has_prefix(p, linelen, "M-SEARCH * "))
				msg->kind = SSDP_MSEARCH;
			else
				return -1;
			first = 0;
		} else if ((colon = memchr(p, ':', linelen)) != NULL) {
			const char *v = colon + 1;
			size_t vlen = linelen - (size_t)(v - p);

			namelen = (size_t)(colon - p);
#define IS(h) (namelen == sizeof(h) - 1 && strncasecmp(p, h, namelen) == 0)
			if (IS("LOCATION")) {
				if (copy_value(msg->location,
				    sizeof(msg->location), v, vlen) == -1)
					return -1;
			} else if (IS("ST") || IS("NT")) {
				if (copy_value(msg->st, sizeof(msg->st), v,
				    vlen) == -1)
					return -1;
			} else if (IS("NTS")) {
				if (copy_value(msg->nts, sizeof(msg->nts), v,
				    vlen) == -1)
					return -1;
			} else if (IS("USN")) {
				if (copy_value(msg->usn, sizeof(msg->usn), v,
				    vlen) == -1)
					return -1;
			} else if (IS("BOOTID.UPNP.ORG")) {
				unsigned long id;

				if (copy_value(val, sizeof(val), v, vlen) == 0 &&
				    parse_uint(val, 0, 0x7fffffff, &id) == 0)
					msg->bootid = (long)id;
			}
#undef IS
		}
		if (eol == NULL)
			break;
		p = eol + 1;
	}
	return first ? -1 : 0;
}

int
ssdp_url_addr(const char *url, struct in_addr *addr, uint16_t *port)
{
	char host[16];
	const char *h, *e;
	size_t hlen;

	/* RFC 3986: no spaces or control bytes anywhere in a URL. */
	for (h = url; *h != '\0'; h++)
		if ((unsigned char)*h <= 0x20 || (unsigned char)*h >= 0x7f)
			return -1;
	if (strncasecmp(url, "http://", 7) != 0)
		return -1;
	h = url + 7;
	e = h + strcspn(h, ":/");
	hlen = (size_t)(e - h);
	if (hlen == 0 || hlen >= sizeof(host))
		return -1;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, addr) != 1)
		return -1;
	*port = 80;
	if (*e == ':') {
		char pbuf[6];
		const char *ps = e + 1;
		size_t plen = strcspn(ps, "/");
		unsigned long v;

		if (plen == 0 || plen >= sizeof(pbuf))
			return -1;
		memcpy(pbuf, ps, plen);
		pbuf[plen] = '\0';
		if (parse_uint(pbuf, 1, 65535, &v) == -1)
			return -1;
		*port = (uint16_t)v;
		e = ps + plen;
	}
	if (*e != '/' && *e != '\0')
		return -1;
	return 0;
}

static void
send_searches(int s, struct in_addr gateway)
{
	struct sockaddr_in to;
	char req[256], gw[INET_ADDRSTRLEN];
	size_t i;
	int pass, n;

	inet_ntop(AF_INET, &gateway, gw, sizeof(gw));
	for (pass = 0; pass < 2; pass++) {
		memset(&to, 0, sizeof(to));
		to.sin_family = AF_INET;
		to.sin_port = htons(SSDP_PORT);
		/*
		 * Unicast first: UDA 1.1 section 1.3.3 lets a device answer a
		 * unicast M-SEARCH at once, without the random MX delay.
		 */
		if (pass == 0)
			to.sin_addr = gateway;
		else
			inet_pton(AF_INET, SSDP_MCAST, &to.sin_addr);
		for (i = 0; i < nitems(igd_types); i++) {
			n = snprintf(req, sizeof(req),
			    "M-SEARCH * HTTP/1.1\r\n"
			    "HOST: %s:%d\r\n"
			    "MAN: \"ssdp:discover\"\r\n"
			    "%s"
			    "ST: %s\r\n"
			    "\r\n", pass == 0 ? gw : SSDP_MCAST,
			    SSDP_PORT, pass == 0 ? "" : "MX: 1\r\n",
			    igd_types[i]);
			if (sendto(s, req, (size_t)n, 0, (struct sockaddr *)&to,
			    sizeof(to)) == -1)
				log_debug("ssdp: sendto %s: %s",
				    pass == 0 ? gw : SSDP_MCAST, strerror(errno));
		}
	}
}

int
ssdp_search(struct in_addr gateway, struct in_addr local, int64_t deadline,
    char location[SSDP_URL_MAX], struct pm_error *err)
{
	struct sockaddr_in sin;
	struct pollfd pfd;
	char rogue[INET_ADDRSTRLEN] = "", gw[INET_ADDRSTRLEN];
	char badloc[100] = "";
	unsigned char ttl = 2;
	int64_t resend;
	int s, interval = 250, ret = -1, gotbad = 0;

	inet_ntop(AF_INET, &gateway, gw, sizeof(gw));
	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		pmerr_set(err, PME_NETWORK, 0, "socket: %s", strerror(errno));
		return -1;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr = local;
	if (bind(s, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		pmerr_set(err, PME_NETWORK, 0, "cannot bind for SSDP: %s",
		    strerror(errno));
		goto out;
	}
	/* Send the multicast search out of the interface facing the router. */
	setsockopt(s, IPPROTO_IP, IP_MULTICAST_IF, &local, sizeof(local));
	setsockopt(s, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl));

	send_searches(s, gateway);
	resend = mono_ms() + interval;
	for (;;) {
		char buf[1536];
		struct sockaddr_in from;
		socklen_t flen = sizeof(from);
		struct ssdp_msg msg;
		struct in_addr laddr;
		uint16_t lport;
		int64_t now = mono_ms(), wake;
		ssize_t n;

		if (now >= deadline)
			break;
		if (now >= resend) {
			send_searches(s, gateway);
			interval *= 2;
			resend = now + interval;
		}
		wake = resend < deadline ? resend : deadline;
		pfd.fd = s;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, ms_until(wake)) <= 0)
			continue;
		n = recvfrom(s, buf, sizeof(buf) - 1, 0,
		    (struct sockaddr *)&from, &flen);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		if (ssdp_parse(buf, (size_t)n, &msg) == -1 ||
		    msg.kind != SSDP_RESPONSE ||
		    strstr(msg.st, "InternetGatewayDevice") == NULL)
			continue;
		/*
		 * Only the default gateway may serve us: an IGD elsewhere on
		 * the LAN could be a rogue device, and forwarding through a
		 * router we do not route through would not work anyway.
		 */
		if (from.sin_addr.s_addr != gateway.s_addr) {
			inet_ntop(AF_INET, &from.sin_addr, rogue,
			    sizeof(rogue));
			log_debug("ssdp: ignoring IGD answer from %s: not the "
			    "default gateway", rogue);
			continue;
		}
		if (ssdp_url_addr(msg.location, &laddr, &lport) == -1 ||
		    laddr.s_addr != gateway.s_addr) {
			str_printable(badloc, sizeof(badloc), msg.location);
			gotbad = 1;
			log_debug("ssdp: ignoring the gateway's IGD answer: "
			    "its location \"%s\" is not an http:// URL on the "
			    "gateway", badloc);
			continue;
		}
		memcpy(location, msg.location, sizeof(msg.location));
		ret = 0;
		goto out;
	}
	if (gotbad)
		pmerr_set(err, PME_BAD_REPLY, 0, "the router misbehaves: it "
		    "answered the UPnP search with the location \"%s\", which "
		    "is not an http:// URL on the gateway %s", badloc, gw);
	else if (rogue[0] != '\0')
		pmerr_set(err, PME_NO_GATEWAY, 0, "no UPnP-IGD answered at the "
		    "default gateway %s; an IGD at %s answered but it is not "
		    "the gateway, so it was ignored", gw, rogue);
	else
		pmerr_set(err, PME_NO_GATEWAY, 0, "no UPnP-IGD answered at the "
		    "default gateway %s", gw);
out:
	close(s);
	return ret;
}
