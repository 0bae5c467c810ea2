/*
 * portmap's UPnP side: each miniupnpc call runs on a thread (job.h) with a
 * hard deadline, and what the answers say is turned into portmap_info and
 * pm_errors.  The helpers NAT-PMP's error paths use to name a port's holder
 * live here too, since they ask UPnP.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "portmap_impl.h"
#include "util.h"

/* How long an error path may wait for UPnP just to name a port's holder. */
#define HOLDER_LOOKUP_MS	1500

void
portmap_upnp_unref(struct upnp_sess *s)
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
		/*
		 * The IGD an earlier session found, if it still answers
		 * within half the time; else it moved, and is discovered
		 * afresh in the time left.
		 */
		if (c->resume && upnp_resume(igd, (mono_ms() + c->deadline) / 2,
		    c->want_status, c->ext_ip, &c->connected, c->status,
		    &c->err) == 0) {
			c->rc = 0;
			break;
		}
		if (c->resume)
			log_debug("upnp: the IGD found before no longer "
			    "answers (%s); looking for it again", c->err.msg);
		upnp_igd_free(igd);
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
	portmap_upnp_unref(c->sess);
	free(c);
}

struct upnp_call *
portmap_upnp_call_new(struct portmap *pm, enum upnp_op op)
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
int
portmap_upnp_run(struct portmap *pm, struct upnp_call *c, struct upnp_call *out,
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
		pm->upnp_broke = true;
		pmerr_set(err, PME_TIMEOUT, 0, "the router's UPnP service did "
		    "not answer within %d ms", pm->timeout_ms + 2000);
		return -1;
	}
	*out = *c;
	out->list = c->list;
	c->list = NULL;
	if (c->rc == -1)
		*err = c->err;
	/* No UPnP error code: no answer at all, or not a UPnP one. */
	if (c->rc == -1 && c->err.router_code <= 0)
		pm->upnp_broke = true;
	job_release(j);
	return out->rc;
}

/*
 * A router's word on its external address.  An empty answer or 0.0.0.0 means
 * it has none (ip is emptied); an address no router's WAN can have (not an
 * address at all, loopback, multicast, "this network") means the router
 * misbehaves, and nothing it says is used: -1 with err set.
 */
int
portmap_check_external(char ip[16], const char *via, struct pm_error *err)
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

void
portmap_upnp_discovered(struct portmap *pm)
{
	struct upnp_call *c = pm->disc_call;
	struct portmap_info *in = &pm->info;

	if (c->rc == 0 && portmap_check_external(c->ext_ip, "UPnP "
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

int
portmap_upnp_start(struct portmap *pm, int64_t deadline, int want_status)
{
	struct upnp_call *c;

	if ((c = portmap_upnp_call_new(pm, UOP_DISCOVER)) == NULL)
		return -1;
	c->deadline = deadline;
	/* GetStatusInfo costs a round trip that only `ip` needs. */
	c->want_status = want_status;
	c->resume = portmap_memo_resume(pm, &c->sess->igd);
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
void
portmap_upnp_wait(struct portmap *pm, int64_t deadline)
{
	if (pm->up_state != PS_PENDING)
		return;
	if (job_wait(pm->disc_job, deadline) == 0)
		portmap_upnp_discovered(pm);
}

/*
 * GetSpecificPortMappingEntry through a job: 1 with *m, 0 none, -1 error.
 */
int
portmap_upnp_get_entry(struct portmap *pm, enum pm_proto proto, uint16_t ext,
    struct pm_mapping *m, struct pm_error *err)
{
	struct upnp_call *c, out;
	int rc;

	if ((c = portmap_upnp_call_new(pm, UOP_GET)) == NULL) {
		pmerr_set(err, PME_INTERNAL, 0, "out of memory");
		return -1;
	}
	c->proto = proto;
	c->ext = ext;
	if ((rc = portmap_upnp_run(pm, c, &out, err)) == 1)
		*m = out.m;
	return rc;
}

/*
 * Asks UPnP who holds ext/proto, to name that host in a conflict.  Returns 1
 * with *m, 0 when unknown.
 */
int
portmap_lookup_holder(struct portmap *pm, enum pm_proto proto, uint16_t ext,
    struct pm_mapping *m)
{
	struct pm_error e;

	/* Even with --via natpmp: a read-only question for a better answer. */
	if (pm->up_state == PS_OFF)
		portmap_upnp_start(pm, mono_ms() + HOLDER_LOOKUP_MS, 0);
	portmap_upnp_wait(pm, mono_ms() + HOLDER_LOOKUP_MS);
	if (pm->up_state != PS_FOUND)
		return 0;
	return portmap_upnp_get_entry(pm, proto, ext, m, &e) == 1;
}

void
portmap_conflict(struct portmap *pm, const struct portspec *spec, int router_code,
    const char *extra, struct pm_error *err)
{
	struct pm_mapping m;
	int known = portmap_lookup_holder(pm, spec->proto, spec->ext, &m);

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

/* The UPnP errors routers answer a lease they will not grant with. */
static bool
lease_refused(int code)
{
	return code == 725 || code == 402 || code == 606;
}

int
portmap_upnp_open(struct portmap *pm, const struct portspec *spec, uint32_t lease,
    const char *desc, struct portmap_open_result *res, struct pm_error *err)
{
	struct upnp_call *c, out;
	int rc, refused = 0;

	for (;;) {
		if ((c = portmap_upnp_call_new(pm, UOP_ADD)) == NULL) {
			pmerr_set(err, PME_INTERNAL, 0, "out of memory");
			return -1;
		}
		c->proto = spec->proto;
		c->ext = spec->ext;
		c->in = spec->in;
		c->lease = lease;
		str_copy(c->desc, desc, sizeof(c->desc));
		rc = portmap_upnp_run(pm, c, &out, err);
		if (rc == 0)
			break;
		if (err->code == PME_CONFLICT || (err->router_code == 606 &&
		    portmap_lookup_holder(pm, spec->proto, spec->ext, &out.m) &&
		    !out.m.this_host)) {
			char extra[40];

			snprintf(extra, sizeof(extra), " (UPnP error %d)",
			    err->router_code);
			portmap_conflict(pm, spec, err->router_code, extra, err);
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
	rc = portmap_upnp_get_entry(pm, spec->proto, spec->ext, &out.m, err);
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
