/*
 * The addresses of the configuration: the web listener's ADDR:PORT and the
 * IPv6 address whose pinholes portkeeperd keeps (ipv6_address), which may
 * be an interface identifier to be put behind whatever prefix the host has
 * now, since ISPs change the delegated prefix (some daily).
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "util.h"

int
config_listen_parse(const char *v, struct sockaddr_storage *addr,
    socklen_t *addrlen, bool *loopback, char *err, size_t errlen)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)addr;
	char host[INET6_ADDRSTRLEN];
	const char *colon, *h, *he;
	unsigned long port;

	memset(addr, 0, sizeof(*addr));
	if (v[0] == '[') {
		h = v + 1;
		if ((he = strchr(h, ']')) == NULL || he[1] != ':') {
			snprintf(err, errlen, "an IPv6 address goes in "
			    "brackets with a port after them, as in [::]:8088");
			return -1;
		}
		colon = he + 1;
	} else {
		h = v;
		if ((colon = strrchr(v, ':')) == NULL) {
			snprintf(err, errlen, "no port: write ADDRESS:PORT, as "
			    "in 127.0.0.1:8088");
			return -1;
		}
		he = colon;
	}
	if ((size_t)(he - h) >= sizeof(host)) {
		snprintf(err, errlen, "address too long");
		return -1;
	}
	memcpy(host, h, (size_t)(he - h));
	host[he - h] = '\0';
	if (parse_uint(colon + 1, 1, 65535, &port) == -1) {
		snprintf(err, errlen, "the port must be a number from 1 to "
		    "65535");
		return -1;
	}
	if (v[0] != '[' && inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*addrlen = sizeof(*sin);
		*loopback = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
		return 0;
	}
	if (v[0] == '[' && inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*addrlen = sizeof(*sin6);
		*loopback = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
		return 0;
	}
	snprintf(err, errlen, "\"%s\" is not a numeric %s address", host,
	    v[0] == '[' ? "IPv6" : "IPv4");
	return -1;
}

static const char *const ipv6_words[] = {
	[CONFIG_IPV6_AUTO] = "auto",
	[CONFIG_IPV6_ON] = "on",
	[CONFIG_IPV6_OFF] = "off",
};

static const char *const family_words[] = {
	[CONFIG_FAMILY_BOTH] = "both",
	[CONFIG_FAMILY_4] = "4",
	[CONFIG_FAMILY_6] = "6",
};

int
config_ipv6_parse(const char *v, enum config_ipv6 *out)
{
	size_t i;

	for (i = 0; i < nitems(ipv6_words); i++) {
		if (strcmp(v, ipv6_words[i]) == 0) {
			*out = (enum config_ipv6)i;
			return 0;
		}
	}
	return -1;
}

int
config_family_parse(const char *v, enum config_family *out)
{
	size_t i;

	for (i = 0; i < nitems(family_words); i++) {
		if (strcmp(v, family_words[i]) == 0) {
			*out = (enum config_family)i;
			return 0;
		}
	}
	return -1;
}

const char *
config_ipv6_str(enum config_ipv6 v)
{
	return (size_t)v < nitems(ipv6_words) ? ipv6_words[v] : "auto";
}

const char *
config_family_str(enum config_family f)
{
	return (size_t)f < nitems(family_words) ? family_words[f] : "both";
}

/* Zero in the high 64 bits: the routing prefix (RFC 4291 section 2.5.4). */
static bool
prefix_zero(const struct in6_addr *a)
{
	static const uint8_t zero[8];

	return memcmp(a->s6_addr, zero, 8) == 0;
}

/*
 * Only global unicast (2000::/3, RFC 4291 section 2.4) can be reached from
 * the internet through a pinhole: link-local, ULA, multicast, loopback and
 * mapped addresses are refused here rather than failing at every refresh.
 */
int
config_addr6_parse(const char *v, struct config_addr6 *out)
{
	struct in6_addr a;

	if (strcmp(v, "auto") == 0) {
		memset(out, 0, sizeof(*out));
		out->kind = CONFIG_ADDR6_AUTO;
		return 0;
	}
	/* A dotted quad (::ffff:a.b.c.d) is an IPv4 address, not ours. */
	if (strchr(v, '.') != NULL || inet_pton(AF_INET6, v, &a) != 1)
		return -1;
	if (strncmp(v, "::", 2) == 0) {
		/* "::SUFFIX": the identifier alone, never all zero. */
		if (!prefix_zero(&a) || IN6_IS_ADDR_UNSPECIFIED(&a) ||
		    IN6_IS_ADDR_LOOPBACK(&a))
			return -1;
		out->kind = CONFIG_ADDR6_SUFFIX;
		out->addr = a;
		return 0;
	}
	if ((a.s6_addr[0] & 0xe0) != 0x20)
		return -1;
	out->kind = CONFIG_ADDR6_FIXED;
	out->addr = a;
	return 0;
}

void
config_addr6_str(const struct config_addr6 *a, char *buf, size_t len)
{
	if (a->kind == CONFIG_ADDR6_AUTO ||
	    inet_ntop(AF_INET6, &a->addr, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "auto");
}

int
config_addr6_want(const struct config_addr6 *a, const struct in6_addr *cur,
    struct in6_addr *out)
{
	switch (a->kind) {
	case CONFIG_ADDR6_FIXED:
		*out = a->addr;
		return 0;
	case CONFIG_ADDR6_SUFFIX:
		if (cur == NULL)
			return -1;
		memcpy(out->s6_addr, cur->s6_addr, 8);
		memcpy(out->s6_addr + 8, a->addr.s6_addr + 8, 8);
		return 0;
	case CONFIG_ADDR6_AUTO:
	default:
		if (cur == NULL)
			return -1;
		*out = *cur;
		return 0;
	}
}

bool
config_forward_v4(const struct config_forward *f)
{
	return f->family != CONFIG_FAMILY_6;
}

bool
config_forward_v6(const struct config_forward *f)
{
	return f->family != CONFIG_FAMILY_4;
}
