/*
 * The HTTP layer of the web API: libmicrohttpd inside the daemon's own
 * poll loop (external event loop mode with epoll, so that one descriptor
 * stands for every connection of a listener), carrying each request to
 * the API core (api.c) and its answer back.
 *
 * Two listeners share the core.  The control socket (a Unix socket, mode
 * 0660) is for portkeeper status and local scripts: the file mode is its
 * access control.  The [web] listener is TCP and reachable from the LAN,
 * and because its API opens ports on the router it is guarded the way
 * router UIs learned to be: the Host allow-list and the password first
 * (http_auth.c), then the core's checks of writes (same origin, JSON), and
 * libmicrohttpd's limits set explicitly (its defaults are no timeout and
 * no per-address limit).
 *
 * Nothing here blocks: a request that waits (a password checked on a
 * thread, a change of forwards.conf being saved, a diagnosis) is a
 * suspended connection, resumed by the callback it left with the module
 * it waits for; event streams are suspended between events (sse.c).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "http.h"
#include "http_auth.h"
#include "httpguard.h"
#include "log.h"
#include "sse.h"
#include "util.h"
#include "webapi.h"

/*
 * Four addresses used to be able to take every connection (4 x 128); now
 * they leave 112 for everyone else, one client may still open 100 at once
 * (test_web), and a request must be whole (headers and body) within
 * HTTP_REQUEST_S of its connection opening, or of the previous request on
 * it ending, however slowly it trickles in (httpguard.h).
 */
#define HTTP_CONN_MAX		512
#define HTTP_CONN_PER_IP	100
#define HTTP_TIMEOUT_S		10	/* idle */
#define HTTP_REQUEST_S		10
#define HTTP_TLS_FILE_MAX	(64 * 1024)
/*
 * Each connection's memory pool holds a request's headers (bodies are
 * collected in struct http_req) and the answer's.  libmicrohttpd zeroes
 * the whole pool for every request (MHD_pool_reset), so each open
 * connection keeps all of it in memory: 64 keep-alive connections of
 * 16 KiB were 1 MB of the daemon's 6.4-6.6 MB peak (bench/memory.sh), and
 * the 512 connections allowed would be 8 MB.  8 KiB takes a browser's
 * request with some 3.5 KB of cookies (other apps on the same host share
 * theirs with this port; the page and the API need none); larger headers
 * are answered 431, or, in a band of a few hundred bytes where the request
 * fits and the answer no longer does, the connection is closed.
 */
#define HTTP_POOL_SIZE		(8 * 1024)
/*
 * How long stopping waits for password checks in flight.  A hash cannot
 * be interrupted; one of cost 10 is long done, even under valgrind, and a
 * thread still running after this is left to exit() with the daemon.
 */
#define HTTP_AUTH_STOP_MS	10000
/*
 * How long stopping waits for forwards.conf to be saved: two fsyncs, as
 * slow as 1.5 s each on a busy SD card.
 */
#define HTTP_SAVE_STOP_MS	5000
/*
 * Each connection's pool comes from malloc, and glibc keeps what a burst
 * of connections freed: 64 keep-alive connections left the daemon at 8 MB
 * instead of 6.  Once the connections fall from HTTP_TRIM_HIGH or
 * more to HTTP_TRIM_LOW or fewer (an open page keeps its event stream and
 * maybe one more), the free memory goes back to the system.
 */
#define HTTP_TRIM_HIGH		8
#define HTTP_TRIM_LOW		2

#define HTTP_CSP "default-src 'self'; frame-ancestors 'none'; " \
		"base-uri 'none'; form-action 'self'"

struct http;

struct http_listener {
	struct http		*h;
	struct MHD_Daemon	*mhd;
	int			 fd;	/* libmicrohttpd's epoll descriptor */
	bool			 web;	/* TCP: authentication and checks */
};

/* One request. */
struct http_req {
	struct api_request	 ar;
	struct http_auth_wait	 aw;
	struct http_listener	*l;
	struct MHD_Connection	*c;
	bool			 answered;	/* a response is queued */
	bool			 suspended;
};

struct http {
	const struct config	*cfg;
	struct api		*api;
	struct http_auth	*auth;		/* [web] only */
	struct sse_set		 sse;
	struct http_listener	 unix_l, web_l;
	char			 path[108];
	char			*tls_cert, *tls_key;
	struct httpguard	*guard;		/* both listeners */
	unsigned		 nconn;		/* open, both listeners */
	unsigned		 conn_peak;	/* since the last trim */
};

/* Responses. */

static void
http_common_headers(struct MHD_Response *r, const char *type)
{
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Content-Security-Policy", HTTP_CSP);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
}

static enum MHD_Result
http_queue(struct http_req *q, unsigned int status, struct MHD_Response *r)
{
	enum MHD_Result ret;

	if (r == NULL)
		return MHD_NO;
	ret = MHD_queue_response(q->c, status, r);
	MHD_destroy_response(r);
	if (ret == MHD_YES)
		q->answered = true;
	return ret;
}

/*
 * GET /api/events: the stream.  NULL with ar filled with a 503 when too
 * many are open, or NULL with API_CLOSE's meaning (*close) out of memory.
 */
static struct MHD_Response *
http_stream(struct http *h, struct http_req *q, struct api_response *ar,
    bool *close)
{
	struct MHD_Response *r;
	bool full;

	*close = false;
	r = sse_open(&h->sse, q->c, MHD_lookup_connection_value(q->c,
	    MHD_HEADER_KIND, "Last-Event-ID"), &full);
	if (r != NULL) {
		http_common_headers(r, "text/event-stream");
		MHD_add_response_header(r, "Cache-Control", "no-store");
		return r;
	}
	memset(ar, 0, sizeof(*ar));
	*close = !full || api_error(ar, MHD_HTTP_SERVICE_UNAVAILABLE,
	    "too_many_streams", "%d event streams are open already; close a "
	    "tab and try again", SSE_MAX) != API_ANSWER;
	return NULL;
}

/* Sends the core's answer. */
static enum MHD_Result
http_answer(struct http *h, struct http_req *q, struct api_response *ar)
{
	struct MHD_Response *r;
	bool close;

	if (ar->stream) {
		if ((r = http_stream(h, q, ar, &close)) != NULL)
			return http_queue(q, MHD_HTTP_OK, r);
		if (close)
			return MHD_NO;
	}
	if (ar->body != NULL) {
		r = MHD_create_response_from_buffer(ar->len, ar->body,
		    MHD_RESPMEM_MUST_FREE);
		if (r == NULL) {
			api_response_free(ar);
			return MHD_NO;
		}
	} else
		r = MHD_create_response_from_buffer(ar->len,
		    (void *)ar->data, MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	http_common_headers(r, ar->type);
	if (ar->etag != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, ar->etag);
	if (ar->cache != NULL)
		MHD_add_response_header(r, "Cache-Control", ar->cache);
	if (ar->hname != NULL)
		MHD_add_response_header(r, ar->hname, ar->hvalue);
	return http_queue(q, ar->status, r);
}

/* What came of a call into the core or the checks. */
static enum MHD_Result
http_send(struct http *h, struct http_req *q, enum api_rc rc,
    struct api_response *ar)
{
	switch (rc) {
	case API_GO_ON:
		return MHD_YES;
	case API_WAIT:
		q->suspended = true;
		MHD_suspend_connection(q->c);
		return MHD_YES;
	case API_ANSWER:
		return http_answer(h, q, ar);
	case API_CLOSE:
		break;
	}
	api_response_free(ar);
	return MHD_NO;
}

/* The core's and the checks' way to a request's header. */
static const char *
http_header(void *ctx, const char *name)
{
	struct http_req *q = ctx;

	return MHD_lookup_connection_value(q->c, MHD_HEADER_KIND, name);
}

/* A request that waited may go on. */
static void
http_wake(void *ctx)
{
	struct http_req *q = ctx;

	if (q->suspended) {
		q->suspended = false;
		MHD_resume_connection(q->c);
	}
}

/* The checks made on a request's headers, before its body. */
static enum MHD_Result
http_first(struct http *h, struct http_req *q)
{
	const union MHD_ConnectionInfo *ci;
	struct api_response ar;
	enum api_rc rc = API_GO_ON;

	memset(&ar, 0, sizeof(ar));
	api_route(&q->ar);
	/*
	 * HTTP/1.0 has no Host header, and load balancers' default health
	 * checks (HAProxy's) send none.  /api/health tells nothing, so a
	 * missing Host is let through there; a wrong one is not.
	 */
	if (q->l->web && !(q->ar.route == API_R_HEALTH &&
	    http_header(q, "Host") == NULL))
		rc = http_auth_host(h->auth, http_header(q, "Host"), &ar);
	if (q->l->web && rc == API_GO_ON && q->ar.route != API_R_HEALTH &&
	    http_auth_on(h->auth)) {
		ci = MHD_get_connection_info(q->c,
		    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		rc = http_auth_check(h->auth, ci != NULL ? ci->client_addr :
		    NULL, http_header(q, MHD_HTTP_HEADER_AUTHORIZATION), &q->aw,
		    &ar);
	}
	if (rc == API_GO_ON)
		rc = api_check(h->api, &q->ar, &ar);
	/* An answer that could not be queued must not let it through. */
	return http_send(h, q, rc, &ar);
}

/* The call after a password check on a thread: the checks go on. */
static enum MHD_Result
http_auth_again(struct http *h, struct http_req *q)
{
	struct api_response ar;
	enum api_rc rc;

	memset(&ar, 0, sizeof(ar));
	rc = http_auth_resumed(h->auth, &q->aw, &ar);
	if (rc == API_GO_ON)
		rc = api_check(h->api, &q->ar, &ar);
	/* An answer that could not be queued must not let it through. */
	return http_send(h, q, rc, &ar);
}

/* Collects the body, at most WEBAPI_BODY_MAX bytes of it. */
static enum MHD_Result
http_body(struct http_req *q, const char *data, size_t *size)
{
	size_t n = *size;
	char *nb;

	if (q->ar.len + n > WEBAPI_BODY_MAX)
		q->ar.too_large = true;
	if (!q->ar.too_large) {
		if ((nb = realloc(q->ar.body, q->ar.len + n + 1)) == NULL)
			return MHD_NO;
		memcpy(nb + q->ar.len, data, n);
		q->ar.body = nb;
		q->ar.len += n;
		q->ar.body[q->ar.len] = '\0';
	}
	*size = 0;
	return MHD_YES;
}

static enum MHD_Result
http_handler(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct http_listener *l = cls;
	struct http *h = l->h;
	struct http_req *q = *con_cls;
	struct api_response ar;

	(void)version;
	if (q == NULL) {
		if ((q = calloc(1, sizeof(*q))) == NULL)
			return MHD_NO;
		*con_cls = q;
		q->l = l;
		q->c = c;
		q->ar.method = method;
		q->ar.url = url;
		q->ar.web = l->web;
		q->ar.read_only = l->web && !http_auth_on(h->auth);
		q->ar.header = http_header;
		q->ar.wake = http_wake;
		q->ar.ctx = q;
		q->aw.wake = http_wake;
		q->aw.ctx = q;
		return http_first(h, q);
	}
	/*
	 * Every call after the first with no data, and one that waited for
	 * its password check, has the whole request: its deadline is over.
	 */
	if (*upload_data_size == 0 || q->aw.state != HTTP_AUTH_NONE)
		httpguard_complete(h->guard, c);
	if (q->aw.state != HTTP_AUTH_NONE)
		return http_auth_again(h, q);
	/* Answered early: what is left of the body is read and dropped. */
	if (q->answered) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size != 0)
		return http_body(q, upload_data, upload_data_size);
	memset(&ar, 0, sizeof(ar));
	return http_send(h, q, api_handle(h->api, &q->ar, &ar), &ar);
}

/* Counts open connections, for http_trim. */
static void
http_conn_notify(void *cls, struct MHD_Connection *c, void **socket_ctx,
    enum MHD_ConnectionNotificationCode code)
{
	struct http *h = ((struct http_listener *)cls)->h;

	httpguard_notify(h->guard, c, socket_ctx, code);
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		if (++h->nconn > h->conn_peak)
			h->conn_peak = h->nconn;
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED && h->nconn > 0)
		h->nconn--;
}

static void
http_trim(struct http *h)
{
	if (h->conn_peak >= HTTP_TRIM_HIGH && h->nconn <= HTTP_TRIM_LOW) {
		malloc_trim(0);
		h->conn_peak = h->nconn;
	}
}

static void
http_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http *h = ((struct http_listener *)cls)->h;
	struct http_req *q = *con_cls;

	(void)toe;
	/* The next request on this connection has its deadline. */
	httpguard_ended(h->guard, c);
	if (q == NULL)
		return;
	/* Nobody waits for its password check, which still counts. */
	if (q->aw.state == HTTP_AUTH_WAIT)
		http_auth_leave(&q->aw);
	api_request_done(h->api, &q->ar);
	free(q->ar.body);
	free(q);
	*con_cls = NULL;
}

static void
http_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	log_debug("http: %s", buf);
}

/* Listeners. */

static int
http_unix_listen(struct http *h, const char *path)
{
	struct sockaddr_un sun;
	struct stat sb;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (str_copy(sun.sun_path, path, sizeof(sun.sun_path)) == -1) {
		log_warnx("socket path %s is too long", path);
		return -1;
	}
	/* A socket left by a daemon that died goes; anything else stays. */
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			log_warnx("%s exists and is not a socket; not "
			    "replacing it", path);
			return -1;
		}
		unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1) {
		log_warn("socket");
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, 0660) == -1 || listen(fd, 16) == -1) {
		log_warn("cannot serve the API on %s", path);
		close(fd);
		return -1;
	}
	str_copy(h->path, path, sizeof(h->path));
	return fd;
}

static int
http_tcp_listen(const struct config_web *w)
{
	int fd, on = 1, off = 0;

	if ((fd = socket(w->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1) {
		log_warn("web: socket");
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	/* [::] serves IPv4 too, whatever the system's default. */
	if (w->addr.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	if (bind(fd, (const struct sockaddr *)&w->addr, w->addrlen) == -1 ||
	    listen(fd, 128) == -1) {
		log_warn("web: cannot listen on %s", w->listen);
		close(fd);
		return -1;
	}
	return fd;
}

static char *
http_read_small_file(const char *path)
{
	char *buf;
	ssize_t n;
	size_t len = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("web: %s", path);
		return NULL;
	}
	if ((buf = malloc(HTTP_TLS_FILE_MAX + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	while ((n = read(fd, buf + len, HTTP_TLS_FILE_MAX - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (n == -1 || len == HTTP_TLS_FILE_MAX) {
		log_warnx("web: %s: %s", path, n == -1 ? strerror(errno) :
		    "larger than 64 KiB");
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

/* Starts libmicrohttpd on fd for l; its epoll descriptor goes in l->fd. */
static int
http_mhd_start(struct http_listener *l, int fd, unsigned int flags,
    unsigned int conn_max, unsigned int per_ip, const char *key,
    const char *cert)
{
	struct MHD_OptionItem tls[] = {
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)key },
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)cert },
		{ MHD_OPTION_END, 0, NULL },
	};

	if (key == NULL)
		tls[0].option = MHD_OPTION_END;
	l->mhd = MHD_start_daemon(flags | MHD_USE_EPOLL |
	    MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL, NULL,
	    http_handler, l,
	    MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTP_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_LIMIT, conn_max,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_POOL_SIZE,
	    MHD_OPTION_NOTIFY_COMPLETED, http_completed, l,
	    MHD_OPTION_NOTIFY_CONNECTION, http_conn_notify, l,
	    MHD_OPTION_EXTERNAL_LOGGER, http_log, NULL,
	    MHD_OPTION_ARRAY, tls,
	    MHD_OPTION_END);
	if (l->mhd == NULL)
		return -1;
	l->fd = MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_EPOLL_FD)->epoll_fd;
	return 0;
}

static int
http_web_start(struct http *h, const struct config_web *w)
{
	int fd;

	if ((h->auth = http_auth_new(w)) == NULL)
		return -1;
	if (w->tls_cert[0] != '\0') {
		if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
			log_warnx("web: this libmicrohttpd has no TLS");
			return -1;
		}
		if ((h->tls_cert = http_read_small_file(w->tls_cert)) == NULL ||
		    (h->tls_key = http_read_small_file(w->tls_key)) == NULL)
			return -1;
	}
	if ((fd = http_tcp_listen(w)) == -1)
		return -1;
	h->web_l.h = h;
	h->web_l.web = true;
	if (http_mhd_start(&h->web_l, fd, h->tls_cert != NULL ? MHD_USE_TLS :
	    0, HTTP_CONN_MAX, HTTP_CONN_PER_IP, h->tls_key, h->tls_cert) ==
	    -1) {
		log_warnx("web: cannot start the HTTP server on %s%s",
		    w->listen, h->tls_cert != NULL ? " (check the TLS key and "
		    "certificate)" : "");
		close(fd);
		return -1;
	}
	log_warnx("web UI on %s://%s/%s", h->tls_cert != NULL ? "https" :
	    "http", w->listen, http_auth_on(h->auth) ? "" :
	    " (loopback, no password)");
	return 0;
}

struct http *
http_start(const struct config *cfg, struct forwards *fw, struct status *st)
{
	struct http *h;
	int fd;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->cfg = cfg;
	h->unix_l.fd = h->web_l.fd = -1;
	sse_init(&h->sse, st);
	if ((h->guard = httpguard_new(HTTP_REQUEST_S * 1000)) == NULL ||
	    (h->api = api_new(cfg, fw, st)) == NULL) {
		httpguard_free(h->guard);
		free(h);
		return NULL;
	}
	if ((fd = http_unix_listen(h, cfg->socket)) != -1) {
		h->unix_l.h = h;
		if (http_mhd_start(&h->unix_l, fd, 0, 32, 32, NULL, NULL) ==
		    -1) {
			log_warnx("cannot start the API server on %s",
			    cfg->socket);
			close(fd);
			unlink(h->path);
		}
	}
	if (h->unix_l.mhd == NULL)
		log_warnx("continuing without the control socket");
	if (cfg->web.enabled && http_web_start(h, &cfg->web) == -1) {
		http_stop(h);
		return NULL;
	}
	return h;
}

void
http_reload(struct http *h, const struct config_web *old)
{
	const struct config_web *w;

	if (h == NULL)
		return;
	w = &h->cfg->web;
	if (w->enabled != old->enabled || strcmp(w->listen, old->listen) != 0 ||
	    strcmp(w->tls_cert, old->tls_cert) != 0 ||
	    strcmp(w->tls_key, old->tls_key) != 0)
		log_warnx("web: listen and TLS changes take effect at the "
		    "next start");
	if (h->web_l.mhd != NULL && http_auth_reload(h->auth, w) == -1)
		log_warnx("web: keeping the previous passwords and hosts");
}

void
http_stop(struct http *h)
{
	int64_t now = mono_ms();
	int i;

	if (h == NULL)
		return;
	/*
	 * What waits is answered: a diagnosis and the requests waiting for
	 * their password check are told why, a change saved meanwhile is
	 * answered, and streams end.  The threads get a moment to end, so
	 * that nothing is left running as the daemon exits.
	 */
	api_stop(h->api, now + HTTP_SAVE_STOP_MS);
	if (h->auth != NULL)
		http_auth_stop(h->auth, now + HTTP_AUTH_STOP_MS);
	sse_stop(&h->sse);
	for (i = 0; i < 3; i++) {
		if (h->unix_l.mhd != NULL)
			MHD_run(h->unix_l.mhd);
		if (h->web_l.mhd != NULL)
			MHD_run(h->web_l.mhd);
	}
	if (h->unix_l.mhd != NULL) {
		MHD_stop_daemon(h->unix_l.mhd);
		unlink(h->path);
	}
	if (h->web_l.mhd != NULL)
		MHD_stop_daemon(h->web_l.mhd);
	api_free(h->api);
	http_auth_free(h->auth);
	httpguard_free(h->guard);
	free(h->tls_cert);
	free(h->tls_key);
	free(h);
}

int
http_fds(struct http *h, int *fds, int max)
{
	int n = 0;

	if (h == NULL)
		return 0;
	if (h->unix_l.fd != -1 && n < max)
		fds[n++] = h->unix_l.fd;
	if (h->web_l.fd != -1 && n < max)
		fds[n++] = h->web_l.fd;
	if (api_fd(h->api) != -1 && n < max)
		fds[n++] = api_fd(h->api);
	/* One descriptor for every password check in flight. */
	if (h->auth != NULL && http_auth_fd(h->auth) != -1 && n < max)
		fds[n++] = http_auth_fd(h->auth);
	return n;
}

int64_t
http_deadline(struct http *h, int64_t now)
{
	MHD_UNSIGNED_LONG_LONG to;
	int64_t next = INT64_MAX;

	if (h == NULL)
		return next;
	if (h->unix_l.mhd != NULL && MHD_get_timeout(h->unix_l.mhd, &to) ==
	    MHD_YES && now + (int64_t)to < next)
		next = now + (int64_t)to;
	if (h->web_l.mhd != NULL && MHD_get_timeout(h->web_l.mhd, &to) ==
	    MHD_YES && now + (int64_t)to < next)
		next = now + (int64_t)to;
	if (httpguard_deadline(h->guard) < next)
		next = httpguard_deadline(h->guard);
	return sse_deadline(&h->sse, next);
}

void
http_run(struct http *h, int64_t now)
{
	if (h == NULL)
		return;
	api_run(h->api);
	if (h->auth != NULL)
		http_auth_run(h->auth, now);
	sse_run(&h->sse, now);
	/* Late requests' sockets shut down, for libmicrohttpd to close. */
	httpguard_run(h->guard, now);
	if (h->unix_l.mhd != NULL)
		MHD_run(h->unix_l.mhd);
	if (h->web_l.mhd != NULL)
		MHD_run(h->web_l.mhd);
	http_trim(h);
}
