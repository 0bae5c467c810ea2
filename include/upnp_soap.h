/*
 * SOAP for UPnP (UDA 1.1 section 3.2): one action on one service, its
 * request built here with XML's specials escaped, its answer read by
 * upnp_http and taken apart by miniupnpc's XML parser.  Shared by the
 * IGD's connection services (upnp.c) and its IPv6 firewall
 * (upnp_pinhole.c).
 */
#ifndef PK_UPNP_SOAP_H
#define PK_UPNP_SOAP_H

#include <sys/socket.h>

#include <miniupnpc/upnpreplyparse.h>
#include <stddef.h>
#include <stdint.h>

#include "pmerr.h"

struct upnp_soap_arg {
	const char	*name;
	const char	*value;
};

struct upnp_soap_req {
	const char			*url;		/* the control URL */
	const char			*stype;		/* the service type */
	const char			*action;	/* "AddPinhole" */
	const struct upnp_soap_arg	*args;
	size_t				 nargs;
	const char			*doing;		/* "open ..." */
	/* As in struct upnp_http_req: optional, NULL/0 when unused. */
	const struct sockaddr		*source;
	socklen_t			 sourcelen;
	unsigned			 scope_id;
};

/*
 * Writes the envelope for action on service stype with its arguments into
 * dst.  Returns its length, or -1 when it does not fit in dstsz.
 */
int	upnp_soap_body(char *dst, size_t dstsz, const char *stype,
	    const char *action, const struct upnp_soap_arg *args, size_t nargs);

/*
 * Takes the answer to action (HTTP status, body[0..len)) apart into *pd.
 * Returns 0 for an answer (ClearNameValueList() *pd), the UPnP error code
 * (> 0) of a fault (UDA 1.1 section 3.2.2), or -1 with err set when it is
 * neither; *pd is cleared in the last two cases.
 */
int	upnp_soap_answer(const char *body, size_t len, int status,
	    const char *action, const char *doing,
	    struct NameValueParserData *pd, struct pm_error *err);

/*
 * Sends the request and reads the answer: 0 with its HTTP status and body
 * (inside *buf, which the caller frees), or -1 with err set.
 */
int	upnp_soap_exchange(const struct upnp_soap_req *, int64_t deadline,
	    int *status, char **buf, char **body, size_t *len,
	    struct pm_error *err);

/*
 * Sends the request and takes its answer apart: returns as
 * upnp_soap_answer, or -1 with err set when the exchange failed.
 */
int	upnp_soap_call(const struct upnp_soap_req *, int64_t deadline,
	    struct NameValueParserData *pd, struct pm_error *err);

/* The value name in an answer to action, or NULL with err set. */
const char *upnp_soap_value(struct NameValueParserData *pd, const char *name,
	    const char *action, const char *doing, struct pm_error *err);

#endif
