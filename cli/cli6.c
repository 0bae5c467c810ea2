/*
 * IPv6 for open, close, ip and list: pinholes through portmap6, and what
 * closes them (a PCP nonce, a UPnP UniqueID) kept in the runtime directory
 * between runs (mapstore).  The subcommands' files call these for -6, and
 * for IPv6 beside IPv4 when neither -4 nor -6 is given.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli6.h"
#include "log.h"
#include "mapstore.h"
#include "portmap6.h"
#include "util.h"

int
cli6_family_opt(int c, const char *arg, struct cli_family *f,
    struct pm_error *err)
{
	switch (c) {
	case '4':
	case '6':
		if (f->family != 0 && f->family != c - '0') {
			pmerr_set(err, PME_USAGE, 0, "-4 and -6 do not go "
			    "together: without either, both families are "
			    "tried");
			return -1;
		}
		f->family = c - '0';
		return 1;
	case 'A':
		f->address = arg;
		return 1;
	}
	return 0;
}

int
cli6_check(const struct cli_family *f, struct pm_error *err)
{
	if (f->address != NULL && f->family == 4) {
		pmerr_set(err, PME_USAGE, 0, "--address chooses the IPv6 "
		    "address to open; it does not go with -4");
		return -1;
	}
	return 0;
}

/*
 * The IPv6 side, when it is to be tried: always with -6, never with -4,
 * and without either only when this host has a stable global address and
 * an IPv6 default route (then *pm is NULL and 0 is returned).
 */
static int
pm6_new(const struct cli_opts *o, const struct cli_family *f,
    struct portmap6 **pm, struct pm_error *err)
{
	*pm = NULL;
	if (f->family == 4)
		return 0;
	/* NAT-PMP is IPv4's alone (RFC 6886); PCP is its IPv6 successor. */
	if (o->via == PM_NATPMP && f->family == 0)
		return 0;
	if (o->via == PM_NATPMP) {
		pmerr_set(err, PME_USAGE, 0, "NAT-PMP has no IPv6: use --via "
		    "auto, pcp or upnp with -6");
		return -1;
	}
	if ((*pm = portmap6_new(o->via, f->address, o->timeout_ms,
	    err)) != NULL)
		return 0;
	if (f->family == 0 && f->address == NULL && err->code == PME_NO_IPV6)
		return 0;
	return -1;
}

static cJSON *
error_json(int family, const struct pm_error *err)
{
	cJSON *obj = cli_error_json(err);

	cJSON_AddNumberToObject(obj, "family", family);
	return obj;
}

/* Keeps what closes the pinhole; a failure costs only that. */
static void
remember(const struct portmap6_result *res)
{
	char dir[256], err[320];

	if (mapstore_dir(dir, sizeof(dir), err, sizeof(err)) == -1 ||
	    mapstore_put(dir, &res->id, err, sizeof(err)) == -1)
		fprintf(stderr, "portkeeper: warning: cannot record the "
		    "pinhole of port %u, so close -6 will not find it (it "
		    "ends with its lease): %s\n", res->id.port, err);
}

/* The record of this host's pinhole of port/proto that via may close. */
static int
recorded(const struct cli_opts *o, const char *addr, enum pm_proto proto,
    uint16_t port, struct mapstore_entry *e, struct pm_error *err)
{
	static const enum mapstore_kind kinds[] = { MS_PCP, MS_UPNP_PINHOLE };
	char dir[256], why[320];
	size_t i;
	int r;

	if (mapstore_dir(dir, sizeof(dir), why, sizeof(why)) == -1) {
		pmerr_set(err, PME_INTERNAL, 0, "cannot read portkeeper's "
		    "record of pinholes: %s", why);
		return -1;
	}
	for (i = 0; i < nitems(kinds); i++) {
		if ((o->via == PM_PCP && kinds[i] != MS_PCP) ||
		    (o->via == PM_UPNP && kinds[i] != MS_UPNP_PINHOLE))
			continue;
		r = mapstore_get(dir, 6, proto, addr, port, kinds[i], e, why,
		    sizeof(why));
		if (r == -1) {
			pmerr_set(err, PME_INTERNAL, 0, "cannot read "
			    "portkeeper's record of pinholes: %s", why);
			return -1;
		}
		if (r == 1)
			return 1;
	}
	return 0;
}

/*
 * A pinhole portkeeper opened before for this port: a PCP one is closed
 * before it is opened again, rather than renewed by a second request
 * (miniupnpd before 2.3.6 refuses its owner's delete of a renewed PCP
 * pinhole, so close could not remove it); a UPnP one is renewed with
 * UpdatePinhole (adding it again corrupts its lease on miniupnpd before
 * 2.3.3).  Returns 1 when *res is the renewed pinhole, else 0.
 */
static int
reuse_kept(const struct cli_opts *o, struct portmap6 *pm,
    const struct portspec *spec, uint32_t lease, struct portmap6_result *res)
{
	struct mapstore_entry e;
	struct pm_error err;
	enum pm_method method;
	bool removed;

	if (recorded(o, portmap6_netinfo(pm)->addr_str, spec->proto, spec->in,
	    &e, &err) != 1)
		return 0;
	if (e.kind == MS_UPNP_PINHOLE) {
		if (portmap6_renew(pm, &e, lease, res, &err) != 1)
			return 0;
		snprintf(res->note, sizeof(res->note), "renewed the pinhole "
		    "portkeeper opened before (UpdatePinhole, UniqueID %u)",
		    e.unique_id);
		return 1;
	}
	if (portmap6_close(pm, &e, &removed, &method, &err) == -1)
		log_debug("the pinhole kept for port %u: %s", spec->in,
		    err.msg);
	return 0;
}

int
cli6_open(const struct cli_opts *o, const struct cli_family *f,
    const struct portspec *spec, uint32_t lease, cJSON **out,
    struct pm_error *err)
{
	struct portmap6 *pm;
	struct portmap6_result res;
	const struct netinfo6 *ni;
	cJSON *obj;

	*out = NULL;
	if (pm6_new(o, f, &pm, err) == -1) {
		*out = error_json(6, err);
		return -1;
	}
	if (pm == NULL)
		return 0;
	ni = portmap6_netinfo(pm);
	if (reuse_kept(o, pm, spec, lease, &res) == 0 &&
	    portmap6_open(pm, spec->proto, spec->in, lease, &res, err) == -1) {
		*out = error_json(6, err);
		portmap6_free(pm);
		return -1;
	}
	remember(&res);
	obj = cJSON_CreateObject();
	cJSON_AddTrueToObject(obj, "ok");
	cJSON_AddNumberToObject(obj, "family", 6);
	cJSON_AddStringToObject(obj, "method", portmap_method_str(res.method));
	cJSON_AddStringToObject(obj, "protocol", portspec_proto_str(spec->proto));
	cJSON_AddStringToObject(obj, "internal_ip", ni->addr_str);
	cJSON_AddNumberToObject(obj, "internal_port", spec->in);
	cJSON_AddStringToObject(obj, "external_ip", ni->addr_str);
	cJSON_AddNumberToObject(obj, "external_port", spec->in);
	cJSON_AddNumberToObject(obj, "lease", res.lease);
	if (res.note[0] != '\0')
		cJSON_AddStringToObject(obj, "note", res.note);
	if (!o->json) {
		printf("opened [%s]:%u/%s to the internet via %s, lease %u s\n",
		    ni->addr_str, spec->in, portspec_proto_str(spec->proto),
		    portmap_method_name(res.method), res.lease);
		if (res.note[0] != '\0')
			fprintf(stderr, "portkeeper: note: %s\n", res.note);
	}
	*out = obj;
	portmap6_free(pm);
	return 0;
}

static void
forget(const struct mapstore_entry *e)
{
	char dir[256], why[320];

	if (mapstore_dir(dir, sizeof(dir), why, sizeof(why)) == -1 ||
	    mapstore_del(dir, e->family, e->proto, e->addr, e->port, e->kind,
	    why, sizeof(why)) == -1)
		fprintf(stderr, "portkeeper: warning: %s\n", why);
}

int
cli6_close(const struct cli_opts *o, const struct cli_family *f,
    const struct portspec *spec, cJSON **out, struct pm_error *err)
{
	struct portmap6 *pm;
	struct mapstore_entry e;
	enum pm_method method = o->via;
	bool removed = false;
	const char *addr;
	int r;

	*out = NULL;
	if (pm6_new(o, f, &pm, err) == -1) {
		*out = error_json(6, err);
		return -1;
	}
	if (pm == NULL)
		return 0;
	addr = portmap6_netinfo(pm)->addr_str;
	if ((r = recorded(o, addr, spec->proto, spec->in, &e, err)) == 1 &&
	    portmap6_close(pm, &e, &removed, &method, err) == 0)
		forget(&e);
	else if (r != 0) {
		*out = error_json(6, err);
		portmap6_free(pm);
		return -1;
	}
	*out = cJSON_CreateObject();
	cJSON_AddTrueToObject(*out, "ok");
	cJSON_AddNumberToObject(*out, "family", 6);
	cJSON_AddStringToObject(*out, "method", portmap_method_str(method));
	cJSON_AddStringToObject(*out, "protocol",
	    portspec_proto_str(spec->proto));
	cJSON_AddStringToObject(*out, "internal_ip", addr);
	cJSON_AddNumberToObject(*out, "external_port", spec->in);
	cJSON_AddBoolToObject(*out, "removed", removed);
	if (!o->json && removed)
		printf("closed [%s]:%u/%s via %s\n", addr, spec->in,
		    portspec_proto_str(spec->proto),
		    portmap_method_name(method));
	else if (!o->json)
		printf("[%s]:%u/%s has no pinhole portkeeper opened; nothing "
		    "to close\n", addr, spec->in,
		    portspec_proto_str(spec->proto));
	portmap6_free(pm);
	return 0;
}

int
cli6_ip(const struct cli_opts *o, const struct cli_family *f, bool get,
    cJSON **out, struct pm_error *err)
{
	struct portmap6 *pm;
	const struct portmap6_info *in;
	const struct netinfo6 *ni;
	cJSON *obj, *p, *u;

	*out = NULL;
	if (pm6_new(o, f, &pm, err) == -1)
		return -1;
	if (pm == NULL) {
		*out = cJSON_CreateNull();
		return 0;
	}
	ni = portmap6_netinfo(pm);
	if (get) {
		printf("%s\n", ni->addr_str);
		portmap6_free(pm);
		return 0;
	}
	(void)portmap6_discover(pm, err);
	in = portmap6_info(pm);
	obj = cJSON_CreateObject();
	cJSON_AddStringToObject(obj, "address", ni->addr_str);
	cJSON_AddStringToObject(obj, "kind", ni->kind);
	cJSON_AddStringToObject(obj, "interface", ni->ifname);
	cJSON_AddStringToObject(obj, "gateway", ni->gateway_str);
	p = cJSON_AddObjectToObject(obj, "pcp");
	cJSON_AddBoolToObject(p, "found", in->pcp_found);
	if (in->pcp_found)
		cJSON_AddNumberToObject(p, "epoch", in->pcp_epoch);
	else
		cJSON_AddNullToObject(p, "epoch");
	u = cJSON_AddObjectToObject(obj, "upnp");
	cJSON_AddBoolToObject(u, "found", in->upnp_found);
	cJSON_AddBoolToObject(u, "firewall_enabled", in->upnp_status_known &&
	    in->firewall_enabled);
	cJSON_AddBoolToObject(u, "inbound_pinhole_allowed",
	    in->upnp_status_known && in->inbound_pinhole_allowed);
	if (!o->json) {
		printf("ipv6      %s (%s, on %s)\n", ni->addr_str, ni->kind,
		    ni->ifname);
		printf("gateway6  %s\n", ni->gateway_str);
		if (in->pcp_found)
			printf("pcp       found, epoch %u\n", in->pcp_epoch);
		else
			printf("pcp       not found\n");
		printf("upnp6     %s\n", !in->upnp_found ? "no IPv6 firewall "
		    "service" : !in->upnp_status_known ? "IPv6 firewall "
		    "service found" : !in->firewall_enabled ? "IPv6 firewall "
		    "off" : in->inbound_pinhole_allowed ? "IPv6 firewall, "
		    "pinholes allowed" : "IPv6 firewall, pinholes not "
		    "allowed");
	}
	*out = obj;
	portmap6_free(pm);
	return 0;
}

int
cli6_finish(const struct cli_opts *o, int family, int rc4, cJSON *obj4,
    const struct pm_error *err4, int rc6, cJSON *obj6,
    const struct pm_error *err6)
{
	int rc;

	if (family == 6) {
		if (rc6 == -1) {
			cJSON_Delete(obj6);
			return cli_fail(o, err6);
		}
		return o->json ? cli_print_json(obj6) : (cJSON_Delete(obj6), 0);
	}
	if (rc4 == 0 && (obj6 == NULL || rc6 == 0))
		rc = 0;
	else if (rc4 == -1 && err4->code == PME_NO_PUBLIC_ADDRESS &&
	    obj6 != NULL && rc6 == 0)
		rc = 0;
	else
		rc = pmerr_exit_status(rc4 == -1 ? err4->code : err6->code);
	if (rc4 == -1) {
		obj4 = cli_error_json(err4);
		cJSON_AddNumberToObject(obj4, "family", 4);
	}
	if (obj6 != NULL)
		cJSON_AddItemToObject(obj4, "ipv6", obj6);
	if (o->json)
		cli_print_json(obj4);
	else {
		if (rc4 == -1)
			fprintf(stderr, "portkeeper: %s\n", err4->msg);
		if (rc6 == -1)
			fprintf(stderr, "portkeeper: IPv6: %s\n", err6->msg);
		cJSON_Delete(obj4);
	}
	return rc;
}

/* The kept pinholes of addr, into the JSON array arr, and printed. */
static int
list_kept(const struct cli_opts *o, const char *addr, cJSON *arr,
    struct pm_error *err)
{
	struct mapstore_entry *es;
	char dir[256], why[320];
	time_t now = time(NULL);
	int i, n, shown = 0;

	if ((es = calloc(MAPSTORE_MAX, sizeof(*es))) == NULL) {
		pmerr_set(err, PME_INTERNAL, 0, "out of memory");
		return -1;
	}
	if (mapstore_dir(dir, sizeof(dir), why, sizeof(why)) == -1 ||
	    (n = mapstore_list(dir, es, MAPSTORE_MAX, why, sizeof(why))) == -1) {
		pmerr_set(err, PME_INTERNAL, 0, "cannot read portkeeper's "
		    "record of pinholes: %s", why);
		free(es);
		return -1;
	}
	for (i = 0; i < n; i++) {
		cJSON *m;
		long left;

		if (es[i].family != 6 || strcmp(es[i].addr, addr) != 0)
			continue;
		left = es[i].expires > now ? (long)(es[i].expires - now) : 0;
		m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "protocol",
		    portspec_proto_str(es[i].proto));
		cJSON_AddNumberToObject(m, "external_port", es[i].ext_port);
		cJSON_AddStringToObject(m, "internal_ip", es[i].addr);
		cJSON_AddNumberToObject(m, "internal_port", es[i].port);
		cJSON_AddStringToObject(m, "method", es[i].kind == MS_PCP ?
		    "pcp" : "upnp");
		cJSON_AddNumberToObject(m, "lease", (double)left);
		cJSON_AddTrueToObject(m, "this_host");
		cJSON_AddItemToArray(arr, m);
		if (!o->json)
			printf("[%s]:%u/%s via %s, %ld s left\n", es[i].addr,
			    es[i].port, portspec_proto_str(es[i].proto),
			    es[i].kind == MS_PCP ? "PCP" : "UPnP", left);
		shown++;
	}
	free(es);
	return shown;
}

int
cli6_list(const struct cli_opts *o, const struct cli_family *f, cJSON **out,
    struct pm_error *err)
{
	struct portmap6 *pm;
	const char *addr;
	cJSON *obj, *arr;
	int n;

	*out = NULL;
	if (pm6_new(o, f, &pm, err) == -1)
		return -1;
	if (pm == NULL)
		return 0;
	addr = portmap6_netinfo(pm)->addr_str;
	obj = cJSON_CreateObject();
	cJSON_AddTrueToObject(obj, "ok");
	cJSON_AddNumberToObject(obj, "family", 6);
	cJSON_AddStringToObject(obj, "internal_ip", addr);
	cJSON_AddStringToObject(obj, "note", "no protocol lists a router's "
	    "pinholes: these are the ones portkeeper opened from this host");
	arr = cJSON_AddArrayToObject(obj, "mappings");
	if (!o->json)
		printf("IPv6 pinholes portkeeper opened for %s (no protocol "
		    "lists a router's pinholes):\n", addr);
	if ((n = list_kept(o, addr, arr, err)) == -1) {
		cJSON_Delete(obj);
		portmap6_free(pm);
		return -1;
	}
	if (n == 0 && !o->json)
		printf("none\n");
	*out = obj;
	portmap6_free(pm);
	return 0;
}
