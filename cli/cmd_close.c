#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli6.h"
#include "mapstore.h"
#include "pcp.h"
#include "portmap.h"
#include "portspec.h"
#include "util.h"

static const char usage[] = "portkeeper close EXT[:INT][/tcp|/udp] [-4|-6] "
    "[--address ADDR] [--via auto|upnp|natpmp|pcp] [--nonce HEX] [--json]";

static void
help(void)
{
	printf("usage: %s\n\n"
	    "Removes the forward of external port EXT to this host.  Forwards "
	    "to other hosts\nare never touched.  Closing a port that is not "
	    "forwarded succeeds.  NAT-PMP\nremoves by internal port: give "
	    ":INT when it differs from EXT and the router\ndoes not speak "
	    "UPnP.  Over IPv6 it closes the pinhole portkeeper opened for port "
	    "INT of this\nhost (no protocol lists pinholes: portkeeper keeps "
	    "what closes them in\n$XDG_RUNTIME_DIR/portkeeper or "
	    "/run/portkeeper).\n\n"
	    CLI_FAMILY_HELP
	    "  --nonce HEX             PCP: the nonce open printed (by default "
	    "the one\n"
	    "                          portkeeper kept); PCP removes a forward "
	    "only for the\n"
	    "                          nonce that made it\n"
	    CLI_COMMON_HELP, usage);
}

struct close_args {
	bool			has_nonce;
	uint8_t			nonce[PCP_NONCE_LEN];
	struct cli_family	fam;
};

static int
close_opt(int c, const char *arg, void *ctx, struct pm_error *err)
{
	struct close_args *a = ctx;

	if (c != 'n')
		return cli6_family_opt(c, arg, &a->fam, err) == 1 ? 0 : -1;
	if (pcp_nonce_parse(arg, a->nonce) == -1) {
		pmerr_set(err, PME_USAGE, 0, "bad --nonce \"%.40s\": expected "
		    "the 24 hex digits open printed", arg);
		return -1;
	}
	a->has_nonce = true;
	return 0;
}

/*
 * The record of this host's PCP forward of external port spec->ext, when
 * the command line did not say the internal port: "close 8095" of a
 * forward opened as 8095:8080.  PCP names a mapping by its internal port
 * (RFC 6887 section 11.1), so spec->in becomes the recorded one.
 */
static void
kept_internal(const char *dir, const char *addr, struct portspec *spec)
{
	struct mapstore_entry *all;
	char err[320];
	int i, n;

	if (spec->in_given || (all = calloc(MAPSTORE_MAX,
	    sizeof(*all))) == NULL)
		return;
	n = mapstore_list(dir, all, MAPSTORE_MAX, err, sizeof(err));
	for (i = 0; i < n; i++) {
		if (all[i].family == 4 && all[i].kind == MS_PCP &&
		    all[i].proto == spec->proto &&
		    all[i].ext_port == spec->ext &&
		    strcmp(all[i].addr, addr) == 0) {
			spec->in = all[i].port;
			break;
		}
	}
	free(all);
}

/*
 * The nonce of this host's PCP forward of spec, as open kept it: 1 found,
 * 0 none.  dir is filled for forgetting it afterwards ("" when unknown).
 */
static int
kept_nonce(const struct portmap *pm, struct portspec *spec,
    uint8_t nonce[PCP_NONCE_LEN], char *dir, size_t dirlen)
{
	struct mapstore_entry e;
	const char *addr = portmap_netinfo(pm)->internal_str;
	char err[320];

	if (mapstore_dir(dir, dirlen, err, sizeof(err)) == -1) {
		dir[0] = '\0';
		return 0;
	}
	kept_internal(dir, addr, spec);
	if (mapstore_get(dir, 4, spec->proto, addr, spec->in, MS_PCP, &e, err,
	    sizeof(err)) != 1)
		return 0;
	memcpy(nonce, e.nonce, PCP_NONCE_LEN);
	return 1;
}

/* The IPv4 forward: 0 with *out its JSON, or -1 with err. */
static int
close4(const struct cli_opts *o, const struct close_args *a,
    const struct portspec *given, cJSON **out, struct pm_error *err)
{
	struct portspec s = *given, *spec = &s;
	struct portmap *pm;
	enum pm_method method = PM_AUTO;
	uint8_t nonce[PCP_NONCE_LEN];
	char dir[256] = "", why[320];
	bool removed, kept = false;

	*out = NULL;
	if ((pm = portmap_new(o->via, o->timeout_ms, err)) == NULL)
		return -1;
	if (a->has_nonce)
		memcpy(nonce, a->nonce, sizeof(nonce));
	else if (o->via == PM_PCP || o->via == PM_AUTO)
		kept = kept_nonce(pm, spec, nonce, dir, sizeof(dir)) == 1;
	if (portmap_close_nonce(pm, spec, a->has_nonce || kept ? nonce : NULL,
	    &removed, &method, err) == -1) {
		portmap_free(pm);
		return -1;
	}
	if (kept && mapstore_del(dir, 4, spec->proto,
	    portmap_netinfo(pm)->internal_str, spec->in, MS_PCP, why,
	    sizeof(why)) == -1)
		fprintf(stderr, "portkeeper: warning: %s\n", why);
	*out = cJSON_CreateObject();
	cJSON_AddTrueToObject(*out, "ok");
	cJSON_AddNumberToObject(*out, "family", 4);
	cJSON_AddStringToObject(*out, "method", portmap_method_str(method));
	cJSON_AddStringToObject(*out, "protocol", portspec_proto_str(spec->proto));
	cJSON_AddNumberToObject(*out, "external_port", spec->ext);
	cJSON_AddBoolToObject(*out, "removed", removed);
	if (o->json)
		;
	else if (removed)
		printf("closed %u/%s via %s\n", spec->ext,
		    portspec_proto_str(spec->proto), portmap_method_name(method));
	else
		printf("%u/%s was not forwarded; nothing to close\n", spec->ext,
		    portspec_proto_str(spec->proto));
	portmap_free(pm);
	return 0;
}

int
cmd_close(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "nonce",	required_argument,	NULL,	'n' },
		CLI_FAMILY_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct close_args a;
	const struct cli_spec cs = {
		usage, help, "n:" CLI_FAMILY_SHORTOPTS, longopts, close_opt, &a,
		1, 1, "which port? give EXT[/tcp|/udp], e.g. 80"
	};
	struct cli_opts o;
	struct pm_error err4, err6;
	struct portspec spec;
	cJSON *obj4 = NULL, *obj6 = NULL;
	char ebuf[160];
	int argi, rc, rc4 = 0, rc6 = 0;

	memset(&a, 0, sizeof(a));
	if ((argi = cli_parse(&cs, argc, argv, &o, &rc)) == -1)
		return rc;
	if (cli6_check(&a.fam, &err4) == -1)
		return cli_usage_error(&o, usage, "%s", err4.msg);
	if (portspec_parse(argv[argi], 1, &spec, ebuf, sizeof(ebuf)) == -1)
		return cli_usage_error(&o, usage, "%s", ebuf);
	if (a.fam.family == 6 && spec.in != spec.ext)
		return cli_usage_error(&o, usage, "IPv6 has no port "
		    "translation: the pinhole is for this host's own port: "
		    "run portkeeper close %u -6", spec.in);

	pmerr_clear(&err4);
	pmerr_clear(&err6);
	if (a.fam.family != 6)
		rc4 = close4(&o, &a, &spec, &obj4, &err4);
	if (a.fam.family != 4)
		rc6 = cli6_close(&o, &a.fam, &spec, &obj6, &err6);
	return cli6_finish(&o, a.fam.family, rc4, obj4, &err4, rc6, obj6,
	    &err6);
}
