/*
 * The HTTP layer of the web API, in portkeeperd-web (web_main.c):
 * libmicrohttpd inside the process's poll loop (external event loop mode
 * with epoll, so that one descriptor stands for every connection of a
 * listener), carrying each request to the daemon's API core (over the
 * channel, webproxy.c) and its answer back.  The daemon holds the
 * listening sockets and hands them over (front.c).
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
#include "webproxy.h"

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
	struct webproxy		*wp;		/* the daemon's API core */
	struct http_auth	*auth;		/* [web] only */
	struct sse_set		 sse;
	struct http_listener	 unix_l, web_l;
	char			*tls_cert, *tls_key;
	struct httpguard	*guard;		/* both listeners */
	unsigned		 nconn;		/* open, both listeners */
	unsigned		 conn_peak;	/* since the last trim */
	int64_t			 idle_since;	/* nconn 0 since, monotonic ms */
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
	r = sse_open(&h->sse, q->c, webproxy_id(h->wp, &q->ar), &full);
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
		rc = api_check(NULL, &q->ar, &ar);
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
		rc = api_check(NULL, &q->ar, &ar);
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
	return http_send(h, q, webproxy_handle(h->wp, &q->ar, &ar), &ar);
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
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED && h->nconn > 0 &&
	    --h->nconn == 0)
		h->idle_since = mono_ms();
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
	webproxy_done(h->wp, &q->ar);
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
http_web_start(struct http *h, const struct config_web *w, int fd)
{
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
	h->web_l.h = h;
	h->web_l.web = true;
	if (http_mhd_start(&h->web_l, fd, h->tls_cert != NULL ? MHD_USE_TLS :
	    0, HTTP_CONN_MAX, HTTP_CONN_PER_IP, h->tls_key, h->tls_cert) ==
	    -1) {
		log_warnx("web: cannot start the HTTP server on %s%s",
		    w->listen, h->tls_cert != NULL ? " (check the TLS key and "
		    "certificate)" : "");
		return -1;
	}
	return 0;
}

/* A stream's way to the daemon for more. */
static void
http_pull(void *arg, uint32_t id)
{
	webproxy_pull(((struct http *)arg)->wp, id);
}

struct http *
http_start(const struct config *cfg, int unix_fd, int web_fd, int chan_fd)
{
	struct http *h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->cfg = cfg;
	h->unix_l.fd = h->web_l.fd = -1;
	h->idle_since = mono_ms();
	if ((h->guard = httpguard_new(HTTP_REQUEST_S * 1000)) == NULL ||
	    (h->wp = webproxy_new(chan_fd, &h->sse)) == NULL) {
		httpguard_free(h->guard);
		close(chan_fd);
		free(h);
		return NULL;
	}
	sse_init(&h->sse, http_pull, h);
	if (unix_fd != -1) {
		h->unix_l.h = h;
		if (http_mhd_start(&h->unix_l, unix_fd, 0, 32, 32, NULL,
		    NULL) == -1)
			log_warnx("cannot start the API server on %s",
			    cfg->socket);
	}
	if (web_fd != -1 && (!cfg->web.enabled ||
	    http_web_start(h, &cfg->web, web_fd) == -1)) {
		http_stop(h);
		return NULL;
	}
	webproxy_ready(h->wp);
	return h;
}

void
http_reload(struct http *h, const struct config_web *w)
{
	if (h != NULL && h->web_l.mhd != NULL &&
	    http_auth_reload(h->auth, w) == -1)
		log_warnx("web: keeping the previous passwords and hosts");
}

/*
 * Stops l accepting and closes this process's descriptor of its listening
 * socket, leaving the socket itself to the daemon: libmicrohttpd then
 * neither shuts it down nor closes it.
 */
static void
http_quiesce(struct http_listener *l)
{
	MHD_socket fd;

	if (l->mhd != NULL &&
	    (fd = MHD_quiesce_daemon(l->mhd)) != MHD_INVALID_SOCKET)
		close(fd);
}

void
http_stop(struct http *h)
{
	int64_t now = mono_ms();
	int i;

	if (h == NULL)
		return;
	/*
	 * No more connections: the listening sockets are the daemon's, and
	 * one that died (kill -9) must find its port free when it starts
	 * again, not held by this process finishing its last answers.
	 */
	http_quiesce(&h->unix_l);
	http_quiesce(&h->web_l);
	/*
	 * What waits is answered: the requests waiting for their password
	 * check are told why, those waiting for the daemon that it stops,
	 * and streams end.  The threads get a moment to end, so that nothing
	 * is left running as the process exits.
	 */
	if (h->auth != NULL)
		http_auth_stop(h->auth, now + HTTP_AUTH_STOP_MS);
	sse_end_all(&h->sse);
	for (i = 0; i < 3; i++) {
		webproxy_run(h->wp);
		if (h->unix_l.mhd != NULL)
			MHD_run(h->unix_l.mhd);
		if (h->web_l.mhd != NULL)
			MHD_run(h->web_l.mhd);
	}
	if (h->unix_l.mhd != NULL)
		MHD_stop_daemon(h->unix_l.mhd);
	if (h->web_l.mhd != NULL)
		MHD_stop_daemon(h->web_l.mhd);
	webproxy_free(h->wp);
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
	if (webproxy_fd(h->wp) != -1 && n < max)
		fds[n++] = webproxy_fd(h->wp);
	/* One descriptor for every password check in flight. */
	if (h->auth != NULL && http_auth_fd(h->auth) != -1 && n < max)
		fds[n++] = http_auth_fd(h->auth);
	return n;
}

bool
http_pollout(const struct http *h, int fd)
{
	return fd == webproxy_fd(h->wp) && webproxy_want_write(h->wp);
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
	return next;
}

void
http_run(struct http *h, int64_t now)
{
	if (h == NULL)
		return;
	webproxy_run(h->wp);
	if (h->auth != NULL)
		http_auth_run(h->auth, now);
	/* Late requests' sockets shut down, for libmicrohttpd to close. */
	httpguard_run(h->guard, now);
	if (h->unix_l.mhd != NULL)
		MHD_run(h->unix_l.mhd);
	if (h->web_l.mhd != NULL)
		MHD_run(h->web_l.mhd);
	http_trim(h);
}

int64_t
http_idle_since(const struct http *h, int64_t now)
{
	if (h->nconn > 0 || sse_count(&h->sse) > 0 ||
	    webproxy_pending(h->wp) > 0)
		return now;
	if (h->auth != NULL && http_auth_busy(h->auth, now))
		return now;
	return h->idle_since;
}

bool
http_daemon_gone(const struct http *h)
{
	return webproxy_gone(h->wp);
}
