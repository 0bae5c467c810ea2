#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli6.h"
#include "mapstore.h"
#include "pcp.h"
#include "portmap.h"
#include "portspec.h"
#include "util.h"

#define DEFAULT_LEASE	3600

static const char usage[] = "portkeeper open EXT[:INT][/tcp|/udp] [-4|-6] "
    "[--address ADDR] [--lease SECONDS] [--any-port] "
    "[--via auto|upnp|natpmp|pcp] [--json]";

static void
help(void)
{
	printf("usage: %s\n\n"
	    "Forwards external port EXT on the home router to port INT (default "
	    "EXT) on this\nhost's LAN address, for TCP (default) or UDP.  Over "
	    "IPv6 it opens a pinhole in\nthe router's firewall for port INT of "
	    "this host's own global address instead\n(PCP, else UPnP IGD:2): "
	    "IPv6 has no port translation.\n\n"
	    CLI_FAMILY_HELP
	    "  --lease SECONDS         how long the router keeps the forward "
	    "(default %d;\n"
	    "                          0 asks for a permanent one, UPnP only)\n"
	    "                          (IPv6: 1 to 86400, no permanent pinholes)\n"
	    "  --any-port              accept another external port if the "
	    "router offers one\n"
	    CLI_COMMON_HELP
	    "\nExit status: 0 done (without -4 or -6: every family tried "
	    "worked, or IPv4 failed\nonly for want of a public address and "
	    "IPv6 worked), 1 the router refused or\ncould not be reached, 2 "
	    "usage.\n", usage, DEFAULT_LEASE);
}

struct open_args {
	unsigned long		lease;
	bool			any_port;
	struct cli_family	fam;
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
	return cli6_family_opt(c, arg, &a->fam, err) == 1 ? 0 : -1;
}

/* Keeps a PCP forward's nonce for close; a failure costs only that. */
static void
remember(const struct portmap *pm, const struct portspec *spec,
    const struct portmap_open_result *res)
{
	struct mapstore_entry e;
	char dir[256], err[320];

	memset(&e, 0, sizeof(e));
	e.family = 4;
	e.proto = spec->proto;
	str_copy(e.addr, portmap_netinfo(pm)->internal_str, sizeof(e.addr));
	e.port = spec->in;
	e.ext_port = res->ext_port;
	e.kind = MS_PCP;
	memcpy(e.nonce, res->nonce, sizeof(e.nonce));
	e.expires = (int64_t)time(NULL) + res->lease;
	if (mapstore_dir(dir, sizeof(dir), err, sizeof(err)) == -1 ||
	    mapstore_put(dir, &e, err, sizeof(err)) == -1)
		fprintf(stderr, "portkeeper: warning: cannot record the PCP "
		    "nonce of port %u, so close will need --nonce: %s\n",
		    spec->ext, err);
}

static cJSON *
open4_json(const struct portmap *pm, const struct portspec *spec,
    const struct portmap_open_result *res)
{
	cJSON *obj = cJSON_CreateObject();

	cJSON_AddTrueToObject(obj, "ok");
	cJSON_AddNumberToObject(obj, "family", 4);
	cJSON_AddStringToObject(obj, "method", portmap_method_str(res->method));
	cJSON_AddStringToObject(obj, "protocol", portspec_proto_str(spec->proto));
	cJSON_AddStringToObject(obj, "external_ip",
	    portmap_info(pm)->external_ip);
	cJSON_AddNumberToObject(obj, "external_port", res->ext_port);
	cJSON_AddStringToObject(obj, "internal_ip",
	    portmap_netinfo(pm)->internal_str);
	cJSON_AddNumberToObject(obj, "internal_port", spec->in);
	cJSON_AddNumberToObject(obj, "lease", res->lease);
	if (res->note[0] != '\0')
		cJSON_AddStringToObject(obj, "note", res->note);
	if (res->has_nonce) {
		char hex[2 * PCP_NONCE_LEN + 1];

		/* What close --nonce needs to remove it (PCP). */
		pcp_nonce_hex(res->nonce, hex);
		cJSON_AddStringToObject(obj, "nonce", hex);
	}
	return obj;
}

static void
open4_print(const struct portmap *pm, const struct portspec *spec,
    const struct portmap_open_result *res)
{
	char lease_s[32];

	if (res->lease == 0)
		str_copy(lease_s, "permanent", sizeof(lease_s));
	else
		snprintf(lease_s, sizeof(lease_s), "lease %u s", res->lease);
	printf("opened %s:%u/%s -> %s:%u via %s, %s\n",
	    portmap_info(pm)->external_ip, res->ext_port,
	    portspec_proto_str(spec->proto), portmap_netinfo(pm)->internal_str,
	    spec->in, portmap_method_name(res->method), lease_s);
	if (res->note[0] != '\0')
		fprintf(stderr, "portkeeper: note: %s\n", res->note);
}

/* The IPv4 forward: 0 with *out its JSON, or -1 with err. */
static int
open4(const struct cli_opts *o, const struct open_args *a,
    const struct portspec *spec, cJSON **out, struct pm_error *err)
{
	struct portmap *pm;
	struct portmap_open_result res;

	*out = NULL;
	if ((pm = portmap_new(o->via, o->timeout_ms, err)) == NULL)
		return -1;
	if (portmap_open(pm, spec, (uint32_t)a->lease, a->any_port,
	    "portkeeper", &res, err) == -1) {
		if (res.offered_port != 0)
			pmerr_append(err, "; pass --any-port to accept port "
			    "%u", res.offered_port);
		portmap_free(pm);
		return -1;
	}
	if (res.has_nonce)
		remember(pm, spec, &res);
	*out = open4_json(pm, spec, &res);
	if (!o->json)
		open4_print(pm, spec, &res);
	portmap_free(pm);
	return 0;
}


int
cmd_open(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "lease",	required_argument,	NULL,	'l' },
		{ "any-port",	no_argument,		NULL,	'a' },
		CLI_FAMILY_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct open_args a;
	const struct cli_spec cs = {
		usage, help, "l:a" CLI_FAMILY_SHORTOPTS, longopts, open_opt, &a,
		1, 1, "which port? give EXT[:INT][/tcp|/udp], e.g. 80 or "
		"80:8080/tcp"
	};
	struct cli_opts o;
	struct pm_error err4, err6;
	struct portspec spec;
	cJSON *obj4 = NULL, *obj6 = NULL;
	char ebuf[160];
	int argi, rc, rc4 = 0, rc6 = 0;

	memset(&a, 0, sizeof(a));
	a.lease = DEFAULT_LEASE;
	if ((argi = cli_parse(&cs, argc, argv, &o, &rc)) == -1)
		return rc;
	if (cli6_check(&a.fam, &err4) == -1)
		return cli_usage_error(&o, usage, "%s", err4.msg);
	if (portspec_parse(argv[argi], 1, &spec, ebuf, sizeof(ebuf)) == -1)
		return cli_usage_error(&o, usage, "%s", ebuf);
	if (a.fam.family == 6 && spec.in != spec.ext)
		return cli_usage_error(&o, usage, "IPv6 has no port "
		    "translation: a pinhole opens this host's own port, so "
		    "run portkeeper open %u -6 (or make the server listen on "
		    "%u)", spec.in, spec.ext);
	if (a.lease == 0 && (o.via == PM_NATPMP || o.via == PM_PCP))
		return cli_usage_error(&o, usage, "%s cannot make permanent "
		    "forwards: give --lease SECONDS", portmap_method_name(o.via));

	pmerr_clear(&err4);
	pmerr_clear(&err6);
	if (a.fam.family != 6)
		rc4 = open4(&o, &a, &spec, &obj4, &err4);
	if (a.fam.family != 4)
		rc6 = cli6_open(&o, &a.fam, &spec, (uint32_t)(a.lease == 0 ?
		    DEFAULT_LEASE : a.lease), &obj6, &err6);
	return cli6_finish(&o, a.fam.family, rc4, obj4, &err4, rc6, obj6,
	    &err6);
}
