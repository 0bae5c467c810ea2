/*
 * portkeeper doctor's token responder (doctor_token.c): a socket of its own
 * on this host that answers the hairpin and outside probes' token lines
 * (probe.h), so that a probe that gets through proves it reached this host
 * and not the router.  Only its own tokens are answered: the port is no
 * echo service.  Internal to lib/doctor*.c.
 */
#ifndef PK_DOCTOR_TOKEN_H
#define PK_DOCTOR_TOKEN_H

#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "probe.h"

#define DOCTOR_TOKEN_CONN_MAX	8	/* TCP probes answered at once */

/* Which probe a token is for. */
enum doctor_token_id {
	DOCTOR_TOK_HAIRPIN,		/* inside, through the probe mapping */
	DOCTOR_TOK_OUTSIDE,		/* the probe server, probe mapping */
	DOCTOR_TOK_HAIRPIN_UDP,		/* inside, to WAN:EXT/udp */
	DOCTOR_TOK_OUTSIDE_UDP,		/* the probe server, EXT/udp */
	DOCTOR_TOK_N
};

struct doctor_token {
	int		tcp_fd;		/* listening on internal:tcp_port */
	uint16_t	tcp_port;
	/* internal:INT/udp when the run holds it; the run opens it. */
	int		udp_fd;
	struct {
		int	fd;
		char	buf[PROBE_LINE_MAX + 8];
		size_t	len;
		int64_t	deadline;
		char	from[PROBE_ADDR_MAX];
	} conn[DOCTOR_TOKEN_CONN_MAX];
	struct {
		char	tok[PROBE_TOKEN_MAX + 1];
		bool	seen;			/* it came back to us */
		char	from[PROBE_ADDR_MAX];	/* first seen from */
	} tok[DOCTOR_TOK_N];
};

/* Makes a fresh token of each kind; no socket is open yet. */
void	doctor_token_init(struct doctor_token *);
/* Closes every socket, the UDP one too. */
void	doctor_token_close(struct doctor_token *);
/* Opens the TCP token socket on an ephemeral port of addr.  0 or -1. */
int	doctor_token_listen(struct doctor_token *, struct in_addr addr);
/*
 * Adds the responder's descriptors to pfd (room for
 * DOCTOR_TOKEN_CONN_MAX + 2) and lowers *wake to its earliest deadline;
 * returns how many it added.
 */
nfds_t	doctor_token_pollfds(struct doctor_token *, struct pollfd *pfd,
	    int64_t *wake);
/* Answers what arrived, without blocking; closes connections past due. */
void	doctor_token_service(struct doctor_token *);

#endif
