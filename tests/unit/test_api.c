/*
 * The web API's core, route by route, without a socket: each route's
 * success and a refusal, through api_check and api_handle as the HTTP
 * layer calls them.  Writes of forwards are saved to a temporary state
 * directory on forwards.c's thread, as in the daemon.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "http_auth.h"
#include "util.h"

struct fixture {
	char			 dir[64];
	struct config		 cfg;
	struct config_forward	 cfwd[1];
	struct state		 st;
	struct forwards		 fw;
	struct status		 status;
	struct api		*api;
};

/* A request's headers, as "Name", "value" pairs ending in NULL. */
struct call {
	const char		*const *headers;
	bool			 woken;
};

static const char *
header(void *ctx, const char *name)
{
	struct call *k = ctx;
	size_t i;

	for (i = 0; k->headers != NULL && k->headers[i] != NULL; i += 2)
		if (strcasecmp(k->headers[i], name) == 0)
			return k->headers[i + 1];
	return NULL;
}

static void
wake(void *ctx)
{
	((struct call *)ctx)->woken = true;
}

/* Waits for fd, then lets forwards.c and the core run. */
static void
run_until_woken(struct fixture *x, struct call *k)
{
	struct pollfd pfd;
	int i, fd;

	for (i = 0; i < 600 && !k->woken; i++) {
		fd = forwards_fd(&x->fw) != -1 ? forwards_fd(&x->fw) :
		    api_fd(x->api);
		if (fd != -1) {
			pfd.fd = fd;
			pfd.events = POLLIN;
			poll(&pfd, 1, 100);
		}
		if (forwards_run(&x->fw) > 0)
			x->status.gen++;
		api_run(x->api);
	}
	assert_true(k->woken);
}

/*
 * One request through the core: its status, with the response in *r
 * (freed by the caller with api_response_free).
 */
static unsigned
call(struct fixture *x, const char *method, const char *url,
    const char *body, const char *const *headers, bool web,
    struct api_response *r)
{
	struct api_request q;
	struct call k;
	enum api_rc rc;

	memset(&q, 0, sizeof(q));
	memset(&k, 0, sizeof(k));
	memset(r, 0, sizeof(*r));
	k.headers = headers;
	q.method = method;
	q.url = url;
	q.web = web;
	q.header = header;
	q.wake = wake;
	q.ctx = &k;
	if (body != NULL) {
		q.body = strdup(body);
		q.len = strlen(body);
	}
	rc = api_check(x->api, &q, r);
	if (rc == API_GO_ON)
		rc = api_handle(x->api, &q, r);
	while (rc == API_WAIT) {
		run_until_woken(x, &k);
		k.woken = false;
		rc = api_handle(x->api, &q, r);
	}
	api_request_done(x->api, &q);
	free(q.body);
	assert_int_equal(rc, API_ANSWER);
	return r->status;
}

/* The body of r as a string (JSON answers end in none). */
static const char *
text(const struct api_response *r)
{
	return r->body != NULL ? r->body : "";
}

static int
setup(void **state)
{
	struct fixture *x = calloc(1, sizeof(*x));

	assert_non_null(x);
	snprintf(x->dir, sizeof(x->dir), "/tmp/test_api.XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	config_init(&x->cfg);
	str_copy(x->cfg.path, "/etc/portkeeper/portkeeper.conf",
	    sizeof(x->cfg.path));
	str_copy(x->cfg.state_dir, x->dir, sizeof(x->cfg.state_dir));
	str_copy(x->cfg.probe, "http://127.0.0.1:9/", sizeof(x->cfg.probe));
	str_copy(x->cfwd[0].name, "ssh", sizeof(x->cfwd[0].name));
	x->cfwd[0].ext = 2222;
	x->cfwd[0].in = 22;
	x->cfwd[0].proto = PM_TCP;
	x->cfwd[0].line = 7;
	x->cfg.fwd = x->cfwd;
	x->cfg.nfwd = 1;
	state_init(&x->st);
	forwards_init(&x->fw, &x->cfg, &x->st);
	assert_int_equal(forwards_load(&x->fw), 0);
	status_init(&x->status, &x->fw, &x->st);
	assert_non_null(x->api = api_new(&x->cfg, &x->fw, &x->status));
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *x = *state;
	char path[128];

	api_stop(x->api, mono_ms() + 5000);
	api_free(x->api);
	forwards_free(&x->fw);
	status_free(&x->status);
	state_free(&x->st);
	snprintf(path, sizeof(path), "%s/%s", x->dir, FORWARDS_FILE);
	unlink(path);
	rmdir(x->dir);
	free(x);
	return 0;
}

static void
test_health(void **state)
{
	struct fixture *x = *state;
	struct api_response r;

	assert_int_equal(call(x, "GET", "/api/health", NULL, NULL, false, &r),
	    200);
	assert_string_equal(text(&r), "{\"ok\":true}");
	assert_string_equal(r.type, "application/json");
	assert_string_equal(r.cache, "no-store");
	api_response_free(&r);
	assert_int_equal(call(x, "POST", "/api/health", "{}", NULL, false,
	    &r), 405);
	assert_string_equal(r.hname, "Allow");
	assert_string_equal(r.hvalue, "GET, HEAD, OPTIONS");
	assert_non_null(strstr(text(&r), "\"method_not_allowed\""));
	api_response_free(&r);
}

static void
test_status(void **state)
{
	struct fixture *x = *state;
	struct api_response r;

	assert_int_equal(call(x, "GET", "/api/status", NULL, NULL, false, &r),
	    200);
	assert_non_null(strstr(text(&r), "\"forwards\":[{\"name\":\"ssh\""));
	assert_non_null(strstr(text(&r), "\"source\":\"config\""));
	api_response_free(&r);
	assert_int_equal(call(x, "DELETE", "/api/status", NULL, NULL, false,
	    &r), 405);
	api_response_free(&r);
}

/*
 * The router of the last round in the status document, its quirks kept
 * while it is the same router, and a forward granted for good.
 */
static void
test_status_router(void **state)
{
	struct fixture *x = *state;
	struct portmap_info in;
	struct fwd *f = &x->fw.fwd[0];
	cJSON *doc, *rt, *fj;
	char *j;

	/* No round yet: no router. */
	assert_non_null(j = status_json(&x->status));
	assert_non_null(strstr(j, "\"router\":null"));
	free(j);

	memset(&in, 0, sizeof(in));
	in.method = PM_UPNP;
	in.upnp_found = true;
	str_copy(in.upnp_location, "http://192.168.178.1:49000/igddesc.xml",
	    sizeof(in.upnp_location));
	str_copy(in.router_manufacturer, "AVM Berlin",
	    sizeof(in.router_manufacturer));
	str_copy(in.router_model, "FRITZ!Box 7590", sizeof(in.router_model));
	str_copy(in.upnp_service,
	    "urn:schemas-upnp-org:service:WANIPConnection:1",
	    sizeof(in.upnp_service));
	status_set_info(&x->status, &in);
	/* A forward's making met the router's refusal of a lease. */
	x->status.info.quirks |= PMQ_PERMANENT_ONLY;
	f->made = true;
	f->state = FWD_ACTIVE;
	f->lease = 0;
	f->expires_at = 0;

	/* The next round's discovery does not see it, and keeps it. */
	status_set_info(&x->status, &in);
	assert_non_null(j = status_json(&x->status));
	assert_non_null(doc = cJSON_Parse(j));
	free(j);
	rt = cJSON_GetObjectItemCaseSensitive(doc, "router");
	assert_true(cJSON_IsObject(rt));
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(rt,
	    "label")->valuestring, "AVM FRITZ!Box 7590");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(rt,
	    "service")->valuestring,
	    "urn:schemas-upnp-org:service:WANIPConnection:1");
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
	    rt, "quirks"), 0)->valuestring, "permanent_only");
	assert_non_null(strstr(cJSON_GetArrayItem(
	    cJSON_GetObjectItemCaseSensitive(rt, "notes"), 0)->valuestring,
	    "only grants permanent forwards"));
	fj = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc,
	    "forwards"), 0);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(fj,
	    "permanent")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(fj,
	    "expires_in")));
	cJSON_Delete(doc);

	/* Another router: what was learnt of the first one goes. */
	str_copy(in.upnp_location, "http://192.168.1.1:5000/rootDesc.xml",
	    sizeof(in.upnp_location));
	status_set_info(&x->status, &in);
	assert_int_equal(x->status.info.quirks, 0);
	/* A forward with a lease is not permanent. */
	f->lease = 3600;
	f->expires_at = mono_ms() + 3600000;
	fj = status_forward_json(f, mono_ms());
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(fj,
	    "permanent")));
	cJSON_Delete(fj);
	f->made = false;
	f->state = FWD_PENDING;
	f->lease = 0;
	f->expires_at = 0;
}

static void
test_forwards(void **state)
{
	static const char *const json[] = {
		"Content-Type", "application/json", NULL
	};
	static const char *const form[] = {
		"Content-Type", "application/x-www-form-urlencoded", NULL
	};
	struct fixture *x = *state;
	struct api_response r;

	assert_int_equal(call(x, "GET", "/api/forwards", NULL, NULL, false,
	    &r), 200);
	assert_non_null(strstr(text(&r), "{\"forwards\":[{\"name\":\"ssh\""));
	api_response_free(&r);
	/* Added: saved on a thread, answered once on disk. */
	assert_int_equal(call(x, "POST", "/api/forwards", "{\"name\":\"web\","
	    "\"external\":8080,\"internal\":80}", json, false, &r), 201);
	assert_string_equal(r.hname, "Location");
	assert_string_equal(r.hvalue, "/api/forwards/web");
	assert_non_null(strstr(text(&r), "\"source\":\"web\""));
	api_response_free(&r);
	assert_non_null(forwards_find(&x->fw, "web"));
	assert_int_equal(x->fw.nweb, 1);
	/* Refusals: the same again, a bad body, a form. */
	assert_int_equal(call(x, "POST", "/api/forwards", "{\"name\":\"web\","
	    "\"external\":8081}", json, false, &r), 409);
	assert_non_null(strstr(text(&r), "\"conflict\""));
	api_response_free(&r);
	assert_int_equal(call(x, "POST", "/api/forwards", "{\"name\":", json,
	    false, &r), 400);
	assert_non_null(strstr(text(&r), "\"bad_json\""));
	api_response_free(&r);
	assert_int_equal(call(x, "POST", "/api/forwards", "{}", form, false,
	    &r), 415);
	api_response_free(&r);
	assert_int_equal(call(x, "PUT", "/api/forwards", "{}", json, false,
	    &r), 405);
	assert_string_equal(r.hvalue, "GET, HEAD, POST, OPTIONS");
	api_response_free(&r);
}

static void
test_forward(void **state)
{
	static const char *const json[] = {
		"Content-Type", "application/json", NULL
	};
	struct fixture *x = *state;
	struct api_response r;

	assert_int_equal(call(x, "GET", "/api/forwards/ssh", NULL, NULL,
	    false, &r), 200);
	assert_non_null(strstr(text(&r), "\"external_port\":2222"));
	api_response_free(&r);
	assert_int_equal(call(x, "GET", "/api/forwards/nope", NULL, NULL,
	    false, &r), 404);
	assert_non_null(strstr(text(&r), "there is no forward named"));
	api_response_free(&r);
	/* portkeeper.conf's forwards are not the API's to remove. */
	assert_int_equal(call(x, "DELETE", "/api/forwards/ssh", NULL, NULL,
	    false, &r), 409);
	assert_non_null(strstr(text(&r), "\"read_only\""));
	api_response_free(&r);
	assert_int_equal(call(x, "POST", "/api/forwards", "{\"name\":\"dns\","
	    "\"external\":5353,\"protocol\":\"udp\"}", json, false, &r), 201);
	api_response_free(&r);
	assert_int_equal(call(x, "DELETE", "/api/forwards/dns", NULL, NULL,
	    false, &r), 204);
	assert_null(r.body);
	assert_null(forwards_find(&x->fw, "dns"));
	assert_int_equal(call(x, "DELETE", "/api/forwards/dns", NULL, NULL,
	    false, &r), 404);
	api_response_free(&r);
	/* A name that cannot exist names no resource. */
	assert_int_equal(call(x, "GET", "/api/forwards/a%2Fb", NULL, NULL,
	    false, &r), 404);
	assert_non_null(strstr(text(&r), "no such resource"));
	api_response_free(&r);
}

static void
test_doctor(void **state)
{
	static const char *const json[] = {
		"Content-Type", "application/json", NULL
	};
	struct fixture *x = *state;
	struct api_response r;

	assert_int_equal(call(x, "POST", "/api/doctor", "{\"port\":0}", json,
	    false, &r), 400);
	assert_non_null(strstr(text(&r), "\"bad_field\""));
	api_response_free(&r);
	assert_int_equal(call(x, "GET", "/api/doctor", NULL, NULL, false, &r),
	    405);
	assert_string_equal(r.hvalue, "POST, OPTIONS");
	api_response_free(&r);
	/* Run on a thread; whatever the network, a report comes. */
	assert_int_equal(call(x, "POST", "/api/doctor", "{\"port\":2222}",
	    json, false, &r), 200);
	assert_non_null(strstr(text(&r), "\"verdict\""));
	api_response_free(&r);
}

static void
test_events_metrics(void **state)
{
	struct fixture *x = *state;
	struct api_response r;

	assert_int_equal(call(x, "GET", "/api/events", NULL, NULL, false, &r),
	    200);
	assert_true(r.stream);
	assert_string_equal(r.type, "text/event-stream");
	assert_int_equal(call(x, "HEAD", "/api/events", NULL, NULL, false,
	    &r), 200);
	assert_false(r.stream);
	assert_int_equal(call(x, "POST", "/api/events", "{}", NULL, false,
	    &r), 405);
	api_response_free(&r);
	assert_int_equal(call(x, "GET", "/metrics", NULL, NULL, false, &r),
	    200);
	assert_string_equal(r.type, "text/plain; version=0.0.4; "
	    "charset=utf-8");
	assert_non_null(strstr(text(&r), "portkeeper_forward_up{forward="
	    "\"ssh\",protocol=\"tcp\",external_port=\"2222\"} 0\n"));
	api_response_free(&r);
	assert_int_equal(call(x, "DELETE", "/metrics", NULL, NULL, false, &r),
	    405);
	api_response_free(&r);
}

static void
test_assets(void **state)
{
	struct fixture *x = *state;
	const char *inm[] = { "If-None-Match", NULL, NULL };
	struct api_response r;

	assert_int_equal(call(x, "GET", "/", NULL, NULL, false, &r), 200);
	assert_non_null(r.data);
	assert_true(r.len > 0);
	assert_non_null(r.etag);
	assert_string_equal(r.cache, "no-cache");
	inm[1] = r.etag;
	assert_int_equal(call(x, "GET", "/index.html", NULL, inm, false, &r),
	    304);
	assert_int_equal(r.len, 0);
	assert_int_equal(call(x, "GET", "/nope.html", NULL, NULL, false, &r),
	    404);
	api_response_free(&r);
	assert_int_equal(call(x, "OPTIONS", "/api/forwards/ssh", NULL, NULL,
	    false, &r), 204);
	assert_string_equal(r.hname, "Allow");
	assert_string_equal(r.hvalue, "GET, HEAD, DELETE, OPTIONS");
}

/* From the LAN, a write must come from the server's own page. */
static void
test_web_writes(void **state)
{
	static const char *const cross[] = {
		"Content-Type", "application/json",
		"Host", "192.168.1.10:8080",
		"Origin", "http://evil.example",
		NULL
	};
	static const char *const same[] = {
		"Content-Type", "application/json",
		"Host", "192.168.1.10:8080",
		"Origin", "http://192.168.1.10:8080",
		NULL
	};
	static const char *const big[] = {
		"Content-Type", "application/json",
		"Content-Length", "20000",
		NULL
	};
	struct fixture *x = *state;
	struct api_response r;

	assert_int_equal(call(x, "POST", "/api/forwards", "{\"name\":\"a\","
	    "\"external\":7000}", cross, true, &r), 403);
	assert_non_null(strstr(text(&r), "\"forbidden\""));
	api_response_free(&r);
	assert_int_equal(call(x, "POST", "/api/forwards", "{\"name\":\"a\","
	    "\"external\":7000}", same, true, &r), 201);
	api_response_free(&r);
	assert_int_equal(call(x, "POST", "/api/forwards", "{}", big, false,
	    &r), 413);
	assert_non_null(strstr(text(&r), "\"too_large\""));
	api_response_free(&r);
}

/* The password comes before the API: 401 without one. */
static void
test_login(void **state)
{
	struct fixture *x = *state;
	struct config_web w;
	struct http_auth *a;
	struct http_auth_wait aw;
	struct api_response r;
	char path[128];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/htpasswd", x->dir);
	assert_non_null(fp = fopen(path, "w"));
	/* bcrypt of "secret", cost 4. */
	fputs("admin:$2y$04$wI0lZz7w0TQzZ5eJwS3QxOfWq5Jm4G5e0Jv1b3xv5xU1pDk2e"
	    "l5yW\n", fp);
	fclose(fp);
	memset(&w, 0, sizeof(w));
	str_copy(w.htpasswd, path, sizeof(w.htpasswd));
	assert_non_null(a = http_auth_new(&w));
	assert_true(http_auth_on(a));
	memset(&aw, 0, sizeof(aw));
	memset(&r, 0, sizeof(r));
	assert_int_equal(http_auth_check(a, NULL, NULL, &aw, &r), API_ANSWER);
	assert_int_equal(r.status, 401);
	assert_string_equal(r.hname, "WWW-Authenticate");
	api_response_free(&r);
	memset(&r, 0, sizeof(r));
	assert_int_equal(http_auth_host(a, "evil.example", &r), API_ANSWER);
	assert_int_equal(r.status, 421);
	api_response_free(&r);
	assert_int_equal(http_auth_host(a, "192.168.1.10", &r), API_GO_ON);
	http_auth_free(a);
	unlink(path);
}

/*
 * Issue 13: a [web] listener without passwords only reads (item 7), and
 * a 405's message quotes the method through cJSON, so that a method that
 * looks like JSON cannot add a key.
 */
static void
test_read_only_and_method(void **state)
{
	struct fixture *x = *state;
	struct api_request q;
	struct api_response r;
	struct call k;

	memset(&q, 0, sizeof(q));
	memset(&k, 0, sizeof(k));
	memset(&r, 0, sizeof(r));
	q.method = "POST";
	q.url = "/api/forwards";
	q.web = true;
	q.read_only = true;
	q.header = header;
	q.wake = wake;
	q.ctx = &k;
	assert_int_equal(api_check(x->api, &q, &r), API_ANSWER);
	assert_int_equal(r.status, 403);
	assert_non_null(strstr(text(&r), "\"read_only\""));
	api_response_free(&r);
	api_request_done(x->api, &q);
	memset(&q, 0, sizeof(q));
	q.method = "GET";
	q.url = "/api/status";
	q.web = true;
	q.read_only = true;
	q.header = header;
	q.ctx = &k;
	assert_int_equal(api_check(x->api, &q, &r), API_GO_ON);
	api_request_done(x->api, &q);

	assert_int_equal(call(x, "X\",\"code\":\"injected", "/api/status",
	    NULL, NULL, false, &r), 405);
	assert_non_null(strstr(text(&r), "{\"error\":{\"code\":"
	    "\"method_not_allowed\",\"message\":\"X\\\",\\\"code"));
	assert_null(strstr(text(&r), "\"code\":\"injected\""));
	api_response_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_health, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_router, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forwards, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forward, setup, teardown),
		cmocka_unit_test_setup_teardown(test_doctor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_metrics, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_assets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_web_writes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_login, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only_and_method,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
