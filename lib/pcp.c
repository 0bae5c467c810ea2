#include <sys/random.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "log.h"
#include "pcp.h"
#include "util.h"

/*
 * RFC 6887 section 8.1.1 starts retransmission at 3 s (IRT) and doubles up
 * to 1024 s.  The CLI waits a few seconds in all, so one lost datagram would
 * cost the whole answer: start at 250 ms and double, as NAT-PMP does (RFC
 * 6886 section 3.1); a LAN router answers within milliseconds, and the
 * caller's deadline ends the retries long before MRT matters.
 */
#define PCP_FIRST_INTERVAL	250

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

void
pcp_addr_v4(struct in_addr a, struct in6_addr *out)
{
	memset(out, 0, sizeof(*out));
	out->s6_addr[10] = 0xff;
	out->s6_addr[11] = 0xff;
	memcpy(out->s6_addr + 12, &a.s_addr, 4);
}

bool
pcp_addr_is_v4(const struct in6_addr *a, struct in_addr *v4)
{
	if (!IN6_IS_ADDR_V4MAPPED(a))
		return false;
	if (v4 != NULL)
		memcpy(&v4->s_addr, a->s6_addr + 12, 4);
	return true;
}

const char *
pcp_addr_str(const struct in6_addr *a, char buf[static INET6_ADDRSTRLEN])
{
	struct in_addr v4;

	if (pcp_addr_is_v4(a, &v4))
		inet_ntop(AF_INET, &v4, buf, INET6_ADDRSTRLEN);
	else
		inet_ntop(AF_INET6, a, buf, INET6_ADDRSTRLEN);
	return buf;
}

int
pcp_nonce_new(uint8_t nonce[static PCP_NONCE_LEN], struct pm_error *err)
{
	if (getrandom(nonce, PCP_NONCE_LEN, 0) != PCP_NONCE_LEN) {
		pmerr_set(err, PME_INTERNAL, 0, "cannot make a PCP nonce: "
		    "getrandom: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void
pcp_nonce_hex(const uint8_t nonce[static PCP_NONCE_LEN],
    char out[static 2 * PCP_NONCE_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < PCP_NONCE_LEN; i++) {
		out[2 * i] = digits[nonce[i] >> 4];
		out[2 * i + 1] = digits[nonce[i] & 0x0f];
	}
	out[2 * PCP_NONCE_LEN] = '\0';
}

static int
pcp_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
pcp_nonce_parse(const char *s, uint8_t nonce[static PCP_NONCE_LEN])
{
	int i, hi, lo;

	if (strlen(s) != 2 * PCP_NONCE_LEN)
		return -1;
	for (i = 0; i < PCP_NONCE_LEN; i++) {
		if ((hi = pcp_hexval(s[2 * i])) == -1 ||
		    (lo = pcp_hexval(s[2 * i + 1])) == -1)
			return -1;
		nonce[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

size_t
pcp_build_request(uint8_t buf[static PCP_MAP_LEN],
    const struct pcp_request *req)
{
	/* Section 7.1: version, R = 0 and opcode, lifetime, client. */
	memset(buf, 0, PCP_MAP_LEN);
	buf[0] = PCP_VERSION;
	buf[1] = req->opcode & 0x7f;
	put32(buf + 4, req->lifetime);
	memcpy(buf + 8, req->client.s6_addr, 16);
	if (req->opcode != PCP_OP_MAP)
		return PCP_HEADER_LEN;
	/* Section 11.1: nonce, protocol, ports, suggested address. */
	memcpy(buf + 24, req->nonce, PCP_NONCE_LEN);
	buf[36] = req->protocol;
	put16(buf + 40, req->int_port);
	put16(buf + 42, req->ext_port);
	memcpy(buf + 44, req->ext_addr.s6_addr, 16);
	return PCP_MAP_LEN;
}

const char *
pcp_response_problem(const uint8_t *buf, size_t len,
    const struct pcp_request *req)
{
	/*
	 * Section 9: a NAT-PMP router answers any version it does not know
	 * with its own 8-byte "Unsupported Version" (RFC 6886 section 3.5):
	 * version 0, result 1, opcode 128 (errata 3618; 0 in the RFC's text,
	 * 128 + the request's in some routers).
	 */
	if (len >= 1 && buf[0] == 0) {
		if (len < 8)
			return "too short for a NAT-PMP answer";
		if (buf[1] != 0 && buf[1] != 128 && buf[1] != 128 + req->opcode)
			return "a NAT-PMP answer to another request";
		if (be16(buf + 2) != PCP_UNSUPP_VERSION)
			return "a NAT-PMP answer other than Unsupported Version";
		return NULL;
	}
	if (len < PCP_HEADER_LEN)
		return "too short for a PCP response";
	if (len > PCP_MAX_LEN || len % 4 != 0)
		return "not a PCP message (section 7: a multiple of 4 bytes, "
		    "at most 1100)";
	if (buf[0] != PCP_VERSION)
		return "wrong version";
	if ((buf[1] & 0x80) == 0)
		return "a request, not a response (R bit clear)";
	if ((buf[1] & 0x7f) != req->opcode)
		return "the response to another kind of request (wrong opcode)";
	if (req->opcode != PCP_OP_MAP)
		return NULL;
	/* A server that does not speak version 2 may send the header alone. */
	if (len < PCP_MAP_LEN)
		return buf[3] == PCP_UNSUPP_VERSION ? NULL :
		    "cut short (no MAP data)";
	/* Section 11.3: answers for other nonces or ports are stale. */
	if (memcmp(buf + 24, req->nonce, PCP_NONCE_LEN) != 0)
		return "about another mapping (the nonce differs: a stale "
		    "response)";
	if (buf[36] != req->protocol)
		return "about another protocol (a stale response)";
	if (be16(buf + 40) != req->int_port)
		return "about another internal port (a stale response)";
	return NULL;
}

int
pcp_parse_response(const uint8_t *buf, size_t len,
    const struct pcp_request *req, struct pcp_response *out,
    const char **why)
{
	const char *problem;

	memset(out, 0, sizeof(*out));
	if ((problem = pcp_response_problem(buf, len, req)) != NULL) {
		if (why != NULL)
			*why = problem;
		return -1;
	}
	out->opcode = req->opcode;
	if (buf[0] == 0) {
		/* NAT-PMP: 16-bit result, then its epoch. */
		out->result = be16(buf + 2);
		out->epoch = be32(buf + 4);
		return 0;
	}
	out->version = buf[0];
	out->result = buf[3];
	out->lifetime = be32(buf + 4);
	out->epoch = be32(buf + 8);
	if (req->opcode != PCP_OP_MAP || len < PCP_MAP_LEN)
		return 0;
	memcpy(out->nonce, buf + 24, PCP_NONCE_LEN);
	out->protocol = buf[36];
	out->int_port = be16(buf + 40);
	out->ext_port = be16(buf + 42);
	memcpy(out->ext_addr.s6_addr, buf + 44, 16);
	return 0;
}

bool
pcp_natpmp_only(const struct pcp_response *r)
{
	return r->version == 0;
}

bool
pcp_epoch_valid(uint32_t prev_epoch, int64_t prev_s, uint32_t curr_epoch,
    int64_t curr_s)
{
	int64_t client_delta, server_delta;

	/* Section 8.5: time must not run backwards by more than a second. */
	if ((int64_t)curr_epoch + 1 < (int64_t)prev_epoch)
		return false;
	client_delta = curr_s - prev_s;
	server_delta = (int64_t)curr_epoch - (int64_t)prev_epoch;
	/* Both clocks must agree within 2 s plus 1/16 of the time passed. */
	if (client_delta + 2 < server_delta - server_delta / 16 ||
	    server_delta + 2 < client_delta - client_delta / 16)
		return false;
	return true;
}

/* The external address of an IPv4 answer when it cannot be reached. */
static bool
pcp_unreachable_v4(const struct pcp_response *r, struct in_addr *v4)
{
	enum addr_class c;

	if (!pcp_addr_is_v4(&r->ext_addr, v4))
		return false;
	c = addr_classify(*v4);
	return c == ADDR_CGNAT || c == ADDR_PRIVATE;
}

/* Result codes that mean the request itself was wrong (section 7.4). */
static const char *
pcp_request_fault(int result)
{
	switch (result) {
	case PCP_MALFORMED_REQUEST:	return "MALFORMED_REQUEST";
	case PCP_MALFORMED_OPTION:	return "MALFORMED_OPTION";
	case PCP_UNSUPP_OPCODE:		return "UNSUPP_OPCODE";
	case PCP_UNSUPP_OPTION:		return "UNSUPP_OPTION";
	case PCP_UNSUPP_PROTOCOL:	return "UNSUPP_PROTOCOL";
	}
	return NULL;
}

int
pcp_check_response(const struct pcp_response *r, bool pinhole,
    const char *what, struct pm_error *err)
{
	struct in_addr v4;
	char ip[INET_ADDRSTRLEN];
	const char *fault;

	if (pcp_natpmp_only(r)) {
		pmerr_set(err, PME_UNSUPPORTED, r->result, "could not %s: the "
		    "router speaks only NAT-PMP (it answered PCP with NAT-PMP's "
		    "version 0); use --via natpmp", what);
		return -1;
	}
	/*
	 * Behind carrier-grade NAT miniupnpd answers a MAP with NO_RESOURCES
	 * and its 100.64/10 WAN address: the mapping would be useless anyway.
	 */
	if ((r->result == PCP_SUCCESS || r->result == PCP_NO_RESOURCES ||
	    r->result == PCP_NETWORK_FAILURE) && pcp_unreachable_v4(r, &v4)) {
		inet_ntop(AF_INET, &v4, ip, sizeof(ip));
		pmerr_set(err, PME_NO_PUBLIC_ADDRESS, r->result, "could not %s: "
		    "the router's external address %s is %s (PCP result %d): "
		    "forwarding from the internet cannot work through it; ask "
		    "the ISP for a public IPv4 address, use IPv6, or use a "
		    "tunnel or relay", what, ip, addr_classify(v4) == ADDR_CGNAT ?
		    "in the carrier-grade NAT range 100.64.0.0/10" : "private "
		    "(another NAT sits in front of the router)", r->result);
		return -1;
	}
	switch (r->result) {
	case PCP_SUCCESS:
		return 0;
	case PCP_NOT_AUTHORIZED:
		if (pinhole)
			pmerr_set(err, PME_PINHOLE_REFUSED, r->result, "could "
			    "not %s: the router does not let this device open "
			    "pinholes (PCP NOT_AUTHORIZED); allow it in the "
			    "router's settings (FRITZ!Box: Home Network > "
			    "Network > this device > allow PCP/UPnP)", what);
		else
			pmerr_set(err, PME_NOT_AUTHORIZED, r->result, "could "
			    "not %s: the router does not let this host map "
			    "ports (PCP NOT_AUTHORIZED); allow port sharing for "
			    "this device in the router's settings, or forward "
			    "the port by hand", what);
		return -1;
	case PCP_NO_RESOURCES:
	case PCP_USER_EX_QUOTA:
		pmerr_set(err, PME_OUT_OF_RESOURCES, r->result, "could not %s: "
		    "the router has no room for another mapping (PCP %s); "
		    "remove forwards that are no longer needed", what,
		    r->result == PCP_NO_RESOURCES ? "NO_RESOURCES" :
		    "USER_EX_QUOTA");
		return -1;
	case PCP_ADDRESS_MISMATCH:
		pmerr_set(err, PME_ADDRESS_MISMATCH, r->result, "could not %s: "
		    "the router saw the request come from another address "
		    "than this host's (PCP ADDRESS_MISMATCH): a NAT sits "
		    "between this host and the router", what);
		return -1;
	case PCP_CANNOT_PROVIDE_EXTERNAL:
		pmerr_set(err, PME_CONFLICT, r->result, "could not %s: the "
		    "router cannot give the external port or address asked "
		    "for (PCP CANNOT_PROVIDE_EXTERNAL); it may be in use: "
		    "choose another port", what);
		return -1;
	case PCP_NETWORK_FAILURE:
		pmerr_set(err, PME_NO_PUBLIC_ADDRESS, r->result, "could not "
		    "%s: the router has no working internet link (PCP "
		    "NETWORK_FAILURE); try again once it is connected", what);
		return -1;
	case PCP_UNSUPP_VERSION:
		pmerr_set(err, PME_UNSUPPORTED, r->result, "could not %s: the "
		    "router does not speak PCP version 2 (UNSUPP_VERSION); use "
		    "--via natpmp or upnp", what);
		return -1;
	}
	if ((fault = pcp_request_fault(r->result)) != NULL)
		pmerr_set(err, PME_REFUSED, r->result, "could not %s: the "
		    "router refused the request as it was made (PCP %s); its "
		    "PCP server lacks what portkeeper needs: use --via upnp or "
		    "natpmp", what, fault);
	else
		pmerr_set(err, PME_REFUSED, r->result, "could not %s: the "
		    "router refused it with PCP result %d", what, r->result);
	return -1;
}

static socklen_t
pcp_sa_len(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in);
}

int
pcp_open(struct pcp *p, const struct sockaddr *source,
    const struct sockaddr *gateway, struct pm_error *err)
{
	struct sockaddr_storage src, gw;
	char shown[INET6_ADDRSTRLEN];

	memset(p, 0, sizeof(*p));
	p->fd = -1;
	if (source->sa_family != gateway->sa_family ||
	    (source->sa_family != AF_INET && source->sa_family != AF_INET6)) {
		pmerr_set(err, PME_INTERNAL, 0, "PCP: the source and gateway "
		    "addresses are of different families");
		return -1;
	}
	p->family = source->sa_family;
	memcpy(&src, source, pcp_sa_len(source));
	memcpy(&gw, gateway, pcp_sa_len(gateway));
	if (p->family == AF_INET) {
		((struct sockaddr_in *)&src)->sin_port = 0;
		((struct sockaddr_in *)&gw)->sin_port = htons(PCP_PORT);
		pcp_addr_v4(((struct sockaddr_in *)&src)->sin_addr, &p->client);
	} else {
		((struct sockaddr_in6 *)&src)->sin6_port = 0;
		((struct sockaddr_in6 *)&gw)->sin6_port = htons(PCP_PORT);
		p->client = ((struct sockaddr_in6 *)&src)->sin6_addr;
	}
	pcp_addr_str(&p->client, shown);
	if ((p->fd = socket(p->family, SOCK_DGRAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1) {
		pmerr_set(err, PME_NETWORK, 0, "cannot open a PCP socket: %s",
		    strerror(errno));
		return -1;
	}
	if (bind(p->fd, (struct sockaddr *)&src, pcp_sa_len(source)) == -1) {
		pmerr_set(err, PME_NETWORK, 0, "cannot send PCP from %s: %s",
		    shown, strerror(errno));
		goto fail;
	}
	if (connect(p->fd, (struct sockaddr *)&gw, pcp_sa_len(gateway)) == -1) {
		pmerr_set(err, PME_NETWORK, 0, "cannot reach the router's PCP "
		    "port from %s: %s", shown, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	close(p->fd);
	p->fd = -1;
	return -1;
}

void
pcp_close(struct pcp *p)
{
	if (p->fd != -1)
		close(p->fd);
	p->fd = -1;
	p->pending = false;
}

int
pcp_fd(const struct pcp *p)
{
	return p->fd;
}

static int
pcp_transmit(struct pcp *p)
{
	if (send(p->fd, p->msg, p->msglen, 0) != (ssize_t)p->msglen) {
		log_debug("pcp: send: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int
pcp_send(struct pcp *p, const struct pcp_request *req)
{
	p->req = *req;
	p->req.client = p->client;
	p->msglen = pcp_build_request(p->msg, &p->req);
	p->nbad = 0;
	p->pending = true;
	p->interval = PCP_FIRST_INTERVAL;
	p->resend_at = mono_ms() + p->interval;
	return pcp_transmit(p);
}

int64_t
pcp_resend_at(const struct pcp *p)
{
	return p->pending ? p->resend_at : INT64_MAX;
}

void
pcp_tick(struct pcp *p, int64_t now)
{
	if (!p->pending || now < p->resend_at)
		return;
	pcp_transmit(p);
	p->interval *= 2;
	p->resend_at = now + p->interval;
}

int
pcp_read(struct pcp *p, struct pcp_response *res, struct pm_error *err)
{
	uint8_t buf[PCP_MAX_LEN + 4];
	const char *why;
	ssize_t n;

	n = recv(p->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		if (errno == ECONNREFUSED) {
			pmerr_set(err, PME_NO_GATEWAY, 0, "the router does not "
			    "run PCP (port %d unreachable): switch on PCP (on "
			    "miniupnpd and OpenWrt it comes with NAT-PMP) or "
			    "use --via upnp", PCP_PORT);
			return -1;
		}
		pmerr_set(err, PME_NETWORK, 0, "PCP: %s", strerror(errno));
		return -1;
	}
	if (!p->pending)
		return 0;
	if (pcp_parse_response(buf, (size_t)n, &p->req, res, &why) == -1) {
		log_debug("pcp: ignoring a %zd-byte datagram: %s", n, why);
		p->nbad++;
		p->bad_len = (size_t)n;
		p->bad_why = why;
		return 0;
	}
	p->pending = false;
	return 1;
}

/* The deadline passed: garbage answers say more than silence. */
static int
pcp_timed_out(struct pcp *p, struct pm_error *err)
{
	if (p->nbad > 0)
		pmerr_set(err, PME_BAD_REPLY, 0, "the router misbehaves: it "
		    "answered the PCP request %u time%s, never validly (the "
		    "last answer, %zu bytes, was %s)", p->nbad,
		    p->nbad == 1 ? "" : "s", p->bad_len, p->bad_why);
	else
		pmerr_set(err, PME_TIMEOUT, 0, "the router did not answer the "
		    "PCP request");
	p->pending = false;
	return -1;
}

int
pcp_wait(struct pcp *p, int64_t deadline, struct pcp_response *res,
    struct pm_error *err)
{
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
	int64_t now;
	int rc = 0;

	while (rc == 0) {
		if ((now = mono_ms()) >= deadline)
			return pcp_timed_out(p, err);
		pcp_tick(p, now);
		if (poll(&pfd, 1, ms_until(pcp_resend_at(p) < deadline ?
		    pcp_resend_at(p) : deadline)) > 0)
			rc = pcp_read(p, res, err);
	}
	p->pending = false;
	return rc == 1 ? 0 : -1;
}

int
pcp_announce(struct pcp *p, int64_t deadline, struct pcp_response *res,
    struct pm_error *err)
{
	struct pcp_request req;

	memset(&req, 0, sizeof(req));
	req.opcode = PCP_OP_ANNOUNCE;
	if (pcp_send(p, &req) == -1) {
		pmerr_set(err, PME_NETWORK, 0, "cannot send a PCP request: %s",
		    strerror(errno));
		return -1;
	}
	if (pcp_wait(p, deadline, res, err) == -1)
		return -1;
	if (pcp_natpmp_only(res) || res->result == PCP_UNSUPP_VERSION)
		return pcp_check_response(res, false, "ask the router over "
		    "PCP", err);
	return 0;
}

int
pcp_map(struct pcp *p, uint8_t protocol, uint16_t int_port,
    uint16_t ext_port, const struct in6_addr *ext_addr, uint32_t lifetime,
    const uint8_t nonce[static PCP_NONCE_LEN], int64_t deadline,
    struct pcp_response *res, struct pm_error *err)
{
	struct pcp_request req;
	char what[80];
	bool pinhole = p->family == AF_INET6;

	memset(&req, 0, sizeof(req));
	req.opcode = PCP_OP_MAP;
	req.lifetime = lifetime;
	memcpy(req.nonce, nonce, PCP_NONCE_LEN);
	req.protocol = protocol;
	req.int_port = int_port;
	req.ext_port = ext_port;
	if (ext_addr != NULL)
		req.ext_addr = *ext_addr;
	else if (!pinhole)
		pcp_addr_v4((struct in_addr){ 0 }, &req.ext_addr);
	snprintf(what, sizeof(what), "%s port %u/%s", lifetime == 0 ?
	    (pinhole ? "close the pinhole of" : "remove the forward of") :
	    (pinhole ? "open a pinhole for" : "forward"), pinhole ? int_port :
	    ext_port, protocol == IPPROTO_UDP ? "udp" : "tcp");
	memset(res, 0, sizeof(*res));
	if (pcp_send(p, &req) == -1) {
		pmerr_set(err, PME_NETWORK, 0, "could not %s: cannot send to "
		    "the router: %s", what, strerror(errno));
		return -1;
	}
	if (pcp_wait(p, deadline, res, err) == -1)
		return -1;
	return pcp_check_response(res, pinhole, what, err);
}
