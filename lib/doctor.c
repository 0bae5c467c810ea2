/*
 * portkeeper doctor: the checks, the verdict and the words.
 *
 * One run, on the clock (the router answering on a LAN, about 200 ms):
 *
 *   main thread     netinfo, the address's lifetime (rtnetlink), a
 *                   listening socket for probe tokens, then a poll loop
 *                   that answers tokens and collects the jobs below
 *   job router 1    find the gateway (first protocol to answer), make
 *                   the short-lived probe mapping to the token socket
 *   job router 2    wait for the other protocol, look up the forward
 *   job listener    connect to INTERNAL:INT
 *   job outside A   ask the probe server to connect back on EXT
 *   job hairpin     (after router 1) connect to WAN:probe port, swap the
 *                   token; then WAN:EXT
 *   job outside B   (after router 1) the probe server connects to the
 *                   probe port with a token
 *
 * The router jobs share one portmap and run one after the other; the main
 * thread waits for them (portmap bounds every call with a deadline of its
 * own) and removes the probe mapping at the end, whatever happened.  The
 * other jobs only own sockets and are abandoned if they overrun.
 */
#include <sys/random.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "doctor.h"
#include "job.h"
#include "log.h"
#include "netinfo.h"
#include "portmap.h"
#include "util.h"

#define PROBE_MAPPING_LEASE	60	/* s: a crash leaves nothing for long */
#define PROBE_MAPPING_DESC	"portkeeper doctor probe"
#define LISTENER_MS		1000	/* connect to INTERNAL:INT */
#define LOOPBACK_MS		300	/* and to 127.0.0.1:INT */
#define HAIRPIN_MS		1000	/* tries through the probe mapping */
#define HAIRPIN_RETRY_MS	50	/* after a refusal (a rule not yet in) */
#define HAIRPIN_EXT_MS		500	/* WAN:EXT from inside */
#define OUTSIDE_MS		(PROBE_DEFAULT_CONNECT_MS + 1500)
#define JOB_GRACE_MS		500	/* past its own deadline: abandoned */
#define RESP_CONN_MAX		8
#define RESP_LINE_MS		1000
#define STOP_POLL_MS		100	/* how soon a stop request is seen */
#define AUDIT_LISTEN_MS		2000	/* all listener checks of an audit */

static const char *const check_names[DOC_NCHECKS] = {
	"gateway", "external_ip", "internal_ip", "listener", "mapping",
	"hairpin", "external",
};

static const char *const verdict_names[DOCV_NVERDICTS] = {
	"ok", "no_gateway", "cgnat", "double_nat", "no_listener", "no_mapping",
	"mapping_conflict", "hairpin_unsupported", "external_blocked",
};

static const char *const reason_names[DOCR_NREASONS] = {
	"", "no_route", "no_gateway", "cgnat", "no_address", "private",
	"reserved", "bad_address", "dhcp", "refused", "loopback_only",
	"timeout", "not_verifiable", "absent", "conflict", "other_port",
	"disabled", "unlistable", "no_loopback", "router_answers",
	"unreachable", "other_nat", "probe_failed", "error",
};

const char *
doctor_check_str(enum doctor_check_id id)
{
	return (unsigned)id < DOC_NCHECKS ? check_names[id] : "?";
}

const char *
doctor_status_str(enum doctor_status s)
{
	switch (s) {
	case DOC_PASS:	return "pass";
	case DOC_WARN:	return "warn";
	case DOC_FAIL:	return "fail";
	case DOC_SKIP:	break;
	}
	return "skip";
}

const char *
doctor_reason_str(enum doctor_reason r)
{
	return (unsigned)r < DOCR_NREASONS ? reason_names[r] : "";
}

const char *
doctor_verdict_str(enum doctor_verdict v)
{
	return (unsigned)v < DOCV_NVERDICTS ? verdict_names[v] : "ok";
}

static void __attribute__((format(printf, 5, 6)))
check_set(struct doctor_check *c, enum doctor_check_id id,
    enum doctor_status st, enum doctor_reason why, const char *fmt, ...)
{
	va_list ap;

	c += id;
	c->status = st;
	c->reason = why;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ */
/* The verdict: a pure function of the checks */

enum doctor_verdict
doctor_verdict(const struct doctor_check c[DOC_NCHECKS])
{
	const struct doctor_check *ip = &c[DOC_EXTERNAL_IP];
	const struct doctor_check *lis = &c[DOC_LISTENER];
	const struct doctor_check *map = &c[DOC_MAPPING];
	const struct doctor_check *hp = &c[DOC_HAIRPIN];
	const struct doctor_check *ext = &c[DOC_EXTERNAL];
	bool map_ok = map->status == DOC_PASS || map->status == DOC_WARN;
	bool lis_ok = lis->status != DOC_FAIL;

	/* Nothing to talk to: every other answer is moot. */
	if (c[DOC_GATEWAY].status == DOC_FAIL)
		return DOCV_NO_GATEWAY;
	/* No forward on this router can work from the internet. */
	if (ip->status == DOC_FAIL)
		return ip->reason == DOCR_CGNAT || ip->reason == DOCR_NO_ADDRESS ?
		    DOCV_CGNAT : DOCV_DOUBLE_NAT;
	if (ext->status == DOC_FAIL && ext->reason == DOCR_OTHER_NAT)
		return DOCV_DOUBLE_NAT;
	/*
	 * A port held by another host cannot be fixed on this one, so it
	 * comes before a missing listener, which makes any forward useless,
	 * which comes before a missing forward (the last step of a setup).
	 */
	if (map->status == DOC_FAIL && map->reason == DOCR_CONFLICT)
		return DOCV_MAPPING_CONFLICT;
	if (lis->status == DOC_FAIL)
		return DOCV_NO_LISTENER;
	if (map->status == DOC_FAIL)
		return DOCV_NO_MAPPING;
	if (ext->status == DOC_FAIL)
		/*
		 * Blocked only when the forward is known to be there; a router
		 * that cannot show its table (NAT-PMP) most likely lacks it.
		 */
		return map_ok ? DOCV_EXTERNAL_BLOCKED : DOCV_NO_MAPPING;
	if (hp->status == DOC_FAIL && (ext->status == DOC_PASS ||
	    (map_ok && lis_ok)))
		return DOCV_HAIRPIN_UNSUPPORTED;
	return DOCV_OK;
}

static void
check_internal_ip(struct doctor_check *checks, const struct netinfo *ni,
    struct netinfo_addr *da)
{
	if (netinfo_addr_lookup(ni->internal, da) == -1 || !da->found) {
		check_set(checks, DOC_INTERNAL_IP, DOC_WARN, DOCR_ERROR,
		    "%s is this host's address towards the gateway %s, but "
		    "the kernel's address list (rtnetlink) does not say how "
		    "it was assigned", ni->internal_str, ni->gateway_str);
		return;
	}
	if (da->valid == 0xffffffffu) {
		check_set(checks, DOC_INTERNAL_IP, DOC_PASS, DOCR_NONE,
		    "%s/%u on %s does not expire: a static address (or a "
		    "DHCP client that keeps its lease to itself)",
		    ni->internal_str, da->prefixlen, ni->ifname);
		return;
	}
	check_set(checks, DOC_INTERNAL_IP, DOC_WARN, DOCR_DHCP,
	    "%s/%u on %s is leased by DHCP (it expires in %u s unless "
	    "renewed): the router may hand this host another address one "
	    "day, and the forward would then point at nobody until it is "
	    "re-pointed; reserve %s for this host in the router's DHCP "
	    "settings (a DHCP reservation), or give it a static address "
	    "outside the DHCP range", ni->internal_str, da->prefixlen,
	    ni->ifname, da->valid, ni->internal_str);
}

/* ------------------------------------------------------------------ */
/* Jobs */

static void
sin_make(struct sockaddr_in *sin, struct in_addr a, uint16_t port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr = a;
	sin->sin_port = htons(port);
}

struct listen_call {
	struct in_addr		addr;
	uint16_t		port;
	struct probe_outcome	out, lo;
	bool			tried_lo;
};

static void
listen_run(void *arg)
{
	struct listen_call *c = arg;
	struct sockaddr_in sin;
	struct in_addr lo = { htonl(INADDR_LOOPBACK) };

	sin_make(&sin, c->addr, c->port);
	probe_connect_back((struct sockaddr *)&sin, c->port, PM_TCP, NULL,
	    LISTENER_MS, &c->out);
	if (!c->out.reachable && c->out.error == ECONNREFUSED) {
		sin_make(&sin, lo, c->port);
		probe_connect_back((struct sockaddr *)&sin, c->port, PM_TCP,
		    NULL, LOOPBACK_MS, &c->lo);
		c->tried_lo = true;
	}
}

static void
listener_result(struct doctor_check *checks, const struct listen_call *c)
{
	char a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &c->addr, a, sizeof(a));
	if (c->out.reachable)
		check_set(checks, DOC_LISTENER, DOC_PASS, DOCR_NONE, "something "
		    "accepts TCP connections on %s:%u", a,
		    c->port);
	else if (c->out.error == ECONNREFUSED && c->tried_lo &&
	    c->lo.reachable)
		check_set(checks, DOC_LISTENER, DOC_FAIL, DOCR_LOOPBACK_ONLY,
		    "nothing accepts TCP connections on %s:%u, but 127.0.0.1:%u "
		    "does: the server listens only on localhost; make it listen "
		    "on 0.0.0.0 (all addresses) or on %s", a,
		    c->port, c->port, a);
	else if (c->out.error == ECONNREFUSED)
		check_set(checks, DOC_LISTENER, DOC_FAIL, DOCR_REFUSED, "nothing "
		    "accepts TCP connections on %s:%u (connection refused): the "
		    "server is not running, or it listens on another port",
		    a, c->port);
	else if (c->out.error == ETIMEDOUT)
		check_set(checks, DOC_LISTENER, DOC_WARN, DOCR_TIMEOUT, "no "
		    "answer from %s:%u within %d ms: a firewall on this host may "
		    "drop connections to it", a, c->port,
		    LISTENER_MS);
	else
		check_set(checks, DOC_LISTENER, DOC_WARN, DOCR_ERROR, "cannot "
		    "connect to %s:%u: %s", a, c->port,
		    strerror(c->out.error));
}

/*
 * The router's part, in two stages on one portmap: stage 1 finds the
 * gateway and makes the probe mapping (so that the hairpin and outside
 * checks can start), stage 2 waits for the other protocol and looks up the
 * forward.
 */
struct router_call {
	enum pm_method		 via;
	int			 timeout_ms;
	struct portspec		 spec;
	bool			 want_probe;
	uint16_t		 probe_in;	/* the token socket's port */
	int			 stop;		/* atomic: make no mapping */
	bool			 audit;		/* stage 2 lists the table */

	struct portmap		*pm;
	struct pm_error		 new_err;
	int			 probe0_rc;
	struct pm_error		 probe0_err;
	int			 open_rc;	/* -1 also: not tried */
	struct pm_error		 open_err;
	uint16_t		 probe_ext;
	int			 probe1_rc;
	struct pm_error		 probe1_err;
	struct portmap_info	 info;
	int			 verify_rc;
	struct pm_mapping	 m;
	struct pm_error		 verify_err;
	int			 list_rc;
	struct pm_mapping	*list;
	size_t			 nlist;
	struct pm_error		 list_err;
};

static uint16_t
random_port(void)
{
	uint16_t r = 0;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint16_t)mono_ms();
	return (uint16_t)(49152 + r % 16384);
}

static void
router_stage1(void *arg)
{
	struct router_call *c = arg;
	struct portmap_open_result res;
	struct portspec ps;
	int try;

	c->open_rc = -1;
	c->probe0_rc = -1;
	if ((c->pm = portmap_new(c->via, c->timeout_ms, &c->new_err)) == NULL)
		return;
	if ((c->probe0_rc = portmap_discover(c->pm, 0, &c->probe0_err)) == -1)
		return;
	if (!c->want_probe || __atomic_load_n(&c->stop, __ATOMIC_SEQ_CST) ||
	    !addr_class_is_public(portmap_info(c->pm)->external_class))
		return;
	memset(&ps, 0, sizeof(ps));
	ps.ext = ps.in = c->probe_in;
	ps.in_given = 1;
	ps.proto = PM_TCP;
	/* NAT-PMP offers another port itself; UPnP says 718: pick again. */
	for (try = 0; try < 3; try++) {
		c->open_rc = portmap_open(c->pm, &ps, PROBE_MAPPING_LEASE, true,
		    PROBE_MAPPING_DESC, &res, &c->open_err);
		if (c->open_rc == 0) {
			c->probe_ext = res.ext_port;
			break;
		}
		if (c->open_err.code != PME_CONFLICT)
			break;
		ps.ext = random_port();
	}
}

static void
router_stage2(void *arg)
{
	struct router_call *c = arg;

	c->probe1_rc = portmap_discover(c->pm, 1, &c->probe1_err);
	c->info = *portmap_info(c->pm);
	if (c->probe1_rc == -1)
		return;
	if (c->audit) {
		c->list_rc = portmap_list(c->pm, &c->list, &c->nlist,
		    &c->list_err);
		return;
	}
	c->verify_rc = portmap_verify(c->pm, &c->spec, &c->m, &c->verify_err);
}

/*
 * From inside the LAN to the router's external address: first the probe
 * mapping with a token (does the router loop back at all?), then EXT
 * itself.
 */
struct hairpin_call {
	struct in_addr		wan;
	uint16_t		probe_port;
	char			token[PROBE_TOKEN_MAX + 1];
	uint16_t		ext;
	bool			ext_tcp;	/* connect to WAN:EXT */
	bool			ext_udp;	/* token to WAN:EXT/udp */
	char			udp_token[PROBE_TOKEN_MAX + 1];
	int64_t			deadline;

	int			tok_rc;		/* 1 ours, 0 not, -1 none */
	int			tok_error;
	int			attempts;
	struct probe_outcome	ext_out;
	struct probe_outcome	udp_out;
};

static void
hairpin_run(void *arg)
{
	struct hairpin_call *c = arg;
	struct sockaddr_in sin;
	struct probe_outcome o;
	int64_t start = mono_ms(), end = start + HAIRPIN_MS, left;

	c->tok_rc = -1;
	sin_make(&sin, c->wan, c->probe_port);
	while ((left = end - mono_ms()) > 0) {
		c->attempts++;
		probe_connect_back((struct sockaddr *)&sin, c->probe_port,
		    PM_TCP, c->token, left < 500 ? (int)left : 500, &o);
		if (o.reachable) {
			c->tok_rc = o.token_echoed ? 1 : 0;
			break;
		}
		c->tok_error = o.error;
		/*
		 * A refusal may come from the router before its loopback rule
		 * for the new mapping is in place: try again shortly.
		 */
		if (o.error != ETIMEDOUT && (left = end - mono_ms()) > 0)
			poll(NULL, 0, left < HAIRPIN_RETRY_MS ? (int)left :
			    HAIRPIN_RETRY_MS);
	}
	if (c->ext_tcp) {
		sin_make(&sin, c->wan, c->ext);
		probe_connect_back((struct sockaddr *)&sin, c->ext, PM_TCP,
		    NULL, HAIRPIN_EXT_MS, &c->ext_out);
	}
	if (c->ext_udp) {
		sin_make(&sin, c->wan, c->ext);
		probe_connect_back((struct sockaddr *)&sin, c->ext, PM_UDP,
		    c->udp_token, HAIRPIN_MS, &c->udp_out);
	}
}

struct outside_call {
	struct probe_url	url;
	uint16_t		port;
	enum pm_proto		proto;
	char			token[PROBE_TOKEN_MAX + 1];
	int64_t			deadline;
	int			rc;
	struct probe_answer	ans;
	struct pm_error		err;
};

static void
outside_run(void *arg)
{
	struct outside_call *c = arg;

	c->rc = probe_ask(&c->url, c->port, c->proto, c->token[0] != '\0' ?
	    c->token : NULL, c->deadline, &c->ans, &c->err);
}

/* ------------------------------------------------------------------ */
/* The token responder: answers probe lines on our own sockets */

enum { TOK_HAIRPIN, TOK_OUTSIDE, TOK_HAIRPIN_UDP, TOK_OUTSIDE_UDP, TOK_N };

struct responder {
	int		tcp_fd;		/* listening on internal:tcp_port */
	uint16_t	tcp_port;
	int		udp_fd;		/* internal:INT/udp when we own it */
	struct {
		int	fd;
		char	buf[PROBE_LINE_MAX + 8];
		size_t	len;
		int64_t	deadline;
		char	from[PROBE_ADDR_MAX];
	} conn[RESP_CONN_MAX];
	struct {
		char	tok[PROBE_TOKEN_MAX + 1];
		bool	seen;
		char	from[PROBE_ADDR_MAX];
	} tok[TOK_N];
};

static void
resp_init(struct responder *rs)
{
	size_t i;

	memset(rs, 0, sizeof(*rs));
	rs->tcp_fd = rs->udp_fd = -1;
	for (i = 0; i < RESP_CONN_MAX; i++)
		rs->conn[i].fd = -1;
	for (i = 0; i < TOK_N; i++)
		probe_token_new(rs->tok[i].tok);
}

static void
resp_close(struct responder *rs)
{
	size_t i;

	for (i = 0; i < RESP_CONN_MAX; i++)
		if (rs->conn[i].fd != -1)
			close(rs->conn[i].fd);
	if (rs->tcp_fd != -1)
		close(rs->tcp_fd);
	if (rs->udp_fd != -1)
		close(rs->udp_fd);
	rs->tcp_fd = rs->udp_fd = -1;
}

/* Opens the TCP token socket on an ephemeral port of addr.  0 or -1. */
static int
resp_listen(struct responder *rs, struct in_addr addr)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);

	sin_make(&sin, addr, 0);
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
resp_match(struct responder *rs, const char *tok, const char *from)
{
	size_t i;

	for (i = 0; i < TOK_N; i++) {
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
resp_conn_close(struct responder *rs, size_t i)
{
	close(rs->conn[i].fd);
	rs->conn[i].fd = -1;
}

static void
resp_accept(struct responder *rs)
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
		for (i = 0; i < RESP_CONN_MAX && rs->conn[i].fd != -1; i++)
			;
		if (i == RESP_CONN_MAX) {
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
resp_read(struct responder *rs, size_t i)
{
	char tok[PROBE_TOKEN_MAX + 1], line[PROBE_LINE_MAX + 8];
	ssize_t n;
	int rc;

	n = recv(rs->conn[i].fd, rs->conn[i].buf + rs->conn[i].len,
	    sizeof(rs->conn[i].buf) - 1 - rs->conn[i].len, 0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		resp_conn_close(rs, i);
		return;
	}
	rs->conn[i].len += (size_t)n;
	rc = probe_line_parse(rs->conn[i].buf, rs->conn[i].len, false, tok);
	if (rc == 0 && rs->conn[i].len + 1 < sizeof(rs->conn[i].buf))
		return;
	/* Only our own tokens are answered: the port is no echo service. */
	if (rc == 1 && resp_match(rs, tok, rs->conn[i].from) &&
	    probe_line(line, sizeof(line), true, tok) > 0)
		send(rs->conn[i].fd, line, strlen(line), MSG_NOSIGNAL);
	resp_conn_close(rs, i);
}

static void
resp_udp(struct responder *rs)
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
		    resp_match(rs, tok, from) &&
		    probe_line(line, sizeof(line), true, tok) > 0)
			sendto(rs->udp_fd, line, strlen(line), MSG_NOSIGNAL,
			    (struct sockaddr *)&ss, sl);
	}
}

/* Adds the responder's descriptors to pfd; returns how many. */
static nfds_t
resp_pollfds(struct responder *rs, struct pollfd *pfd, int64_t *wake)
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
	for (i = 0; i < RESP_CONN_MAX; i++) {
		if (rs->conn[i].fd == -1)
			continue;
		pfd[n].fd = rs->conn[i].fd;
		pfd[n++].events = POLLIN;
		if (rs->conn[i].deadline < *wake)
			*wake = rs->conn[i].deadline;
	}
	return n;
}

static void
resp_service(struct responder *rs)
{
	int64_t now = mono_ms();
	size_t i;

	if (rs->tcp_fd != -1)
		resp_accept(rs);
	if (rs->udp_fd != -1)
		resp_udp(rs);
	for (i = 0; i < RESP_CONN_MAX; i++) {
		if (rs->conn[i].fd == -1)
			continue;
		resp_read(rs, i);
		if (rs->conn[i].fd != -1 && now >= rs->conn[i].deadline)
			resp_conn_close(rs, i);
	}
}

/* ------------------------------------------------------------------ */
/* One forward */

struct slot {
	struct job	*job;
	void		*arg;
	int64_t		 deadline;	/* abandoned after it, + JOB_GRACE_MS */
};

struct run {
	const struct doctor_opts	*o;
	struct doctor_report		*r;
	struct netinfo			 ni;
	struct responder		 rs;
	struct probe_url		 url;
	bool				 have_url;
	bool				 udp_owned;
	bool				 stopping;
	struct router_call		*rc;
	struct job			*rjob;
	int				 rstage;	/* running: 1, 2; 0 none */
	struct slot			 listener, hairpin, outa, outb;
	bool				 outa_late;	/* abandoned */
	int64_t				 t0;
};

static int
slot_start(struct slot *s, void (*fn)(void *), void *arg, int64_t deadline)
{
	s->arg = arg;
	s->deadline = deadline;
	if ((s->job = job_start(fn, arg, free)) == NULL) {
		free(arg);
		s->arg = NULL;
		return -1;
	}
	return 0;
}

/* Gives up on a job; it frees its argument when it ends. */
static void
slot_abandon(struct slot *s)
{
	job_release(s->job);
	s->job = NULL;
	s->arg = NULL;
}

static void
start_listener(struct run *R, uint16_t port)
{
	struct listen_call *c;

	if (R->listener.job != NULL)
		slot_abandon(&R->listener);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return;
	c->addr = R->ni.internal;
	c->port = port;
	if (slot_start(&R->listener, listen_run, c, mono_ms() + LISTENER_MS +
	    LOOPBACK_MS) == -1)
		check_set(R->r->checks, DOC_LISTENER, DOC_WARN, DOCR_ERROR,
		    "cannot start a thread");
}

static void
start_outside(struct run *R, struct slot *s, uint16_t port,
    enum pm_proto proto, const char *token)
{
	struct outside_call *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return;
	c->url = R->url;
	c->port = port;
	c->proto = proto;
	if (token != NULL)
		str_copy(c->token, token, sizeof(c->token));
	c->deadline = mono_ms() + OUTSIDE_MS;
	slot_start(s, outside_run, c, c->deadline);
}

/*
 * UDP cannot be asked whether something answers; but when nothing holds the
 * port, portkeeper can hold it for the run and answer the probes' tokens
 * itself, which tests the whole path.
 */
static void
udp_listener(struct run *R)
{
	struct doctor_report *r = R->r;
	struct sockaddr_in sin;
	int e;

	if (R->rs.udp_fd != -1)
		close(R->rs.udp_fd);
	R->udp_owned = false;
	sin_make(&sin, R->ni.internal, r->internal_port);
	R->rs.udp_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (R->rs.udp_fd != -1 && bind(R->rs.udp_fd, (struct sockaddr *)&sin,
	    sizeof(sin)) == 0) {
		R->udp_owned = true;
		check_set(r->checks, DOC_LISTENER, DOC_FAIL, DOCR_REFUSED,
		    "nothing on this host has UDP port %u open: start the "
		    "server, or point the forward at the port it uses "
		    "(portkeeper held the port during this check to test the "
		    "path)", r->internal_port);
		return;
	}
	e = errno;
	if (R->rs.udp_fd != -1)
		close(R->rs.udp_fd);
	R->rs.udp_fd = -1;
	if (e == EADDRINUSE)
		check_set(r->checks, DOC_LISTENER, DOC_SKIP,
		    DOCR_NOT_VERIFIABLE, "a program has UDP port %u open on "
		    "this host; whether it answers cannot be verified without "
		    "speaking its protocol", r->internal_port);
	else if (e == EACCES)
		check_set(r->checks, DOC_LISTENER, DOC_WARN, DOCR_ERROR,
		    "cannot check UDP port %u: only root may hold a port below "
		    "1024, which portkeeper would to see whether it is free",
		    r->internal_port);
	else
		check_set(r->checks, DOC_LISTENER, DOC_WARN, DOCR_ERROR,
		    "cannot check UDP port %u: %s", r->internal_port,
		    strerror(e));
}

static void
gateway_result(struct doctor_check *checks, const char *gateway,
    const struct portmap_info *in)
{
	char which[64];

	if (in->upnp_found && in->natpmp_found)
		snprintf(which, sizeof(which), "UPnP-IGD and NAT-PMP answer");
	else
		snprintf(which, sizeof(which), "%s answers (%s does not)",
		    in->upnp_found ? "UPnP-IGD" : "NAT-PMP",
		    in->upnp_found ? "NAT-PMP" : "UPnP-IGD");
	if (in->upnp_found && !in->upnp_connected)
		check_set(checks, DOC_GATEWAY, DOC_WARN, DOCR_NONE, "%s at "
		    "the router %s; its IGD reports the internet link as "
		    "\"%s\", not Connected", which, gateway,
		    in->upnp_status[0] != '\0' ? in->upnp_status : "unknown");
	else
		check_set(checks, DOC_GATEWAY, DOC_PASS, DOCR_NONE, "%s at "
		    "the router %s%s", which, gateway,
		    in->upnp_found ? "; its IGD reports itself connected" : "");
}

static void
external_ip_result(struct doctor_check *checks, char ext_ip[16],
    const struct portmap_info *in)
{
	const char *advice = "forwarding from the internet cannot work "
	    "through it; ask the ISP for a public IPv4 address, use IPv6, or "
	    "use a tunnel or relay (a small VPS, say)";
	const char *via = portmap_method_name(in->method);

	str_copy(ext_ip, in->external_ip, 16);
	switch (in->external_class) {
	case ADDR_PUBLIC:
		check_set(checks, DOC_EXTERNAL_IP, DOC_PASS, DOCR_NONE,
		    "the router's external address %s is public (%s)",
		    in->external_ip, via);
		break;
	case ADDR_NONE:
		ext_ip[0] = '\0';
		check_set(checks, DOC_EXTERNAL_IP, DOC_FAIL, DOCR_NO_ADDRESS,
		    "the router says it has no public address (%s): it sits "
		    "behind carrier-grade NAT or another router, or its "
		    "internet link is down; %s", in->method == PM_NATPMP &&
		    in->natpmp_result == 3 ? "NAT-PMP result 3" :
		    "UPnP GetExternalIPAddress is empty", advice);
		break;
	case ADDR_CGNAT:
		check_set(checks, DOC_EXTERNAL_IP, DOC_FAIL, DOCR_CGNAT,
		    "the router's WAN address %s is in the carrier-grade NAT "
		    "range 100.64.0.0/10: the ISP shares one public address "
		    "among many customers; %s", in->external_ip, advice);
		break;
	case ADDR_PRIVATE:
		check_set(checks, DOC_EXTERNAL_IP, DOC_FAIL, DOCR_PRIVATE,
		    "the router's WAN address %s is private: another router "
		    "(often the ISP's modem) or the ISP's NAT sits in front of "
		    "it; %s", in->external_ip, advice);
		break;
	case ADDR_INVALID:
		ext_ip[0] = '\0';
		check_set(checks, DOC_EXTERNAL_IP, DOC_WARN,
		    DOCR_BAD_ADDRESS, "the router reported an external address "
		    "that is not an IPv4 address (%s)", via);
		break;
	default:
		check_set(checks, DOC_EXTERNAL_IP, DOC_FAIL, DOCR_RESERVED,
		    "the router's WAN address %s is a %s address, not a public "
		    "one: something sits in front of it; %s", in->external_ip,
		    addr_class_str(in->external_class), advice);
		break;
	}
}

static void
skip_router_checks(struct doctor_report *r, const char *why)
{
	static const enum doctor_check_id ids[] = {
		DOC_EXTERNAL_IP, DOC_MAPPING, DOC_HAIRPIN,
	};
	size_t i;

	for (i = 0; i < nitems(ids); i++)
		if (r->checks[ids[i]].detail[0] == '\0')
			check_set(r->checks, ids[i], DOC_SKIP, DOCR_NONE,
			    "not checked: %s", why);
}

static void
stage1_done(struct run *R)
{
	struct router_call *c = R->rc;
	struct doctor_report *r = R->r;
	struct hairpin_call *h;
	const struct portmap_info *in;

	job_release(R->rjob);
	R->rjob = NULL;
	R->rstage = 0;
	log_debug("doctor: router stage 1 done after %lld ms (probe mapping: "
	    "%s)", (long long)(mono_ms() - R->t0), c->open_rc == 0 ? "made" :
	    "none");
	if (c->pm == NULL || c->probe0_rc == -1) {
		const struct pm_error *e = c->pm == NULL ? &c->new_err :
		    &c->probe0_err;

		check_set(r->checks, DOC_GATEWAY, DOC_FAIL, c->pm == NULL ||
		    e->code == PME_NO_ROUTE ? DOCR_NO_ROUTE : DOCR_NO_GATEWAY,
		    "%s", e->msg);
		skip_router_checks(r, "the router does not answer");
		return;
	}
	in = portmap_info(c->pm);
	external_ip_result(r->checks, r->external_ip, in);
	if (c->open_rc == 0) {
		r->probe_mapping_made = true;
		r->probe_port = c->probe_ext;
	} else if (R->stopping)
		;	/* said at the end */
	else if (!c->want_probe)
		check_set(r->checks, DOC_HAIRPIN, DOC_SKIP, DOCR_ERROR, "not "
		    "checked: cannot listen for the probe's token on %s",
		    R->ni.internal_str);
	else if (in->external_class != ADDR_PUBLIC)
		check_set(r->checks, DOC_HAIRPIN, DOC_SKIP, DOCR_NONE, "not "
		    "checked: the router has no public address to loop back "
		    "through");
	else
		check_set(r->checks, DOC_HAIRPIN, DOC_SKIP, DOCR_ERROR, "not "
		    "checked: the router refused a probe mapping for the "
		    "test: %s", c->open_err.msg);
	if (R->stopping)
		return;		/* straight to removing the probe mapping */

	if (r->probe_mapping_made && (h = calloc(1, sizeof(*h))) != NULL) {
		inet_pton(AF_INET, in->external_ip, &h->wan);
		h->probe_port = c->probe_ext;
		str_copy(h->token, R->rs.tok[TOK_HAIRPIN].tok,
		    sizeof(h->token));
		h->ext = R->o->spec.ext;
		h->ext_tcp = R->o->spec.proto == PM_TCP;
		h->ext_udp = R->o->spec.proto == PM_UDP && R->udp_owned;
		str_copy(h->udp_token, R->rs.tok[TOK_HAIRPIN_UDP].tok,
		    sizeof(h->udp_token));
		slot_start(&R->hairpin, hairpin_run, h, mono_ms() + 2 *
		    HAIRPIN_MS + HAIRPIN_EXT_MS);
		if (R->have_url)
			start_outside(R, &R->outb, c->probe_ext, PM_TCP,
			    R->rs.tok[TOK_OUTSIDE].tok);
	}
	/* Stage 2 goes on with the same portmap, which stays ours. */
	if ((R->rjob = job_start(router_stage2, c, NULL)) != NULL)
		R->rstage = 2;
	else
		check_set(r->checks, DOC_MAPPING, DOC_WARN, DOCR_ERROR,
		    "cannot start a thread");
}

static void
mapping_result(struct run *R)
{
	struct router_call *c = R->rc;
	struct doctor_report *r = R->r;
	const struct pm_mapping *m = &c->m;
	const struct portspec *s = &R->o->spec;
	char lease[48], desc[100] = "", keeps[160];

	if (c->probe1_rc == -1 || c->verify_rc == -1) {
		check_set(r->checks, DOC_MAPPING, DOC_WARN, DOCR_ERROR, "could "
		    "not look the forward up: %s", c->probe1_rc == -1 ?
		    c->probe1_err.msg : c->verify_err.msg);
		return;
	}
	if (R->o->forward != NULL)
		snprintf(keeps, sizeof(keeps), "portkeeperd keeps it (forward "
		    "\"%s\" of its configuration): is it running? (portkeeper "
		    "status)", R->o->forward->name);
	else
		snprintf(keeps, sizeof(keeps), "create it with \"portkeeper "
		    "open %u:%u%s\", or add a [forward] section to "
		    "portkeeperd's configuration", s->ext, r->internal_port,
		    s->proto == PM_UDP ? "/udp" : "");
	if (c->verify_rc == 2) {
		check_set(r->checks, DOC_MAPPING, DOC_SKIP, DOCR_UNLISTABLE,
		    "not checked: the router speaks only NAT-PMP, which cannot "
		    "show its table; if the forward is not there, %s", keeps);
		return;
	}
	if (c->verify_rc == 0) {
		check_set(r->checks, DOC_MAPPING, DOC_FAIL, DOCR_ABSENT, "the "
		    "router has no forward of port %u/%s; %s", s->ext,
		    portspec_proto_str(s->proto), keeps);
		return;
	}
	if (m->lease == 0)
		snprintf(lease, sizeof(lease), "permanent");
	else
		snprintf(lease, sizeof(lease), "lease %u s left", m->lease);
	if (m->desc[0] != '\0') {
		char d[80];

		str_printable(d, sizeof(d), m->desc);
		snprintf(desc, sizeof(desc), "\"%s\", ", d);
	}
	if (!m->this_host) {
		str_copy(r->holder, m->int_client, sizeof(r->holder));
		r->holder_port = m->int_port;
		str_printable(r->holder_desc, sizeof(r->holder_desc), m->desc);
		check_set(r->checks, DOC_MAPPING, DOC_FAIL, DOCR_CONFLICT, "port "
		    "%u/%s is forwarded to %s:%u (%s%s), another host on the "
		    "LAN: only one host can have it; free it there, or use "
		    "another external port for this host", s->ext,
		    portspec_proto_str(s->proto), m->int_client, m->int_port, desc,
		    lease);
		return;
	}
	if (m->int_port != r->internal_port) {
		if (R->o->internal_given) {
			check_set(r->checks, DOC_MAPPING, DOC_FAIL,
			    DOCR_OTHER_PORT, "the router forwards port %u/%s to "
			    "this host's port %u, not to %u: close it "
			    "(portkeeper close %u%s) and open %u:%u", s->ext,
			    portspec_proto_str(s->proto), m->int_port, r->internal_port,
			    s->ext, s->proto == PM_UDP ? "/udp" : "", s->ext,
			    r->internal_port);
			return;
		}
		/* No --internal: the forward says which port is meant. */
		r->internal_port = m->int_port;
		if (s->proto == PM_TCP && !R->stopping)
			start_listener(R, m->int_port);
		else if (s->proto == PM_UDP)
			udp_listener(R);
	}
	if (!m->enabled) {
		check_set(r->checks, DOC_MAPPING, DOC_FAIL, DOCR_DISABLED, "the "
		    "router has the forward of port %u/%s to %s:%u, but it is "
		    "disabled: enable it in the router's admin page, or close "
		    "and open it again", s->ext, portspec_proto_str(s->proto),
		    m->int_client, m->int_port);
		return;
	}
	check_set(r->checks, DOC_MAPPING, DOC_PASS, DOCR_NONE, "the router "
	    "forwards port %u/%s to %s:%u (%s%s)", s->ext, portspec_proto_str(s->proto),
	    m->int_client, m->int_port, desc, lease);
}

/* Whether a program holds the UDP port (else portkeeper could not bind). */
static bool
udp_held(const struct doctor_report *r)
{
	return r->checks[DOC_LISTENER].reason == DOCR_NOT_VERIFIABLE;
}

/* What the last try through the probe mapping met, mid-sentence. */
static const char *
tried(int e)
{
	switch (e) {
	case ETIMEDOUT:		return "no answer";
	case ECONNREFUSED:	return "connection refused";
	case 0:			return "not tried";
	}
	return strerror(e);
}

static void
hairpin_result(struct run *R, const struct hairpin_call *h)
{
	struct doctor_report *r = R->r;
	char wan[INET_ADDRSTRLEN], ext[160] = "";
	bool loops = R->rs.tok[TOK_HAIRPIN].seen;

	inet_ntop(AF_INET, &h->wan, wan, sizeof(wan));
	if (loops) {
		if (h->ext_tcp && h->ext_out.reachable)
			snprintf(ext, sizeof(ext), ", and %s:%u answers from "
			    "inside the LAN too", wan, h->ext);
		else if (h->ext_udp && R->rs.tok[TOK_HAIRPIN_UDP].seen)
			snprintf(ext, sizeof(ext), ", and a datagram to "
			    "%s:%u/udp came back to this host too", wan, h->ext);
		else if (h->ext_tcp || h->ext_udp) {
			check_set(r->checks, DOC_HAIRPIN, DOC_WARN, DOCR_NONE,
			    "the router loops connections to its external "
			    "address back into the LAN (a probe mapping reached "
			    "this host through %s:%u), but %s:%u/%s did not "
			    "answer from inside: see the mapping and listener "
			    "checks", wan, h->probe_port, wan, h->ext,
			    portspec_proto_str(R->o->spec.proto));
			return;
		} else
			snprintf(ext, sizeof(ext), "; UDP port %u itself cannot "
			    "be tried %s", h->ext, udp_held(r) ?
			    "while a program holds it" :
			    "without holding it, which needs root");
		check_set(r->checks, DOC_HAIRPIN, DOC_PASS, DOCR_NONE, "the "
		    "router loops connections to its external address back "
		    "into the LAN (NAT loopback): this host reached itself "
		    "through %s:%u with a token%s", wan, h->probe_port, ext);
		return;
	}
	if (h->tok_rc == 0)
		check_set(r->checks, DOC_HAIRPIN, DOC_FAIL, DOCR_ROUTER_ANSWERS,
		    "from inside the LAN, %s:%u is answered by something other "
		    "than this host (the router itself, most likely): the "
		    "router does not loop connections to its external address "
		    "back into the LAN (no NAT loopback)", wan, h->probe_port);
	else if (h->ext_tcp && h->ext_out.reachable)
		check_set(r->checks, DOC_HAIRPIN, DOC_FAIL, DOCR_ROUTER_ANSWERS,
		    "the router does not loop connections to its external "
		    "address back into the LAN (no NAT loopback): a probe "
		    "mapping to this host got no answer through %s:%u (%s, %d "
		    "tries). A connection to %s:%u does succeed from here, but "
		    "that is the router itself answering (its own web page, "
		    "say), not this host", wan, h->probe_port,
		    tried(h->tok_error), h->attempts, wan, h->ext);
	else
		check_set(r->checks, DOC_HAIRPIN, DOC_FAIL, DOCR_NO_LOOPBACK,
		    "the router does not loop connections to its external "
		    "address back into the LAN (no NAT loopback, or "
		    "hairpinning): a probe mapping to this host got no answer "
		    "through %s:%u from inside (%s, %d tries in %d ms)", wan,
		    h->probe_port, tried(h->tok_error), h->attempts, HAIRPIN_MS);
}

static void
outside_result(struct run *R, const struct outside_call *a,
    const struct outside_call *b)
{
	struct doctor_report *r = R->r;
	const struct portspec *s = &R->o->spec;
	char other[200] = "", where[64];

	if (b != NULL && b->rc == 0 && R->rs.tok[TOK_OUTSIDE].seen) {
		r->other_ports_reachable = true;
		snprintf(other, sizeof(other), "; other ports do get in: it "
		    "reached this host through the probe mapping on port %u",
		    b->port);
	} else if (b != NULL && b->rc == 0)
		snprintf(other, sizeof(other), "; it could not get in through "
		    "the probe mapping on port %u either", b->port);
	if (a == NULL) {
		check_set(r->checks, DOC_EXTERNAL, DOC_SKIP,
		    DOCR_NOT_VERIFIABLE, "not checked: %s UDP port %u, so "
		    "portkeeper cannot answer the probe's token on it, and "
		    "whether the forward works from outside cannot be "
		    "verified%s", udp_held(r) ? "a program on this host holds" :
		    "portkeeper cannot hold (a port below 1024 needs root)",
		    r->internal_port, other);
		return;
	}
	if (a->rc == -1) {
		check_set(r->checks, DOC_EXTERNAL, DOC_WARN, DOCR_PROBE_FAILED,
		    "could not ask the probe server: %s", a->err.msg);
		return;
	}
	str_copy(r->source_seen, a->ans.source_seen, sizeof(r->source_seen));
	snprintf(where, sizeof(where), "%s:%u/%s", a->ans.source_seen, s->ext,
	    portspec_proto_str(s->proto));
	if (r->checks[DOC_EXTERNAL_IP].status == DOC_PASS &&
	    strcmp(a->ans.source_seen, r->external_ip) != 0) {
		check_set(r->checks, DOC_EXTERNAL, DOC_FAIL, DOCR_OTHER_NAT,
		    "the probe server at %s sees this network as %s, but the "
		    "router's external address is %s: another NAT sits in "
		    "front of the router, and the probe %s %s",
		    R->url.text, a->ans.source_seen, r->external_ip,
		    a->ans.reachable ? "still got in at" : "could not get in at",
		    where);
		return;
	}
	if (r->checks[DOC_EXTERNAL_IP].status == DOC_FAIL) {
		check_set(r->checks, DOC_EXTERNAL, DOC_FAIL, DOCR_OTHER_NAT,
		    "the probe server at %s sees this network as %s, an "
		    "address the router does not have; the probe %s %s",
		    R->url.text, a->ans.source_seen, a->ans.reachable ?
		    "got in at" : "could not get in at", where);
		return;
	}
	if (s->proto == PM_UDP && !R->rs.tok[TOK_OUTSIDE_UDP].seen) {
		check_set(r->checks, DOC_EXTERNAL, DOC_FAIL, DOCR_UNREACHABLE,
		    "the probe server at %s sent a token to %s, and it did not "
		    "reach this host%s", R->url.text, where, other);
		return;
	}
	if (!a->ans.reachable) {
		check_set(r->checks, DOC_EXTERNAL, DOC_FAIL, DOCR_UNREACHABLE,
		    "the probe server at %s could not get in at %s; it says: "
		    "%s%s", R->url.text, where, a->ans.detail, other);
		return;
	}
	check_set(r->checks, DOC_EXTERNAL, DOC_PASS, DOCR_NONE, "the probe "
	    "server at %s got in from the internet at %s%s", R->url.text,
	    where, s->proto == PM_UDP ? ", and this host answered its token" :
	    "");
}

/* Called on every loop turn: collects finished jobs, starts the next. */
static void
collect(struct run *R)
{
	struct doctor_report *r = R->r;

	if (R->rjob != NULL && job_done(R->rjob)) {
		if (R->rstage == 1)
			stage1_done(R);
		else {
			job_release(R->rjob);
			R->rjob = NULL;
			R->rstage = 0;
			log_debug("doctor: router stage 2 done after %lld ms",
			    (long long)(mono_ms() - R->t0));
			r->upnp = R->rc->info.upnp_found;
			r->natpmp = R->rc->info.natpmp_found;
			r->method = R->rc->info.method;
			if (R->rc->probe1_rc == 0)
				gateway_result(r->checks, R->ni.gateway_str,
				    &R->rc->info);
			mapping_result(R);
		}
	}
	if (R->listener.job != NULL && job_done(R->listener.job)) {
		log_debug("doctor: listener done after %lld ms",
		    (long long)(mono_ms() - R->t0));
		listener_result(r->checks, R->listener.arg);
		slot_abandon(&R->listener);
	}
	/* The outside checks are judged together, B may not exist. */
	if (R->hairpin.job != NULL && job_done(R->hairpin.job)) {
		log_debug("doctor: hairpin done after %lld ms (%d tries)",
		    (long long)(mono_ms() - R->t0),
		    ((struct hairpin_call *)R->hairpin.arg)->attempts);
		hairpin_result(R, R->hairpin.arg);
		slot_abandon(&R->hairpin);
	}
}

static bool
slot_busy(const struct slot *s)
{
	return s->job != NULL && !job_done(s->job);
}

enum doctor_verdict
doctor_run(const struct doctor_opts *o, struct doctor_report *r)
{
	struct run R;
	struct pm_error err;
	struct netinfo_addr da;
	int64_t t0 = mono_ms();
	char ebuf[256];
	bool want_probe;
	size_t i;

	memset(&R, 0, sizeof(R));
	memset(r, 0, sizeof(*r));
	R.o = o;
	R.r = r;
	R.t0 = t0;
	resp_init(&R.rs);
	r->port = o->spec.ext;
	r->proto = o->spec.proto;
	r->internal_port = o->spec.in;
	if (o->forward != NULL)
		str_copy(r->forward_name, o->forward->name,
		    sizeof(r->forward_name));
	if (o->probe_url != NULL && o->probe_url[0] != '\0') {
		if (probe_url_parse(o->probe_url, &R.url, ebuf, sizeof(ebuf)) ==
		    0) {
			R.have_url = true;
			str_copy(r->probe_url, R.url.text, sizeof(r->probe_url));
		} else
			check_set(r->checks, DOC_EXTERNAL, DOC_WARN,
			    DOCR_PROBE_FAILED, "%s", ebuf);
	}

	if (netinfo_get(&R.ni, &err) == -1) {
		check_set(r->checks, DOC_GATEWAY, DOC_FAIL, DOCR_NO_ROUTE, "%s",
		    err.msg);
		for (i = DOC_EXTERNAL_IP; i < DOC_NCHECKS; i++)
			check_set(r->checks, i, DOC_SKIP, DOCR_NONE, "not "
			    "checked: this host has no default route");
		goto done;
	}
	str_copy(r->internal_ip, R.ni.internal_str, sizeof(r->internal_ip));
	str_copy(r->gateway, R.ni.gateway_str, sizeof(r->gateway));
	str_copy(r->ifname, R.ni.ifname, sizeof(r->ifname));
	check_internal_ip(r->checks, &R.ni, &da);

	/* The listener; for UDP, whether portkeeper can own the port. */
	if (o->spec.proto == PM_TCP)
		start_listener(&R, r->internal_port);
	else
		udp_listener(&R);
	want_probe = resp_listen(&R.rs, R.ni.internal) == 0;

	if ((R.rc = calloc(1, sizeof(*R.rc))) == NULL) {
		check_set(r->checks, DOC_GATEWAY, DOC_WARN, DOCR_ERROR,
		    "out of memory");
		goto out;
	}
	R.rc->via = o->via;
	R.rc->timeout_ms = o->timeout_ms;
	R.rc->spec = o->spec;
	R.rc->spec.in = r->internal_port;
	R.rc->want_probe = want_probe;
	R.rc->probe_in = R.rs.tcp_port;
	if ((R.rjob = job_start(router_stage1, R.rc, NULL)) == NULL) {
		check_set(r->checks, DOC_GATEWAY, DOC_WARN, DOCR_ERROR,
		    "cannot start a thread");
		goto out;
	}
	R.rstage = 1;
	if (R.have_url && (o->spec.proto == PM_TCP || R.udp_owned))
		start_outside(&R, &R.outa, o->spec.ext, o->spec.proto,
		    o->spec.proto == PM_UDP ? R.rs.tok[TOK_OUTSIDE_UDP].tok :
		    NULL);

	for (;;) {
		struct pollfd pfd[RESP_CONN_MAX + 8];
		struct slot *slots[] = {
			&R.listener, &R.hairpin, &R.outa, &R.outb,
		};
		int64_t now, wake;
		nfds_t n = 0;

		if (o->stop != NULL && *o->stop && !R.stopping) {
			R.stopping = true;
			r->interrupted = true;
			__atomic_store_n(&R.rc->stop, 1, __ATOMIC_SEQ_CST);
			for (i = 0; i < nitems(slots); i++)
				if (slot_busy(slots[i]))
					slot_abandon(slots[i]);
		}
		collect(&R);
		now = mono_ms();
		wake = now + 1000;
		for (i = 0; i < nitems(slots); i++) {
			if (!slot_busy(slots[i]))
				continue;
			if (now >= slots[i]->deadline + JOB_GRACE_MS) {
				if (slots[i] == &R.outa)
					R.outa_late = true;
				slot_abandon(slots[i]);
				continue;
			}
			if (slots[i]->deadline + JOB_GRACE_MS < wake)
				wake = slots[i]->deadline + JOB_GRACE_MS;
			pfd[n].fd = job_fd(slots[i]->job);
			pfd[n++].events = POLLIN;
		}
		if (R.rjob != NULL) {
			pfd[n].fd = job_fd(R.rjob);
			pfd[n++].events = POLLIN;
		}
		if (n == 0)
			break;
		n += resp_pollfds(&R.rs, pfd + n, &wake);
		if (o->stop != NULL && wake > now + STOP_POLL_MS)
			wake = now + STOP_POLL_MS;
		poll(pfd, n, ms_until(wake));
		resp_service(&R.rs);
	}

	log_debug("doctor: all checks done after %lld ms",
	    (long long)(mono_ms() - t0));
	/* The outside checks, once everything that feeds them is in. */
	if (R.have_url && !R.stopping) {
		if (o->spec.proto == PM_UDP && !R.udp_owned)
			outside_result(&R, NULL, R.outb.arg);
		else if (R.outa.arg != NULL)
			outside_result(&R, R.outa.arg, R.outb.arg);
		else if (R.outa_late)
			check_set(r->checks, DOC_EXTERNAL, DOC_WARN,
			    DOCR_PROBE_FAILED, "the probe server at %s did not "
			    "answer within %d ms", R.url.text, OUTSIDE_MS);
	}
	if (R.outa.job != NULL)
		slot_abandon(&R.outa);
	if (R.outb.job != NULL)
		slot_abandon(&R.outb);

out:
	if (R.listener.job != NULL)
		slot_abandon(&R.listener);
	if (R.hairpin.job != NULL)
		slot_abandon(&R.hairpin);
	/* The probe mapping goes, whatever happened above. */
	if (r->probe_mapping_made) {
		struct portspec ps;
		enum pm_method m;
		bool removed = false;

		memset(&ps, 0, sizeof(ps));
		ps.ext = r->probe_port;
		ps.in = R.rs.tcp_port;
		ps.in_given = 1;
		ps.proto = PM_TCP;
		if (portmap_close(R.rc->pm, &ps, &removed, &m, &err) == 0)
			r->probe_mapping_removed = true;
		else
			log_warnx("could not remove the probe mapping of port "
			    "%u/tcp (it expires within %d s): %s",
			    r->probe_port, PROBE_MAPPING_LEASE, err.msg);
		log_debug("doctor: probe mapping removed after %lld ms",
		    (long long)(mono_ms() - t0));
	}
	resp_close(&R.rs);
	if (R.rc != NULL) {
		portmap_free(R.rc->pm);
		free(R.rc);
	}
	for (i = 0; i < DOC_NCHECKS; i++)
		if (r->checks[i].detail[0] == '\0')
			check_set(r->checks, i, DOC_SKIP, DOCR_NONE,
			    r->interrupted ? "not checked: interrupted" :
			    i == DOC_EXTERNAL ? "not checked: give --probe URL "
			    "(a portkeeper probe-server outside the home "
			    "network) or set probe = URL in the configuration" :
			    "not checked");
done:
	r->elapsed_ms = mono_ms() - t0;
	doctor_conclude(r);
	return r->verdict;
}

/* ------------------------------------------------------------------ */
/* The words */

static void __attribute__((format(printf, 3, 4)))
sapp(char *buf, size_t sz, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	if (n + 1 >= sz)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, sz - n, fmt, ap);
	va_end(ap);
}

/* A check's sentence with its first letter kept as is, for quoting. */
static const char *
said(const struct doctor_report *r, enum doctor_check_id id)
{
	return r->checks[id].detail;
}

/* Another external port to suggest: the next one up (or down). */
static unsigned
other_port(unsigned port)
{
	if (port == 80)
		return 8080;
	if (port == 443)
		return 8443;
	return port < 65535 ? port + 1 : port - 1;
}

void
doctor_conclude(struct doctor_report *r)
{
	const struct doctor_check *c = r->checks;
	char *s = r->summary, fwd[32], in[48];
	const char *proto = portspec_proto_str(r->proto);
	size_t sz = sizeof(r->summary);

	r->verdict = doctor_verdict(c);
	s[0] = '\0';
	snprintf(fwd, sizeof(fwd), "port %u/%s", r->port, proto);
	snprintf(in, sizeof(in), "%s:%u", r->internal_ip[0] != '\0' ?
	    r->internal_ip : "this host", r->internal_port);

	switch (r->verdict) {
	case DOCV_NO_GATEWAY:
		sapp(s, sz, "The router cannot be asked for forwards: %s.",
		    said(r, DOC_GATEWAY));
		break;
	case DOCV_CGNAT:
		sapp(s, sz, "Port forwarding cannot work on this internet "
		    "connection: the router has no public IPv4 address (%s%s%s), "
		    "so connections from the internet never reach it. The ISP "
		    "puts the line behind carrier-grade NAT, one public address "
		    "shared by many customers%s%s%s. What you can do: ask the ISP "
		    "for a public IPv4 address (many give one on request, some "
		    "for a small fee); use IPv6, where every device has a public "
		    "address of its own, if the ISP offers it; or reach the "
		    "server through a tunnel or relay (a small VPS with "
		    "WireGuard or an SSH tunnel, or a service such as Tailscale "
		    "Funnel or Cloudflare Tunnel).",
		    r->external_ip[0] != '\0' ? "its WAN address is " :
		    "it says it has none", r->external_ip,
		    c[DOC_EXTERNAL_IP].reason == DOCR_CGNAT ?
		    ", in the range 100.64.0.0/10" : "",
		    r->source_seen[0] != '\0' ? " (the internet sees you as " :
		    "", r->source_seen, r->source_seen[0] != '\0' ? ")" : "");
		break;
	case DOCV_DOUBLE_NAT:
		if (c[DOC_EXTERNAL_IP].status == DOC_FAIL)
			sapp(s, sz, "Another router sits in front of yours: your "
			    "router's WAN address %s is not public%s%s%s, so "
			    "forwards made on it only get as far as the device "
			    "in front (often the ISP's modem, or a second "
			    "router).", r->external_ip, r->source_seen[0] != '\0' ?
			    " (the internet sees this network as " : "",
			    r->source_seen, r->source_seen[0] != '\0' ? ")" : "");
		else
			sapp(s, sz, "Another NAT sits in front of your router: "
			    "its external address is %s, but the internet sees "
			    "this network as %s. Forwards made on your router "
			    "only get as far as that other NAT (the ISP's modem, "
			    "a second router, or the ISP itself).",
			    r->external_ip, r->source_seen);
		sapp(s, sz, " Fix: put the device in front in bridge (modem) "
		    "mode, or make your router its DMZ (\"exposed host\"), or "
		    "forward %s there to your router%s%s too; if it is the ISP "
		    "that does the NAT, ask it for a public IPv4 address, use "
		    "IPv6, or use a tunnel or relay.", fwd,
		    r->external_ip[0] != '\0' ? "'s WAN address " : "",
		    r->external_ip);
		break;
	case DOCV_MAPPING_CONFLICT:
		sapp(s, sz, "%s is already forwarded to %s:%u%s%s%s, another "
		    "host on the LAN, and a port can be forwarded to one host "
		    "only. Free it on %s (close the forward there, or remove it "
		    "in the router's admin page), or forward another external "
		    "port to this host, e.g. \"portkeeper open %u:%u%s\".", fwd,
		    r->holder, r->holder_port, r->holder_desc[0] != '\0' ?
		    " (\"" : "", r->holder_desc, r->holder_desc[0] != '\0' ?
		    "\")" : "", r->holder, other_port(r->port),
		    r->internal_port, r->proto == PM_UDP ? "/udp" : "");
		break;
	case DOCV_NO_LISTENER:
		sapp(s, sz, "The forward of %s cannot work: %s.", fwd,
		    said(r, DOC_LISTENER));
		if (c[DOC_MAPPING].status == DOC_FAIL)
			sapp(s, sz, " Also, %s.", said(r, DOC_MAPPING));
		break;
	case DOCV_NO_MAPPING:
		if (c[DOC_MAPPING].status == DOC_FAIL)
			sapp(s, sz, "The router does not forward %s to this host "
			    "as asked: %s.", fwd, said(r, DOC_MAPPING));
		else
			sapp(s, sz, "The probe server could not get in at %s, "
			    "and the router cannot show whether it has the "
			    "forward (it speaks only NAT-PMP), so most likely it "
			    "does not: create it with \"portkeeper open %u:%u%s\" "
			    "(or let portkeeperd keep it).", fwd, r->port,
			    r->internal_port, r->proto == PM_UDP ? "/udp" : "");
		break;
	case DOCV_EXTERNAL_BLOCKED:
		sapp(s, sz, "The router forwards %s to %s and nothing on this "
		    "host is in the way, but the probe server at %s could not "
		    "get in from the internet: something in between drops it.",
		    fwd, in, r->probe_url);
		if (r->other_ports_reachable)
			sapp(s, sz, " Other ports do get in (the probe reached "
			    "this host through port %u), so port %u itself is "
			    "blocked: many ISPs block incoming connections to "
			    "ports such as 25, 80 and 443 on home lines, and a "
			    "router may have a firewall rule for it. Use another "
			    "external port, e.g. \"portkeeper open %u:%u%s\", or "
			    "ask the ISP to lift the block.", r->probe_port,
			    r->port, other_port(r->port), r->internal_port,
			    r->proto == PM_UDP ? "/udp" : "");
		else if (r->probe_mapping_made)
			sapp(s, sz, " Nothing got in through the probe "
			    "mapping's port %u either: look for a firewall rule "
			    "or \"stealth mode\" in the router that drops "
			    "incoming connections, and ask the ISP whether it "
			    "filters them.", r->probe_port);
		else
			sapp(s, sz, " Look for a firewall rule in the router "
			    "that drops incoming connections to the port, and "
			    "ask the ISP whether it blocks it (many block 25, 80 "
			    "and 443 on home lines); another external port may "
			    "get through.");
		break;
	case DOCV_HAIRPIN_UNSUPPORTED:
		if (c[DOC_EXTERNAL].status == DOC_PASS)
			sapp(s, sz, "%s works from the internet (the probe "
			    "server got in at %s:%u)", fwd, r->source_seen,
			    r->port);
		else
			sapp(s, sz, "The forward of %s is in place (the router "
			    "forwards it to %s and something listens there), so "
			    "it should work from the internet (give --probe URL "
			    "to check from outside)", fwd, in);
		sapp(s, sz, ", but not from inside your home network: the "
		    "router does not do NAT loopback (hairpinning), so a device "
		    "at home that connects to the public address %s, or to a "
		    "name that points at it, ends up at the router instead of "
		    "at %s. Fixes: at home, use the internal address %s "
		    "instead; or make the name point at %s inside the home "
		    "network with a local DNS override (dnsmasq or Pi-hole: "
		    "address=/name.example/%s, or a line \"%s name.example\" in "
		    "the laptop's hosts file); or turn on NAT loopback (also "
		    "called hairpinning or NAT reflection) in the router's "
		    "settings, if it has the option.",
		    r->external_ip, r->internal_ip, in, r->internal_ip,
		    r->internal_ip, r->internal_ip);
		if (c[DOC_HAIRPIN].reason == DOCR_ROUTER_ANSWERS)
			sapp(s, sz, " (From inside, something does answer at "
			    "%s:%u, but it is the router itself, not this host: "
			    "a \"port open\" test from the LAN is fooled by it.)",
			    r->external_ip, r->port);
		break;
	case DOCV_OK:
	case DOCV_NVERDICTS:
		if (c[DOC_EXTERNAL].status == DOC_PASS)
			sapp(s, sz, "%s works: the router forwards it to %s, and "
			    "the probe server got in from the internet", fwd, in);
		else if (c[DOC_MAPPING].status == DOC_PASS &&
		    r->probe_url[0] != '\0' &&
		    c[DOC_EXTERNAL].reason == DOCR_NOT_VERIFIABLE)
			sapp(s, sz, "No problem found with %s: the router "
			    "forwards it to %s; whether it works from the "
			    "internet cannot be verified while a program holds "
			    "the UDP port%s", fwd, in, r->other_ports_reachable ?
			    " (other ports do get in from the internet)" : "");
		else if (c[DOC_MAPPING].status == DOC_PASS)
			sapp(s, sz, "No problem found with %s: the router "
			    "forwards it to %s%s; whether it works from the "
			    "internet was not checked (run portkeeper "
			    "probe-server on a machine outside and give its URL "
			    "with --probe)", fwd, in,
			    c[DOC_LISTENER].status == DOC_PASS ?
			    " and something listens there" : "");
		else
			sapp(s, sz, "No problem found with %s", fwd);
		if (c[DOC_HAIRPIN].status == DOC_PASS)
			sapp(s, sz, "; it works from inside the home network "
			    "too (the router does NAT loopback)");
		sapp(s, sz, ".");
		break;
	}

	/* Sentences start with a capital, also when they start with "port". */
	if (s[0] >= 'a' && s[0] <= 'z')
		s[0] = (char)(s[0] - 'a' + 'A');

	/* What does not change the verdict but needs doing. */
	if (c[DOC_INTERNAL_IP].reason == DOCR_DHCP &&
	    r->verdict != DOCV_NO_GATEWAY)
		sapp(s, sz, " Also: this host's address %s is leased by DHCP; "
		    "reserve it for this host in the router (a DHCP "
		    "reservation) so that the forward keeps pointing here.",
		    r->internal_ip);
	if (r->verdict == DOCV_OK && c[DOC_HAIRPIN].status == DOC_FAIL)
		sapp(s, sz, " Also: the router does not do NAT loopback, so "
		    "from inside the home network use %s, not the public "
		    "address.", in);
	if (r->verdict == DOCV_OK && c[DOC_GATEWAY].status == DOC_WARN)
		sapp(s, sz, " Also: %s.", said(r, DOC_GATEWAY));
}

static void
add_str_or_null(cJSON *obj, const char *key, const char *v)
{
	if (v != NULL && v[0] != '\0')
		cJSON_AddStringToObject(obj, key, v);
	else
		cJSON_AddNullToObject(obj, key);
}

static cJSON *
check_json(enum doctor_check_id id, const struct doctor_check *c)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "id", doctor_check_str(id));
	cJSON_AddStringToObject(o, "status", doctor_status_str(c->status));
	cJSON_AddStringToObject(o, "detail", c->detail);
	if (c->reason != DOCR_NONE)
		cJSON_AddStringToObject(o, "reason",
		    doctor_reason_str(c->reason));
	return o;
}

cJSON *
doctor_report_json(const struct doctor_report *r)
{
	cJSON *obj = cJSON_CreateObject(), *arr, *pm;
	size_t i;

	if (obj == NULL)
		return NULL;
	cJSON_AddNumberToObject(obj, "port", r->port);
	cJSON_AddStringToObject(obj, "protocol", portspec_proto_str(r->proto));
	add_str_or_null(obj, "internal_ip", r->internal_ip);
	cJSON_AddNumberToObject(obj, "internal_port", r->internal_port);
	add_str_or_null(obj, "external_ip", r->external_ip);
	arr = cJSON_AddArrayToObject(obj, "checks");
	for (i = 0; i < DOC_NCHECKS; i++)
		cJSON_AddItemToArray(arr, check_json(i, &r->checks[i]));
	cJSON_AddStringToObject(obj, "verdict", doctor_verdict_str(r->verdict));
	cJSON_AddStringToObject(obj, "summary", r->summary);
	cJSON_AddBoolToObject(obj, "ok", r->verdict == DOCV_OK);
	add_str_or_null(obj, "gateway", r->gateway);
	add_str_or_null(obj, "method", r->upnp || r->natpmp ?
	    portmap_method_str(r->method) : NULL);
	add_str_or_null(obj, "forward", r->forward_name);
	add_str_or_null(obj, "probe", r->probe_url);
	add_str_or_null(obj, "source_seen", r->source_seen);
	if (r->probe_mapping_made) {
		pm = cJSON_AddObjectToObject(obj, "probe_mapping");
		cJSON_AddNumberToObject(pm, "external_port", r->probe_port);
		cJSON_AddBoolToObject(pm, "removed", r->probe_mapping_removed);
	}
	if (r->interrupted)
		cJSON_AddTrueToObject(obj, "interrupted");
	cJSON_AddNumberToObject(obj, "elapsed_ms", (double)r->elapsed_ms);
	return obj;
}

/* ------------------------------------------------------------------ */
/* The audit: every configured forward and the router's table */

const char *
doctor_entry_kind_str(enum doctor_entry_kind k)
{
	switch (k) {
	case DOCE_MANAGED:	return "managed";
	case DOCE_UNMANAGED:	return "unmanaged";
	case DOCE_OTHER_HOST:	return "other_host";
	case DOCE_OUTSIDE_LAN:	break;
	}
	return "outside_lan";
}

enum doctor_entry_kind
doctor_classify(const struct pm_mapping *m, struct in_addr internal,
    unsigned prefixlen, const struct config *cfg,
    const struct config_forward **fwd)
{
	struct in_addr a;
	enum addr_class cls;
	uint32_t mask, host, net;
	size_t i;

	*fwd = NULL;
	cls = addr_parse(m->int_client, &a);
	/* Nothing a LAN host can have, whatever the subnet. */
	if (cls == ADDR_INVALID || cls == ADDR_NONE || cls == ADDR_LOOPBACK ||
	    cls == ADDR_UNSPECIFIED || cls == ADDR_MULTICAST)
		return DOCE_OUTSIDE_LAN;
	if (a.s_addr == internal.s_addr) {
		for (i = 0; cfg != NULL && i < cfg->nfwd; i++) {
			if (cfg->fwd[i].ext == m->ext_port &&
			    cfg->fwd[i].proto == m->proto) {
				*fwd = &cfg->fwd[i];
				return DOCE_MANAGED;
			}
		}
		return DOCE_UNMANAGED;
	}
	/* Without a prefix length there is no telling: take it as LAN. */
	if (prefixlen == 0 || prefixlen > 32)
		return DOCE_OTHER_HOST;
	mask = prefixlen == 32 ? 0xffffffffu : ~(0xffffffffu >> prefixlen);
	host = ntohl(a.s_addr);
	net = ntohl(internal.s_addr) & mask;
	if ((host & mask) != net)
		return DOCE_OUTSIDE_LAN;
	/* The subnet's own network and broadcast addresses are no host. */
	if (prefixlen <= 30 && (host == net || host == (net | ~mask)))
		return DOCE_OUTSIDE_LAN;
	return DOCE_OTHER_HOST;
}

static void
router_audit(void *arg)
{
	struct router_call *c = arg;

	router_stage1(c);
	if (c->pm != NULL && c->probe0_rc == 0)
		router_stage2(c);
}

/* The listener of one configured forward, synchronously. */
static void
audit_listener(struct doctor_check *checks, struct in_addr addr,
    const struct config_forward *f, int64_t deadline)
{
	struct listen_call lc;
	struct sockaddr_in sin;
	int s;

	if (f->proto == PM_UDP) {
		sin_make(&sin, addr, f->in);
		s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (s != -1 && bind(s, (struct sockaddr *)&sin,
		    sizeof(sin)) == 0)
			check_set(checks, DOC_LISTENER, DOC_FAIL, DOCR_REFUSED,
			    "nothing on this host has UDP port %u open", f->in);
		else if (s != -1 && errno == EADDRINUSE)
			check_set(checks, DOC_LISTENER, DOC_SKIP,
			    DOCR_NOT_VERIFIABLE, "a program has UDP port %u "
			    "open; whether it answers cannot be verified",
			    f->in);
		else
			check_set(checks, DOC_LISTENER, DOC_WARN, DOCR_ERROR,
			    "cannot check UDP port %u: %s", f->in,
			    strerror(errno));
		if (s != -1)
			close(s);
		return;
	}
	if (mono_ms() >= deadline) {
		check_set(checks, DOC_LISTENER, DOC_SKIP, DOCR_NONE, "not "
		    "checked: out of time (run portkeeper doctor %u)", f->ext);
		return;
	}
	memset(&lc, 0, sizeof(lc));
	lc.addr = addr;
	lc.port = f->in;
	listen_run(&lc);
	listener_result(checks, &lc);
}

static void
audit_mapping(struct doctor_check *checks, const struct doctor_audit *a,
    const struct config_forward *f)
{
	const struct pm_mapping *m = NULL;
	size_t i;

	if (!a->table_known) {
		check_set(checks, DOC_MAPPING, DOC_SKIP, DOCR_UNLISTABLE,
		    "not checked: %s", a->table_detail);
		return;
	}
	for (i = 0; i < a->nent; i++)
		if (a->ent[i].m.ext_port == f->ext &&
		    a->ent[i].m.proto == f->proto)
			m = &a->ent[i].m;
	if (m == NULL)
		check_set(checks, DOC_MAPPING, DOC_FAIL, DOCR_ABSENT, "the "
		    "router has no forward of port %u/%s: portkeeperd keeps it "
		    "when it runs (portkeeper status)", f->ext,
		    portspec_proto_str(f->proto));
	else if (!m->this_host)
		check_set(checks, DOC_MAPPING, DOC_FAIL, DOCR_CONFLICT, "port "
		    "%u/%s is forwarded to %s:%u, another host on the LAN",
		    f->ext, portspec_proto_str(f->proto), m->int_client, m->int_port);
	else if (m->int_port != f->in)
		check_set(checks, DOC_MAPPING, DOC_FAIL, DOCR_OTHER_PORT, "the "
		    "router forwards port %u/%s to this host's port %u, not to "
		    "%u as configured: portkeeperd re-points it at its next "
		    "check", f->ext, portspec_proto_str(f->proto), m->int_port, f->in);
	else if (!m->enabled)
		check_set(checks, DOC_MAPPING, DOC_FAIL, DOCR_DISABLED, "the "
		    "router has the forward of port %u/%s, but disabled",
		    f->ext, portspec_proto_str(f->proto));
	else
		check_set(checks, DOC_MAPPING, DOC_PASS, DOCR_NONE, "the router "
		    "forwards port %u/%s to %s:%u", f->ext, portspec_proto_str(f->proto),
		    m->int_client, m->int_port);
}

static void
entry_detail(struct doctor_entry *e, const char *subnet)
{
	const struct pm_mapping *m = &e->m;
	char lease[48];

	if (m->lease == 0)
		snprintf(lease, sizeof(lease), "it is permanent");
	else
		snprintf(lease, sizeof(lease), "it expires in %u s unless "
		    "renewed", m->lease);
	switch (e->kind) {
	case DOCE_MANAGED:
		snprintf(e->detail, sizeof(e->detail), "forward \"%s\" of the "
		    "configuration", e->forward);
		break;
	case DOCE_UNMANAGED:
		if (strcmp(m->desc, PROBE_MAPPING_DESC) == 0)
			snprintf(e->detail, sizeof(e->detail), "a probe mapping "
			    "of portkeeper doctor that was not removed; %s",
			    lease);
		else
			snprintf(e->detail, sizeof(e->detail), "points at this "
			    "host, but no configured forward keeps it (made by "
			    "portkeeper open or another program); %s: remove it "
			    "with \"portkeeper close %u%s\" if nothing needs it",
			    lease, m->ext_port, m->proto == PM_UDP ? "/udp" : "");
		break;
	case DOCE_OTHER_HOST:
		snprintf(e->detail, sizeof(e->detail), "forwarded to %s, "
		    "another host on the LAN", m->int_client);
		break;
	case DOCE_OUTSIDE_LAN:
		snprintf(e->detail, sizeof(e->detail), "points at %s, which is "
		    "not a host of this LAN (%s): suspicious; remove it in the "
		    "router's admin page unless you know what made it",
		    m->int_client, subnet);
		break;
	}
}

enum doctor_verdict
doctor_audit_run(const struct doctor_opts *o, const struct config *cfg,
    struct doctor_audit *a)
{
	struct netinfo ni;
	struct pm_error err;
	struct netinfo_addr da;
	struct router_call *rc = NULL;
	struct job *j = NULL;
	char subnet[32] = "?";
	int64_t deadline;
	size_t i, bad = 0, unmanaged = 0, outside = 0, others = 0;
	size_t sz = sizeof(a->summary);
	int64_t t0 = mono_ms();

	memset(a, 0, sizeof(*a));
	if (cfg != NULL)
		str_copy(a->config_path, cfg->path, sizeof(a->config_path));
	for (i = 0; i < DOC_NCHECKS; i++)
		check_set(a->checks, i, DOC_SKIP, DOCR_NONE, "not checked");
	if (netinfo_get(&ni, &err) == -1) {
		check_set(a->checks, DOC_GATEWAY, DOC_FAIL, DOCR_NO_ROUTE, "%s",
		    err.msg);
		goto verdict;
	}
	str_copy(a->internal_ip, ni.internal_str, sizeof(a->internal_ip));
	str_copy(a->gateway, ni.gateway_str, sizeof(a->gateway));
	check_internal_ip(a->checks, &ni, &da);
	if (da.found) {
		struct in_addr net;
		uint32_t mask = da.prefixlen == 0 ? 0 : da.prefixlen >= 32 ?
		    0xffffffffu : ~(0xffffffffu >> da.prefixlen);

		net.s_addr = htonl(ntohl(ni.internal.s_addr) & mask);
		snprintf(subnet, sizeof(subnet), "%s/%u", inet_ntoa(net),
		    da.prefixlen);
	}

	if ((rc = calloc(1, sizeof(*rc))) != NULL) {
		rc->via = o->via;
		rc->timeout_ms = o->timeout_ms;
		rc->audit = true;
		j = job_start(router_audit, rc, NULL);
	}
	if (j == NULL) {
		check_set(a->checks, DOC_GATEWAY, DOC_WARN, DOCR_ERROR,
		    "cannot start a thread");
		free(rc);
		rc = NULL;
		goto verdict;
	}
	if (cfg != NULL && cfg->nfwd > 0 &&
	    (a->fwd = calloc(cfg->nfwd, sizeof(*a->fwd))) != NULL) {
		deadline = mono_ms() + AUDIT_LISTEN_MS;
		for (i = 0; i < cfg->nfwd; i++) {
			struct doctor_check tmp[DOC_NCHECKS];

			memset(tmp, 0, sizeof(tmp));
			audit_listener(tmp, ni.internal, &cfg->fwd[i],
			    deadline);
			a->fwd[i].listener = tmp[DOC_LISTENER];
			if (o->stop != NULL && *o->stop)
				break;
		}
		a->nfwd = cfg->nfwd;
	}
	/* portmap bounds every call; a stop request waits for it too. */
	while (job_wait(j, mono_ms() + STOP_POLL_MS) == -1)
		;
	job_release(j);

	if (rc->pm == NULL || rc->probe0_rc == -1) {
		const struct pm_error *e = rc->pm == NULL ? &rc->new_err :
		    &rc->probe0_err;

		check_set(a->checks, DOC_GATEWAY, DOC_FAIL, rc->pm == NULL ||
		    e->code == PME_NO_ROUTE ? DOCR_NO_ROUTE : DOCR_NO_GATEWAY,
		    "%s", e->msg);
		snprintf(a->table_detail, sizeof(a->table_detail), "the router "
		    "does not answer");
	} else {
		external_ip_result(a->checks, a->external_ip,
		    rc->probe1_rc == 0 ? &rc->info : portmap_info(rc->pm));
		if (rc->probe1_rc == 0)
			gateway_result(a->checks, ni.gateway_str, &rc->info);
		else
			gateway_result(a->checks, ni.gateway_str,
			    portmap_info(rc->pm));
		if (rc->probe1_rc == 0 && rc->list_rc == 0) {
			a->table_known = true;
			snprintf(a->table_detail, sizeof(a->table_detail), "%zu "
			    "entries", rc->nlist);
		} else
			snprintf(a->table_detail, sizeof(a->table_detail), "%s",
			    rc->probe1_rc == -1 ? rc->probe1_err.msg :
			    rc->list_err.msg);
	}
	if (a->table_known && rc->nlist > 0 &&
	    (a->ent = calloc(rc->nlist, sizeof(*a->ent))) != NULL) {
		for (i = 0; i < rc->nlist; i++) {
			struct doctor_entry *e = &a->ent[i];
			const struct config_forward *f;

			e->m = rc->list[i];
			str_printable(e->m.desc, sizeof(e->m.desc),
			    rc->list[i].desc);
			e->kind = doctor_classify(&e->m, ni.internal,
			    da.found ? da.prefixlen : 0, cfg, &f);
			if (f != NULL)
				str_copy(e->forward, f->name,
				    sizeof(e->forward));
			entry_detail(e, subnet);
			unmanaged += e->kind == DOCE_UNMANAGED;
			outside += e->kind == DOCE_OUTSIDE_LAN;
			others += e->kind == DOCE_OTHER_HOST;
		}
		a->nent = rc->nlist;
	}
	for (i = 0; i < a->nfwd; i++) {
		struct doctor_fwd_report *fr = &a->fwd[i];
		const struct config_forward *f = &cfg->fwd[i];
		struct doctor_check tmp[DOC_NCHECKS];

		memcpy(tmp, a->checks, sizeof(tmp));
		str_copy(fr->name, f->name, sizeof(fr->name));
		fr->port = f->ext;
		fr->internal_port = f->in;
		fr->proto = f->proto;
		if (fr->listener.detail[0] == '\0')
			check_set(&fr->listener, 0, DOC_SKIP, DOCR_NONE,
			    "not checked: interrupted");
		tmp[DOC_LISTENER] = fr->listener;
		audit_mapping(tmp, a, f);
		fr->mapping = tmp[DOC_MAPPING];
		fr->verdict = doctor_verdict(tmp);
		if (fr->verdict == DOCV_OK)
			snprintf(fr->summary, sizeof(fr->summary), "in place%s",
			    fr->mapping.status == DOC_PASS ? "" :
			    " as far as can be seen");
		else if (fr->verdict == DOCV_NO_LISTENER)
			str_copy(fr->summary, fr->listener.detail,
			    sizeof(fr->summary));
		else if (fr->verdict == DOCV_NO_MAPPING ||
		    fr->verdict == DOCV_MAPPING_CONFLICT)
			str_copy(fr->summary, fr->mapping.detail,
			    sizeof(fr->summary));
		else
			snprintf(fr->summary, sizeof(fr->summary), "see the "
			    "router checks");
	}
	if (rc != NULL) {
		free(rc->list);
		portmap_free(rc->pm);
		free(rc);
	}

verdict:
	a->elapsed_ms = mono_ms() - t0;
	a->verdict = doctor_verdict(a->checks);
	a->summary[0] = '\0';
	if (a->verdict != DOCV_OK) {
		sapp(a->summary, sz, "%s.", a->verdict == DOCV_NO_GATEWAY ?
		    a->checks[DOC_GATEWAY].detail :
		    a->checks[DOC_EXTERNAL_IP].detail);
		return a->verdict;
	}
	for (i = 0; i < a->nfwd; i++) {
		if (a->fwd[i].verdict == DOCV_OK)
			continue;
		if (bad++ == 0) {
			a->verdict = a->fwd[i].verdict;
			sapp(a->summary, sz, "Forwards with a problem:");
		}
		sapp(a->summary, sz, "%s %s (%u/%s): %s", bad > 1 ? ";" : "",
		    a->fwd[i].name, a->fwd[i].port, portspec_proto_str(a->fwd[i].proto),
		    doctor_verdict_str(a->fwd[i].verdict));
	}
	if (bad > 0)
		sapp(a->summary, sz, "; run \"portkeeper doctor PORT\" on each "
		    "for the cause and the fix.");
	else if (a->nfwd > 0)
		sapp(a->summary, sz, "All %zu configured forwards are in "
		    "place.", a->nfwd);
	else
		sapp(a->summary, sz, "No forwards are configured%s%s.",
		    a->config_path[0] != '\0' ? " in " : "", a->config_path);
	if (!a->table_known)
		sapp(a->summary, sz, " The router's table could not be read: "
		    "%s.", a->table_detail);
	if (unmanaged > 0)
		sapp(a->summary, sz, " %zu forward%s on the router point%s at "
		    "this host without a configured forward that keeps %s "
		    "(left by portkeeper open, a crash, or another program).",
		    unmanaged, unmanaged == 1 ? "" : "s",
		    unmanaged == 1 ? "s" : "", unmanaged == 1 ? "it" : "them");
	if (outside > 0)
		sapp(a->summary, sz, " %zu forward%s point%s outside the LAN: "
		    "suspicious.", outside, outside == 1 ? "" : "s",
		    outside == 1 ? "s" : "");
	if (others > 0)
		sapp(a->summary, sz, " %zu belong%s to %s.", others,
		    others == 1 ? "s" : "", others == 1 ? "another host" :
		    "other hosts");
	return a->verdict;
}

void
doctor_audit_free(struct doctor_audit *a)
{
	free(a->fwd);
	free(a->ent);
	a->fwd = NULL;
	a->ent = NULL;
	a->nfwd = a->nent = 0;
}

cJSON *
doctor_audit_json(const struct doctor_audit *a)
{
	cJSON *obj = cJSON_CreateObject(), *arr, *o, *ch;
	size_t i;

	if (obj == NULL)
		return NULL;
	cJSON_AddTrueToObject(obj, "audit");
	add_str_or_null(obj, "internal_ip", a->internal_ip);
	add_str_or_null(obj, "external_ip", a->external_ip);
	add_str_or_null(obj, "gateway", a->gateway);
	add_str_or_null(obj, "config", a->config_path);
	arr = cJSON_AddArrayToObject(obj, "checks");
	for (i = DOC_GATEWAY; i <= DOC_INTERNAL_IP; i++)
		cJSON_AddItemToArray(arr, check_json(i, &a->checks[i]));
	arr = cJSON_AddArrayToObject(obj, "forwards");
	for (i = 0; i < a->nfwd; i++) {
		const struct doctor_fwd_report *f = &a->fwd[i];

		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", f->name);
		cJSON_AddNumberToObject(o, "port", f->port);
		cJSON_AddStringToObject(o, "protocol", portspec_proto_str(f->proto));
		cJSON_AddNumberToObject(o, "internal_port", f->internal_port);
		ch = cJSON_AddArrayToObject(o, "checks");
		cJSON_AddItemToArray(ch, check_json(DOC_LISTENER,
		    &f->listener));
		cJSON_AddItemToArray(ch, check_json(DOC_MAPPING, &f->mapping));
		cJSON_AddStringToObject(o, "verdict",
		    doctor_verdict_str(f->verdict));
		cJSON_AddStringToObject(o, "summary", f->summary);
		cJSON_AddItemToArray(arr, o);
	}
	cJSON_AddBoolToObject(obj, "table_known", a->table_known);
	arr = cJSON_AddArrayToObject(obj, "router_table");
	for (i = 0; i < a->nent; i++) {
		const struct doctor_entry *e = &a->ent[i];

		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "protocol", portspec_proto_str(e->m.proto));
		cJSON_AddNumberToObject(o, "external_port", e->m.ext_port);
		cJSON_AddStringToObject(o, "internal_ip", e->m.int_client);
		cJSON_AddNumberToObject(o, "internal_port", e->m.int_port);
		cJSON_AddStringToObject(o, "description", e->m.desc);
		cJSON_AddNumberToObject(o, "lease", e->m.lease);
		cJSON_AddBoolToObject(o, "enabled", e->m.enabled);
		cJSON_AddStringToObject(o, "kind",
		    doctor_entry_kind_str(e->kind));
		add_str_or_null(o, "forward", e->forward);
		cJSON_AddStringToObject(o, "detail", e->detail);
		cJSON_AddItemToArray(arr, o);
	}
	cJSON_AddStringToObject(obj, "verdict", doctor_verdict_str(a->verdict));
	cJSON_AddStringToObject(obj, "summary", a->summary);
	cJSON_AddBoolToObject(obj, "ok", a->verdict == DOCV_OK);
	cJSON_AddNumberToObject(obj, "elapsed_ms", (double)a->elapsed_ms);
	return obj;
}
