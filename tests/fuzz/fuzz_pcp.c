/*
 * PCP answers from the router (pcp_parse_response, RFC 6887 sections 7.2,
 * 9 and 11.1) to a MAP and an ANNOUNCE, and the sentence each result code
 * becomes (pcp_check_response, section 7.4).
 */
#include "fuzz.h"

#include "pcp.h"

/* The request the answer is checked against: the datagram's own fields. */
static void
fuzz_request(const uint8_t *data, size_t size, struct pcp_request *req)
{
	memset(req, 0, sizeof(*req));
	req->opcode = PCP_OP_MAP;
	req->lifetime = 3600;
	if (size >= PCP_MAP_LEN) {
		memcpy(req->nonce, data + 24, PCP_NONCE_LEN);
		req->protocol = data[36];
		req->int_port = (uint16_t)(data[40] << 8 | data[41]);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pcp_request req;
	struct pcp_response r;
	struct pm_error err;
	const char *why = NULL;
	int rc;

	/* pcp_read reads at most PCP_MAX_LEN + 4 bytes. */
	if (size > PCP_MAX_LEN + 4)
		return 0;
	fuzz_request(data, size, &req);
	rc = pcp_parse_response(data, size, &req, &r, &why);
	FUZZ_ASSERT((rc == 0) == (pcp_response_problem(data, size, &req) ==
	    NULL));
	FUZZ_ASSERT(rc == 0 || why != NULL);
	if (rc == 0) {
		FUZZ_ASSERT(r.version == 0 || r.version == PCP_VERSION);
		FUZZ_ASSERT(r.version == 0 || size >= PCP_HEADER_LEN);
		/* A granted MAP answers our nonce, protocol and port. */
		if (r.version == PCP_VERSION && size >= PCP_MAP_LEN) {
			FUZZ_ASSERT(memcmp(r.nonce, req.nonce,
			    PCP_NONCE_LEN) == 0);
			FUZZ_ASSERT(r.int_port == req.int_port);
		}
		memset(&err, 0, sizeof(err));
		if (pcp_check_response(&r, size % 2 == 0, "forward port 1/tcp",
		    &err) == 0)
			FUZZ_ASSERT(r.result == PCP_SUCCESS);
		else
			FUZZ_ASSERT(err.code != PME_OK && err.msg[0] != '\0');
	}
	/* Another nonce: a MAP answer of 60 bytes or more is stale. */
	req.nonce[0] ^= 0xff;
	if (size >= PCP_MAP_LEN && data[0] == PCP_VERSION)
		FUZZ_ASSERT(pcp_parse_response(data, size, &req, &r, NULL) ==
		    -1);
	/* The same bytes as the answer to an ANNOUNCE. */
	req.opcode = PCP_OP_ANNOUNCE;
	pcp_parse_response(data, size, &req, &r, NULL);
	return 0;
}
