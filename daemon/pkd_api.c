/*
 * The control API: JSON over HTTP on a Unix socket, served by libmicrohttpd
 * inside the daemon's own poll loop (external event loop mode with epoll, so
 * that one descriptor stands for every connection).  Read-only for now; the
 * web UI issue puts the same handlers on TCP and adds the writes.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cjson/cJSON.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "pkd.h"
#include "util.h"

static const char *
fwd_state_str(enum fwd_state s)
{
	switch (s) {
	case FWD_ACTIVE:	return "active";
	case FWD_FAILED:	return "failed";
	case FWD_PENDING:	break;
	}
	return "pending";
}

static void
add_str_or_null(cJSON *o, const char *k, const char *v)
{
	if (v != NULL && v[0] != '\0')
		cJSON_AddStringToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

char *
api_status_json(struct pkd *d)
{
	cJSON *o = cJSON_CreateObject(), *a, *g, *x;
	int64_t now = mono_ms();
	const char *ext = d->st.nhist > 0 ? d->st.hist[d->st.nhist - 1].ip :
	    NULL;
	size_t i;
	char *s;

	add_str_or_null(o, "internal_ip", d->ni_ok ? d->ni.internal_str :
	    NULL);
	add_str_or_null(o, "external_ip", d->info_ok ? d->info.external_ip :
	    ext);
	a = cJSON_AddArrayToObject(o, "external_ip_history");
	for (i = 0; i < d->st.nhist; i++) {
		x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "ip", d->st.hist[i].ip);
		cJSON_AddNumberToObject(x, "first_seen",
		    (double)d->st.hist[i].first_seen);
		cJSON_AddNumberToObject(x, "last_seen",
		    (double)d->st.hist[i].last_seen);
		cJSON_AddItemToArray(a, x);
	}

	g = cJSON_AddObjectToObject(o, "gateway");
	add_str_or_null(g, "address", d->ni_ok ? d->ni.gateway_str : NULL);
	add_str_or_null(g, "interface", d->ni_ok ? d->ni.ifname : NULL);
	add_str_or_null(g, "method", d->info_ok && d->info.method != PM_AUTO ?
	    method_str(d->info.method) : NULL);
	add_str_or_null(g, "error", d->gw_error);
	x = cJSON_AddObjectToObject(g, "upnp");
	cJSON_AddBoolToObject(x, "found", d->info_ok && d->info.upnp_found);
	add_str_or_null(x, "control_url", d->info_ok && d->info.upnp_found ?
	    d->info.control_url : NULL);
	cJSON_AddBoolToObject(x, "connected", d->info_ok &&
	    d->info.upnp_connected);
	x = cJSON_AddObjectToObject(g, "natpmp");
	cJSON_AddBoolToObject(x, "found", d->info_ok && d->info.natpmp_found);
	if (d->info_ok && d->info.natpmp_found)
		cJSON_AddNumberToObject(x, "epoch", d->info.epoch);
	else
		cJSON_AddNullToObject(x, "epoch");
	if (d->info_time != 0)
		cJSON_AddNumberToObject(g, "last_seen", (double)d->info_time);
	else
		cJSON_AddNullToObject(g, "last_seen");

	a = cJSON_AddArrayToObject(o, "forwards");
	for (i = 0; i < d->nfwd; i++) {
		const struct fwd *f = &d->fwd[i];

		x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "name", f->cfg.name);
		cJSON_AddStringToObject(x, "protocol", proto_str(f->cfg.proto));
		cJSON_AddNumberToObject(x, "external_port", f->cfg.ext);
		cJSON_AddNumberToObject(x, "internal_port", f->cfg.in);
		add_str_or_null(x, "method", f->made ? method_str(f->method) :
		    NULL);
		cJSON_AddStringToObject(x, "state", fwd_state_str(f->state));
		if (f->made && f->expires_at != 0)
			cJSON_AddNumberToObject(x, "expires_in",
			    (double)((f->expires_at - now) > 0 ?
			    (f->expires_at - now) / 1000 : 0));
		else
			cJSON_AddNullToObject(x, "expires_in");
		if (f->last_refresh != 0)
			cJSON_AddNumberToObject(x, "last_refresh",
			    (double)f->last_refresh);
		else
			cJSON_AddNullToObject(x, "last_refresh");
		add_str_or_null(x, "error", f->error);
		cJSON_AddItemToArray(a, x);
	}

	a = cJSON_AddArrayToObject(o, "events");
	for (i = 0; i < eventlog_count(&d->ev); i++) {
		const struct event *e = eventlog_get(&d->ev, i);

		x = cJSON_CreateObject();
		cJSON_AddNumberToObject(x, "seq", (double)e->seq);
		cJSON_AddNumberToObject(x, "time", (double)e->time);
		cJSON_AddStringToObject(x, "event", event_type_str(e->type));
		add_str_or_null(x, "forward", e->forward);
		cJSON_AddStringToObject(x, "detail", e->detail);
		cJSON_AddItemToArray(a, x);
	}
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned int status, char *body,
    const char *allow)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(body), body,
	    MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (allow != NULL)
		MHD_add_response_header(r, "Allow", allow);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
reply_error(struct MHD_Connection *c, unsigned int status, const char *code,
    const char *msg, const char *allow)
{
	cJSON *o = cJSON_CreateObject(), *e;
	char *s;

	e = cJSON_AddObjectToObject(o, "error");
	cJSON_AddStringToObject(e, "code", code);
	cJSON_AddStringToObject(e, "message", msg);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (s == NULL)
		return MHD_NO;
	return reply(c, status, s, allow);
}

static enum MHD_Result
api_handler(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct pkd *d = cls;
	static int marker;
	char *s;

	(void)version;
	(void)upload_data;
	/* The first call only announces the request; bodies are not read. */
	if (*con_cls == NULL) {
		*con_cls = &marker;
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "method_not_allowed", "this API is read-only for now",
		    "GET, HEAD");
	if (strcmp(url, "/api/status") == 0) {
		if ((s = api_status_json(d)) == NULL)
			return MHD_NO;
		return reply(c, MHD_HTTP_OK, s, NULL);
	}
	if (strcmp(url, "/api/health") == 0) {
		s = strdup("{\"ok\":true}");
		return s != NULL ? reply(c, MHD_HTTP_OK, s, NULL) : MHD_NO;
	}
	return reply_error(c, MHD_HTTP_NOT_FOUND, "not_found",
	    "no such resource", NULL);
}

int
api_start(struct pkd *d, const char *path)
{
	struct sockaddr_un sun;
	struct stat sb;
	int fd;

	d->api_fd = -1;
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
	/* libmicrohttpd's defaults are no timeout and no limits: set them. */
	d->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL,
	    NULL, api_handler, d,
	    MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)32,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
	    MHD_OPTION_END);
	if (d->mhd == NULL) {
		log_warnx("cannot start the API server on %s", path);
		close(fd);
		unlink(path);
		return -1;
	}
	str_copy(d->api_path, path, sizeof(d->api_path));
	d->api_fd = MHD_get_daemon_info(d->mhd,
	    MHD_DAEMON_INFO_EPOLL_FD)->epoll_fd;
	return 0;
}

void
api_stop(struct pkd *d)
{
	if (d->mhd != NULL) {
		MHD_stop_daemon(d->mhd);
		d->mhd = NULL;
		unlink(d->api_path);
	}
	d->api_fd = -1;
}
