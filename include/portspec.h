/*
 * Port specifications as the user types them: EXT[:INT][/tcp|/udp].
 */
#ifndef PK_PORTSPEC_H
#define PK_PORTSPEC_H

#include <stddef.h>
#include <stdint.h>

enum pm_proto { PM_TCP = 0, PM_UDP = 1 };

struct portspec {
	uint16_t	ext;
	uint16_t	in;		/* equals ext when not given */
	int		in_given;	/* 1 when the user wrote :INT */
	enum pm_proto	proto;
};

/*
 * Parses s into *spec.  With allow_internal 0, ":INT" is rejected.  Returns 0,
 * or -1 with a sentence quoting the bad input in errbuf: its only failure is
 * a bad argument on the command line, so the CLI needs no struct pm_error
 * code to tell one from another (it exits with the usage status).
 */
int		 portspec_parse(const char *s, int allow_internal,
		    struct portspec *spec, char *errbuf, size_t errlen);

/* "tcp" / "udp", and the upper-case form UPnP wants. */
const char	*portspec_proto_str(enum pm_proto);
const char	*portspec_proto_upnp(enum pm_proto);
/* Parses "tcp"/"TCP"/"udp"/"UDP"; returns 0 or -1. */
int		 portspec_proto_parse(const char *, enum pm_proto *);

#endif
