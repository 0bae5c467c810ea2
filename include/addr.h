/*
 * IPv4 address classification.  The router's idea of its external address
 * is untrusted input: it is parsed with inet_pton and sorted into the ranges
 * that decide whether forwarding from the internet can work at all.
 */
#ifndef PK_ADDR_H
#define PK_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>

enum addr_class {
	ADDR_INVALID = 0,	/* not an IPv4 address at all */
	ADDR_NONE,		/* empty: the router says it has none */
	ADDR_PUBLIC,
	ADDR_PRIVATE,		/* RFC 1918 */
	ADDR_CGNAT,		/* 100.64.0.0/10, RFC 6598 */
	ADDR_LOOPBACK,
	ADDR_LINKLOCAL,		/* 169.254.0.0/16 */
	ADDR_UNSPECIFIED,	/* 0.0.0.0/8 */
	ADDR_MULTICAST,		/* 224.0.0.0/4 */
	ADDR_RESERVED,		/* documentation, benchmarking, 240/4, ... */
};

/* Classifies an address in network byte order. */
enum addr_class	 addr_classify(struct in_addr);

/*
 * Parses s (at most 15 characters of dotted quad, nothing else) into *out
 * and returns its class; ADDR_NONE for an empty string, ADDR_INVALID for
 * anything inet_pton rejects.
 */
enum addr_class	 addr_parse(const char *s, struct in_addr *out);

/* A short name for the class: "public", "private", "carrier-grade NAT"... */
const char	*addr_class_str(enum addr_class);

/* True when a router with this WAN address can receive from the internet. */
bool		 addr_class_is_public(enum addr_class);

#endif
