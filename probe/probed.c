/*
 * portkeeper probe-server: the outside end of portkeeper doctor's
 * "external" check, for a machine outside the home network.  It connects
 * back only to whoever asks, and answers JSON (see probe.h).
 *
 * It is a program of its own, portkeeper-probe-server, which
 * `portkeeper probe-server` execs: it is the only part of the command line
 * that serves HTTP, and libmicrohttpd brings GnuTLS and eight more shared
 * libraries with it, which every other command would load for nothing.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "probe.h"
#include "util.h"

static const char usage[] = "portkeeper probe-server --listen ADDR:PORT "
    "[--rate N] [--connect-timeout MS] [-v]";

static void
help(void)
{
	printf("usage: %s\n\n"
	    "Answers portkeeper doctor's questions from outside the home "
	    "network: on\n\"POST /probe {\"port\":N,\"protocol\":\"tcp\"}\" "
	    "it connects back to the address the\nrequest came from (never to "
	    "any other), on port N, and says in JSON whether\nthat worked and "
	    "which source address it saw.  Run it on a VPS or a friend's\n"
	    "machine and give its URL to the doctor: portkeeper doctor 80 "
	    "--probe\nhttp://HOST:PORT.\n\n"
	    "  --listen ADDR:PORT      where to listen: A.B.C.D:PORT or "
	    "[IPV6]:PORT\n"
	    "                          ([::]:PORT takes IPv4 too)\n"
	    "  --rate N                probes a minute per source address "
	    "(default %d;\n"
	    "                          IPv6 counts per /64); more get HTTP 429\n"
	    "  --connect-timeout MS    how long to try to connect back "
	    "(default %d)\n"
	    "  -v, --verbose           log every probe on stderr\n"
	    "  -h, --help              show this help\n\n"
	    "It runs until SIGINT or SIGTERM.  Exit status: 0 stopped, 1 "
	    "cannot listen,\n2 usage.\n", usage, PROBE_DEFAULT_RATE,
	    PROBE_DEFAULT_CONNECT_MS);
}

struct server_args {
	const char		*listen;
	unsigned long		 rate;
	unsigned long		 connect_ms;
	struct probe_server_opts opts;
};

static int
server_opt(int c, const char *arg, void *ctx, struct pm_error *err)
{
	struct server_args *a = ctx;
	char ebuf[200];

	switch (c) {
	case 'l':
		if (probe_listen_parse(arg, &a->opts.addr, &a->opts.addrlen,
		    ebuf, sizeof(ebuf)) == -1) {
			pmerr_set(err, PME_USAGE, 0, "%s", ebuf);
			return -1;
		}
		a->listen = arg;
		return 0;
	case 'r':
		if (parse_uint(arg, 1, 100000, &a->rate) == -1) {
			pmerr_set(err, PME_USAGE, 0, "bad --rate \"%s\": expected "
			    "probes a minute, 1 to 100000", arg);
			return -1;
		}
		return 0;
	case 'T':
		if (parse_uint(arg, 100, 30000, &a->connect_ms) == -1) {
			pmerr_set(err, PME_USAGE, 0, "bad --connect-timeout "
			    "\"%s\": expected milliseconds, 100 to 30000", arg);
			return -1;
		}
		return 0;
	}
	return -1;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen",		required_argument,	NULL,	'l' },
		{ "rate",		required_argument,	NULL,	'r' },
		{ "connect-timeout",	required_argument,	NULL,	'T' },
		{ NULL, 0, NULL, 0 }
	};
	struct server_args a;
	const struct cli_spec cs = {
		usage, help, "l:", longopts, server_opt, &a, 0, 0, NULL
	};
	struct cli_opts o;
	struct pm_error err;
	struct probe_server *ps;
	sigset_t set;
	char where[80];
	int argi, rc, sig;

	log_init("portkeeper probe-server", 0);
	/* A client that hangs up mid-answer must not kill us through send(). */
	signal(SIGPIPE, SIG_IGN);
	memset(&a, 0, sizeof(a));
	a.rate = PROBE_DEFAULT_RATE;
	a.connect_ms = PROBE_DEFAULT_CONNECT_MS;
	if ((argi = cli_parse(&cs, argc, argv, &o, &rc)) == -1)
		return rc;
	if (a.listen == NULL)
		return cli_usage_error(&o, usage, "where should it listen? give "
		    "--listen ADDR:PORT, e.g. --listen 0.0.0.0:8770");
	log_init("portkeeper probe-server", o.verbose + 1);
	a.opts.rate = (unsigned)a.rate;
	a.opts.connect_ms = (int)a.connect_ms;

	/*
	 * Signals are taken by sigwait() here; every thread libmicrohttpd
	 * starts inherits the mask and never sees them.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if ((ps = probe_server_start(&a.opts, &err)) == NULL)
		return cli_fail(&o, &err);
	probe_server_addr(ps, where, sizeof(where));
	log_warnx("listening on %s; at most %lu probes a minute per source, "
	    "connecting back for up to %lu ms", where, a.rate, a.connect_ms);
	for (;;) {
		if (sigwait(&set, &sig) != 0 || sig != SIGHUP)
			break;
	}
	log_warnx("stopping");
	probe_server_stop(ps);
	(void)argi;
	return 0;
}
