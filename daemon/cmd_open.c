#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "portmap.h"
#include "portspec.h"
#include "util.h"

#define DEFAULT_LEASE	3600

static const char usage[] = "portkeeper open EXT[:INT][/tcp|/udp] "
    "[--lease SECONDS] [--any-port] [--via auto|upnp|natpmp] [--json]";

static void
help(void)
{
	printf("usage: %s\n\n"
	    "Forwards external port EXT on the home router to port INT (default "
	    "EXT) on this\nhost's LAN address, for TCP (default) or UDP.\n\n"
	    "  --lease SECONDS         how long the router keeps the forward "
	    "(default %d;\n"
	    "                          0 asks for a permanent one, UPnP only)\n"
	    "  --any-port              accept another external port if the "
	    "router offers one\n"
	    CLI_COMMON_HELP
	    "\nExit status: 0 done, 1 the router refused or could not be "
	    "reached, 2 usage.\n", usage, DEFAULT_LEASE);
}

int
cmd_open(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "lease",	required_argument,	NULL,	'l' },
		{ "any-port",	no_argument,		NULL,	'a' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct cli_opts o;
	struct pm_error err;
	struct portspec spec;
	struct portmap *pm;
	struct portmap_open_result res;
	unsigned long lease = DEFAULT_LEASE;
	bool any_port = false;
	char ebuf[160];
	int c, rc;

	cli_opts_init(&o, argc, argv);
	pm_clearerr(&err);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "l:a" CLI_COMMON_SHORTOPTS,
	    longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (parse_uint(optarg, 0, 0x7fffffff, &lease) == -1)
				return cli_usage_error(&o, usage, "bad --lease "
				    "\"%s\": expected seconds, 0 or more",
				    optarg);
			break;
		case 'a':
			any_port = true;
			break;
		case 'h':
			help();
			return 0;
		case '?':
			return cli_usage_error(&o, usage, "unknown or "
			    "incomplete option \"%s\"", argv[optind - 1]);
		default:
			if (cli_common_opt(c, optarg, &o, &err) == -1)
				return cli_usage_error(&o, usage, "%s",
				    err.msg);
		}
	}
	if (optind != argc - 1)
		return cli_usage_error(&o, usage, optind == argc ?
		    "which port? give EXT[:INT][/tcp|/udp], e.g. 80 or "
		    "80:8080/tcp" : "too many arguments");
	if (portspec_parse(argv[optind], 1, &spec, ebuf, sizeof(ebuf)) == -1)
		return cli_usage_error(&o, usage, "%s", ebuf);
	if (lease == 0 && o.via == PM_NATPMP)
		return cli_usage_error(&o, usage, "NAT-PMP cannot make "
		    "permanent forwards: give --lease SECONDS");

	if ((pm = portmap_new(o.via, o.timeout_ms, &err)) == NULL)
		return cli_fail(&o, &err);
	if (portmap_open(pm, &spec, (uint32_t)lease, any_port, "portkeeper",
	    &res, &err) == -1) {
		rc = cli_fail(&o, &err);
		portmap_free(pm);
		return rc;
	}
	if (o.json) {
		cJSON *obj = cJSON_CreateObject();

		cJSON_AddTrueToObject(obj, "ok");
		cJSON_AddStringToObject(obj, "method", method_str(res.method));
		cJSON_AddStringToObject(obj, "protocol", proto_str(spec.proto));
		cJSON_AddStringToObject(obj, "external_ip",
		    portmap_info(pm)->external_ip);
		cJSON_AddNumberToObject(obj, "external_port", res.ext_port);
		cJSON_AddStringToObject(obj, "internal_ip",
		    portmap_netinfo(pm)->internal_str);
		cJSON_AddNumberToObject(obj, "internal_port", spec.in);
		cJSON_AddNumberToObject(obj, "lease", res.lease);
		if (res.note[0] != '\0')
			cJSON_AddStringToObject(obj, "note", res.note);
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
		    proto_str(spec.proto), portmap_netinfo(pm)->internal_str,
		    spec.in, method_name(res.method), lease_s);
		if (res.note[0] != '\0')
			fprintf(stderr, "portkeeper: note: %s\n", res.note);
	}
	portmap_free(pm);
	return 0;
}
