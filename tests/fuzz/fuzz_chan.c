/*
 * Frames on the channel between portkeeperd and portkeeperd-web
 * (chan_next): the web process parses what the LAN sends, so the daemon
 * takes nothing it says on trust.  Every message chan_next accepts has
 * its fields inside the bytes it was given, and what it consumed adds up.
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "chan.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chan c;
	struct chan_msg m;
	unsigned i;
	int rc;

	chan_init(&c, -1);
	if ((c.in = malloc(size + 1)) == NULL)
		return 0;
	memcpy(c.in, data, size);
	c.in_len = c.in_cap = size;
	while ((rc = chan_next(&c, &m)) == 1) {
		FUZZ_ASSERT(c.in_off <= size);
		FUZZ_ASSERT(m.n <= CHAN_FIELDS);
		for (i = 0; i < m.n; i++) {
			if (m.f[i].p == NULL)
				continue;
			FUZZ_ASSERT(m.f[i].p >= c.in &&
			    m.f[i].p + m.f[i].len <= c.in + c.in_off);
			free(chan_strdup(&m.f[i]));
		}
	}
	FUZZ_ASSERT(rc == 0 || rc == -1);
	free(c.in);
	return 0;
}
