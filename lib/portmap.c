#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "log.h"
#include "pmp.h"
#include "portmap.h"
#include "upnp.h"
#include "util.h"

/* After the first protocol answers, how long `all` discovery waits for the other. */
#define DISCOVER_GRACE_MS		500
/*
 * With auto, NAT-PMP gets this head start before UPnP discovery begins, as
 * in Happy Eyeballs (RFC 8305): a NAT-PMP router answers within a few
 * milliseconds on a LAN, and UPnP's SSDP and HTTP traffic would only slow
 * the single-threaded router down while it does.
 */
#define NATPMP_HEAD_START_MS	50
/* How long an error path may wait for UPnP just to name a port's holder. */
#define HOLDER_LOOKUP_MS	1500
/*
 * A UPnP call ends by its own deadline this much before the caller stops
 * waiting for it, so that the caller hears why it failed.
 */
#define UPNP_MARGIN_MS		200

enum proto_state { PS_OFF = 0, PS_PENDING, PS_FOUND, PS_FAILED };

/*
 * The UPnP side lives on the heap with a reference count: a call that misses
 * its deadline keeps running on its thread and must still find the IGD.
 */
struct upnp_sess {
	pthread_mutex_t	 lock;
	int		 refs;
	struct upnp_igd	 igd;
};

enum upnp_op { UOP_DISCOVER, UOP_ADD, UOP_GET, UOP_DELETE, UOP_LIST };

struct upnp_call {
	struct upnp_sess	*sess;
	enum upnp_op		 op;
	int64_t			 deadline;
	struct in_addr		 gateway, local;
	enum pm_proto		 proto;
	uint16_t		 ext, in;
	uint32_t		 lease;
	char			 client[INET_ADDRSTRLEN];
	char			 desc[80];
	/* Results, read by the caller once the job is done. */
	int			 want_status;
	int			 rc;
	struct pm_error		 err;
	char			 ext_ip[16];
	int			 connected;
	char			 status[64];
	struct pm_mapping	 m;
	struct pm_mapping	*list;
	size_t			 nlist;
};

struct portmap {
	enum pm_method		 via;
	int			 timeout_ms;
	struct netinfo		 ni;
	struct portmap_info	 info;
	int			 discovered;
	enum pm_method		 first;		/* the first to answer */
	struct pmp		 pmp;
	enum proto_state	 nat_state;
	enum proto_state	 up_state;
	struct upnp_sess	*sess;
	struct job		*disc_job;
	struct upnp_call	*disc_call;
};

const char *
portmap_method_str(enum pm_method m)
{
	switch (m) {
	case PM_UPNP:	return "upnp";
	case PM_NATPMP:	return "natpmp";
	case PM_AUTO:	break;
	}
	return "auto";
}

const char *
portmap_method_name(enum pm_method m)
{
	switch (m) {
	case PM_UPNP:	return "UPnP-IGD";
	case PM_NATPMP:	return "NAT-PMP";
	case PM_AUTO:	break;
	}
	return "auto";
}

int
portmap_method_parse(const char *s, enum pm_method *m)
{
	if (strcmp(s, "auto") == 0)
		*m = PM_AUTO;
	else if (strcmp(s, "upnp") == 0)
		*m = PM_UPNP;
	else if (strcmp(s, "natpmp") == 0)
		*m = PM_NATPMP;
	else
		return -1;
	return 0;
}

static void
sess_unref(struct upnp_sess *s)
{
	int last;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	last = --s->refs == 0;
	pthread_mutex_unlock(&s->lock);
	if (!last)
		return;
	upnp_igd_free(&s->igd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static struct upnp_sess *
sess_ref(struct upnp_sess *s)
{
	pthread_mutex_lock(&s->lock);
	s->refs++;
	pthread_mutex_unlock(&s->lock);
	return s;
}

static void
upnp_call_run(void *arg)
{
	struct upnp_call *c = arg;
	struct upnp_igd *igd = &c->sess->igd;

	switch (c->op) {
	case UOP_DISCOVER:
		c->rc = upnp_discover(igd, c->gateway, c->local, c->deadline,
		    &c->err);
		if (c->rc == 0)
			c->rc = upnp_choose(igd, c->deadline, c->want_status,
			    c->ext_ip, &c->connected, c->status, &c->err);
		break;
	case UOP_ADD:
		c->rc = upnp_add(igd, c->deadline, c->proto, c->ext, c->in,
		    c->client, c->desc, c->lease, &c->err);
		break;
	case UOP_GET:
		c->rc = upnp_get(igd, c->deadline, c->proto, c->ext, &c->m,
		    &c->err);
		break;
	case UOP_DELETE:
		c->rc = upnp_delete(igd, c->deadline, c->proto, c->ext,
		    &c->err);
		break;
	case UOP_LIST:
		c->rc = upnp_list(igd, c->deadline, &c->list, &c->nlist,
		    &c->err);
		break;
	}
}

static void
upnp_call_free(void *arg)
{
	struct upnp_call *c = arg;

	free(c->list);
	sess_unref(c->sess);
	free(c);
}

static struct upnp_call *
upnp_call_new(struct portmap *pm, enum upnp_op op)
{
	struct upnp_call *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->sess = sess_ref(pm->sess);
	c->op = op;
	c->gateway = pm->ni.gateway;
	c->local = pm->ni.internal;
	str_copy(c->client, pm->ni.internal_str, sizeof(c->client));
	return c;
}

/*
 * Runs one UPnP call (not discovery) with a hard deadline.  Returns the
 * call's own return value with *out copied, or -1 with err set.  A call that
 * misses the deadline leaves UPnP marked failed: its thread may still be
 * talking to the router and nothing more is sent behind it.
 */
static int
upnp_run(struct portmap *pm, struct upnp_call *c, struct upnp_call *out,
    struct pm_error *err)
{
	struct job *j;
	int64_t deadline = mono_ms() + pm->timeout_ms + 2000;

	c->deadline = deadline - UPNP_MARGIN_MS;
	if ((j = job_start(upnp_call_run, c, upnp_call_free)) == NULL) {
		upnp_call_free(c);
		pmerr_set(err, PME_INTERNAL, 0, "cannot start a thread");
		return -1;
	}
	if (job_wait(j, deadline) == -1) {
		job_release(j);
		pm->up_state = PS_FAILED;
		pmerr_set(err, PME_TIMEOUT, 0, "the router's UPnP service did "
		    "not answer within %d ms", pm->timeout_ms + 2000);
		return -1;
	}
	*out = *c;
	out->list = c->list;
	c->list = NULL;
	if (c->rc == -1)
		*err = c->err;
	job_release(j);
	return out->rc;
}

struct portmap *
portmap_new(enum pm_method via, int timeout_ms, struct pm_error *err)
{
	struct portmap *pm;

	if ((pm = calloc(1, sizeof(*pm))) == NULL) {
		pmerr_set(err, PME_INTERNAL, 0, "out of memory");
		return NULL;
	}
	pm->via = via;
	pm->timeout_ms = timeout_ms;
	if (netinfo_get(&pm->ni, err) == -1) {
		free(pm);
		return NULL;
	}
	if ((pm->sess = calloc(1, sizeof(*pm->sess))) == NULL) {
		free(pm);
		pmerr_set(err, PME_INTERNAL, 0, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&pm->sess->lock, NULL);
	pm->sess->refs = 1;
	log_debug("gateway %s via %s, this host %s", pm->ni.gateway_str,
	    pm->ni.ifname, pm->ni.internal_str);
	return pm;
}

void
portmap_free(struct portmap *pm)
{
	if (pm == NULL)
		return;
	pmp_close(&pm->pmp);
	job_release(pm->disc_job);
	sess_unref(pm->sess);
	free(pm);
}

const struct netinfo *
portmap_netinfo(const struct portmap *pm)
{
	return &pm->ni;
}

const struct portmap_info *
portmap_info(const struct portmap *pm)
{
	return &pm->info;
}

/*
 * A router's word on its external address.  An empty answer or 0.0.0.0 means
 * it has none (ip is emptied); an address no router's WAN can have (not an
 * address at all, loopback, multicast, "this network") means the router
 * misbehaves, and nothing it says is used: -1 with err set.
 */
static int
check_external(char ip[16], const char *via, struct pm_error *err)
{
	struct in_addr a;
	enum addr_class cls;
	char shown[16];

	if (strcmp(ip, "0.0.0.0") == 0)
		ip[0] = '\0';
	cls = addr_parse(ip, &a);
	if (cls != ADDR_INVALID && cls != ADDR_UNSPECIFIED &&
	    cls != ADDR_LOOPBACK && cls != ADDR_MULTICAST)
		return 0;
	str_printable(shown, sizeof(shown), ip);
	if (cls == ADDR_INVALID)
		pmerr_set(err, PME_BAD_REPLY, 0, "the router misbehaves: it "
		    "gave \"%s\" as its external address (%s), which is not an "
		    "IPv4 address", shown, via);
	else
		pmerr_set(err, PME_BAD_REPLY, 0, "the router misbehaves: it "
		    "gave %s as its external address (%s), a %s address no "
		    "router's WAN can have", shown, via, addr_class_str(cls));
	ip[0] = '\0';
	return -1;
}

static void
nat_answered(struct portmap *pm, const struct pmp_reply *r)
{
	struct portmap_info *in = &pm->info;
	char ip[16];

	if (r->result == 0) {
		inet_ntop(AF_INET, &r->addr, ip, sizeof(ip));
		if (check_external(ip, "NAT-PMP", &in->natpmp_error) == -1) {
			pm->nat_state = PS_FAILED;
			return;
		}
	}
	pm->nat_state = PS_FOUND;
	in->natpmp_found = true;
	in->natpmp_result = r->result;
	in->epoch = r->epoch;
	if (r->result == 0)
		str_copy(in->natpmp_external_ip, ip,
		    sizeof(in->natpmp_external_ip));
	else
		pmerr_natpmp(&in->natpmp_error, r->result,
		    "get the external address");
	if (pm->first == PM_AUTO)
		pm->first = PM_NATPMP;
}

/* Who the router says it is, for the doctor and the web UI. */
static void
upnp_identity(struct portmap_info *in, const struct upnp_igd *igd)
{
	const struct upnp_desc *d = &igd->desc;

	str_printable(in->router_manufacturer, sizeof(in->router_manufacturer),
	    d->manufacturer);
	/*
	 * The model name alone: routers fill modelNumber with words that
	 * name nothing ("avm", "Huawei Model", "1.0").
	 */
	str_printable(in->router_model, sizeof(in->router_model),
	    d->model_name[0] != '\0' ? d->model_name : d->model_number);
	str_printable(in->router_name, sizeof(in->router_name),
	    d->friendly_name);
	if (d->nsvc > 0)
		str_printable(in->upnp_service, sizeof(in->upnp_service),
		    igd->data.first.servicetype);
	in->quirks |= igd->quirks;
}

static void
upnp_discovered(struct portmap *pm)
{
	struct upnp_call *c = pm->disc_call;
	struct portmap_info *in = &pm->info;

	if (c->rc == 0 && check_external(c->ext_ip, "UPnP "
	    "GetExternalIPAddress", &c->err) == -1)
		c->rc = -1;
	upnp_identity(in, &c->sess->igd);
	if (c->rc == -1) {
		pm->up_state = PS_FAILED;
		in->upnp_error = c->err;
	} else {
		pm->up_state = PS_FOUND;
		in->upnp_found = true;
		in->upnp_connected = c->connected != 0;
		str_copy(in->upnp_status, c->status, sizeof(in->upnp_status));
		str_copy(in->upnp_external_ip, c->ext_ip,
		    sizeof(in->upnp_external_ip));
		str_copy(in->upnp_location, c->sess->igd.location,
		    sizeof(in->upnp_location));
		str_copy(in->control_url, c->sess->igd.urls.controlURL,
		    sizeof(in->control_url));
		if (pm->first == PM_AUTO)
			pm->first = PM_UPNP;
	}
	job_release(pm->disc_job);
	pm->disc_job = NULL;
	pm->disc_call = NULL;
}

static int
upnp_start_discovery(struct portmap *pm, int64_t deadline, int want_status)
{
	struct upnp_call *c;

	if ((c = upnp_call_new(pm, UOP_DISCOVER)) == NULL)
		return -1;
	c->deadline = deadline;
	/* GetStatusInfo costs a round trip that only `ip` needs. */
	c->want_status = want_status;
	if ((pm->disc_job = job_start(upnp_call_run, c, upnp_call_free)) ==
	    NULL) {
		upnp_call_free(c);
		return -1;
	}
	pm->disc_call = c;
	pm->up_state = PS_PENDING;
	return 0;
}

/* Waits for a pending UPnP discovery, at most until deadline. */
static void
upnp_wait_discovery(struct portmap *pm, int64_t deadline)
{
	if (pm->up_state != PS_PENDING)
		return;
	if (job_wait(pm->disc_job, deadline) == 0)
		upnp_discovered(pm);
}

static void
choose(struct portmap *pm)
{
	struct portmap_info *in = &pm->info;
	const char *ip;

	in->method = pm->first;
	ip = in->method == PM_UPNP ? in->upnp_external_ip :
	    in->natpmp_external_ip;
	str_copy(in->external_ip, ip, sizeof(in->external_ip));
	if (in->method == PM_NATPMP && in->natpmp_result == 3)
		in->external_class = ADDR_NONE;
	else {
		struct in_addr a;

		in->external_class = addr_parse(in->external_ip, &a);
	}
}

int
portmap_discover(struct portmap *pm, int all, struct pm_error *err)
{
	int64_t start = mono_ms(), deadline = start + pm->timeout_ms;
	int64_t grace = INT64_MAX, upnp_at = INT64_MAX;
	struct pm_error e;

	if (!pm->discovered) {
		pm->discovered = 1;
		if (pm->via != PM_UPNP) {
			if (pmp_open(&pm->pmp, pm->ni.gateway, &e) == -1) {
				pm->nat_state = PS_FAILED;
				pm->info.natpmp_error = e;
			} else if (pmp_send_public(&pm->pmp) == -1) {
				pm->nat_state = PS_FAILED;
				pmerr_set(&pm->info.natpmp_error, PME_NETWORK, 0,
				    "cannot send a NAT-PMP request to %s",
				    pm->ni.gateway_str);
			} else
				pm->nat_state = PS_PENDING;
		}
		if (pm->via != PM_NATPMP)
			upnp_at = pm->via == PM_AUTO && !all &&
			    pm->nat_state == PS_PENDING ?
			    start + NATPMP_HEAD_START_MS : start;
	} else if (all && pm->up_state == PS_OFF && pm->via != PM_NATPMP)
		upnp_at = start;	/* an earlier discovery never needed it */

	while (pm->nat_state == PS_PENDING || pm->up_state == PS_PENDING ||
	    upnp_at != INT64_MAX) {
		struct pollfd pfd[2];
		struct pmp_reply r;
		int64_t now = mono_ms(), wake;
		nfds_t n = 0;
		int rc;

		if (pm->first != PM_AUTO && !all)
			break;
		if (pm->first != PM_AUTO && grace == INT64_MAX)
			grace = now + DISCOVER_GRACE_MS;
		if (now >= deadline || now >= grace)
			break;
		if (upnp_at != INT64_MAX &&
		    (now >= upnp_at || pm->nat_state == PS_FAILED)) {
			upnp_at = INT64_MAX;
			if (upnp_start_discovery(pm, deadline, all) == -1) {
				pm->up_state = PS_FAILED;
				pmerr_set(&pm->info.upnp_error, PME_INTERNAL, 0,
				    "cannot start a thread");
			}
		}
		wake = deadline < grace ? deadline : grace;
		if (upnp_at < wake)
			wake = upnp_at;
		if (pm->nat_state == PS_PENDING) {
			pmp_tick(&pm->pmp, now);
			if (pmp_resend_at(&pm->pmp) < wake)
				wake = pmp_resend_at(&pm->pmp);
			pfd[n].fd = pmp_fd(&pm->pmp);
			pfd[n++].events = POLLIN;
		}
		if (pm->up_state == PS_PENDING) {
			pfd[n].fd = job_fd(pm->disc_job);
			pfd[n++].events = POLLIN;
		}
		if (poll(pfd, n, ms_until(wake)) <= 0)
			continue;
		if (pm->nat_state == PS_PENDING && pfd[0].revents != 0) {
			rc = pmp_read(&pm->pmp, &r, &e);
			if (rc == 1)
				nat_answered(pm, &r);
			else if (rc == -1) {
				pm->nat_state = PS_FAILED;
				pm->info.natpmp_error = e;
			}
		}
		if (pm->up_state == PS_PENDING && job_done(pm->disc_job))
			upnp_discovered(pm);
	}
	/*
	 * Nothing usable by the deadline.  UPnP discovery ends by the same
	 * deadline: give it a moment to say why (a router that drips its
	 * description is not a router without UPnP).
	 */
	if (pm->first == PM_AUTO && pm->up_state == PS_PENDING)
		upnp_wait_discovery(pm, mono_ms() + UPNP_MARGIN_MS);
	if (pm->first == PM_AUTO && pm->nat_state == PS_PENDING)
		pmp_bad_replies(&pm->pmp, &pm->info.natpmp_error);
	log_debug("discover: NAT-PMP %d, UPnP %d after %lld ms", pm->nat_state,
	    pm->up_state, (long long)(mono_ms() - start));

	if (pm->first == PM_AUTO) {
		const char *which = pm->via == PM_UPNP ? "no UPnP-IGD" :
		    pm->via == PM_NATPMP ? "no NAT-PMP" :
		    "neither UPnP-IGD nor NAT-PMP";
		enum pm_errcode nc = pm->info.natpmp_error.code;

		pmerr_set(err, PME_NO_GATEWAY, 0, "%s answered at the default "
		    "gateway %s within %d ms: switch on UPnP or NAT-PMP in the "
		    "router's settings, or forward the port by hand in its "
		    "admin page", which, pm->ni.gateway_str, pm->timeout_ms);
		/* A router that answered wrongly says more than silence. */
		if (pm->info.upnp_error.code != PME_OK &&
		    pm->info.upnp_error.code != PME_NO_GATEWAY)
			*err = pm->info.upnp_error;
		else if (nc == PME_BAD_REPLY || nc == PME_TIMEOUT)
			*err = pm->info.natpmp_error;
		return -1;
	}
	choose(pm);
	return 0;
}

/* Explains a WAN address that cannot receive from the internet. */
static void
no_public_address(struct portmap *pm, struct pm_error *err)
{
	struct portmap_info *in = &pm->info;
	const char *advice = "forwarding from the internet cannot work "
	    "through it; ask the ISP for a public IPv4 address, use IPv6, or "
	    "use a tunnel or relay";

	switch (in->external_class) {
	case ADDR_NONE:
		if (in->method == PM_NATPMP && in->natpmp_result == 3)
			pmerr_set(err, PME_NO_PUBLIC_ADDRESS, 3, "the router "
			    "has no public address (NAT-PMP result 3): it sits "
			    "behind carrier-grade NAT or another router, or "
			    "its internet link is down; %s", advice);
		else
			pmerr_set(err, PME_NO_PUBLIC_ADDRESS, 0, "the router "
			    "reports no external address: it sits behind "
			    "carrier-grade NAT or another router, or its "
			    "internet link is down; %s", advice);
		break;
	case ADDR_CGNAT:
		pmerr_set(err, PME_NO_PUBLIC_ADDRESS, 0, "the router's WAN "
		    "address %s is in the carrier-grade NAT range "
		    "100.64.0.0/10: the ISP shares one public address among "
		    "many customers; %s", in->external_ip, advice);
		break;
	case ADDR_PRIVATE:
		pmerr_set(err, PME_NO_PUBLIC_ADDRESS, 0, "the router's WAN "
		    "address %s is private: another router or the ISP's NAT "
		    "sits in front of it (double NAT); %s", in->external_ip,
		    advice);
		break;
	case ADDR_INVALID:
		pmerr_set(err, PME_BAD_REPLY, 0, "the router reported "
		    "\"%.40s\" as its external address, which is not an IPv4 "
		    "address", in->external_ip);
		break;
	default:
		pmerr_set(err, PME_NO_PUBLIC_ADDRESS, 0, "the router's WAN "
		    "address %s is a %s address; %s", in->external_ip,
		    addr_class_str(in->external_class), advice);
		break;
	}
}

/*
 * GetSpecificPortMappingEntry through a job: 1 with *m, 0 none, -1 error.
 */
static int
upnp_get_entry(struct portmap *pm, enum pm_proto proto, uint16_t ext,
    struct pm_mapping *m, struct pm_error *err)
{
	struct upnp_call *c, out;
	int rc;

	if ((c = upnp_call_new(pm, UOP_GET)) == NULL) {
		pmerr_set(err, PME_INTERNAL, 0, "out of memory");
		return -1;
	}
	c->proto = proto;
	c->ext = ext;
	if ((rc = upnp_run(pm, c, &out, err)) == 1)
		*m = out.m;
	return rc;
}

/*
 * Asks UPnP who holds ext/proto, to name that host in a conflict.  Returns 1
 * with *m, 0 when unknown.
 */
static int
lookup_holder(struct portmap *pm, enum pm_proto proto, uint16_t ext,
    struct pm_mapping *m)
{
	struct pm_error e;

	/* Even with --via natpmp: a read-only question for a better answer. */
	if (pm->up_state == PS_OFF)
		upnp_start_discovery(pm, mono_ms() + HOLDER_LOOKUP_MS, 0);
	upnp_wait_discovery(pm, mono_ms() + HOLDER_LOOKUP_MS);
	if (pm->up_state != PS_FOUND)
		return 0;
	return upnp_get_entry(pm, proto, ext, m, &e) == 1;
}

static void
conflict(struct portmap *pm, const struct portspec *spec, int router_code,
    const char *extra, struct pm_error *err)
{
	struct pm_mapping m;
	int known = lookup_holder(pm, spec->proto, spec->ext, &m);

	if (known && !m.this_host)
		pmerr_set(err, PME_CONFLICT, router_code, "port %u/%s is "
		    "already forwarded to %s:%u%s%s%s, another host on the LAN%s; "
		    "free it there or choose another port", spec->ext,
		    portspec_proto_str(spec->proto), m.int_client, m.int_port,
		    m.desc[0] ? " (\"" : "", m.desc, m.desc[0] ? "\")" : "",
		    extra);
	else if (known)
		pmerr_set(err, PME_CONFLICT, router_code, "port %u/%s is "
		    "already forwarded to this host's port %u%s; close it "
		    "first", spec->ext, portspec_proto_str(spec->proto), m.int_port,
		    extra);
	else
		pmerr_set(err, PME_CONFLICT, router_code, "port %u/%s is "
		    "already forwarded to another host on the LAN%s; free it "
		    "there or choose another port", spec->ext,
		    portspec_proto_str(spec->proto), extra);
}

static int
open_natpmp(struct portmap *pm, const struct portspec *spec, uint32_t lease,
    bool any_port, struct portmap_open_result *res, struct pm_error *err)
{
	struct pmp_reply r;
	char what[64], extra[160];
	int64_t deadline = mono_ms() + pm->timeout_ms;

	snprintf(what, sizeof(what), "forward port %u/%s", spec->ext,
	    portspec_proto_str(spec->proto));
	if (pmp_send_map(&pm->pmp, spec->proto, spec->in, spec->ext,
	    lease) == -1) {
		pmerr_set(err, PME_NETWORK, 0, "could not %s: cannot send to "
		    "the router", what);
		return -1;
	}
	if (pmp_wait(&pm->pmp, deadline, &r, err) == -1)
		return -1;
	if (r.result != 0) {
		pmerr_natpmp(err, r.result, what);
		return -1;
	}
	if (r.ext_port == 0) {
		/* RFC 6886 section 3.3: a granted mapping has a port. */
		pmerr_set(err, PME_BAD_REPLY, 0, "could not %s: the router "
		    "answered success over NAT-PMP but granted no port", what);
		return -1;
	}
	if (r.ext_port != spec->ext && !any_port) {
		/*
		 * RFC 6886 section 3.3 lets the router grant another port when
		 * the one asked for is taken.  The user asked for this port,
		 * so give the grant back and report the conflict.
		 */
		struct pmp_reply r2;
		struct pm_error e;

		if (pmp_send_map(&pm->pmp, spec->proto, spec->in, r.ext_port,
		    0) == 0)
			pmp_wait(&pm->pmp, mono_ms() + pm->timeout_ms, &r2, &e);
		/* How to accept it depends on the caller: see cmd_open. */
		snprintf(extra, sizeof(extra), " (NAT-PMP offered port %u "
		    "instead)", r.ext_port);
		conflict(pm, spec, 0, extra, err);
		res->offered_port = r.ext_port;
		return -1;
	}
	res->ext_port = r.ext_port;
	res->lease = r.lifetime;
	return 0;
}

/* The UPnP errors routers answer a lease they will not grant with. */
static bool
lease_refused(int code)
{
	return code == 725 || code == 402 || code == 606;
}

static int
open_upnp(struct portmap *pm, const struct portspec *spec, uint32_t lease,
    const char *desc, struct portmap_open_result *res, struct pm_error *err)
{
	struct upnp_call *c, out;
	int rc, refused = 0;

	for (;;) {
		if ((c = upnp_call_new(pm, UOP_ADD)) == NULL) {
			pmerr_set(err, PME_INTERNAL, 0, "out of memory");
			return -1;
		}
		c->proto = spec->proto;
		c->ext = spec->ext;
		c->in = spec->in;
		c->lease = lease;
		str_copy(c->desc, desc, sizeof(c->desc));
		rc = upnp_run(pm, c, &out, err);
		if (rc == 0)
			break;
		if (err->code == PME_CONFLICT || (err->router_code == 606 &&
		    lookup_holder(pm, spec->proto, spec->ext, &out.m) &&
		    !out.m.this_host)) {
			char extra[40];

			snprintf(extra, sizeof(extra), " (UPnP error %d)",
			    err->router_code);
			conflict(pm, spec, err->router_code, extra, err);
			return -1;
		}
		if (lease != 0 && lease_refused(err->router_code)) {
			/*
			 * IGD:1 WANIPConnection section 2.4.16 lets a router
			 * grant only permanent forwards (725), and some say so
			 * with 402 or 606 instead: ask once more for lease 0.
			 */
			snprintf(res->note, sizeof(res->note), "the router "
			    "refused a forward with a lease (UPnP error %d) and "
			    "granted a permanent one, which stays until closed",
			    err->router_code);
			refused = err->router_code;
			lease = 0;
			continue;
		}
		if (refused != 0 && err->router_code == 606)
			pm->info.quirks |= PMQ_REFUSES_ALL;
		return -1;
	}
	if (refused != 0)
		pm->info.quirks |= PMQ_PERMANENT_ONLY;
	res->ext_port = spec->ext;
	res->lease = lease;
	/*
	 * Read the entry back: it proves the forward took and gives the lease
	 * the router really granted (miniupnpd turns "permanent" into a week).
	 */
	rc = upnp_get_entry(pm, spec->proto, spec->ext, &out.m, err);
	if (rc == -1)
		return -1;
	if (rc == 0 || !out.m.this_host || out.m.int_port != spec->in) {
		pmerr_set(err, PME_BAD_REPLY, 0, "the router accepted the "
		    "forward of port %u/%s but its table %s", spec->ext,
		    portspec_proto_str(spec->proto), rc == 0 ? "does not list it" :
		    "points it elsewhere");
		return -1;
	}
	res->lease = out.m.lease;
	return 0;
}

int
portmap_open(struct portmap *pm, const struct portspec *spec, uint32_t lease,
    bool any_port, const char *desc, struct portmap_open_result *res,
    struct pm_error *err)
{
	memset(res, 0, sizeof(*res));
	if (lease == 0 && pm->via == PM_NATPMP) {
		pmerr_set(err, PME_USAGE, 0, "NAT-PMP cannot make permanent "
		    "forwards: give --lease SECONDS");
		return -1;
	}
	if (portmap_discover(pm, 0, err) == -1)
		return -1;
	if (lease == 0 && pm->info.method == PM_NATPMP) {
		/* Permanent forwards need UPnP; wait for it if it is coming. */
		upnp_wait_discovery(pm, mono_ms() + pm->timeout_ms);
		if (pm->up_state != PS_FOUND) {
			pmerr_set(err, PME_UNSUPPORTED, 0, "the router speaks "
			    "only NAT-PMP, which cannot make permanent "
			    "forwards: give --lease SECONDS");
			return -1;
		}
		pm->first = PM_UPNP;
		choose(pm);
	}
	if (!addr_class_is_public(pm->info.external_class)) {
		no_public_address(pm, err);
		return -1;
	}
	res->method = pm->info.method;
	if (res->method == PM_NATPMP)
		return open_natpmp(pm, spec, lease, any_port, res, err);
	return open_upnp(pm, spec, lease, desc, res, err);
}

static int
close_natpmp(struct portmap *pm, const struct portspec *spec, bool *removed,
    struct pm_error *err)
{
	struct pmp_reply r;
	struct pm_mapping m;
	char what[64];
	uint16_t in = spec->in;
	int known;

	/*
	 * NAT-PMP deletes by internal port (RFC 6886 section 3.4).  When the
	 * user gave only EXT, ask UPnP which internal port it forwards to, if
	 * UPnP is there; else assume the same port.
	 */
	known = lookup_holder(pm, spec->proto, spec->ext, &m);
	if (known && !m.this_host)
		goto foreign;
	if (known && !spec->in_given)
		in = m.int_port;
	snprintf(what, sizeof(what), "remove the forward of port %u/%s",
	    spec->ext, portspec_proto_str(spec->proto));
	if (pmp_send_map(&pm->pmp, spec->proto, in, spec->ext, 0) == -1 ||
	    pmp_wait(&pm->pmp, mono_ms() + pm->timeout_ms, &r, err) == -1)
		return -1;
	if (r.result != 0) {
		pmerr_natpmp(err, r.result, what);
		return -1;
	}
	/* NAT-PMP answers success either way; check where we can. */
	if (lookup_holder(pm, spec->proto, spec->ext, &m)) {
		pmerr_set(err, PME_REFUSED, 0, "could not %s: the router kept "
		    "it after the NAT-PMP request (it was probably made over "
		    "UPnP); try --via upnp", what);
		return -1;
	}
	if (pm->up_state == PS_FOUND)
		*removed = known;	/* UPnP saw it before and not after */
	else
		*removed = true;	/* NAT-PMP cannot tell; it said done */
	return 0;

foreign:
	pmerr_set(err, PME_CONFLICT, 0, "port %u/%s is forwarded to %s:%u, "
	    "not to this host; portkeeper leaves other hosts' forwards alone",
	    spec->ext, portspec_proto_str(spec->proto), m.int_client, m.int_port);
	return -1;
}

int
portmap_close(struct portmap *pm, const struct portspec *spec, bool *removed,
    enum pm_method *method, struct pm_error *err)
{
	struct pm_mapping m;
	int rc;

	*removed = false;
	/*
	 * With auto, wait for both: UPnP can see the table, so it can tell
	 * whether there was anything to remove and whose it was.
	 */
	if (portmap_discover(pm, pm->via == PM_AUTO, err) == -1)
		return -1;
	if (pm->up_state != PS_FOUND) {
		*method = PM_NATPMP;
		return close_natpmp(pm, spec, removed, err);
	}
	*method = PM_UPNP;
	if ((rc = upnp_get_entry(pm, spec->proto, spec->ext, &m, err)) == -1)
		return -1;
	if (rc == 0)
		return 0;	/* nothing to remove */
	if (!m.this_host) {
		pmerr_set(err, PME_CONFLICT, 0, "port %u/%s is forwarded to "
		    "%s:%u, not to this host; portkeeper leaves other hosts' "
		    "forwards alone", spec->ext, portspec_proto_str(spec->proto),
		    m.int_client, m.int_port);
		return -1;
	}
	{
		struct upnp_call *c, out;

		if ((c = upnp_call_new(pm, UOP_DELETE)) == NULL) {
			pmerr_set(err, PME_INTERNAL, 0, "out of memory");
			return -1;
		}
		c->proto = spec->proto;
		c->ext = spec->ext;
		if ((rc = upnp_run(pm, c, &out, err)) == -1)
			return -1;
	}
	*removed = rc == 1;
	return 0;
}

int
portmap_list(struct portmap *pm, struct pm_mapping **outv, size_t *n,
    struct pm_error *err)
{
	struct upnp_call *c, out;

	if (pm->via == PM_NATPMP) {
		pmerr_set(err, PME_UNSUPPORTED, 0, "NAT-PMP has no way to list "
		    "the router's forwards; use --via upnp or auto");
		return -1;
	}
	if (portmap_discover(pm, 1, err) == -1)
		return -1;
	if (pm->up_state != PS_FOUND) {
		if (pm->info.upnp_error.code != PME_OK &&
		    pm->info.upnp_error.code != PME_NO_GATEWAY)
			*err = pm->info.upnp_error;
		else
			pmerr_set(err, PME_UNSUPPORTED, 0, "the router "
			    "answers only NAT-PMP, which has no way to list "
			    "its forwards; switch on UPnP in the router to see "
			    "its table");
		return -1;
	}
	if ((c = upnp_call_new(pm, UOP_LIST)) == NULL) {
		pmerr_set(err, PME_INTERNAL, 0, "out of memory");
		return -1;
	}
	if (upnp_run(pm, c, &out, err) == -1)
		return -1;
	*outv = out.list;
	*n = out.nlist;
	return 0;
}

int
portmap_verify(struct portmap *pm, const struct portspec *spec,
    struct pm_mapping *m, struct pm_error *err)
{
	int rc;

	if (portmap_discover(pm, 0, err) == -1)
		return -1;
	if (pm->up_state != PS_FOUND)
		return 2;	/* only NAT-PMP: the epoch tells instead */
	rc = upnp_get_entry(pm, spec->proto, spec->ext, m, err);
	if (rc == 1 && (!m->this_host || m->int_port != spec->in))
		return 3;
	return rc;
}
