#include <arpa/inet.h>
#include <miniupnpc/upnpcommands.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "log.h"
#include "upnp.h"
#include "util.h"

int
upnp_discover(struct upnp_igd *igd, struct in_addr gateway,
    struct in_addr local, int64_t deadline, struct pm_error *err)
{
	char lanaddr[64], gw[INET_ADDRSTRLEN];
	struct in_addr caddr;
	uint16_t cport;

	memset(igd, 0, sizeof(*igd));
	igd->gateway = gateway;
	igd->local = local;
	inet_ntop(AF_INET, &gateway, gw, sizeof(gw));
	if (ssdp_search(gateway, local, deadline, igd->location, err) == -1)
		return -1;
	log_debug("upnp: IGD description at %s", igd->location);
	if (UPNP_GetIGDFromUrl(igd->location, &igd->urls, &igd->data, lanaddr,
	    sizeof(lanaddr)) != 1) {
		pm_seterr(err, PME_BAD_REPLY, 0, "the router at %s announced "
		    "UPnP-IGD but its description %s could not be read", gw,
		    igd->location);
		return -1;
	}
	igd->have_urls = 1;
	if (igd->data.first.servicetype[0] == '\0' ||
	    igd->urls.controlURL == NULL || igd->urls.controlURL[0] == '\0') {
		pm_seterr(err, PME_BAD_REPLY, 0, "the router's UPnP "
		    "description (%s) has no WANIPConnection or "
		    "WANPPPConnection service", igd->location);
		return -1;
	}
	/*
	 * The description is the router's word; a control URL on another host
	 * would make us send our requests there.
	 */
	if (ssdp_url_addr(igd->urls.controlURL, &caddr, &cport) == -1 ||
	    caddr.s_addr != gateway.s_addr) {
		pm_seterr(err, PME_BAD_REPLY, 0, "the router's UPnP control "
		    "URL \"%.100s\" does not point at the gateway %s; refusing "
		    "to use it", igd->urls.controlURL, gw);
		return -1;
	}
	return 0;
}

void
upnp_igd_free(struct upnp_igd *igd)
{
	if (igd->have_urls)
		FreeUPNPUrls(&igd->urls);
	igd->have_urls = 0;
}

int
upnp_external_ip(struct upnp_igd *igd, char ip[16], struct pm_error *err)
{
	char buf[40];
	int rc;

	memset(buf, 0, sizeof(buf));
	rc = UPNP_GetExternalIPAddress(igd->urls.controlURL,
	    igd->data.first.servicetype, buf);
	if (rc != UPNPCOMMAND_SUCCESS) {
		pm_upnp_error(err, rc, "ask the router for its external "
		    "address");
		return -1;
	}
	buf[15] = '\0';
	memcpy(ip, buf, 16);
	return 0;
}

int
upnp_status(struct upnp_igd *igd, int *connected, char status[64],
    struct pm_error *err)
{
	char lasterr[64];
	unsigned int uptime = 0;
	int rc;

	status[0] = '\0';
	rc = UPNP_GetStatusInfo(igd->urls.controlURL,
	    igd->data.first.servicetype, status, &uptime, lasterr);
	if (rc != UPNPCOMMAND_SUCCESS) {
		pm_upnp_error(err, rc, "ask the router for its connection "
		    "status");
		return -1;
	}
	status[63] = '\0';
	*connected = strcmp(status, "Connected") == 0;
	return 0;
}

int
upnp_add(struct upnp_igd *igd, enum pm_proto proto, uint16_t ext_port,
    uint16_t int_port, const char *client, const char *desc, uint32_t lease,
    struct pm_error *err)
{
	char ext[6], in[6], dur[11], what[64];
	int rc;

	snprintf(ext, sizeof(ext), "%u", ext_port);
	snprintf(in, sizeof(in), "%u", int_port);
	snprintf(dur, sizeof(dur), "%u", lease);
	rc = UPNP_AddPortMapping(igd->urls.controlURL,
	    igd->data.first.servicetype, ext, in, client, desc,
	    proto_upnp(proto), NULL, dur);
	if (rc != UPNPCOMMAND_SUCCESS) {
		snprintf(what, sizeof(what), "forward port %u/%s", ext_port,
		    proto_str(proto));
		pm_upnp_error(err, rc, what);
		return -1;
	}
	return 0;
}

/* Fills m from the strings miniupnpc copied out of the reply. */
static int
fill_mapping(struct pm_mapping *m, enum pm_proto proto, const char *ext,
    const char *client, const char *in, const char *desc,
    const char *enabled, const char *duration, struct in_addr local)
{
	unsigned long eport, iport, dur = 0;
	struct in_addr a;

	memset(m, 0, sizeof(*m));
	if (parse_uint(ext, 1, 65535, &eport) == -1 ||
	    parse_uint(in, 1, 65535, &iport) == -1 ||
	    addr_parse(client, &a) == ADDR_INVALID ||
	    (duration[0] != '\0' &&
	    parse_uint(duration, 0, UINT32_MAX, &dur) == -1))
		return -1;
	m->proto = proto;
	m->ext_port = (uint16_t)eport;
	m->int_port = (uint16_t)iport;
	str_copy(m->int_client, client, sizeof(m->int_client));
	str_copy(m->desc, desc, sizeof(m->desc));
	m->enabled = strcmp(enabled, "0") != 0;
	m->lease = (uint32_t)dur;
	m->this_host = a.s_addr == local.s_addr;
	return 0;
}

int
upnp_get(struct upnp_igd *igd, enum pm_proto proto, uint16_t ext_port,
    struct pm_mapping *m, struct pm_error *err)
{
	char ext[6], client[16] = "", in[6] = "", desc[80] = "";
	char enabled[4] = "", duration[16] = "", what[80];
	int rc;

	snprintf(ext, sizeof(ext), "%u", ext_port);
	rc = UPNP_GetSpecificPortMappingEntry(igd->urls.controlURL,
	    igd->data.first.servicetype, ext, proto_upnp(proto), NULL, client,
	    in, desc, enabled, duration);
	if (rc == 714)
		return 0;
	/* Some routers answer 402 or 501 for an entry that does not exist. */
	snprintf(what, sizeof(what), "look up port %u/%s on the router",
	    ext_port, proto_str(proto));
	if (rc != UPNPCOMMAND_SUCCESS) {
		pm_upnp_error(err, rc, what);
		return -1;
	}
	client[15] = in[5] = desc[79] = enabled[3] = duration[15] = '\0';
	if (fill_mapping(m, proto, ext, client, in, desc, enabled, duration,
	    igd->local) == -1) {
		pm_seterr(err, PME_BAD_REPLY, 0, "could not %s: the router "
		    "answered with an invalid entry (client \"%s\", port "
		    "\"%s\")", what, client, in);
		return -1;
	}
	return 1;
}

int
upnp_delete(struct upnp_igd *igd, enum pm_proto proto, uint16_t ext_port,
    struct pm_error *err)
{
	char ext[6], what[64];
	int rc;

	snprintf(ext, sizeof(ext), "%u", ext_port);
	rc = UPNP_DeletePortMapping(igd->urls.controlURL,
	    igd->data.first.servicetype, ext, proto_upnp(proto), NULL);
	if (rc == 714)
		return 0;
	if (rc != UPNPCOMMAND_SUCCESS) {
		snprintf(what, sizeof(what), "remove the forward of port "
		    "%u/%s", ext_port, proto_str(proto));
		pm_upnp_error(err, rc, what);
		return -1;
	}
	return 1;
}

int
upnp_list(struct upnp_igd *igd, struct pm_mapping **out, size_t *n,
    struct pm_error *err)
{
	struct pm_mapping *v = NULL, *nv;
	size_t cap = 0, cnt = 0;
	int i, rc;

	for (i = 0; i < UPNP_LIST_MAX; i++) {
		char idx[12], ext[6] = "", client[16] = "", in[6] = "";
		char proto[4] = "", desc[80] = "", enabled[6] = "";
		char rhost[64] = "", duration[16] = "";
		enum pm_proto p;

		snprintf(idx, sizeof(idx), "%d", i);
		rc = UPNP_GetGenericPortMappingEntry(igd->urls.controlURL,
		    igd->data.first.servicetype, idx, ext, client, in, proto,
		    desc, enabled, rhost, duration);
		/* 713 (SpecifiedArrayIndexInvalid) marks the end of table. */
		if (rc == 713 || (rc == 714 && i > 0) || (rc == 402 && i > 0))
			break;
		if (rc != UPNPCOMMAND_SUCCESS) {
			if (i == 0 && (rc == 713 || rc == 714))
				break;
			pm_upnp_error(err, rc, "read the router's port "
			    "forwarding table");
			free(v);
			return -1;
		}
		ext[5] = client[15] = in[5] = proto[3] = desc[79] = '\0';
		enabled[5] = duration[15] = '\0';
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL) {
				pm_seterr(err, PME_INTERNAL, 0, "out of memory");
				free(v);
				return -1;
			}
			v = nv;
		}
		if (proto_parse(proto, &p) == -1 ||
		    fill_mapping(&v[cnt], p, ext, client, in, desc, enabled,
		    duration, igd->local) == -1) {
			log_warnx("the router's table entry %d is garbled "
			    "(port \"%s\", protocol \"%s\", client \"%s\"); "
			    "skipped", i, ext, proto, client);
			continue;
		}
		cnt++;
	}
	*out = v;
	*n = cnt;
	return 0;
}
