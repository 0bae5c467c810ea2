/*
 * The web API's request routing, in pkd_api.c's static functions: which
 * resource a URL names (route_find, with the forward name it carries and
 * the embedded web UI's files), and which methods it takes (route_allow,
 * method_allowed, is_write).  The rest of a request goes through
 * libmicrohttpd to checks fuzzed on their own: fuzz_websec (headers),
 * fuzz_htpasswd_basic (Authorization) and fuzz_webapi (bodies).
 *
 * Input: the method, a newline, the URL (as libmicrohttpd hands it over,
 * already unescaped).
 */
#include "fuzz.h"

/* Static functions and all: the daemon's files are not in the library. */
#include "../../daemon/pkd_api.c"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = {
		"GET", "HEAD", "POST", "DELETE", "PUT", "PATCH", "OPTIONS"
	};
	char *buf, *f[2];
	const char *method, *url;
	struct req q;
	enum route r;
	size_t i;

	fuzz_fields(data, size, &buf, f, 2);
	method = f[0] != NULL ? f[0] : "";
	url = f[1] != NULL ? f[1] : "";
	memset(&q, 0, sizeof(q));
	r = route_find(url, &q);
	switch (r) {
	case R_FORWARD:
		FUZZ_ASSERT(strncmp(url, "/api/forwards/", 14) == 0);
		FUZZ_ASSERT(strcmp(q.name, url + 14) == 0);
		FUZZ_ASSERT(config_name_ok(q.name, strlen(q.name)));
		break;
	case R_ASSET:
		FUZZ_ASSERT(q.asset != NULL && q.asset->data != NULL);
		break;
	case R_NONE:
		FUZZ_ASSERT(route_allow(r) == NULL);
		break;
	default:
		break;
	}
	if (method_allowed(r, method)) {
		FUZZ_ASSERT(r != R_NONE);
		/* Writes only where the API has them. */
		FUZZ_ASSERT(!is_write(method) || r == R_FORWARDS ||
		    r == R_FORWARD || r == R_DOCTOR);
	}
	for (i = 0; i < nitems(methods); i++) {
		if (r != R_NONE && strcmp(methods[i], "OPTIONS") == 0)
			FUZZ_ASSERT(method_allowed(r, methods[i]));
		if (method_allowed(r, methods[i]) && is_write(methods[i]))
			FUZZ_ASSERT(r == R_FORWARDS || r == R_FORWARD ||
			    r == R_DOCTOR);
	}
	free(buf);
	return 0;
}
