#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli6.h"
#include "portmap.h"
#include "router.h"

static const char usage[] = "portkeeper ip [-4|-6] [--address ADDR] [--get] "
    "[--via auto|upnp|natpmp|pcp] [--json]";

static void
help(void)
{
	printf("usage: %s\n\n"
	    "Shows this host's LAN address, the default gateway, the router's "
	    "external\naddress and which port mapping protocols the router "
	    "answers; over IPv6, the address portkeeper opens, its router and "
	    "whether that\nrouter opens pinholes (PCP, UPnP IGD:2).\n\n"
	    CLI_FAMILY_HELP
	    "  --get                   print only the external address (with "
	    "-6, this\n"
	    "                          host's stable IPv6 address), for "
	    "ddclient\n"
	    CLI_COMMON_HELP, usage);
}

/* The router's name and each quirk portkeeper met on it, in words. */
static void
print_router(const struct portmap_info *in)
{
	char name[192];
	unsigned bit;

	router_name(in, name, sizeof(name));
	if (name[0] != '\0')
		printf("router    %s\n", name);
	for (bit = 1; bit & PMQ_ALL; bit <<= 1)
		if (in->quirks & bit)
			printf("          %s\n", router_quirk_str((enum pm_quirk)bit));
}

/*
 * IPv4: the JSON object into *out (o->json), or the text printed.  Returns
 * the exit status; -1 with err when there is nothing to show at all.
 */
static int
ip4(const struct cli_opts *o, cJSON **out, struct pm_error *err)
{
	struct portmap *pm;
	const struct portmap_info *in;
	const struct netinfo *ni;
	int rc;

	*out = NULL;
	if ((pm = portmap_new(o->via, o->timeout_ms, err)) == NULL)
		return -1;
	rc = portmap_discover(pm, 1, err) == -1 ? pmerr_exit_status(err->code) : 0;
	in = portmap_info(pm);
	ni = portmap_netinfo(pm);
	if (o->json) {
		cJSON *obj = cJSON_CreateObject(), *u, *n, *p;

		if (rc == 0)
			cJSON_AddTrueToObject(obj, "ok");
		else {
			cJSON *e;

			cJSON_AddFalseToObject(obj, "ok");
			e = cJSON_AddObjectToObject(obj, "error");
			cJSON_AddStringToObject(e, "code",
			    pmerr_code_str(err->code));
			cJSON_AddStringToObject(e, "message", err->msg);
		}
		cJSON_AddStringToObject(obj, "internal_ip", ni->internal_str);
		cJSON_AddStringToObject(obj, "interface", ni->ifname);
		cJSON_AddStringToObject(obj, "gateway", ni->gateway_str);
		if (rc == 0 && in->external_ip[0] != '\0')
			cJSON_AddStringToObject(obj, "external_ip",
			    in->external_ip);
		else
			cJSON_AddNullToObject(obj, "external_ip");
		cJSON_AddStringToObject(obj, "external_ip_class", rc == 0 ?
		    addr_class_str(in->external_class) : "none");
		u = cJSON_AddObjectToObject(obj, "upnp");
		cJSON_AddBoolToObject(u, "found", in->upnp_found);
		if (in->upnp_found) {
			cJSON_AddStringToObject(u, "control_url",
			    in->control_url);
			cJSON_AddBoolToObject(u, "connected",
			    in->upnp_connected);
			cJSON_AddStringToObject(u, "status", in->upnp_status);
			cJSON_AddStringToObject(u, "external_ip",
			    in->upnp_external_ip);
		} else {
			cJSON_AddNullToObject(u, "control_url");
			cJSON_AddFalseToObject(u, "connected");
		}
		n = cJSON_AddObjectToObject(obj, "natpmp");
		cJSON_AddBoolToObject(n, "found", in->natpmp_found);
		if (in->natpmp_found) {
			cJSON_AddNumberToObject(n, "epoch", in->epoch);
			cJSON_AddNumberToObject(n, "result", in->natpmp_result);
			cJSON_AddStringToObject(n, "external_ip",
			    in->natpmp_external_ip);
		} else
			cJSON_AddNullToObject(n, "epoch");
		/* Asked with --via pcp and auto (not by portkeeperd). */
		p = cJSON_AddObjectToObject(obj, "pcp");
		cJSON_AddBoolToObject(p, "found", in->pcp_found);
		if (in->pcp_found) {
			cJSON_AddNumberToObject(p, "epoch", in->pcp_epoch);
			if (in->pcp_external_ip[0] != '\0')
				cJSON_AddStringToObject(p, "external_ip",
				    in->pcp_external_ip);
			else
				cJSON_AddNullToObject(p, "external_ip");
		} else
			cJSON_AddNullToObject(p, "epoch");
		cJSON_AddItemToObject(obj, "router", router_json(in));
		*out = obj;
	} else {
		printf("internal  %s (%s)\n", ni->internal_str, ni->ifname);
		printf("gateway   %s\n", ni->gateway_str);
		if (rc == 0)
			printf("external  %s (%s)\n", in->external_ip[0] ?
			    in->external_ip : "none",
			    addr_class_str(in->external_class));
		print_router(in);
		printf("upnp      %s\n", in->upnp_found ? (in->upnp_connected ?
		    "found, connected" : "found, not connected") :
		    "not found");
		if (in->upnp_found)
			printf("          %s\n", in->control_url);
		if (in->upnp_found && in->upnp_service[0] != '\0')
			printf("          %s\n", in->upnp_service);
		if (in->natpmp_found)
			printf("natpmp    found, epoch %u\n", in->epoch);
		else
			printf("natpmp    not found\n");
		if (in->pcp_found)
			printf("pcp       found, epoch %u\n", in->pcp_epoch);
		if (rc != 0)
			fprintf(stderr, "portkeeper: %s\n", err->msg);
	}
	portmap_free(pm);
	return rc;
}

/* ip --get: the bare external address, for ddclient's cmd and cmdv6. */
static int
ip_get(const struct cli_opts *o, const struct cli_family *f)
{
	struct portmap *pm;
	struct pm_error err;
	cJSON *none;

	if (f->family == 6) {
		if (cli6_ip(o, f, true, &none, &err) == -1)
			return cli_fail(o, &err);
		return 0;
	}
	if ((pm = portmap_new(o->via, o->timeout_ms, &err)) == NULL)
		return cli_fail(o, &err);
	if (portmap_discover(pm, 0, &err) == -1 ||
	    !addr_class_is_public(portmap_info(pm)->external_class)) {
		if (err.code == PME_OK)
			pmerr_set(&err, PME_NO_PUBLIC_ADDRESS, 0, "the router "
			    "has no public IPv4 address (%s)",
			    addr_class_str(portmap_info(pm)->external_class));
		portmap_free(pm);
		return cli_fail(o, &err);
	}
	printf("%s\n", portmap_info(pm)->external_ip);
	portmap_free(pm);
	return 0;
}

struct ip_args {
	bool			get;
	struct cli_family	fam;
};

static int
ip_opt(int c, const char *arg, void *ctx, struct pm_error *err)
{
	struct ip_args *a = ctx;

	if (c == 'g') {
		a->get = true;
		return 0;
	}
	return cli6_family_opt(c, arg, &a->fam, err) == 1 ? 0 : -1;
}

int
cmd_ip(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "get",	no_argument,		NULL,	'g' },
		CLI_FAMILY_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct ip_args a;
	const struct cli_spec cs = {
		usage, help, CLI_FAMILY_SHORTOPTS, longopts, ip_opt, &a, 0, 0,
		NULL
	};
	struct cli_opts o;
	struct pm_error err, err6;
	cJSON *obj = NULL, *obj6 = NULL;
	int argi, rc = 0;

	memset(&a, 0, sizeof(a));
	if ((argi = cli_parse(&cs, argc, argv, &o, &rc)) == -1)
		return rc;
	if (cli6_check(&a.fam, &err) == -1)
		return cli_usage_error(&o, usage, "%s", err.msg);
	if (a.get)
		return ip_get(&o, &a.fam);
	if (a.fam.family != 6 && (rc = ip4(&o, &obj, &err)) == -1)
		return cli_fail(&o, &err);
	if (a.fam.family == 4) {
		if (obj != NULL)
			cli_print_json(obj);
		return rc;
	}
	if (cli6_ip(&o, &a.fam, false, &obj6, &err6) == -1) {
		if (a.fam.family == 6)
			return cli_fail(&o, &err6);
		obj6 = cJSON_CreateNull();
	}
	if (a.fam.family == 6 && o.json) {
		obj = cJSON_CreateObject();
		cJSON_AddTrueToObject(obj, "ok");
	}
	if (o.json) {
		cJSON_AddItemToObject(obj, "ipv6", obj6);
		cli_print_json(obj);
	} else {
		if (cJSON_IsNull(obj6) && a.fam.family == 0)
			printf("ipv6      none (no stable global address and "
			    "default route)\n");
		cJSON_Delete(obj6);
	}
	return rc;
}
