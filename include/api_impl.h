/*
 * What the web API's two halves share (api.c, api_check.c): HTTP status
 * codes and the helpers that build an answer.  Not for other modules.
 */
#ifndef PK_API_IMPL_H
#define PK_API_IMPL_H

#include <cjson/cJSON.h>

#include "api.h"

/* HTTP status codes (RFC 9110, section 15). */
#define API_OK			200
#define API_CREATED		201
#define API_NO_CONTENT		204
#define API_NOT_MODIFIED	304
#define API_BAD_REQUEST		400
#define API_FORBIDDEN		403
#define API_NOT_FOUND		404
#define API_METHOD_NOT_ALLOWED	405
#define API_CONFLICT		409
#define API_TOO_LARGE		413
#define API_UNSUPPORTED_MEDIA	415
#define API_INTERNAL		500
#define API_UNAVAILABLE		503

/* body (taken over), o (taken over): API_ANSWER, or API_CLOSE without it. */
enum api_rc	 api_reply(struct api_response *, unsigned status, char *body,
		    const char *hname, const char *hvalue);
enum api_rc	 api_reply_json(struct api_response *, unsigned status,
		    cJSON *o, const char *hname, const char *hvalue);
cJSON		*api_error_json(const char *code, const char *msg);
enum api_rc	 api_reply_empty(struct api_response *, unsigned status,
		    const char *allow);
enum api_rc	 api_stopping_error(struct api_response *);
/* A request header's value, or NULL. */
const char	*api_header(const struct api_request *, const char *name);

#endif
