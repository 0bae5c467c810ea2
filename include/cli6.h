/*
 * IPv6 for the subcommands that take -4 and -6 (open, close, ip, list): which
 * families the user asked for, and the IPv6 half of each command.
 */
#ifndef PK_CLI6_H
#define PK_CLI6_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "portspec.h"

struct cli_family {
	int		 family;	/* 0: both, 4 or 6 */
	const char	*address;	/* --address, or NULL */
};

#define CLI_FAMILY_LONGOPTS					\
	{ "address",	required_argument,	NULL,	'A' }
#define CLI_FAMILY_SHORTOPTS	"46"
#define CLI_FAMILY_HELP \
"  -4, -6                  IPv4 or IPv6 only (default: IPv4, and IPv6 too\n" \
"                          when this host has a stable global IPv6 address)\n" \
"  --address ADDR          the IPv6 address to open (default: this host's\n" \
"                          stable global one; never a temporary one)\n"

/* Handles -4, -6 and --address: 1 when c was one, 0 not, -1 with err. */
int	cli6_family_opt(int c, const char *arg, struct cli_family *,
	    struct pm_error *err);
/* Checks the options together after parsing: 0, or -1 with err. */
int	cli6_check(const struct cli_family *, struct pm_error *err);

/*
 * The IPv6 half of open, close and ip.  Each returns 0 with *out the JSON
 * of its result (having printed the text form unless o->json), 0 with *out
 * NULL when IPv6 was not to be tried, or -1 with err set and *out the JSON
 * of the error (ip: NULL).  open and close use spec->in: IPv6 has no port
 * translation.
 */
int	cli6_open(const struct cli_opts *o, const struct cli_family *,
	    const struct portspec *spec, uint32_t lease, cJSON **out,
	    struct pm_error *err);
int	cli6_close(const struct cli_opts *o, const struct cli_family *,
	    const struct portspec *spec, cJSON **out, struct pm_error *err);
/*
 * Prints the result of open or close (rc4, rc6: 0 or -1, with the JSON
 * objects and errors of each half; family as -4/-6 gave it) and frees the
 * objects.  Returns the exit status: without -4 or -6, 0 when every family
 * tried worked, or when IPv4 failed only for want of a public address and
 * IPv6 worked (the home behind carrier-grade NAT); else the first error's.
 */
int	cli6_finish(const struct cli_opts *o, int family, int rc4, cJSON *obj4,
	    const struct pm_error *err4, int rc6, cJSON *obj6,
	    const struct pm_error *err6);
/* list: the pinholes portkeeper keeps for this host's address. */
int	cli6_list(const struct cli_opts *o, const struct cli_family *,
	    cJSON **out, struct pm_error *err);
/* ip: *out is JSON null without IPv6; get prints the bare address alone. */
int	cli6_ip(const struct cli_opts *o, const struct cli_family *, bool get,
	    cJSON **out, struct pm_error *err);

#endif
