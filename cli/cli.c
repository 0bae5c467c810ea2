#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "util.h"

#define DEFAULT_TIMEOUT_MS	2500

void
cli_opts_init(struct cli_opts *o, int argc, char **argv)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->via = PM_AUTO;
	o->timeout_ms = DEFAULT_TIMEOUT_MS;
	/*
	 * Known before option parsing, so that even a usage error is
	 * reported as JSON to a script that asked for JSON.
	 */
	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--json") == 0)
			o->json = 1;
}

int
cli_common_opt(int c, const char *arg, struct cli_opts *o,
    struct pm_error *err)
{
	unsigned long v;

	switch (c) {
	case 'V':
		if (portmap_method_parse(arg, &o->via) == -1) {
			pmerr_set(err, PME_USAGE, 0, "unknown protocol \"%s\" "
			    "for --via: use auto, upnp, natpmp or pcp", arg);
			return -1;
		}
		return 1;
	case 'j':
		o->json = 1;
		return 1;
	case 't':
		if (parse_uint(arg, 100, 600000, &v) == -1) {
			pmerr_set(err, PME_USAGE, 0, "bad --timeout \"%s\": "
			    "expected milliseconds from 100 to 600000", arg);
			return -1;
		}
		o->timeout_ms = (int)v;
		return 1;
	case 'v':
		o->verbose++;
		log_init("portkeeper", o->verbose + 1);
		return 1;
	}
	return 0;
}

int
cli_print_json(cJSON *obj)
{
	char *s = cJSON_PrintUnformatted(obj);

	if (s != NULL) {
		printf("%s\n", s);
		free(s);
	}
	cJSON_Delete(obj);
	fflush(stdout);
	return 0;
}

cJSON *
cli_error_json(const struct pm_error *err)
{
	cJSON *obj = cJSON_CreateObject(), *e;

	cJSON_AddFalseToObject(obj, "ok");
	e = cJSON_AddObjectToObject(obj, "error");
	cJSON_AddStringToObject(e, "code", pmerr_code_str(err->code));
	cJSON_AddStringToObject(e, "message", err->msg);
	if (err->router_code != 0)
		cJSON_AddNumberToObject(e, "router_code", err->router_code);
	return obj;
}

int
cli_fail(const struct cli_opts *o, const struct pm_error *err)
{
	if (o->json)
		cli_print_json(cli_error_json(err));
	else
		fprintf(stderr, "portkeeper: %s\n", err->msg);
	return pmerr_exit_status(err->code);
}

int
cli_usage_error(const struct cli_opts *o, const char *usage,
    const char *fmt, ...)
{
	struct pm_error err;
	va_list ap;

	pmerr_clear(&err);
	err.code = PME_USAGE;
	va_start(ap, fmt);
	vsnprintf(err.msg, sizeof(err.msg), fmt, ap);
	va_end(ap);
	cli_fail(o, &err);
	if (!o->json)
		fprintf(stderr, "usage: %s\n", usage);
	return 2;
}

int
cli_parse(const struct cli_spec *spec, int argc, char **argv,
    struct cli_opts *o, int *status)
{
	static const struct option common[] = {
		CLI_COMMON_LONGOPTS,
	};
	struct option longopts[32];
	char shortopts[64];
	struct pm_error err;
	size_t n = 0, i;
	int c, nargs;

	cli_opts_init(o, argc, argv);
	pmerr_clear(&err);
	for (i = 0; spec->longopts != NULL && spec->longopts[i].name != NULL &&
	    n < nitems(longopts) - nitems(common) - 1; i++)
		longopts[n++] = spec->longopts[i];
	for (i = 0; i < nitems(common); i++)
		longopts[n++] = common[i];
	memset(&longopts[n], 0, sizeof(longopts[n]));
	snprintf(shortopts, sizeof(shortopts), "%s%s",
	    spec->shortopts != NULL ? spec->shortopts : "",
	    CLI_COMMON_SHORTOPTS);

	*status = 2;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			spec->help();
			*status = 0;
			return -1;
		case '?':
			cli_usage_error(o, spec->usage, "unknown option or "
			    "missing argument in \"%s\"", argv[optind - 1]);
			return -1;
		default:
			switch (cli_common_opt(c, optarg, o, &err)) {
			case 1:
				continue;
			case 0:
				if (spec->opt != NULL &&
				    spec->opt(c, optarg, spec->ctx, &err) == 0)
					continue;
				if (spec->opt == NULL)
					pmerr_set(&err, PME_USAGE, 0, "unexpected "
					    "option \"%s\"", argv[optind - 1]);
				break;
			}
			cli_usage_error(o, spec->usage, "%s", err.msg);
			return -1;
		}
	}
	nargs = argc - optind;
	if (nargs < spec->min_args) {
		cli_usage_error(o, spec->usage, "%s", spec->missing != NULL ?
		    spec->missing : "missing argument");
		return -1;
	}
	if (nargs > spec->max_args) {
		cli_usage_error(o, spec->usage, spec->max_args == 0 ?
		    "%s takes no arguments" : "too many arguments after %s",
		    spec->max_args == 0 ? argv[0] : argv[optind]);
		return -1;
	}
	return optind;
}
