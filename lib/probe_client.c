/*
 * The probe's client: a blocking HTTP/1.0 exchange with the probe server,
 * with a deadline, meant to run on a job (job.h).  See probe.h for the
 * exchange.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "probe.h"
#include "util.h"

#ifndef PK_VERSION
#define PK_VERSION "0.1.0"
#endif

#define PROBE_ANSWER_MAX	8192	/* bytes of an answer the client reads */

int
probe_answer_parse(const char *buf, size_t len, const char *url,
    struct probe_answer *a, struct pm_error *err)
{
	const char *body, *hend;
	char first[48], msg[200];
	unsigned status;
	cJSON *root = NULL, *j;
	struct in6_addr a6;
	int rc = -1;

	memset(a, 0, sizeof(*a));
	{
		size_t n = strcspn(buf, "\r\n");

		if (n >= sizeof(first))
			n = sizeof(first) - 1;
		memcpy(first, buf, n);
		first[n] = '\0';
		str_printable(first, sizeof(first), first);
	}
	if (len < 12 || strncmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ' ||
	    sscanf(buf + 9, "%3u", &status) != 1) {
		pmerr_set(err, PME_BAD_REPLY, 0, "the server at %s is not a "
		    "portkeeper probe server: it answered \"%s\"", url, first);
		return -1;
	}
	if ((hend = strstr(buf, "\r\n\r\n")) != NULL)
		body = hend + 4;
	else if ((hend = strstr(buf, "\n\n")) != NULL)
		body = hend + 2;
	else {
		pmerr_set(err, PME_BAD_REPLY, 0, "the probe server at %s sent "
		    "an incomplete answer", url);
		return -1;
	}
	root = cJSON_ParseWithLength(body, len - (size_t)(body - buf));
	if (root == NULL || !cJSON_IsObject(root)) {
		pmerr_set(err, PME_BAD_REPLY, 0, "the server at %s is not a "
		    "portkeeper probe server: it answered \"%s\" without JSON",
		    url, first);
		goto out;
	}
	if (status != 200) {
		j = cJSON_GetObjectItemCaseSensitive(root, "error");
		str_printable(msg, sizeof(msg), cJSON_IsString(j) ?
		    j->valuestring : first);
		if (status == 429)
			pmerr_set(err, PME_REFUSED, status, "the probe server at "
			    "%s turned the request down: %s", url, msg);
		else
			pmerr_set(err, PME_REFUSED, status, "the probe server at "
			    "%s refused the request (HTTP %u): %s", url, status,
			    msg);
		goto out;
	}
	j = cJSON_GetObjectItemCaseSensitive(root, "reachable");
	if (!cJSON_IsBool(j))
		goto bad;
	a->reachable = cJSON_IsTrue(j);
	j = cJSON_GetObjectItemCaseSensitive(root, "source_seen");
	if (!cJSON_IsString(j) || strlen(j->valuestring) >= PROBE_ADDR_MAX ||
	    inet_pton(strchr(j->valuestring, ':') != NULL ? AF_INET6 : AF_INET,
	    j->valuestring, &a6) != 1)
		goto bad;
	str_copy(a->source_seen, j->valuestring, sizeof(a->source_seen));
	j = cJSON_GetObjectItemCaseSensitive(root, "token_echoed");
	a->token_echoed = cJSON_IsTrue(j);
	j = cJSON_GetObjectItemCaseSensitive(root, "detail");
	if (cJSON_IsString(j))
		str_printable(a->detail, sizeof(a->detail), j->valuestring);
	rc = 0;
	goto out;
bad:
	pmerr_set(err, PME_BAD_REPLY, 0, "the probe server at %s answered "
	    "without \"reachable\" or a valid \"source_seen\"", url);
out:
	cJSON_Delete(root);
	return rc;
}

/*
 * The exchange on s, a fresh non-blocking socket of sa's family (bound to
 * the source address when the caller wants one): connect, the request,
 * the answer.  Closes s.  Returns as probe_ask.
 */
static int
probe_exchange(int s, const struct sockaddr *sa, socklen_t salen,
    const struct probe_url *u, uint16_t port, enum pm_proto proto,
    const char *token, int64_t deadline, struct probe_answer *a,
    struct pm_error *err)
{
	char body[160], req[768], hostport[300], *resp = NULL;
	int64_t t0 = mono_ms();
	ssize_t n;
	int e, rc = -1;

	if (probe_connect_until(s, sa, salen, deadline) == -1) {
		e = errno;
		if (e == ETIMEDOUT)
			pmerr_set(err, PME_TIMEOUT, 0, "the probe server at %s "
			    "did not answer within %d ms", u->text,
			    (int)(mono_ms() - t0));
		else
			pmerr_set(err, PME_NETWORK, 0, "cannot reach the probe "
			    "server at %s: %s%s", u->text, strerror(e),
			    e == ECONNREFUSED ? " (is portkeeper probe-server "
			    "running there, on that port?)" : "");
		goto out;
	}
	if (token != NULL && token[0] != '\0')
		snprintf(body, sizeof(body), "{\"port\":%u,\"protocol\":\"%s\","
		    "\"token\":\"%s\"}", port, portspec_proto_str(proto), token);
	else
		snprintf(body, sizeof(body), "{\"port\":%u,\"protocol\":\"%s\"}",
		    port, portspec_proto_str(proto));
	/* RFC 7230 section 5.4: an IPv6 literal keeps its brackets in Host. */
	snprintf(hostport, sizeof(hostport), "%s%s%s", u->host_v6 ? "[" : "",
	    u->host, u->host_v6 ? "]" : "");
	if (u->port != 80)
		snprintf(hostport + strlen(hostport), sizeof(hostport) -
		    strlen(hostport), ":%u", u->port);
	n = snprintf(req, sizeof(req), "POST %s HTTP/1.0\r\nHost: %s\r\n"
	    "User-Agent: portkeeper/%s\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", u->path,
	    hostport, PK_VERSION, strlen(body), body);
	if (n < 0 || (size_t)n >= sizeof(req) ||
	    probe_send_until(s, req, (size_t)n, deadline) == -1) {
		pmerr_set(err, PME_NETWORK, 0, "cannot send to the probe server "
		    "at %s: %s", u->text, strerror(errno));
		goto out;
	}
	if ((resp = malloc(PROBE_ANSWER_MAX + 1)) == NULL) {
		pmerr_set(err, PME_INTERNAL, 0, "out of memory");
		goto out;
	}
	if ((n = probe_read_until(s, resp, PROBE_ANSWER_MAX + 1, false, deadline)) <=
	    0) {
		if (n == -1 && errno == ETIMEDOUT)
			pmerr_set(err, PME_TIMEOUT, 0, "the probe server at %s "
			    "did not answer within %d ms", u->text,
			    (int)(mono_ms() - t0));
		else
			pmerr_set(err, PME_BAD_REPLY, 0, "the probe server at %s "
			    "closed the connection without an answer", u->text);
		goto out;
	}
	rc = probe_answer_parse(resp, (size_t)n, u->text, a, err);
	a->elapsed_ms = (int)(mono_ms() - t0);
out:
	free(resp);
	close(s);
	return rc;
}

int
probe_ask(const struct probe_url *u, uint16_t port, enum pm_proto proto,
    const char *token, int64_t deadline, struct probe_answer *a,
    struct pm_error *err)
{
	struct sockaddr_in sin;
	int s, e;

	memset(a, 0, sizeof(*a));
	if (u->host_v6) {
		pmerr_set(err, PME_USAGE, 0, "the probe URL %s names an IPv6 "
		    "address, but port forwarding is IPv4: give the probe "
		    "server's IPv4 address, or a name that has one", u->text);
		return -1;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(u->port);
	if (inet_pton(AF_INET, u->host, &sin.sin_addr) != 1) {
		struct addrinfo hints, *res = NULL;

		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_INET;
		hints.ai_socktype = SOCK_STREAM;
		if ((e = getaddrinfo(u->host, NULL, &hints, &res)) != 0 ||
		    res == NULL) {
			pmerr_set(err, PME_NETWORK, 0, "cannot find the IPv4 "
			    "address of the probe server %s: %s", u->host,
			    gai_strerror(e));
			return -1;
		}
		sin.sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
		freeaddrinfo(res);
	}
	if ((s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		pmerr_set(err, PME_NETWORK, 0, "socket: %s", strerror(errno));
		return -1;
	}
	return probe_exchange(s, (struct sockaddr *)&sin, sizeof(sin), u, port,
	    proto, token, deadline, a, err);
}

int
probe_ask6(const struct probe_url *u, const struct in6_addr *src,
    uint16_t port, enum pm_proto proto, const char *token, int64_t deadline,
    struct probe_answer *a, struct pm_error *err)
{
	struct sockaddr_in6 sin6, from;
	int s, e;

	memset(a, 0, sizeof(*a));
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(u->port);
	if (inet_pton(AF_INET6, u->host, &sin6.sin6_addr) != 1) {
		struct addrinfo hints, *res = NULL;

		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_INET6;
		hints.ai_socktype = SOCK_STREAM;
		if ((e = getaddrinfo(u->host, NULL, &hints, &res)) != 0 ||
		    res == NULL) {
			pmerr_set(err, PME_NETWORK, 0, "cannot find the IPv6 "
			    "address of the probe server %s: %s", u->host,
			    e == 0 ? "none" : gai_strerror(e));
			return -1;
		}
		sin6.sin6_addr =
		    ((struct sockaddr_in6 *)res->ai_addr)->sin6_addr;
		freeaddrinfo(res);
	}
	if ((s = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		pmerr_set(err, PME_NETWORK, 0, "socket: %s", strerror(errno));
		return -1;
	}
	memset(&from, 0, sizeof(from));
	from.sin6_family = AF_INET6;
	from.sin6_addr = *src;
	if (bind(s, (struct sockaddr *)&from, sizeof(from)) == -1) {
		e = errno;
		pmerr_set(err, PME_NETWORK, 0, "cannot send from this host's "
		    "address to the probe server: bind: %s", strerror(e));
		close(s);
		return -1;
	}
	return probe_exchange(s, (struct sockaddr *)&sin6, sizeof(sin6), u,
	    port, proto, token, deadline, a, err);
}
