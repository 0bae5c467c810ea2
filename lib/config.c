/*
 * portkeeperd's configuration file.
 *
 * inih does the splitting into "[section]" and "key = value", but it is fed
 * through our own line reader rather than ini_parse_file: Debian's inih keeps
 * only INI_MAX_LINE (200) bytes of a line and parses the rest as a new line,
 * counts those pieces as lines, treats an indented line as the continuation
 * of the previous value (INI_ALLOW_MULTILINE), never tells the handler where
 * a section starts, and its installed header gives the handler no line
 * number.  The reader counts physical lines, refuses a line that does not
 * fit, strips indentation so that nothing is ever a continuation, and sees
 * every section header itself, including sections that hold no keys.
 *
 * Only the first error is reported.  Ours stop the parse; inih goes on past
 * a line it cannot parse, so whichever error has the earlier line wins.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "config.h"
#include "mapping.h"
#include "portspec.h"
#include "probe.h"
#include "util.h"

#define CONFIG_FILE_MAX	(4 * 1024 * 1024)	/* bytes read by config_load */
#define QUOTE_MAX	60	/* bytes of a bad value repeated in a message */
#define QUOTE_BUF	(QUOTE_MAX * 4 + 4)
#define SECT_BUF	(sizeof("[forward ]") + CONFIG_NAME_MAX)
#define KEYS_MAX	12	/* keys of the largest section */

enum sect { SECT_NONE, SECT_MAIN, SECT_FORWARD, SECT_WEB };

struct parse {
	const char	*name;		/* the file, in messages */
	const char	*text;
	size_t		 len;
	size_t		 pos;		/* start of the next line in text */
	int		 lineno;	/* the line inih is working on */
	struct config	*cfg;
	size_t		 cap;		/* slots allocated in cfg->fwd */
	enum sect	 sect;
	int		 main_line;	/* line of [portkeeper], 0 if none */
	char		 listen_err[160];	/* why listen = was refused */
	int		 seen[KEYS_MAX];	/* line of each key, or 0 */
	char		*err;
	size_t		 errlen;
	bool		 failed;
	int		 errline;
	size_t		 line_max;	/* longest line the reader passes on */
};

struct key {
	const char	*name;
	int		(*set)(struct parse *, const char *);
	const char	*expect;	/* what a good value looks like */
};

static int	set_method(struct parse *, const char *);
static int	set_lease(struct parse *, const char *);
static int	set_state_dir(struct parse *, const char *);
static int	set_on_change(struct parse *, const char *);
static int	set_remove_on_exit(struct parse *, const char *);
static int	set_socket(struct parse *, const char *);
static int	set_verify_interval(struct parse *, const char *);
static int	set_probe(struct parse *, const char *);
static int	set_ipv6(struct parse *, const char *);
static int	set_ipv6_address(struct parse *, const char *);
static int	set_external(struct parse *, const char *);
static int	set_internal(struct parse *, const char *);
static int	set_protocol(struct parse *, const char *);
static int	set_family(struct parse *, const char *);
static int	set_listen(struct parse *, const char *);
static int	set_htpasswd(struct parse *, const char *);
static int	set_allowed_hosts(struct parse *, const char *);
static int	set_tls_cert(struct parse *, const char *);
static int	set_tls_key(struct parse *, const char *);

static const struct key main_keys[] = {
	{ "method", set_method, "auto, upnp, natpmp or pcp" },
	/*
	 * No permanent leases: 0 asks UPnP for one but tells NAT-PMP to
	 * delete the mapping (RFC 6886 section 3.3).  At most a week.
	 */
	{ "lease", set_lease, "seconds from 1 to 604800" },
	{ "state_dir", set_state_dir, "an absolute path" },
	{ "on_change", set_on_change,
	    "an absolute path, or nothing for no hook" },
	{ "remove_on_exit", set_remove_on_exit, "yes or no" },
	{ "socket", set_socket, "an absolute path of at most 107 bytes" },
	{ "verify_interval", set_verify_interval, "seconds from 5 to 86400" },
	{ "probe", set_probe, "an http://HOST[:PORT] URL of a portkeeper "
	    "probe-server, or nothing" },
	{ "ipv6", set_ipv6, "auto, on or off" },
	{ "ipv6_address", set_ipv6_address, "auto, a global IPv6 address, "
	    "or ::SUFFIX (an interface identifier, such as ::10)" },
};

enum { FWD_EXTERNAL, FWD_INTERNAL, FWD_PROTOCOL, FWD_FAMILY };
static const struct key fwd_keys[] = {
	[FWD_EXTERNAL] = { "external", set_external, "a port from 1 to 65535" },
	[FWD_INTERNAL] = { "internal", set_internal, "a port from 1 to 65535" },
	[FWD_PROTOCOL] = { "protocol", set_protocol, "tcp or udp" },
	[FWD_FAMILY] = { "family", set_family, "both, 4 or 6" },
};

enum { WEB_LISTEN, WEB_HTPASSWD, WEB_ALLOWED_HOSTS, WEB_TLS_CERT,
    WEB_TLS_KEY };
static const struct key web_keys[] = {
	[WEB_LISTEN] = { "listen", set_listen, "ADDRESS:PORT with a numeric "
	    "address, such as 127.0.0.1:8088, 0.0.0.0:8088 or [::]:8088" },
	[WEB_HTPASSWD] = { "htpasswd", set_htpasswd, "an absolute path" },
	[WEB_ALLOWED_HOSTS] = { "allowed_hosts", set_allowed_hosts,
	    "host names separated by commas or spaces, at most 511 "
	    "characters" },
	[WEB_TLS_CERT] = { "tls_cert", set_tls_cert, "an absolute path" },
	[WEB_TLS_KEY] = { "tls_key", set_tls_key, "an absolute path" },
};

_Static_assert(nitems(main_keys) <= KEYS_MAX &&
    nitems(fwd_keys) <= KEYS_MAX && nitems(web_keys) <= KEYS_MAX,
    "struct parse's seen[] is too small");

static const struct {
	const char	*word;
	bool		 value;
} booleans[] = {
	{ "yes", true }, { "true", true }, { "on", true }, { "1", true },
	{ "no", false }, { "false", false }, { "off", false }, { "0", false },
};

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/*
 * Copies n bytes of hostile input into buf (of QUOTE_BUF bytes) for a
 * message: control bytes, quotes and backslashes escaped so the message
 * stays on one line, and anything past QUOTE_MAX cut with "...".
 */
static const char *
quote(char *buf, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char c;
	size_t i, o = 0;

	for (i = 0; i < n && i < QUOTE_MAX; i++) {
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 0xf];
		} else
			buf[o++] = (char)c;
	}
	if (i < n) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

static const char *
quote_str(char *buf, const char *s)
{
	return quote(buf, s, strlen(s));
}

/* Keeps the first error only, as "FILE:LINE: message"; returns -1. */
static int __attribute__((format(printf, 3, 4)))
fail(struct parse *p, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->failed)
		return -1;
	p->failed = true;
	p->errline = line;
	if (p->err == NULL || p->errlen == 0)
		return -1;
	if (line > 0)
		n = snprintf(p->err, p->errlen, "%s:%d: ", p->name, line);
	else
		n = snprintf(p->err, p->errlen, "%s: ", p->name);
	if (n < 0 || (size_t)n >= p->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static struct config_forward *
cur_fwd(struct parse *p)
{
	return &p->cfg->fwd[p->cfg->nfwd - 1];
}

static const char *
sect_str(struct parse *p, char buf[SECT_BUF])
{
	if (p->sect == SECT_FORWARD)
		snprintf(buf, SECT_BUF, "[forward %s]", cur_fwd(p)->name);
	else if (p->sect == SECT_WEB)
		snprintf(buf, SECT_BUF, "[web]");
	else
		snprintf(buf, SECT_BUF, "[portkeeper]");
	return buf;
}

static int
set_uint32(const char *v, unsigned long min, unsigned long max, uint32_t *out)
{
	unsigned long n;

	if (parse_uint(v, min, max, &n) == -1)
		return -1;
	*out = (uint32_t)n;
	return 0;
}

static int
set_port(const char *v, uint16_t *out)
{
	unsigned long n;

	if (parse_uint(v, 1, 65535, &n) == -1)
		return -1;
	*out = (uint16_t)n;
	return 0;
}

/*
 * An absolute path without control bytes, which would garble logs and
 * config_print's output.  Length is checked by the copy into the field.
 */
static int
set_path(const char *v, char *dst, size_t dstsz)
{
	const unsigned char *s;

	if (v[0] != '/')
		return -1;
	for (s = (const unsigned char *)v; *s != '\0'; s++)
		if (*s < 0x20 || *s == 0x7f)
			return -1;
	return str_copy(dst, v, dstsz);
}

static int
set_method(struct parse *p, const char *v)
{
	return portmap_method_parse(v, &p->cfg->method);
}

static int
set_lease(struct parse *p, const char *v)
{
	return set_uint32(v, 1, 604800, &p->cfg->lease);
}

static int
set_state_dir(struct parse *p, const char *v)
{
	return set_path(v, p->cfg->state_dir, sizeof(p->cfg->state_dir));
}

static int
set_on_change(struct parse *p, const char *v)
{
	if (v[0] == '\0') {
		p->cfg->on_change[0] = '\0';
		return 0;
	}
	return set_path(v, p->cfg->on_change, sizeof(p->cfg->on_change));
}

static int
set_remove_on_exit(struct parse *p, const char *v)
{
	size_t i;

	for (i = 0; i < nitems(booleans); i++) {
		if (strcasecmp(v, booleans[i].word) == 0) {
			p->cfg->remove_on_exit = booleans[i].value;
			return 0;
		}
	}
	return -1;
}

static int
set_socket(struct parse *p, const char *v)
{
	/* str_copy fails unless it fits sun_path with its NUL. */
	return set_path(v, p->cfg->socket, sizeof(p->cfg->socket));
}

static int
set_verify_interval(struct parse *p, const char *v)
{
	return set_uint32(v, 5, 86400, &p->cfg->verify_interval);
}

/* The doctor's probe server; checked here so a typo shows at -n. */
static int
set_probe(struct parse *p, const char *v)
{
	struct probe_url u;
	char err[256];

	if (v[0] == '\0') {
		p->cfg->probe[0] = '\0';
		return 0;
	}
	if (probe_url_parse(v, &u, err, sizeof(err)) == -1)
		return -1;
	return str_copy(p->cfg->probe, v, sizeof(p->cfg->probe));
}

static int
set_ipv6(struct parse *p, const char *v)
{
	return config_ipv6_parse(v, &p->cfg->ipv6);
}

static int
set_ipv6_address(struct parse *p, const char *v)
{
	return config_addr6_parse(v, &p->cfg->addr6);
}

static int
set_family(struct parse *p, const char *v)
{
	return config_family_parse(v, &cur_fwd(p)->family);
}

static int
set_external(struct parse *p, const char *v)
{
	return set_port(v, &cur_fwd(p)->ext);
}

static int
set_internal(struct parse *p, const char *v)
{
	return set_port(v, &cur_fwd(p)->in);
}

static int
set_protocol(struct parse *p, const char *v)
{
	return portspec_proto_parse(v, &cur_fwd(p)->proto);
}

static int
set_listen(struct parse *p, const char *v)
{
	struct config_web *w = &p->cfg->web;

	if (config_listen_parse(v, &w->addr, &w->addrlen, &w->loopback,
	    p->listen_err, sizeof(p->listen_err)) == -1)
		return -1;
	return str_copy(w->listen, v, sizeof(w->listen));
}

static int
set_htpasswd(struct parse *p, const char *v)
{
	return set_path(v, p->cfg->web.htpasswd, sizeof(p->cfg->web.htpasswd));
}

static int
set_allowed_hosts(struct parse *p, const char *v)
{
	const unsigned char *s;

	for (s = (const unsigned char *)v; *s != '\0'; s++)
		if (*s < 0x20 || *s == 0x7f)
			return -1;
	return str_copy(p->cfg->web.allowed_hosts, v,
	    sizeof(p->cfg->web.allowed_hosts));
}

static int
set_tls_cert(struct parse *p, const char *v)
{
	return set_path(v, p->cfg->web.tls_cert, sizeof(p->cfg->web.tls_cert));
}

static int
set_tls_key(struct parse *p, const char *v)
{
	return set_path(v, p->cfg->web.tls_key, sizeof(p->cfg->web.tls_key));
}

/*
 * The [web] section that just ended.  A listener that anyone on the LAN can
 * reach must have passwords: the API opens ports on the router.
 */
static int
web_end(struct parse *p)
{
	struct config_web *w = &p->cfg->web;
	int line = p->seen[WEB_LISTEN] != 0 ? p->seen[WEB_LISTEN] : w->line;

	if (!w->loopback && w->htpasswd[0] == '\0')
		return fail(p, line, "[web] listens on %s, which is not a "
		    "loopback address, but has no htpasswd: anyone on the "
		    "network could open ports on your router.  Create a "
		    "password file with \"portkeeper passwd admin --file "
		    "/etc/portkeeper/htpasswd\" and add \"htpasswd = "
		    "/etc/portkeeper/htpasswd\" to [web]", w->listen);
	if ((w->tls_cert[0] == '\0') != (w->tls_key[0] == '\0'))
		return fail(p, w->line, "[web] needs both tls_cert and "
		    "tls_key, or neither");
	return 0;
}

/*
 * Checks the forward that just ended: it needs an external port, internal
 * defaults to it, and no two forwards may ask the router for the same
 * external port and protocol.
 */
static int
forward_end(struct parse *p)
{
	struct config_forward *f = cur_fwd(p), *g;
	size_t i;

	if (p->seen[FWD_EXTERNAL] == 0)
		return fail(p, f->line, "[forward %s] has no external port: "
		    "add \"external = PORT\"", f->name);
	if (p->seen[FWD_INTERNAL] == 0)
		f->in = f->ext;
	/*
	 * A pinhole opens the host's own port: IPv6 has no translation, so
	 * an IPv6-only forward cannot be reached on another external port.
	 */
	if (f->family == CONFIG_FAMILY_6 && f->ext != f->in)
		return fail(p, p->seen[FWD_FAMILY], "[forward %s] has family "
		    "= 6, but its external port %u differs from its internal "
		    "port %u: IPv6 has no port translation, a pinhole opens "
		    "the internal port itself.  Set external = %u, or family "
		    "= both to forward %u over IPv4 and open %u over IPv6",
		    f->name, f->ext, f->in, f->in, f->ext, f->in);
	for (i = 0; i + 1 < p->cfg->nfwd; i++) {
		g = &p->cfg->fwd[i];
		if (g->ext == f->ext && g->proto == f->proto)
			return fail(p, f->line, "forward \"%s\" uses external "
			    "port %u/%s, which forward \"%s\" at line %d "
			    "already uses", f->name, f->ext,
			    portspec_proto_str(f->proto), g->name, g->line);
	}
	return 0;
}

static int
section_end(struct parse *p)
{
	if (p->sect == SECT_FORWARD)
		return forward_end(p);
	if (p->sect == SECT_WEB)
		return web_end(p);
	return 0;
}

/*
 * Names appear in messages, logs, the API and mapping descriptions on the
 * router, so they are kept to characters that need no quoting anywhere.
 * "." and ".." are not names: as the last segment of the API's
 * /api/forwards/NAME, browsers and proxies resolve them away (RFC 3986
 * section 5.2.4), so such a forward could never be removed there.
 */
bool
config_name_ok(const char *s, size_t n)
{
	size_t i;

	if (n < 1 || n >= CONFIG_NAME_MAX)
		return false;
	if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (i = 0; i < n; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return false;
	}
	return true;
}

/* Starts [forward name], name already checked by forward_name_ok. */
static int
forward_begin(struct parse *p, const char *name)
{
	struct config_forward *f;
	struct config *cfg = p->cfg;
	size_t i, ncap;

	for (i = 0; i < cfg->nfwd; i++)
		if (strcmp(cfg->fwd[i].name, name) == 0)
			return fail(p, p->lineno, "duplicate section "
			    "[forward %s]: first at line %d", name,
			    cfg->fwd[i].line);
	if (cfg->nfwd == CONFIG_FORWARDS_MAX)
		return fail(p, p->lineno, "too many forwards at [forward %s]: "
		    "at most %d", name, CONFIG_FORWARDS_MAX);
	if (cfg->nfwd == p->cap) {
		ncap = p->cap == 0 ? 16 : p->cap * 2;
		if (ncap > CONFIG_FORWARDS_MAX)
			ncap = CONFIG_FORWARDS_MAX;
		f = reallocarray(cfg->fwd, ncap, sizeof(*f));
		if (f == NULL)
			return fail(p, p->lineno, "out of memory");
		cfg->fwd = f;
		p->cap = ncap;
	}
	f = &cfg->fwd[cfg->nfwd++];
	memset(f, 0, sizeof(*f));
	str_copy(f->name, name, sizeof(f->name));
	f->proto = PM_TCP;
	f->line = p->lineno;
	p->sect = SECT_FORWARD;
	return 0;
}

/*
 * A "[...]" line: ends the previous section, then starts the new one.  The
 * text between the brackets may be padded with blanks; after "]" only a
 * comment may follow (inih would silently drop anything there).
 */
static int
section_begin(struct parse *p, const char *line)
{
	char name[CONFIG_NAME_MAX], q[QUOTE_BUF];
	const char *close, *s, *e, *rest;
	size_t n;

	if (section_end(p) == -1)
		return -1;
	memset(p->seen, 0, sizeof(p->seen));
	p->sect = SECT_NONE;

	if ((close = strchr(line, ']')) == NULL)
		return fail(p, p->lineno, "syntax error: expected "
		    "\"[section]\", got \"%s\"", quote_str(q, line));
	for (rest = close + 1; is_blank(*rest); rest++)
		;
	if (*rest != '\0' && *rest != ';' && *rest != '#')
		return fail(p, p->lineno, "unexpected \"%s\" after section "
		    "header: only a comment may follow \"]\"",
		    quote_str(q, rest));
	for (s = line + 1; is_blank(*s); s++)
		;
	for (e = close; e > s && is_blank(e[-1]); e--)
		;

	if ((size_t)(e - s) == strlen("portkeeper") &&
	    memcmp(s, "portkeeper", (size_t)(e - s)) == 0) {
		/* One [portkeeper] section, like one [forward NAME] each. */
		if (p->main_line != 0)
			return fail(p, p->lineno, "duplicate section "
			    "[portkeeper]: first at line %d", p->main_line);
		p->main_line = p->lineno;
		p->sect = SECT_MAIN;
		return 0;
	}
	if ((size_t)(e - s) == strlen("web") && memcmp(s, "web", 3) == 0) {
		if (p->cfg->web.enabled)
			return fail(p, p->lineno, "duplicate section [web]: "
			    "first at line %d", p->cfg->web.line);
		p->cfg->web.enabled = true;
		p->cfg->web.line = p->lineno;
		p->sect = SECT_WEB;
		return 0;
	}
	if ((size_t)(e - s) >= strlen("forward") &&
	    memcmp(s, "forward", strlen("forward")) == 0 &&
	    (s + strlen("forward") == e || is_blank(s[strlen("forward")]))) {
		for (s += strlen("forward"); s < e && is_blank(*s); s++)
			;
		if (s == e)
			return fail(p, p->lineno, "section [forward] needs a "
			    "name, as in [forward web]");
		n = (size_t)(e - s);
		if (n <= 2 && strspn(s, ".") >= n)
			return fail(p, p->lineno, "bad forward name \"%.*s\": "
			    "\".\" and \"..\" cannot be named in the web "
			    "API's URLs", (int)n, s);
		if (!config_name_ok(s, n))
			return fail(p, p->lineno, "bad forward name \"%s\": "
			    "expected 1 to %d letters, digits, '_', '.' or '-'",
			    quote(q, s, n), CONFIG_NAME_MAX - 1);
		memcpy(name, s, n);
		name[n] = '\0';
		return forward_begin(p, name);
	}
	return fail(p, p->lineno, "unknown section \"%s\": expected "
	    "[portkeeper], [web] or [forward NAME]",
	    quote(q, line, (size_t)(close + 1 - line)));
}

/*
 * inih's fgets-like reader.  Hands inih one physical line at a time with its
 * indentation and trailing blanks (and CR) removed, and a newline, so that a
 * build of inih that grows its buffer never joins two lines.  A line longer
 * than inih's buffer is an error here, before inih could cut it up.
 */
static char *
config_reader(char *str, int num, void *arg)
{
	struct parse *p = arg;
	const char *line, *end, *nl, *s;
	char q[QUOTE_BUF];
	size_t n;

	if (p->failed || p->pos >= p->len || num < 3)
		return NULL;
	line = p->text + p->pos;
	nl = memchr(line, '\n', p->len - p->pos);
	end = nl != NULL ? nl : p->text + p->len;
	p->pos = (size_t)(end - p->text) + (nl != NULL);
	p->lineno++;

	/* An editor's UTF-8 byte order mark. */
	if (p->lineno == 1 && end - line >= 3 &&
	    memcmp(line, "\xef\xbb\xbf", 3) == 0)
		line += 3;
	if (memchr(line, '\0', (size_t)(end - line)) != NULL) {
		fail(p, p->lineno, "NUL byte in line");
		return NULL;
	}
	while (line < end && is_blank(*line))
		line++;

	/*
	 * A comment of any length is harmless.  Pass on only the mark of a
	 * whole-line one, and cut a line at " ;" as inih would, so that only
	 * what inih is going to use has to fit.
	 */
	if (line < end && (*line == ';' || *line == '#'))
		end = line + 1;
	for (s = line + 1; s < end; s++) {
		if (*s == ';' && is_blank(s[-1])) {
			end = s;
			break;
		}
	}
	while (end > line && is_blank(end[-1]))
		end--;
	n = (size_t)(end - line);
	p->line_max = (size_t)num - 2;
	if (n > (size_t)num - 2) {
		fail(p, p->lineno, "line is longer than %d characters: \"%s\"",
		    num - 2, quote(q, line, n));
		return NULL;
	}
	memcpy(str, line, n);
	str[n] = '\0';
	if (str[0] == '[' && section_begin(p, str) == -1)
		return NULL;
	str[n] = '\n';
	str[n + 1] = '\0';
	return str;
}

static const struct key *
key_find(const struct key *keys, size_t nkeys, const char *name,
    bool nocase)
{
	size_t i;

	for (i = 0; i < nkeys; i++)
		if ((nocase ? strcasecmp : strcmp)(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static int
unknown_key(struct parse *p, const struct key *keys, size_t nkeys,
    const char *name)
{
	char q[QUOTE_BUF], s[SECT_BUF], list[128];
	const struct key *k;
	size_t i, n;

	if ((k = key_find(keys, nkeys, name, true)) != NULL)
		return fail(p, p->lineno, "unknown key \"%s\" in %s: keys are "
		    "lower-case, did you mean \"%s\"?", quote_str(q, name),
		    sect_str(p, s), k->name);
	list[0] = '\0';
	for (i = 0, n = 0; i < nkeys && n < sizeof(list); i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
		    i == 0 ? "" : i + 1 < nkeys ? ", " : " or ", keys[i].name);
	return fail(p, p->lineno, "unknown key \"%s\" in %s: expected %s",
	    quote_str(q, name), sect_str(p, s), list);
}

/* inih's handler: one "key = value" of the current section. */
static int
config_handler(void *arg, const char *section, const char *name,
    const char *value)
{
	struct parse *p = arg;
	const struct key *keys, *k;
	char q[QUOTE_BUF], s[SECT_BUF];
	size_t nkeys, i;

	(void)section;		/* the reader keeps its own */
	if (p->failed)
		return 0;
	switch (p->sect) {
	case SECT_MAIN:
		keys = main_keys;
		nkeys = nitems(main_keys);
		break;
	case SECT_FORWARD:
		keys = fwd_keys;
		nkeys = nitems(fwd_keys);
		break;
	case SECT_WEB:
		keys = web_keys;
		nkeys = nitems(web_keys);
		break;
	default:
		fail(p, p->lineno, "key \"%s\" is outside any section: put it "
		    "under [portkeeper] or [forward NAME]",
		    quote_str(q, name));
		return 0;
	}
	if ((k = key_find(keys, nkeys, name, false)) == NULL) {
		unknown_key(p, keys, nkeys, name);
		return 0;
	}
	i = (size_t)(k - keys);
	if (p->seen[i] != 0) {
		fail(p, p->lineno, "duplicate key %s = \"%s\" in %s: %s was "
		    "already set at line %d", name, quote_str(q, value),
		    sect_str(p, s), name, p->seen[i]);
		return 0;
	}

	/*
	 * Only " ;" starts a comment after a value (the reader has cut it
	 * off).  " #" does not, and would otherwise end up inside a path.
	 * Nor does ";" straight after "=", but printed back as "key = ;..."
	 * (config_print) it would: such a value would read two ways.
	 */
	if (value[0] == ';') {
		fail(p, p->lineno, "bad value \"%s\" for %s in %s: a value "
		    "cannot start with \";\", which after a blank starts a "
		    "comment", quote_str(q, value), name, sect_str(p, s));
		return 0;
	}
	for (i = 0; value[i] != '\0'; i++) {
		if (value[i] == '#' && i > 0 && is_blank(value[i - 1])) {
			fail(p, p->lineno, "bad value \"%s\" for %s in %s: a "
			    "comment after a value starts with \";\", not "
			    "\"#\"", quote_str(q, value), name,
			    sect_str(p, s));
			return 0;
		}
	}
	/*
	 * The printed configuration (config_print, portkeeperd -nv) writes
	 * "key = value"; a value that fits only when written without the
	 * blanks would print as a line this reader refuses.
	 */
	if (strlen(name) + 3 + strlen(value) > p->line_max) {
		fail(p, p->lineno, "value of %s in %s is too long: \"%s = "
		    "VALUE\" must fit in %zu characters", name,
		    sect_str(p, s), name, p->line_max);
		return 0;
	}
	p->listen_err[0] = '\0';
	if (k->set(p, value) == -1) {
		if (p->listen_err[0] != '\0')
			fail(p, p->lineno, "bad value \"%s\" for %s in %s: "
			    "%s", quote_str(q, value), name, sect_str(p, s),
			    p->listen_err);
		else
			fail(p, p->lineno, "bad value \"%s\" for %s in %s: "
			    "expected %s", quote_str(q, value), name,
			    sect_str(p, s), k->expect);
		return 0;
	}
	p->seen[k - keys] = p->lineno;
	return 1;
}

/* The text of line lineno, for quoting inih's own syntax errors. */
static void
line_at(const struct parse *p, int lineno, const char **line, size_t *n)
{
	const char *s = p->text, *end = p->text + p->len, *nl;
	int i;

	for (i = 1; i < lineno && s < end; i++) {
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			s = end;
		else
			s = nl + 1;
	}
	if ((nl = memchr(s, '\n', (size_t)(end - s))) != NULL)
		end = nl;
	while (s < end && is_blank(*s))
		s++;
	while (end > s && is_blank(end[-1]))
		end--;
	*line = s;
	*n = (size_t)(end - s);
}

void
config_init(struct config *cfg)
{
	char err[160];

	memset(cfg, 0, sizeof(*cfg));
	cfg->method = PM_AUTO;
	cfg->lease = 7200;
	str_copy(cfg->state_dir, "/var/lib/portkeeper", sizeof(cfg->state_dir));
	cfg->remove_on_exit = true;
	str_copy(cfg->socket, "/run/portkeeper/api.sock", sizeof(cfg->socket));
	cfg->verify_interval = 60;
	str_copy(cfg->web.listen, CONFIG_WEB_DEFAULT, sizeof(cfg->web.listen));
	config_listen_parse(CONFIG_WEB_DEFAULT, &cfg->web.addr,
	    &cfg->web.addrlen, &cfg->web.loopback, err, sizeof(err));
	cfg->fwd = NULL;
	cfg->nfwd = 0;
}

void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->fwd);
	cfg->fwd = NULL;
	cfg->nfwd = 0;
}

/*
 * *cfg is overwritten without being freed first: parse into a fresh struct
 * and swap, so a bad file on reload leaves the running configuration alone.
 */
int
config_parse(const char *text, size_t len, const char *name,
    struct config *cfg, char *err, size_t errlen)
{
	struct parse p;
	const char *line;
	char q[QUOTE_BUF];
	size_t n;
	int rc;

	config_init(cfg);
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	memset(&p, 0, sizeof(p));
	p.name = name != NULL ? name : "(configuration)";
	p.text = text != NULL ? text : "";
	p.len = text != NULL ? len : 0;
	p.cfg = cfg;
	p.err = err;
	p.errlen = errlen;

	rc = ini_parse_stream(config_reader, &p, config_handler, &p);
	if (!p.failed)
		section_end(&p);
	/*
	 * inih returns the line of its first error, which is either one of
	 * the handler's or a line it could not parse.  The earlier one wins.
	 */
	if (rc > 0 && (!p.failed || rc < p.errline)) {
		line_at(&p, rc, &line, &n);
		p.failed = false;
		fail(&p, rc, "syntax error: expected \"key = value\" or "
		    "\"[section]\", got \"%s\"", quote(q, line, n));
	} else if (rc < 0)
		fail(&p, 0, "inih failed with %d", rc);

	if (p.failed) {
		config_free(cfg);
		config_init(cfg);
		return -1;
	}
	str_copy(cfg->path, p.name, sizeof(cfg->path));
	return 0;
}

int
config_load(const char *path, struct config *cfg, char *err, size_t errlen)
{
	FILE *fp;
	char *buf = NULL, *nbuf;
	size_t len = 0, cap = 0, ncap, n;
	int rc = -1;

	config_init(cfg);
	if ((fp = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
		return -1;
	}
	/* Read it whole, up to one byte past the limit to notice excess. */
	for (;;) {
		if (len == cap) {
			if (cap > CONFIG_FILE_MAX) {
				snprintf(err, errlen, "%s: file is larger "
				    "than %d bytes", path, CONFIG_FILE_MAX);
				goto out;
			}
			ncap = cap == 0 ? 16384 : cap * 2;
			if (ncap > CONFIG_FILE_MAX + 1)
				ncap = CONFIG_FILE_MAX + 1;
			if ((nbuf = realloc(buf, ncap)) == NULL) {
				snprintf(err, errlen, "%s: out of memory",
				    path);
				goto out;
			}
			buf = nbuf;
			cap = ncap;
		}
		n = fread(buf + len, 1, cap - len, fp);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
		    strerror(errno));
		goto out;
	}
	rc = config_parse(buf, len, path, cfg, err, errlen);
out:
	free(buf);
	fclose(fp);
	return rc;
}

const struct config_forward *
config_find(const struct config *cfg, const char *name)
{
	size_t i;

	if (cfg == NULL || name == NULL)
		return NULL;
	for (i = 0; i < cfg->nfwd; i++)
		if (strcmp(cfg->fwd[i].name, name) == 0)
			return &cfg->fwd[i];
	return NULL;
}
