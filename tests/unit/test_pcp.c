/*
 * PCP (RFC 6887): requests built byte for byte as sections 7.1, 11.1 and
 * 14.1 lay them out, answers parsed with every length and field checked
 * (sections 7.2, 9, 11.1), the epoch check of section 8.5 and the sentences
 * each result code (section 7.4) turns into.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "pcp.h"

static const uint8_t nonce[PCP_NONCE_LEN] = {
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x10, 0x32, 0x54, 0x76
};

/* A MAP request for 8080/tcp from 192.168.77.10, any external port. */
static void
map_request(struct pcp_request *req)
{
	struct in_addr a;

	memset(req, 0, sizeof(*req));
	req->opcode = PCP_OP_MAP;
	req->lifetime = 3600;
	inet_pton(AF_INET, "192.168.77.10", &a);
	pcp_addr_v4(a, &req->client);
	memcpy(req->nonce, nonce, sizeof(nonce));
	req->protocol = IPPROTO_TCP;
	req->int_port = 8080;
	req->ext_port = 8080;
	pcp_addr_v4((struct in_addr){ 0 }, &req->ext_addr);
}

/* The answer miniupnpd gives: 203.0.113.7:8080 for 3600 s, epoch 42. */
static void
map_answer(uint8_t b[PCP_MAP_LEN], int result, const char *ext)
{
	struct in_addr a;

	memset(b, 0, PCP_MAP_LEN);
	b[0] = 2;
	b[1] = 0x81;
	b[3] = (uint8_t)result;
	b[6] = 0x0e;			/* lifetime 3600 */
	b[7] = 0x10;
	b[11] = 42;			/* epoch */
	memcpy(b + 24, nonce, sizeof(nonce));
	b[36] = IPPROTO_TCP;
	b[40] = 0x1f;			/* internal port 8080 */
	b[41] = 0x90;
	b[42] = 0x1f;			/* external port 8080 */
	b[43] = 0x90;
	b[54] = 0xff;
	b[55] = 0xff;
	inet_pton(AF_INET, ext, &a);
	memcpy(b + 56, &a.s_addr, 4);
}

static void
test_build_map(void **state)
{
	static const uint8_t want[PCP_MAP_LEN] = {
		2, 1, 0, 0, 0, 0, 0x0e, 0x10,		/* MAP, 3600 s */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 77, 10,
		0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
		0x10, 0x32, 0x54, 0x76,			/* nonce */
		6, 0, 0, 0, 0x1f, 0x90, 0x1f, 0x90,	/* TCP, 8080, 8080 */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0,
	};
	struct pcp_request req;
	uint8_t buf[PCP_MAP_LEN];

	(void)state;
	map_request(&req);
	assert_int_equal(pcp_build_request(buf, &req), PCP_MAP_LEN);
	assert_memory_equal(buf, want, sizeof(want));
}

static void
test_build_announce(void **state)
{
	struct pcp_request req;
	uint8_t buf[PCP_MAP_LEN];

	(void)state;
	map_request(&req);
	req.opcode = PCP_OP_ANNOUNCE;
	req.lifetime = 0;
	assert_int_equal(pcp_build_request(buf, &req), PCP_HEADER_LEN);
	assert_int_equal(buf[0], 2);
	assert_int_equal(buf[1], 0);
	assert_int_equal(buf[4] | buf[5] | buf[6] | buf[7], 0);
	assert_int_equal(buf[18], 0xff);
	assert_int_equal(buf[23], 10);
}

static void
test_parse_map(void **state)
{
	struct pcp_request req;
	struct pcp_response r;
	uint8_t b[PCP_MAP_LEN];
	struct in_addr v4;
	char ip[INET6_ADDRSTRLEN];
	const char *why = NULL;

	(void)state;
	map_request(&req);
	map_answer(b, PCP_SUCCESS, "203.0.113.7");
	assert_int_equal(pcp_parse_response(b, sizeof(b), &req, &r, &why), 0);
	assert_int_equal(r.version, 2);
	assert_int_equal(r.opcode, PCP_OP_MAP);
	assert_int_equal(r.result, PCP_SUCCESS);
	assert_int_equal(r.lifetime, 3600);
	assert_int_equal(r.epoch, 42);
	assert_int_equal(r.int_port, 8080);
	assert_int_equal(r.ext_port, 8080);
	assert_memory_equal(r.nonce, nonce, sizeof(nonce));
	assert_true(pcp_addr_is_v4(&r.ext_addr, &v4));
	assert_string_equal(pcp_addr_str(&r.ext_addr, ip), "203.0.113.7");
	assert_false(pcp_natpmp_only(&r));
}

/* Each check of sections 7.2 and 11.1, with the reason given. */
static void
test_parse_rejects(void **state)
{
	struct pcp_request req;
	struct pcp_response r;
	uint8_t b[PCP_MAP_LEN + 8];
	const char *why;
	size_t n;

	(void)state;
	map_request(&req);
	for (n = 0; n < PCP_MAP_LEN; n++) {
		map_answer(b, PCP_SUCCESS, "203.0.113.7");
		why = NULL;
		assert_int_equal(pcp_parse_response(b, n, &req, &r, &why), -1);
		assert_non_null(why);
	}
	map_answer(b, PCP_SUCCESS, "203.0.113.7");
	assert_int_equal(pcp_parse_response(b, 23, &req, &r, &why), -1);
	assert_string_equal(why, "too short for a PCP response");
	assert_int_equal(pcp_parse_response(b, 58, &req, &r, &why), -1);
	assert_string_equal(why, "not a PCP message (section 7: a multiple "
	    "of 4 bytes, at most 1100)");
	assert_int_equal(pcp_parse_response(b, 56, &req, &r, &why), -1);
	assert_string_equal(why, "cut short (no MAP data)");

	b[0] = 1;
	assert_int_equal(pcp_parse_response(b, PCP_MAP_LEN, &req, &r, &why), -1);
	assert_string_equal(why, "wrong version");
	map_answer(b, PCP_SUCCESS, "203.0.113.7");
	b[1] = 0x01;
	assert_int_equal(pcp_parse_response(b, PCP_MAP_LEN, &req, &r, &why), -1);
	assert_string_equal(why, "a request, not a response (R bit clear)");
	b[1] = 0x82;
	assert_int_equal(pcp_parse_response(b, PCP_MAP_LEN, &req, &r, &why), -1);
	assert_string_equal(why, "the response to another kind of request "
	    "(wrong opcode)");

	/* Stale answers: another nonce, protocol or internal port. */
	map_answer(b, PCP_SUCCESS, "203.0.113.7");
	b[35] ^= 1;
	assert_int_equal(pcp_parse_response(b, PCP_MAP_LEN, &req, &r, &why), -1);
	assert_string_equal(why, "about another mapping (the nonce differs: "
	    "a stale response)");
	map_answer(b, PCP_SUCCESS, "203.0.113.7");
	b[36] = IPPROTO_UDP;
	assert_int_equal(pcp_parse_response(b, PCP_MAP_LEN, &req, &r, &why), -1);
	assert_string_equal(why, "about another protocol (a stale response)");
	map_answer(b, PCP_SUCCESS, "203.0.113.7");
	b[41] = 0x91;
	assert_int_equal(pcp_parse_response(b, PCP_MAP_LEN, &req, &r, &why), -1);
	assert_string_equal(why, "about another internal port (a stale "
	    "response)");

	/* Options may follow (section 7.3): longer is fine, if 4-aligned. */
	map_answer(b, PCP_SUCCESS, "203.0.113.7");
	memset(b + PCP_MAP_LEN, 0, 8);
	assert_int_equal(pcp_parse_response(b, sizeof(b), &req, &r, NULL), 0);
	assert_null(pcp_response_problem(b, sizeof(b), &req));
}

/* Section 9: a server without version 2 may answer with the header. */
static void
test_parse_unsupp_version(void **state)
{
	struct pcp_request req;
	struct pcp_response r;
	uint8_t b[PCP_MAP_LEN];

	(void)state;
	map_request(&req);
	map_answer(b, PCP_UNSUPP_VERSION, "0.0.0.0");
	assert_int_equal(pcp_parse_response(b, PCP_HEADER_LEN, &req, &r, NULL),
	    0);
	assert_int_equal(r.result, PCP_UNSUPP_VERSION);
	assert_int_equal(r.ext_port, 0);
}

/* A NAT-PMP router answers version 2 with its own version 0 (RFC 6886). */
static void
test_parse_natpmp(void **state)
{
	uint8_t v0[8] = { 0, 0x81, 0, 1, 0, 0, 0x01, 0x00 };
	struct pcp_request req;
	struct pcp_response r;
	struct pm_error err;
	const char *why;

	(void)state;
	map_request(&req);
	/* Opcode 128 (RFC 6886 errata 3618) and 0 (its text) are fine too. */
	v0[1] = 128;
	assert_int_equal(pcp_parse_response(v0, sizeof(v0), &req, &r, NULL), 0);
	v0[1] = 0;
	assert_int_equal(pcp_parse_response(v0, sizeof(v0), &req, &r, NULL), 0);
	v0[1] = 0x81;
	assert_int_equal(pcp_parse_response(v0, sizeof(v0), &req, &r, NULL), 0);
	assert_true(pcp_natpmp_only(&r));
	assert_int_equal(r.result, 1);
	assert_int_equal(r.epoch, 256);
	assert_int_equal(pcp_check_response(&r, false, "forward port 8080/tcp",
	    &err), -1);
	assert_int_equal(err.code, PME_UNSUPPORTED);
	assert_non_null(strstr(err.msg, "speaks only NAT-PMP"));
	assert_int_equal(pcp_parse_response(v0, 7, &req, &r, &why), -1);
	assert_string_equal(why, "too short for a NAT-PMP answer");
	v0[3] = 0;
	assert_int_equal(pcp_parse_response(v0, sizeof(v0), &req, &r, &why),
	    -1);
	assert_string_equal(why, "a NAT-PMP answer other than Unsupported "
	    "Version");
	v0[3] = 1;
	v0[1] = 0x82;
	assert_int_equal(pcp_parse_response(v0, sizeof(v0), &req, &r, &why),
	    -1);
	assert_string_equal(why, "a NAT-PMP answer to another request");
}

static void
test_parse_announce(void **state)
{
	uint8_t b[PCP_HEADER_LEN] = { 2, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	struct pcp_request req;
	struct pcp_response r;

	(void)state;
	memset(&req, 0, sizeof(req));
	req.opcode = PCP_OP_ANNOUNCE;
	assert_int_equal(pcp_parse_response(b, sizeof(b), &req, &r, NULL), 0);
	assert_int_equal(r.opcode, PCP_OP_ANNOUNCE);
	assert_int_equal(r.epoch, 256);
}

/* Section 8.5's rules. */
static void
test_epoch(void **state)
{
	(void)state;
	/* Both clocks ran 100 s. */
	assert_true(pcp_epoch_valid(1000, 50, 1100, 150));
	/* Backwards by one second is tolerated, by two it is not. */
	assert_true(pcp_epoch_valid(1000, 50, 999, 50));
	assert_false(pcp_epoch_valid(1000, 50, 998, 50));
	/* A reboot: the server's epoch starts again near zero. */
	assert_false(pcp_epoch_valid(86400, 100, 5, 200));
	/* Within 2 s plus 1/16 of the time passed either way. */
	assert_true(pcp_epoch_valid(0, 0, 1600, 1502));
	assert_false(pcp_epoch_valid(0, 0, 1600, 1400));
	assert_true(pcp_epoch_valid(0, 0, 1502, 1600));
	assert_false(pcp_epoch_valid(0, 0, 1400, 1600));
	/* The server ran far more than the client: state was lost and remade. */
	assert_false(pcp_epoch_valid(100, 10, 5000, 20));
}

static void
check_result(int result, const char *ext, bool pinhole, enum pm_errcode want,
    const char *phrase)
{
	struct pcp_request req;
	struct pcp_response r;
	struct pm_error err;
	uint8_t b[PCP_MAP_LEN];

	map_request(&req);
	map_answer(b, result, ext);
	assert_int_equal(pcp_parse_response(b, sizeof(b), &req, &r, NULL), 0);
	memset(&err, 0, sizeof(err));
	assert_int_equal(pcp_check_response(&r, pinhole, "forward port "
	    "8080/tcp", &err), want == PME_OK ? 0 : -1);
	assert_int_equal(err.code, want);
	if (phrase != NULL && strstr(err.msg, phrase) == NULL)
		fail_msg("result %d: \"%s\" lacks \"%s\"", result, err.msg,
		    phrase);
	if (want != PME_OK)
		assert_int_equal(err.router_code, result);
}

static void
test_results(void **state)
{
	(void)state;
	check_result(PCP_SUCCESS, "203.0.113.7", false, PME_OK, NULL);
	check_result(PCP_NOT_AUTHORIZED, "203.0.113.7", false,
	    PME_NOT_AUTHORIZED, "NOT_AUTHORIZED");
	check_result(PCP_NOT_AUTHORIZED, "0.0.0.0", true, PME_PINHOLE_REFUSED,
	    "FRITZ!Box: Home Network > Network > this device > allow "
	    "PCP/UPnP");
	check_result(PCP_NO_RESOURCES, "203.0.113.7", false,
	    PME_OUT_OF_RESOURCES, "no room");
	check_result(PCP_USER_EX_QUOTA, "203.0.113.7", false,
	    PME_OUT_OF_RESOURCES, "USER_EX_QUOTA");
	/* miniupnpd behind carrier-grade NAT. */
	check_result(PCP_NO_RESOURCES, "100.64.0.2", false,
	    PME_NO_PUBLIC_ADDRESS, "100.64.0.0/10");
	check_result(PCP_SUCCESS, "100.127.255.1", false,
	    PME_NO_PUBLIC_ADDRESS, "carrier-grade");
	check_result(PCP_SUCCESS, "192.168.1.2", false, PME_NO_PUBLIC_ADDRESS,
	    "private");
	check_result(PCP_ADDRESS_MISMATCH, "203.0.113.7", false,
	    PME_ADDRESS_MISMATCH, "a NAT sits between this host and the "
	    "router");
	check_result(PCP_CANNOT_PROVIDE_EXTERNAL, "203.0.113.7", false,
	    PME_CONFLICT, "CANNOT_PROVIDE_EXTERNAL");
	check_result(PCP_NETWORK_FAILURE, "0.0.0.0", false,
	    PME_NO_PUBLIC_ADDRESS, "NETWORK_FAILURE");
	check_result(PCP_UNSUPP_VERSION, "0.0.0.0", false, PME_UNSUPPORTED,
	    "version 2");
	check_result(PCP_MALFORMED_REQUEST, "0.0.0.0", false, PME_REFUSED,
	    "MALFORMED_REQUEST");
	check_result(PCP_UNSUPP_OPCODE, "0.0.0.0", false, PME_REFUSED,
	    "UNSUPP_OPCODE");
	check_result(PCP_UNSUPP_PROTOCOL, "0.0.0.0", false, PME_REFUSED,
	    "UNSUPP_PROTOCOL");
	check_result(PCP_MALFORMED_OPTION, "0.0.0.0", false, PME_REFUSED,
	    "MALFORMED_OPTION");
	check_result(200, "0.0.0.0", false, PME_REFUSED, "result 200");
}

static void
test_nonce(void **state)
{
	uint8_t a[PCP_NONCE_LEN], b[PCP_NONCE_LEN];
	char hex[2 * PCP_NONCE_LEN + 1];
	struct pm_error err;

	(void)state;
	assert_int_equal(pcp_nonce_new(a, &err), 0);
	assert_int_equal(pcp_nonce_new(b, &err), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	pcp_nonce_hex(nonce, hex);
	assert_string_equal(hex, "0123456789abcdef10325476");
	assert_int_equal(pcp_nonce_parse("0123456789ABCDEF10325476", a), 0);
	assert_memory_equal(a, nonce, sizeof(nonce));
	assert_int_equal(pcp_nonce_parse("0123456789abcdef1032547", a), -1);
	assert_int_equal(pcp_nonce_parse("0123456789abcdef103254760", a), -1);
	assert_int_equal(pcp_nonce_parse("0123456789abcdef1032547g", a), -1);
}

static void
test_addr(void **state)
{
	struct in6_addr a6;
	struct in_addr a;
	char s[INET6_ADDRSTRLEN];

	(void)state;
	inet_pton(AF_INET, "192.0.2.1", &a);
	pcp_addr_v4(a, &a6);
	assert_true(pcp_addr_is_v4(&a6, NULL));
	assert_string_equal(pcp_addr_str(&a6, s), "192.0.2.1");
	inet_pton(AF_INET6, "2a0c:7700:77::10", &a6);
	assert_false(pcp_addr_is_v4(&a6, &a));
	assert_string_equal(pcp_addr_str(&a6, s), "2a0c:7700:77::10");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_map),
		cmocka_unit_test(test_build_announce),
		cmocka_unit_test(test_parse_map),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_parse_unsupp_version),
		cmocka_unit_test(test_parse_natpmp),
		cmocka_unit_test(test_parse_announce),
		cmocka_unit_test(test_epoch),
		cmocka_unit_test(test_results),
		cmocka_unit_test(test_nonce),
		cmocka_unit_test(test_addr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
