/*
 * The web API's request routing, in api_check.c's static functions: which
 * resource a URL names (api_route_find, with the forward name it carries
 * and the embedded web UI's files), and which methods it takes
 * (api_route_allow, api_method_allowed, api_is_write).  The rest of a
 * request goes to checks fuzzed on their own: fuzz_websec (headers),
 * fuzz_htpasswd_basic (Authorization) and fuzz_webapi (bodies).
 *
 * Input: the method, a newline, the URL (as libmicrohttpd hands it over,
 * already unescaped).
 */
#include "fuzz.h"

/* Static functions and all; what it calls is in libportkeeperd.a. */
#include "../../daemon/api_check.c"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = {
		"GET", "HEAD", "POST", "DELETE", "PUT", "PATCH", "OPTIONS"
	};
	char *buf, *f[2];
	const char *method, *url;
	struct api_request q;
	enum api_route r;
	size_t i;

	fuzz_fields(data, size, &buf, f, 2);
	method = f[0] != NULL ? f[0] : "";
	url = f[1] != NULL ? f[1] : "";
	memset(&q, 0, sizeof(q));
	r = api_route_find(url, &q);
	switch (r) {
	case API_R_FORWARD:
		FUZZ_ASSERT(strncmp(url, "/api/forwards/", 14) == 0);
		FUZZ_ASSERT(strcmp(q.name, url + 14) == 0);
		FUZZ_ASSERT(config_name_ok(q.name, strlen(q.name)));
		break;
	case API_R_ASSET:
		FUZZ_ASSERT(q.asset != NULL && q.asset->data != NULL);
		break;
	case API_R_NONE:
		FUZZ_ASSERT(api_route_allow(r) == NULL);
		break;
	default:
		break;
	}
	if (api_method_allowed(r, method)) {
		FUZZ_ASSERT(r != API_R_NONE);
		/* Writes only where the API has them. */
		FUZZ_ASSERT(!api_is_write(method) || r == API_R_FORWARDS ||
		    r == API_R_FORWARD || r == API_R_DOCTOR);
	}
	for (i = 0; i < nitems(methods); i++) {
		if (r != API_R_NONE && strcmp(methods[i], "OPTIONS") == 0)
			FUZZ_ASSERT(api_method_allowed(r, methods[i]));
		if (api_method_allowed(r, methods[i]) &&
		    api_is_write(methods[i]))
			FUZZ_ASSERT(r == API_R_FORWARDS || r == API_R_FORWARD ||
			    r == API_R_DOCTOR);
	}
	free(buf);
	return 0;
}
