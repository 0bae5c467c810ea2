#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "portspec.h"
#include "util.h"

const char *
portspec_proto_str(enum pm_proto p)
{
	return p == PM_UDP ? "udp" : "tcp";
}

const char *
portspec_proto_upnp(enum pm_proto p)
{
	return p == PM_UDP ? "UDP" : "TCP";
}

int
portspec_proto_parse(const char *s, enum pm_proto *p)
{
	if (strcasecmp(s, "tcp") == 0)
		*p = PM_TCP;
	else if (strcasecmp(s, "udp") == 0)
		*p = PM_UDP;
	else
		return -1;
	return 0;
}

static int
port_parse(const char *s, uint16_t *port)
{
	unsigned long v;

	if (parse_uint(s, 1, 65535, &v) == -1)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int
portspec_parse(const char *s, int allow_internal, struct portspec *spec,
    char *errbuf, size_t errlen)
{
	char buf[32], *slash, *colon;

	memset(spec, 0, sizeof(*spec));
	if (str_copy(buf, s, sizeof(buf)) == -1) {
		snprintf(errbuf, errlen, "port specification too long: "
		    "\"%.40s...\"", s);
		return -1;
	}
	if ((slash = strchr(buf, '/')) != NULL) {
		*slash++ = '\0';
		if (portspec_proto_parse(slash, &spec->proto) == -1) {
			snprintf(errbuf, errlen, "unknown protocol \"%s\" in "
			    "\"%s\": use tcp or udp", slash, s);
			return -1;
		}
	}
	if ((colon = strchr(buf, ':')) != NULL) {
		if (!allow_internal) {
			snprintf(errbuf, errlen, "\"%s\": give only the "
			    "external port here (EXT[/tcp|/udp])", s);
			return -1;
		}
		*colon++ = '\0';
		if (port_parse(colon, &spec->in) == -1) {
			snprintf(errbuf, errlen, "bad internal port \"%s\" in "
			    "\"%s\": expected a number from 1 to 65535", colon,
			    s);
			return -1;
		}
		spec->in_given = 1;
	}
	if (port_parse(buf, &spec->ext) == -1) {
		snprintf(errbuf, errlen, "bad external port \"%s\" in \"%s\": "
		    "expected a number from 1 to 65535", buf, s);
		return -1;
	}
	if (!spec->in_given)
		spec->in = spec->ext;
	return 0;
}
