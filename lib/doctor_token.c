/*
 * portkeeper doctor's token responder: answers probe lines (probe.h) on
 * sockets of its own, so that the hairpin and outside checks can tell this
 * host from the router that answers in its place.  Everything is
 * non-blocking; the one-forward run's poll loop drives it.
 */
#include <sys/socket.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "doctor_check.h"
#include "doctor_token.h"
#include "util.h"

#define RESP_LINE_MS	1000	/* for a TCP probe to send its line */

void
doctor_token_init(struct doctor_token *rs)
{
	size_t i;

	memset(rs, 0, sizeof(*rs));
	rs->tcp_fd = rs->udp_fd = -1;
	for (i = 0; i < DOCTOR_TOKEN_CONN_MAX; i++)
		rs->conn[i].fd = -1;
	for (i = 0; i < DOCTOR_TOK_N; i++)
		probe_token_new(rs->tok[i].tok);
}

void
doctor_token_close(struct doctor_token *rs)
{
	size_t i;

	for (i = 0; i < DOCTOR_TOKEN_CONN_MAX; i++)
		if (rs->conn[i].fd != -1)
			close(rs->conn[i].fd);
	if (rs->tcp_fd != -1)
		close(rs->tcp_fd);
	if (rs->udp_fd != -1)
		close(rs->udp_fd);
	rs->tcp_fd = rs->udp_fd = -1;
}

int
doctor_token_listen(struct doctor_token *rs, struct in_addr addr)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);

	doctor_sin_make(&sin, addr, 0);
	if ((rs->tcp_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (bind(rs->tcp_fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(rs->tcp_fd, 16) == -1 ||
	    getsockname(rs->tcp_fd, (struct sockaddr *)&sin, &sl) == -1) {
		close(rs->tcp_fd);
		rs->tcp_fd = -1;
		return -1;
	}
	rs->tcp_port = ntohs(sin.sin_port);
	return 0;
}

/* Marks tok seen; returns 1 when it is one of ours. */
static int
token_match(struct doctor_token *rs, const char *tok, const char *from)
{
	size_t i;

	for (i = 0; i < DOCTOR_TOK_N; i++) {
		if (strcmp(rs->tok[i].tok, tok) == 0) {
			if (!rs->tok[i].seen)
				str_copy(rs->tok[i].from, from,
				    sizeof(rs->tok[i].from));
			rs->tok[i].seen = true;
			return 1;
		}
	}
	return 0;
}

static void
token_conn_close(struct doctor_token *rs, size_t i)
{
	close(rs->conn[i].fd);
	rs->conn[i].fd = -1;
}

static void
token_accept(struct doctor_token *rs)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	size_t i;
	int fd;

	for (;;) {
		sl = sizeof(ss);
		fd = accept4(rs->tcp_fd, (struct sockaddr *)&ss, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1)
			return;
		for (i = 0; i < DOCTOR_TOKEN_CONN_MAX && rs->conn[i].fd != -1; i++)
			;
		if (i == DOCTOR_TOKEN_CONN_MAX) {
			close(fd);
			continue;
		}
		rs->conn[i].fd = fd;
		rs->conn[i].len = 0;
		rs->conn[i].deadline = mono_ms() + RESP_LINE_MS;
		probe_addr_str((struct sockaddr *)&ss, rs->conn[i].from,
		    sizeof(rs->conn[i].from));
	}
}

static void
token_read(struct doctor_token *rs, size_t i)
{
	char tok[PROBE_TOKEN_MAX + 1], line[PROBE_LINE_MAX + 8];
	ssize_t n;
	int rc;

	n = recv(rs->conn[i].fd, rs->conn[i].buf + rs->conn[i].len,
	    sizeof(rs->conn[i].buf) - 1 - rs->conn[i].len, 0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		token_conn_close(rs, i);
		return;
	}
	rs->conn[i].len += (size_t)n;
	rc = probe_line_parse(rs->conn[i].buf, rs->conn[i].len, false, tok);
	if (rc == 0 && rs->conn[i].len + 1 < sizeof(rs->conn[i].buf))
		return;
	/* Only our own tokens are answered: the port is no echo service. */
	if (rc == 1 && token_match(rs, tok, rs->conn[i].from) &&
	    probe_line(line, sizeof(line), true, tok) > 0)
		send(rs->conn[i].fd, line, strlen(line), MSG_NOSIGNAL);
	token_conn_close(rs, i);
}

static void
token_udp(struct doctor_token *rs)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char buf[PROBE_LINE_MAX + 8], tok[PROBE_TOKEN_MAX + 1], from[64];
	char line[PROBE_LINE_MAX + 8];
	ssize_t n;

	for (;;) {
		sl = sizeof(ss);
		n = recvfrom(rs->udp_fd, buf, sizeof(buf) - 1, MSG_DONTWAIT,
		    (struct sockaddr *)&ss, &sl);
		if (n < 0)
			return;
		probe_addr_str((struct sockaddr *)&ss, from, sizeof(from));
		if (probe_line_parse(buf, (size_t)n, false, tok) == 1 &&
		    token_match(rs, tok, from) &&
		    probe_line(line, sizeof(line), true, tok) > 0)
			sendto(rs->udp_fd, line, strlen(line), MSG_NOSIGNAL,
			    (struct sockaddr *)&ss, sl);
	}
}

nfds_t
doctor_token_pollfds(struct doctor_token *rs, struct pollfd *pfd,
    int64_t *wake)
{
	nfds_t n = 0;
	size_t i;

	if (rs->tcp_fd != -1) {
		pfd[n].fd = rs->tcp_fd;
		pfd[n++].events = POLLIN;
	}
	if (rs->udp_fd != -1) {
		pfd[n].fd = rs->udp_fd;
		pfd[n++].events = POLLIN;
	}
	for (i = 0; i < DOCTOR_TOKEN_CONN_MAX; i++) {
		if (rs->conn[i].fd == -1)
			continue;
		pfd[n].fd = rs->conn[i].fd;
		pfd[n++].events = POLLIN;
		if (rs->conn[i].deadline < *wake)
			*wake = rs->conn[i].deadline;
	}
	return n;
}

void
doctor_token_service(struct doctor_token *rs)
{
	int64_t now = mono_ms();
	size_t i;

	if (rs->tcp_fd != -1)
		token_accept(rs);
	if (rs->udp_fd != -1)
		token_udp(rs);
	for (i = 0; i < DOCTOR_TOKEN_CONN_MAX; i++) {
		if (rs->conn[i].fd == -1)
			continue;
		token_read(rs, i);
		if (rs->conn[i].fd != -1 && now >= rs->conn[i].deadline)
			token_conn_close(rs, i);
	}
}
