/*
 * The outside view of a forward.  A probe server runs somewhere outside the
 * home network (a VPS, a friend's machine); portkeeper doctor asks it over
 * plain HTTP to connect back on a port, and it answers in JSON whether that
 * worked and which source address the request came from:
 *
 *   POST /probe HTTP/1.0
 *   {"port":80,"protocol":"tcp"}                    the port to try
 *   {"port":54321,"protocol":"tcp","token":"3f0c…"} and a token to exchange
 *
 *   200 {"reachable":true,"source_seen":"203.0.113.7","port":80,
 *        "protocol":"tcp","detail":"connected to 203.0.113.7:80 in 3 ms"}
 *   400 {"error":"…","field":"port"}   429 {"error":"…"} with Retry-After
 *
 * The server only ever connects to the address the request came from (it
 * takes no address from the request, so it cannot be made to scan third
 * parties), limits requests per source address, and bounds everything it
 * reads.  With a token it sends the line "PORTKEEPER-PROBE <token>" and
 * expects "PORTKEEPER-PROBE-OK <token>" back: only the doctor's own
 * listener knows to say that, so an answer proves the connection reached
 * the doctor's host and not, say, a router that answers on the port itself.
 * UDP is probed only with a token (a datagram that nobody answers proves
 * nothing).
 */
#ifndef PK_PROBE_H
#define PK_PROBE_H

#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pmerr.h"
#include "portspec.h"

#define PROBE_TOKEN_MIN		8
#define PROBE_TOKEN_MAX		64
#define PROBE_TOKEN_LEN		32	/* what probe_token_new makes: 128 bits */
#define PROBE_LINE_MAX		(sizeof("PORTKEEPER-PROBE-OK ") + PROBE_TOKEN_MAX + 2)
#define PROBE_BODY_MAX		1024	/* bytes of a request body */
#define PROBE_DEFAULT_RATE	10	/* probes a minute per source */
#define PROBE_DEFAULT_CONNECT_MS 2000	/* the server's connect-back timeout */
#define PROBE_ADDR_MAX		46	/* INET6_ADDRSTRLEN */

/* A probe server's URL: http://HOST[:PORT][/PATH], as configured. */
struct probe_url {
	char		text[256];	/* the URL as given */
	char		host[256];	/* a name, an IPv4 or an IPv6 literal */
	bool		host_v6;	/* host was "[...]" */
	uint16_t	port;		/* 80 when absent */
	char		path[128];	/* "/probe" when absent or "/" */
};

/*
 * The parsers below check what a person typed (a URL, a listen address) or
 * what a client sent, and report a sentence in a caller's buffer (and, for
 * a request, the field, which the server's 400 answer names): every
 * failure is "this input is bad".  The exchanges over the network, which
 * fail in ways a program tells apart (unreachable, refused, timeout),
 * report a struct pm_error.
 */

/*
 * Parses s.  Only http:// (the exchange carries no secret, and a TLS stack
 * for it would be the largest part of portkeeper).  Returns 0, or -1 with a
 * sentence quoting the bad part in err.
 */
int	probe_url_parse(const char *s, struct probe_url *u, char *err,
	    size_t errlen);

/*
 * Parses a listen address "A.B.C.D:PORT" or "[IPV6]:PORT" into *ss.
 * Returns 0, or -1 with a sentence in err.
 */
int	probe_listen_parse(const char *s, struct sockaddr_storage *ss,
	    socklen_t *sslen, char *err, size_t errlen);

/* A request to the probe server, checked. */
struct probe_req {
	uint16_t	port;
	enum pm_proto	proto;
	char		token[PROBE_TOKEN_MAX + 1];	/* "" when none */
};

/*
 * Parses and checks a request body (JSON).  Returns 0, or -1 with the name
 * of the offending field in field ("" when the body as a whole is bad) and
 * a sentence that names it in msg.  Unknown fields are refused, so that a
 * client asking for another address learns that it cannot have one.
 */
int	probe_req_parse(const char *body, size_t len, struct probe_req *r,
	    char *field, size_t fieldlen, char *msg, size_t msglen);

/* A token is 8 to 64 of [A-Za-z0-9_-]. */
bool	probe_token_ok(const char *s);
/* Fills tok with PROBE_TOKEN_LEN random hex digits.  0 or -1. */
int	probe_token_new(char tok[PROBE_TOKEN_MAX + 1]);
/* "PORTKEEPER-PROBE <tok>\n" (ok 0) or "PORTKEEPER-PROBE-OK <tok>\n". */
int	probe_line(char *buf, size_t len, bool ok, const char *tok);
/*
 * Parses one line (up to "\n", "\r\n" accepted) of len bytes: 1 with the
 * token copied when it is a hello (ok 0) or an answer (ok 1), 0 when the
 * line is not complete yet, -1 when it is something else.
 */
int	probe_line_parse(const char *buf, size_t len, bool ok,
	    char tok[PROBE_TOKEN_MAX + 1]);

/*
 * Requests per source address: a token bucket of per_minute requests,
 * refilled evenly over a minute, for at most max_sources sources (the most
 * idle one is forgotten when the table is full).  IPv6 sources count per
 * /64, which is what one customer gets.  Thread-safe.
 */
struct probe_rate;
struct probe_rate *probe_rate_new(unsigned per_minute, size_t max_sources);
void	probe_rate_free(struct probe_rate *);
/*
 * Takes one request from sa's bucket at now (monotonic ms).  Returns 0 when
 * allowed, -1 when over the limit with the seconds until the next one in
 * *retry_after.
 */
int	probe_rate_take(struct probe_rate *, const struct sockaddr *sa,
	    int64_t now, int *retry_after);

/* What one connection back to a requester gave. */
struct probe_outcome {
	bool	reachable;
	int	error;			/* errno of a failed connect, or 0 */
	bool	token_echoed;		/* our token came back */
	int	elapsed_ms;
	char	detail[200];
};

/*
 * The server's half: connects (TCP) or sends (UDP, token required) to
 * peer's address on port, within timeout_ms, and exchanges the token when
 * there is one.  Returns 0 with *out (reachable or not), -1 on a local
 * failure (out->detail says which).
 */
int	probe_connect_back(const struct sockaddr *peer, uint16_t port,
	    enum pm_proto proto, const char *token, int timeout_ms,
	    struct probe_outcome *out);

/* The server.  rate: per source per minute; connect_ms: connect-back. */
struct probe_server_opts {
	struct sockaddr_storage	addr;
	socklen_t		addrlen;
	unsigned		rate;
	int			connect_ms;
};

/*
 * Listens and serves on its own threads (one per connection, at most
 * PROBE_CONN_MAX) until probe_server_stop.  Returns NULL with err set.
 */
#define PROBE_CONN_MAX		256
struct probe_server;
struct probe_server *probe_server_start(const struct probe_server_opts *,
	    struct pm_error *err);
/* The address it really listens on (port 0 resolved). */
void	probe_server_addr(const struct probe_server *, char *buf, size_t len);
void	probe_server_stop(struct probe_server *);

/* The client's half: what the server answered. */
struct probe_answer {
	bool	reachable;
	bool	token_echoed;
	char	source_seen[PROBE_ADDR_MAX];
	char	detail[200];
	int	elapsed_ms;		/* the whole exchange, as seen here */
};

/*
 * Asks the server at u to probe port/proto (with token, or NULL), over
 * IPv4 (the forward is IPv4: an answer over IPv6 would test another path),
 * until deadline (monotonic ms).  Blocks (name resolution does): run it on
 * a job.  Returns 0 with *a, or -1 with err set: PME_NETWORK when the server
 * cannot be reached, PME_REFUSED for its 4xx answers (429: rate limited),
 * PME_BAD_REPLY for anything that is not its JSON, PME_TIMEOUT.
 */
int	probe_ask(const struct probe_url *u, uint16_t port,
	    enum pm_proto proto, const char *token, int64_t deadline,
	    struct probe_answer *a, struct pm_error *err);

/*
 * probe_ask over IPv6, for a pinhole: the request leaves from src, this
 * host's address being tested, because the server connects back to the
 * address a request came from (the kernel would pick a temporary address,
 * RFC 8981, that has no pinhole).  u's host is an IPv6 literal or a name
 * with an AAAA record.  Same returns as probe_ask.
 */
int	probe_ask6(const struct probe_url *u, const struct in6_addr *src,
	    uint16_t port, enum pm_proto proto, const char *token,
	    int64_t deadline, struct probe_answer *a, struct pm_error *err);

/*
 * Parses an HTTP answer of the probe server (status line, headers, JSON
 * body) held in buf.  Kept apart for tests.  Same returns as probe_ask.
 */
int	probe_answer_parse(const char *buf, size_t len, const char *url,
	    struct probe_answer *a, struct pm_error *err);

/* The address in sa as text, IPv4-mapped IPv6 shown as IPv4. */
void	probe_addr_str(const struct sockaddr *sa, char *buf, size_t len);

/*
 * Sockets with deadlines (monotonic ms), for the client's and the server's
 * halves.  probe_connect_until connects s (non-blocking) to sa: 0, or -1
 * with errno (ETIMEDOUT when the deadline passed).  probe_send_until sends
 * all of buf: 0 or -1.  probe_read_until reads into buf until
 * stop_at_newline sees "\n", the peer closes, buf is full, or the
 * deadline: the bytes read (buf NUL-terminated), or -1 with errno
 * (ETIMEDOUT when nothing came in time).
 */
int	probe_connect_until(int s, const struct sockaddr *sa, socklen_t len,
	    int64_t deadline);
int	probe_send_until(int s, const char *buf, size_t len, int64_t deadline);
ssize_t	probe_read_until(int s, char *buf, size_t cap, bool stop_at_newline,
	    int64_t deadline);

#endif
