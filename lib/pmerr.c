#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pmerr.h"
#include "util.h"

static const char *const errcode_names[] = {
	[PME_OK] = "ok",
	[PME_USAGE] = "usage",
	[PME_NO_ROUTE] = "no_route",
	[PME_NO_GATEWAY] = "no_gateway",
	[PME_NO_PUBLIC_ADDRESS] = "no_public_address",
	[PME_CONFLICT] = "conflict",
	[PME_REFUSED] = "refused",
	[PME_NOT_AUTHORIZED] = "not_authorized",
	[PME_OUT_OF_RESOURCES] = "out_of_resources",
	[PME_UNSUPPORTED] = "unsupported",
	[PME_NOT_FOUND] = "not_found",
	[PME_TIMEOUT] = "timeout",
	[PME_BAD_REPLY] = "bad_reply",
	[PME_NETWORK] = "network",
	[PME_INTERNAL] = "internal",
	[PME_NO_IPV6] = "no_ipv6",
	[PME_PINHOLE_REFUSED] = "pinhole_refused",
	[PME_ADDRESS_MISMATCH] = "address_mismatch",
};

void
pmerr_set(struct pm_error *err, enum pm_errcode code, int router_code,
    const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	err->code = code;
	err->router_code = router_code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

void
pmerr_append(struct pm_error *err, const char *fmt, ...)
{
	size_t n;
	va_list ap;

	if (err == NULL || (n = strlen(err->msg)) + 1 >= sizeof(err->msg))
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg + n, sizeof(err->msg) - n, fmt, ap);
	va_end(ap);
}

void
pmerr_clear(struct pm_error *err)
{
	memset(err, 0, sizeof(*err));
}

const char *
pmerr_code_str(enum pm_errcode code)
{
	if ((size_t)code >= nitems(errcode_names) ||
	    errcode_names[code] == NULL)
		return "internal";
	return errcode_names[code];
}

int
pmerr_exit_status(enum pm_errcode code)
{
	if (code == PME_OK)
		return 0;
	return code == PME_USAGE ? 2 : 1;
}

/*
 * The UPnP errors a port mapper meets, from the WANIPConnection:1 and :2
 * service specifications, each with what it means for the user.
 */
static const struct {
	int		 upnp;
	enum pm_errcode	 code;
	const char	*text;
} upnp_errors[] = {
	{ 402, PME_REFUSED, "the router rejected the request's arguments "
	    "(UPnP error 402, Invalid Args)" },
	{ 501, PME_REFUSED, "the router failed to carry out the request "
	    "(UPnP error 501, Action Failed)" },
	{ 606, PME_NOT_AUTHORIZED, "the router does not allow this host to "
	    "change port forwards (UPnP error 606, Action not authorized); "
	    "look for a UPnP permission setting in the router's admin page" },
	{ 713, PME_NOT_FOUND, "the router has no mapping at that index "
	    "(UPnP error 713)" },
	{ 714, PME_NOT_FOUND, "the router has no such port forward "
	    "(UPnP error 714, NoSuchEntryInArray)" },
	{ 715, PME_REFUSED, "the router does not accept a wildcard remote "
	    "host (UPnP error 715)" },
	{ 716, PME_REFUSED, "the router does not accept a wildcard external "
	    "port (UPnP error 716)" },
	{ 718, PME_CONFLICT, "the port is already forwarded to another host "
	    "(UPnP error 718, ConflictInMappingEntry)" },
	{ 724, PME_REFUSED, "the router requires the external and internal "
	    "port to be the same (UPnP error 724, SamePortValuesRequired); "
	    "forward EXT to the same port, or make the service listen on it" },
	{ 725, PME_REFUSED, "the router only supports permanent forwards "
	    "(UPnP error 725, OnlyPermanentLeasesSupported)" },
	{ 726, PME_REFUSED, "the router only supports a wildcard remote host "
	    "(UPnP error 726)" },
	{ 727, PME_REFUSED, "the router only supports a wildcard external "
	    "port (UPnP error 727)" },
	{ 728, PME_OUT_OF_RESOURCES, "the router's forwarding table is full "
	    "(UPnP error 728, NoPortMapsAvailable)" },
	{ 729, PME_CONFLICT, "the port conflicts with a forward made by "
	    "another mechanism on the router (UPnP error 729)" },
	{ 732, PME_REFUSED, "the router does not accept a wildcard internal "
	    "port (UPnP error 732)" },
	/* miniupnpc's own failures (UPNPCOMMAND_*). */
	{ -1, PME_BAD_REPLY, "the router's UPnP service gave an unexpected "
	    "answer" },
	{ -2, PME_INTERNAL, "portkeeper passed invalid arguments to "
	    "miniupnpc" },
	{ -3, PME_NETWORK, "the router's UPnP service could not be reached "
	    "or answered with an HTTP error" },
	{ -4, PME_BAD_REPLY, "the router sent a malformed UPnP reply" },
	{ -5, PME_INTERNAL, "out of memory" },
};

enum pm_errcode
pmerr_upnp_code(int upnp)
{
	size_t i;

	for (i = 0; i < nitems(upnp_errors); i++)
		if (upnp_errors[i].upnp == upnp)
			return upnp_errors[i].code;
	return upnp < 0 ? PME_BAD_REPLY : PME_REFUSED;
}

void
pmerr_upnp(struct pm_error *err, int upnp, const char *what)
{
	size_t i;

	for (i = 0; i < nitems(upnp_errors); i++) {
		if (upnp_errors[i].upnp == upnp) {
			pmerr_set(err, upnp_errors[i].code, upnp,
			    "could not %s: %s", what, upnp_errors[i].text);
			return;
		}
	}
	if (upnp < 0)
		pmerr_set(err, PME_BAD_REPLY, upnp, "could not %s: the "
		    "router's UPnP service failed (miniupnpc error %d)",
		    what, upnp);
	else
		pmerr_set(err, PME_REFUSED, upnp, "could not %s: the router "
		    "refused with UPnP error %d", what, upnp);
}

void
pmerr_natpmp(struct pm_error *err, int result, const char *what)
{
	switch (result) {
	case 1:
		pmerr_set(err, PME_UNSUPPORTED, result, "could not %s: the "
		    "router does not support NAT-PMP version 0 (NAT-PMP result "
		    "1, unsupported version)", what);
		break;
	case 2:
		pmerr_set(err, PME_NOT_AUTHORIZED, result, "could not %s: the "
		    "router refused; NAT-PMP may be switched off for this host "
		    "(NAT-PMP result 2, not authorized)", what);
		break;
	case 3:
		pmerr_set(err, PME_NO_PUBLIC_ADDRESS, result, "could not %s: "
		    "the router has no public address (NAT-PMP result 3, "
		    "network failure): its internet link is down, or it sits "
		    "behind carrier-grade NAT or another router", what);
		break;
	case 4:
		pmerr_set(err, PME_OUT_OF_RESOURCES, result, "could not %s: "
		    "the router cannot create more mappings (NAT-PMP result 4, "
		    "out of resources)", what);
		break;
	case 5:
		pmerr_set(err, PME_UNSUPPORTED, result, "could not %s: the "
		    "router does not support this request (NAT-PMP result 5, "
		    "unsupported opcode)", what);
		break;
	default:
		pmerr_set(err, PME_REFUSED, result, "could not %s: the router "
		    "refused with unknown NAT-PMP result %d", what, result);
		break;
	}
}
