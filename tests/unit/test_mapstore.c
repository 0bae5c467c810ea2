/* The command line's store of PCP nonces and UPnP pinhole UniqueIDs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mapstore.h"
#include "util.h"

static char dir[PATH_MAX];

static int
setup(void **unused)
{
	(void)unused;
	snprintf(dir, sizeof(dir), "/tmp/pk-mapstore-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int
teardown(void **unused)
{
	char path[PATH_MAX + 32];

	(void)unused;
	snprintf(path, sizeof(path), "%s/%s", dir, MAPSTORE_FILE);
	unlink(path);
	rmdir(dir);
	return 0;
}

static void
pcp_entry(struct mapstore_entry *e, const char *addr, uint16_t port)
{
	size_t i;

	memset(e, 0, sizeof(*e));
	e->family = 6;
	e->proto = PM_TCP;
	str_copy(e->addr, addr, sizeof(e->addr));
	e->port = port;
	e->ext_port = port;
	e->kind = MS_PCP;
	for (i = 0; i < sizeof(e->nonce); i++)
		e->nonce[i] = (uint8_t)(0xa0 + i);
	e->expires = time(NULL) + 3600;
}

static void
test_put_get_del(void **unused)
{
	struct mapstore_entry e, got;
	char err[256], path[PATH_MAX + 32];
	struct stat sb;

	(void)unused;
	assert_int_equal(mapstore_get(dir, 6, PM_TCP, "2a0c:7700:77::10",
	    8080, MS_PCP, &got, err, sizeof(err)), 0);

	pcp_entry(&e, "2a0c:7700:77::10", 8080);
	assert_int_equal(mapstore_put(dir, &e, err, sizeof(err)), 0);
	/* A pinhole for the same port is another entry. */
	e.kind = MS_UPNP_PINHOLE;
	e.unique_id = 7;
	assert_int_equal(mapstore_put(dir, &e, err, sizeof(err)), 0);

	assert_int_equal(mapstore_get(dir, 6, PM_TCP, "2a0c:7700:77::10",
	    8080, MS_PCP, &got, err, sizeof(err)), 1);
	assert_int_equal(got.nonce[0], 0xa0);
	assert_int_equal(got.nonce[11], 0xab);
	assert_int_equal(got.ext_port, 8080);
	assert_int_equal(mapstore_get(dir, 6, PM_TCP, "2a0c:7700:77::10",
	    8080, MS_UPNP_PINHOLE, &got, err, sizeof(err)), 1);
	assert_int_equal(got.unique_id, 7);
	/* Another protocol, port or address is not it. */
	assert_int_equal(mapstore_get(dir, 6, PM_UDP, "2a0c:7700:77::10",
	    8080, MS_PCP, &got, err, sizeof(err)), 0);
	assert_int_equal(mapstore_get(dir, 6, PM_TCP, "2a0c:7700:77::11",
	    8080, MS_PCP, &got, err, sizeof(err)), 0);

	/* The nonce lets its holder delete the mapping: nobody else reads. */
	snprintf(path, sizeof(path), "%s/%s", dir, MAPSTORE_FILE);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	/* A newer one for the same key replaces it. */
	e.unique_id = 9;
	assert_int_equal(mapstore_put(dir, &e, err, sizeof(err)), 0);
	assert_int_equal(mapstore_get(dir, 6, PM_TCP, "2a0c:7700:77::10",
	    8080, MS_UPNP_PINHOLE, &got, err, sizeof(err)), 1);
	assert_int_equal(got.unique_id, 9);

	assert_int_equal(mapstore_del(dir, 6, PM_TCP, "2a0c:7700:77::10",
	    8080, MS_UPNP_PINHOLE, err, sizeof(err)), 0);
	assert_int_equal(mapstore_get(dir, 6, PM_TCP, "2a0c:7700:77::10",
	    8080, MS_UPNP_PINHOLE, &got, err, sizeof(err)), 0);
	assert_int_equal(mapstore_get(dir, 6, PM_TCP, "2a0c:7700:77::10",
	    8080, MS_PCP, &got, err, sizeof(err)), 1);
	/* Deleting what is not there is fine. */
	assert_int_equal(mapstore_del(dir, 4, PM_UDP, "192.168.77.10", 1,
	    MS_PCP, err, sizeof(err)), 0);

	/* An expired entry goes at the next write. */
	pcp_entry(&e, "2a0c:7700:77::10", 9000);
	e.expires = 1000;
	assert_int_equal(mapstore_put(dir, &e, err, sizeof(err)), 0);
	pcp_entry(&e, "2a0c:7700:77::10", 9001);
	assert_int_equal(mapstore_put(dir, &e, err, sizeof(err)), 0);
	assert_int_equal(mapstore_get(dir, 6, PM_TCP, "2a0c:7700:77::10",
	    9000, MS_PCP, &got, err, sizeof(err)), 0);
	assert_int_equal(mapstore_get(dir, 6, PM_TCP, "2a0c:7700:77::10",
	    9001, MS_PCP, &got, err, sizeof(err)), 1);

	/* The list leaves out what ran out, and stops at max. */
	pcp_entry(&e, "2a0c:7700:77::10", 9002);
	assert_int_equal(mapstore_put(dir, &e, err, sizeof(err)), 0);
	e.port = 9003;
	e.expires = 1000;
	assert_int_equal(mapstore_put(dir, &e, err, sizeof(err)), 0);
	{
		struct mapstore_entry all[8];
		int n = mapstore_list(dir, all, 8, err, sizeof(err)), i;

		assert_int_equal(n, 3);	/* 8080, 9001, 9002 */
		for (i = 0; i < n; i++)
			assert_int_not_equal(all[i].port, 9003);
		assert_int_equal(mapstore_list(dir, all, 1, err,
		    sizeof(err)), 1);
	}
}

static void
test_parse_bad(void **unused)
{
	static const char mixed[] = "{\"mappings\":["
	    /* good */
	    "{\"family\":6,\"protocol\":\"udp\",\"address\":\"2a0c::1\","
	    "\"port\":53,\"external_port\":53,\"expires\":0,\"kind\":\"pcp\","
	    "\"nonce\":\"000102030405060708090a0b\"},"
	    /* bad nonces, family, port, kind, types */
	    "{\"family\":6,\"protocol\":\"udp\",\"address\":\"2a0c::1\","
	    "\"port\":53,\"external_port\":53,\"expires\":0,\"kind\":\"pcp\","
	    "\"nonce\":\"0001\"},"
	    "{\"family\":6,\"protocol\":\"udp\",\"address\":\"2a0c::1\","
	    "\"port\":53,\"external_port\":53,\"expires\":0,\"kind\":\"pcp\","
	    "\"nonce\":\"zz0102030405060708090a0b\"},"
	    "{\"family\":5,\"protocol\":\"udp\",\"address\":\"2a0c::1\","
	    "\"port\":53,\"external_port\":53,\"expires\":0,\"kind\":\"pcp\"},"
	    "{\"family\":6,\"protocol\":\"sctp\",\"address\":\"2a0c::1\","
	    "\"port\":53,\"external_port\":53,\"expires\":0,\"kind\":\"pcp\"},"
	    "{\"family\":6,\"protocol\":\"udp\",\"address\":\"2a0c::1\","
	    "\"port\":0,\"external_port\":53,\"expires\":0,\"kind\":\"pcp\"},"
	    "{\"family\":6,\"protocol\":\"udp\",\"address\":\"2a0c::1\","
	    "\"port\":53.5,\"external_port\":53,\"expires\":0,"
	    "\"kind\":\"upnp_pinhole\",\"unique_id\":1},"
	    "{\"family\":6,\"protocol\":\"udp\",\"address\":\"2a0c::1\","
	    "\"port\":53,\"external_port\":53,\"expires\":0,\"kind\":\"x\"},"
	    "{\"family\":6,\"protocol\":\"udp\",\"address\":\"2a0c::1\","
	    "\"port\":53,\"external_port\":53,\"expires\":0,"
	    "\"kind\":\"upnp_pinhole\",\"unique_id\":70000},"
	    "17,\"x\",null]}";
	struct mapstore_entry es[4];

	(void)unused;
	assert_int_equal(mapstore_parse(mixed, strlen(mixed), es, 4), 1);
	assert_int_equal(es[0].proto, PM_UDP);
	assert_int_equal(es[0].nonce[11], 0x0b);
	assert_int_equal(mapstore_parse("[]", 2, es, 4), -1);
	assert_int_equal(mapstore_parse("{}", 2, es, 4), -1);
	assert_int_equal(mapstore_parse("{\"mappings\":", 12, es, 4), -1);
	assert_int_equal(mapstore_parse("{\"mappings\":[]}", 15, es, 4), 0);
}

/* A file that is not ours is an error naming it, and is left alone. */
static void
test_not_ours(void **unused)
{
	struct mapstore_entry e, got;
	char err[256], path[PATH_MAX + 32];
	FILE *f;

	(void)unused;
	snprintf(path, sizeof(path), "%s/%s", dir, MAPSTORE_FILE);
	assert_non_null(f = fopen(path, "w"));
	fputs("hello", f);
	fclose(f);
	assert_int_equal(mapstore_get(dir, 6, PM_TCP, "2a0c::1", 80, MS_PCP,
	    &got, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	pcp_entry(&e, "2a0c::1", 80);
	assert_int_equal(mapstore_put(dir, &e, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not portkeeper's list"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_get_del, setup,
		    teardown),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test_setup_teardown(test_not_ours, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
