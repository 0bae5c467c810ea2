#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upnp_http.h"
#include "upnp_soap.h"
#include "util.h"

/* Appends s to dst (of dstsz, holding a string) with XML's specials escaped. */
static void
upnp_soap_escape(char *dst, size_t dstsz, const char *s)
{
	size_t n = strlen(dst);

	for (; *s != '\0' && n + 7 < dstsz; s++) {
		const char *e = NULL;

		switch (*s) {
		case '&':	e = "&amp;"; break;
		case '<':	e = "&lt;"; break;
		case '>':	e = "&gt;"; break;
		case '"':	e = "&quot;"; break;
		case '\'':	e = "&apos;"; break;
		}
		if (e != NULL) {
			memcpy(dst + n, e, strlen(e));
			n += strlen(e);
		} else
			dst[n++] = *s;
	}
	dst[n] = '\0';
}

int
upnp_soap_body(char *dst, size_t dstsz, const char *stype, const char *action,
    const struct upnp_soap_arg *args, size_t nargs)
{
	size_t i, n;
	int w;

	snprintf(dst, dstsz, "<?xml version=\"1.0\"?>\r\n"
	    "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" "
	    "s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\">"
	    "<s:Body><u:%s xmlns:u=\"", action);
	upnp_soap_escape(dst, dstsz, stype);
	strncat(dst, "\">", dstsz - strlen(dst) - 1);
	for (i = 0; i < nargs; i++) {
		n = strlen(dst);
		snprintf(dst + n, dstsz - n, "<%s>", args[i].name);
		upnp_soap_escape(dst, dstsz, args[i].value);
		n = strlen(dst);
		snprintf(dst + n, dstsz - n, "</%s>", args[i].name);
	}
	n = strlen(dst);
	w = snprintf(dst + n, dstsz - n, "</u:%s></s:Body></s:Envelope>\r\n",
	    action);
	if (w < 0 || (size_t)w >= dstsz - n)
		return -1;
	return (int)(n + (size_t)w);
}

int
upnp_soap_answer(const char *body, size_t len, int status, const char *action,
    const char *doing, struct NameValueParserData *pd, struct pm_error *err)
{
	const char *code;
	unsigned long c;

	memset(pd, 0, sizeof(*pd));
	if (len > UPNP_HTTP_MAX) {
		pmerr_set(err, PME_BAD_REPLY, 0, "could not %s: its answer to "
		    "%s is larger than 128 KiB", doing, action);
		return -1;
	}
	ParseNameValue(body, (int)len, pd);
	if ((code = GetValueFromNameValueList(pd, "errorCode")) != NULL) {
		char shown[24];

		if (parse_uint(code, 1, 999999, &c) == 0) {
			ClearNameValueList(pd);
			return (int)c;
		}
		str_printable(shown, sizeof(shown), code);
		pmerr_set(err, PME_BAD_REPLY, 0, "could not %s: the router "
		    "misbehaves: it answered %s with a fault whose error code "
		    "\"%s\" is not a number", doing, action, shown);
		ClearNameValueList(pd);
		return -1;
	}
	if (status != 200) {
		pmerr_set(err, PME_BAD_REPLY, 0, "could not %s: the router "
		    "answered %s with HTTP status %d and no UPnP error code",
		    doing, action, status);
		ClearNameValueList(pd);
		return -1;
	}
	return 0;
}

int
upnp_soap_exchange(const struct upnp_soap_req *r, int64_t deadline,
    int *status, char **buf, char **body, size_t *len, struct pm_error *err)
{
	char req[2048], headers[400], answer[80], stype[128];
	struct upnp_http_req q;

	/* The router's own words go into our request: printable only. */
	str_printable(stype, sizeof(stype), r->stype);
	if (upnp_soap_body(req, sizeof(req), stype, r->action, r->args,
	    r->nargs) == -1) {
		pmerr_set(err, PME_INTERNAL, 0, "could not %s: the SOAP request "
		    "does not fit", r->doing);
		return -1;
	}
	snprintf(headers, sizeof(headers), "Content-Type: text/xml; "
	    "charset=\"utf-8\"\r\nSOAPAction: \"%s#%s\"\r\n", stype, r->action);
	snprintf(answer, sizeof(answer), "its answer to %s", r->action);
	memset(&q, 0, sizeof(q));
	q.url = r->url;
	q.method = "POST";
	q.headers = headers;
	q.body = req;
	q.doing = r->doing;
	q.answer = answer;
	q.source = r->source;
	q.sourcelen = r->sourcelen;
	q.scope_id = r->scope_id;
	return upnp_http_exchange(&q, deadline, status, buf, body, len, err);
}

int
upnp_soap_call(const struct upnp_soap_req *r, int64_t deadline,
    struct NameValueParserData *pd, struct pm_error *err)
{
	char *buf, *body;
	size_t len;
	int status, rc;

	memset(pd, 0, sizeof(*pd));
	if (upnp_soap_exchange(r, deadline, &status, &buf, &body, &len, err) ==
	    -1)
		return -1;
	rc = upnp_soap_answer(body, len, status, r->action, r->doing, pd, err);
	free(buf);
	return rc;
}

const char *
upnp_soap_value(struct NameValueParserData *pd, const char *name,
    const char *action, const char *doing, struct pm_error *err)
{
	const char *v = GetValueFromNameValueList(pd, name);

	if (v == NULL)
		pmerr_set(err, PME_BAD_REPLY, 0, "could not %s: the router "
		    "misbehaves: its answer to %s has no %s", doing, action,
		    name);
	return v;
}
