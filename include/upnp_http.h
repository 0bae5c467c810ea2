/*
 * HTTP for UPnP-IGD (UDA 1.1 sections 2.1 and 3.2): one exchange with the
 * router by a deadline, reading at most UPNP_HTTP_MAX bytes of an answer.
 */
#ifndef PK_UPNP_HTTP_H
#define PK_UPNP_HTTP_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "pmerr.h"

/* Nor more than this of one HTTP answer: a real description is a few KiB. */
#define UPNP_HTTP_MAX	(128 * 1024)

struct upnp_http_req {
	const char	*url;
	const char	*method;
	const char	*headers;	/* more header lines, or "" */
	const char	*body;		/* or NULL */
	const char	*doing;		/* "forward port 80/tcp" */
	const char	*answer;	/* "its answer to AddPortMapping" */
	/*
	 * Optional (NULL/0 when unused).  The address to bind() the connection
	 * to before connect(): the IGD:2 firewall checks that a pinhole's
	 * InternalClient is the caller's own address (WANIPv6FirewallControl:1
	 * section 2.5.2; miniupnpd's secure mode), so a host with several
	 * IPv6 addresses must speak from the one it opens.  And the interface
	 * of a link-local http://[fe80::...] URL that does not name its own.
	 */
	const struct sockaddr *source;
	socklen_t	 sourcelen;
	unsigned	 scope_id;
};

/*
 * Splits an "http://A.B.C.D[:PORT]/path" or "http://[IPV6[%ZONE]][:PORT]/path"
 * URL (RFC 3986 section 3.2.2, zones as in RFC 6874: %25eth0, or %eth0 as
 * miniupnpd writes it; an interface name or index) into the address to
 * connect to and the path ("" when there is none).  A link-local address
 * without a zone takes scope_id.  Returns 0, or -1 for anything else.
 */
int	upnp_http_url(const char *url, unsigned scope_id,
	    struct sockaddr_storage *ss, socklen_t *sslen, const char **path);

/*
 * Sends the request and reads the answer by deadline.  Returns 0 with the
 * status and body (inside *buf, which the caller frees), or -1 with err set.
 */
int	upnp_http_exchange(const struct upnp_http_req *, int64_t deadline,
	    int *status, char **buf, char **body, size_t *bodylen,
	    struct pm_error *err);

/*
 * Parses an HTTP/1.x answer of which buf[0..len) has arrived (eof: the
 * connection is closed), bodies with Content-Length, chunked or up to the
 * close, at most UPNP_HTTP_MAX bytes.  Returns 1 when it is complete, with
 * *status and the body at *body (decoded in place when chunked) and
 * *bodylen; 0 when more must be read; -1 when it is not a valid answer,
 * with *why a phrase that completes "the answer ..." ("has a chunk size
 * that is not a hex number").
 */
int	upnp_http_parse(char *buf, size_t len, int eof, int *status,
	    char **body, size_t *bodylen, const char **why);

#endif
