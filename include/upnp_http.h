/*
 * HTTP for UPnP-IGD (UDA 1.1 sections 2.1 and 3.2): one exchange with the
 * router by a deadline, reading at most UPNP_HTTP_MAX bytes of an answer.
 */
#ifndef PK_UPNP_HTTP_H
#define PK_UPNP_HTTP_H

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
};

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
