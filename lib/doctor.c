/*
 * portkeeper doctor PORT: one forward's run, the jobs it starts and the
 * checks it makes of what they found.
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
 *                   token; then WAN:EXT (sooner when hairpin_arm says a
 *                   refusal there would settle it)
 *   job outside B   (after router 1) the probe server connects to the
 *                   probe port with a token
 *
 * The router jobs share one portmap and run one after the other; the main
 * thread waits for them (portmap bounds every call with a deadline of its
 * own) and removes the probe mapping at the end, whatever happened.  The
 * other jobs only own sockets and are abandoned if they overrun.
 *
 * The checks the audit makes too are doctor_check.c's, the token socket is
 * doctor_token.c's, and the verdict and its words doctor_verdict.c's.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "doctor.h"
#include "doctor_check.h"
#include "doctor_token.h"
#include "job.h"
#include "log.h"
#include "netinfo.h"
#include "portmap.h"
#include "util.h"

#define HAIRPIN_MS		1000	/* tries through the probe mapping */
#define HAIRPIN_RETRY_MS	50	/* after a refusal (a rule not yet in) */
#define HAIRPIN_EXT_MS		500	/* WAN:EXT from inside */
#define HAIRPIN_SURE_MS		500	/* armed: tries before WAN:EXT decides */
#define OUTSIDE_MS		(PROBE_DEFAULT_CONNECT_MS + 1500)
#define JOB_GRACE_MS		500	/* past its own deadline: abandoned */

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
	/*
	 * Set by the main thread (hairpin_arm) once a refusal at WAN:EXT
	 * would be conclusive; read by the job between its tries.
	 */
	int			armed;

	int			tok_rc;		/* 1 ours, 0 not, -1 none */
	int			tok_error;
	int			attempts;
	int			elapsed_ms;	/* of the tries */
	bool			ext_tried;
	struct probe_outcome	ext_out;
	struct probe_outcome	udp_out;
};

/*
 * WAN:EXT from inside, once.  Returns whether the router refused it, which
 * hairpin_run takes as its answer when the job is armed.
 */
static bool
hairpin_ext_refused(struct hairpin_call *c)
{
	struct sockaddr_in sin;

	c->ext_tried = true;
	doctor_sin_make(&sin, c->wan, c->ext);
	probe_connect_back((struct sockaddr *)&sin, c->ext, PM_TCP, NULL,
	    HAIRPIN_EXT_MS, &c->ext_out);
	return !c->ext_out.reachable && c->ext_out.error == ECONNREFUSED;
}

static void
hairpin_run(void *arg)
{
	struct hairpin_call *c = arg;
	struct sockaddr_in sin;
	struct probe_outcome o;
	int64_t start = mono_ms(), end = start + HAIRPIN_MS, left;

	c->tok_rc = -1;
	doctor_sin_make(&sin, c->wan, c->probe_port);
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
		 * A refusal at the probe port is not an answer by itself: the
		 * router may refuse before its loopback rule for the mapping
		 * it has just made is in place (homenet's hairpin_sync.py takes
		 * up to 100 ms).  The user's forward of EXT was there before
		 * this run looked it up; once armed, and HAIRPIN_SURE_MS into
		 * the tries (in case that forward was made just before the
		 * run), its rule is in place, and a refusal at WAN:EXT too is
		 * the router's answer.
		 */
		if (o.error == ECONNREFUSED && c->ext_tcp && !c->ext_tried &&
		    mono_ms() - start >= HAIRPIN_SURE_MS &&
		    __atomic_load_n(&c->armed, __ATOMIC_SEQ_CST) &&
		    hairpin_ext_refused(c))
			break;
		if (o.error != ETIMEDOUT && (left = end - mono_ms()) > 0)
			poll(NULL, 0, left < HAIRPIN_RETRY_MS ? (int)left :
			    HAIRPIN_RETRY_MS);
	}
	c->elapsed_ms = (int)(mono_ms() - start);
	if (c->ext_tcp && !c->ext_tried)
		hairpin_ext_refused(c);
	if (c->ext_udp) {
		doctor_sin_make(&sin, c->wan, c->ext);
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
	struct doctor_token		 rs;
	struct probe_url		 url;
	bool				 have_url;
	bool				 udp_owned;
	bool				 stopping;
	struct doctor_router_call	*rc;
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
	struct doctor_listen_call *c;

	if (R->listener.job != NULL)
		slot_abandon(&R->listener);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return;
	c->addr = R->ni.internal;
	c->port = port;
	if (slot_start(&R->listener, doctor_listen_run, c,
	    mono_ms() + DOCTOR_LISTENER_MS +
	    DOCTOR_LOOPBACK_MS) == -1)
		doctor_check_set(R->r->checks, DOC_LISTENER, DOC_WARN,
		    DOCR_ERROR,
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
	doctor_sin_make(&sin, R->ni.internal, r->internal_port);
	R->rs.udp_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (R->rs.udp_fd != -1 && bind(R->rs.udp_fd, (struct sockaddr *)&sin,
	    sizeof(sin)) == 0) {
		R->udp_owned = true;
		doctor_check_set(r->checks, DOC_LISTENER, DOC_FAIL,
		    DOCR_REFUSED,
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
		doctor_check_set(r->checks, DOC_LISTENER, DOC_SKIP,
		    DOCR_NOT_VERIFIABLE, "a program has UDP port %u open on "
		    "this host; whether it answers cannot be verified without "
		    "speaking its protocol", r->internal_port);
	else if (e == EACCES)
		doctor_check_set(r->checks, DOC_LISTENER, DOC_WARN, DOCR_ERROR,
		    "cannot check UDP port %u: only root may hold a port below "
		    "1024, which portkeeper would to see whether it is free",
		    r->internal_port);
	else
		doctor_check_set(r->checks, DOC_LISTENER, DOC_WARN, DOCR_ERROR,
		    "cannot check UDP port %u: %s", r->internal_port,
		    strerror(e));
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
			doctor_check_set(r->checks, ids[i], DOC_SKIP, DOCR_NONE,
			    "not checked: %s", why);
}

static void
stage1_done(struct run *R)
{
	struct doctor_router_call *c = R->rc;
	struct doctor_report *r = R->r;
	struct hairpin_call *h;
	const struct portmap_info *in;

	job_release(R->rjob);
	R->rjob = NULL;
	R->rstage = 0;
	log_debug("doctor: router stage 1 done after %lld ms (probe mapping: "
	    "%s)", (long long)(mono_ms() - R->t0), c->open_rc == 0 ? "made" :
	    "none");
	if (doctor_gateway_failed(r->checks, c)) {
		skip_router_checks(r, "the router does not answer");
		return;
	}
	in = portmap_info(c->pm);
	r->router = *in;
	doctor_external_ip_result(r->checks, r->external_ip, in);
	if (c->open_rc == 0) {
		r->probe_mapping_made = true;
		r->probe_port = c->probe_ext;
	} else if (R->stopping)
		;	/* said at the end */
	else if (!c->want_probe)
		doctor_check_set(r->checks, DOC_HAIRPIN, DOC_SKIP, DOCR_ERROR,
		    "not checked: cannot listen for the probe's token on %s",
		    R->ni.internal_str);
	else if (in->external_class != ADDR_PUBLIC)
		doctor_check_set(r->checks, DOC_HAIRPIN, DOC_SKIP, DOCR_NONE,
		    "not checked: the router has no public address to loop "
		    "back through");
	else {
		r->refused = c->open_err.code;
		doctor_check_set(r->checks, DOC_HAIRPIN, DOC_SKIP, DOCR_ERROR,
		    "not checked: the router refused a probe mapping for the "
		    "test: %s", c->open_err.msg);
	}
	if (R->stopping)
		return;		/* straight to removing the probe mapping */

	if (r->probe_mapping_made && (h = calloc(1, sizeof(*h))) != NULL) {
		inet_pton(AF_INET, in->external_ip, &h->wan);
		h->probe_port = c->probe_ext;
		str_copy(h->token, R->rs.tok[DOCTOR_TOK_HAIRPIN].tok,
		    sizeof(h->token));
		h->ext = R->o->spec.ext;
		h->ext_tcp = R->o->spec.proto == PM_TCP;
		h->ext_udp = R->o->spec.proto == PM_UDP && R->udp_owned;
		str_copy(h->udp_token, R->rs.tok[DOCTOR_TOK_HAIRPIN_UDP].tok,
		    sizeof(h->udp_token));
		slot_start(&R->hairpin, hairpin_run, h, mono_ms() + 2 *
		    HAIRPIN_MS + HAIRPIN_EXT_MS);
		if (R->have_url)
			start_outside(R, &R->outb, c->probe_ext, PM_TCP,
			    R->rs.tok[DOCTOR_TOK_OUTSIDE].tok);
	}
	/* Stage 2 goes on with the same portmap, which stays ours. */
	if ((R->rjob = job_start(doctor_router_stage2, c, NULL)) != NULL)
		R->rstage = 2;
	else
		doctor_check_set(r->checks, DOC_MAPPING, DOC_WARN, DOCR_ERROR,
		    "cannot start a thread");
}

static void
mapping_result(struct run *R)
{
	struct doctor_router_call *c = R->rc;
	struct doctor_report *r = R->r;
	const struct pm_mapping *m = &c->m;
	const struct portspec *s = &R->o->spec;
	char lease[48], desc[100] = "", keeps[160];

	if (c->probe1_rc == -1 || c->verify_rc == -1) {
		doctor_check_set(r->checks, DOC_MAPPING, DOC_WARN, DOCR_ERROR,
		    "could not look the forward up: %s", c->probe1_rc == -1 ?
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
		doctor_check_set(r->checks, DOC_MAPPING, DOC_SKIP,
		    DOCR_UNLISTABLE,
		    "not checked: the router speaks only NAT-PMP, which cannot "
		    "show its table; if the forward is not there, %s", keeps);
		return;
	}
	if (c->verify_rc == 0) {
		doctor_check_set(r->checks, DOC_MAPPING, DOC_FAIL, DOCR_ABSENT,
		    "the router has no forward of port %u/%s; %s", s->ext,
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
		doctor_check_set(r->checks, DOC_MAPPING, DOC_FAIL,
		    DOCR_CONFLICT, "port "
		    "%u/%s is forwarded to %s:%u (%s%s), another host on the "
		    "LAN: only one host can have it; free it there, or use "
		    "another external port for this host", s->ext,
		    portspec_proto_str(s->proto), m->int_client, m->int_port,
		    desc,
		    lease);
		return;
	}
	if (m->int_port != r->internal_port) {
		if (R->o->internal_given) {
			doctor_check_set(r->checks, DOC_MAPPING, DOC_FAIL,
			    DOCR_OTHER_PORT,
			    "the router forwards port %u/%s to "
			    "this host's port %u, not to %u: close it "
			    "(portkeeper close %u%s) and open %u:%u", s->ext,
			    portspec_proto_str(s->proto), m->int_port,
			    r->internal_port,
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
		doctor_check_set(r->checks, DOC_MAPPING, DOC_FAIL,
		    DOCR_DISABLED, "the "
		    "router has the forward of port %u/%s to %s:%u, but it is "
		    "disabled: enable it in the router's admin page, or close "
		    "and open it again", s->ext, portspec_proto_str(s->proto),
		    m->int_client, m->int_port);
		return;
	}
	doctor_check_set(r->checks, DOC_MAPPING, DOC_PASS, DOCR_NONE,
	    "the router forwards port %u/%s to %s:%u (%s%s)",
	    s->ext, portspec_proto_str(s->proto),
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
	bool loops = R->rs.tok[DOCTOR_TOK_HAIRPIN].seen;

	inet_ntop(AF_INET, &h->wan, wan, sizeof(wan));
	if (loops) {
		if (h->ext_tcp && h->ext_out.reachable)
			snprintf(ext, sizeof(ext), ", and %s:%u answers from "
			    "inside the LAN too", wan, h->ext);
		else if (h->ext_udp && R->rs.tok[DOCTOR_TOK_HAIRPIN_UDP].seen)
			snprintf(ext, sizeof(ext), ", and a datagram to "
			    "%s:%u/udp came back to this host too", wan, h->ext);
		else if (h->ext_tcp || h->ext_udp) {
			doctor_check_set(r->checks, DOC_HAIRPIN, DOC_WARN,
			    DOCR_NONE,
			    "the router loops connections to its external "
			    "address back into the LAN (a probe mapping reached "
			    "this host through %s:%u), but %s:%u/%s did not "
			    "answer from inside: see the mapping and listener "
			    "checks", wan, h->probe_port, wan, h->ext,
			    portspec_proto_str(R->o->spec.proto));
			return;
		} else
			snprintf(ext, sizeof(ext),
			    "; UDP port %u itself cannot "
			    "be tried %s", h->ext, udp_held(r) ?
			    "while a program holds it" :
			    "without holding it, which needs root");
		doctor_check_set(r->checks, DOC_HAIRPIN, DOC_PASS, DOCR_NONE,
		    "the router loops connections to its external address back "
		    "into the LAN (NAT loopback): this host reached itself "
		    "through %s:%u with a token%s", wan, h->probe_port, ext);
		return;
	}
	if (h->tok_rc == 0)
		doctor_check_set(r->checks, DOC_HAIRPIN, DOC_FAIL,
		    DOCR_ROUTER_ANSWERS,
		    "from inside the LAN, %s:%u is answered by something other "
		    "than this host (the router itself, most likely): the "
		    "router does not loop connections to its external address "
		    "back into the LAN (no NAT loopback)", wan, h->probe_port);
	else if (h->ext_tcp && h->ext_out.reachable)
		doctor_check_set(r->checks, DOC_HAIRPIN, DOC_FAIL,
		    DOCR_ROUTER_ANSWERS,
		    "the router does not loop connections to its external "
		    "address back into the LAN (no NAT loopback): a probe "
		    "mapping to this host got no answer through %s:%u (%s, %d "
		    "tries). A connection to %s:%u does succeed from here, but "
		    "that is the router itself answering (its own web page, "
		    "say), not this host", wan, h->probe_port,
		    tried(h->tok_error), h->attempts, wan, h->ext);
	else {
		if (h->armed && h->ext_out.error == ECONNREFUSED)
			snprintf(ext, sizeof(ext), ", and %s:%u, which the "
			    "router forwards to this host, was refused too",
			    wan, h->ext);
		doctor_check_set(r->checks, DOC_HAIRPIN, DOC_FAIL,
		    DOCR_NO_LOOPBACK,
		    "the router does not loop connections to its external "
		    "address back into the LAN (no NAT loopback, or "
		    "hairpinning): a probe mapping to this host got no answer "
		    "through %s:%u from inside (%s, %d tries in %d ms)%s", wan,
		    h->probe_port, tried(h->tok_error), h->attempts,
		    h->elapsed_ms, ext);
	}
}

/*
 * Arms the hairpin job (see hairpin_run) once a refusal at WAN:EXT can only
 * mean that the router does not loop back: the router forwards EXT/tcp to
 * this host's port (the mapping check passed, so the forward is there,
 * enabled, and aimed here), and that port accepts connections from this
 * host (the listener check passed, its last run finished).  Without both, a
 * refusal at WAN:EXT says nothing about loopback.
 */
static void
hairpin_arm(struct run *R)
{
	const struct doctor_report *r = R->r;
	struct hairpin_call *h = R->hairpin.arg;

	if (R->hairpin.job == NULL || h == NULL || !h->ext_tcp ||
	    R->listener.job != NULL || R->rjob != NULL ||
	    r->checks[DOC_MAPPING].status != DOC_PASS ||
	    r->checks[DOC_LISTENER].status != DOC_PASS)
		return;
	__atomic_store_n(&h->armed, 1, __ATOMIC_SEQ_CST);
}

static void
outside_result(struct run *R, const struct outside_call *a,
    const struct outside_call *b)
{
	struct doctor_report *r = R->r;
	const struct portspec *s = &R->o->spec;
	char other[200] = "", where[64];

	if (b != NULL && b->rc == 0 && R->rs.tok[DOCTOR_TOK_OUTSIDE].seen) {
		r->other_ports_reachable = true;
		snprintf(other, sizeof(other), "; other ports do get in: it "
		    "reached this host through the probe mapping on port %u",
		    b->port);
	} else if (b != NULL && b->rc == 0)
		snprintf(other, sizeof(other), "; it could not get in through "
		    "the probe mapping on port %u either", b->port);
	if (a == NULL) {
		doctor_check_set(r->checks, DOC_EXTERNAL, DOC_SKIP,
		    DOCR_NOT_VERIFIABLE, "not checked: %s UDP port %u, so "
		    "portkeeper cannot answer the probe's token on it, and "
		    "whether the forward works from outside cannot be "
		    "verified%s", udp_held(r) ? "a program on this host holds" :
		    "portkeeper cannot hold (a port below 1024 needs root)",
		    r->internal_port, other);
		return;
	}
	if (a->rc == -1) {
		doctor_check_set(r->checks, DOC_EXTERNAL, DOC_WARN,
		    DOCR_PROBE_FAILED,
		    "could not ask the probe server: %s", a->err.msg);
		return;
	}
	str_copy(r->source_seen, a->ans.source_seen, sizeof(r->source_seen));
	snprintf(where, sizeof(where), "%s:%u/%s", a->ans.source_seen, s->ext,
	    portspec_proto_str(s->proto));
	if (r->checks[DOC_EXTERNAL_IP].status == DOC_PASS &&
	    strcmp(a->ans.source_seen, r->external_ip) != 0) {
		doctor_check_set(r->checks, DOC_EXTERNAL, DOC_FAIL,
		    DOCR_OTHER_NAT,
		    "the probe server at %s sees this network as %s, but the "
		    "router's external address is %s: another NAT sits in "
		    "front of the router, and the probe %s %s",
		    R->url.text, a->ans.source_seen, r->external_ip,
		    a->ans.reachable ? "still got in at" : "could not get in at",
		    where);
		return;
	}
	if (r->checks[DOC_EXTERNAL_IP].status == DOC_FAIL) {
		doctor_check_set(r->checks, DOC_EXTERNAL, DOC_FAIL,
		    DOCR_OTHER_NAT,
		    "the probe server at %s sees this network as %s, an "
		    "address the router does not have; the probe %s %s",
		    R->url.text, a->ans.source_seen, a->ans.reachable ?
		    "got in at" : "could not get in at", where);
		return;
	}
	if (s->proto == PM_UDP && !R->rs.tok[DOCTOR_TOK_OUTSIDE_UDP].seen) {
		doctor_check_set(r->checks, DOC_EXTERNAL, DOC_FAIL,
		    DOCR_UNREACHABLE,
		    "the probe server at %s sent a token to %s, and it did not "
		    "reach this host%s", R->url.text, where, other);
		return;
	}
	if (!a->ans.reachable) {
		doctor_check_set(r->checks, DOC_EXTERNAL, DOC_FAIL,
		    DOCR_UNREACHABLE,
		    "the probe server at %s could not get in at %s; it says: "
		    "%s%s", R->url.text, where, a->ans.detail, other);
		return;
	}
	doctor_check_set(r->checks, DOC_EXTERNAL, DOC_PASS, DOCR_NONE,
	    "the probe server at %s got in from the internet at %s%s",
	    R->url.text,
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
			r->router = R->rc->info;
			if (R->rc->probe1_rc == 0)
				doctor_gateway_result(r->checks,
				    R->ni.gateway_str,
				    &R->rc->info);
			mapping_result(R);
		}
	}
	if (R->listener.job != NULL && job_done(R->listener.job)) {
		log_debug("doctor: listener done after %lld ms",
		    (long long)(mono_ms() - R->t0));
		doctor_listener_result(r->checks, R->listener.arg);
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
	hairpin_arm(R);
}

static bool
slot_busy(const struct slot *s)
{
	return s->job != NULL && !job_done(s->job);
}

/* The report's facts from the options, and the probe server's URL. */
static void
run_init(struct run *R, const struct doctor_opts *o, struct doctor_report *r)
{
	char ebuf[256];

	memset(R, 0, sizeof(*R));
	memset(r, 0, sizeof(*r));
	R->o = o;
	R->r = r;
	R->t0 = mono_ms();
	doctor_token_init(&R->rs);
	r->port = o->spec.ext;
	r->proto = o->spec.proto;
	r->internal_port = o->spec.in;
	if (o->forward != NULL)
		str_copy(r->forward_name, o->forward->name,
		    sizeof(r->forward_name));
	if (o->probe_url == NULL || o->probe_url[0] == '\0')
		return;
	if (probe_url_parse(o->probe_url, &R->url, ebuf, sizeof(ebuf)) == 0) {
		R->have_url = true;
		str_copy(r->probe_url, R->url.text, sizeof(r->probe_url));
	} else
		doctor_check_set(r->checks, DOC_EXTERNAL, DOC_WARN,
		    DOCR_PROBE_FAILED, "%s", ebuf);
}

/*
 * This host's side, then every job that can start at once: the listener,
 * router stage 1 and outside A.  0, or -1 when there is no default route
 * or the router's job could not start (the checks then say so).
 */
static int
run_start(struct run *R)
{
	const struct doctor_opts *o = R->o;
	struct doctor_report *r = R->r;
	struct pm_error err;
	struct netinfo_addr da;
	bool want_probe;
	size_t i;

	if (netinfo_get(&R->ni, &err) == -1) {
		doctor_check_set(r->checks, DOC_GATEWAY, DOC_FAIL,
		    DOCR_NO_ROUTE, "%s", err.msg);
		for (i = DOC_EXTERNAL_IP; i < DOC_NCHECKS; i++)
			doctor_check_set(r->checks, i, DOC_SKIP, DOCR_NONE,
			    "not checked: this host has no default route");
		return -1;
	}
	str_copy(r->internal_ip, R->ni.internal_str, sizeof(r->internal_ip));
	str_copy(r->gateway, R->ni.gateway_str, sizeof(r->gateway));
	str_copy(r->ifname, R->ni.ifname, sizeof(r->ifname));
	doctor_internal_ip_result(r->checks, &R->ni, &da);

	/* The listener; for UDP, whether portkeeper can own the port. */
	if (o->spec.proto == PM_TCP)
		start_listener(R, r->internal_port);
	else
		udp_listener(R);
	want_probe = doctor_token_listen(&R->rs, R->ni.internal) == 0;

	if ((R->rc = calloc(1, sizeof(*R->rc))) == NULL) {
		doctor_check_set(r->checks, DOC_GATEWAY, DOC_WARN, DOCR_ERROR,
		    "out of memory");
		return -1;
	}
	R->rc->via = o->via;
	R->rc->timeout_ms = o->timeout_ms;
	R->rc->spec = o->spec;
	R->rc->spec.in = r->internal_port;
	R->rc->want_probe = want_probe;
	R->rc->probe_in = R->rs.tcp_port;
	if ((R->rjob = job_start(doctor_router_stage1, R->rc, NULL)) == NULL) {
		doctor_check_set(r->checks, DOC_GATEWAY, DOC_WARN, DOCR_ERROR,
		    "cannot start a thread");
		return -1;
	}
	R->rstage = 1;
	if (R->have_url && (o->spec.proto == PM_TCP || R->udp_owned))
		start_outside(R, &R->outa, o->spec.ext, o->spec.proto,
		    o->spec.proto == PM_UDP ?
		    R->rs.tok[DOCTOR_TOK_OUTSIDE_UDP].tok : NULL);
	return 0;
}

/*
 * Adds the descriptors of the jobs still running to pfd and lowers *wake
 * to their deadlines; a job past its deadline and grace is abandoned.
 * Returns how many descriptors it added.
 */
static nfds_t
run_pollfds(struct run *R, struct slot *const *slots, size_t nslots,
    struct pollfd *pfd, int64_t now, int64_t *wake)
{
	nfds_t n = 0;
	size_t i;

	for (i = 0; i < nslots; i++) {
		if (!slot_busy(slots[i]))
			continue;
		if (now >= slots[i]->deadline + JOB_GRACE_MS) {
			if (slots[i] == &R->outa)
				R->outa_late = true;
			slot_abandon(slots[i]);
			continue;
		}
		if (slots[i]->deadline + JOB_GRACE_MS < *wake)
			*wake = slots[i]->deadline + JOB_GRACE_MS;
		pfd[n].fd = job_fd(slots[i]->job);
		pfd[n++].events = POLLIN;
	}
	if (R->rjob != NULL) {
		pfd[n].fd = job_fd(R->rjob);
		pfd[n++].events = POLLIN;
	}
	return n;
}

/*
 * Answers tokens and collects the jobs until none runs.  A stop request
 * abandons the socket jobs at once; the router's job is only told to make
 * no mapping, and waited for, so that its mapping can be removed.
 */
static void
run_loop(struct run *R)
{
	const struct doctor_opts *o = R->o;
	struct slot *const slots[] = {
		&R->listener, &R->hairpin, &R->outa, &R->outb,
	};
	size_t i;

	for (;;) {
		struct pollfd pfd[DOCTOR_TOKEN_CONN_MAX + 8];
		int64_t now, wake;
		nfds_t n;

		if (o->stop != NULL && *o->stop && !R->stopping) {
			R->stopping = true;
			R->r->interrupted = true;
			__atomic_store_n(&R->rc->stop, 1, __ATOMIC_SEQ_CST);
			for (i = 0; i < nitems(slots); i++)
				if (slot_busy(slots[i]))
					slot_abandon(slots[i]);
		}
		collect(R);
		now = mono_ms();
		wake = now + 1000;
		if ((n = run_pollfds(R, slots, nitems(slots), pfd, now,
		    &wake)) == 0)
			break;
		n += doctor_token_pollfds(&R->rs, pfd + n, &wake);
		if (o->stop != NULL && wake > now + DOCTOR_STOP_POLL_MS)
			wake = now + DOCTOR_STOP_POLL_MS;
		poll(pfd, n, ms_until(wake));
		doctor_token_service(&R->rs);
	}
	log_debug("doctor: all checks done after %lld ms",
	    (long long)(mono_ms() - R->t0));
}

/* The outside checks, once everything that feeds them is in. */
static void
run_outside(struct run *R)
{
	const struct doctor_opts *o = R->o;

	if (R->have_url && !R->stopping) {
		if (o->spec.proto == PM_UDP && !R->udp_owned)
			outside_result(R, NULL, R->outb.arg);
		else if (R->outa.arg != NULL)
			outside_result(R, R->outa.arg, R->outb.arg);
		else if (R->outa_late)
			doctor_check_set(R->r->checks, DOC_EXTERNAL, DOC_WARN,
			    DOCR_PROBE_FAILED, "the probe server at %s did not "
			    "answer within %d ms", R->url.text, OUTSIDE_MS);
	}
	if (R->outa.job != NULL)
		slot_abandon(&R->outa);
	if (R->outb.job != NULL)
		slot_abandon(&R->outb);
}

/* The probe mapping goes, whatever happened before. */
static void
run_remove_probe_mapping(struct run *R)
{
	struct doctor_report *r = R->r;
	struct pm_error err;
	struct portspec ps;
	enum pm_method m;
	bool removed = false;

	memset(&ps, 0, sizeof(ps));
	ps.ext = r->probe_port;
	ps.in = R->rs.tcp_port;
	ps.in_given = 1;
	ps.proto = PM_TCP;
	if (portmap_close(R->rc->pm, &ps, &removed, &m, &err) == 0)
		r->probe_mapping_removed = true;
	else
		log_warnx("could not remove the probe mapping of port %u/tcp "
		    "(it expires within %d s): %s", r->probe_port,
		    DOCTOR_PROBE_MAPPING_LEASE, err.msg);
	log_debug("doctor: probe mapping removed after %lld ms",
	    (long long)(mono_ms() - R->t0));
}

/* Ends every job and socket; a check nobody made says why. */
static void
run_finish(struct run *R)
{
	struct doctor_report *r = R->r;
	size_t i;

	if (R->listener.job != NULL)
		slot_abandon(&R->listener);
	if (R->hairpin.job != NULL)
		slot_abandon(&R->hairpin);
	if (r->probe_mapping_made)
		run_remove_probe_mapping(R);
	doctor_token_close(&R->rs);
	if (R->rc != NULL) {
		portmap_free(R->rc->pm);
		free(R->rc);
	}
	for (i = 0; i < DOC_NCHECKS; i++)
		if (r->checks[i].detail[0] == '\0')
			doctor_check_set(r->checks, i, DOC_SKIP, DOCR_NONE,
			    r->interrupted ? "not checked: interrupted" :
			    i == DOC_EXTERNAL ? "not checked: give --probe URL "
			    "(a portkeeper probe-server outside the home "
			    "network) or set probe = URL in the configuration" :
			    "not checked");
}

enum doctor_verdict
doctor_run(const struct doctor_opts *o, struct doctor_report *r)
{
	struct run R;

	run_init(&R, o, r);
	if (run_start(&R) == 0) {
		run_loop(&R);
		run_outside(&R);
	}
	run_finish(&R);
	r->elapsed_ms = mono_ms() - R.t0;
	doctor_conclude(r);
	return r->verdict;
}
