#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "cli6.h"
#include "portmap.h"

static const char usage[] = "portkeeper list [-4|-6] [--via auto|upnp] "
    "[--json]";

static void
help(void)
{
	printf("usage: %s\n\n"
	    "Shows the router's port forwarding table (UPnP-IGD; NAT-PMP has "
	    "no way to list\nit), marking the forwards that point at this "
	    "host.  No protocol lists a router's IPv6 pinholes: over IPv6 it "
	    "shows the ones\nportkeeper opened from this host.\n\n"
	    "  -4, -6                  IPv4 or IPv6 only (default: both, IPv6 "
	    "when this\n"
	    "                          host has a stable global IPv6 address)\n"
	    CLI_COMMON_HELP, usage);
}

static int
list_opt(int c, const char *arg, void *ctx, struct pm_error *err)
{
	return cli6_family_opt(c, arg, ctx, err) == 1 ? 0 : -1;
}

/* IPv4: the router's table, as JSON into *out or printed. */
static int
list4(const struct cli_opts *o, cJSON **out, struct pm_error *err)
{
	struct portmap *pm;
	struct pm_mapping *v = NULL;
	size_t n = 0, i;

	*out = NULL;
	if ((pm = portmap_new(o->via, o->timeout_ms, err)) == NULL)
		return -1;
	if (portmap_list(pm, &v, &n, err) == -1) {
		portmap_free(pm);
		return -1;
	}
	if (o->json) {
		cJSON *obj = cJSON_CreateObject(), *arr;

		cJSON_AddTrueToObject(obj, "ok");
		cJSON_AddStringToObject(obj, "method", "upnp");
		cJSON_AddStringToObject(obj, "internal_ip",
		    portmap_netinfo(pm)->internal_str);
		cJSON_AddStringToObject(obj, "external_ip",
		    portmap_info(pm)->upnp_external_ip);
		arr = cJSON_AddArrayToObject(obj, "mappings");
		for (i = 0; i < n; i++) {
			cJSON *m = cJSON_CreateObject();

			cJSON_AddStringToObject(m, "protocol",
			    portspec_proto_str(v[i].proto));
			cJSON_AddNumberToObject(m, "external_port",
			    v[i].ext_port);
			cJSON_AddStringToObject(m, "internal_ip",
			    v[i].int_client);
			cJSON_AddNumberToObject(m, "internal_port",
			    v[i].int_port);
			cJSON_AddStringToObject(m, "description", v[i].desc);
			cJSON_AddBoolToObject(m, "enabled", v[i].enabled);
			cJSON_AddNumberToObject(m, "lease", v[i].lease);
			cJSON_AddBoolToObject(m, "this_host", v[i].this_host);
			cJSON_AddItemToArray(arr, m);
		}
		*out = obj;
	} else if (n == 0)
		printf("the router at %s has no port forwards\n",
		    portmap_netinfo(pm)->gateway_str);
	else {
		printf("%-10s %-21s %-10s %-8s %s\n", "EXTERNAL", "INTERNAL",
		    "LEASE", "", "DESCRIPTION");
		for (i = 0; i < n; i++) {
			char ext[16], in[32], lease[16];

			snprintf(ext, sizeof(ext), "%u/%s", v[i].ext_port,
			    portspec_proto_str(v[i].proto));
			snprintf(in, sizeof(in), "%s:%u", v[i].int_client,
			    v[i].int_port);
			if (v[i].lease == 0)
				snprintf(lease, sizeof(lease), "permanent");
			else
				snprintf(lease, sizeof(lease), "%us",
				    v[i].lease);
			/* The description is the router's: print it as data. */
			printf("%-10s %-21s %-10s %-8s ", ext, in, lease,
			    v[i].this_host ? "this" : "");
			for (const char *p = v[i].desc; *p != '\0'; p++)
				putchar(*p >= 0x20 && *p < 0x7f ? *p : '?');
			putchar('\n');
		}
	}
	free(v);
	portmap_free(pm);
	return 0;
}

int
cmd_list(int argc, char **argv)
{
	struct cli_family f = { 0, NULL };
	const struct cli_spec cs = {
		usage, help, CLI_FAMILY_SHORTOPTS, NULL, list_opt, &f, 0, 0,
		NULL
	};
	struct cli_opts o;
	struct pm_error err;
	cJSON *obj = NULL, *obj6 = NULL;
	int argi, rc;

	if ((argi = cli_parse(&cs, argc, argv, &o, &rc)) == -1)
		return rc;
	if (f.family != 6 && list4(&o, &obj, &err) == -1)
		return cli_fail(&o, &err);
	if (f.family != 4 && cli6_list(&o, &f, &obj6, &err) == -1) {
		cJSON_Delete(obj);
		return cli_fail(&o, &err);
	}
	if (f.family == 6) {
		obj = obj6;
		obj6 = NULL;
	}
	if (o.json) {
		if (obj6 != NULL)
			cJSON_AddItemToObject(obj, "ipv6", obj6);
		return cli_print_json(obj);
	}
	cJSON_Delete(obj);
	cJSON_Delete(obj6);
	return 0;
}
