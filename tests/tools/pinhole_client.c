/*
 * A test-only client of upnp_pinhole.h for test_pinhole.sh, linked with
 * libportkeeper.a: finds the router's IPv6 firewall as a caller would and
 * runs one action, printing its result on one line.  Not part of the
 * product (the CLI's -6 is).
 *
 * usage: pinhole_client GW4 LOCAL4 GW6%IF ADDR6 status
 *        pinhole_client GW4 LOCAL4 GW6%IF ADDR6 add tcp|udp PORT LEASE
 *        pinhole_client GW4 LOCAL4 GW6%IF ADDR6 update UID LEASE
 *        pinhole_client GW4 LOCAL4 GW6%IF ADDR6 delete UID
 *
 * Prints "ok ..." and exits 0, or "error CODE: SENTENCE" and exits 1
 * (2 for usage).
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upnp_pinhole.h"
#include "util.h"

static int
usage(void)
{
	fprintf(stderr, "usage: pinhole_client GW4 LOCAL4 GW6%%IF ADDR6 "
	    "status | add tcp|udp PORT LEASE | update UID LEASE | "
	    "delete UID\n");
	return 2;
}

/* Runs argv[0] (the action) on t: 1 ok, 0 none, -1 error. */
static int
run(const struct upnp_pinhole_target *t, int argc, char **argv,
    int64_t dl, struct pm_error *e)
{
	uint16_t uid;
	bool en, in;
	int rc;

	if (strcmp(argv[0], "status") == 0 && argc == 1) {
		if (upnp_pinhole_status(t, &en, &in, dl, e) == -1)
			return -1;
		printf("ok firewall_enabled=%d inbound_pinhole_allowed=%d\n",
		    en, in);
		return 1;
	}
	if (strcmp(argv[0], "add") == 0 && argc == 4) {
		if (upnp_pinhole_add(t, strcmp(argv[1], "udp") == 0 ? PM_UDP :
		    PM_TCP, (uint16_t)atoi(argv[2]),
		    (uint32_t)strtoul(argv[3], NULL, 10), &uid, dl, e) == -1)
			return -1;
		printf("ok uid=%u url=%s\n", uid, t->url);
		return 1;
	}
	if (strcmp(argv[0], "update") == 0 && argc == 3)
		rc = upnp_pinhole_update(t, (uint16_t)atoi(argv[1]),
		    (uint32_t)strtoul(argv[2], NULL, 10), dl, e);
	else if (strcmp(argv[0], "delete") == 0 && argc == 2)
		rc = upnp_pinhole_delete(t, (uint16_t)atoi(argv[1]), dl, e);
	else
		return -2;
	if (rc >= 0)
		printf("ok %s\n", rc == 1 ? "done" : "none");
	return rc;
}

int
main(int argc, char **argv)
{
	struct upnp_pinhole_target t;
	struct in_addr gw4, local4;
	struct in6_addr gw6, addr6;
	struct pm_error e;
	char *pct;
	unsigned ifindex = 0;
	int64_t dl;
	int rc;

	if (argc < 6)
		return usage();
	if ((pct = strchr(argv[3], '%')) != NULL) {
		*pct = '\0';
		ifindex = if_nametoindex(pct + 1);
	}
	if (inet_pton(AF_INET, argv[1], &gw4) != 1 ||
	    inet_pton(AF_INET, argv[2], &local4) != 1 ||
	    inet_pton(AF_INET6, argv[3], &gw6) != 1 ||
	    inet_pton(AF_INET6, argv[4], &addr6) != 1)
		return usage();
	pmerr_clear(&e);
	dl = mono_ms() + 5000;
	if (upnp_pinhole_find(&t, gw4, local4, &gw6, ifindex, &addr6, dl,
	    &e) == -1)
		rc = -1;
	else
		rc = run(&t, argc - 5, argv + 5, dl, &e);
	if (rc == -2)
		return usage();
	if (rc == -1) {
		printf("error %s: %s\n", pmerr_code_str(e.code), e.msg);
		return 1;
	}
	return 0;
}
