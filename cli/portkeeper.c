/*
 * portkeeper: open, close and list port forwards on the home router and show
 * its addresses.  main() only finds the subcommand; each lives in its own
 * file.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "util.h"

#ifndef PK_VERSION
#define PK_VERSION "0.1.0"
#endif

static int	help_main(int, char **);

static const struct {
	const char	*name;
	int		(*fn)(int, char **);
	const char	*help;
} commands[] = {
	{ "open", cmd_open, "Forward a port on the home router to this host" },
	{ "close", cmd_close, "Remove a forward to this host" },
	{ "list", cmd_list, "Show the router's port forwarding table" },
	{ "ip", cmd_ip, "Show this host's, the gateway's and the router's "
	    "external address" },
	{ "status", cmd_status, "Show what portkeeperd is doing" },
	{ "doctor", cmd_doctor, "Say why a forward fails and what to do" },
	{ "probe-server", cmd_probe_server, "Answer doctor's probes from "
	    "outside the home network" },
	{ "passwd", cmd_passwd, "Set a password for portkeeperd's web UI" },
	{ "help", help_main, "Show help for a command" },
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: portkeeper COMMAND [OPTIONS]\n\n"
	    "Opens ports on the home router (UPnP-IGD or NAT-PMP) and keeps "
	    "track of its\naddresses.\n\nCommands:\n");
	for (i = 0; i < nitems(commands); i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\nRun \"portkeeper COMMAND --help\" for a command's "
	    "options.\n");
}

static int
help_main(int argc, char **argv)
{
	char *hargv[] = { NULL, "--help", NULL };
	size_t i;

	if (argc < 2) {
		usage(stdout);
		return 0;
	}
	for (i = 0; i < nitems(commands); i++) {
		if (strcmp(argv[1], commands[i].name) == 0 &&
		    commands[i].fn != help_main) {
			hargv[0] = argv[1];
			return commands[i].fn(2, hargv);
		}
	}
	fprintf(stderr, "portkeeper: no command \"%s\"\n", argv[1]);
	return 2;
}

int
main(int argc, char **argv)
{
	size_t i;

	log_init("portkeeper", 0);
	/* A router that hangs up mid-request must not kill us through send(). */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("portkeeper %s\n", PK_VERSION);
		return 0;
	}
	for (i = 0; i < nitems(commands); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "portkeeper: unknown command \"%s\"\n\n", argv[1]);
	usage(stderr);
	return 2;
}
