/*
 * Connecting back: the probe server's half of a probe (see probe.h), also
 * what portkeeper doctor uses to try its own forward from inside the LAN.
 * Kept apart from the server (probe_server.c) because the doctor needs it
 * and the command line must not link the server's libmicrohttpd.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "probe.h"
#include "util.h"

#define PROBE_TOKEN_WAIT_MS	1000	/* for the answer to a token */

/* Turns an IPv4-mapped IPv6 address into plain IPv4; sets the port. */
static socklen_t
normalize_peer(const struct sockaddr *sa, uint16_t port,
    struct sockaddr_storage *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)out;

			s4->sin_family = AF_INET;
			memcpy(&s4->sin_addr, &s6->sin6_addr.s6_addr[12], 4);
			s4->sin_port = htons(port);
			return sizeof(*s4);
		}
		memcpy(out, s6, sizeof(*s6));
		((struct sockaddr_in6 *)out)->sin6_port = htons(port);
		return sizeof(*s6);
	}
	memcpy(out, sa, sizeof(struct sockaddr_in));
	((struct sockaddr_in *)out)->sin_port = htons(port);
	return sizeof(struct sockaddr_in);
}


static int
connect_back_tcp(const struct sockaddr *dst, socklen_t dlen, const char *a,
    uint16_t port, const char *token, int timeout_ms,
    struct probe_outcome *out)
{
	int64_t t0 = mono_ms(), deadline = t0 + timeout_ms;
	char line[PROBE_LINE_MAX + 8], tok[PROBE_TOKEN_MAX + 1];
	ssize_t n;
	int s, e;

	if ((s = socket(dst->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		snprintf(out->detail, sizeof(out->detail), "socket: %s",
		    strerror(errno));
		return -1;
	}
	if (probe_connect_until(s, dst, dlen, deadline) == -1) {
		e = errno;
		out->error = e;
		out->elapsed_ms = (int)(mono_ms() - t0);
		if (e == ETIMEDOUT)
			snprintf(out->detail, sizeof(out->detail), "no answer "
			    "from %s:%u within %d ms: a firewall, or a NAT "
			    "without this forward, drops the connection", a,
			    port, timeout_ms);
		else if (e == ECONNREFUSED)
			snprintf(out->detail, sizeof(out->detail), "%s:%u "
			    "refused the connection: nothing forwards or "
			    "listens on that port there", a, port);
		else
			snprintf(out->detail, sizeof(out->detail), "cannot "
			    "connect to %s:%u: %s", a, port, strerror(e));
		close(s);
		return 0;
	}
	out->reachable = true;
	out->elapsed_ms = (int)(mono_ms() - t0);
	if (token == NULL || token[0] == '\0') {
		snprintf(out->detail, sizeof(out->detail), "connected to %s:%u "
		    "in %d ms", a, port, out->elapsed_ms);
		close(s);
		return 0;
	}
	/* A connection made just in time still gets a moment to answer. */
	if (deadline < mono_ms() + PROBE_TOKEN_WAIT_MS)
		deadline = mono_ms() + PROBE_TOKEN_WAIT_MS;
	probe_line(line, sizeof(line), false, token);
	if (probe_send_until(s, line, strlen(line), deadline) == 0 &&
	    (n = probe_read_until(s, line, sizeof(line), true, deadline)) > 0 &&
	    probe_line_parse(line, (size_t)n, true, tok) == 1 &&
	    strcmp(tok, token) == 0)
		out->token_echoed = true;
	out->elapsed_ms = (int)(mono_ms() - t0);
	snprintf(out->detail, sizeof(out->detail), "connected to %s:%u in "
	    "%d ms; %s", a, port, out->elapsed_ms, out->token_echoed ?
	    "the token came back" : "but the token did not come back: "
	    "something else answers there");
	close(s);
	return 0;
}

static int
connect_back_udp(const struct sockaddr *dst, socklen_t dlen, const char *a,
    uint16_t port, const char *token, int timeout_ms,
    struct probe_outcome *out)
{
	int64_t t0 = mono_ms(), deadline = t0 + timeout_ms, next = t0;
	char line[PROBE_LINE_MAX + 8], buf[PROBE_LINE_MAX + 8];
	char tok[PROBE_TOKEN_MAX + 1];
	struct pollfd pfd;
	size_t llen;
	ssize_t n;
	int s, sent = 0;

	if ((s = socket(dst->sa_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1 || connect(s, dst, dlen) == -1) {
		snprintf(out->detail, sizeof(out->detail), "cannot send to "
		    "%s:%u: %s", a, port, strerror(errno));
		if (s != -1)
			close(s);
		return -1;
	}
	probe_line(line, sizeof(line), false, token);
	llen = strlen(line);
	while (mono_ms() < deadline) {
		/* Datagrams get lost: three tries, spread over the time. */
		if (mono_ms() >= next && sent < 3) {
			send(s, line, llen, MSG_NOSIGNAL);
			sent++;
			next = mono_ms() + timeout_ms / 4;
		}
		pfd.fd = s;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, ms_until(sent < 3 && next < deadline ? next :
		    deadline)) <= 0)
			continue;
		n = recv(s, buf, sizeof(buf) - 1, 0);
		if (n == -1 && errno == ECONNREFUSED) {
			out->error = ECONNREFUSED;
			out->elapsed_ms = (int)(mono_ms() - t0);
			snprintf(out->detail, sizeof(out->detail), "%s:%u "
			    "refused the datagram (ICMP port unreachable): "
			    "nothing forwards or listens on that port there", a,
			    port);
			close(s);
			return 0;
		}
		if (n > 0 && probe_line_parse(buf, (size_t)n, true, tok) == 1 &&
		    strcmp(tok, token) == 0) {
			out->reachable = out->token_echoed = true;
			out->elapsed_ms = (int)(mono_ms() - t0);
			snprintf(out->detail, sizeof(out->detail), "%s:%u "
			    "answered the token over UDP in %d ms", a, port,
			    out->elapsed_ms);
			close(s);
			return 0;
		}
	}
	out->error = ETIMEDOUT;
	out->elapsed_ms = (int)(mono_ms() - t0);
	snprintf(out->detail, sizeof(out->detail), "no answer to the token "
	    "from %s:%u/udp within %d ms", a, port, timeout_ms);
	close(s);
	return 0;
}

int
probe_connect_back(const struct sockaddr *peer, uint16_t port,
    enum pm_proto proto, const char *token, int timeout_ms,
    struct probe_outcome *out)
{
	struct sockaddr_storage dst;
	socklen_t dlen;
	char a[PROBE_ADDR_MAX];

	memset(out, 0, sizeof(*out));
	dlen = normalize_peer(peer, port, &dst);
	probe_addr_str((struct sockaddr *)&dst, a, sizeof(a));
	if (proto == PM_UDP) {
		if (token == NULL || token[0] == '\0') {
			snprintf(out->detail, sizeof(out->detail), "UDP needs a "
			    "token");
			return -1;
		}
		return connect_back_udp((struct sockaddr *)&dst, dlen, a, port,
		    token, timeout_ms, out);
	}
	return connect_back_tcp((struct sockaddr *)&dst, dlen, a, port, token,
	    timeout_ms, out);
}
