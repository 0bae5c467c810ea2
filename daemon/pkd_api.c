/*
 * The HTTP API (docs/api.md): JSON over HTTP, served by libmicrohttpd
 * inside the daemon's own poll loop (external event loop mode with epoll,
 * so that one descriptor stands for every connection of a listener).
 *
 * Two listeners share the handlers.  The control socket (a Unix socket,
 * mode 0660) is for portkeeper status and local scripts: the file mode is
 * its access control.  The [web] listener is TCP and reachable from the
 * LAN, and because its API opens ports on the router it is guarded the way
 * router UIs learned to be: HTTP Basic against an htpasswd file, failed
 * logins limited per address, a Host allow-list against DNS rebinding, an
 * Origin check and a JSON content type on writes against CSRF, and
 * libmicrohttpd's limits set explicitly (its defaults are no timeout and no
 * per-address limit).
 *
 * Nothing here blocks: the doctor runs on a thread of its own while its
 * request is suspended, and event streams are suspended between events.
 * A password the htpasswd cache does not vouch for costs a bcrypt run (55
 * ms at cost 10), so it too is checked on a thread while its request is
 * suspended, a few at a time; more are answered 503 "busy" at once.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <microhttpd.h>
#include <nettle/memops.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "assets.h"
#include "doctor.h"
#include "htpasswd.h"
#include "job.h"
#include "log.h"
#include "pkd.h"
#include "util.h"
#include "webapi.h"
#include "websec.h"

#define SSE_MAX			16	/* event streams at once */
#define SSE_STATUS_MS		250	/* at most 4 status documents a second */
#define SSE_PING_MS		15000	/* keep-alive comment */
#define WEB_CONN_MAX		512
#define WEB_CONN_PER_IP		128
#define WEB_TIMEOUT_S		10	/* idle, and a request's headers */
#define HOSTS_MAX		32
#define TLS_FILE_MAX		(64 * 1024)
/*
 * Password checks on threads at once.  Each is a bcrypt run; four keep a
 * small machine's cores busy without queueing more work than a second can
 * finish.
 */
#define AUTH_MAX		4
#define AUTH_NICE		10	/* the loop comes before a hash */
/*
 * How long stopping waits for checks in flight.  A hash cannot be
 * interrupted; one of cost 10 is long done, even under valgrind, and a
 * thread still running after this is left to exit() with the daemon.
 */
#define AUTH_STOP_MS		10000
/*
 * How long stopping waits for forwards.conf to be saved: two fsyncs, as
 * slow as 1.5 s each on a busy SD card.
 */
#define SAVE_STOP_MS		5000
/*
 * Each connection's 32 KiB pool comes from malloc, and glibc keeps what a
 * burst of connections freed: 64 keep-alive connections left the daemon at
 * 8 MB instead of 6.  Once the connections fall from TRIM_HIGH or more to
 * TRIM_LOW or fewer (an open page keeps its event stream and maybe one
 * more), the free memory goes back to the system.
 */
#define TRIM_HIGH		8
#define TRIM_LOW		2

#define CSP	"default-src 'self'; frame-ancestors 'none'; base-uri 'none'; " \
		"form-action 'self'"

enum route {
	R_NONE, R_HEALTH, R_STATUS, R_FORWARDS, R_FORWARD, R_DOCTOR, R_EVENTS,
	R_METRICS, R_ASSET
};

struct api;

struct listener {
	struct api		*api;
	struct MHD_Daemon	*mhd;
	int			 fd;	/* libmicrohttpd's epoll descriptor */
	bool			 web;	/* TCP: authentication and checks */
};

/* An event stream: suspended whenever it has nothing to send. */
struct sse {
	struct api		*api;
	struct MHD_Connection	*c;
	bool			 suspended;
	uint64_t		 ev_seq;	/* the last event sent */
	uint64_t		 gen;		/* the status sent */
	bool			 sent_status;
	int64_t			 status_at;	/* when, monotonic ms */
	int64_t			 ping_at;
	char			*buf;
	size_t			 len, off;
	struct sse		*next;
};

/* The doctor run in flight, on its own thread. */
struct doc_run {
	struct doctor_opts	 opts;
	struct config_forward	 fwd;
	char			 probe[256];
	volatile sig_atomic_t	 stop;
	struct doctor_report	 r;
};

/* A password check that missed the cache, on a thread of its own. */
struct auth_run {
	struct htpasswd		*pw;	/* a reference of its own */
	char			 user[HTPASSWD_USER_MAX + 1];
	char			 pass[HTPASSWD_PASS_MAX + 1];
	int			 ok;	/* htpasswd_check's answer */
};

/*
 * Where a request is with its password.  The access handler is called
 * again for the same request once its connection is resumed, so the state
 * says what that call is for.
 */
enum req_auth {
	AUTH_NONE,		/* checked on the spot, or not at all */
	AUTH_WAIT,		/* suspended while a thread checks it */
	AUTH_PASSED,		/* the thread said yes: the checks go on */
	AUTH_FAILED,		/* the thread said no: 401 */
};

struct auth_slot;

/* One request. */
struct req {
	enum route		 route;
	char			 name[CONFIG_NAME_MAX];	/* R_FORWARD */
	const struct asset	*asset;
	char			*body;
	size_t			 len;
	bool			 too_large;
	bool			 answered;	/* a response is queued */
	bool			 doctor;	/* waits for api->doc */
	struct listener		*l;
	struct MHD_Connection	*c;
	enum req_auth		 auth;
	struct auth_slot	*slot;		/* AUTH_WAIT: the check */
	struct req		*slot_next;	/* its other waiters */
	bool			 origin;	/* the one that started it */
	struct sockaddr_storage	 addr;		/* the client, for the limiter */
	bool			 has_addr;
	/* A change of the API's forwards (forwards_submit). */
	bool			 save;		/* submitted */
	bool			 suspended;	/* waits for change_done */
	struct forwards_change	*change;	/* not answered yet */
	bool			 change_answered;
	enum forwards_rc	 change_rc;
	char			 change_msg[512];
};

/*
 * A check in flight and the requests that wait for it: the first, and any
 * that came with the same user and password meanwhile (a browser sends its
 * first requests in parallel).  Failures count against each client when
 * the answer comes, the first's even when it has left.
 */
struct auth_slot {
	struct job		*job;		/* NULL: a free slot */
	struct auth_run		*run;
	struct req		*waiters;
	struct sockaddr_storage	 addr;		/* the first's client */
	bool			 has_addr;
	bool			 origin_left;
};

struct api {
	struct pkd		*d;
	struct listener		 unix_l, web_l;
	char			 path[108];
	struct htpasswd		*pw;		/* NULL: no passwords */
	char			 hostbuf[512];
	const char		*hosts[HOSTS_MAX];
	size_t			 nhosts;
	struct ratelimit	 rl;
	struct sse		*sse;
	size_t			 nsse;
	struct job		*doc_job;
	struct doc_run		*doc;
	struct MHD_Connection	*doc_conn;	/* suspended, waiting */
	struct auth_slot	 auth[AUTH_MAX];
	size_t			 nauth;		/* slots in use */
	int			 auth_ep;	/* epoll: their job_fd()s */
	char			*tls_cert, *tls_key;
	bool			 stopping;
	unsigned		 nconn;		/* open, both listeners */
	unsigned		 conn_peak;	/* since the last trim */
};

static const char *
status_cached(struct api *a)
{
	return status_json_cached(&a->d->status);
}

/* Responses. */

static void
add_common_headers(struct MHD_Response *r, const char *type)
{
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Content-Security-Policy", CSP);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
}

static enum MHD_Result
queue(struct req *q, struct MHD_Connection *c, unsigned int status,
    struct MHD_Response *r)
{
	enum MHD_Result ret;

	if (r == NULL)
		return MHD_NO;
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	if (ret == MHD_YES && q != NULL)
		q->answered = true;
	return ret;
}

/*
 * Sends body (which this takes over) as JSON, with one more header if
 * hname is not NULL (Allow, Location, Retry-After).
 */
static enum MHD_Result
reply(struct req *q, struct MHD_Connection *c, unsigned int status,
    char *body, const char *hname, const char *hvalue)
{
	struct MHD_Response *r;

	if (body == NULL)
		return MHD_NO;
	r = MHD_create_response_from_buffer(strlen(body), body,
	    MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(body);
		return MHD_NO;
	}
	add_common_headers(r, "application/json");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (hname != NULL)
		MHD_add_response_header(r, hname, hvalue);
	return queue(q, c, status, r);
}

/* Sends o (which this takes over), with reply's extra header. */
static enum MHD_Result
reply_json_hdr(struct req *q, struct MHD_Connection *c, unsigned int status,
    cJSON *o, const char *hname, const char *hvalue)
{
	char *s;

	if (o == NULL)
		return MHD_NO;
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return reply(q, c, status, s, hname, hvalue);
}

static enum MHD_Result
reply_json(struct req *q, struct MHD_Connection *c, unsigned int status,
    cJSON *o)
{
	return reply_json_hdr(q, c, status, o, NULL, NULL);
}

/* {"error":{"code":CODE,"message":MSG}} */
static cJSON *
error_json(const char *code, const char *msg)
{
	cJSON *o = cJSON_CreateObject(), *e;

	e = cJSON_AddObjectToObject(o, "error");
	cJSON_AddStringToObject(e, "code", code);
	cJSON_AddStringToObject(e, "message", msg);
	return o;
}

static enum MHD_Result __attribute__((format(printf, 5, 6)))
reply_error(struct req *q, struct MHD_Connection *c, unsigned int status,
    const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return reply_json(q, c, status, error_json(code, msg));
}

/* An error that says when to try again (Retry-After, in seconds). */
static enum MHD_Result
reply_retry(struct req *q, struct MHD_Connection *c, unsigned int status,
    const char *code, const char *msg, unsigned retry)
{
	char ra[16];

	snprintf(ra, sizeof(ra), "%u", retry);
	return reply_json_hdr(q, c, status, error_json(code, msg),
	    "Retry-After", ra);
}

static enum MHD_Result
reply_empty(struct req *q, struct MHD_Connection *c, unsigned int status,
    const char *allow)
{
	struct MHD_Response *r;

	r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	add_common_headers(r, "application/json");
	if (allow != NULL)
		MHD_add_response_header(r, "Allow", allow);
	return queue(q, c, status, r);
}

/* Routing. */

const struct asset *
asset_find(const char *url)
{
	size_t i;

	if (strcmp(url, "/") == 0)
		url = "/index.html";
	for (i = 0; assets[i].path != NULL; i++)
		if (strcmp(assets[i].path, url) == 0)
			return &assets[i];
	return NULL;
}

static enum route
route_find(const char *url, struct req *q)
{
	static const struct {
		const char	*path;
		enum route	 route;
	} fixed[] = {
		{ "/api/health", R_HEALTH },
		{ "/api/status", R_STATUS },
		{ "/api/forwards", R_FORWARDS },
		{ "/api/doctor", R_DOCTOR },
		{ "/api/events", R_EVENTS },
		{ "/metrics", R_METRICS },
	};
	const char *name;
	size_t i;

	for (i = 0; i < nitems(fixed); i++)
		if (strcmp(url, fixed[i].path) == 0)
			return fixed[i].route;
	if (strncmp(url, "/api/forwards/", 14) == 0) {
		name = url + 14;
		/* A name that cannot exist is simply not found. */
		if (!config_name_ok(name, strlen(name)))
			return R_NONE;
		str_copy(q->name, name, sizeof(q->name));
		return R_FORWARD;
	}
	if ((q->asset = asset_find(url)) != NULL)
		return R_ASSET;
	return R_NONE;
}

static const char *
route_allow(enum route r)
{
	switch (r) {
	case R_FORWARDS:	return "GET, HEAD, POST, OPTIONS";
	case R_FORWARD:		return "GET, HEAD, DELETE, OPTIONS";
	case R_DOCTOR:		return "POST, OPTIONS";
	case R_NONE:		return NULL;
	default:		return "GET, HEAD, OPTIONS";
	}
}

static bool
method_allowed(enum route r, const char *method)
{
	const char *allow = route_allow(r), *p;
	size_t n = strlen(method);

	/*
	 * allow is a short list of upper-case words separated by ", ".  An
	 * empty method would match everywhere without moving p on.
	 */
	if (n == 0)
		return false;
	for (p = allow; p != NULL && (p = strstr(p, method)) != NULL; p += n)
		if ((p == allow || p[-1] == ' ') &&
		    (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

static bool
is_write(const char *method)
{
	return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
	    strcmp(method, "OPTIONS") != 0;
}

static const char *
addr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	const void *p = sa->sa_family == AF_INET ?
	    (const void *)&((const struct sockaddr_in *)sa)->sin_addr :
	    (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;

	if (inet_ntop(sa->sa_family, p, buf, (socklen_t)len) == NULL)
		str_copy(buf, "?", len);
	return buf;
}

/* Authentication. */

/* Counts a login against sa in the limiter; a failure is logged. */
static void
auth_count(struct api *a, const struct sockaddr *sa, const char *user,
    bool ok, int64_t now)
{
	char ra[INET6_ADDRSTRLEN];

	if (sa == NULL)
		return;
	if (ok) {
		ratelimit_success(&a->rl, sa, now);
		return;
	}
	ratelimit_fail(&a->rl, sa, now);
	log_info("failed web login as \"%.64s\" from %s", user,
	    addr_str(sa, ra, sizeof(ra)));
}

static enum MHD_Result
unauthorized(struct req *q, struct MHD_Connection *c)
{
	return reply_json_hdr(q, c, MHD_HTTP_UNAUTHORIZED,
	    error_json("unauthorized", "a user name and password are needed"),
	    MHD_HTTP_HEADER_WWW_AUTHENTICATE,
	    "Basic realm=\"portkeeper\", charset=\"UTF-8\"");
}

/* The thread: the full check, bcrypt and all. */
static void
auth_run(void *arg)
{
	struct auth_run *r = arg;

	/*
	 * Linux gives each thread its own nice value.  On a machine with
	 * fewer cores than checks in flight, the loop then still gets the
	 * CPU the moment it has something to do.
	 */
	setpriority(PRIO_PROCESS, (id_t)gettid(), AUTH_NICE);
	r->ok = htpasswd_check(r->pw, r->user, r->pass);
}

/* Runs once both the thread and the loop are done with r. */
static void
auth_run_free(void *arg)
{
	struct auth_run *r = arg;

	htpasswd_free(r->pw);
	explicit_bzero(r, sizeof(*r));
	free(r);
}

/* q waits, suspended, for s's answer. */
static void
auth_wait(struct auth_slot *s, struct req *q, struct MHD_Connection *c)
{
	q->auth = AUTH_WAIT;
	q->slot = s;
	q->slot_next = s->waiters;
	s->waiters = q;
	MHD_suspend_connection(c);
}

/* q no longer waits for its check (its client left, or we stop). */
static void
auth_leave(struct req *q)
{
	struct auth_slot *s = q->slot;
	struct req **pp;

	if (s == NULL)
		return;
	for (pp = &s->waiters; *pp != NULL; pp = &(*pp)->slot_next) {
		if (*pp == q) {
			*pp = q->slot_next;
			break;
		}
	}
	if (q->origin)
		s->origin_left = true;
	q->slot = NULL;
	q->slot_next = NULL;
}

static void
auth_slot_clear(struct api *a, struct auth_slot *s)
{
	epoll_ctl(a->auth_ep, EPOLL_CTL_DEL, job_fd(s->job), NULL);
	job_release(s->job);
	memset(s, 0, sizeof(*s));
	a->nauth--;
}

/*
 * Starts the check of user and pass on a thread, or joins one of the same
 * pair in flight, and suspends q.  Returns 1 when q waits, -1 when it has
 * been answered (503 busy when every slot is taken).
 */
static int
auth_start(struct api *a, struct req *q, struct MHD_Connection *c,
    const char user[static HTPASSWD_USER_MAX + 1],
    const char pass[static HTPASSWD_PASS_MAX + 1])
{
	struct auth_slot *s, *fs = NULL;
	struct auth_run *r;
	struct epoll_event ev;
	size_t i;

	/* Nothing may be suspended when libmicrohttpd stops. */
	if (a->stopping) {
		reply_error(q, c, MHD_HTTP_SERVICE_UNAVAILABLE, "stopping",
		    "portkeeperd is stopping");
		return -1;
	}
	/*
	 * Both buffers are compared whole, in constant time: the pair in
	 * flight is someone's password.  A check of the file before a
	 * reload is not joined.
	 */
	for (i = 0; i < AUTH_MAX; i++) {
		s = &a->auth[i];
		if (s->job == NULL) {
			if (fs == NULL)
				fs = s;
			continue;
		}
		if (s->run->pw == a->pw &&
		    memeql_sec(s->run->user, user, HTPASSWD_USER_MAX + 1) &
		    memeql_sec(s->run->pass, pass, HTPASSWD_PASS_MAX + 1)) {
			auth_wait(s, q, c);
			return 1;
		}
	}
	if (fs == NULL) {
		reply_retry(q, c, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
		    "too many passwords are being checked; try again in a "
		    "second", 1);
		return -1;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		reply_error(q, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
		    "out of memory");
		return -1;
	}
	memcpy(r->user, user, sizeof(r->user));
	memcpy(r->pass, pass, sizeof(r->pass));
	r->pw = htpasswd_ref(a->pw);
	if ((fs->job = job_start(auth_run, r, auth_run_free)) == NULL) {
		auth_run_free(r);
		reply_error(q, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
		    "cannot start a thread to check the password");
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	if (epoll_ctl(a->auth_ep, EPOLL_CTL_ADD, job_fd(fs->job), &ev) == -1) {
		log_warn("web: epoll_ctl");
		job_release(fs->job);
		fs->job = NULL;
		reply_error(q, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
		    "cannot wait for the password check");
		return -1;
	}
	a->nauth++;
	fs->run = r;
	fs->addr = q->addr;
	fs->has_addr = q->has_addr;
	q->origin = true;
	auth_wait(fs, q, c);
	return 1;
}

/* Checks that have ended: their requests go on, or get 401. */
static void
auth_reap(struct api *a, int64_t now)
{
	struct auth_slot *s;
	struct req *q, *next;
	bool ok;
	size_t i;

	for (i = 0; i < AUTH_MAX; i++) {
		s = &a->auth[i];
		if (s->job == NULL || !job_done(s->job))
			continue;
		ok = s->run->ok == 1;
		if (s->origin_left && s->has_addr)
			auth_count(a, (struct sockaddr *)&s->addr,
			    s->run->user, ok, now);
		for (q = s->waiters; q != NULL; q = next) {
			next = q->slot_next;
			if (q->has_addr)
				auth_count(a, (struct sockaddr *)&q->addr,
				    s->run->user, ok, now);
			q->auth = ok ? AUTH_PASSED : AUTH_FAILED;
			q->slot = NULL;
			q->slot_next = NULL;
			MHD_resume_connection(q->c);
		}
		auth_slot_clear(a, s);
	}
}

/*
 * Authentication: 0 when the request may go on, 1 when it waits for a
 * password check on a thread, -1 when it has been answered (or could not
 * be: then the connection must close).
 */
static int
authenticate(struct api *a, struct req *q, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;
	const char *h;
	char user[HTPASSWD_USER_MAX + 1], pass[HTPASSWD_PASS_MAX + 1];
	unsigned wait;
	int64_t now = mono_ms();
	int rc;

	if (a->pw == NULL)
		return 0;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	sa = ci != NULL ? ci->client_addr : NULL;
	h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	if (sa != NULL && (wait = ratelimit_check(&a->rl, sa, now)) != 0) {
		reply_retry(q, c, MHD_HTTP_TOO_MANY_REQUESTS,
		    "too_many_requests", "too many failed logins from this "
		    "address; try again later", wait);
		return -1;
	}
	if (sa != NULL && (sa->sa_family == AF_INET ||
	    sa->sa_family == AF_INET6)) {
		memcpy(&q->addr, sa, sa->sa_family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
		q->has_addr = true;
	}
	/* Zeroed whole: auth_start compares the buffers, not the strings. */
	memset(user, 0, sizeof(user));
	memset(pass, 0, sizeof(pass));
	if (h != NULL && htpasswd_parse_basic(h, user, sizeof(user), pass,
	    sizeof(pass)) == 0) {
		/* A password that matched before: microseconds, here. */
		if (htpasswd_cached(a->pw, user, pass) == 1) {
			explicit_bzero(pass, sizeof(pass));
			auth_count(a, sa, user, true, now);
			return 0;
		}
		rc = auth_start(a, q, c, user, pass);
		explicit_bzero(pass, sizeof(pass));
		return rc;
	}
	/* A browser's first request carries no password: not a failure. */
	if (h != NULL)
		auth_count(a, sa, user, false, now);
	explicit_bzero(pass, sizeof(pass));
	unauthorized(q, c);
	return -1;
}

/*
 * The checks of a request's headers after the Host and the password:
 * returns 0 when it may go on, else it has been answered.
 */
static int
precheck_request(struct req *q, struct MHD_Connection *c, const char *method)
{
	const char *cl, *ct;
	unsigned long n;

	if (q->route == R_NONE) {
		reply_error(q, c, MHD_HTTP_NOT_FOUND, "not_found",
		    "no such resource");
		return -1;
	}
	if (strcmp(method, "OPTIONS") == 0) {
		reply_empty(q, c, MHD_HTTP_NO_CONTENT, route_allow(q->route));
		return -1;
	}
	if (!method_allowed(q->route, method)) {
		char *s = NULL;

		if (asprintf(&s, "{\"error\":{\"code\":\"method_not_allowed\","
		    "\"message\":\"%s is not allowed here: use %s\"}}", method,
		    route_allow(q->route)) == -1)
			return -1;
		reply(q, c, MHD_HTTP_METHOD_NOT_ALLOWED, s, "Allow",
		    route_allow(q->route));
		return -1;
	}
	if (!is_write(method))
		return 0;
	if (q->l->web && !websec_same_origin(MHD_lookup_connection_value(c,
	    MHD_HEADER_KIND, "Origin"), MHD_lookup_connection_value(c,
	    MHD_HEADER_KIND, "Sec-Fetch-Site"), MHD_lookup_connection_value(c,
	    MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST))) {
		reply_error(q, c, MHD_HTTP_FORBIDDEN, "forbidden", "a request "
		    "that changes something must come from this server's own "
		    "page, not from another site");
		return -1;
	}
	cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl != NULL && (parse_uint(cl, 0, ULONG_MAX, &n) == -1 ||
	    n > WEBAPI_BODY_MAX)) {
		reply_error(q, c, MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
		    "the body is larger than 16 KiB");
		return -1;
	}
	if (strcmp(method, "POST") == 0) {
		ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_TYPE);
		if (!websec_is_json(ct)) {
			reply_error(q, c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
			    "unsupported_media_type", "send the body as "
			    "application/json");
			return -1;
		}
	}
	return 0;
}

/*
 * The checks made on a request's headers, before its body: returns 0 when
 * it may go on, 1 when it waits for its password check, -1 when it has
 * been answered.
 */
static int
precheck(struct api *a, struct req *q, struct MHD_Connection *c,
    const char *method)
{
	const char *host;
	int rc;

	if (q->l->web) {
		host = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_HOST);
		if (!websec_host_allowed(host, a->hosts, a->nhosts)) {
			reply_error(q, c, 421, "misdirected", "this server does "
			    "not answer to the host name \"%.100s\"; add it "
			    "to allowed_hosts in [web] if it is yours",
			    host != NULL ? host : "");
			return -1;
		}
		if (q->route != R_HEALTH && (rc = authenticate(a, q, c)) != 0)
			return rc;
	}
	return precheck_request(q, c, method);
}

/*
 * The handler's call after a password check on a thread: libmicrohttpd
 * calls it again with the request's headers, as if for the first time
 * (no body has been read yet).  The rest of the header checks run now.
 */
static enum MHD_Result
auth_resumed(struct api *a, struct req *q, struct MHD_Connection *c,
    const char *method)
{
	enum req_auth st = q->auth;

	q->auth = AUTH_NONE;
	switch (st) {
	case AUTH_WAIT:
		if (!a->stopping) {
			/* Not for us: keep waiting. */
			q->auth = AUTH_WAIT;
			MHD_suspend_connection(c);
			return MHD_YES;
		}
		auth_leave(q);
		reply_error(q, c, MHD_HTTP_SERVICE_UNAVAILABLE, "stopping",
		    "portkeeperd is stopping");
		break;
	case AUTH_FAILED:
		unauthorized(q, c);
		break;
	case AUTH_PASSED:
		if (precheck_request(q, c, method) == 0)
			return MHD_YES;
		break;
	case AUTH_NONE:
		return MHD_YES;
	}
	/* An answer that could not be queued must not let it through. */
	return q->answered ? MHD_YES : MHD_NO;
}

/* Handlers. */

static enum MHD_Result
get_forward(struct api *a, struct req *q, struct MHD_Connection *c)
{
	struct pkd *d = a->d;
	size_t i;

	for (i = 0; i < d->fw.nfwd; i++)
		if (strcmp(d->fw.fwd[i].cfg.name, q->name) == 0)
			return reply_json(q, c, MHD_HTTP_OK,
			    status_forward_json(&d->fw.fwd[i], mono_ms()));
	return reply_error(q, c, MHD_HTTP_NOT_FOUND, "not_found",
	    "there is no forward named \"%s\"", q->name);
}

static enum MHD_Result
get_forwards(struct api *a, struct req *q, struct MHD_Connection *c)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	int64_t now = mono_ms();
	size_t i;

	arr = cJSON_AddArrayToObject(o, "forwards");
	for (i = 0; i < a->d->fw.nfwd; i++)
		cJSON_AddItemToArray(arr, status_forward_json(&a->d->fw.fwd[i], now));
	return reply_json(q, c, MHD_HTTP_OK, o);
}

/* The HTTP status for a body webapi refused. */
static unsigned
body_status(const struct webapi_error *err)
{
	if (strcmp(err->code, "too_large") == 0)
		return MHD_HTTP_CONTENT_TOO_LARGE;
	if (strcmp(err->code, "internal") == 0)
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	return MHD_HTTP_BAD_REQUEST;
}

/* The 201 of a forward just added: the forward as GET shows it. */
static enum MHD_Result
forward_created(struct api *a, struct req *q, struct MHD_Connection *c,
    const char *name)
{
	char loc[96];
	size_t i;

	for (i = 0; i < a->d->fw.nfwd; i++)
		if (strcmp(a->d->fw.fwd[i].cfg.name, name) == 0)
			break;
	if (i == a->d->fw.nfwd)
		return reply_error(q, c, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "internal", "the forward was saved but is not running");
	snprintf(loc, sizeof(loc), "/api/forwards/%s", name);
	return reply_json_hdr(q, c, MHD_HTTP_CREATED,
	    status_forward_json(&a->d->fw.fwd[i], mono_ms()), "Location", loc);
}

static enum MHD_Result
change_refused(struct req *q, struct MHD_Connection *c, enum forwards_rc rc,
    const char *msg)
{
	switch (rc) {
	case FORWARDS_CONFLICT:
		return reply_error(q, c, MHD_HTTP_CONFLICT, "conflict", "%s",
		    msg);
	case FORWARDS_NOT_FOUND:
		return reply_error(q, c, MHD_HTTP_NOT_FOUND, "not_found", "%s",
		    msg);
	case FORWARDS_READ_ONLY:
		return reply_error(q, c, MHD_HTTP_CONFLICT, "read_only", "%s",
		    msg);
	case FORWARDS_STOPPING:
		return reply_error(q, c, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "stopping", "%s", msg);
	default:
		return reply_error(q, c, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "internal", "%s", msg);
	}
}

/* forwards.c's answer to q's change (a forwards_done_fn). */
static void
change_done(void *arg, enum forwards_rc rc, const char *msg)
{
	struct req *q = arg;

	q->change = NULL;
	q->change_rc = rc;
	str_copy(q->change_msg, msg != NULL ? msg : "", sizeof(q->change_msg));
	q->change_answered = true;
	if (q->suspended) {
		q->suspended = false;
		MHD_resume_connection(q->c);
	}
}

/* The answer to a change, once it is on disk or refused. */
static enum MHD_Result
change_reply(struct api *a, struct req *q, struct MHD_Connection *c)
{
	q->save = false;
	if (q->change_rc != FORWARDS_OK)
		return change_refused(q, c, q->change_rc, q->change_msg);
	return q->route == R_FORWARDS ? forward_created(a, q, c, q->name) :
	    reply_empty(q, c, MHD_HTTP_NO_CONTENT, NULL);
}

/*
 * Submits q's change, and waits for it suspended unless it was answered
 * at once (refused, or out of memory).
 */
static enum MHD_Result
change_submit(struct api *a, struct req *q, struct MHD_Connection *c,
    const struct config_forward *f)
{
	q->save = true;
	q->change = forwards_submit(&a->d->fw, f != NULL, f, q->name,
	    change_done, q);
	if (q->change_answered)
		return change_reply(a, q, c);
	q->suspended = true;
	MHD_suspend_connection(c);
	return MHD_YES;
}

static enum MHD_Result
post_forward(struct api *a, struct req *q, struct MHD_Connection *c)
{
	struct config_forward f;
	struct webapi_error err;

	if (webapi_parse_forward(q->body, q->len, &f, &err) == -1)
		return reply_error(q, c, body_status(&err), err.code, "%s",
		    err.msg);
	if (a->stopping)
		return reply_error(q, c, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "stopping", "portkeeperd is stopping");
	str_copy(q->name, f.name, sizeof(q->name));
	return change_submit(a, q, c, &f);
}

static enum MHD_Result
delete_forward(struct api *a, struct req *q, struct MHD_Connection *c)
{
	if (a->stopping)
		return reply_error(q, c, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "stopping", "portkeeperd is stopping");
	return change_submit(a, q, c, NULL);
}

static void
doc_run(void *arg)
{
	struct doc_run *r = arg;

	doctor_run(&r->opts, &r->r);
}

static enum MHD_Result
post_doctor(struct api *a, struct req *q, struct MHD_Connection *c)
{
	struct webapi_error err;
	struct doc_run *r;
	struct pkd *d = a->d;
	uint16_t port;
	enum pm_proto proto;
	size_t i;

	if (webapi_parse_doctor(q->body, q->len, &port, &proto, &err) == -1)
		return reply_error(q, c, body_status(&err), err.code, "%s",
		    err.msg);
	if (a->doc_job != NULL)
		return reply_error(q, c, MHD_HTTP_CONFLICT, "busy", "a "
		    "diagnosis is already running; try again in a few seconds");
	/* Nothing may be suspended when libmicrohttpd stops. */
	if (a->stopping)
		return reply_error(q, c, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "stopping", "portkeeperd is stopping");
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return MHD_NO;
	r->opts.spec.ext = port;
	r->opts.spec.in = port;
	r->opts.spec.proto = proto;
	r->opts.via = d->cfg.method;
	r->opts.timeout_ms = 2000;
	str_copy(r->probe, d->cfg.probe, sizeof(r->probe));
	r->opts.probe_url = r->probe;
	r->opts.stop = &r->stop;
	/* A forward of this port says which internal port is meant. */
	for (i = 0; i < d->fw.nfwd; i++) {
		if (d->fw.fwd[i].cfg.ext == port && d->fw.fwd[i].cfg.proto == proto) {
			r->fwd = d->fw.fwd[i].cfg;
			r->opts.forward = &r->fwd;
			r->opts.spec.in = r->fwd.in;
			r->opts.spec.in_given = 1;
			r->opts.internal_given = true;
		}
	}
	if ((a->doc_job = job_start(doc_run, r, free)) == NULL) {
		free(r);
		return reply_error(q, c, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "internal", "cannot start a thread for the diagnosis");
	}
	a->doc = r;
	a->doc_conn = c;
	q->doctor = true;
	MHD_suspend_connection(c);
	return MHD_YES;
}

/* The doctor's thread has finished: answer its request. */
static enum MHD_Result
doctor_done(struct api *a, struct req *q, struct MHD_Connection *c)
{
	enum MHD_Result ret;

	q->doctor = false;
	if (a->stopping)
		ret = reply_error(q, c, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "stopping", "portkeeperd is stopping");
	else
		ret = reply_json(q, c, MHD_HTTP_OK,
		    doctor_report_json(&a->doc->r));
	job_release(a->doc_job);
	a->doc_job = NULL;
	a->doc = NULL;
	a->doc_conn = NULL;
	return ret;
}

/* Event streams. */

static int
sse_append(struct sse *s, const char *fmt, ...)
{
	va_list ap;
	char *t;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&t, fmt, ap);
	va_end(ap);
	if (n == -1)
		return -1;
	if (s->buf == NULL) {
		s->buf = t;
		s->len = (size_t)n;
		return 0;
	}
	{
		char *nb = realloc(s->buf, s->len + (size_t)n + 1);

		if (nb == NULL) {
			free(t);
			return -1;
		}
		memcpy(nb + s->len, t, (size_t)n + 1);
		s->buf = nb;
		s->len += (size_t)n;
		free(t);
	}
	return 0;
}

/* Whether s has something to send at now. */
static bool
sse_due(const struct sse *s, int64_t now)
{
	const struct pkd *d = s->api->d;
	size_t n = eventlog_count(&d->status.ev);

	if (s->api->stopping || now >= s->ping_at)
		return true;
	if (n > 0 && eventlog_get(&d->status.ev, n - 1)->seq > s->ev_seq)
		return true;
	return (!s->sent_status || s->gen != d->status.gen) &&
	    now >= s->status_at + SSE_STATUS_MS;
}

static int64_t
sse_deadline(const struct sse *s)
{
	int64_t t = s->ping_at;

	if ((!s->sent_status || s->gen != s->api->d->status.gen) &&
	    s->status_at + SSE_STATUS_MS < t)
		t = s->status_at + SSE_STATUS_MS;
	return t;
}

static void
sse_fill(struct sse *s, int64_t now)
{
	struct pkd *d = s->api->d;
	size_t i, n = eventlog_count(&d->status.ev);
	const char *st;

	for (i = 0; i < n; i++) {
		const struct event *e = eventlog_get(&d->status.ev, i);
		cJSON *x;
		char *j;

		if (e->seq <= s->ev_seq)
			continue;
		x = status_event_json(e);
		j = cJSON_PrintUnformatted(x);
		cJSON_Delete(x);
		if (j == NULL || sse_append(s, "id: %llu\nevent: %s\ndata: %s"
		    "\n\n", (unsigned long long)e->seq,
		    event_type_str(e->type), j) == -1) {
			free(j);
			return;
		}
		free(j);
		s->ev_seq = e->seq;
	}
	if ((!s->sent_status || s->gen != d->status.gen) &&
	    now >= s->status_at + SSE_STATUS_MS &&
	    (st = status_cached(s->api)) != NULL &&
	    sse_append(s, "event: status\ndata: %s\n\n", st) == 0) {
		s->gen = d->status.gen;
		s->sent_status = true;
		s->status_at = now;
	}
	if (s->len == 0 && now >= s->ping_at)
		sse_append(s, ": keep-alive\n\n");
	if (s->len > 0)
		s->ping_at = now + SSE_PING_MS;
}

static ssize_t
sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct sse *s = cls;
	size_t n;

	(void)pos;
	if (s->off == s->len) {
		free(s->buf);
		s->buf = NULL;
		s->off = s->len = 0;
		if (s->api->stopping)
			return MHD_CONTENT_READER_END_OF_STREAM;
		sse_fill(s, mono_ms());
	}
	if (s->len == 0) {
		/* Nothing to say: park the connection until there is. */
		MHD_suspend_connection(s->c);
		s->suspended = true;
		return 0;
	}
	n = s->len - s->off < max ? s->len - s->off : max;
	memcpy(buf, s->buf + s->off, n);
	s->off += n;
	return (ssize_t)n;
}

static void
sse_free(void *cls)
{
	struct sse *s = cls, **pp;

	for (pp = &s->api->sse; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			s->api->nsse--;
			break;
		}
	}
	free(s->buf);
	free(s);
}

static enum MHD_Result
get_events(struct api *a, struct req *q, struct MHD_Connection *c,
    const char *method)
{
	struct MHD_Response *r;
	struct sse *s;
	const char *last;
	unsigned long n;
	size_t ne = eventlog_count(&a->d->status.ev);

	if (strcmp(method, "HEAD") == 0) {
		r = MHD_create_response_from_buffer(0, NULL,
		    MHD_RESPMEM_PERSISTENT);
		if (r == NULL)
			return MHD_NO;
		add_common_headers(r, "text/event-stream");
		return queue(q, c, MHD_HTTP_OK, r);
	}
	if (a->nsse >= SSE_MAX || a->stopping) {
		r = NULL;
		return reply_error(q, c, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "too_many_streams", "%d event streams are open already; "
		    "close a tab and try again", SSE_MAX);
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return MHD_NO;
	s->api = a;
	s->c = c;
	s->ping_at = mono_ms() + SSE_PING_MS;
	s->status_at = mono_ms() - SSE_STATUS_MS;
	/* A browser reconnecting says what it has seen. */
	last = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "Last-Event-ID");
	if (last != NULL && parse_uint(last, 0, ULONG_MAX, &n) == 0)
		s->ev_seq = n;
	else if (ne > 0)
		s->ev_seq = eventlog_get(&a->d->status.ev, ne - 1)->seq;
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read,
	    s, sse_free);
	if (r == NULL) {
		free(s);
		return MHD_NO;
	}
	s->next = a->sse;
	a->sse = s;
	a->nsse++;
	add_common_headers(r, "text/event-stream");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	return queue(q, c, MHD_HTTP_OK, r);
}

static enum MHD_Result
get_metrics(struct api *a, struct req *q, struct MHD_Connection *c)
{
	struct MHD_Response *r;
	size_t len;
	char *buf;

	if ((buf = status_metrics(&a->d->status, &len)) == NULL)
		return MHD_NO;
	r = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(buf);
		return MHD_NO;
	}
	add_common_headers(r, "text/plain; version=0.0.4; charset=utf-8");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	return queue(q, c, MHD_HTTP_OK, r);
}

static enum MHD_Result
get_asset(struct req *q, struct MHD_Connection *c)
{
	const struct asset *as = q->asset;
	struct MHD_Response *r;
	const char *inm;
	bool same;

	inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_IF_NONE_MATCH);
	same = inm != NULL && strstr(inm, as->etag) != NULL;
	r = MHD_create_response_from_buffer(same ? 0 : as->len,
	    (void *)as->data, MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	add_common_headers(r, as->type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, as->etag);
	/* Revalidate every time: the ETag makes that a 304. */
	MHD_add_response_header(r, "Cache-Control", "no-cache");
	return queue(q, c, same ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK, r);
}

static enum MHD_Result
dispatch(struct api *a, struct req *q, struct MHD_Connection *c,
    const char *method)
{
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;

	if (q->too_large)
		return reply_error(q, c, MHD_HTTP_CONTENT_TOO_LARGE,
		    "too_large", "the body is larger than 16 KiB");
	switch (q->route) {
	case R_HEALTH:
		return reply(q, c, MHD_HTTP_OK, strdup("{\"ok\":true}"), NULL,
		    NULL);
	case R_STATUS: {
		const char *s = status_cached(a);

		return reply(q, c, MHD_HTTP_OK, s != NULL ? strdup(s) : NULL,
		    NULL, NULL);
	}
	case R_FORWARDS:
		return get ? get_forwards(a, q, c) : post_forward(a, q, c);
	case R_FORWARD:
		return get ? get_forward(a, q, c) : delete_forward(a, q, c);
	case R_DOCTOR:
		return post_doctor(a, q, c);
	case R_EVENTS:
		return get_events(a, q, c, method);
	case R_METRICS:
		return get_metrics(a, q, c);
	case R_ASSET:
		return get_asset(q, c);
	case R_NONE:
		break;
	}
	return reply_error(q, c, MHD_HTTP_NOT_FOUND, "not_found",
	    "no such resource");
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct listener *l = cls;
	struct api *a = l->api;
	struct req *q = *con_cls;

	(void)version;
	if (q == NULL) {
		if ((q = calloc(1, sizeof(*q))) == NULL)
			return MHD_NO;
		*con_cls = q;
		q->l = l;
		q->c = c;
		q->route = route_find(url, q);
		/* An answer that could not be queued must not let it through. */
		if (precheck(a, q, c, method) == -1 && !q->answered)
			return MHD_NO;
		return MHD_YES;
	}
	if (q->auth != AUTH_NONE)
		return auth_resumed(a, q, c, method);
	/* Answered early: what is left of the body is read and dropped. */
	if (q->answered) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		size_t n = *upload_data_size;

		if (q->len + n > WEBAPI_BODY_MAX)
			q->too_large = true;
		if (!q->too_large) {
			char *nb = realloc(q->body, q->len + n + 1);

			if (nb == NULL)
				return MHD_NO;
			memcpy(nb + q->len, upload_data, n);
			q->body = nb;
			q->len += n;
			q->body[q->len] = '\0';
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (q->save) {
		if (q->change_answered)
			return change_reply(a, q, c);
		/* Not for us: keep waiting. */
		q->suspended = true;
		MHD_suspend_connection(c);
		return MHD_YES;
	}
	if (q->doctor) {
		/* Stopping: answer now, or the daemon could not stop. */
		if (a->doc_job != NULL && a->doc_conn == c &&
		    (job_done(a->doc_job) || a->stopping))
			return doctor_done(a, q, c);
		MHD_suspend_connection(c);
		return MHD_YES;
	}
	return dispatch(a, q, c, method);
}

/* Counts open connections, for trim_memory. */
static void
conn_notify(void *cls, struct MHD_Connection *c, void **socket_ctx,
    enum MHD_ConnectionNotificationCode code)
{
	struct api *a = ((struct listener *)cls)->api;

	(void)c;
	(void)socket_ctx;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		if (++a->nconn > a->conn_peak)
			a->conn_peak = a->nconn;
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED && a->nconn > 0)
		a->nconn--;
}

static void
trim_memory(struct api *a)
{
	if (a->conn_peak >= TRIM_HIGH && a->nconn <= TRIM_LOW) {
		malloc_trim(0);
		a->conn_peak = a->nconn;
	}
}

static void
completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct listener *l = cls;
	struct req *q = *con_cls;

	(void)toe;
	if (q == NULL)
		return;
	/* The client left while the doctor ran: nobody waits for it now. */
	if (q->doctor && l->api->doc_conn == c)
		l->api->doc_conn = NULL;
	/* Nor for its password check, which still counts when it ends. */
	if (q->auth == AUTH_WAIT)
		auth_leave(q);
	/* Nor for its change, which is applied all the same if saving. */
	if (q->change != NULL)
		forwards_cancel(&l->api->d->fw, q->change);
	free(q->body);
	free(q);
	*con_cls = NULL;
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
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
unix_listen(struct api *a, const char *path)
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
	str_copy(a->path, path, sizeof(a->path));
	return fd;
}

static int
tcp_listen(const struct config_web *w)
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
read_small_file(const char *path)
{
	char *buf;
	ssize_t n;
	size_t len = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("web: %s", path);
		return NULL;
	}
	if ((buf = malloc(TLS_FILE_MAX + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	while ((n = read(fd, buf + len, TLS_FILE_MAX - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (n == -1 || len == TLS_FILE_MAX) {
		log_warnx("web: %s: %s", path, n == -1 ? strerror(errno) :
		    "larger than 64 KiB");
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

static struct MHD_Daemon *
mhd_start(struct listener *l, int fd, unsigned int flags,
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
	/*
	 * 32 KiB a connection holds a request's headers (bodies are
	 * collected in struct req): libmicrohttpd clears the whole pool for
	 * every request, and 64 connections of 64 KiB were 4 MB.
	 */
	return MHD_start_daemon(flags | MHD_USE_EPOLL |
	    MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL, NULL,
	    handler, l,
	    MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)WEB_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_LIMIT, conn_max,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
	    MHD_OPTION_NOTIFY_COMPLETED, completed, l,
	    MHD_OPTION_NOTIFY_CONNECTION, conn_notify, l,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_ARRAY, tls,
	    MHD_OPTION_END);
}

/* Loads the password file and host list of [web]; keeps the old on error. */
static int
web_settings(struct api *a, const struct config_web *w)
{
	struct htpasswd *pw = NULL;
	char err[512], buf[sizeof(a->hostbuf)];
	const char *hosts[HOSTS_MAX];
	int n;

	if (w->htpasswd[0] != '\0') {
		if ((pw = htpasswd_load(w->htpasswd, err, sizeof(err))) ==
		    NULL) {
			log_warnx("web: %s", err);
			return -1;
		}
	}
	n = websec_parse_hosts(w->allowed_hosts, buf, sizeof(buf), hosts,
	    HOSTS_MAX, err, sizeof(err));
	if (n == -1) {
		log_warnx("web: allowed_hosts: %s", err);
		htpasswd_free(pw);
		return -1;
	}
	htpasswd_free(a->pw);
	a->pw = pw;
	memcpy(a->hostbuf, buf, sizeof(buf));
	/* The pointers go into buf; move them to hostbuf. */
	for (a->nhosts = 0; a->nhosts < (size_t)n; a->nhosts++)
		a->hosts[a->nhosts] = a->hostbuf + (hosts[a->nhosts] - buf);
	return 0;
}

static int
web_start(struct api *a, const struct config_web *w)
{
	int fd;

	if (web_settings(a, w) == -1)
		return -1;
	if ((a->auth_ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		log_warn("web: epoll_create1");
		return -1;
	}
	if (w->tls_cert[0] != '\0') {
		if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
			log_warnx("web: this libmicrohttpd has no TLS");
			return -1;
		}
		if ((a->tls_cert = read_small_file(w->tls_cert)) == NULL ||
		    (a->tls_key = read_small_file(w->tls_key)) == NULL)
			return -1;
	}
	if ((fd = tcp_listen(w)) == -1)
		return -1;
	a->web_l.api = a;
	a->web_l.web = true;
	a->web_l.mhd = mhd_start(&a->web_l, fd, a->tls_cert != NULL ?
	    MHD_USE_TLS : 0, WEB_CONN_MAX, WEB_CONN_PER_IP, a->tls_key,
	    a->tls_cert);
	if (a->web_l.mhd == NULL) {
		log_warnx("web: cannot start the HTTP server on %s%s",
		    w->listen, a->tls_cert != NULL ? " (check the TLS key and "
		    "certificate)" : "");
		close(fd);
		return -1;
	}
	a->web_l.fd = MHD_get_daemon_info(a->web_l.mhd,
	    MHD_DAEMON_INFO_EPOLL_FD)->epoll_fd;
	log_warnx("web UI on %s://%s/%s", a->tls_cert != NULL ? "https" :
	    "http", w->listen, a->pw != NULL ? "" :
	    " (loopback, no password)");
	return 0;
}

int
api_start(struct pkd *d)
{
	struct api *a;
	int fd;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return -1;
	a->d = d;
	a->unix_l.fd = a->web_l.fd = -1;
	a->auth_ep = -1;
	ratelimit_init(&a->rl);
	d->api = a;
	if ((fd = unix_listen(a, d->cfg.socket)) != -1) {
		a->unix_l.api = a;
		a->unix_l.mhd = mhd_start(&a->unix_l, fd, 0, 32, 32, NULL,
		    NULL);
		if (a->unix_l.mhd == NULL) {
			log_warnx("cannot start the API server on %s",
			    d->cfg.socket);
			close(fd);
			unlink(a->path);
		} else
			a->unix_l.fd = MHD_get_daemon_info(a->unix_l.mhd,
			    MHD_DAEMON_INFO_EPOLL_FD)->epoll_fd;
	}
	if (a->unix_l.mhd == NULL)
		log_warnx("continuing without the control socket");
	if (d->cfg.web.enabled && web_start(a, &d->cfg.web) == -1)
		return -1;
	return 0;
}

void
api_reload(struct pkd *d, const struct config_web *old)
{
	const struct config_web *w = &d->cfg.web;
	struct api *a = d->api;

	if (a == NULL)
		return;
	if (w->enabled != old->enabled || strcmp(w->listen, old->listen) != 0 ||
	    strcmp(w->tls_cert, old->tls_cert) != 0 ||
	    strcmp(w->tls_key, old->tls_key) != 0)
		log_warnx("web: listen and TLS changes take effect at the "
		    "next start");
	if (a->web_l.mhd != NULL && web_settings(a, w) == -1)
		log_warnx("web: keeping the previous passwords and hosts");
}

static void
api_resume_all(struct api *a)
{
	struct sse *s;

	for (s = a->sse; s != NULL; s = s->next) {
		if (s->suspended) {
			s->suspended = false;
			MHD_resume_connection(s->c);
		}
	}
}

void
api_stop(struct pkd *d)
{
	struct api *a = d->api;
	struct auth_slot *s;
	struct req *q;
	int64_t now = mono_ms();
	size_t k;
	int i;

	if (a == NULL)
		return;
	/*
	 * Streams end, and a waiting diagnosis and requests waiting for
	 * their password check are told why.  The threads get a moment to
	 * end, so that nothing is left running as the daemon exits.
	 */
	a->stopping = true;
	if (a->doc != NULL)
		a->doc->stop = 1;
	if (a->doc_job != NULL)
		job_wait(a->doc_job, now + 3000);
	for (k = 0; k < AUTH_MAX; k++)
		if (a->auth[k].job != NULL)
			job_wait(a->auth[k].job, now + AUTH_STOP_MS);
	/* A change saved meanwhile is answered; the waiting are refused. */
	forwards_stop(&d->fw, now + SAVE_STOP_MS);
	if (a->doc_conn != NULL)
		MHD_resume_connection(a->doc_conn);
	for (k = 0; k < AUTH_MAX; k++)
		for (q = a->auth[k].waiters; q != NULL; q = q->slot_next)
			MHD_resume_connection(q->c);
	api_resume_all(a);
	for (i = 0; i < 3; i++) {
		if (a->unix_l.mhd != NULL)
			MHD_run(a->unix_l.mhd);
		if (a->web_l.mhd != NULL)
			MHD_run(a->web_l.mhd);
	}
	if (a->unix_l.mhd != NULL) {
		MHD_stop_daemon(a->unix_l.mhd);
		unlink(a->path);
	}
	if (a->web_l.mhd != NULL)
		MHD_stop_daemon(a->web_l.mhd);
	if (a->doc_job != NULL)
		job_release(a->doc_job);
	/* A thread that overran is abandoned: it frees its own at the end. */
	for (k = 0; k < AUTH_MAX; k++) {
		s = &a->auth[k];
		if (s->job != NULL)
			auth_slot_clear(a, s);
	}
	if (a->auth_ep != -1)
		close(a->auth_ep);
	htpasswd_free(a->pw);
	free(a->tls_cert);
	free(a->tls_key);
	free(a);
	d->api = NULL;
}

int
api_fds(struct pkd *d, int *fds, int max)
{
	struct api *a = d->api;
	int n = 0;

	if (a == NULL)
		return 0;
	if (a->unix_l.fd != -1 && n < max)
		fds[n++] = a->unix_l.fd;
	if (a->web_l.fd != -1 && n < max)
		fds[n++] = a->web_l.fd;
	if (a->doc_job != NULL && n < max)
		fds[n++] = job_fd(a->doc_job);
	/* One descriptor for every password check in flight. */
	if (a->nauth > 0 && n < max)
		fds[n++] = a->auth_ep;
	return n;
}

int64_t
api_deadline(struct pkd *d, int64_t now)
{
	struct api *a = d->api;
	MHD_UNSIGNED_LONG_LONG to;
	int64_t next = INT64_MAX, t;
	struct sse *s;

	if (a == NULL)
		return next;
	if (a->unix_l.mhd != NULL && MHD_get_timeout(a->unix_l.mhd, &to) ==
	    MHD_YES && now + (int64_t)to < next)
		next = now + (int64_t)to;
	if (a->web_l.mhd != NULL && MHD_get_timeout(a->web_l.mhd, &to) ==
	    MHD_YES && now + (int64_t)to < next)
		next = now + (int64_t)to;
	for (s = a->sse; s != NULL; s = s->next)
		if (s->suspended && (t = sse_deadline(s)) < next)
			next = t;
	return next;
}

void
api_run(struct pkd *d, int64_t now)
{
	struct api *a = d->api;
	struct sse *s;

	if (a == NULL)
		return;
	if (a->doc_job != NULL && a->doc_conn != NULL &&
	    job_done(a->doc_job))
		MHD_resume_connection(a->doc_conn);
	else if (a->doc_job != NULL && a->doc_conn == NULL &&
	    job_done(a->doc_job)) {
		/* Its client left; nobody wants the report. */
		job_release(a->doc_job);
		a->doc_job = NULL;
		a->doc = NULL;
	}
	if (a->nauth > 0)
		auth_reap(a, now);
	for (s = a->sse; s != NULL; s = s->next) {
		if (s->suspended && sse_due(s, now)) {
			s->suspended = false;
			MHD_resume_connection(s->c);
		}
	}
	if (a->unix_l.mhd != NULL)
		MHD_run(a->unix_l.mhd);
	if (a->web_l.mhd != NULL)
		MHD_run(a->web_l.mhd);
	trim_memory(a);
}
