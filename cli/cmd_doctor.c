/*
 * portkeeper doctor: the command line around doctor.c.  Options, the
 * configuration (for the probe URL and the configured forwards), signals
 * (a Ctrl-C still removes the probe mapping), and the report for people.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "doctor.h"
#include "doctor_audit.h"
#include "doctor6.h"
#include "job.h"
#include "portmap.h"
#include "probe.h"
#include "router.h"
#include "util.h"

#define WIDTH	78

static const char usage[] = "portkeeper doctor [EXT[/tcp|/udp]] [-4|-6] "
    "[--internal PORT] [--probe URL] [-c FILE] [--json]";

static void
help(void)
{
	printf("usage: %s\n\n"
	    "Finds out why a forward fails and says what to do.  With a port, "
	    "checks the\nrouter (gateway, external_ip), this host (internal_ip, "
	    "listener), the forward\n(mapping), whether it works from inside "
	    "the LAN through the router's external\naddress (hairpin, with a "
	    "probe mapping of %d s that is removed at the end),\nand, with a "
	    "probe server, from the internet (external).  Without a port,\n"
	    "audits every configured forward and the router's table.  Over "
	    "IPv6 (when this\nhost has a stable global address, or with -6) "
	    "it checks ipv6_address,\nipv6_route, pinhole_service, "
	    "ipv6_listener, pinhole and ipv6_external (the\nprobe server "
	    "connects back to [ADDR]:INT).\n\n"
	    "  -4, -6                  IPv4 or IPv6 only (default: both, "
	    "and the verdict\n"
	    "                          combines them)\n"
	    "  --internal PORT         the port on this host (default: the "
	    "configured\n"
	    "                          forward's, the router's forward's, or "
	    "EXT)\n"
	    "  --probe URL             a portkeeper probe-server outside the "
	    "home network,\n"
	    "                          e.g. http://vps.example.net:8770 "
	    "(default: probe = URL\n"
	    "                          in the configuration)\n"
	    "  -c, --config FILE       the configuration (default, if it "
	    "exists:\n"
	    "                          %s)\n"
	    CLI_COMMON_HELP
	    "\nVerdicts: ok, no_gateway, cgnat, double_nat, no_listener, "
	    "no_mapping,\nmapping_conflict, hairpin_unsupported, "
	    "external_blocked;\nipv6_no_address, ipv6_no_pinhole_service, "
	    "ipv6_pinhole_refused,\nipv6_no_listener, ipv6_blocked, ipv6_only "
	    "(works over IPv6 alone, IPv4 being\nbehind carrier-grade NAT).\n"
	    "Exit status: 0 ok, 1 any other verdict or an error, 2 usage.\n",
	    usage, 60, CONFIG_DEFAULT_PATH);
}

struct doctor_args {
	int		family;		/* 0 both, 4, 6 */
	unsigned long	internal;
	const char	*probe;
	const char	*config;
};

static int
doctor_opt(int c, const char *arg, void *ctx, struct pm_error *err)
{
	struct doctor_args *a = ctx;
	struct probe_url u;
	char ebuf[256];

	switch (c) {
	case '4':
	case '6':
		if (a->family != 0 && a->family != c - '0') {
			pmerr_set(err, PME_USAGE, 0, "-4 and -6 do not go "
			    "together: give neither for both families");
			return -1;
		}
		a->family = c - '0';
		return 0;
	case 'i':
		if (parse_uint(arg, 1, 65535, &a->internal) == -1) {
			pmerr_set(err, PME_USAGE, 0, "bad --internal \"%s\": "
			    "expected a port from 1 to 65535", arg);
			return -1;
		}
		return 0;
	case 'p':
		if (probe_url_parse(arg, &u, ebuf, sizeof(ebuf)) == -1) {
			pmerr_set(err, PME_USAGE, 0, "%s", ebuf);
			return -1;
		}
		a->probe = arg;
		return 0;
	case 'c':
		a->config = arg;
		return 0;
	}
	return -1;
}

static volatile sig_atomic_t stop_signal;

static void
on_signal(int sig)
{
	stop_signal = sig;
}

/*
 * The first SIGINT or SIGTERM asks the doctor to stop and clean up; the
 * handler is then reset, so a second one ends the program at once (the
 * probe mapping's short lease covers that).
 */
static void
catch_signals(void)
{
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	/* A background job of a shell has SIGINT ignored: keep it so. */
	sigaction(SIGINT, NULL, &old);
	if (old.sa_handler != SIG_IGN)
		sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* Prints text wrapped at WIDTH, the first line after first, the rest indented. */
static void
wrap(const char *first, int indent, const char *text)
{
	int col, len;
	const char *p = text, *sp;

	col = printf("%s", first);
	while (*p != '\0') {
		while (*p == ' ')
			p++;
		sp = p + strcspn(p, " ");
		len = (int)(sp - p);
		if (len == 0)
			break;
		if (col > indent && col + 1 + len > WIDTH) {
			printf("\n%*s", indent, "");
			col = indent;
		} else if (col > indent || (col == indent && p != text &&
		    col != (int)strlen(first))) {
			putchar(' ');
			col++;
		}
		col += printf("%.*s", len, p);
		p = sp;
	}
	putchar('\n');
}

static void
print_check(const char *pad, const char *name, const struct doctor_check *c)
{
	char first[64];
	int n;

	/* IPv6's longer names keep a space before the sentence. */
	n = snprintf(first, sizeof(first), "%s%-4s  %-*s", pad,
	    doctor_status_str(c->status), strlen(name) < 13 ? 13 :
	    (int)strlen(name) + 1, name);
	wrap(first, n, c->detail);
}

/* What the router is, and each quirk portkeeper met on it. */
static void
print_router(const struct portmap_info *in)
{
	char line[384];
	unsigned bit;

	router_describe(in, line + 8, sizeof(line) - 8);
	if (line[8] == '\0')
		return;
	memcpy(line, "router: ", 8);
	wrap("  ", 4, line);
	for (bit = 1; bit & PMQ_ALL; bit <<= 1)
		if (in->quirks & bit)
			wrap("  - ", 4, router_quirk_str((enum pm_quirk)bit));
}

/* The IPv6 checks, or the one line that says why there are none. */
static void
print_report6(const struct doctor6_report *r6)
{
	char line[640];
	size_t i;

	if (r6 == NULL)
		return;
	putchar('\n');
	if (!r6->counts) {
		snprintf(line, sizeof(line), "IPv6 not checked: %s", r6->why_not);
		wrap("  ", 2, line);
		return;
	}
	snprintf(line, sizeof(line), "IPv6: [%s]:%u/%s (router %s)",
	    r6->address[0] != '\0' ? r6->address : "?", r6->port,
	    portspec_proto_str(r6->proto), r6->gateway[0] != '\0' ?
	    r6->gateway : "?");
	wrap("  ", 2, line);
	for (i = 0; i < DOC6_NCHECKS; i++)
		print_check("  ", doctor6_check_str(i), &r6->checks[i]);
}

static void
print_report(const struct doctor_report *r, const struct doctor6_report *r6,
    const char *verdict, const char *summary, bool v4)
{
	size_t i;
	char line[256];

	if (!v4)
		printf("portkeeper doctor: port %u/%s over IPv6 (-6)\n", r->port,
		    portspec_proto_str(r->proto));
	else {
		snprintf(line, sizeof(line), "portkeeper doctor: port %u/%s -> "
		    "%s:%u (router %s, external address %s)", r->port,
		    portspec_proto_str(r->proto), r->internal_ip[0] != '\0' ?
		    r->internal_ip : "?", r->internal_port, r->gateway[0] !=
		    '\0' ? r->gateway : "?", r->external_ip[0] != '\0' ?
		    r->external_ip : "unknown");
		wrap("", 2, line);
		print_router(&r->router);
		putchar('\n');
		for (i = 0; i < DOC_NCHECKS; i++)
			print_check("  ", doctor_check_str(i), &r->checks[i]);
	}
	print_report6(r6);
	printf("\nverdict: %s\n", verdict);
	wrap("  ", 2, summary);
}

/* The audit's IPv6 part, after its IPv4 one. */
static void
print_audit6(const struct doctor6_audit *a6)
{
	static const char *const ids[] = {
		"ipv6_address", "ipv6_route", "pinhole_service", "ipv6_exposure",
	};
	char line[640];
	size_t i;

	putchar('\n');
	if (!a6->counts) {
		snprintf(line, sizeof(line), "IPv6 not checked: %s", a6->why_not);
		wrap("", 2, line);
		return;
	}
	printf("IPv6 (this host [%s]):\n", a6->address);
	for (i = 0; i < nitems(ids); i++)
		print_check("  ", ids[i], &a6->checks[i]);
	for (i = 0; i < a6->nfwd; i++) {
		printf("  %s: port %u/%s: %s\n", a6->fwd[i].name,
		    a6->fwd[i].port, portspec_proto_str(a6->fwd[i].proto),
		    doctor6_verdict_str(a6->fwd[i].verdict));
		print_check("    ", doctor6_check_str(DOC6_LISTENER),
		    &a6->fwd[i].listener);
		print_check("    ", doctor6_check_str(DOC6_PINHOLE),
		    &a6->fwd[i].pinhole);
	}
}

static void
print_audit(const struct doctor_audit *a, const struct doctor6_audit *a6,
    const char *verdict)
{
	char line[512];
	size_t i;

	snprintf(line, sizeof(line), "portkeeper doctor: audit of %s (this "
	    "host %s, router %s, external address %s)",
	    a->config_path[0] != '\0' ? a->config_path : "the router's table",
	    a->internal_ip[0] != '\0' ? a->internal_ip : "?",
	    a->gateway[0] != '\0' ? a->gateway : "?",
	    a->external_ip[0] != '\0' ? a->external_ip : "unknown");
	wrap("", 2, line);
	print_router(&a->router);
	putchar('\n');
	for (i = DOC_GATEWAY; i <= DOC_INTERNAL_IP; i++)
		print_check("  ", doctor_check_str(i), &a->checks[i]);
	if (a->nfwd > 0)
		printf("\nconfigured forwards:\n");
	for (i = 0; i < a->nfwd; i++) {
		const struct doctor_fwd_report *f = &a->fwd[i];

		printf("  %s: %u/%s -> port %u: %s\n", f->name, f->port,
		    portspec_proto_str(f->proto), f->internal_port,
		    doctor_verdict_str(f->verdict));
		print_check("    ", doctor_check_str(DOC_MAPPING), &f->mapping);
		print_check("    ", doctor_check_str(DOC_LISTENER),
		    &f->listener);
	}
	printf("\nrouter table: ");
	if (!a->table_known)
		printf("not known: %s\n", a->table_detail);
	else if (a->nent == 0)
		printf("empty\n");
	else
		printf("%zu entr%s\n", a->nent, a->nent == 1 ? "y" : "ies");
	for (i = 0; i < a->nent; i++) {
		const struct doctor_entry *e = &a->ent[i];

		printf("  %u/%s -> %s:%u  %s\n", e->m.ext_port,
		    portspec_proto_str(e->m.proto), e->m.int_client, e->m.int_port,
		    doctor_entry_kind_str(e->kind));
		wrap("      ", 6, e->detail);
	}
	if (a6 != NULL)
		print_audit6(a6);
	printf("\nverdict: %s\n", verdict);
	wrap("  ", 2, a->summary);
}

/* Loads -c FILE (an error), or the default file if it is there. */
static int
load_config(const struct cli_opts *o, const char *path, struct config *cfg,
    bool *have)
{
	char err[512];

	*have = false;
	config_init(cfg);
	if (path == NULL) {
		if (access(CONFIG_DEFAULT_PATH, R_OK) == -1)
			return 0;
		path = CONFIG_DEFAULT_PATH;
		if (config_load(path, cfg, err, sizeof(err)) == -1) {
			fprintf(stderr, "portkeeper: ignoring the configuration: "
			    "%s\n", err);
			return 0;
		}
	} else if (config_load(path, cfg, err, sizeof(err)) == -1) {
		cli_usage_error(o, usage, "%s", err);
		return -1;
	}
	*have = true;
	/* The web UI's forwards are the daemon's as much as the file's. */
	if (config_webfwd_add(cfg, err, sizeof(err)) == -1)
		fprintf(stderr, "portkeeper: the forwards added in the web UI "
		    "are not known, so the audit may call them unmanaged: %s%s\n",
		    err, strstr(err, strerror(EACCES)) != NULL ? " (run it as "
		    "root, or as a member of the group portkeeper)" : "");
	return 0;
}

/*
 * portkeeper doctor EXT: IPv4's run here, IPv6's on a job beside it (each
 * unless -6 or -4 leaves it out), then the one verdict of both.
 */
static int
doctor_one(const struct cli_opts *o, struct doctor_opts *dopt,
    const struct config *cfg, bool have_cfg, int family)
{
	struct doctor_report *r;
	struct doctor6_call *c6 = NULL;
	struct job *j6 = NULL;
	const char *verdict;
	char summary[2560];
	cJSON *obj;
	size_t i;
	int rc;

	/* A configured forward says which internal port is meant. */
	for (i = 0; i < cfg->nfwd; i++) {
		if (cfg->fwd[i].ext == dopt->spec.ext &&
		    cfg->fwd[i].proto == dopt->spec.proto) {
			dopt->forward = &cfg->fwd[i];
			if (!dopt->internal_given) {
				dopt->spec.in = cfg->fwd[i].in;
				dopt->internal_given = true;
			}
		}
	}
	/* A forward kept over IPv6 alone has no IPv4 side to check. */
	if (family == 0 && dopt->forward != NULL &&
	    !config_forward_v4(dopt->forward))
		family = 6;
	if ((r = calloc(1, sizeof(*r))) == NULL || (family != 4 &&
	    (c6 = calloc(1, sizeof(*c6))) == NULL)) {
		free(r);
		fprintf(stderr, "portkeeper: out of memory\n");
		return 1;
	}
	if (c6 != NULL) {
		doctor6_opts_from(&c6->o, dopt, have_cfg ? cfg : NULL, family);
		if ((j6 = job_start(doctor6_job, c6, NULL)) == NULL)
			doctor6_job(c6);
	}
	if (family != 6)
		doctor_run(dopt, r);
	else
		doctor6_skip_v4(r, dopt->spec.ext, dopt->spec.proto,
		    "IPv6 only (-6)");
	/* Every IPv6 step has a deadline of its own, and sees a stop. */
	if (j6 != NULL) {
		job_wait(j6, INT64_MAX);
		job_release(j6);
	}
	verdict = doctor6_words(family != 6 ? r : NULL, c6 != NULL ? &c6->r :
	    NULL, summary, sizeof(summary));
	if (stop_signal == 0 && o->json) {
		obj = doctor_report_json(r);
		if (c6 != NULL)
			doctor6_json_both(obj, verdict, summary, family == 6 ? "skipped" :
			    doctor_verdict_str(r->verdict),
			    doctor6_report_json(&c6->r));
		cli_print_json(obj);
	} else if (stop_signal == 0)
		print_report(r, c6 != NULL ? &c6->r : NULL, verdict, summary,
		    family != 6);
	if (r->probe_mapping_made && !r->probe_mapping_removed)
		fprintf(stderr, "portkeeper: the probe mapping of port "
		    "%u/tcp could not be removed; it expires within a "
		    "minute\n", r->probe_port);
	rc = strcmp(verdict, "ok") == 0 ? 0 : 1;
	free(c6);
	free(r);
	return rc;
}

/*
 * portkeeper doctor without a port: the audit over IPv4, then over IPv6
 * (each unless -6 or -4 leaves it out), with one verdict of both.
 */
static int
doctor_all(const struct cli_opts *o, struct doctor_opts *dopt,
    const struct config *cfg, bool have_cfg, int family)
{
	struct doctor_audit au;
	struct doctor6_audit a6;
	struct doctor6_opts o6;
	const char *verdict;
	char summary[2048];
	cJSON *obj;
	size_t i;

	memset(&au, 0, sizeof(au));
	if (family != 6)
		doctor_audit_run(dopt, have_cfg ? cfg : NULL, &au);
	else
		for (i = 0; i < DOC_NCHECKS; i++)
			snprintf(au.checks[i].detail, sizeof(au.checks[i].detail),
			    "not checked: IPv6 only (-6)");
	if (family != 4) {
		doctor6_opts_from(&o6, dopt, have_cfg ? cfg : NULL, family);
		doctor6_audit(&o6, &a6);
	}
	verdict = doctor6_audit_words(&au, family != 6, family != 4 ? &a6 :
	    NULL, summary, sizeof(summary));
	if (stop_signal == 0 && o->json) {
		obj = doctor_audit_json(&au);
		if (family != 4)
			doctor6_json_both(obj, verdict, summary, family == 6 ? "skipped" :
			    doctor_verdict_str(au.verdict), doctor6_audit_json(&a6));
		cli_print_json(obj);
	} else if (stop_signal == 0) {
		str_copy(au.summary, summary, sizeof(au.summary));
		print_audit(&au, family != 4 ? &a6 : NULL, verdict);
	}
	doctor_audit_free(&au);
	if (family != 4)
		doctor6_audit_free(&a6);
	return strcmp(verdict, "ok") == 0 ? 0 : 1;
}

int
cmd_doctor(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "internal",	required_argument,	NULL,	'i' },
		{ "probe",	required_argument,	NULL,	'p' },
		{ "config",	required_argument,	NULL,	'c' },
		{ NULL, 0, NULL, 0 }
	};
	struct doctor_args a = { 0, 0, NULL, NULL };
	const struct cli_spec cs = {
		usage, help, "46i:p:c:", longopts, doctor_opt, &a, 0, 1, NULL
	};
	struct cli_opts o;
	struct doctor_opts dopt;
	struct config cfg;
	char ebuf[160];
	bool have_cfg;
	int argi, rc;

	if ((argi = cli_parse(&cs, argc, argv, &o, &rc)) == -1)
		return rc;
	memset(&dopt, 0, sizeof(dopt));
	if (argi < argc) {
		if (portspec_parse(argv[argi], 1, &dopt.spec, ebuf,
		    sizeof(ebuf)) == -1)
			return cli_usage_error(&o, usage, "%s", ebuf);
		dopt.internal_given = dopt.spec.in_given;
		if (a.internal != 0 && dopt.spec.in_given &&
		    a.internal != dopt.spec.in)
			return cli_usage_error(&o, usage, "two internal ports: "
			    "%u in \"%s\" and %lu from --internal", dopt.spec.in,
			    argv[argi], a.internal);
		if (a.internal != 0) {
			dopt.spec.in = (uint16_t)a.internal;
			dopt.internal_given = true;
		}
	} else if (a.internal != 0)
		return cli_usage_error(&o, usage, "--internal needs a port to "
		    "check: portkeeper doctor EXT --internal PORT");
	if (load_config(&o, a.config, &cfg, &have_cfg) == -1)
		return 2;

	dopt.via = o.via;
	dopt.timeout_ms = o.timeout_ms;
	dopt.probe_url = a.probe != NULL ? a.probe : cfg.probe;
	dopt.stop = &stop_signal;
	catch_signals();

	if (argi == argc)
		rc = doctor_all(&o, &dopt, &cfg, have_cfg, a.family);
	else
		rc = doctor_one(&o, &dopt, &cfg, have_cfg, a.family);
	config_free(&cfg);
	if (stop_signal != 0) {
		/* Die of the signal, as the shell expects, now that all is clean. */
		fprintf(stderr, "portkeeper: interrupted\n");
		fflush(stdout);
		signal(stop_signal, SIG_DFL);
		raise(stop_signal);
	}
	return rc;
}
