/*
 * What portkeeper doctor reads from the network: the probe server's HTTP
 * answer (probe_answer_parse; probe_ask NUL-terminates what it read), and
 * the token lines exchanged on a probed port (probe_line_parse), from
 * the probe server (a hello) and back from the doctor's listener (an
 * answer).
 */
#include "fuzz.h"

#include "probe.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct probe_answer a;
	struct pm_error err;
	char tok[PROBE_TOKEN_MAX + 1], *s = fuzz_strndup(data, size);
	int ok, rc;

	/* probe_ask reads at most PROBE_ANSWER_MAX (probe.c) bytes. */
	if (size > 8192) {
		free(s);
		return 0;
	}
	memset(&err, 0, sizeof(err));
	if (probe_answer_parse(s, size, "http://probe.example:8770/probe", &a,
	    &err) == 0)
		FUZZ_ASSERT(a.source_seen[0] != '\0');
	for (ok = 0; ok <= 1; ok++) {
		/* The line arrives as is: no NUL after it. */
		rc = probe_line_parse((const char *)data, size, ok, tok);
		FUZZ_ASSERT(rc >= -1 && rc <= 1);
		if (rc == 1)
			FUZZ_ASSERT(probe_token_ok(tok));
	}
	free(s);
	return 0;
}
