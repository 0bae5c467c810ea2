/*
 * The configuration written back out, normalized: every key with its value,
 * defaults too, in one order.  This is what portkeeperd -nv shows, as
 * OpenBSD daemons do with their printconf.c, and what a person compares
 * with the file they wrote; the parser (config.c) accepts every value it
 * prints, and fuzz_config checks that the output parses and prints the same.
 */
#include <arpa/inet.h>

#include <stdio.h>

#include "config.h"
#include "mapping.h"
#include "portspec.h"

void
config_print(const struct config *cfg, FILE *fp)
{
	const struct config_forward *f;
	char a6[INET6_ADDRSTRLEN];
	size_t i;

	fprintf(fp, "[portkeeper]\n");
	fprintf(fp, "method = %s\n", portmap_method_str(cfg->method));
	fprintf(fp, "lease = %lu\n", (unsigned long)cfg->lease);
	fprintf(fp, "state_dir = %s\n", cfg->state_dir);
	if (cfg->on_change[0] != '\0')
		fprintf(fp, "on_change = %s\n", cfg->on_change);
	else
		fprintf(fp, "on_change =\n");
	fprintf(fp, "remove_on_exit = %s\n",
	    cfg->remove_on_exit ? "yes" : "no");
	fprintf(fp, "socket = %s\n", cfg->socket);
	fprintf(fp, "verify_interval = %lu\n",
	    (unsigned long)cfg->verify_interval);
	/*
	 * Only when set: the shipped example does not mention it yet, and
	 * the output must stay what that file says when uncommented.
	 */
	if (cfg->probe[0] != '\0')
		fprintf(fp, "probe = %s\n", cfg->probe);
	config_addr6_str(&cfg->addr6, a6, sizeof(a6));
	fprintf(fp, "ipv6 = %s\nipv6_address = %s\n",
	    config_ipv6_str(cfg->ipv6), a6);
	if (cfg->web.enabled) {
		fprintf(fp, "\n[web]\nlisten = %s\n", cfg->web.listen);
		if (cfg->web.htpasswd[0] != '\0')
			fprintf(fp, "htpasswd = %s\n", cfg->web.htpasswd);
		if (cfg->web.allowed_hosts[0] != '\0')
			fprintf(fp, "allowed_hosts = %s\n",
			    cfg->web.allowed_hosts);
		if (cfg->web.tls_cert[0] != '\0')
			fprintf(fp, "tls_cert = %s\ntls_key = %s\n",
			    cfg->web.tls_cert, cfg->web.tls_key);
	}
	for (i = 0; i < cfg->nfwd; i++) {
		f = &cfg->fwd[i];
		fprintf(fp, "\n[forward %s]\n", f->name);
		fprintf(fp, "external = %u\n", f->ext);
		fprintf(fp, "internal = %u\n", f->in);
		fprintf(fp, "protocol = %s\n", portspec_proto_str(f->proto));
		fprintf(fp, "family = %s\n", config_family_str(f->family));
	}
}
