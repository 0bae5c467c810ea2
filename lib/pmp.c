#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pmp.h"
#include "util.h"

#define PMP_FIRST_INTERVAL	250	/* RFC 6886 section 3.1 */

static uint16_t
be16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

const char *
pmp_reply_problem(const unsigned char *buf, size_t len, int op,
    uint16_t int_port)
{
	/* Every reply starts with version, opcode, result and epoch. */
	if (len < 8)
		return "too short for a NAT-PMP reply";
	if (buf[0] != 0)
		return "not NAT-PMP version 0";
	if (buf[1] != 128 + op)
		return "the reply to another kind of request (wrong opcode)";
	if (buf[2] != 0 || buf[3] != 0)
		return NULL;	/* an error result has nothing more */
	/* Section 3.2: 12 bytes with the public address. */
	if (op == PMP_OP_PUBLIC)
		return len < 12 ? "cut short (no address)" : NULL;
	/* Section 3.3: 16 bytes; it must answer the port we asked about. */
	if (len < 16)
		return "cut short (no ports or lifetime)";
	if (be16(buf + 8) != int_port)
		return "about another internal port (a stale reply)";
	return NULL;
}

int
pmp_parse_reply(const unsigned char *buf, size_t len, int op,
    uint16_t int_port, struct pmp_reply *r)
{
	memset(r, 0, sizeof(*r));
	if (pmp_reply_problem(buf, len, op, int_port) != NULL)
		return -1;
	r->op = op;
	r->result = be16(buf + 2);
	r->epoch = be32(buf + 4);
	if (r->result != 0)
		return 0;
	if (op == PMP_OP_PUBLIC) {
		memcpy(&r->addr.s_addr, buf + 8, 4);
		return 0;
	}
	r->int_port = be16(buf + 8);
	r->ext_port = be16(buf + 10);
	r->lifetime = be32(buf + 12);
	return 0;
}

int
pmp_bad_replies(const struct pmp *p, struct pm_error *err)
{
	if (p->nbad == 0)
		return 0;
	pmerr_set(err, PME_BAD_REPLY, 0, "the router misbehaves: it answered "
	    "the NAT-PMP request %u time%s, never validly (the last reply, "
	    "%zu bytes, was %s)", p->nbad, p->nbad == 1 ? "" : "s",
	    p->bad_len, p->bad_why);
	return 1;
}

int
pmp_open(struct pmp *p, struct in_addr gateway, struct pm_error *err)
{
	int rc;

	memset(p, 0, sizeof(*p));
	p->pending_op = -1;
	if ((rc = initnatpmp(&p->nat, 1, gateway.s_addr)) < 0) {
		pmerr_set(err, PME_NETWORK, 0, "cannot open a NAT-PMP socket "
		    "(libnatpmp error %d): %s", rc, strerror(errno));
		return -1;
	}
	p->is_open = 1;
	return 0;
}

void
pmp_close(struct pmp *p)
{
	if (p->is_open)
		closenatpmp(&p->nat);
	p->is_open = 0;
}

int
pmp_fd(const struct pmp *p)
{
	return p->nat.s;
}

static void
pmp_sent(struct pmp *p, int op)
{
	if (p->pending_op == -1)
		p->nbad = 0;	/* a new request, not a retransmission */
	p->pending_op = op;
	p->interval = PMP_FIRST_INTERVAL;
	p->resend_at = mono_ms() + p->interval;
}

int
pmp_send_public(struct pmp *p)
{
	if (sendpublicaddressrequest(&p->nat) < 0)
		return -1;
	pmp_sent(p, PMP_OP_PUBLIC);
	return 0;
}

int
pmp_send_map(struct pmp *p, enum pm_proto proto, uint16_t int_port,
    uint16_t ext_port, uint32_t lifetime)
{
	int op = proto == PM_UDP ? PMP_OP_MAP_UDP : PMP_OP_MAP_TCP;

	if (sendnewportmappingrequest(&p->nat, op, int_port, ext_port,
	    lifetime) < 0)
		return -1;
	p->req_int = int_port;
	p->req_ext = ext_port;
	p->req_life = lifetime;
	pmp_sent(p, op);
	return 0;
}

int64_t
pmp_resend_at(const struct pmp *p)
{
	return p->pending_op == -1 ? INT64_MAX : p->resend_at;
}

void
pmp_tick(struct pmp *p, int64_t now)
{
	int interval;

	if (p->pending_op == -1 || now < p->resend_at)
		return;
	interval = p->interval * 2;
	if (p->pending_op == PMP_OP_PUBLIC)
		pmp_send_public(p);
	else
		pmp_send_map(p, p->pending_op == PMP_OP_MAP_UDP ? PM_UDP :
		    PM_TCP, p->req_int, p->req_ext, p->req_life);
	p->interval = interval;
	p->resend_at = now + interval;
}

int
pmp_read(struct pmp *p, struct pmp_reply *r, struct pm_error *err)
{
	unsigned char buf[64];
	const char *why;
	ssize_t n;

	n = recv(p->nat.s, buf, sizeof(buf), MSG_DONTWAIT);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		if (errno == ECONNREFUSED) {
			pmerr_set(err, PME_NO_GATEWAY, 0, "the router does not "
			    "run NAT-PMP (port 5351 unreachable)");
			return -1;
		}
		pmerr_set(err, PME_NETWORK, 0, "NAT-PMP: %s", strerror(errno));
		return -1;
	}
	if (p->pending_op == -1)
		return 0;
	if ((why = pmp_reply_problem(buf, (size_t)n, p->pending_op,
	    p->req_int)) != NULL) {
		log_debug("natpmp: ignoring a %zd-byte datagram: %s", n, why);
		p->nbad++;
		p->bad_len = (size_t)n;
		p->bad_why = why;
		return 0;
	}
	pmp_parse_reply(buf, (size_t)n, p->pending_op, p->req_int, r);
	p->pending_op = -1;
	return 1;
}

int
pmp_wait(struct pmp *p, int64_t deadline, struct pmp_reply *r,
    struct pm_error *err)
{
	struct pollfd pfd;
	int rc;

	for (;;) {
		int64_t now = mono_ms(), wake;

		if (now >= deadline) {
			if (!pmp_bad_replies(p, err))
				pmerr_set(err, PME_TIMEOUT, 0, "the router "
				    "stopped answering NAT-PMP requests");
			return -1;
		}
		pmp_tick(p, now);
		wake = pmp_resend_at(p) < deadline ? pmp_resend_at(p) :
		    deadline;
		pfd.fd = p->nat.s;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, ms_until(wake)) <= 0)
			continue;
		if ((rc = pmp_read(p, r, err)) == 1)
			return 0;
		if (rc == -1)
			return -1;
	}
}
