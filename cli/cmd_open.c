#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "pcp.h"
#include "portmap.h"
#include "portspec.h"
#include "util.h"

#define DEFAULT_LEASE	3600

static const char usage[] = "portkeeper open EXT[:INT][/tcp|/udp] "
    "[--lease SECONDS] [--any-port] [--via auto|upnp|natpmp|pcp] [--json]";

static void
help(void)
{
	printf("usage: %s\n\n"
	    "Forwards external port EXT on the home router to port INT (default "
	    "EXT) on this\nhost's LAN address, for TCP (default) or UDP.\n\n"
	    "  --lease SECONDS         how long the router keeps the forward "
	    "(default %d;\n"
	    "                          0 asks for a permanent one, UPnP only)\n"
	    "  (PCP prints the mapping's nonce, which close --nonce needs)\n"
	    "  --any-port              accept another external port if the "
	    "router offers one\n"
	    CLI_COMMON_HELP
	    "\nExit status: 0 done, 1 the router refused or could not be "
	    "reached, 2 usage.\n", usage, DEFAULT_LEASE);
}

struct open_args {
	unsigned long	lease;
	bool		any_port;
};

static int
open_opt(int c, const char *arg, void *ctx, struct pm_error *err)
{
	struct open_args *a = ctx;

	switch (c) {
	case 'l':
		if (parse_uint(arg, 0, 0x7fffffff, &a->lease) == -1) {
			pmerr_set(err, PME_USAGE, 0, "bad --lease \"%s\": "
			    "expected seconds, 0 or more", arg);
			return -1;
		}
		return 0;
	case 'a':
		a->any_port = true;
		return 0;
	}
	return -1;
}

int
cmd_open(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "lease",	required_argument,	NULL,	'l' },
		{ "any-port",	no_argument,		NULL,	'a' },
		{ NULL, 0, NULL, 0 }
	};
	struct open_args a = { DEFAULT_LEASE, false };
	const struct cli_spec cs = {
		usage, help, "l:a", longopts, open_opt, &a, 1, 1,
		"which port? give EXT[:INT][/tcp|/udp], e.g. 80 or 80:8080/tcp"
	};
	struct cli_opts o;
	struct pm_error err;
	struct portspec spec;
	struct portmap *pm;
	struct portmap_open_result res;
	char ebuf[160];
	int argi, rc;

	if ((argi = cli_parse(&cs, argc, argv, &o, &rc)) == -1)
		return rc;
	if (portspec_parse(argv[argi], 1, &spec, ebuf, sizeof(ebuf)) == -1)
		return cli_usage_error(&o, usage, "%s", ebuf);
	if (a.lease == 0 && (o.via == PM_NATPMP || o.via == PM_PCP))
		return cli_usage_error(&o, usage, "%s cannot make permanent "
		    "forwards: give --lease SECONDS", portmap_method_name(o.via));

	if ((pm = portmap_new(o.via, o.timeout_ms, &err)) == NULL)
		return cli_fail(&o, &err);
	if (portmap_open(pm, &spec, (uint32_t)a.lease, a.any_port, "portkeeper",
	    &res, &err) == -1) {
		if (res.offered_port != 0)
			pmerr_append(&err, "; pass --any-port to accept port "
			    "%u", res.offered_port);
		rc = cli_fail(&o, &err);
		portmap_free(pm);
		return rc;
	}
	if (o.json) {
		cJSON *obj = cJSON_CreateObject();

		cJSON_AddTrueToObject(obj, "ok");
		cJSON_AddStringToObject(obj, "method", portmap_method_str(res.method));
		cJSON_AddStringToObject(obj, "protocol", portspec_proto_str(spec.proto));
		cJSON_AddStringToObject(obj, "external_ip",
		    portmap_info(pm)->external_ip);
		cJSON_AddNumberToObject(obj, "external_port", res.ext_port);
		cJSON_AddStringToObject(obj, "internal_ip",
		    portmap_netinfo(pm)->internal_str);
		cJSON_AddNumberToObject(obj, "internal_port", spec.in);
		cJSON_AddNumberToObject(obj, "lease", res.lease);
		if (res.note[0] != '\0')
			cJSON_AddStringToObject(obj, "note", res.note);
		if (res.has_nonce) {
			char hex[2 * PCP_NONCE_LEN + 1];

			/* What close --nonce needs to remove it (PCP). */
			pcp_nonce_hex(res.nonce, hex);
			cJSON_AddStringToObject(obj, "nonce", hex);
		}
		cli_print_json(obj);
	} else {
		char lease_s[32];

		if (res.lease == 0)
			str_copy(lease_s, "permanent", sizeof(lease_s));
		else
			snprintf(lease_s, sizeof(lease_s), "lease %u s",
			    res.lease);
		printf("opened %s:%u/%s -> %s:%u via %s, %s\n",
		    portmap_info(pm)->external_ip, res.ext_port,
		    portspec_proto_str(spec.proto), portmap_netinfo(pm)->internal_str,
		    spec.in, portmap_method_name(res.method), lease_s);
		if (res.note[0] != '\0')
			fprintf(stderr, "portkeeper: note: %s\n", res.note);
		if (res.has_nonce) {
			char hex[2 * PCP_NONCE_LEN + 1];

			pcp_nonce_hex(res.nonce, hex);
			printf("PCP nonce %s: close it with --nonce %s\n", hex,
			    hex);
		}
	}
	portmap_free(pm);
	return 0;
}
