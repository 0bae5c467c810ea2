/*
 * portkeeper doctor without a port: every configured forward and the
 * router's whole table.  The router's job (doctor_check.c) runs on a thread
 * while the listeners are tried here one by one, within AUDIT_LISTEN_MS for
 * all of them; then each table entry is classified and each forward
 * checked against the table.  The words are doctor_verdict.c's.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "doctor_audit.h"
#include "doctor_check.h"
#include "job.h"
#include "netinfo.h"
#include "portmap.h"
#include "util.h"

#define AUDIT_LISTEN_MS		2000	/* all listener checks of an audit */

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
	struct doctor_router_call *c = arg;

	doctor_router_stage1(c);
	if (c->pm != NULL && c->probe0_rc == 0)
		doctor_router_stage2(c);
}

/* The listener of one configured forward, synchronously. */
static void
audit_listener(struct doctor_check *checks, struct in_addr addr,
    const struct config_forward *f, int64_t deadline)
{
	struct doctor_listen_call lc;
	struct sockaddr_in sin;
	int s;

	if (f->proto == PM_UDP) {
		doctor_sin_make(&sin, addr, f->in);
		s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (s != -1 && bind(s, (struct sockaddr *)&sin,
		    sizeof(sin)) == 0)
			doctor_check_set(checks, DOC_LISTENER, DOC_FAIL,
			    DOCR_REFUSED,
			    "nothing on this host has UDP port %u open", f->in);
		else if (s != -1 && errno == EADDRINUSE)
			doctor_check_set(checks, DOC_LISTENER, DOC_SKIP,
			    DOCR_NOT_VERIFIABLE, "a program has UDP port %u "
			    "open; whether it answers cannot be verified",
			    f->in);
		else
			doctor_check_set(checks, DOC_LISTENER, DOC_WARN,
			    DOCR_ERROR,
			    "cannot check UDP port %u: %s", f->in,
			    strerror(errno));
		if (s != -1)
			close(s);
		return;
	}
	if (mono_ms() >= deadline) {
		doctor_check_set(checks, DOC_LISTENER, DOC_SKIP, DOCR_NONE,
		    "not checked: out of time (run portkeeper doctor %u)",
		    f->ext);
		return;
	}
	memset(&lc, 0, sizeof(lc));
	lc.addr = addr;
	lc.port = f->in;
	doctor_listen_run(&lc);
	doctor_listener_result(checks, &lc);
}

static void
audit_mapping(struct doctor_check *checks, const struct doctor_audit *a,
    const struct config_forward *f)
{
	const struct pm_mapping *m = NULL;
	size_t i;

	if (!a->table_known) {
		doctor_check_set(checks, DOC_MAPPING, DOC_SKIP, DOCR_UNLISTABLE,
		    "not checked: %s", a->table_detail);
		return;
	}
	for (i = 0; i < a->nent; i++)
		if (a->ent[i].m.ext_port == f->ext &&
		    a->ent[i].m.proto == f->proto)
			m = &a->ent[i].m;
	if (m == NULL)
		doctor_check_set(checks, DOC_MAPPING, DOC_FAIL, DOCR_ABSENT,
		    "the router has no forward of port %u/%s: portkeeperd "
		    "keeps it when it runs (portkeeper status)", f->ext,
		    portspec_proto_str(f->proto));
	else if (!m->this_host)
		doctor_check_set(checks, DOC_MAPPING, DOC_FAIL, DOCR_CONFLICT,
		    "port %u/%s is forwarded to %s:%u, another host on the LAN",
		    f->ext, portspec_proto_str(f->proto), m->int_client,
		    m->int_port);
	else if (m->int_port != f->in)
		doctor_check_set(checks, DOC_MAPPING, DOC_FAIL, DOCR_OTHER_PORT,
		    "the router forwards port %u/%s to this host's port %u, "
		    "not to %u as configured: portkeeperd re-points it at its "
		    "next check",
		    f->ext, portspec_proto_str(f->proto), m->int_port, f->in);
	else if (!m->enabled)
		doctor_check_set(checks, DOC_MAPPING, DOC_FAIL, DOCR_DISABLED,
		    "the router has the forward of port %u/%s, but disabled",
		    f->ext, portspec_proto_str(f->proto));
	else
		doctor_check_set(checks, DOC_MAPPING, DOC_PASS, DOCR_NONE,
		    "the router forwards port %u/%s to %s:%u",
		    f->ext, portspec_proto_str(f->proto),
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
		if (e->web)
			snprintf(e->detail, sizeof(e->detail), "forward \"%s\", "
			    "added in the web UI (%s)", e->forward,
			    CONFIG_WEBFWD_FILE);
		else
			snprintf(e->detail, sizeof(e->detail), "forward \"%s\" "
			    "of the configuration", e->forward);
		break;
	case DOCE_UNMANAGED:
		if (strcmp(m->desc, DOCTOR_PROBE_MAPPING_DESC) == 0)
			snprintf(e->detail, sizeof(e->detail),
			    "a probe mapping "
			    "of portkeeper doctor that was not removed; %s",
			    lease);
		else
			snprintf(e->detail, sizeof(e->detail), "points at this "
			    "host, but no configured forward keeps it (made by "
			    "portkeeper open or another program); %s: remove it "
			    "with \"portkeeper close %u%s\" if nothing needs it",
			    lease, m->ext_port,
			    m->proto == PM_UDP ? "/udp" : "");
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

/*
 * This host's address towards the gateway and its subnet ("?" when the
 * kernel does not say).  0, or -1 when there is no default route.
 */
static int
audit_host(struct doctor_audit *a, struct netinfo *ni, struct netinfo_addr *da,
    char subnet[32])
{
	struct pm_error err;

	if (netinfo_get(ni, &err) == -1) {
		doctor_check_set(a->checks, DOC_GATEWAY, DOC_FAIL,
		    DOCR_NO_ROUTE,
		    "%s", err.msg);
		return -1;
	}
	str_copy(a->internal_ip, ni->internal_str, sizeof(a->internal_ip));
	str_copy(a->gateway, ni->gateway_str, sizeof(a->gateway));
	doctor_internal_ip_result(a->checks, ni, da);
	if (da->found) {
		struct in_addr net;
		uint32_t mask = da->prefixlen == 0 ? 0 : da->prefixlen >= 32 ?
		    0xffffffffu : ~(0xffffffffu >> da->prefixlen);

		net.s_addr = htonl(ntohl(ni->internal.s_addr) & mask);
		snprintf(subnet, 32, "%s/%u", inet_ntoa(net), da->prefixlen);
	}
	return 0;
}

/* Starts the router's job; NULL, with the gateway check saying why, if not. */
static struct doctor_router_call *
audit_router_start(struct doctor_audit *a, const struct doctor_opts *o,
    struct job **j)
{
	struct doctor_router_call *rc;

	*j = NULL;
	if ((rc = calloc(1, sizeof(*rc))) != NULL) {
		rc->via = o->via;
		rc->timeout_ms = o->timeout_ms;
		rc->audit = true;
		*j = job_start(router_audit, rc, NULL);
	}
	if (*j == NULL) {
		doctor_check_set(a->checks, DOC_GATEWAY, DOC_WARN, DOCR_ERROR,
		    "cannot start a thread");
		free(rc);
		return NULL;
	}
	return rc;
}

/* The listener of every configured forward, while the router's job runs. */
static void
audit_listeners(struct doctor_audit *a, const struct doctor_opts *o,
    const struct config *cfg, struct in_addr internal)
{
	int64_t deadline;
	size_t i;

	if (cfg == NULL || cfg->nfwd == 0 ||
	    (a->fwd = calloc(cfg->nfwd, sizeof(*a->fwd))) == NULL)
		return;
	deadline = mono_ms() + AUDIT_LISTEN_MS;
	for (i = 0; i < cfg->nfwd; i++) {
		struct doctor_check tmp[DOC_NCHECKS];

		memset(tmp, 0, sizeof(tmp));
		audit_listener(tmp, internal, &cfg->fwd[i], deadline);
		a->fwd[i].listener = tmp[DOC_LISTENER];
		if (o->stop != NULL && *o->stop)
			break;
	}
	a->nfwd = cfg->nfwd;
}

/* The gateway and external_ip checks, and whether the table is known. */
static void
audit_router_result(struct doctor_audit *a,
    const struct doctor_router_call *rc, const char *gateway)
{
	const struct portmap_info *in;

	if (doctor_gateway_failed(a->checks, rc)) {
		snprintf(a->table_detail, sizeof(a->table_detail), "the router "
		    "does not answer");
		return;
	}
	in = rc->probe1_rc == 0 ? &rc->info : portmap_info(rc->pm);
	a->router = *in;
	doctor_external_ip_result(a->checks, a->external_ip, in);
	doctor_gateway_result(a->checks, gateway, in);
	if (rc->probe1_rc == 0 && rc->list_rc == 0) {
		a->table_known = true;
		snprintf(a->table_detail, sizeof(a->table_detail), "%zu "
		    "entries", rc->nlist);
	} else
		snprintf(a->table_detail, sizeof(a->table_detail), "%s",
		    rc->probe1_rc == -1 ? rc->probe1_err.msg :
		    rc->list_err.msg);
}

/* The router's table, each entry classified for this host. */
static void
audit_table(struct doctor_audit *a, const struct doctor_router_call *rc,
    struct in_addr internal, unsigned prefixlen, const struct config *cfg,
    const char *subnet)
{
	size_t i;

	if (!a->table_known || rc->nlist == 0 ||
	    (a->ent = calloc(rc->nlist, sizeof(*a->ent))) == NULL)
		return;
	for (i = 0; i < rc->nlist; i++) {
		struct doctor_entry *e = &a->ent[i];
		const struct config_forward *f;

		e->m = rc->list[i];
		str_printable(e->m.desc, sizeof(e->m.desc), rc->list[i].desc);
		e->kind = doctor_classify(&e->m, internal, prefixlen, cfg, &f);
		if (f != NULL) {
			str_copy(e->forward, f->name, sizeof(e->forward));
			e->web = f->web;
		}
		entry_detail(e, subnet);
	}
	a->nent = rc->nlist;
}

/* Each configured forward against the table. */
static void
audit_forwards(struct doctor_audit *a, const struct config *cfg)
{
	size_t i;

	for (i = 0; i < a->nfwd; i++) {
		struct doctor_fwd_report *fr = &a->fwd[i];
		const struct config_forward *f = &cfg->fwd[i];
		struct doctor_check tmp[DOC_NCHECKS];

		memset(tmp, 0, sizeof(tmp));
		str_copy(fr->name, f->name, sizeof(fr->name));
		fr->port = f->ext;
		fr->internal_port = f->in;
		fr->proto = f->proto;
		if (fr->listener.detail[0] == '\0')
			doctor_check_set(&fr->listener, 0, DOC_SKIP, DOCR_NONE,
			    "not checked: interrupted");
		audit_mapping(tmp, a, f);
		fr->mapping = tmp[DOC_MAPPING];
	}
}

enum doctor_verdict
doctor_audit_run(const struct doctor_opts *o, const struct config *cfg,
    struct doctor_audit *a)
{
	struct netinfo ni;
	struct netinfo_addr da;
	struct doctor_router_call *rc;
	struct job *j;
	char subnet[32] = "?";
	int64_t t0 = mono_ms();
	size_t i;

	memset(a, 0, sizeof(*a));
	if (cfg != NULL)
		str_copy(a->config_path, cfg->path, sizeof(a->config_path));
	for (i = 0; i < DOC_NCHECKS; i++)
		doctor_check_set(a->checks, i, DOC_SKIP, DOCR_NONE,
		    "not checked");
	if (audit_host(a, &ni, &da, subnet) == 0 &&
	    (rc = audit_router_start(a, o, &j)) != NULL) {
		audit_listeners(a, o, cfg, ni.internal);
		/* portmap bounds every call; a stop request waits for it too. */
		while (job_wait(j, mono_ms() + DOCTOR_STOP_POLL_MS) == -1)
			;
		job_release(j);
		audit_router_result(a, rc, ni.gateway_str);
		audit_table(a, rc, ni.internal, da.found ? da.prefixlen : 0,
		    cfg, subnet);
		audit_forwards(a, cfg);
		free(rc->list);
		portmap_free(rc->pm);
		free(rc);
	}
	a->elapsed_ms = mono_ms() - t0;
	doctor_audit_conclude(a);
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
