#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "util.h"

#define DEFAULT_SOCKET	"/run/portkeeper/api.sock"
#define REPLY_MAX	(4 * 1024 * 1024)
#define STATUS_TIMEOUT	5000

static const char usage[] = "portkeeper status [--socket PATH] [--json]";

static void
help(void)
{
	printf("usage: %s\n\n"
	    "Shows what portkeeperd is doing: this host's and the router's "
	    "addresses, the\nexternal address history, each forward's state "
	    "and the latest events.\n\n"
	    "  --socket PATH           the daemon's control socket (default "
	    "%s)\n"
	    "  --json                  print the daemon's status document\n"
	    "  -h, --help              show this help\n", usage,
	    DEFAULT_SOCKET);
}

struct status_args {
	const char	*socket;
};

static int
status_opt(int c, const char *arg, void *ctx, struct pm_error *err)
{
	struct status_args *a = ctx;

	(void)err;
	if (c == 's') {
		a->socket = arg;
		return 0;
	}
	return -1;
}

/*
 * One HTTP/1.0 GET over the Unix socket.  Returns the body (malloc'd) and
 * the status code, or NULL with err set.
 */
static char *
fetch(const char *path, const char *url, int *status, struct pm_error *err)
{
	struct sockaddr_un sun;
	char req[256], *buf = NULL, *body;
	size_t len = 0, cap = 0;
	int64_t deadline = mono_ms() + STATUS_TIMEOUT;
	int s;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (str_copy(sun.sun_path, path, sizeof(sun.sun_path)) == -1) {
		pmerr_set(err, PME_USAGE, 0, "socket path too long: %s", path);
		return NULL;
	}
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(s, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		pmerr_set(err, PME_NETWORK, 0, "cannot reach portkeeperd at %s: "
		    "%s (is it running? systemctl status portkeeper)", path,
		    strerror(errno));
		if (s != -1)
			close(s);
		return NULL;
	}
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: localhost\r\n"
	    "Accept: application/json\r\n\r\n", url);
	if (write(s, req, strlen(req)) != (ssize_t)strlen(req)) {
		pmerr_set(err, PME_NETWORK, 0, "writing to %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	for (;;) {
		struct pollfd pfd = { s, POLLIN, 0 };
		ssize_t n;

		if (cap - len < 4096) {
			char *nb;

			if (cap >= REPLY_MAX) {
				pmerr_set(err, PME_BAD_REPLY, 0, "the daemon's "
				    "answer is larger than %d bytes", REPLY_MAX);
				goto fail;
			}
			cap = cap ? cap * 2 : 16384;
			if ((nb = realloc(buf, cap + 1)) == NULL) {
				pmerr_set(err, PME_INTERNAL, 0, "out of memory");
				goto fail;
			}
			buf = nb;
		}
		if (poll(&pfd, 1, ms_until(deadline)) <= 0) {
			pmerr_set(err, PME_TIMEOUT, 0, "portkeeperd did not "
			    "answer within %d ms", STATUS_TIMEOUT);
			goto fail;
		}
		if ((n = read(s, buf + len, cap - len)) < 0) {
			pmerr_set(err, PME_NETWORK, 0, "reading from %s: %s",
			    path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(s);
	if (buf == NULL)
		goto bad;
	buf[len] = '\0';
	if (sscanf(buf, "HTTP/1.%*d %d", status) != 1 ||
	    (body = strstr(buf, "\r\n\r\n")) == NULL)
		goto bad;
	body += 4;
	memmove(buf, body, strlen(body) + 1);
	return buf;
bad:
	pmerr_set(err, PME_BAD_REPLY, 0, "portkeeperd sent a malformed answer");
	free(buf);
	return NULL;
fail:
	close(s);
	free(buf);
	return NULL;
}

static const char *
jstr(const cJSON *o, const char *k, const char *dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : dflt;
}

static double
jnum(const cJSON *o, const char *k, double dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static void
fmt_time(double t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || localtime_r(&tt, &tm) == NULL)
		snprintf(buf, len, "-");
	else
		strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

static void
print_human(const cJSON *doc)
{
	const cJSON *gw = cJSON_GetObjectItemCaseSensitive(doc, "gateway");
	const cJSON *a, *x, *rt;
	char t1[32], t2[32];

	printf("internal  %s\n", jstr(doc, "internal_ip", "unknown"));
	printf("gateway   %s (%s)\n", jstr(gw, "address", "unknown"),
	    jstr(gw, "method", "no protocol answers"));
	if (jstr(gw, "error", NULL) != NULL)
		printf("          %s\n", jstr(gw, "error", ""));
	/* The router's name and what portkeeper met on it (README.md). */
	rt = cJSON_GetObjectItemCaseSensitive(doc, "router");
	if (jstr(rt, "label", NULL) != NULL)
		printf("router    %s\n", jstr(rt, "label", ""));
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(rt, "notes"))
		if (cJSON_IsString(x))
			printf("          %s\n", x->valuestring);
	printf("external  %s\n", jstr(doc, "external_ip", "unknown"));
	a = cJSON_GetObjectItemCaseSensitive(doc, "external_ip_history");
	cJSON_ArrayForEach(x, a) {
		fmt_time(jnum(x, "first_seen", 0), t1, sizeof(t1));
		fmt_time(jnum(x, "last_seen", 0), t2, sizeof(t2));
		printf("          %-15s seen %s .. %s\n", jstr(x, "ip", "?"),
		    t1, t2);
	}
	printf("\n%-16s %-10s %-8s %-8s %-8s %s\n", "FORWARD", "EXTERNAL",
	    "INTERNAL", "STATE", "EXPIRES", "METHOD");
	a = cJSON_GetObjectItemCaseSensitive(doc, "forwards");
	cJSON_ArrayForEach(x, a) {
		char ext[16], exp[16];

		snprintf(ext, sizeof(ext), "%.0f/%s",
		    jnum(x, "external_port", 0), jstr(x, "protocol", "?"));
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x,
		    "permanent")))
			snprintf(exp, sizeof(exp), "permanent");
		else if (jnum(x, "expires_in", -1) >= 0)
			snprintf(exp, sizeof(exp), "%.0fs",
			    jnum(x, "expires_in", 0));
		else
			snprintf(exp, sizeof(exp), "-");
		printf("%-16s %-10s %-8.0f %-8s %-8s %s\n", jstr(x, "name", "?"),
		    ext, jnum(x, "internal_port", 0), jstr(x, "state", "?"),
		    exp, jstr(x, "method", "-"));
		if (jstr(x, "error", NULL) != NULL)
			printf("  %s\n", jstr(x, "error", ""));
	}
	a = cJSON_GetObjectItemCaseSensitive(doc, "events");
	if (cJSON_GetArraySize(a) > 0)
		printf("\nRecent events:\n");
	cJSON_ArrayForEach(x, a) {
		fmt_time(jnum(x, "time", 0), t1, sizeof(t1));
		printf("  %s %s %s\n", t1, jstr(x, "event", "?"),
		    jstr(x, "detail", ""));
	}
}

int
cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket",	required_argument,	NULL,	's' },
		{ NULL, 0, NULL, 0 }
	};
	struct status_args a = { DEFAULT_SOCKET };
	const struct cli_spec cs = {
		usage, help, "s:", longopts, status_opt, &a, 0, 0, NULL
	};
	struct cli_opts o;
	struct pm_error err;
	cJSON *doc;
	char *body;
	int argi, rc, status;

	if ((argi = cli_parse(&cs, argc, argv, &o, &rc)) == -1)
		return rc;
	(void)argi;
	pmerr_clear(&err);
	if ((body = fetch(a.socket, "/api/status", &status, &err)) == NULL)
		return cli_fail(&o, &err);
	if (status != 200 || (doc = cJSON_Parse(body)) == NULL) {
		pmerr_set(&err, PME_BAD_REPLY, 0, "portkeeperd answered with "
		    "HTTP %d and %s", status, status == 200 ? "invalid JSON" :
		    "an error");
		free(body);
		return cli_fail(&o, &err);
	}
	if (o.json)
		printf("%s\n", body);
	else
		print_human(doc);
	cJSON_Delete(doc);
	free(body);
	return 0;
}
