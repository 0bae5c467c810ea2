/*
 * Test-only: prints what netinfo6_get finds on the host (or network
 * namespace) it runs in, so that tests/integration/test_netinfo6.sh checks
 * the library against a real kernel before the CLI shows it.  Not
 * installed.
 *
 * usage: netinfo6_show [ADDRESS]
 * Prints "address= kind= gateway= ifname=" lines and exits 0, or
 * "error= message=" lines and exits 1.
 */
#include <stdio.h>

#include "netinfo6.h"

int
main(int argc, char *argv[])
{
	struct netinfo6 ni;
	struct pm_error err = { 0 };

	if (netinfo6_get(&ni, argc > 1 ? argv[1] : NULL, &err) == -1) {
		printf("error=%s\nmessage=%s\nonly_temporary=%d\n",
		    pmerr_code_str(err.code), err.msg, ni.only_temporary);
		return 1;
	}
	printf("address=%s\nkind=%s\ngateway=%s\nifname=%s\n", ni.addr_str,
	    ni.kind, ni.gateway_str, ni.ifname);
	return 0;
}
