/*
 * Bodies of the web API's writes.  cJSON parses; everything else is checked
 * here, because cJSON accepts what JSON allows (1e3, 80.5, duplicate keys)
 * and a port must be a whole number in range.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util.h"
#include "webapi.h"

static int
webapi_fail(struct webapi_error *err, const char *code, const char *fmt,
    const char *field)
{
	err->code = code;
	snprintf(err->msg, sizeof(err->msg), fmt, field);
	return -1;
}

/* The body as a JSON object, or NULL with *err. */
/* Whether body holds the JSON escape \u0000 (the u and digits any case). */
static bool
webapi_has_nul_escape(const char *body, size_t len)
{
	size_t i, bs;

	for (i = 0; i + 6 <= len; i++) {
		if (body[i] != '\\' || (body[i + 1] != 'u' && body[i + 1] != 'U'))
			continue;
		/* An escaped backslash before it makes it text: count them. */
		for (bs = 0; bs < i && body[i - 1 - bs] == '\\'; bs++)
			;
		if (bs % 2 == 0 && memcmp(body + i + 2, "0000", 4) == 0)
			return true;
	}
	return false;
}

static cJSON *
webapi_parse_object(const char *body, size_t len, struct webapi_error *err)
{
	const char *end = NULL;
	cJSON *o;

	if (len == 0) {
		webapi_fail(err, "bad_json",
		    "the body is empty: send a JSON object%s",
		    "");
		return NULL;
	}
	if (len > WEBAPI_BODY_MAX) {
		webapi_fail(err, "too_large",
		    "the body is larger than 16 KiB%s", "");
		return NULL;
	}
	if (memchr(body, '\0', len) != NULL) {
		webapi_fail(err, "bad_json",
		    "the body is not JSON: it holds a NUL "
		    "byte%s", "");
		return NULL;
	}
	/*
	 * The escape \u0000 is valid JSON (RFC 8259 section 7), but cJSON
	 * ends its strings there, so "web\u0000x" would quietly be "web".
	 * No field of ours may hold a NUL: say so rather than cut.
	 */
	if (webapi_has_nul_escape(body, len)) {
		webapi_fail(err, "bad_field", "a string holds the character "
		    "\\u0000, which no field may hold%s", "");
		return NULL;
	}
	/*
	 * Nothing but blanks may follow the value.  cJSON does not say why
	 * it failed; a failed malloc leaves ENOMEM in errno, and a body that
	 * did not fit in memory is the server's fault, not the client's.
	 */
	errno = 0;
	o = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	if (o == NULL && errno == ENOMEM) {
		webapi_fail(err, "internal",
		    "the server is out of memory%s", "");
		return NULL;
	}
	while (o != NULL && end < body + len && strchr(" \t\r\n", *end) != NULL)
		end++;
	if (o == NULL || end != body + len) {
		cJSON_Delete(o);
		webapi_fail(err, "bad_json",
		    "the body is not valid JSON%s", "");
		return NULL;
	}
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		webapi_fail(err, "bad_json",
		    "the body must be a JSON object%s", "");
		return NULL;
	}
	return o;
}

/* Refuses keys other than those in known, and a key given twice. */
static int
webapi_check_keys(const cJSON *o, const char *const *known, size_t nknown,
    struct webapi_error *err)
{
	const cJSON *k, *j;
	size_t i;

	for (k = o->child; k != NULL; k = k->next) {
		for (i = 0; i < nknown; i++)
			if (strcmp(k->string, known[i]) == 0)
				break;
		if (i == nknown)
			return webapi_fail(err, "bad_field",
			    "unknown field \"%.64s\"",
			    k->string);
		for (j = o->child; j != k; j = j->next)
			if (strcmp(j->string, k->string) == 0)
				return webapi_fail(err, "bad_field",
				    "field \"%.64s\" is given twice",
				    k->string);
	}
	return 0;
}

static int
webapi_get_port(const cJSON *o, const char *field, bool required, uint16_t *out,
    struct webapi_error *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, field);

	if (v == NULL) {
		if (required)
			return webapi_fail(err, "bad_field",
			    "field \"%s\" is missing: "
			    "give a port from 1 to 65535", field);
		return 1;
	}
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
	    v->valuedouble != floor(v->valuedouble) ||
	    v->valuedouble < 1 || v->valuedouble > 65535)
		return webapi_fail(err, "bad_field",
		    "field \"%s\" must be a port, a "
		    "whole number from 1 to 65535", field);
	*out = (uint16_t)v->valuedouble;
	return 0;
}

static int
webapi_get_proto(const cJSON *o, enum pm_proto *out, struct webapi_error *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "protocol");

	*out = PM_TCP;
	if (v == NULL)
		return 0;
	if (!cJSON_IsString(v) || portspec_proto_parse(v->valuestring, out) == -1)
		return webapi_fail(err, "bad_field",
		    "field \"%s\" must be \"tcp\" or "
		    "\"udp\"", "protocol");
	return 0;
}

/* "family": "both", "4" or "6" as in portkeeper.conf, or the numbers. */
static int
webapi_get_family(const cJSON *o, enum config_family *out,
    struct webapi_error *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "family");

	*out = CONFIG_FAMILY_BOTH;
	if (v == NULL)
		return 0;
	if (cJSON_IsNumber(v) && (v->valuedouble == 4 || v->valuedouble == 6)) {
		*out = v->valuedouble == 4 ? CONFIG_FAMILY_4 : CONFIG_FAMILY_6;
		return 0;
	}
	if (!cJSON_IsString(v) || config_family_parse(v->valuestring, out) == -1)
		return webapi_fail(err, "bad_field", "field \"%s\" must be "
		    "\"both\", \"4\" or \"6\"", "family");
	return 0;
}

int
webapi_parse_forward(const char *body, size_t len,
    struct config_forward *out, struct webapi_error *err)
{
	static const char *const known[] = {
		"name", "external", "internal", "protocol", "family"
	};
	const cJSON *v;
	cJSON *o;
	int rc = -1, r;

	memset(out, 0, sizeof(*out));
	if ((o = webapi_parse_object(body, len, err)) == NULL)
		return -1;
	if (webapi_check_keys(o, known, nitems(known), err) == -1)
		goto out;
	v = cJSON_GetObjectItemCaseSensitive(o, "name");
	if (v == NULL) {
		webapi_fail(err, "bad_field",
		    "field \"%s\" is missing", "name");
		goto out;
	}
	if (cJSON_IsString(v) && (strcmp(v->valuestring, ".") == 0 ||
	    strcmp(v->valuestring, "..") == 0)) {
		webapi_fail(err, "bad_field", "field \"%s\" may not be \".\" or "
		    "\"..\": URLs resolve them away", "name");
		goto out;
	}
	if (!cJSON_IsString(v) ||
	    !config_name_ok(v->valuestring, strlen(v->valuestring))) {
		webapi_fail(err, "bad_field",
		    "field \"%s\" must be 1 to 63 letters, "
		    "digits, '_', '.' or '-'", "name");
		goto out;
	}
	str_copy(out->name, v->valuestring, sizeof(out->name));
	if (webapi_get_port(o, "external", true, &out->ext, err) == -1)
		goto out;
	if ((r = webapi_get_port(o, "internal", false, &out->in, err)) == -1)
		goto out;
	if (r == 1)
		out->in = out->ext;
	if (webapi_get_proto(o, &out->proto, err) == -1)
		goto out;
	if (webapi_get_family(o, &out->family, err) == -1)
		goto out;
	/* As portkeeperd -n says of the file: a pinhole cannot translate. */
	if (out->family == CONFIG_FAMILY_6 && out->ext != out->in) {
		webapi_fail(err, "bad_field", "field \"%s\" is \"6\", but "
		    "external and internal differ: IPv6 has no port "
		    "translation, so make them the same", "family");
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(o);
	return rc;
}

int
webapi_parse_doctor(const char *body, size_t len, uint16_t *port,
    enum pm_proto *proto, struct webapi_error *err)
{
	static const char *const known[] = { "port", "protocol" };
	cJSON *o;
	int rc = -1;

	if ((o = webapi_parse_object(body, len, err)) == NULL)
		return -1;
	if (webapi_check_keys(o, known, nitems(known), err) == 0 &&
	    webapi_get_port(o, "port", true, port, err) == 0 &&
	    webapi_get_proto(o, proto, err) == 0)
		rc = 0;
	cJSON_Delete(o);
	return rc;
}

const char *
webapi_label(char *buf, size_t buflen, const char *s)
{
	size_t o = 0;

	for (; *s != '\0' && o + 3 < buflen; s++) {
		if (*s == '\\' || *s == '"') {
			buf[o++] = '\\';
			buf[o++] = *s;
		} else if (*s == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else
			buf[o++] = *s;
	}
	if (buflen > 0)
		buf[o < buflen ? o : buflen - 1] = '\0';
	return buf;
}
