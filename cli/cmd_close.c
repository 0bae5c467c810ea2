#include <stdio.h>

#include "cli.h"
#include "pcp.h"
#include "portmap.h"
#include "portspec.h"

static const char usage[] = "portkeeper close EXT[:INT][/tcp|/udp] "
    "[--via auto|upnp|natpmp|pcp] [--nonce HEX] [--json]";

static void
help(void)
{
	printf("usage: %s\n\n"
	    "Removes the forward of external port EXT to this host.  Forwards "
	    "to other hosts\nare never touched.  Closing a port that is not "
	    "forwarded succeeds.  NAT-PMP\nremoves by internal port: give "
	    ":INT when it differs from EXT and the router\ndoes not speak "
	    "UPnP.\n\n"
	    "  --nonce HEX             PCP: the nonce open printed; PCP removes a "
	    "forward\n"
	    "                          only for the nonce that made it\n"
	    CLI_COMMON_HELP, usage);
}

struct close_args {
	bool	has_nonce;
	uint8_t	nonce[PCP_NONCE_LEN];
};

static int
close_opt(int c, const char *arg, void *ctx, struct pm_error *err)
{
	struct close_args *a = ctx;

	if (c != 'n')
		return -1;
	if (pcp_nonce_parse(arg, a->nonce) == -1) {
		pmerr_set(err, PME_USAGE, 0, "bad --nonce \"%.40s\": expected "
		    "the 24 hex digits open printed", arg);
		return -1;
	}
	a->has_nonce = true;
	return 0;
}

int
cmd_close(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "nonce",	required_argument,	NULL,	'n' },
		{ NULL, 0, NULL, 0 }
	};
	struct close_args a = { false, { 0 } };
	const struct cli_spec cs = {
		usage, help, "n:", longopts, close_opt, &a, 1, 1,
		"which port? give EXT[/tcp|/udp], e.g. 80"
	};
	struct cli_opts o;
	struct pm_error err;
	struct portspec spec;
	struct portmap *pm;
	enum pm_method method = PM_AUTO;
	bool removed;
	char ebuf[160];
	int argi, rc;

	if ((argi = cli_parse(&cs, argc, argv, &o, &rc)) == -1)
		return rc;
	if (portspec_parse(argv[argi], 1, &spec, ebuf, sizeof(ebuf)) == -1)
		return cli_usage_error(&o, usage, "%s", ebuf);

	if ((pm = portmap_new(o.via, o.timeout_ms, &err)) == NULL)
		return cli_fail(&o, &err);
	if (portmap_close_nonce(pm, &spec, a.has_nonce ? a.nonce : NULL,
	    &removed, &method, &err) == -1) {
		rc = cli_fail(&o, &err);
		portmap_free(pm);
		return rc;
	}
	if (o.json) {
		cJSON *obj = cJSON_CreateObject();

		cJSON_AddTrueToObject(obj, "ok");
		cJSON_AddStringToObject(obj, "method", portmap_method_str(method));
		cJSON_AddStringToObject(obj, "protocol", portspec_proto_str(spec.proto));
		cJSON_AddNumberToObject(obj, "external_port", spec.ext);
		cJSON_AddBoolToObject(obj, "removed", removed);
		cli_print_json(obj);
	} else if (removed)
		printf("closed %u/%s via %s\n", spec.ext, portspec_proto_str(spec.proto),
		    portmap_method_name(method));
	else
		printf("%u/%s was not forwarded; nothing to close\n", spec.ext,
		    portspec_proto_str(spec.proto));
	portmap_free(pm);
	return 0;
}
