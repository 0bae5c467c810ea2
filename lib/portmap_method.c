/*
 * The names of the port-mapping methods, apart from portmap.c so that a
 * program that only reads or prints them (the probe server's --via, the
 * configuration) does not link every protocol with them.
 */
#include <string.h>

#include "portmap.h"

const char *
portmap_method_str(enum pm_method m)
{
	switch (m) {
	case PM_UPNP:	return "upnp";
	case PM_NATPMP:	return "natpmp";
	case PM_PCP:	return "pcp";
	case PM_AUTO:	break;
	}
	return "auto";
}

const char *
portmap_method_name(enum pm_method m)
{
	switch (m) {
	case PM_UPNP:	return "UPnP-IGD";
	case PM_NATPMP:	return "NAT-PMP";
	case PM_PCP:	return "PCP";
	case PM_AUTO:	break;
	}
	return "auto";
}

int
portmap_method_parse(const char *s, enum pm_method *m)
{
	if (strcmp(s, "auto") == 0)
		*m = PM_AUTO;
	else if (strcmp(s, "upnp") == 0)
		*m = PM_UPNP;
	else if (strcmp(s, "natpmp") == 0)
		*m = PM_NATPMP;
	else if (strcmp(s, "pcp") == 0)
		*m = PM_PCP;
	else
		return -1;
	return 0;
}
