/*
 * The router's device description as upnp_desc_parse walks it for its
 * connection services and its name (upnp_desc.c, after miniupnpc's XML
 * parser).  Beyond not crashing: at most UPNP_DESC_SERVICES_MAX services,
 * each a connection service by upnp_desc_is_connection, every string
 * terminated inside its field.
 *
 * Input: the description body.
 */
#include "fuzz.h"

#include "upnp_desc.h"

/* The string ends inside its field. */
#define TERMINATED(f)	FUZZ_ASSERT(memchr((f), '\0', sizeof(f)) != NULL)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = fuzz_strndup(data, size);
	struct upnp_desc d;
	size_t i, n;

	n = upnp_desc_parse(buf, size, &d);
	FUZZ_ASSERT(n == d.nsvc && n <= UPNP_DESC_SERVICES_MAX);
	TERMINATED(d.device_type);
	TERMINATED(d.manufacturer);
	TERMINATED(d.model_name);
	TERMINATED(d.model_number);
	TERMINATED(d.friendly_name);
	for (i = 0; i < n; i++) {
		FUZZ_ASSERT(upnp_desc_is_connection(d.svc[i].type));
		TERMINATED(d.svc[i].control);
		TERMINATED(d.svc[i].scpd);
		TERMINATED(d.svc[i].events);
	}
	free(buf);
	return 0;
}
