/*
 * The portkeeper command line: a table of subcommands (cli.c), one file
 * each, sharing option handling and output helpers.
 */
#ifndef PK_CLI_H
#define PK_CLI_H

#include <cjson/cJSON.h>
#include <getopt.h>

#include "mapping.h"
#include "pmerr.h"

struct cli_opts {
	enum pm_method	via;
	int		json;
	int		timeout_ms;
	int		verbose;
};

/* Each subcommand: returns the process exit status. */
int	cmd_open(int argc, char **argv);
int	cmd_close(int argc, char **argv);
int	cmd_list(int argc, char **argv);
int	cmd_ip(int argc, char **argv);
int	cmd_status(int argc, char **argv);
int	cmd_doctor(int argc, char **argv);
int	cmd_probe_server(int argc, char **argv);
int	cmd_passwd(int argc, char **argv);

/* What a subcommand accepts on its command line. */
struct cli_spec {
	const char		*usage;		/* "portkeeper open EXT..." */
	void			(*help)(void);
	const char		*shortopts;	/* the command's own */
	const struct option	*longopts;	/* the command's own, or NULL */
	/* Handles one of the command's own options: 0, or -1 with err. */
	int			(*opt)(int c, const char *arg, void *ctx,
				    struct pm_error *err);
	void			*ctx;
	int			 min_args, max_args;
	const char		*missing;	/* said when min_args is not met */
};

/*
 * Parses argv against spec plus the shared options.  Returns the index of
 * the first operand, or -1 with *status set: 0 after --help, 2 after a usage
 * error (already printed).
 */
int	cli_parse(const struct cli_spec *, int argc, char **argv,
	    struct cli_opts *o, int *status);

/*
 * Handles an option every subcommand shares (--via, --json, --timeout,
 * --verbose).  Returns 1 when c was one of them, 0 when not, and -1 with
 * err set when its argument is bad.
 */
int	cli_common_opt(int c, const char *arg, struct cli_opts *o,
	    struct pm_error *err);
void	cli_opts_init(struct cli_opts *, int argc, char **argv);

/* {"ok":false,"error":{"code":…,"message":…}} for err. */
cJSON	*cli_error_json(const struct pm_error *err);
/* Prints err as a sentence on stderr or as JSON; returns the exit status. */
int	cli_fail(const struct cli_opts *, const struct pm_error *err);
/* Prints a usage error with the subcommand's usage line; returns 2. */
int	cli_usage_error(const struct cli_opts *, const char *usage,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prints obj as one line on stdout and frees it; returns 0. */
int	cli_print_json(cJSON *obj);

/* The getopt_long entries for the shared options. */
#define CLI_COMMON_LONGOPTS					\
	{ "via",	required_argument,	NULL,	'V' },	\
	{ "json",	no_argument,		NULL,	'j' },	\
	{ "timeout",	required_argument,	NULL,	't' },	\
	{ "verbose",	no_argument,		NULL,	'v' },	\
	{ "help",	no_argument,		NULL,	'h' }
#define CLI_COMMON_SHORTOPTS	"jt:vh"

#define CLI_COMMON_HELP \
"  --via auto|upnp|natpmp|pcp\n" \
"                          protocol to use (default auto: UPnP or NAT-PMP,\n" \
"                          whichever answers first, PCP serving for\n" \
"                          NAT-PMP when the router speaks it)\n" \
"  --json                  print one JSON object\n" \
"  --timeout MS            how long to look for the router (default 2500)\n" \
"  -v, --verbose           explain what is happening on stderr\n" \
"  -h, --help              show this help\n"

#endif
