/*
 * portkeeperd's configuration: an INI file parsed with inih.
 *
 *   [portkeeper]
 *   method = auto            ; auto | upnp | natpmp | pcp
 *   lease = 7200             ; seconds asked of the router
 *   state_dir = /var/lib/portkeeper
 *   on_change = /etc/portkeeper/on-change   ; optional hook
 *   remove_on_exit = yes
 *   socket = /run/portkeeper/api.sock
 *   verify_interval = 60     ; seconds between checks that forwards exist
 *   probe = http://vps.example.net:8770   ; optional, for portkeeper doctor
 *   ipv6 = auto              ; auto | on | off: keep pinholes over IPv6
 *   ipv6_address = auto      ; auto | ADDR | ::SUFFIX (interface identifier)
 *
 *   [web]                    ; the web UI and JSON API over TCP
 *   listen = 127.0.0.1:8088  ; ADDR:PORT, [V6]:PORT; [::]:PORT is both families
 *   htpasswd = /etc/portkeeper/htpasswd   ; needed unless listen is loopback
 *   allowed_hosts = pi.local ; Host names besides IP literals and localhost
 *   tls_cert = /etc/portkeeper/cert.pem   ; both or neither
 *   tls_key = /etc/portkeeper/key.pem
 *
 *   [forward web]
 *   external = 80
 *   internal = 8080          ; default: external
 *   protocol = tcp           ; tcp | udp
 *   family = both            ; both | 4 | 6
 *
 * Every error is one line "FILE:LINE: message" naming the key and quoting
 * the bad value.
 *
 * Errors are that text in a caller's buffer, not a struct pm_error: a
 * loader's only failure is "this file is bad", which every caller handles
 * the same way (-n exits 1, SIGHUP keeps the old configuration), so a code
 * would say nothing; the person fixing the file needs the line.
 */
#ifndef PK_CONFIG_H
#define PK_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "mapping.h"
#include "portspec.h"

#define CONFIG_NAME_MAX		64	/* forward names, with the NUL */
#define CONFIG_FORWARDS_MAX	4096
#define CONFIG_DEFAULT_PATH	"/etc/portkeeper/portkeeper.conf"

/* Which families a forward is kept over ([forward] family). */
enum config_family {
	CONFIG_FAMILY_BOTH = 0,	/* a forward over IPv4, a pinhole over IPv6 */
	CONFIG_FAMILY_4,
	CONFIG_FAMILY_6,
};

/*
 * Whether portkeeperd keeps pinholes ([portkeeper] ipv6): auto does when
 * the host has a stable global IPv6 address, on always tries (and says
 * why it cannot), off never does.
 */
enum config_ipv6 {
	CONFIG_IPV6_AUTO = 0,
	CONFIG_IPV6_ON,
	CONFIG_IPV6_OFF,
};

/* The IPv6 address pinholes are opened to ([portkeeper] ipv6_address). */
enum config_addr6_kind {
	CONFIG_ADDR6_AUTO = 0,	/* the host's stable global address */
	CONFIG_ADDR6_FIXED,	/* this address */
	CONFIG_ADDR6_SUFFIX,	/* this interface identifier, any prefix */
};

struct config_addr6 {
	enum config_addr6_kind	kind;
	struct in6_addr		addr;	/* FIXED: it; SUFFIX: ::SUFFIX */
};

struct config_forward {
	char		name[CONFIG_NAME_MAX];	/* [A-Za-z0-9_.-]+ */
	uint16_t	ext;
	uint16_t	in;		/* defaults to ext */
	enum pm_proto	proto;		/* defaults to tcp */
	enum config_family family;	/* defaults to both */
	int		line;		/* line of its [forward NAME] header */
	bool		web;		/* from CONFIG_WEBFWD_FILE */
};

#define CONFIG_WEB_DEFAULT	"127.0.0.1:8088"

/* The [web] section; without one there is no TCP listener. */
struct config_web {
	bool			 enabled;	/* a [web] section exists */
	char			 listen[64];	/* as written, or the default */
	struct sockaddr_storage	 addr;		/* listen, parsed */
	socklen_t		 addrlen;
	bool			 loopback;	/* addr is 127/8 or ::1 */
	char			 htpasswd[PATH_MAX];	/* "" none */
	char			 allowed_hosts[512];	/* as written */
	char			 tls_cert[PATH_MAX];	/* "" no TLS */
	char			 tls_key[PATH_MAX];
	int			 line;		/* of [web] */
};

struct config {
	char			 path[PATH_MAX];
	enum pm_method		 method;		/* default auto */
	uint32_t		 lease;			/* default 7200 */
	char			 state_dir[PATH_MAX];	/* default /var/lib/portkeeper */
	char			 on_change[PATH_MAX];	/* "" when unset */
	bool			 remove_on_exit;	/* default yes */
	char			 socket[108];		/* default /run/portkeeper/api.sock */
	uint32_t		 verify_interval;	/* default 60 */
	char			 probe[256];		/* probe server URL, "" when unset */
	enum config_ipv6	 ipv6;			/* default auto */
	struct config_addr6	 addr6;			/* ipv6_address, default auto */
	struct config_web	 web;
	struct config_forward	*fwd;
	size_t			 nfwd;
};

/* Sets every default; no forwards. */
void	config_init(struct config *);

/*
 * Reads and checks path.  Returns 0, or -1 with "PATH:LINE: message" (or
 * "PATH: message" when no line applies) in err.  On error *cfg is left
 * empty (config_free is still safe).
 */
int	config_load(const char *path, struct config *cfg, char *err,
	    size_t errlen);

/* The same for text in memory; name stands for the file in messages. */
int	config_parse(const char *text, size_t len, const char *name,
	    struct config *cfg, char *err, size_t errlen);

void	config_free(struct config *);

/*
 * Parses "ADDR:PORT" or "[V6ADDR]:PORT" (numeric only) into addr.  Returns
 * 0, or -1 with a message in err.
 */
int	config_listen_parse(const char *v, struct sockaddr_storage *addr,
	    socklen_t *addrlen, bool *loopback, char *err, size_t errlen);

/*
 * The IPv6 values (config_addr.c): "auto", "on" or "off"; "both", "4" or
 * "6"; and ipv6_address's "auto", a global unicast address, or "::SUFFIX"
 * with a non-zero interface identifier in the low 64 bits only.  Each
 * returns 0, or -1 for a value that is none of these.
 */
int	config_ipv6_parse(const char *v, enum config_ipv6 *out);
int	config_family_parse(const char *v, enum config_family *out);
int	config_addr6_parse(const char *v, struct config_addr6 *out);
const char *config_ipv6_str(enum config_ipv6);
const char *config_family_str(enum config_family);
/* a as written back: "auto", the address, or "::SUFFIX". */
void	config_addr6_str(const struct config_addr6 *a, char *buf, size_t len);

/*
 * The address a wants, given the host's current stable global address
 * (cur, NULL when it has none): cur itself for auto, a's own for fixed,
 * cur's /64 prefix with a's interface identifier for a suffix.  Returns
 * 0 with *out, or -1 when there is none to take (no current address).
 */
int	config_addr6_want(const struct config_addr6 *a,
	    const struct in6_addr *cur, struct in6_addr *out);

/* Whether f is kept over IPv4, and over IPv6. */
bool	config_forward_v4(const struct config_forward *f);
bool	config_forward_v6(const struct config_forward *f);

/*
 * n bytes at s make a good forward name: 1 to 63 of [A-Za-z0-9_.-], but
 * not "." or "..".
 */
bool	config_name_ok(const char *s, size_t n);

/* The forward called name, or NULL. */
const struct config_forward *config_find(const struct config *,
	    const char *name);

/*
 * The forwards added through the web API, in state_dir/forwards.conf
 * (config_webfwd.c).  config_webfwd_add appends them to cfg, marked web,
 * leaving out any that takes the name or external port of one of cfg's, as
 * portkeeperd does.  Returns how many it added (0 when there is no such
 * file), or -1 with a sentence in err when the file cannot be read or is
 * not a forwards file.
 */
#define CONFIG_WEBFWD_FILE	"forwards.conf"
int	config_webfwd_add(struct config *cfg, char *err, size_t errlen);

/* Writes the configuration back out, normalized (every key, defaults too). */
void	config_print(const struct config *, FILE *);

#endif
