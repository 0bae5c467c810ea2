/* The daemon's configuration file: values, defaults, errors, round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "config.h"
#include "util.h"

/* The longest line inih's buffer holds with our newline and its NUL. */
#define LINE_MAX_CHARS	(INI_MAX_LINE - 2)

static const char example[] =
    "[portkeeper]\n"
    "method = auto            ; auto | upnp | natpmp\n"
    "lease = 7200             ; seconds asked of the router\n"
    "state_dir = /var/lib/portkeeper\n"
    "on_change = /etc/portkeeper/on-change   ; optional hook\n"
    "remove_on_exit = yes\n"
    "socket = /run/portkeeper/api.sock\n"
    "verify_interval = 60     ; seconds between checks that forwards exist\n"
    "\n"
    "[forward web]\n"
    "external = 80\n"
    "internal = 8080          ; default: external\n"
    "protocol = tcp           ; tcp | udp\n";

static int
parse(const char *text, struct config *cfg, char *err, size_t errlen)
{
	return config_parse(text, strlen(text), "t.conf", cfg, err, errlen);
}

/* cfg holds exactly what config_init gives. */
static void
assert_defaults(const struct config *cfg)
{
	struct config def;

	config_init(&def);
	assert_int_equal(cfg->method, def.method);
	assert_int_equal(cfg->lease, def.lease);
	assert_string_equal(cfg->state_dir, def.state_dir);
	assert_string_equal(cfg->on_change, def.on_change);
	assert_int_equal(cfg->remove_on_exit, def.remove_on_exit);
	assert_string_equal(cfg->socket, def.socket);
	assert_int_equal(cfg->verify_interval, def.verify_interval);
	assert_string_equal(cfg->probe, def.probe);
	assert_int_equal(cfg->nfwd, 0);
	assert_null(cfg->fwd);
}

/* text fails with exactly the message want, and leaves cfg empty. */
static void
expect_error(const char *text, const char *want)
{
	struct config cfg;
	char err[512];

	if (parse(text, &cfg, err, sizeof(err)) != -1)
		fail_msg("accepted:\n%s", text);
	assert_string_equal(err, want);
	assert_defaults(&cfg);
	assert_string_equal(cfg.path, "");
	config_free(&cfg);
}

static void
expect_ok(const char *text, struct config *cfg)
{
	char err[512];

	err[0] = '\0';
	if (parse(text, cfg, err, sizeof(err)) != 0)
		fail_msg("rejected: %s\n%s", err, text);
}

static void
test_example(void **state)
{
	const struct config_forward *f;
	struct config cfg;

	(void)state;
	expect_ok(example, &cfg);
	assert_string_equal(cfg.path, "t.conf");
	assert_int_equal(cfg.method, PM_AUTO);
	assert_int_equal(cfg.lease, 7200);
	assert_string_equal(cfg.state_dir, "/var/lib/portkeeper");
	assert_string_equal(cfg.on_change, "/etc/portkeeper/on-change");
	assert_true(cfg.remove_on_exit);
	assert_string_equal(cfg.socket, "/run/portkeeper/api.sock");
	assert_int_equal(cfg.verify_interval, 60);
	assert_int_equal(cfg.nfwd, 1);
	f = &cfg.fwd[0];
	assert_string_equal(f->name, "web");
	assert_int_equal(f->ext, 80);
	assert_int_equal(f->in, 8080);
	assert_int_equal(f->proto, PM_TCP);
	assert_int_equal(f->line, 10);
	assert_ptr_equal(config_find(&cfg, "web"), f);
	assert_null(config_find(&cfg, "Web"));
	assert_null(config_find(&cfg, "mail"));
	assert_null(config_find(&cfg, NULL));
	config_free(&cfg);
	/* config_free leaves nothing behind and may be repeated. */
	assert_null(cfg.fwd);
	assert_int_equal(cfg.nfwd, 0);
	config_free(&cfg);
}

static void
test_values(void **state)
{
	struct config cfg;

	(void)state;
	expect_ok("[portkeeper]\n"
	    "method = natpmp\n"
	    "lease = 604800\n"
	    "state_dir = /srv/pk state\n"
	    "on_change =\n"
	    "remove_on_exit = off\n"
	    "socket = /tmp/pk.sock\n"
	    "verify_interval = 86400\n", &cfg);
	assert_int_equal(cfg.method, PM_NATPMP);
	assert_int_equal(cfg.lease, 604800);
	assert_string_equal(cfg.state_dir, "/srv/pk state");
	assert_string_equal(cfg.on_change, "");
	assert_false(cfg.remove_on_exit);
	assert_string_equal(cfg.socket, "/tmp/pk.sock");
	assert_int_equal(cfg.verify_interval, 86400);
	config_free(&cfg);

	expect_ok("[portkeeper]\nmethod = upnp\nlease = 1\n"
	    "verify_interval = 5\n", &cfg);
	assert_int_equal(cfg.method, PM_UPNP);
	assert_int_equal(cfg.lease, 1);
	assert_int_equal(cfg.verify_interval, 5);
	config_free(&cfg);
}

/* portkeeper doctor's probe server: an http:// URL, or nothing. */
static void
test_probe(void **state)
{
	static const char *const good[] = {
		"http://vps.example.net:8770",
		"http://203.0.113.7",
		"http://[2001:db8::7]:8770/pk/probe",
	};
	struct config cfg;
	char text[512];
	size_t i;

	(void)state;
	for (i = 0; i < nitems(good); i++) {
		snprintf(text, sizeof(text), "[portkeeper]\nprobe = %s\n",
		    good[i]);
		expect_ok(text, &cfg);
		assert_string_equal(cfg.probe, good[i]);
		config_free(&cfg);
	}
	expect_ok("[portkeeper]\nprobe =\n", &cfg);
	assert_string_equal(cfg.probe, "");
	config_free(&cfg);
	/* A comment after the URL is cut off like any other. */
	expect_ok("[portkeeper]\nprobe = http://vps:8770 ; my VPS\n", &cfg);
	assert_string_equal(cfg.probe, "http://vps:8770");
	config_free(&cfg);
	expect_error("[portkeeper]\nprobe = https://vps.example.net\n",
	    "t.conf:2: bad value \"https://vps.example.net\" for probe in "
	    "[portkeeper]: expected an http://HOST[:PORT] URL of a portkeeper "
	    "probe-server, or nothing");
	expect_error("[portkeeper]\nprobe = vps.example.net:8770\n",
	    "t.conf:2: bad value \"vps.example.net:8770\" for probe in "
	    "[portkeeper]: expected an http://HOST[:PORT] URL of a portkeeper "
	    "probe-server, or nothing");
	expect_error("[portkeeper]\nprobe = http://vps:99999\n",
	    "t.conf:2: bad value \"http://vps:99999\" for probe in "
	    "[portkeeper]: expected an http://HOST[:PORT] URL of a portkeeper "
	    "probe-server, or nothing");
	expect_error("[forward web]\nexternal = 80\nprobe = http://vps\n",
	    "t.conf:3: unknown key \"probe\" in [forward web]: expected "
	    "external, internal, protocol or family");
}

static void
test_booleans(void **state)
{
	static const struct {
		const char	*word;
		bool		 value;
	} cases[] = {
		{ "yes", true }, { "no", false }, { "true", true },
		{ "false", false }, { "on", true }, { "off", false },
		{ "1", true }, { "0", false },
		{ "YES", true }, { "Off", false },
	};
	struct config cfg;
	char text[128];
	size_t i;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		snprintf(text, sizeof(text),
		    "[portkeeper]\nremove_on_exit = %s\n", cases[i].word);
		expect_ok(text, &cfg);
		assert_int_equal(cfg.remove_on_exit, cases[i].value);
		config_free(&cfg);
	}
}


static void
test_defaults(void **state)
{
	struct config cfg;

	(void)state;
	config_init(&cfg);
	assert_int_equal(cfg.method, PM_AUTO);
	assert_int_equal(cfg.lease, 7200);
	assert_string_equal(cfg.state_dir, "/var/lib/portkeeper");
	assert_string_equal(cfg.on_change, "");
	assert_true(cfg.remove_on_exit);
	assert_string_equal(cfg.socket, "/run/portkeeper/api.sock");
	assert_int_equal(cfg.verify_interval, 60);
	assert_string_equal(cfg.probe, "");
	assert_null(cfg.fwd);
	assert_int_equal(cfg.nfwd, 0);
	assert_string_equal(cfg.path, "");

	/* An empty [portkeeper] section changes nothing. */
	expect_ok("[portkeeper]\n", &cfg);
	assert_defaults(&cfg);
	config_free(&cfg);
}

static void
test_empty(void **state)
{
	static const char *const texts[] = {
		"", "\n", "\n\n\n", "   \n\t\n", "\r\n", "; nothing\n# here\n",
	};
	struct config cfg;
	char err[64];
	size_t i;

	(void)state;
	for (i = 0; i < nitems(texts); i++) {
		expect_ok(texts[i], &cfg);
		assert_defaults(&cfg);
		assert_string_equal(cfg.path, "t.conf");
		config_free(&cfg);
	}
	assert_int_equal(config_parse(NULL, 0, "none", &cfg, err, sizeof(err)),
	    0);
	assert_defaults(&cfg);
	config_free(&cfg);
}

/* The IPv6 keys (issue 16's contract) and what they resolve to. */
static void
test_ipv6(void **state)
{
	struct config cfg;
	struct in6_addr cur, want, exp;
	char buf[64];

	(void)state;
	expect_ok("[portkeeper]\n", &cfg);
	assert_int_equal(cfg.ipv6, CONFIG_IPV6_AUTO);
	assert_int_equal(cfg.addr6.kind, CONFIG_ADDR6_AUTO);
	config_free(&cfg);

	expect_ok("[portkeeper]\nipv6 = off\nipv6_address = ::10\n"
	    "method = pcp\n[forward a]\nexternal = 80\ninternal = 8080\n"
	    "family = both\n[forward b]\nexternal = 81\nfamily = 4\n"
	    "[forward c]\nexternal = 8443\nfamily = 6\n", &cfg);
	assert_int_equal(cfg.ipv6, CONFIG_IPV6_OFF);
	assert_int_equal(cfg.method, PM_PCP);
	assert_int_equal(cfg.addr6.kind, CONFIG_ADDR6_SUFFIX);
	config_addr6_str(&cfg.addr6, buf, sizeof(buf));
	assert_string_equal(buf, "::10");
	assert_int_equal(cfg.fwd[0].family, CONFIG_FAMILY_BOTH);
	assert_true(config_forward_v4(&cfg.fwd[0]));
	assert_true(config_forward_v6(&cfg.fwd[0]));
	assert_int_equal(cfg.fwd[1].family, CONFIG_FAMILY_4);
	assert_false(config_forward_v6(&cfg.fwd[1]));
	assert_int_equal(cfg.fwd[2].family, CONFIG_FAMILY_6);
	assert_false(config_forward_v4(&cfg.fwd[2]));

	/* The suffix goes behind the current prefix, whatever it is. */
	assert_int_equal(config_addr6_want(&cfg.addr6, NULL, &want), -1);
	inet_pton(AF_INET6, "2a0c:7700:77::abcd", &cur);
	assert_int_equal(config_addr6_want(&cfg.addr6, &cur, &want), 0);
	inet_pton(AF_INET6, "2a0c:7700:77::10", &exp);
	assert_memory_equal(&want, &exp, sizeof(exp));
	config_free(&cfg);

	expect_ok("[portkeeper]\nipv6 = on\nipv6_address = 2a0c:7700:77::20\n",
	    &cfg);
	assert_int_equal(cfg.ipv6, CONFIG_IPV6_ON);
	assert_int_equal(cfg.addr6.kind, CONFIG_ADDR6_FIXED);
	assert_int_equal(config_addr6_want(&cfg.addr6, &cur, &want), 0);
	inet_pton(AF_INET6, "2a0c:7700:77::20", &exp);
	assert_memory_equal(&want, &exp, sizeof(exp));
	config_free(&cfg);

	/* A pinhole cannot translate: refused at the line of family. */
	expect_error("[forward web]\nexternal = 80\ninternal = 8080\n"
	    "family = 6\n", "t.conf:4: [forward web] has family = 6, but its "
	    "external port 80 differs from its internal port 8080: IPv6 has "
	    "no port translation, a pinhole opens the internal port itself.  "
	    "Set external = 8080, or family = both to forward 80 over IPv4 "
	    "and open 8080 over IPv6");
}

static void
test_internal_default(void **state)
{
	struct config cfg;

	(void)state;
	expect_ok("[forward ssh]\nexternal = 2222\n"
	    "[forward dns]\nprotocol = udp\nexternal = 53\n"
	    "[forward web]\ninternal = 8080\nexternal = 80\n", &cfg);
	assert_int_equal(cfg.nfwd, 3);
	assert_int_equal(cfg.fwd[0].ext, 2222);
	assert_int_equal(cfg.fwd[0].in, 2222);
	assert_int_equal(cfg.fwd[0].proto, PM_TCP);
	assert_int_equal(cfg.fwd[0].line, 1);
	assert_int_equal(cfg.fwd[1].ext, 53);
	assert_int_equal(cfg.fwd[1].in, 53);
	assert_int_equal(cfg.fwd[1].proto, PM_UDP);
	assert_int_equal(cfg.fwd[1].line, 3);
	/* internal given before external is not overwritten by it. */
	assert_int_equal(cfg.fwd[2].ext, 80);
	assert_int_equal(cfg.fwd[2].in, 8080);
	assert_int_equal(cfg.fwd[2].line, 6);
	config_free(&cfg);
}

static void
test_protocol_case(void **state)
{
	static const struct {
		const char	*word;
		enum pm_proto	 proto;
	} cases[] = {
		{ "tcp", PM_TCP }, { "TCP", PM_TCP }, { "Tcp", PM_TCP },
		{ "udp", PM_UDP }, { "UDP", PM_UDP }, { "uDp", PM_UDP },
	};
	struct config cfg;
	char text[128];
	size_t i;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		snprintf(text, sizeof(text),
		    "[forward x]\nexternal = 1\nprotocol = %s\n",
		    cases[i].word);
		expect_ok(text, &cfg);
		assert_int_equal(cfg.fwd[0].proto, cases[i].proto);
		config_free(&cfg);
	}
}

#define A6 "auto, a global IPv6 address, or ::SUFFIX (an interface " \
	    "identifier, such as ::10)"

/* Every key with values it must refuse, each on line 2 of its section. */
static void
test_bad_values(void **state)
{
	static const struct {
		bool		 fwd;
		const char	*key;
		const char	*value;
		const char	*expect;
	} cases[] = {
		{ false, "method", "UPNP", "auto, upnp, natpmp or pcp" },
		{ false, "method", "PCP", "auto, upnp, natpmp or pcp" },
		{ false, "method", "auto upnp", "auto, upnp, natpmp or pcp" },
		{ false, "method", "", "auto, upnp, natpmp or pcp" },
		{ false, "ipv6", "yes", "auto, on or off" },
		{ false, "ipv6", "", "auto, on or off" },
		{ false, "ipv6", "6", "auto, on or off" },
		{ false, "ipv6_address", "", A6 },
		{ false, "ipv6_address", "::", A6 },
		{ false, "ipv6_address", "::1", A6 },
		{ false, "ipv6_address", "fe80::10", A6 },
		{ false, "ipv6_address", "fd00::10", A6 },
		{ false, "ipv6_address", "ff02::1", A6 },
		{ false, "ipv6_address", "::ffff:192.168.1.2", A6 },
		{ false, "ipv6_address", "::1:0:0:0:10", A6 },
		{ false, "ipv6_address", "192.168.1.2", A6 },
		{ false, "ipv6_address", "2001:db8::10/64", A6 },
		{ true, "family", "Both", "both, 4 or 6" },
		{ true, "family", "ipv6", "both, 4 or 6" },
		{ true, "family", "46", "both, 4 or 6" },
		{ true, "family", "", "both, 4 or 6" },
		{ false, "lease", "0", "seconds from 1 to 604800" },
		{ false, "lease", "604801", "seconds from 1 to 604800" },
		{ false, "lease", "-1", "seconds from 1 to 604800" },
		{ false, "lease", "+5", "seconds from 1 to 604800" },
		{ false, "lease", "7200s", "seconds from 1 to 604800" },
		{ false, "lease", "", "seconds from 1 to 604800" },
		{ false, "lease", "0x10", "seconds from 1 to 604800" },
		{ false, "lease", "1e3", "seconds from 1 to 604800" },
		{ false, "lease", "72 00", "seconds from 1 to 604800" },
		{ false, "lease", "99999999999999999999999",
		    "seconds from 1 to 604800" },
		{ false, "state_dir", "", "an absolute path" },
		{ false, "state_dir", "var/lib/pk", "an absolute path" },
		{ false, "state_dir", "~/pk", "an absolute path" },
		{ false, "on_change", "hook",
		    "an absolute path, or nothing for no hook" },
		{ false, "on_change", "./hook",
		    "an absolute path, or nothing for no hook" },
		{ false, "remove_on_exit", "maybe", "yes or no" },
		{ false, "remove_on_exit", "2", "yes or no" },
		{ false, "remove_on_exit", "y", "yes or no" },
		{ false, "remove_on_exit", "", "yes or no" },
		{ false, "socket", "",
		    "an absolute path of at most 107 bytes" },
		{ false, "socket", "run/api.sock",
		    "an absolute path of at most 107 bytes" },
		{ false, "verify_interval", "0", "seconds from 5 to 86400" },
		{ false, "verify_interval", "4", "seconds from 5 to 86400" },
		{ false, "verify_interval", "86401",
		    "seconds from 5 to 86400" },
		{ false, "verify_interval", "60s", "seconds from 5 to 86400" },
		{ false, "verify_interval", "", "seconds from 5 to 86400" },
		{ true, "external", "0", "a port from 1 to 65535" },
		{ true, "external", "65536", "a port from 1 to 65535" },
		{ true, "external", "99999", "a port from 1 to 65535" },
		{ true, "external", "-80", "a port from 1 to 65535" },
		{ true, "external", "80/tcp", "a port from 1 to 65535" },
		{ true, "external", "80:8080", "a port from 1 to 65535" },
		{ true, "external", "", "a port from 1 to 65535" },
		{ true, "external", "http", "a port from 1 to 65535" },
		{ true, "external", "8O", "a port from 1 to 65535" },
		{ true, "internal", "0", "a port from 1 to 65535" },
		{ true, "internal", "65536", "a port from 1 to 65535" },
		{ true, "internal", "", "a port from 1 to 65535" },
		{ true, "internal", "x", "a port from 1 to 65535" },
		{ true, "protocol", "sctp", "tcp or udp" },
		{ true, "protocol", "", "tcp or udp" },
		{ true, "protocol", "tcp/udp", "tcp or udp" },
		{ true, "protocol", "tcpp", "tcp or udp" },
	};
	char text[256], want[512];
	size_t i;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		/* The good external comes after, so the bad one is first. */
		snprintf(text, sizeof(text), "%s\n%s = %s\n%s",
		    cases[i].fwd ? "[forward web]" : "[portkeeper]",
		    cases[i].key, cases[i].value,
		    cases[i].fwd ? "external = 80\n" : "");
		snprintf(want, sizeof(want), "t.conf:2: bad value \"%s\" "
		    "for %s in %s: expected %s", cases[i].value, cases[i].key,
		    cases[i].fwd ? "[forward web]" : "[portkeeper]",
		    cases[i].expect);
		expect_error(text, want);
	}
}

static void
test_bad_value_messages(void **state)
{
	struct config cfg;
	char text[512], want[512], path[128];

	(void)state;
	expect_error("[portkeeper]\n"
	    "method = upnp\n"
	    "lease = 3600\n"
	    "\n"
	    "[forward ssh]\n"
	    "external = 2222\n"
	    "internal = 22\n"
	    "\n"
	    "; the web server\n"
	    "[forward web]\n"
	    "internal = 8080\n"
	    "external = 99999\n",
	    "t.conf:12: bad value \"99999\" for external in [forward web]: "
	    "expected a port from 1 to 65535");

	/* Control bytes, quotes and backslashes are escaped. */
	expect_error("[portkeeper]\nstate_dir = /a\x01\x1b[2Jb\n",
	    "t.conf:2: bad value \"/a\\x01\\x1b[2Jb\" for state_dir in "
	    "[portkeeper]: expected an absolute path");
	expect_error("[portkeeper]\nlease = 7\"2\\\n",
	    "t.conf:2: bad value \"7\\\"2\\\\\" for lease in [portkeeper]: "
	    "expected seconds from 1 to 604800");
	/* A tab inside a path is a control byte too. */
	expect_error("[portkeeper]\non_change = /usr/bin/x\ty\n",
	    "t.conf:2: bad value \"/usr/bin/x\\x09y\" for on_change in "
	    "[portkeeper]: expected an absolute path, or nothing for no hook");

	/* A long bad value is cut after 60 bytes. */
	expect_error("[portkeeper]\nlease = "
	    "1234567890123456789012345678901234567890"
	    "1234567890123456789012345678901234567890\n",
	    "t.conf:2: bad value \"1234567890123456789012345678901234567890"
	    "12345678901234567890...\" for lease in [portkeeper]: expected "
	    "seconds from 1 to 604800");

	/* "#" after a value is not a comment; say so. */
	expect_error("[portkeeper]\nlease = 7200 # seconds\n",
	    "t.conf:2: bad value \"7200 # seconds\" for lease in [portkeeper]: "
	    "a comment after a value starts with \";\", not \"#\"");
	expect_error("[portkeeper]\nstate_dir = /var/lib/pk\t# state\n",
	    "t.conf:2: bad value \"/var/lib/pk\\x09# state\" for state_dir in "
	    "[portkeeper]: a comment after a value starts with \";\", not "
	    "\"#\"");

	/* socket must fit sun_path: 107 bytes and its NUL. */
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[107] = '\0';
	snprintf(text, sizeof(text), "[portkeeper]\nsocket = %s\n", path);
	expect_ok(text, &cfg);
	assert_string_equal(cfg.socket, path);
	config_free(&cfg);
	path[107] = 'a';
	path[108] = '\0';
	snprintf(text, sizeof(text), "[portkeeper]\nsocket = %s\n", path);
	snprintf(want, sizeof(want), "t.conf:2: bad value \"%.60s...\" for "
	    "socket in [portkeeper]: expected an absolute path of at most 107 "
	    "bytes", path);
	expect_error(text, want);
}

static void
test_unknown(void **state)
{
	(void)state;
	expect_error("[portkeeper]\nleases = 1\n",
	    "t.conf:2: unknown key \"leases\" in [portkeeper]: expected "
	    "method, lease, state_dir, on_change, remove_on_exit, socket, "
	    "verify_interval, probe, ipv6 or ipv6_address");
	expect_error("[portkeeper]\nLease = 1\n",
	    "t.conf:2: unknown key \"Lease\" in [portkeeper]: keys are "
	    "lower-case, did you mean \"lease\"?");
	expect_error("[forward web]\nexternal = 80\nport = 1\n",
	    "t.conf:3: unknown key \"port\" in [forward web]: expected "
	    "external, internal, protocol or family");
	expect_error("[forward web]\nlease = 60\n",
	    "t.conf:2: unknown key \"lease\" in [forward web]: expected "
	    "external, internal, protocol or family");
	expect_error("[portkeeper]\n= 5\n",
	    "t.conf:2: unknown key \"\" in [portkeeper]: expected "
	    "method, lease, state_dir, on_change, remove_on_exit, socket, "
	    "verify_interval, probe, ipv6 or ipv6_address");
	expect_error("[portkeeper]\n\n[webui]\nlisten = :8080\n",
	    "t.conf:3: unknown section \"[webui]\": expected [portkeeper], "
	    "[web] or [forward NAME]");
	/* A section is seen even when it holds no keys. */
	expect_error("[portkeeper]\n[www]\n",
	    "t.conf:2: unknown section \"[www]\": expected [portkeeper], "
	    "[web] or [forward NAME]");
	expect_error("[Portkeeper]\n",
	    "t.conf:1: unknown section \"[Portkeeper]\": expected [portkeeper], "
	    "[web] or [forward NAME]");
	expect_error("[forwarding web]\n",
	    "t.conf:1: unknown section \"[forwarding web]\": expected "
	    "[portkeeper], [web] or [forward NAME]");
	expect_error("[]\n",
	    "t.conf:1: unknown section \"[]\": expected [portkeeper], "
	    "[web] or [forward NAME]");
	expect_error("[forward]\nexternal = 80\n",
	    "t.conf:1: section [forward] needs a name, as in [forward web]");
	expect_error("\nlease = 5\n[portkeeper]\n",
	    "t.conf:2: key \"lease\" is outside any section: put it under "
	    "[portkeeper] or [forward NAME]");
}

static void
test_web(void **state)
{
	struct config cfg;
	const struct sockaddr_in6 *sin6;

	(void)state;
	/* No [web]: no listener, whatever the default address. */
	expect_ok("[portkeeper]\n", &cfg);
	assert_false(cfg.web.enabled);
	config_free(&cfg);

	/* An empty [web] listens on the loopback default, without passwords. */
	expect_ok("[web]\n", &cfg);
	assert_true(cfg.web.enabled);
	assert_string_equal(cfg.web.listen, "127.0.0.1:8088");
	assert_true(cfg.web.loopback);
	assert_int_equal(cfg.web.addr.ss_family, AF_INET);
	config_free(&cfg);

	expect_ok("[web]\nlisten = [::]:8088\nhtpasswd = /etc/pk/htpasswd\n"
	    "allowed_hosts = pi.local, pi\ntls_cert = /c.pem\n"
	    "tls_key = /k.pem\n", &cfg);
	assert_false(cfg.web.loopback);
	assert_string_equal(cfg.web.allowed_hosts, "pi.local, pi");
	config_free(&cfg);
	expect_ok("[web]\nlisten = [::1]:9000\n", &cfg);
	sin6 = (const struct sockaddr_in6 *)&cfg.web.addr;
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 9000);
	assert_true(cfg.web.loopback);
	config_free(&cfg);

	expect_error("[web]\nlisten = 0.0.0.0:8088\n",
	    "t.conf:2: [web] listens on 0.0.0.0:8088, which is not a loopback "
	    "address, but has no htpasswd: anyone on the network could open "
	    "ports on your router.  Create a password file with \"portkeeper "
	    "passwd admin --file /etc/portkeeper/htpasswd\" and add "
	    "\"htpasswd = /etc/portkeeper/htpasswd\" to [web]");
	expect_error("[web]\nlisten = 8088\n",
	    "t.conf:2: bad value \"8088\" for listen in [web]: no port: "
	    "write ADDRESS:PORT, as in 127.0.0.1:8088");
	expect_error("[web]\nlisten = pi.local:8088\n",
	    "t.conf:2: bad value \"pi.local:8088\" for listen in [web]: "
	    "\"pi.local\" is not a numeric IPv4 address");
	expect_error("[web]\nlisten = ::1:8088\n",
	    "t.conf:2: bad value \"::1:8088\" for listen in [web]: "
	    "\"::1\" is not a numeric IPv4 address");
	expect_error("[web]\nlisten = [::1]8088\n",
	    "t.conf:2: bad value \"[::1]8088\" for listen in [web]: an IPv6 "
	    "address goes in brackets with a port after them, as in "
	    "[::]:8088");
	expect_error("[web]\nlisten = 127.0.0.1:0\n",
	    "t.conf:2: bad value \"127.0.0.1:0\" for listen in [web]: the "
	    "port must be a number from 1 to 65535");
	expect_error("[web]\ntls_cert = /c.pem\n",
	    "t.conf:1: [web] needs both tls_cert and tls_key, or neither");
	expect_error("[web]\nhtpasswd = htpasswd\n",
	    "t.conf:2: bad value \"htpasswd\" for htpasswd in [web]: expected "
	    "an absolute path");
	expect_error("[web]\n[web]\n",
	    "t.conf:2: duplicate section [web]: first at line 1");
	expect_error("[web]\nport = 80\n",
	    "t.conf:2: unknown key \"port\" in [web]: expected listen, "
	    "htpasswd, allowed_hosts, tls_cert or tls_key");
}

static void
test_forward_names(void **state)
{
	static const char *const good[] = {
		"a", "web-1.example_B", "0",
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_",
	};
	static const char *const bad[] = {
		"a b", "we/b", "w\xc3\xa9" "b", "web;", "web*",
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-",
	};
	struct config cfg;
	char text[256], want[512];
	size_t i;

	(void)state;
	for (i = 0; i < nitems(good); i++) {
		snprintf(text, sizeof(text), "[forward %s]\nexternal = 1\n",
		    good[i]);
		expect_ok(text, &cfg);
		assert_string_equal(cfg.fwd[0].name, good[i]);
		assert_non_null(config_find(&cfg, good[i]));
		config_free(&cfg);
	}
	for (i = 0; i < nitems(bad); i++) {
		snprintf(text, sizeof(text), "[forward %s]\nexternal = 1\n",
		    bad[i]);
		/* Quoted names are cut after 60 bytes. */
		snprintf(want, sizeof(want), "t.conf:1: bad forward name "
		    "\"%.60s%s\": expected 1 to 63 letters, digits, '_', "
		    "'.' or '-'", bad[i], strlen(bad[i]) > 60 ? "..." : "");
		expect_error(text, want);
	}
	/* Path segments a URL resolves away are not names (issue 13). */
	expect_error("[forward .]\nexternal = 1\n", "t.conf:1: bad forward "
	    "name \".\": \".\" and \"..\" cannot be named in the web API's "
	    "URLs");
	expect_error("[forward ..]\nexternal = 1\n", "t.conf:1: bad forward "
	    "name \"..\": \".\" and \"..\" cannot be named in the web API's "
	    "URLs");
	assert_false(config_name_ok(".", 1));
	assert_false(config_name_ok("..", 2));
	assert_true(config_name_ok("...", 3));
	assert_true(config_name_ok(".a", 2));
	/* Blanks around the brackets' contents do not count. */
	expect_ok("[ forward \t web ]\nexternal = 1\n", &cfg);
	assert_string_equal(cfg.fwd[0].name, "web");
	config_free(&cfg);
	/* Far too long for any buffer: cut in the message. */
	expect_error("[forward "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "]\n",
	    "t.conf:1: bad forward name \""
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\": "
	    "expected 1 to 63 letters, digits, '_', '.' or '-'");
}

static void
test_duplicates(void **state)
{
	struct config cfg;

	(void)state;
	expect_error("[portkeeper]\nlease = 60\nmethod = upnp\nlease = 120\n",
	    "t.conf:4: duplicate key lease = \"120\" in [portkeeper]: lease "
	    "was already set at line 2");
	/* The same value twice is still a mistake. */
	expect_error("[forward web]\nexternal = 80\nexternal = 80\n",
	    "t.conf:3: duplicate key external = \"80\" in [forward web]: "
	    "external was already set at line 2");
	expect_error("[forward web]\nexternal = 80\n\n[forward web]\n"
	    "external = 81\n",
	    "t.conf:4: duplicate section [forward web]: first at line 1");
	/* Back to back, and the second one empty. */
	expect_error("[forward web]\nexternal = 80\n[forward web]\n",
	    "t.conf:3: duplicate section [forward web]: first at line 1");
	expect_error("[portkeeper]\nlease = 60\n[forward a]\nexternal = 1\n"
	    "[portkeeper]\nmethod = upnp\n",
	    "t.conf:5: duplicate section [portkeeper]: first at line 1");

	/* Two forwards cannot ask for the same external port. */
	expect_error("[forward web]\nexternal = 80\n\n[forward alt]\n"
	    "external = 80\ninternal = 8080\n",
	    "t.conf:4: forward \"alt\" uses external port 80/tcp, which "
	    "forward \"web\" at line 1 already uses");
	expect_error("[forward web]\nexternal = 80\n\n[forward alt]\n"
	    "external = 80\nprotocol = TCP\n",
	    "t.conf:4: forward \"alt\" uses external port 80/tcp, which "
	    "forward \"web\" at line 1 already uses");
	expect_error("[forward a]\nexternal = 53\nprotocol = udp\n"
	    "[forward x]\nexternal = 1\n"
	    "[forward b]\nprotocol = UDP\nexternal = 53\n",
	    "t.conf:6: forward \"b\" uses external port 53/udp, which "
	    "forward \"a\" at line 1 already uses");
	/* The same number over tcp and udp, or the same internal: fine. */
	expect_ok("[forward dns]\nexternal = 53\nprotocol = udp\n"
	    "[forward dnstcp]\nexternal = 53\n"
	    "[forward web]\nexternal = 80\ninternal = 8080\n"
	    "[forward web2]\nexternal = 8080\n", &cfg);
	assert_int_equal(cfg.nfwd, 4);
	config_free(&cfg);
}

static void
test_missing_external(void **state)
{
	(void)state;
	expect_error("[forward web]\ninternal = 8080\nprotocol = tcp\n",
	    "t.conf:1: [forward web] has no external port: add "
	    "\"external = PORT\"");
	expect_error("[portkeeper]\n[forward web]\n\n[forward ok]\n"
	    "external = 1\n",
	    "t.conf:2: [forward web] has no external port: add "
	    "\"external = PORT\"");
	expect_error("[forward ok]\nexternal = 1\n[forward web]\n",
	    "t.conf:3: [forward web] has no external port: add "
	    "\"external = PORT\"");
}

static void
test_syntax(void **state)
{
	struct config cfg;

	(void)state;
	expect_error("[portkeeper]\nlease 7200\n",
	    "t.conf:2: syntax error: expected \"key = value\" or "
	    "\"[section]\", got \"lease 7200\"");
	expect_error("[portkeeper]\nlease ;= 5\n",
	    "t.conf:2: syntax error: expected \"key = value\" or "
	    "\"[section]\", got \"lease ;= 5\"");
	expect_error("[forward web\nexternal = 80\n",
	    "t.conf:1: syntax error: expected \"[section]\", got "
	    "\"[forward web\"");
	expect_error("[forward web] external = 80\n",
	    "t.conf:1: unexpected \"external = 80\" after section header: "
	    "only a comment may follow \"]\"");
	/* No multi-line values: a continuation line is an error... */
	expect_error("[portkeeper]\nstate_dir = /var/lib\n  /portkeeper\n",
	    "t.conf:3: syntax error: expected \"key = value\" or "
	    "\"[section]\", got \"/portkeeper\"");
	/* ...and indented keys and sections are just keys and sections. */
	expect_ok("[portkeeper]\n  lease = 60\n  method = upnp\n"
	    "  [forward web]\n\texternal = 80\n\tinternal = 8080\n", &cfg);
	assert_int_equal(cfg.lease, 60);
	assert_int_equal(cfg.method, PM_UPNP);
	assert_int_equal(cfg.nfwd, 1);
	assert_int_equal(cfg.fwd[0].ext, 80);
	assert_int_equal(cfg.fwd[0].in, 8080);
	config_free(&cfg);
	/* inih's "key: value" form. */
	expect_ok("[portkeeper]\nlease: 60\n", &cfg);
	assert_int_equal(cfg.lease, 60);
	config_free(&cfg);
}

static void
test_long_line(void **state)
{
	struct config cfg;
	char text[4096], want[512], line[1024];
	size_t n;

	(void)state;
	/* The longest line that fits is taken whole. */
	n = snprintf(line, sizeof(line), "on_change = /");
	memset(line + n, 'a', LINE_MAX_CHARS - n);
	line[LINE_MAX_CHARS] = '\0';
	snprintf(text, sizeof(text), "[portkeeper]\n%s\nlease = 60\n", line);
	expect_ok(text, &cfg);
	assert_int_equal(strlen(cfg.on_change), LINE_MAX_CHARS - 12);
	assert_string_equal(cfg.on_change, line + 12);
	assert_int_equal(cfg.lease, 60);
	config_free(&cfg);

	/*
	 * Written without the blanks around "=", the same value fits the
	 * line but not the line portkeeperd -nv would print: refused.
	 */
	n = snprintf(line, sizeof(line), "on_change=/");
	memset(line + n, 'a', LINE_MAX_CHARS - n);
	line[LINE_MAX_CHARS] = '\0';
	snprintf(text, sizeof(text), "[portkeeper]\n%s\n", line);
	snprintf(want, sizeof(want), "t.conf:2: value of on_change in "
	    "[portkeeper] is too long: \"on_change = VALUE\" must fit in %d "
	    "characters", LINE_MAX_CHARS);
	expect_error(text, want);
	n = snprintf(line, sizeof(line), "on_change = /");
	memset(line + n, 'a', LINE_MAX_CHARS - n);
	line[LINE_MAX_CHARS] = '\0';

	/* One more byte is an error on that line, never a cut value. */
	line[LINE_MAX_CHARS] = 'a';
	line[LINE_MAX_CHARS + 1] = '\0';
	snprintf(text, sizeof(text), "[portkeeper]\n%s\nlease = 60\n", line);
	snprintf(want, sizeof(want), "t.conf:2: line is longer than %d "
	    "characters: \"%.60s...\"", LINE_MAX_CHARS, line);
	expect_error(text, want);

	/*
	 * Left to itself inih would read the rest of this line as the line
	 * "lease = 1", and keep the path cut short.
	 */
	n = snprintf(line, sizeof(line), "state_dir = /");
	memset(line + n, 'b', INI_MAX_LINE - 1 - n);
	snprintf(line + INI_MAX_LINE - 1, sizeof(line) - INI_MAX_LINE + 1,
	    "lease = 1");
	snprintf(text, sizeof(text), "[portkeeper]\n\n%s\n", line);
	snprintf(want, sizeof(want), "t.conf:3: line is longer than %d "
	    "characters: \"%.60s...\"", LINE_MAX_CHARS, line);
	expect_error(text, want);

	/* Long comments are harmless, and lines after them count right. */
	memset(line, 'c', 900);
	line[0] = ';';
	line[900] = '\0';
	snprintf(text, sizeof(text), "%s\n#%s\n[portkeeper]\nlease = 60 %s\n",
	    line, line, line);
	expect_ok(text, &cfg);
	assert_int_equal(cfg.lease, 60);
	config_free(&cfg);
	snprintf(text, sizeof(text), "%s\n#%s\n[portkeeper]\nbogus = 1\n",
	    line, line);
	expect_error(text, "t.conf:4: unknown key \"bogus\" in [portkeeper]: "
	    "expected method, lease, state_dir, on_change, remove_on_exit, "
	    "socket, verify_interval, probe, ipv6 or ipv6_address");

	/* Trailing blanks are not part of the line. */
	memset(line, ' ', 900);
	line[900] = '\0';
	snprintf(text, sizeof(text), "[portkeeper]\nlease = 60%s\n", line);
	expect_ok(text, &cfg);
	assert_int_equal(cfg.lease, 60);
	config_free(&cfg);
}

static void
test_crlf(void **state)
{
	struct config cfg;
	char text[1024];
	size_t i, n;

	(void)state;
	for (i = 0, n = 0; example[i] != '\0' && n + 2 < sizeof(text); i++) {
		if (example[i] == '\n')
			text[n++] = '\r';
		text[n++] = example[i];
	}
	text[n] = '\0';
	expect_ok(text, &cfg);
	assert_string_equal(cfg.on_change, "/etc/portkeeper/on-change");
	assert_string_equal(cfg.state_dir, "/var/lib/portkeeper");
	assert_string_equal(cfg.socket, "/run/portkeeper/api.sock");
	assert_int_equal(cfg.nfwd, 1);
	assert_string_equal(cfg.fwd[0].name, "web");
	assert_int_equal(cfg.fwd[0].in, 8080);
	assert_int_equal(cfg.fwd[0].line, 10);
	config_free(&cfg);

	expect_error("[portkeeper]\r\n\r\nlease = x\r\n",
	    "t.conf:3: bad value \"x\" for lease in [portkeeper]: expected "
	    "seconds from 1 to 604800");
	expect_error("[portkeeper]\r\nlease 5\r\n",
	    "t.conf:2: syntax error: expected \"key = value\" or "
	    "\"[section]\", got \"lease 5\"");

	/* No newline at the end of the file. */
	expect_ok("[portkeeper]\r\nlease = 5", &cfg);
	assert_int_equal(cfg.lease, 5);
	config_free(&cfg);
}

static void
test_bytes(void **state)
{
	static const char nul[] = "[portkeeper]\nlease = 5\0junk\n";
	static const char part[] = "[portkeeper]\nlease = 5\nmethod = bad\n";
	struct config cfg;
	char err[256];

	(void)state;
	/* A UTF-8 byte order mark, as some editors write. */
	expect_ok("\xef\xbb\xbf[portkeeper]\nlease = 5\n", &cfg);
	assert_int_equal(cfg.lease, 5);
	config_free(&cfg);

	assert_int_equal(config_parse(nul, sizeof(nul) - 1, "t.conf", &cfg,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "t.conf:2: NUL byte in line");
	assert_defaults(&cfg);

	/* Only len bytes are read. */
	assert_int_equal(config_parse(part, strlen("[portkeeper]\nlease = 5\n"),
	    "t.conf", &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.lease, 5);
	config_free(&cfg);

	/* A short buffer gets a cut message, and no overflow. */
	assert_int_equal(config_parse(part, strlen(part), "t.conf", &cfg, err,
	    12), -1);
	assert_string_equal(err, "t.conf:3: b");
	assert_int_equal(config_parse(part, strlen(part), "t.conf", &cfg, NULL,
	    0), -1);
}

static void
test_comments(void **state)
{
	struct config cfg;

	(void)state;
	expect_ok("; comment\n"
	    "# comment\n"
	    "   ; indented comment\n"
	    "[portkeeper] ; the daemon\n"
	    "lease = 60 ; a minute\n"
	    "method = upnp\t; tab before\n"
	    "on_change = ; none\n"
	    "[forward web] # the site\n"
	    "external = 80 ; http\n"
	    "; internal = 8080\n"
	    "#protocol = udp\n", &cfg);
	assert_int_equal(cfg.lease, 60);
	assert_int_equal(cfg.method, PM_UPNP);
	assert_string_equal(cfg.on_change, "");
	assert_int_equal(cfg.nfwd, 1);
	assert_int_equal(cfg.fwd[0].in, 80);
	assert_int_equal(cfg.fwd[0].proto, PM_TCP);
	config_free(&cfg);

	/* Without a blank before it, ";" or "#" is part of the value. */
	expect_ok("[portkeeper]\non_change = /etc/x;y#1\n", &cfg);
	assert_string_equal(cfg.on_change, "/etc/x;y#1");
	config_free(&cfg);
}

static void
test_first_error_only(void **state)
{
	(void)state;
	expect_error("[portkeeper]\nlease = 0\nbogus\nmethod = x\n",
	    "t.conf:2: bad value \"0\" for lease in [portkeeper]: expected "
	    "seconds from 1 to 604800");
	expect_error("[portkeeper]\nbogus\nlease = 0\n[web]\n",
	    "t.conf:2: syntax error: expected \"key = value\" or "
	    "\"[section]\", got \"bogus\"");
	/* Found at line 3, but about line 1: the earlier line wins. */
	expect_error("[forward a]\nbogus\n[forward b]\nexternal = 1\n",
	    "t.conf:1: [forward a] has no external port: add "
	    "\"external = PORT\"");
}

static void
test_too_many_forwards(void **state)
{
	struct config cfg;
	char *text, want[128];
	size_t cap, n = 0;
	int i;

	(void)state;
	cap = (CONFIG_FORWARDS_MAX + 1) * 40;
	text = malloc(cap);
	assert_non_null(text);
	for (i = 0; i < CONFIG_FORWARDS_MAX; i++)
		n += snprintf(text + n, cap - n,
		    "[forward f%d]\nexternal = %d\n", i, i + 1);
	expect_ok(text, &cfg);
	assert_int_equal(cfg.nfwd, CONFIG_FORWARDS_MAX);
	assert_int_equal(config_find(&cfg, "f4095")->ext, 4096);
	assert_int_equal(config_find(&cfg, "f4095")->line, 8191);
	config_free(&cfg);

	snprintf(text + n, cap - n, "[forward f%d]\nexternal = %d\n", i, i + 1);
	snprintf(want, sizeof(want), "t.conf:%d: too many forwards at "
	    "[forward f%d]: at most %d", 2 * CONFIG_FORWARDS_MAX + 1,
	    CONFIG_FORWARDS_MAX, CONFIG_FORWARDS_MAX);
	expect_error(text, want);
	free(text);
}

static void
test_load(void **state)
{
	struct config cfg;
	char path[] = "/tmp/test_config.XXXXXX", err[512], want[512];
	FILE *fp;
	int fd;

	(void)state;
	snprintf(want, sizeof(want), "tests/unit/no-such-file.conf: cannot "
	    "open: %s", strerror(ENOENT));
	assert_int_equal(config_load("tests/unit/no-such-file.conf", &cfg,
	    err, sizeof(err)), -1);
	assert_string_equal(err, want);
	assert_defaults(&cfg);

	snprintf(want, sizeof(want), "/: cannot read: %s", strerror(EISDIR));
	assert_int_equal(config_load("/", &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, want);
	assert_defaults(&cfg);

	fd = mkstemp(path);
	assert_true(fd != -1);
	fp = fdopen(fd, "w");
	assert_non_null(fp);
	fputs(example, fp);
	fclose(fp);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.path, path);
	assert_int_equal(cfg.nfwd, 1);
	assert_int_equal(cfg.fwd[0].in, 8080);
	config_free(&cfg);

	fp = fopen(path, "a");
	assert_non_null(fp);
	fputs("[forward web]\nexternal = 81\n", fp);
	fclose(fp);
	snprintf(want, sizeof(want), "%s:14: duplicate section [forward web]: "
	    "first at line 10", path);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, want);
	assert_defaults(&cfg);
	unlink(path);
}

static char *
print(const struct config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;

	fp = open_memstream(&buf, &len);
	assert_non_null(fp);
	config_print(cfg, fp);
	fclose(fp);
	return buf;
}

static void
assert_config_equal(const struct config *a, const struct config *b)
{
	size_t i;

	assert_int_equal(a->method, b->method);
	assert_int_equal(a->lease, b->lease);
	assert_string_equal(a->state_dir, b->state_dir);
	assert_string_equal(a->on_change, b->on_change);
	assert_int_equal(a->remove_on_exit, b->remove_on_exit);
	assert_string_equal(a->socket, b->socket);
	assert_int_equal(a->verify_interval, b->verify_interval);
	assert_string_equal(a->probe, b->probe);
	assert_int_equal(a->nfwd, b->nfwd);
	for (i = 0; i < a->nfwd; i++) {
		assert_string_equal(a->fwd[i].name, b->fwd[i].name);
		assert_int_equal(a->fwd[i].ext, b->fwd[i].ext);
		assert_int_equal(a->fwd[i].in, b->fwd[i].in);
		assert_int_equal(a->fwd[i].proto, b->fwd[i].proto);
		assert_int_equal(a->fwd[i].family, b->fwd[i].family);
	}
	assert_int_equal(a->ipv6, b->ipv6);
	assert_int_equal(a->addr6.kind, b->addr6.kind);
	assert_memory_equal(&a->addr6.addr, &b->addr6.addr,
	    sizeof(a->addr6.addr));
}

static void
test_print(void **state)
{
	struct config a, b;
	char *out;

	(void)state;
	/* The example, normalized: every key, comments gone. */
	expect_ok(example, &a);
	out = print(&a);
	assert_string_equal(out,
	    "[portkeeper]\n"
	    "method = auto\n"
	    "lease = 7200\n"
	    "state_dir = /var/lib/portkeeper\n"
	    "on_change = /etc/portkeeper/on-change\n"
	    "remove_on_exit = yes\n"
	    "socket = /run/portkeeper/api.sock\n"
	    "verify_interval = 60\n"
	    "ipv6 = auto\n"
	    "ipv6_address = auto\n"
	    "\n"
	    "[forward web]\n"
	    "external = 80\n"
	    "internal = 8080\n"
	    "protocol = tcp\n"
	    "family = both\n");
	free(out);
	config_free(&a);

	/* probe is printed when set, and read back the same. */
	expect_ok("[portkeeper]\nprobe = http://vps:8770\n", &a);
	out = print(&a);
	assert_non_null(strstr(out, "\nverify_interval = 60\n"
	    "probe = http://vps:8770\n"));
	expect_ok(out, &b);
	assert_config_equal(&a, &b);
	free(out);
	config_free(&a);
	config_free(&b);

	/* Defaults, with on_change empty, read back the same. */
	expect_ok("", &a);
	out = print(&a);
	assert_non_null(strstr(out, "\non_change =\n"));
	expect_ok(out, &b);
	assert_config_equal(&a, &b);
	free(out);
	config_free(&a);
	config_free(&b);
}

static void
test_round_trip(void **state)
{
	struct config a, b;
	char *out, *out2;

	(void)state;
	expect_ok("[forward dns]\n"
	    "  protocol = UDP\n"
	    "  external = 53\n"
	    "  internal = 5353 ; unprivileged\n"
	    "[portkeeper]\n"
	    "verify_interval = 300\n"
	    "remove_on_exit = off\n"
	    "method = natpmp\n"
	    "lease = 604800\n"
	    "state_dir = /srv/port keeper\n"
	    "on_change = /usr/local/bin/pk-hook;x\n"
	    "socket = /tmp/pk.sock\n"
	    "[ forward  game.server-1_b ]\n"
	    "external: 27015\n"
	    "protocol = udp\n"
	    "[forward ssh]\n"
	    "external = 2222\n"
	    "internal = 22\n"
	    "[forward web]\n"
	    "external = 80\n", &a);
	out = print(&a);
	expect_ok(out, &b);
	assert_config_equal(&a, &b);
	assert_int_equal(b.nfwd, 4);
	assert_int_equal(b.method, PM_NATPMP);
	assert_false(b.remove_on_exit);
	assert_string_equal(b.state_dir, "/srv/port keeper");
	assert_string_equal(b.on_change, "/usr/local/bin/pk-hook;x");
	/* Printing what was read back gives the same text. */
	out2 = print(&b);
	assert_string_equal(out, out2);
	free(out);
	free(out2);
	config_free(&a);
	config_free(&b);
}

#define SHIPPED	"packaging/portkeeper.conf"

/* The example the package ships: all defaults, no forwards. */
static void
test_shipped(void **state)
{
	struct config cfg;
	char err[512], line[512], *text, *out;
	const char *s;
	size_t len, n;
	FILE *fp, *mem;

	(void)state;
	if (config_load(SHIPPED, &cfg, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_defaults(&cfg);
	assert_string_equal(cfg.path, SHIPPED);
	config_free(&cfg);

	/*
	 * Remove the "#" from every commented-out setting ("#key = value",
	 * "#[section]"): what it then says must be the defaults, and the
	 * example forward.
	 */
	fp = fopen(SHIPPED, "r");
	assert_non_null(fp);
	text = NULL;
	len = 0;
	mem = open_memstream(&text, &len);
	assert_non_null(mem);
	while (fgets(line, sizeof(line), fp) != NULL) {
		s = line;
		if (s[0] == '#' &&
		    (s[1] == '[' || (s[1] >= 'a' && s[1] <= 'z')))
			s++;
		fputs(s, mem);
	}
	fclose(fp);
	fclose(mem);
	if (config_parse(text, len, SHIPPED, &cfg, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(cfg.nfwd, 1);
	assert_string_equal(cfg.fwd[0].name, "web");
	assert_int_equal(cfg.fwd[0].ext, 80);
	assert_int_equal(cfg.fwd[0].in, 8080);
	assert_int_equal(cfg.fwd[0].proto, PM_TCP);
	assert_true(cfg.web.enabled);
	assert_string_equal(cfg.web.listen, "127.0.0.1:8088");
	/* Every key is there, with its default, and the [web] example. */
	out = print(&cfg);
	for (s = out, n = 0; (s = strchr(s, '\n')) != NULL; s++)
		n++;
	assert_int_equal(n, 15 + 7 + 1);
	/* With the forward gone, the rest must be the defaults. */
	config_free(&cfg);
	assert_defaults(&cfg);
	for (s = strtok(out, "\n"); s != NULL; s = strtok(NULL, "\n")) {
		if (strstr(text, s) == NULL)
			fail_msg("not in %s: \"%s\"", SHIPPED, s);
	}
	free(out);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_booleans),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_internal_default),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_protocol_case),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_bad_value_messages),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_forward_names),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_missing_external),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_first_error_only),
		cmocka_unit_test(test_too_many_forwards),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_web),
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_shipped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
