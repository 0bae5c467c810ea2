/*
 * What the router's UPnP answers come down to once miniupnpc has taken
 * them out of their SOAP envelopes: strings we check ourselves.  The
 * external address (GetExternalIPAddress, classified by addr_parse) and
 * the fields of a port mapping entry (GetGenericPortMappingEntry and
 * GetSpecificPortMappingEntry, checked by upnp.c's static fill_mapping),
 * each cut to the buffer upnp.c gives miniupnpc.
 *
 * Input: lines external address, external port, client, internal port,
 * protocol, description, enabled, duration.
 */
#include "fuzz.h"

/* fill_mapping is static. */
#include "../../lib/upnp.c"

/* A field as upnp.c receives it: at most size - 1 bytes, "" if absent. */
static void
field(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src != NULL ? src : "");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *f[8], ip[16], ext[6], client[16], in[6], proto[4];
	char desc[80], enabled[6], duration[16];
	struct pm_mapping m;
	struct in_addr a, local;
	enum addr_class cls;
	enum pm_proto p;

	fuzz_fields(data, size, &buf, f, 8);
	field(ip, sizeof(ip), f[0]);
	cls = addr_parse(ip, &a);
	FUZZ_ASSERT(cls != ADDR_INVALID || a.s_addr == 0);
	FUZZ_ASSERT(addr_class_str(cls) != NULL);
	field(ext, sizeof(ext), f[1]);
	field(client, sizeof(client), f[2]);
	field(in, sizeof(in), f[3]);
	field(proto, sizeof(proto), f[4]);
	field(desc, sizeof(desc), f[5]);
	field(enabled, sizeof(enabled), f[6]);
	field(duration, sizeof(duration), f[7]);
	local.s_addr = htonl(0xc0a84d0a);	/* 192.168.77.10 */
	if (portspec_proto_parse(proto, &p) == -1)
		p = PM_TCP;
	if (fill_mapping(&m, p, ext, client, in, desc, enabled, duration,
	    local) == 0) {
		FUZZ_ASSERT(m.ext_port >= 1 && m.int_port >= 1);
		FUZZ_ASSERT(addr_parse(m.int_client, &a) != ADDR_INVALID);
		FUZZ_ASSERT(m.this_host == (a.s_addr == local.s_addr));
	}
	free(buf);
	return 0;
}
