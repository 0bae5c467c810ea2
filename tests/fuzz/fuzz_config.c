/*
 * portkeeperd's configuration file (config_parse, and through it inih,
 * config_listen_parse and websec_parse_hosts).  A file that parses must
 * print (config_print, what portkeeperd -nv shows) as a file that parses
 * to the same print again: a normalized configuration that the daemon
 * would refuse, or read differently, is a bug too.
 */
#include "fuzz.h"

#include "config.h"

/* The configuration printed, as a malloc'd string. */
static char *
print(const struct config *cfg, size_t *len)
{
	char *s = NULL;
	FILE *fp;

	FUZZ_ASSERT((fp = open_memstream(&s, len)) != NULL);
	config_print(cfg, fp);
	FUZZ_ASSERT(fclose(fp) == 0);
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg, again;
	char err[512], *p1, *p2;
	size_t n1, n2, i;

	if (config_parse((const char *)data, size, "fuzz.conf", &cfg, err,
	    sizeof(err)) == -1) {
		FUZZ_ASSERT(err[0] != '\0');
		FUZZ_ASSERT(cfg.nfwd == 0 && cfg.fwd == NULL);
		config_free(&cfg);
		return 0;
	}
	for (i = 0; i < cfg.nfwd; i++)
		FUZZ_ASSERT(config_find(&cfg, cfg.fwd[i].name) ==
		    &cfg.fwd[i]);
	p1 = print(&cfg, &n1);
	if (config_parse(p1, n1, "printed.conf", &again, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "the printed configuration does not parse: "
		    "%s\n%s", err, p1);
		FUZZ_ASSERT(!"printed configuration parses");
	}
	p2 = print(&again, &n2);
	if (n1 != n2 || memcmp(p1, p2, n1) != 0) {
		fprintf(stderr, "printed once:\n%s\nprinted again:\n%s", p1, p2);
		FUZZ_ASSERT(!"printing is stable");
	}
	free(p1);
	free(p2);
	config_free(&again);
	config_free(&cfg);
	return 0;
}
