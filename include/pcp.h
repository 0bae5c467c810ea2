/*
 * PCP (RFC 6887) client: MAP and ANNOUNCE over IPv4 (forwards, the client
 * address written IPv4-mapped, section 5) and IPv6 (pinholes: the external
 * address is the host's own).  The socket is bound to the address being
 * opened, since the router maps the request's source (section 8.1), and
 * connected to the gateway's port 5351, so that the kernel drops datagrams
 * from anyone else.  Answers are parsed here with every length checked
 * first; a NAT-PMP router's version-0 answer is recognised (section 9) so
 * that a caller can fall back.  Retransmission runs on the monotonic clock,
 * bounded by the caller's deadline.
 */
#ifndef PK_PCP_H
#define PK_PCP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "pmerr.h"

#define PCP_PORT		5351
#define PCP_VERSION		2
#define PCP_OP_ANNOUNCE		0
#define PCP_OP_MAP		1
#define PCP_NONCE_LEN		12
#define PCP_HEADER_LEN		24	/* section 7.1 and 7.2 */
#define PCP_MAP_LEN		60	/* the header and section 11.1 */
#define PCP_MAX_LEN		1100	/* section 7 */

/* Result codes, RFC 6887 section 7.4. */
enum pcp_result {
	PCP_SUCCESS = 0,
	PCP_UNSUPP_VERSION,
	PCP_NOT_AUTHORIZED,
	PCP_MALFORMED_REQUEST,
	PCP_UNSUPP_OPCODE,
	PCP_UNSUPP_OPTION,
	PCP_MALFORMED_OPTION,
	PCP_NETWORK_FAILURE,
	PCP_NO_RESOURCES,
	PCP_UNSUPP_PROTOCOL,
	PCP_USER_EX_QUOTA,
	PCP_CANNOT_PROVIDE_EXTERNAL,
	PCP_ADDRESS_MISMATCH,
	PCP_EXCESSIVE_REMOTE_PEERS,
};

struct pcp_request {
	int		opcode;		/* PCP_OP_MAP or PCP_OP_ANNOUNCE */
	uint32_t	lifetime;	/* 0 deletes (section 15) */
	struct in6_addr	client;		/* the source, IPv4-mapped for IPv4 */
	/* MAP only (section 11.1). */
	uint8_t		nonce[PCP_NONCE_LEN];
	uint8_t		protocol;	/* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t	int_port;
	uint16_t	ext_port;	/* suggested, 0 for any */
	struct in6_addr	ext_addr;	/* suggested, :: or ::ffff:0.0.0.0 */
};

struct pcp_response {
	int		version;	/* 2, or 0: the router speaks NAT-PMP */
	int		opcode;
	int		result;		/* enum pcp_result; NAT-PMP's for 0 */
	uint32_t	lifetime;	/* of the mapping, or of the error */
	uint32_t	epoch;		/* section 8.5 */
	/* MAP only. */
	uint8_t		nonce[PCP_NONCE_LEN];
	uint8_t		protocol;
	uint16_t	int_port;
	uint16_t	ext_port;
	struct in6_addr	ext_addr;
};

struct pcp {
	int		fd;		/* -1 when closed */
	int		family;		/* of the socket: AF_INET, AF_INET6 */
	struct in6_addr	client;		/* the bound source, as PCP writes it */
	bool		pending;	/* a request waits for its answer */
	struct pcp_request req;
	uint8_t		msg[PCP_MAP_LEN];
	size_t		msglen;
	int		interval;	/* current retransmission interval */
	int64_t		resend_at;
	/* Datagrams that did not answer the request, and the last why. */
	unsigned	nbad;
	size_t		bad_len;
	const char	*bad_why;
};

/* Writes a as PCP carries it: IPv4 as ::ffff:a.b.c.d (section 5). */
void	pcp_addr_v4(struct in_addr a, struct in6_addr *out);
/* True when a is IPv4-mapped; then *v4 (if not NULL) is the address. */
bool	pcp_addr_is_v4(const struct in6_addr *a, struct in_addr *v4);
/* a as text: dotted quad when IPv4-mapped.  Returns buf. */
const char *pcp_addr_str(const struct in6_addr *a,
	    char buf[static INET6_ADDRSTRLEN]);

/* A fresh random nonce (getrandom).  0, or -1 with err set. */
int	pcp_nonce_new(uint8_t nonce[static PCP_NONCE_LEN],
	    struct pm_error *err);

/* The nonce as 24 lowercase hex digits, for people and files. */
void	pcp_nonce_hex(const uint8_t nonce[static PCP_NONCE_LEN],
	    char out[static 2 * PCP_NONCE_LEN + 1]);
/* Reads 24 hex digits (nothing else) into nonce: 0, or -1. */
int	pcp_nonce_parse(const char *s, uint8_t nonce[static PCP_NONCE_LEN]);

/*
 * Writes the request (section 7.1, and 11.1 for MAP) into buf.  Returns its
 * length: PCP_MAP_LEN or PCP_HEADER_LEN.
 */
size_t	pcp_build_request(uint8_t buf[static PCP_MAP_LEN],
	    const struct pcp_request *req);

/*
 * Why pcp_parse_response() ignores this datagram as an answer to req, as a
 * phrase ("too short for a PCP response", "wrong version", "about another
 * mapping (the nonce differs: a stale response)"), or NULL when it answers.
 */
const char *pcp_response_problem(const uint8_t *buf, size_t len,
	    const struct pcp_request *req);

/*
 * Parses one datagram as the answer to req (section 7.2, 11.1).  Returns 0
 * with *out filled when it answers, -1 when it must be ignored; *why (when
 * not NULL) then says why.  A NAT-PMP router's answer (version 0) is valid:
 * out->version is 0, see pcp_natpmp_only().
 */
int	pcp_parse_response(const uint8_t *buf, size_t len,
	    const struct pcp_request *req, struct pcp_response *out,
	    const char **why);

/* True when the answer came from a router that speaks only NAT-PMP. */
bool	pcp_natpmp_only(const struct pcp_response *);

/*
 * Epoch check, section 8.5: the server's epoch prev_epoch seen at client
 * time prev_s (seconds, monotonic), now curr_epoch at curr_s.  False when
 * the router has lost its state (rebooted, or its epoch ran backwards), so
 * that every mapping must be made again.
 */
bool	pcp_epoch_valid(uint32_t prev_epoch, int64_t prev_s,
	    uint32_t curr_epoch, int64_t curr_s);

/*
 * Whether a MAP answer grants what was asked: 0, or -1 with err set from
 * its result code (section 7.4) and a sentence a person can act on.  what
 * says what was attempted ("forward port 8080/tcp"); pinhole says it was
 * an IPv6 pinhole.  An IPv4 answer whose external address is carrier-grade
 * NAT or private space is PME_NO_PUBLIC_ADDRESS, whatever its result.
 */
int	pcp_check_response(const struct pcp_response *, bool pinhole,
	    const char *what, struct pm_error *err);

/*
 * Opens a UDP socket bound to source (its port is ignored) and connected to
 * gateway's port 5351 (a link-local IPv6 gateway needs its scope id).
 * Returns 0, or -1 with err set.
 */
int	pcp_open(struct pcp *, const struct sockaddr *source,
	    const struct sockaddr *gateway, struct pm_error *err);
void	pcp_close(struct pcp *);
int	pcp_fd(const struct pcp *);

/* Sends req (its client is the socket's) and keeps it for resending. */
int	pcp_send(struct pcp *, const struct pcp_request *req);
/* When the request is due for retransmission (monotonic ms). */
int64_t	pcp_resend_at(const struct pcp *);
void	pcp_tick(struct pcp *, int64_t now);

/*
 * Reads one datagram.  Returns 1 with *res when it answers the request, 0
 * when there was nothing valid, -1 when the gateway does not run PCP (ICMP
 * port unreachable) or the socket failed, with err set.
 */
int	pcp_read(struct pcp *, struct pcp_response *res, struct pm_error *err);

/*
 * Waits until deadline for the answer to the request sent, resending.
 * Returns 0 with *res (any result code), or -1 with err set (PME_TIMEOUT,
 * PME_BAD_REPLY when only invalid answers came, or pcp_read's error).
 */
int	pcp_wait(struct pcp *, int64_t deadline, struct pcp_response *res,
	    struct pm_error *err);

/*
 * Sends an ANNOUNCE (section 14.1) and waits for its answer: 0 with *res
 * (its epoch), or -1 with err set; PME_UNSUPPORTED when the router speaks
 * only NAT-PMP.
 */
int	pcp_announce(struct pcp *, int64_t deadline, struct pcp_response *res,
	    struct pm_error *err);

/*
 * Sends one MAP (proto IPPROTO_TCP/UDP, int_port, suggested ext_port and
 * ext_addr, lifetime, nonce) and waits for its answer until deadline.
 * Returns 0 with *res when the router granted it, or -1 with err set (*res
 * holds the answer when one came: its result and external address);
 * PME_UNSUPPORTED when the router speaks only NAT-PMP.
 */
int	pcp_map(struct pcp *, uint8_t protocol, uint16_t int_port,
	    uint16_t ext_port, const struct in6_addr *ext_addr,
	    uint32_t lifetime, const uint8_t nonce[static PCP_NONCE_LEN],
	    int64_t deadline, struct pcp_response *res, struct pm_error *err);

#endif
