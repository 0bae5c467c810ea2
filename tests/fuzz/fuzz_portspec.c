/*
 * Port specifications as typed on the command line, EXT[:INT][/tcp|/udp]
 * (portspec_parse), and the decimal numbers under them (parse_uint).
 */
#include "fuzz.h"

#include "portspec.h"
#include "util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct portspec spec;
	enum pm_proto proto;
	unsigned long v;
	char err[256], *s = fuzz_strndup(data, size);
	int allow;

	for (allow = 0; allow <= 1; allow++) {
		err[0] = '\0';
		if (portspec_parse(s, allow, &spec, err, sizeof(err)) == 0) {
			FUZZ_ASSERT(spec.ext >= 1 && spec.in >= 1);
			FUZZ_ASSERT(spec.in_given || spec.in == spec.ext);
			FUZZ_ASSERT(allow || !spec.in_given);
			FUZZ_ASSERT(spec.proto == PM_TCP || spec.proto == PM_UDP);
		} else
			FUZZ_ASSERT(err[0] != '\0');
	}
	if (portspec_proto_parse(s, &proto) == 0)
		FUZZ_ASSERT(proto == PM_TCP || proto == PM_UDP);
	if (parse_uint(s, 1, 65535, &v) == 0)
		FUZZ_ASSERT(v >= 1 && v <= 65535);
	free(s);
	return 0;
}
