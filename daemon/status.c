/*
 * What portkeeperd shows of itself: the status document, the JSON of a
 * forward and of an event, and the metrics.  The document is the contract
 * of `portkeeper status --json` (docs/api.md): its bytes must not change
 * without the contract.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "router.h"
#include "status.h"
#include "util.h"
#include "webapi.h"

void
status_init(struct status *s, const struct forwards *fw,
    const struct state *st)
{
	memset(s, 0, offsetof(struct status, ev));
	s->fw = fw;
	s->st = st;
	eventlog_init(&s->ev);
}

void
status_free(struct status *s)
{
	free(s->cache);
	s->cache = NULL;
}

void
status_set_info(struct status *s, const struct portmap_info *in)
{
	unsigned keep = 0;

	if (in->upnp_location[0] != '\0' &&
	    strcmp(s->info.upnp_location, in->upnp_location) == 0)
		keep = s->info.quirks & PMQ_PERMANENT_ONLY;
	s->info = *in;
	s->info.quirks |= keep;
	s->info_ok = true;
}

static const char *
status_fwd_state_str(enum fwd_state s)
{
	switch (s) {
	case FWD_ACTIVE:	return "active";
	case FWD_FAILED:	return "failed";
	case FWD_PENDING:	break;
	}
	return "pending";
}

static void
status_add_str_or_null(cJSON *o, const char *k, const char *v)
{
	if (v != NULL && v[0] != '\0')
		cJSON_AddStringToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

cJSON *
status_forward_json(const struct fwd *f, int64_t now)
{
	cJSON *x = cJSON_CreateObject();

	cJSON_AddStringToObject(x, "name", f->cfg.name);
	cJSON_AddStringToObject(x, "protocol", portspec_proto_str(f->cfg.proto));
	cJSON_AddNumberToObject(x, "external_port", f->cfg.ext);
	cJSON_AddNumberToObject(x, "internal_port", f->cfg.in);
	cJSON_AddStringToObject(x, "family", config_family_str(f->cfg.family));
	cJSON_AddStringToObject(x, "source", f->web ? "web" : "config");
	status_add_str_or_null(x, "method", f->made ?
	    portmap_method_str(f->method) : NULL);
	cJSON_AddStringToObject(x, "state", status_fwd_state_str(f->state));
	/* Granted with lease 0: it does not expire. */
	cJSON_AddBoolToObject(x, "permanent", f->made &&
	    f->state == FWD_ACTIVE && f->lease == 0);
	if (f->made && f->expires_at != 0)
		cJSON_AddNumberToObject(x, "expires_in",
		    (double)((f->expires_at - now) > 0 ?
		    (f->expires_at - now) / 1000 : 0));
	else
		cJSON_AddNullToObject(x, "expires_in");
	if (f->last_refresh != 0)
		cJSON_AddNumberToObject(x, "last_refresh",
		    (double)f->last_refresh);
	else
		cJSON_AddNullToObject(x, "last_refresh");
	status_add_str_or_null(x, "error", f->error);
	return x;
}

cJSON *
status_event_json(const struct event *e)
{
	cJSON *x = cJSON_CreateObject();

	cJSON_AddNumberToObject(x, "seq", (double)e->seq);
	cJSON_AddNumberToObject(x, "time", (double)e->time);
	cJSON_AddStringToObject(x, "event", eventlog_type_str(e->type));
	status_add_str_or_null(x, "forward", e->forward);
	cJSON_AddStringToObject(x, "detail", e->detail);
	return x;
}

/* The "gateway" object: the router as the last round found it. */
static void
status_gateway_json(const struct status *s, cJSON *o)
{
	cJSON *g, *x;

	g = cJSON_AddObjectToObject(o, "gateway");
	status_add_str_or_null(g, "address", s->ni_ok ? s->ni.gateway_str :
	    NULL);
	status_add_str_or_null(g, "interface", s->ni_ok ? s->ni.ifname : NULL);
	status_add_str_or_null(g, "method", s->info_ok &&
	    s->info.method != PM_AUTO ? portmap_method_str(s->info.method) :
	    NULL);
	status_add_str_or_null(g, "error", s->gw_error);
	x = cJSON_AddObjectToObject(g, "upnp");
	cJSON_AddBoolToObject(x, "found", s->info_ok && s->info.upnp_found);
	status_add_str_or_null(x, "control_url", s->info_ok &&
	    s->info.upnp_found ? s->info.control_url : NULL);
	cJSON_AddBoolToObject(x, "connected", s->info_ok &&
	    s->info.upnp_connected);
	x = cJSON_AddObjectToObject(g, "natpmp");
	cJSON_AddBoolToObject(x, "found", s->info_ok && s->info.natpmp_found);
	if (s->info_ok && s->info.natpmp_found)
		cJSON_AddNumberToObject(x, "epoch", s->info.epoch);
	else
		cJSON_AddNullToObject(x, "epoch");
	if (s->info_time != 0)
		cJSON_AddNumberToObject(g, "last_seen", (double)s->info_time);
	else
		cJSON_AddNullToObject(g, "last_seen");
}

void
status_forward_ipv6(const struct status *s, cJSON *x, const char *name,
    int64_t now)
{
	cJSON *p = s != NULL && s->ph != NULL ?
	    pinholes_forward_json(s->ph, name, now) :
	    NULL;

	if (p != NULL)
		cJSON_AddItemToObject(x, "ipv6", p);
	else
		cJSON_AddNullToObject(x, "ipv6");
}

/* The "ipv6" object: this host's address for pinholes, and its history. */
static void
status_ipv6_json(const struct status *s, cJSON *o)
{
	cJSON *x = cJSON_AddObjectToObject(o, "ipv6"), *a, *h;
	size_t i;

	status_add_str_or_null(x, "address", s->ph != NULL ?
	    pinholes_address(s->ph) : NULL);
	status_add_str_or_null(x, "kind", s->ph != NULL &&
	    s->ph->addr[0] != '\0' ? s->ph->kind : NULL);
	cJSON_AddBoolToObject(x, "enabled", s->ph != NULL &&
	    pinholes_enabled(s->ph));
	a = cJSON_AddArrayToObject(x, "history");
	for (i = 0; i < s->st->nhist6; i++) {
		h = cJSON_CreateObject();
		cJSON_AddStringToObject(h, "ip", s->st->hist6[i].ip);
		cJSON_AddNumberToObject(h, "first_seen",
		    (double)s->st->hist6[i].first_seen);
		cJSON_AddNumberToObject(h, "last_seen",
		    (double)s->st->hist6[i].last_seen);
		cJSON_AddItemToArray(a, h);
	}
}

char *
status_json(const struct status *s)
{
	cJSON *o = cJSON_CreateObject(), *a, *x;
	const struct state *st = s->st;
	int64_t now = mono_ms();
	const char *ext = st->nhist > 0 ? st->hist[st->nhist - 1].ip : NULL;
	size_t i;
	char *j;

	status_add_str_or_null(o, "internal_ip", s->ni_ok ?
	    s->ni.internal_str : NULL);
	status_add_str_or_null(o, "external_ip", s->info_ok ?
	    s->info.external_ip : ext);
	a = cJSON_AddArrayToObject(o, "external_ip_history");
	for (i = 0; i < st->nhist; i++) {
		x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "ip", st->hist[i].ip);
		cJSON_AddNumberToObject(x, "first_seen",
		    (double)st->hist[i].first_seen);
		cJSON_AddNumberToObject(x, "last_seen",
		    (double)st->hist[i].last_seen);
		cJSON_AddItemToArray(a, x);
	}
	status_gateway_json(s, o);
	cJSON_AddItemToObject(o, "router", router_json(s->info_ok ? &s->info :
	    NULL));
	status_ipv6_json(s, o);
	a = cJSON_AddArrayToObject(o, "forwards");
	for (i = 0; i < s->fw->nfwd; i++) {
		x = status_forward_json(&s->fw->fwd[i], now);
		status_forward_ipv6(s, x, s->fw->fwd[i].cfg.name, now);
		cJSON_AddItemToArray(a, x);
	}
	a = cJSON_AddArrayToObject(o, "events");
	for (i = 0; i < eventlog_count(&s->ev); i++)
		cJSON_AddItemToArray(a,
		    status_event_json(eventlog_get(&s->ev, i)));
	j = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return j;
}

const char *
status_json_cached(struct status *s)
{
	int64_t sec = mono_ms() / 1000;
	char *j;

	if (s->cache != NULL && s->cache_gen == s->gen &&
	    s->cache_sec == sec)
		return s->cache;
	if ((j = status_json(s)) == NULL)
		return NULL;
	free(s->cache);
	s->cache = j;
	s->cache_gen = s->gen;
	s->cache_sec = sec;
	return j;
}

/* One unlabelled metric in Prometheus' text format. */
static void
status_metric(FILE *fp, const char *name, const char *type,
    const char *help, unsigned long value)
{
	fprintf(fp, "# HELP portkeeper_%s %s\n# TYPE portkeeper_%s %s\n"
	    "portkeeper_%s %lu\n", name, help, name, type, name, value);
}

/* The metrics of each forward, labelled with its name. */
static void
status_metrics_forwards(const struct forwards *fw, FILE *fp)
{
	int64_t now = mono_ms(), wall = (int64_t)time(NULL);
	char lbl[CONFIG_NAME_MAX * 2];
	const struct fwd *f;
	size_t i;

	fprintf(fp, "# HELP portkeeper_forward_up Whether a forward is active."
	    "\n# TYPE portkeeper_forward_up gauge\n");
	for (i = 0; i < fw->nfwd; i++)
		fprintf(fp, "portkeeper_forward_up{forward=\"%s\",protocol="
		    "\"%s\",external_port=\"%u\"} %d\n",
		    webapi_label(lbl, sizeof(lbl), fw->fwd[i].cfg.name),
		    portspec_proto_str(fw->fwd[i].cfg.proto),
		    fw->fwd[i].cfg.ext, fw->fwd[i].state == FWD_ACTIVE);
	fprintf(fp, "# HELP portkeeper_forward_last_refresh_age_seconds "
	    "Seconds since a forward's lease was last made or renewed.\n"
	    "# TYPE portkeeper_forward_last_refresh_age_seconds gauge\n");
	for (i = 0; i < fw->nfwd; i++)
		if ((f = &fw->fwd[i])->last_refresh != 0)
			fprintf(fp, "portkeeper_forward_last_refresh_age_seconds"
			    "{forward=\"%s\"} %lld\n",
			    webapi_label(lbl, sizeof(lbl), f->cfg.name),
			    (long long)(wall - f->last_refresh));
	fprintf(fp, "# HELP portkeeper_forward_lease_remaining_seconds "
	    "Seconds until a forward's lease ends.\n"
	    "# TYPE portkeeper_forward_lease_remaining_seconds gauge\n");
	for (i = 0; i < fw->nfwd; i++)
		if ((f = &fw->fwd[i])->made && f->expires_at != 0)
			fprintf(fp, "portkeeper_forward_lease_remaining_seconds"
			    "{forward=\"%s\"} %lld\n",
			    webapi_label(lbl, sizeof(lbl), f->cfg.name),
			    (long long)((f->expires_at - now) > 0 ?
			    (f->expires_at - now) / 1000 : 0));
}

/*
 * Each forward by family: 4 for its IPv4 forward, 6 for its pinhole.  A
 * series of its own, so that the labels of portkeeper_forward_up stay.
 */
static void
status_metrics_family(const struct status *s, FILE *fp)
{
	const struct fwd *f;
	const struct pinhole *h;
	char lbl[CONFIG_NAME_MAX * 2];
	size_t i;

	fprintf(fp, "# HELP portkeeper_forward_family_up Whether a forward is "
	    "open over a family: 4 its forward, 6 its pinhole.\n"
	    "# TYPE portkeeper_forward_family_up gauge\n");
	for (i = 0; i < s->fw->nfwd; i++) {
		f = &s->fw->fwd[i];
		webapi_label(lbl, sizeof(lbl), f->cfg.name);
		if (config_forward_v4(&f->cfg))
			fprintf(fp, "portkeeper_forward_family_up{forward=\"%s\","
			    "family=\"4\"} %d\n", lbl, f->state == FWD_ACTIVE);
		if (s->ph != NULL &&
		    (h = pinholes_find(s->ph, f->cfg.name)) != NULL)
			fprintf(fp, "portkeeper_forward_family_up{forward=\"%s\","
			    "family=\"6\"} %d\n", lbl, h->state == PH_ACTIVE);
	}
}

char *
status_metrics(const struct status *s, size_t *len)
{
	const struct forwards *fw = s->fw;
	size_t i, nstate[3] = { 0, 0, 0 };
	char *buf = NULL;
	FILE *fp;

	*len = 0;
	if ((fp = open_memstream(&buf, len)) == NULL)
		return NULL;
	for (i = 0; i < fw->nfwd; i++)
		nstate[fw->fwd[i].state]++;
	fprintf(fp, "# HELP portkeeper_forwards Forwards by state.\n"
	    "# TYPE portkeeper_forwards gauge\n"
	    "portkeeper_forwards{state=\"active\"} %zu\n"
	    "portkeeper_forwards{state=\"pending\"} %zu\n"
	    "portkeeper_forwards{state=\"failed\"} %zu\n",
	    nstate[FWD_ACTIVE], nstate[FWD_PENDING], nstate[FWD_FAILED]);
	status_metric(fp, "refreshes_total", "counter", "Leases made or "
	    "renewed on the router.", s->nrefreshes);
	status_metric(fp, "failures_total", "counter", "Attempts to make or "
	    "renew a forward that failed.", s->nfailures);
	status_metric(fp, "external_ip_changes_total", "counter", "Changes of "
	    "the router's external address seen.", s->nextchanges);
	status_metric(fp, "rounds_total", "counter", "Rounds of router work.",
	    s->nrounds);
	status_metric(fp, "gateway_up", "gauge", "Whether the router answered "
	    "the last probe.", s->info_ok && s->gw_error[0] == '\0');
	status_metrics_forwards(fw, fp);
	status_metrics_family(s, fp);
	if (fclose(fp) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
