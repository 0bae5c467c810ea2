/*
 * NAT-PMP (RFC 6886) client.  libnatpmp opens the socket (connected to the
 * gateway, so the kernel drops datagrams from any other source) and builds
 * the requests; replies are read and checked here, because libnatpmp 20150609
 * parses a datagram without checking its length and retries for up to 128 s
 * on its own clock.  Retransmission follows RFC 6886 section 3.1 (250 ms,
 * doubling) on the monotonic clock, bounded by the caller's deadline.
 */
#ifndef PK_PMP_H
#define PK_PMP_H

#include <netinet/in.h>
#include <natpmp.h>
#include <stddef.h>
#include <stdint.h>

#include "pmerr.h"
#include "portspec.h"

#define PMP_OP_PUBLIC	0
#define PMP_OP_MAP_UDP	1
#define PMP_OP_MAP_TCP	2

struct pmp_reply {
	int		op;		/* request opcode the reply answers */
	int		result;		/* RFC 6886 section 3.5 result code */
	uint32_t	epoch;		/* seconds since start of epoch */
	struct in_addr	addr;		/* op 0: the public address */
	uint16_t	int_port;	/* op 1/2 */
	uint16_t	ext_port;
	uint32_t	lifetime;
};

struct pmp {
	natpmp_t	nat;
	int		is_open;
	int		pending_op;	/* -1 when nothing is outstanding */
	uint16_t	req_int;
	uint16_t	req_ext;
	uint32_t	req_life;
	int		interval;	/* current retransmission interval */
	int64_t		resend_at;
	/*
	 * Datagrams from the gateway that did not answer the outstanding
	 * request, and why the last one did not: a router that answers with
	 * garbage is not a router that does not answer.
	 */
	unsigned	nbad;
	size_t		bad_len;
	const char	*bad_why;
};

/*
 * Parses one reply datagram to a request with opcode op (and, for a mapping,
 * internal port int_port).  Returns 0 when it is a valid answer, -1 when it
 * must be ignored (short, wrong version, wrong opcode, another port).
 */
int	pmp_parse_reply(const unsigned char *buf, size_t len, int op,
	    uint16_t int_port, struct pmp_reply *r);

/*
 * Why pmp_parse_reply() would ignore this datagram, as a phrase ("too
 * short for a NAT-PMP reply"), or NULL when it is a valid answer.
 */
const char *pmp_reply_problem(const unsigned char *buf, size_t len, int op,
	    uint16_t int_port);

/*
 * When invalid replies came for the outstanding request: a sentence saying
 * so in err (PME_BAD_REPLY) and 1; else 0.
 */
int	pmp_bad_replies(const struct pmp *, struct pm_error *err);

/* Opens the socket to gateway.  Returns 0 or -1 with err set. */
int	pmp_open(struct pmp *, struct in_addr gateway, struct pm_error *err);
void	pmp_close(struct pmp *);
int	pmp_fd(const struct pmp *);

/* Sends a request (and remembers it for retransmission).  0 or -1. */
int	pmp_send_public(struct pmp *);
int	pmp_send_map(struct pmp *, enum pm_proto, uint16_t int_port,
	    uint16_t ext_port, uint32_t lifetime);

/* When the outstanding request is due for retransmission (monotonic ms). */
int64_t	pmp_resend_at(const struct pmp *);
/* Retransmits the outstanding request if it is due. */
void	pmp_tick(struct pmp *, int64_t now);

/*
 * Reads one datagram.  Returns 1 with *r filled when it answers the
 * outstanding request, 0 when there was nothing (or nothing valid) to read,
 * and -1 when the gateway is known not to speak NAT-PMP (ICMP port
 * unreachable) or the socket failed, with err set.
 */
int	pmp_read(struct pmp *, struct pmp_reply *r, struct pm_error *err);

/*
 * Sends nothing; waits for the answer to the outstanding request until
 * deadline, retransmitting.  Returns 0 with *r, or -1 with err set
 * (PME_TIMEOUT, PME_BAD_REPLY when only invalid replies came, or the
 * pmp_read error).
 */
int	pmp_wait(struct pmp *, int64_t deadline, struct pmp_reply *r,
	    struct pm_error *err);

#endif
