/*
 * portkeeperd's configuration: an INI file parsed with inih.
 *
 *   [portkeeper]
 *   method = auto            ; auto | upnp | natpmp
 *   lease = 7200             ; seconds asked of the router
 *   state_dir = /var/lib/portkeeper
 *   on_change = /etc/portkeeper/on-change   ; optional hook
 *   remove_on_exit = yes
 *   socket = /run/portkeeper/api.sock
 *   verify_interval = 60     ; seconds between checks that forwards exist
 *   probe = http://vps.example.net:8770   ; optional, for portkeeper doctor
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
#include <sys/socket.h>

#include "mapping.h"
#include "portspec.h"

#define CONFIG_NAME_MAX		64	/* forward names, with the NUL */
#define CONFIG_FORWARDS_MAX	4096
#define CONFIG_DEFAULT_PATH	"/etc/portkeeper/portkeeper.conf"

struct config_forward {
	char		name[CONFIG_NAME_MAX];	/* [A-Za-z0-9_.-]+ */
	uint16_t	ext;
	uint16_t	in;		/* defaults to ext */
	enum pm_proto	proto;		/* defaults to tcp */
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
