/*
 * The portkeeper command line: a table of subcommands (cli.c), one file
 * each, sharing option handling and output helpers.
 */
#ifndef PK_CLI_H
#define PK_CLI_H

#include <cjson/cJSON.h>

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

/*
 * Handles an option every subcommand shares (--via, --json, --timeout,
 * --verbose).  Returns 1 when c was one of them, 0 when not, and -1 with
 * err set when its argument is bad.
 */
int	cli_common_opt(int c, const char *arg, struct cli_opts *o,
	    struct pm_error *err);
void	cli_opts_init(struct cli_opts *, int argc, char **argv);

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
"  --via auto|upnp|natpmp  protocol to use (default auto: whichever answers\n" \
"                          first)\n" \
"  --json                  print one JSON object\n" \
"  --timeout MS            how long to look for the router (default 2500)\n" \
"  -v, --verbose           explain what is happening on stderr\n" \
"  -h, --help              show this help\n"

#endif
