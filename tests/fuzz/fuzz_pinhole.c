/*
 * The router's answers to the IGD:2 firewall actions (upnp_pinhole_parse,
 * after upnp_soap_answer and miniupnpc's XML parser): GetFirewallStatus's
 * booleans, AddPinhole's UniqueID, SOAP faults and their UPnP error codes,
 * and an IPv6 control URL (upnp_http_url).
 *
 * Input: a first line "ACTION PORT STATUS" (action 0 GetFirewallStatus, 1
 * AddPinhole, 2 UpdatePinhole, 3 DeletePinhole; missing numbers are 0),
 * then the body.  The first line is also tried as a control URL.  Beyond
 * not crashing: a result of -1, 0 or 1; 0 (NoSuchEntry) only with no
 * error; -1 always with an error code and a sentence; success with the
 * error left clear.
 */
#include "fuzz.h"

#include "upnp_http.h"
#include "upnp_pinhole.h"

static const char *const actions[] = {
	"GetFirewallStatus", "AddPinhole", "UpdatePinhole", "DeletePinhole",
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *f[2];
	unsigned long a = 0, port = 0, status = 0;
	struct upnp_pinhole_answer res;
	struct sockaddr_storage ss;
	struct pm_error e;
	const char *path, *body;
	socklen_t sl;
	int rc;

	fuzz_fields(data, size, &buf, f, 2);
	if (f[0] != NULL) {
		sscanf(f[0], "%lu %lu %lu", &a, &port, &status);
		if (upnp_http_url(f[0], 1, &ss, &sl, &path) == 0)
			FUZZ_ASSERT((ss.ss_family == AF_INET6 &&
			    sl == sizeof(struct sockaddr_in6)) ||
			    (ss.ss_family == AF_INET &&
			    sl == sizeof(struct sockaddr_in)));
	}
	body = f[1] != NULL ? f[1] : "";
	pmerr_clear(&e);
	rc = upnp_pinhole_parse(actions[a % 4], (uint16_t)port, "test",
	    (int)(status % 1000), body, strlen(body), &res, &e);
	FUZZ_ASSERT(rc >= -1 && rc <= 1);
	if (rc == -1)
		FUZZ_ASSERT(e.code != PME_OK && e.msg[0] != '\0');
	else
		FUZZ_ASSERT(e.code == PME_OK);
	FUZZ_ASSERT(memchr(e.msg, '\0', sizeof(e.msg)) != NULL);
	free(buf);
	return 0;
}
