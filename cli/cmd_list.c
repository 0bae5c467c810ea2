#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "portmap.h"

static const char usage[] = "portkeeper list [--via auto|upnp] [--json]";

static void
help(void)
{
	printf("usage: %s\n\n"
	    "Shows the router's port forwarding table (UPnP-IGD; NAT-PMP has "
	    "no way to list\nit), marking the forwards that point at this "
	    "host.\n\n"
	    CLI_COMMON_HELP, usage);
}

int
cmd_list(int argc, char **argv)
{
	const struct cli_spec cs = {
		usage, help, NULL, NULL, NULL, NULL, 0, 0, NULL
	};
	struct cli_opts o;
	struct pm_error err;
	struct portmap *pm;
	struct pm_mapping *v = NULL;
	size_t n = 0, i;
	int argi, rc;

	if ((argi = cli_parse(&cs, argc, argv, &o, &rc)) == -1)
		return rc;
	if ((pm = portmap_new(o.via, o.timeout_ms, &err)) == NULL)
		return cli_fail(&o, &err);
	if (portmap_list(pm, &v, &n, &err) == -1) {
		rc = cli_fail(&o, &err);
		portmap_free(pm);
		return rc;
	}
	if (o.json) {
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
		cli_print_json(obj);
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
