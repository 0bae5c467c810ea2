/*
 * The JSON bodies of the web API's writes: POST /api/forwards
 * (webapi_parse_forward) and POST /api/doctor (webapi_parse_doctor).  The
 * daemon hands them the body it read, NUL-terminated after len bytes.
 */
#include "fuzz.h"

#include "webapi.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_forward f;
	struct webapi_error err;
	enum pm_proto proto;
	uint16_t port;
	char *body = fuzz_strndup(data, size), label[64];

	memset(&err, 0, sizeof(err));
	if (webapi_parse_forward(body, size, &f, &err) == 0) {
		FUZZ_ASSERT(config_name_ok(f.name, strlen(f.name)));
		FUZZ_ASSERT(f.ext >= 1 && f.in >= 1);
		/* Metrics label the forward by its name. */
		webapi_label(label, sizeof(label), f.name);
	} else
		FUZZ_ASSERT(err.code != NULL && err.msg[0] != '\0');
	memset(&err, 0, sizeof(err));
	if (webapi_parse_doctor(body, size, &port, &proto, &err) == 0)
		FUZZ_ASSERT(port >= 1 && (proto == PM_TCP || proto == PM_UDP));
	else
		FUZZ_ASSERT(err.code != NULL && err.msg[0] != '\0');
	webapi_label(label, sizeof(label), body);
	free(body);
	return 0;
}
