/*
 * Where the probe server is and where it listens: the probe URL of the
 * configuration and of portkeeper doctor --probe (probe_url_parse), and
 * portkeeper probe-server --listen (probe_listen_parse).
 */
#include "fuzz.h"

#include "probe.h"
#include "util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct probe_url u;
	struct sockaddr_storage ss;
	socklen_t sslen;
	char err[256], clean[64], *s = fuzz_strndup(data, size);

	err[0] = '\0';
	if (probe_url_parse(s, &u, err, sizeof(err)) == 0) {
		FUZZ_ASSERT(u.host[0] != '\0' && u.port >= 1);
		FUZZ_ASSERT(u.path[0] == '/');
		FUZZ_ASSERT(strcmp(u.text, s) == 0);
	} else
		FUZZ_ASSERT(err[0] != '\0');
	err[0] = '\0';
	if (probe_listen_parse(s, &ss, &sslen, err, sizeof(err)) == 0)
		FUZZ_ASSERT(ss.ss_family == AF_INET || ss.ss_family == AF_INET6);
	else
		FUZZ_ASSERT(err[0] != '\0');
	str_printable(clean, sizeof(clean), s);
	free(s);
	return 0;
}
