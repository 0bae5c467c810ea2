#include <stdio.h>

#include "cli.h"
#include "portmap.h"
#include "router.h"

static const char usage[] = "portkeeper ip [--via auto|upnp|natpmp|pcp] [--json]";

static void
help(void)
{
	printf("usage: %s\n\n"
	    "Shows this host's LAN address, the default gateway, the router's "
	    "external\naddress and which port mapping protocols the router "
	    "answers.\n\n"
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

int
cmd_ip(int argc, char **argv)
{
	const struct cli_spec cs = {
		usage, help, NULL, NULL, NULL, NULL, 0, 0, NULL
	};
	struct cli_opts o;
	struct pm_error err;
	struct portmap *pm;
	const struct portmap_info *in;
	const struct netinfo *ni;
	int argi, rc;

	if ((argi = cli_parse(&cs, argc, argv, &o, &rc)) == -1)
		return rc;
	if ((pm = portmap_new(o.via, o.timeout_ms, &err)) == NULL)
		return cli_fail(&o, &err);
	rc = portmap_discover(pm, 1, &err) == -1 ? pmerr_exit_status(err.code) : 0;
	in = portmap_info(pm);
	ni = portmap_netinfo(pm);
	if (o.json) {
		cJSON *obj = cJSON_CreateObject(), *u, *n, *p;

		if (rc == 0)
			cJSON_AddTrueToObject(obj, "ok");
		else {
			cJSON *e;

			cJSON_AddFalseToObject(obj, "ok");
			e = cJSON_AddObjectToObject(obj, "error");
			cJSON_AddStringToObject(e, "code",
			    pmerr_code_str(err.code));
			cJSON_AddStringToObject(e, "message", err.msg);
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
		/* Asked only with --via pcp until auto asks it too. */
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
		cli_print_json(obj);
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
			fprintf(stderr, "portkeeper: %s\n", err.msg);
	}
	portmap_free(pm);
	return rc;
}
