/*
 * IPv6 address classification: which of this host's addresses the
 * internet can reach, so which one a pinhole may be opened for.  The blocks
 * are those of the IANA IPv6 Special-Purpose Address Registry (RFC 6890 and
 * the RFCs it lists) that are not globally reachable, and the address
 * architecture's own (RFC 4291 section 2.4).  Kept apart from addr.c, whose
 * IPv4 classes answer another question (is the router's WAN address public).
 */
#ifndef PK_ADDR6_H
#define PK_ADDR6_H

#include <netinet/in.h>
#include <stdbool.h>

enum addr6_class {
	ADDR6_INVALID = 0,	/* not an IPv6 address at all */
	ADDR6_GLOBAL,		/* 2000::/3, not in a block below */
	ADDR6_ULA,		/* fc00::/7, RFC 4193 */
	ADDR6_LINKLOCAL,	/* fe80::/10 */
	ADDR6_LOOPBACK,		/* ::1 */
	ADDR6_UNSPECIFIED,	/* :: */
	ADDR6_MULTICAST,	/* ff00::/8 */
	ADDR6_V4MAPPED,		/* ::ffff:0:0/96 */
	ADDR6_DOCUMENTATION,	/* 2001:db8::/32, 3fff::/20 */
	ADDR6_SPECIAL,		/* another special-purpose block */
	ADDR6_RESERVED,		/* outside 2000::/3 and every block above */
};

/* Classifies an address (the longest matching block decides). */
enum addr6_class addr6_classify(const struct in6_addr *);

/*
 * Parses s (an IPv6 address as inet_pton reads it: no zone, no prefix
 * length, at most INET6_ADDRSTRLEN - 1 characters) into *out and returns
 * its class, or ADDR6_INVALID (and *out zeroed) when it is not one.
 */
enum addr6_class addr6_parse(const char *s, struct in6_addr *out);

/*
 * The block an address is in, as a phrase for a sentence: "a global
 * unicast address (2000::/3)", "a unique local address (fc00::/7)".
 */
const char	*addr6_describe(const struct in6_addr *);

/* A short name for the class: "global", "ula", "link-local"... */
const char	*addr6_class_str(enum addr6_class);

#endif
