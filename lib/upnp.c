#include <arpa/inet.h>
#include <miniupnpc/upnpreplyparse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "log.h"
#include "portmap.h"
#include "upnp.h"
#include "upnp_http.h"
#include "upnp_soap.h"
#include "util.h"

/* ---------------------------------------------------------------------------
 * SOAP (UPnP Device Architecture 1.1, section 3.2), on upnp_soap.c.
 */

/*
 * Calls action on the IGD's WANIPConnection (or WANPPPConnection) service.
 * Returns 0 with the answer's values in *pd (ClearNameValueList() them),
 * the UPnP error code (> 0) the router answered with, or -1 with err set.
 */
static int
soap_call(struct upnp_igd *igd, int64_t deadline, const char *action,
    const struct upnp_soap_arg *args, size_t nargs, const char *doing,
    struct NameValueParserData *pd, struct pm_error *err)
{
	struct upnp_soap_req r;

	memset(&r, 0, sizeof(r));
	r.url = igd->urls.controlURL;
	r.stype = igd->data.first.servicetype;
	r.action = action;
	r.args = args;
	r.nargs = nargs;
	r.doing = doing;
	return upnp_soap_call(&r, deadline, pd, err);
}

/* ---------------------------------------------------------------------------
 * The IGD.
 */

/*
 * Makes connection service i of the description the one every call goes
 * to: miniupnpc builds its URLs (URLBase, or the location, section 2.3 of
 * UDA 1.1) from IGDdatas.first.  Returns 0, or -1 with err set when its
 * control URL is not on the gateway.
 */
static int
upnp_select(struct upnp_igd *igd, size_t i, struct pm_error *err)
{
	const struct upnp_desc_service *sv = &igd->desc.svc[i];
	char gw[INET_ADDRSTRLEN], url[110];
	struct in_addr caddr;
	uint16_t cport;

	str_copy(igd->data.first.servicetype, sv->type,
	    sizeof(igd->data.first.servicetype));
	str_copy(igd->data.first.controlurl, sv->control,
	    sizeof(igd->data.first.controlurl));
	str_copy(igd->data.first.scpdurl, sv->scpd,
	    sizeof(igd->data.first.scpdurl));
	str_copy(igd->data.first.eventsuburl, sv->events,
	    sizeof(igd->data.first.eventsuburl));
	upnp_igd_free(igd);
	GetUPNPUrls(&igd->urls, &igd->data, igd->location, 0);
	igd->have_urls = 1;
	igd->chosen = i;
	/*
	 * The description is the router's word; a control URL on another host
	 * would make us send our requests there.
	 */
	if (igd->urls.controlURL == NULL || igd->urls.controlURL[0] == '\0' ||
	    ssdp_url_addr(igd->urls.controlURL, &caddr, &cport) == -1 ||
	    caddr.s_addr != igd->gateway.s_addr) {
		inet_ntop(AF_INET, &igd->gateway, gw, sizeof(gw));
		str_printable(url, sizeof(url), igd->urls.controlURL != NULL ?
		    igd->urls.controlURL : "");
		pmerr_set(err, PME_BAD_REPLY, 0, "the router's UPnP control "
		    "URL \"%s\" is not an http:// URL on the gateway %s; "
		    "refusing to use it", url, gw);
		return -1;
	}
	return 0;
}

int
upnp_describe(struct upnp_igd *igd, struct in_addr gateway,
    struct in_addr local, int64_t deadline, struct pm_error *err)
{
	char gw[INET_ADDRSTRLEN], loc[SSDP_URL_MAX], doing[SSDP_URL_MAX + 64];
	char *buf, *body;
	struct upnp_http_req q;
	size_t len;
	int status;

	memset(igd, 0, sizeof(*igd));
	igd->gateway = gateway;
	igd->local = local;
	inet_ntop(AF_INET, &gateway, gw, sizeof(gw));
	if (ssdp_search(gateway, local, deadline, igd->location, err) == -1)
		return -1;
	log_debug("upnp: IGD description at %s", igd->location);
	str_printable(loc, sizeof(loc), igd->location);
	snprintf(doing, sizeof(doing), "read the router's UPnP description "
	    "%s", loc);
	memset(&q, 0, sizeof(q));
	q.url = igd->location;
	q.method = "GET";
	q.headers = "";
	q.body = NULL;
	q.doing = doing;
	q.answer = "its description";
	if (upnp_http_exchange(&q, deadline, &status, &buf, &body, &len,
	    err) == -1)
		return -1;
	if (status != 200) {
		free(buf);
		pmerr_set(err, PME_BAD_REPLY, 0, "the router at %s announced "
		    "UPnP-IGD but answered HTTP status %d for its description "
		    "%s", gw, status, loc);
		return -1;
	}
	/* parserootdesc for URLBase, upnp_desc_parse for every service. */
	parserootdesc(body, (int)len, &igd->data);
	upnp_desc_parse(body, len, &igd->desc);
	free(buf);
	return 0;
}

int
upnp_discover(struct upnp_igd *igd, struct in_addr gateway,
    struct in_addr local, int64_t deadline, struct pm_error *err)
{
	char loc[SSDP_URL_MAX];
	size_t i;

	if (upnp_describe(igd, gateway, local, deadline, err) == -1)
		return -1;
	if (igd->desc.nsvc == 0) {
		str_printable(loc, sizeof(loc), igd->location);
		pmerr_set(err, PME_BAD_REPLY, 0, "the router's UPnP "
		    "description (%s) has no WANIPConnection or "
		    "WANPPPConnection service: it is garbled, or not an "
		    "Internet gateway's", loc);
		return -1;
	}
	/* The first whose control URL is on the gateway; upnp_choose may move. */
	for (i = 0; i < igd->desc.nsvc; i++)
		if (upnp_select(igd, i, err) == 0)
			return 0;
	return upnp_select(igd, 0, err);
}

/*
 * How good connection service i is for forwarding: connected with a public
 * address beats connected, which beats the rest (a second WAN device of a
 * DSL router is often an unplugged cable modem port, or the reverse).
 */
static int
upnp_score(struct upnp_igd *igd, size_t i, int64_t deadline,
    char ip[16], int *connected, char status[64])
{
	struct pm_error e;
	struct in_addr a;

	ip[0] = '\0';
	status[0] = '\0';
	*connected = 0;
	if (upnp_select(igd, i, &e) == -1)
		return -1;
	if (upnp_status(igd, deadline, connected, status, &e) == -1)
		log_debug("upnp: connection service %zu: %s", i, e.msg);
	if (upnp_external_ip(igd, deadline, ip, &e) == -1) {
		log_debug("upnp: connection service %zu: %s", i, e.msg);
		return *connected;
	}
	return *connected + (*connected &&
	    addr_class_is_public(addr_parse(ip, &a)));
}

/*
 * The selected connection service's external address, and its status with
 * want_status (a status it will not tell is "unknown", not a failure).
 */
static int
upnp_ask_selected(struct upnp_igd *igd, int64_t deadline, int want_status,
    char ip[16], int *connected, char status[64], struct pm_error *err)
{
	if (upnp_external_ip(igd, deadline, ip, err) == -1)
		return -1;
	if (want_status && upnp_status(igd, deadline, connected, status,
	    NULL) == -1)
		str_copy(status, "unknown", 64);
	return 0;
}

int
upnp_choose(struct upnp_igd *igd, int64_t deadline, int want_status,
    char ip[16], int *connected, char status[64], struct pm_error *err)
{
	char bip[16] = "", bstatus[64] = "";
	size_t i, best = 0;
	int sc, bsc = -2, bconn = 0;

	*connected = 0;
	status[0] = '\0';
	if (upnp_desc_is_tr064(igd->data.first.servicetype))
		igd->quirks |= PMQ_TR064_NAMES;
	if (igd->desc.nsvc < 2)
		return upnp_ask_selected(igd, deadline, want_status, ip,
		    connected, status, err);
	igd->quirks |= PMQ_SEVERAL_SERVICES;
	for (i = 0; i < igd->desc.nsvc && mono_ms() < deadline; i++) {
		sc = upnp_score(igd, i, deadline, ip, connected, status);
		log_debug("upnp: connection service %zu (%s): %s, address "
		    "\"%s\", score %d", i, igd->data.first.servicetype, status,
		    ip, sc);
		if (sc > bsc) {
			bsc = sc;
			best = i;
			bconn = *connected;
			str_copy(bip, ip, 16);
			str_copy(bstatus, status, 64);
		}
	}
	if (bsc == -2) {
		pmerr_set(err, PME_TIMEOUT, 0, "the router did not answer "
		    "about its connection services in time");
		return -1;
	}
	if (upnp_select(igd, best, err) == -1)
		return -1;
	igd->quirks &= ~(unsigned)PMQ_TR064_NAMES;
	if (upnp_desc_is_tr064(igd->data.first.servicetype))
		igd->quirks |= PMQ_TR064_NAMES;
	str_copy(ip, bip, 16);
	str_copy(status, bstatus, 64);
	*connected = bconn;
	if (bsc < 0)
		return upnp_external_ip(igd, deadline, ip, err);
	return 0;
}

void
upnp_igd_free(struct upnp_igd *igd)
{
	if (igd->have_urls)
		FreeUPNPUrls(&igd->urls);
	igd->have_urls = 0;
}

void
upnp_igd_keep(struct upnp_igd *dst, const struct upnp_igd *src)
{
	*dst = *src;
	/* The URLs are miniupnpc's allocations: upnp_resume builds new ones. */
	memset(&dst->urls, 0, sizeof(dst->urls));
	dst->have_urls = 0;
}

int
upnp_resume(struct upnp_igd *igd, int64_t deadline, int want_status,
    char ip[16], int *connected, char status[64], struct pm_error *err)
{
	*connected = 0;
	status[0] = '\0';
	if (igd->chosen >= igd->desc.nsvc ||
	    upnp_select(igd, igd->chosen, err) == -1)
		return -1;
	return upnp_ask_selected(igd, deadline, want_status, ip, connected,
	    status, err);
}

int
upnp_external_ip(struct upnp_igd *igd, int64_t deadline, char ip[16],
    struct pm_error *err)
{
	static const char what[] = "ask the router for its external address";
	struct NameValueParserData pd;
	const char *v;
	int rc;

	ip[0] = '\0';
	rc = soap_call(igd, deadline, "GetExternalIPAddress", NULL, 0, what,
	    &pd, err);
	if (rc > 0)
		pmerr_upnp(err, rc, what);
	if (rc != 0)
		return -1;
	if ((v = upnp_soap_value(&pd, "NewExternalIPAddress",
	    "GetExternalIPAddress", what, err)) == NULL) {
		ClearNameValueList(&pd);
		return -1;
	}
	str_copy(ip, v, 16);
	ClearNameValueList(&pd);
	return 0;
}

int
upnp_status(struct upnp_igd *igd, int64_t deadline, int *connected,
    char status[64], struct pm_error *err)
{
	static const char what[] = "ask the router for its connection status";
	struct NameValueParserData pd;
	const char *v;
	int rc;

	status[0] = '\0';
	rc = soap_call(igd, deadline, "GetStatusInfo", NULL, 0, what, &pd,
	    err);
	if (rc > 0)
		pmerr_upnp(err, rc, what);
	if (rc != 0)
		return -1;
	if ((v = upnp_soap_value(&pd, "NewConnectionStatus", "GetStatusInfo",
	    what, err)) == NULL) {
		ClearNameValueList(&pd);
		return -1;
	}
	str_printable(status, 64, v);
	ClearNameValueList(&pd);
	*connected = strcmp(status, "Connected") == 0;
	return 0;
}

int
upnp_add(struct upnp_igd *igd, int64_t deadline, enum pm_proto proto,
    uint16_t ext_port, uint16_t int_port, const char *client,
    const char *desc, uint32_t lease, struct pm_error *err)
{
	char ext[6], in[6], dur[11], what[64];
	struct NameValueParserData pd;
	const struct upnp_soap_arg args[] = {
		{ "NewRemoteHost", "" },
		{ "NewExternalPort", ext },
		{ "NewProtocol", portspec_proto_upnp(proto) },
		{ "NewInternalPort", in },
		{ "NewInternalClient", client },
		{ "NewEnabled", "1" },
		{ "NewPortMappingDescription", desc },
		{ "NewLeaseDuration", dur },
	};
	int rc;

	snprintf(ext, sizeof(ext), "%u", ext_port);
	snprintf(in, sizeof(in), "%u", int_port);
	snprintf(dur, sizeof(dur), "%u", lease);
	snprintf(what, sizeof(what), "forward port %u/%s", ext_port,
	    portspec_proto_str(proto));
	rc = soap_call(igd, deadline, "AddPortMapping", args, nitems(args),
	    what, &pd, err);
	if (rc > 0)
		pmerr_upnp(err, rc, what);
	if (rc != 0)
		return -1;
	ClearNameValueList(&pd);
	return 0;
}

/* Fills m from the strings the router sent; -1 when they make no entry. */
static int
fill_mapping(struct pm_mapping *m, enum pm_proto proto, const char *ext,
    const char *client, const char *in, const char *desc,
    const char *enabled, const char *duration, struct in_addr local)
{
	unsigned long eport, iport, dur = 0;
	struct in_addr a;

	memset(m, 0, sizeof(*m));
	if (parse_uint(ext, 1, 65535, &eport) == -1 ||
	    parse_uint(in, 1, 65535, &iport) == -1 || client[0] == '\0' ||
	    addr_parse(client, &a) == ADDR_INVALID ||
	    (duration[0] != '\0' &&
	    parse_uint(duration, 0, UINT32_MAX, &dur) == -1))
		return -1;
	m->proto = proto;
	m->ext_port = (uint16_t)eport;
	m->int_port = (uint16_t)iport;
	str_copy(m->int_client, client, sizeof(m->int_client));
	/* Another host's words, shown to people: printable only. */
	str_printable(m->desc, sizeof(m->desc), desc);
	m->enabled = strcmp(enabled, "0") != 0;
	m->lease = (uint32_t)dur;
	m->this_host = a.s_addr == local.s_addr;
	return 0;
}

/* A value of an answer, or "" when the router left it out. */
static const char *
value_or_empty(struct NameValueParserData *pd, const char *name)
{
	const char *v = GetValueFromNameValueList(pd, name);

	return v != NULL ? v : "";
}

int
upnp_get(struct upnp_igd *igd, int64_t deadline, enum pm_proto proto,
    uint16_t ext_port, struct pm_mapping *m, struct pm_error *err)
{
	char ext[6], what[80], client[16], in[8];
	struct NameValueParserData pd;
	const struct upnp_soap_arg args[] = {
		{ "NewRemoteHost", "" },
		{ "NewExternalPort", ext },
		{ "NewProtocol", portspec_proto_upnp(proto) },
	};
	int rc;

	snprintf(ext, sizeof(ext), "%u", ext_port);
	snprintf(what, sizeof(what), "look up port %u/%s on the router",
	    ext_port, portspec_proto_str(proto));
	rc = soap_call(igd, deadline, "GetSpecificPortMappingEntry", args,
	    nitems(args), what, &pd, err);
	/* Some routers answer 402 or 501 for an entry that does not exist. */
	if (rc == 714)
		return 0;
	if (rc > 0)
		pmerr_upnp(err, rc, what);
	if (rc != 0)
		return -1;
	rc = fill_mapping(m, proto, ext, value_or_empty(&pd,
	    "NewInternalClient"), value_or_empty(&pd, "NewInternalPort"),
	    value_or_empty(&pd, "NewPortMappingDescription"),
	    value_or_empty(&pd, "NewEnabled"),
	    value_or_empty(&pd, "NewLeaseDuration"), igd->local);
	if (rc == -1) {
		str_printable(client, sizeof(client), value_or_empty(&pd,
		    "NewInternalClient"));
		str_printable(in, sizeof(in), value_or_empty(&pd,
		    "NewInternalPort"));
		pmerr_set(err, PME_BAD_REPLY, 0, "could not %s: the router "
		    "answered with an invalid entry (client \"%s\", port "
		    "\"%s\")", what, client, in);
	}
	ClearNameValueList(&pd);
	return rc == -1 ? -1 : 1;
}

int
upnp_delete(struct upnp_igd *igd, int64_t deadline, enum pm_proto proto,
    uint16_t ext_port, struct pm_error *err)
{
	char ext[6], what[64];
	struct NameValueParserData pd;
	const struct upnp_soap_arg args[] = {
		{ "NewRemoteHost", "" },
		{ "NewExternalPort", ext },
		{ "NewProtocol", portspec_proto_upnp(proto) },
	};
	int rc;

	snprintf(ext, sizeof(ext), "%u", ext_port);
	snprintf(what, sizeof(what), "remove the forward of port %u/%s",
	    ext_port, portspec_proto_str(proto));
	rc = soap_call(igd, deadline, "DeletePortMapping", args, nitems(args),
	    what, &pd, err);
	if (rc == 714)
		return 0;
	if (rc > 0)
		pmerr_upnp(err, rc, what);
	if (rc != 0)
		return -1;
	ClearNameValueList(&pd);
	return 1;
}

int
upnp_list(struct upnp_igd *igd, int64_t deadline, struct pm_mapping **out,
    size_t *n, struct pm_error *err)
{
	static const char what[] = "read the router's port forwarding table";
	struct pm_mapping *v = NULL, *nv;
	size_t cap = 0, cnt = 0;
	int i, rc;

	for (i = 0; i < UPNP_LIST_MAX; i++) {
		char idx[12], ext[8], client[16], proto[8];
		struct NameValueParserData pd;
		const struct upnp_soap_arg args[] = {
			{ "NewPortMappingIndex", idx },
		};
		enum pm_proto p;

		snprintf(idx, sizeof(idx), "%d", i);
		rc = soap_call(igd, deadline, "GetGenericPortMappingEntry",
		    args, nitems(args), what, &pd, err);
		/* 713 (SpecifiedArrayIndexInvalid) marks the end of table. */
		if (rc == 713 || ((rc == 714 || rc == 402) && i > 0) ||
		    (rc == 714 && i == 0))
			break;
		if (rc > 0)
			pmerr_upnp(err, rc, what);
		if (rc != 0) {
			free(v);
			return -1;
		}
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL) {
				pmerr_set(err, PME_INTERNAL, 0, "out of memory");
				ClearNameValueList(&pd);
				free(v);
				return -1;
			}
			v = nv;
		}
		if (portspec_proto_parse(value_or_empty(&pd, "NewProtocol"), &p) == -1 ||
		    fill_mapping(&v[cnt], p, value_or_empty(&pd,
		    "NewExternalPort"), value_or_empty(&pd,
		    "NewInternalClient"), value_or_empty(&pd,
		    "NewInternalPort"), value_or_empty(&pd,
		    "NewPortMappingDescription"), value_or_empty(&pd,
		    "NewEnabled"), value_or_empty(&pd, "NewLeaseDuration"),
		    igd->local) == -1) {
			str_printable(ext, sizeof(ext), value_or_empty(&pd,
			    "NewExternalPort"));
			str_printable(proto, sizeof(proto), value_or_empty(&pd,
			    "NewProtocol"));
			str_printable(client, sizeof(client),
			    value_or_empty(&pd, "NewInternalClient"));
			/*
			 * Some routers keep a placeholder row without a client
			 * (a disabled rule): not garbled, just not a forward.
			 */
			if (client[0] == '\0')
				log_debug("the router's table entry %d (port "
				    "\"%s\") has no client; skipped", i, ext);
			else
				log_warnx("the router's table entry %d is "
				    "garbled (port \"%s\", protocol \"%s\", "
				    "client \"%s\"); skipped", i, ext, proto,
				    client);
			ClearNameValueList(&pd);
			continue;
		}
		ClearNameValueList(&pd);
		cnt++;
	}
	*out = v;
	*n = cnt;
	return 0;
}
