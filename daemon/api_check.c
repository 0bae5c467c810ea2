/*
 * The half of the web API's core that needs no daemon state: the answers'
 * builders, which resource a URL names and which methods it takes, and
 * the checks of a request's headers (api_check).  The handlers, which
 * read and change the forwards, are in api.c.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "api.h"
#include "api_impl.h"
#include "util.h"
#include "webapi.h"
#include "websec.h"

/* Responses. */

void
api_response_free(struct api_response *r)
{
	free(r->body);
	r->body = NULL;
}

/*
 * body (taken over) as JSON, with one more header if hname is not NULL
 * (Allow, Location, Retry-After, WWW-Authenticate).
 */
enum api_rc
api_reply(struct api_response *r, unsigned status, char *body,
    const char *hname, const char *hvalue)
{
	if (body == NULL)
		return API_CLOSE;
	r->status = status;
	r->type = "application/json";
	r->body = body;
	r->len = strlen(body);
	r->cache = "no-store";
	r->hname = hname;
	r->hvalue = hvalue;
	return API_ANSWER;
}

/* o (taken over) as JSON, with api_reply's extra header. */
enum api_rc
api_reply_json(struct api_response *r, unsigned status, cJSON *o,
    const char *hname, const char *hvalue)
{
	char *s;

	if (o == NULL)
		return API_CLOSE;
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return api_reply(r, status, s, hname, hvalue);
}

/* {"error":{"code":CODE,"message":MSG}} */
cJSON *
api_error_json(const char *code, const char *msg)
{
	cJSON *o = cJSON_CreateObject(), *e;

	e = cJSON_AddObjectToObject(o, "error");
	cJSON_AddStringToObject(e, "code", code);
	cJSON_AddStringToObject(e, "message", msg);
	return o;
}

enum api_rc
api_error(struct api_response *r, unsigned status, const char *code,
    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return api_reply_json(r, status, api_error_json(code, msg), NULL,
	    NULL);
}

enum api_rc
api_error_retry(struct api_response *r, unsigned status, const char *code,
    const char *msg, unsigned retry)
{
	snprintf(r->hbuf, sizeof(r->hbuf), "%u", retry);
	return api_reply_json(r, status, api_error_json(code, msg),
	    "Retry-After", r->hbuf);
}

/* No body: the Allow header of OPTIONS, or the 204 of a removal. */
enum api_rc
api_reply_empty(struct api_response *r, unsigned status, const char *allow)
{
	r->status = status;
	r->type = "application/json";
	r->hname = allow != NULL ? "Allow" : NULL;
	r->hvalue = allow;
	return API_ANSWER;
}

enum api_rc
api_stopping_error(struct api_response *r)
{
	return api_error(r, API_UNAVAILABLE, "stopping",
	    "portkeeperd is stopping");
}

/* Routing. */

const struct asset *
api_asset_find(const char *url)
{
	size_t i;

	if (strcmp(url, "/") == 0)
		url = "/index.html";
	for (i = 0; assets[i].path != NULL; i++)
		if (strcmp(assets[i].path, url) == 0)
			return &assets[i];
	return NULL;
}

static enum api_route
api_route_find(const char *url, struct api_request *q)
{
	static const struct {
		const char	*path;
		enum api_route	 route;
	} fixed[] = {
		{ "/api/health", API_R_HEALTH },
		{ "/api/status", API_R_STATUS },
		{ "/api/forwards", API_R_FORWARDS },
		{ "/api/doctor", API_R_DOCTOR },
		{ "/api/events", API_R_EVENTS },
		{ "/metrics", API_R_METRICS },
	};
	const char *name;
	size_t i;

	for (i = 0; i < nitems(fixed); i++)
		if (strcmp(url, fixed[i].path) == 0)
			return fixed[i].route;
	if (strncmp(url, "/api/forwards/", 14) == 0) {
		name = url + 14;
		/* A name that cannot exist is simply not found. */
		if (!config_name_ok(name, strlen(name)))
			return API_R_NONE;
		str_copy(q->name, name, sizeof(q->name));
		return API_R_FORWARD;
	}
	if ((q->asset = api_asset_find(url)) != NULL)
		return API_R_ASSET;
	return API_R_NONE;
}

static const char *
api_route_allow(enum api_route r)
{
	switch (r) {
	case API_R_FORWARDS:	return "GET, HEAD, POST, OPTIONS";
	case API_R_FORWARD:	return "GET, HEAD, DELETE, OPTIONS";
	case API_R_DOCTOR:	return "POST, OPTIONS";
	case API_R_NONE:	return NULL;
	default:		return "GET, HEAD, OPTIONS";
	}
}

static bool
api_method_allowed(enum api_route r, const char *method)
{
	const char *allow = api_route_allow(r), *p;
	size_t n = strlen(method);

	/*
	 * allow is a short list of upper-case words separated by ", ".  An
	 * empty method would match everywhere without moving p on.
	 */
	if (n == 0)
		return false;
	for (p = allow; p != NULL && (p = strstr(p, method)) != NULL; p += n)
		if ((p == allow || p[-1] == ' ') &&
		    (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

static bool
api_is_write(const char *method)
{
	return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
	    strcmp(method, "OPTIONS") != 0;
}

const char *
api_header(const struct api_request *q, const char *name)
{
	return q->header != NULL ? q->header(q->ctx, name) : NULL;
}

/* The checks of a write's headers: the origin, the size, the type. */
static enum api_rc
api_check_write(struct api_request *q, struct api_response *r)
{
	const char *cl;
	unsigned long n;

	if (q->web && !websec_same_origin(api_header(q, "Origin"),
	    api_header(q, "Sec-Fetch-Site"), api_header(q, "Host")))
		return api_error(r, API_FORBIDDEN, "forbidden", "a request "
		    "that changes something must come from this server's own "
		    "page, not from another site");
	cl = api_header(q, "Content-Length");
	if (cl != NULL && (parse_uint(cl, 0, ULONG_MAX, &n) == -1 ||
	    n > WEBAPI_BODY_MAX))
		return api_error(r, API_TOO_LARGE, "too_large",
		    "the body is larger than 16 KiB");
	if (strcmp(q->method, "POST") == 0 &&
	    !websec_is_json(api_header(q, "Content-Type")))
		return api_error(r, API_UNSUPPORTED_MEDIA,
		    "unsupported_media_type", "send the body as "
		    "application/json");
	return API_GO_ON;
}

void
api_route(struct api_request *q)
{
	q->route = api_route_find(q->url, q);
	q->routed = true;
}

enum api_rc
api_check(struct api *a, struct api_request *q, struct api_response *r)
{
	const char *allow;
	char method[32], msg[128];

	(void)a;
	if (!q->routed)
		api_route(q);
	if (q->route == API_R_NONE)
		return api_error(r, API_NOT_FOUND, "not_found",
		    "no such resource");
	allow = api_route_allow(q->route);
	if (strcmp(q->method, "OPTIONS") == 0)
		return api_reply_empty(r, API_NO_CONTENT, allow);
	if (!api_method_allowed(q->route, q->method)) {
		/*
		 * The method is the client's: quoted into the sentence through
		 * cJSON, never into JSON text (a method of X","code":"x once
		 * overrode the code), and printable only.
		 */
		str_printable(method, sizeof(method), q->method);
		snprintf(msg, sizeof(msg), "%s is not allowed here: use %s",
		    method, allow);
		return api_reply_json(r, API_METHOD_NOT_ALLOWED,
		    api_error_json("method_not_allowed", msg), "Allow", allow);
	}
	if (!api_is_write(q->method))
		return API_GO_ON;
	/*
	 * A [web] listener without passwords (loopback only) would let any
	 * local user open router ports; the control socket asks for the
	 * group portkeeper.  So it only reads.
	 */
	if (q->read_only)
		return api_error(r, API_FORBIDDEN, "read_only", "this listener "
		    "has no password file, so it only reads: set htpasswd in "
		    "[web] (portkeeper passwd) to change forwards here, or use "
		    "the control socket");
	return api_check_write(q, r);
}
