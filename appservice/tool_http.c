/*
 * HTTP for tool bridges, with the guard against server-side request
 * forgery; see tool_http.h.
 *
 * A call owns one easy handle for all its hops, its header lists, the
 * response buffer and a timer.  As in hs_client, the timer is embedded in
 * the call, so the call is freed only in the timer's close callback; the
 * timer also reports failures found before curl runs, so that no callback
 * ever runs inside tool_http_request().
 *
 * The guard sits where curl opens sockets (CURLOPT_OPENSOCKETFUNCTION):
 * every address curl tries, whatever DNS answered and on every hop, is
 * checked before a socket exists.  curl may also hand a request a
 * connection from the multi handle's shared cache, opened earlier by
 * hs_client or by a tool_http client that allows more networks, without
 * opening a socket; so CURLOPT_PREREQFUNCTION, which curl calls before
 * sending each request on a new or reused connection, checks the
 * connected address again.  Proxies named by the environment are turned
 * off, because through a proxy the guard would only ever see the proxy.
 *
 * Redirects are followed here, not with CURLOPT_FOLLOWLOCATION: curl
 * would send the request's own header lines, where API keys live, to
 * whatever host a redirect names (it strips only Authorization and Cookie
 * on the way).  Here a hop to another origin (scheme, host or port) drops
 * the caller's header lines for the rest of the call.
 *
 * Header lines are never logged (API keys), and URLs are logged without
 * their query string or credentials.
 */
#include "autoconfig.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "curl_uv.h"
#include "log.h"
#include "net_ranges.h"
#include "tool_http.h"
#include "xmalloc.h"

#define TOOL_HTTP_DEFAULT_TIMEOUT_MS 30000L
#define TOOL_HTTP_CONNECT_TIMEOUT_MS 10000L
#define TOOL_HTTP_DEFAULT_MAX_RESPONSE ((size_t)16 * 1024 * 1024)
#define TOOL_HTTP_MAX_REDIRECTS 5
#define TOOL_HTTP_JSON_DEPTH 64

struct tool_http {
    uv_loop_t *loop;
    struct curl_uv *cu;
    struct net_cidr *allow;
    size_t nallow;
    char *user_agent;
    struct tool_http_call *calls;
};

struct tool_http_call {
    struct tool_http *th; /* NULL once unlinked: the client may be gone */
    CURL *easy;
    struct curl_slist *headers;     /* ours and the caller's: may hold API keys */
    struct curl_slist *own_headers; /* ours only, after a hop to another origin */
    char method[16];
    char *url;     /* the current hop's */
    char *log_url; /* the current hop's scheme://host:port/path, for the log */
    char *origin;  /* scheme://host:port of the first URL */
    const void *body;
    size_t body_len;
    long timeout_ms;
    size_t max_response;
    int follow_redirects;
    unsigned redirects;
    int headers_dropped;
    uint64_t started; /* uv_hrtime() */

    char *resp;
    size_t resp_len;
    int too_large;
    int64_t retry_after_ms;
    char *refusal; /* the guard's words, if it refused an address on this hop */
    char errbuf[CURL_ERROR_SIZE];

    enum tool_http_failure early; /* a failure found outside curl, reported by the timer */
    char *early_error;

    uv_timer_t timer;
    tool_http_cb cb;
    void *arg;
    int done; /* the callback ran, or the call was cancelled */
    int in_curl;
    struct tool_http_call *next;
    struct tool_http_call **pprev;
};

int
tool_http_new(struct curl_uv *cu, const struct tool_http_allow *allow, struct tool_http **out, char **cause)
{
    struct tool_http *th = xcalloc(1, sizeof(*th));
    size_t n = allow != NULL ? allow->n : 0;
    int rc = -1;

    *out = NULL;
    th->cu = cu;
    th->loop = curl_uv_loop(cu);
    th->user_agent = xasprintf("warroom/%s", PACKAGE_VERSION);
    if (n > 0)
        th->allow = xreallocarray(NULL, n, sizeof(*th->allow));
    for (size_t i = 0; i < n; i++) {
        if (net_ranges_parse_cidr(allow->cidrs[i], &th->allow[i], cause) != 0)
            goto out;
        th->nallow++;
    }
    *out = th;
    th = NULL;
    rc = 0;
out:
    tool_http_free(th);
    return rc;
}

int
tool_http_address_blocked(const struct tool_http *th, const char *address)
{
    struct net_addr a;

    if (net_ranges_parse_addr(address, &a) != 0)
        return 1;
    return net_ranges_refusal(th != NULL ? th->allow : NULL, th != NULL ? th->nallow : 0, &a) != NULL;
}

/*
 * Parses a URL with curl's parser and checks its scheme.  Returns 0 with
 * *log_url ("https://host:443/path": no query, no credentials) and
 * *origin ("https://host:443"), both allocated; or -1 with *failure and an
 * allocated *error.
 */
static int
tool_http_parse_url(const char *url, char **log_url, char **origin, enum tool_http_failure *failure, char **error)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
    CURLUcode uc;
    int rc = -1;

    if (u == NULL)
        abort(); /* curl fails only to allocate */
    *failure = TOOL_HTTP_NETWORK;
    /* Unknown schemes parse, so that they are refused by name below. */
    if ((uc = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME)) != CURLUE_OK) {
        *error = xasprintf("invalid URL: %s", curl_url_strerror(uc));
        goto out;
    }
    if ((uc = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0)) != CURLUE_OK) {
        *error = xasprintf("invalid URL: %s", curl_url_strerror(uc));
        goto out;
    }
    if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) {
        *failure = TOOL_HTTP_BLOCKED;
        *error = xasprintf("refused the URL scheme \"%s\" (only http and https)", scheme);
        goto out;
    }
    if ((uc = curl_url_get(u, CURLUPART_HOST, &host, 0)) != CURLUE_OK ||
        (uc = curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT)) != CURLUE_OK ||
        (uc = curl_url_get(u, CURLUPART_PATH, &path, 0)) != CURLUE_OK) {
        *error = xasprintf("invalid URL: %s", curl_url_strerror(uc));
        goto out;
    }
    for (char *p = scheme; *p != '\0'; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    *log_url = xasprintf("%s://%s:%s%s", scheme, host, port, path);
    *origin = xasprintf("%s://%s:%s", scheme, host, port);
    rc = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_url_cleanup(u);
    return rc;
}

/* Records the guard's refusal of an address for the current hop (the
 * first one counts) and logs it. */
static void
tool_http_refuse(struct tool_http_call *call, const char *address, const char *why)
{
    log_warn("tool_http: %s %s: refused to connect to %s: %s", call->method, call->log_url, address, why);
    if (call->refusal == NULL)
        call->refusal =
            xasprintf("refused to connect to %s: %s (allow it in the bridge's allow_networks)", address, why);
}

/* CURLOPT_OPENSOCKETFUNCTION: the guard, before curl connects anywhere.
 * Returning CURL_SOCKET_BAD makes curl try its next address, or fail the
 * transfer with CURLE_COULDNT_CONNECT. */
static curl_socket_t
tool_http_open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *address)
{
    struct tool_http_call *call = clientp;
    struct tool_http *th = call->th;
    struct net_addr a;
    char text[NET_RANGES_ADDRSTRLEN];
    const char *why;

    (void)purpose;
    if (th == NULL)
        return CURL_SOCKET_BAD; /* cannot happen: unlinked calls are out of curl */
    if (net_ranges_from_sockaddr(&address->addr, address->addrlen, &a) != 0) {
        tool_http_refuse(call, "a non-IP address", "only IPv4 and IPv6 are allowed");
        return CURL_SOCKET_BAD;
    }
    if ((why = net_ranges_refusal(th->allow, th->nallow, &a)) != NULL) {
        net_ranges_format(&a, text, sizeof(text));
        tool_http_refuse(call, text, why);
        return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

/* CURLOPT_PREREQFUNCTION: the guard again, for a connection curl may have
 * taken from its cache, just before the request is sent on it. */
static int
tool_http_prereq(void *clientp, char *primary_ip, char *local_ip, int primary_port, int local_port)
{
    struct tool_http_call *call = clientp;
    struct tool_http *th = call->th;
    struct net_addr a;
    const char *why;

    (void)local_ip;
    (void)primary_port;
    (void)local_port;
    if (th == NULL)
        return CURL_PREREQFUNC_ABORT;
    if (primary_ip == NULL || net_ranges_parse_addr(primary_ip, &a) != 0) {
        tool_http_refuse(call, "a non-IP address", "only IPv4 and IPv6 are allowed");
        return CURL_PREREQFUNC_ABORT;
    }
    if ((why = net_ranges_refusal(th->allow, th->nallow, &a)) != NULL) {
        tool_http_refuse(call, primary_ip, why);
        return CURL_PREREQFUNC_ABORT;
    }
    return CURL_PREREQFUNC_OK;
}

/* CURLOPT_WRITEFUNCTION: buffers the body, up to the call's limit. */
static size_t
tool_http_on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct tool_http_call *call = userp;
    size_t n = size * nmemb;

    if (n > call->max_response - call->resp_len) {
        call->too_large = 1;
        return 0; /* curl stops the transfer with CURLE_WRITE_ERROR */
    }
    call->resp = xrealloc(call->resp, call->resp_len + n + 1);
    memcpy(call->resp + call->resp_len, data, n);
    call->resp_len += n;
    call->resp[call->resp_len] = '\0';
    return n;
}

/* CURLOPT_HEADERFUNCTION: reads Retry-After (delta-seconds or an
 * HTTP-date) of the last response. */
static size_t
tool_http_on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    struct tool_http_call *call = userp;
    size_t n = size * nmemb;

    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        call->retry_after_ms = -1; /* a new response (after 100 Continue, say) */
    } else if (n > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
        char *v = xstrndup(data + 12, n - 12), *start, *end;
        long secs;

        v[strcspn(v, "\r\n")] = '\0';
        start = v + strspn(v, " \t");
        secs = strtol(start, &end, 10);
        if (end != start && *end == '\0' && secs >= 0) {
            call->retry_after_ms = (int64_t)secs * 1000;
        } else {
            time_t when = curl_getdate(start, NULL), now = time(NULL);

            if (when > 0)
                call->retry_after_ms = when > now ? ((int64_t)when - (int64_t)now) * 1000 : 0;
        }
        free(v);
    }
    return n;
}

/* Parses a body as JSON: the whole body, trailing white space aside.
 * Returns a new reference, or NULL if the body is not JSON. */
static struct json_object *
tool_http_parse_json(const char *s, size_t len)
{
    struct json_tokener *tok = NULL;
    struct json_object *obj = NULL;
    size_t end;

    if (len == 0 || len >= INT_MAX)
        goto out;
    if ((tok = json_tokener_new_ex(TOOL_HTTP_JSON_DEPTH)) == NULL)
        abort();
    /* The terminating NUL is passed too, so that a bare number or "true"
     * at the very end is known to be complete. */
    obj = json_tokener_parse_ex(tok, s, (int)len + 1);
    if (json_tokener_get_error(tok) != json_tokener_success) {
        json_object_put(obj);
        obj = NULL;
        goto out;
    }
    for (end = json_tokener_get_parse_end(tok); end < len; end++) {
        if (strchr(" \t\r\n", s[end]) == NULL || s[end] == '\0') {
            json_object_put(obj);
            obj = NULL;
            goto out;
        }
    }
out:
    if (tok != NULL)
        json_tokener_free(tok); /* not NULL-safe in json-c 0.16 */
    return obj;
}

/* Unlinks a call from its client, which the callback may free. */
static void
tool_http_unlink(struct tool_http_call *call)
{
    if (call->pprev == NULL)
        return;
    *call->pprev = call->next;
    if (call->next != NULL)
        call->next->pprev = call->pprev;
    call->pprev = NULL;
    call->th = NULL;
}

/* Frees a header list, wiping each line first: they may hold API keys. */
static void
tool_http_free_headers(struct curl_slist *list)
{
    for (struct curl_slist *l = list; l != NULL; l = l->next)
        explicit_bzero(l->data, strlen(l->data));
    curl_slist_free_all(list);
}

/* The timer's close callback: the last moment the call is touched. */
static void
tool_http_on_close(uv_handle_t *handle)
{
    struct tool_http_call *call = handle->data;

    free(call->url);
    free(call->log_url);
    free(call->origin);
    free(call->resp);
    free(call->refusal);
    free(call->early_error);
    free(call);
}

/* Releases curl's part of an unlinked call now, while curl is surely
 * still set up, and closes the timer, whose close callback frees the
 * rest. */
static void
tool_http_release(struct tool_http_call *call)
{
    curl_easy_cleanup(call->easy);
    call->easy = NULL;
    tool_http_free_headers(call->headers);
    call->headers = NULL;
    curl_slist_free_all(call->own_headers);
    call->own_headers = NULL;
    uv_timer_stop(&call->timer);
    uv_close((uv_handle_t *)&call->timer, tool_http_on_close);
}

/* Runs the callback once with res and ends the call. */
static void
tool_http_deliver(struct tool_http_call *call, struct tool_http_response *res)
{
    res->seconds = (double)(uv_hrtime() - call->started) / 1e9;
    if (res->failure == TOOL_HTTP_OK)
        log_debug("tool_http: %s %s: %ld (%.1f ms)", call->method, call->log_url, res->status, res->seconds * 1000);
    else
        log_debug("tool_http: %s %s: %s (%.1f ms)", call->method, call->log_url != NULL ? call->log_url : "(no URL)",
                  res->error, res->seconds * 1000);
    call->done = 1;
    tool_http_unlink(call);
    call->cb(res, call->arg);
    tool_http_release(call);
}

/* Reports the failure kept in call->early (from the loop). */
static void
tool_http_on_early(uv_timer_t *t)
{
    struct tool_http_call *call = t->data;
    struct tool_http_response res;

    memset(&res, 0, sizeof(res));
    res.failure = call->early;
    res.body = "";
    res.retry_after_ms = -1;
    res.error = call->early_error;
    tool_http_deliver(call, &res);
}

/* Fails the call with error (taken over), through the timer, so that the
 * callback runs from the loop whatever the caller's context. */
static void
tool_http_fail(struct tool_http_call *call, enum tool_http_failure failure, char *error)
{
    call->early = failure;
    free(call->early_error);
    call->early_error = error;
    uv_timer_start(&call->timer, tool_http_on_early, 0, 0);
}

/* Sets the method and body of the call's easy handle; 0 or -1. */
static int
tool_http_set_method(struct tool_http_call *call)
{
    CURL *e = call->easy;
    int ok = 1;

    if (strcmp(call->method, "HEAD") == 0) {
        ok = ok && curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL) == CURLE_OK;
        ok = ok && curl_easy_setopt(e, CURLOPT_NOBODY, 1L) == CURLE_OK;
    } else if (strcmp(call->method, "GET") == 0 && call->body == NULL) {
        ok = ok && curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL) == CURLE_OK;
        ok = ok && curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) == CURLE_OK;
    } else {
        /* POSTFIELDS makes curl send a body; CUSTOMREQUEST names the verb. */
        ok = ok && curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->body_len) == CURLE_OK;
        ok = ok && curl_easy_setopt(e, CURLOPT_POSTFIELDS, call->body != NULL ? call->body : "") == CURLE_OK;
        ok = ok && curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, call->method) == CURLE_OK;
    }
    return ok ? 0 : -1;
}

/* Sets the options shared by every hop; 0 or -1. */
static int
tool_http_setup(struct tool_http_call *call)
{
    CURL *e = call->easy;
    int ok = 1;

    ok = ok && curl_easy_setopt(e, CURLOPT_HTTPHEADER, call->headers) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_USERAGENT, call->th->user_agent) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, tool_http_on_body) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_WRITEDATA, call) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, tool_http_on_header) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_HEADERDATA, call) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_ERRORBUFFER, call->errbuf) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, tool_http_open_socket) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, call) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, tool_http_prereq) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_PREREQDATA, call) == CURLE_OK;
    /* http and https only, even if a redirect were ever followed by curl. */
    ok = ok && curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
    /* "" turns off the proxies of the environment (http_proxy, ...). */
    ok = ok && curl_easy_setopt(e, CURLOPT_PROXY, "") == CURLE_OK;
    /* A Content-Length over the limit fails at once. */
    ok = ok && curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)call->max_response) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK;
    return ok && tool_http_set_method(call) == 0 ? 0 : -1;
}

static void tool_http_on_done(CURL *easy, CURLcode code, void *arg);

/* Starts the transfer of the current hop with what is left of the
 * call's time. */
static void
tool_http_hop(struct tool_http_call *call)
{
    uint64_t elapsed_ms = (uv_hrtime() - call->started) / 1000000;
    long left;
    int ok = 1;

    free(call->resp);
    call->resp = NULL;
    call->resp_len = 0;
    call->too_large = 0;
    call->retry_after_ms = -1;
    free(call->refusal);
    call->refusal = NULL;
    call->errbuf[0] = '\0';
    if (elapsed_ms >= (uint64_t)call->timeout_ms) {
        tool_http_fail(call, TOOL_HTTP_TIMEOUT, xasprintf("no complete response within %ld ms", call->timeout_ms));
        return;
    }
    left = call->timeout_ms - (long)elapsed_ms;
    ok = ok && curl_easy_setopt(call->easy, CURLOPT_URL, call->url) == CURLE_OK;
    ok = ok && curl_easy_setopt(call->easy, CURLOPT_TIMEOUT_MS, left) == CURLE_OK;
    ok = ok && curl_easy_setopt(call->easy, CURLOPT_CONNECTTIMEOUT_MS,
                                left < TOOL_HTTP_CONNECT_TIMEOUT_MS ? left : TOOL_HTTP_CONNECT_TIMEOUT_MS) == CURLE_OK;
    if (!ok || curl_uv_add(call->th->cu, call->easy, tool_http_on_done, call) != 0) {
        tool_http_fail(call, TOOL_HTTP_NETWORK, xstrdup("the HTTP client refused the request"));
        return;
    }
    call->in_curl = 1;
}

/* 1 for the statuses whose Location is followed. */
static int
tool_http_is_redirect(long status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* Follows a redirect to location (borrowed from curl: copied here). */
static void
tool_http_redirect(struct tool_http_call *call, long status, const char *location)
{
    char *log_url = NULL, *origin = NULL, *error = NULL;
    enum tool_http_failure failure;

    if (call->redirects >= TOOL_HTTP_MAX_REDIRECTS) {
        tool_http_fail(call, TOOL_HTTP_NETWORK, xasprintf("more than %d redirects", TOOL_HTTP_MAX_REDIRECTS));
        return;
    }
    if (tool_http_parse_url(location, &log_url, &origin, &failure, &error) != 0) {
        tool_http_fail(call, failure, xasprintf("redirect %u: %s", call->redirects + 1, error));
        free(error);
        return;
    }
    call->redirects++;
    log_debug("tool_http: %s %s: %ld, redirect %u to %s", call->method, call->log_url, status, call->redirects,
              log_url);
    if (!call->headers_dropped && strcasecmp(origin, call->origin) != 0) {
        /* Another origin must not see the API keys in the caller's headers. */
        call->headers_dropped = 1;
        if (curl_easy_setopt(call->easy, CURLOPT_HTTPHEADER, call->own_headers) != CURLE_OK) {
            tool_http_fail(call, TOOL_HTTP_NETWORK, xstrdup("the HTTP client refused the request"));
            goto out;
        }
        log_debug("tool_http: %s is another origin: the request's headers are not sent there", log_url);
    }
    /* As browsers and curl do: 303 turns into GET, and so does a POST
     * redirected with 301 or 302; 307 and 308 repeat the request. */
    if ((status == 303 && strcmp(call->method, "HEAD") != 0) ||
        ((status == 301 || status == 302) && strcmp(call->method, "POST") == 0)) {
        snprintf(call->method, sizeof(call->method), "GET");
        call->body = NULL;
        call->body_len = 0;
        if (tool_http_set_method(call) != 0) {
            tool_http_fail(call, TOOL_HTTP_NETWORK, xstrdup("the HTTP client refused the request"));
            goto out;
        }
    }
    free(call->url);
    call->url = xstrdup(location);
    free(call->log_url);
    call->log_url = log_url;
    log_url = NULL;
    tool_http_hop(call);
out:
    free(log_url);
    free(origin);
}

/* curl_uv's callback: follows a redirect, or reports the outcome. */
static void
tool_http_on_done(CURL *easy, CURLcode code, void *arg)
{
    struct tool_http_call *call = arg;
    struct tool_http_response res;
    long status = 0;
    char *location = NULL, *error = NULL;

    call->in_curl = 0;
    if (code == CURLE_OK)
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    if (code == CURLE_OK && call->follow_redirects && tool_http_is_redirect(status) &&
        curl_easy_getinfo(easy, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location != NULL) {
        tool_http_redirect(call, status, location);
        return;
    }
    memset(&res, 0, sizeof(res));
    res.body = "";
    res.retry_after_ms = -1;
    if (code == CURLE_OK) {
        res.failure = TOOL_HTTP_OK;
        res.status = status;
        if (call->resp != NULL) {
            res.body = call->resp;
            res.len = call->resp_len;
        }
        res.json = tool_http_parse_json(res.body, res.len);
        if (curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &res.content_type) != CURLE_OK)
            res.content_type = NULL;
        res.retry_after_ms = call->retry_after_ms;
    } else if (call->refusal != NULL && (code == CURLE_COULDNT_CONNECT || code == CURLE_ABORTED_BY_CALLBACK)) {
        res.failure = TOOL_HTTP_BLOCKED;
        error = xstrdup(call->refusal);
    } else if (call->too_large || code == CURLE_FILESIZE_EXCEEDED) {
        res.failure = TOOL_HTTP_TOO_LARGE;
        error = xasprintf("the response is larger than %zu bytes", call->max_response);
    } else if (code == CURLE_OPERATION_TIMEDOUT) {
        res.failure = TOOL_HTTP_TIMEOUT;
        error = xasprintf("no complete response within %ld ms", call->timeout_ms);
    } else {
        res.failure = TOOL_HTTP_NETWORK;
        error = xstrdup(call->errbuf[0] != '\0' ? call->errbuf : curl_easy_strerror(code));
    }
    res.error = error;
    tool_http_deliver(call, &res);
    json_object_put(res.json);
    free(error);
}

/* Checks the method (a token of capital letters) and the header lines
 * (no line breaks, which would smuggle in more lines).  Returns NULL, or
 * an allocated reason that never quotes a header. */
static char *
tool_http_check_request(const struct tool_http_request *req, const char *method)
{
    size_t n = strlen(method);

    if (n == 0 || n >= sizeof(((struct tool_http_call *)NULL)->method) ||
        strspn(method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != n)
        return xstrdup("invalid HTTP method");
    for (size_t i = 0; req->headers != NULL && req->headers[i] != NULL; i++) {
        if (strpbrk(req->headers[i], "\r\n") != NULL)
            return xasprintf("request header %zu holds a line break", i + 1);
    }
    return NULL;
}

struct tool_http_call *
tool_http_request(struct tool_http *th, const struct tool_http_request *req, tool_http_cb cb, void *arg)
{
    struct tool_http_call *call = xcalloc(1, sizeof(*call));
    const char *method = req->method != NULL ? req->method : "GET";
    enum tool_http_failure failure;
    char *error = NULL;

    call->th = th;
    call->cb = cb;
    call->arg = arg;
    call->started = uv_hrtime();
    call->timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : TOOL_HTTP_DEFAULT_TIMEOUT_MS;
    call->max_response = req->max_response > 0 ? req->max_response : TOOL_HTTP_DEFAULT_MAX_RESPONSE;
    call->follow_redirects = req->follow_redirects;
    call->body = req->body;
    call->body_len = req->body != NULL ? req->body_len : 0;
    call->retry_after_ms = -1;
    snprintf(call->method, sizeof(call->method), "%s", method);
    if (uv_timer_init(th->loop, &call->timer) != 0)
        abort(); /* cannot fail for a valid loop */
    call->timer.data = call;
    call->next = th->calls;
    if (call->next != NULL)
        call->next->pprev = &call->next;
    call->pprev = &th->calls;
    th->calls = call;

    if ((error = tool_http_check_request(req, method)) != NULL) {
        tool_http_fail(call, TOOL_HTTP_NETWORK, error);
        return call;
    }
    if (req->url == NULL) {
        tool_http_fail(call, TOOL_HTTP_NETWORK, xstrdup("invalid URL: none given"));
        return call;
    }
    if (tool_http_parse_url(req->url, &call->log_url, &call->origin, &failure, &error) != 0) {
        tool_http_fail(call, failure, error);
        return call;
    }
    call->url = xstrdup(req->url);
    call->own_headers = curl_slist_append(NULL, "Expect:"); /* no 100-continue round trip */
    call->headers = curl_slist_append(NULL, "Expect:");
    for (size_t i = 0; req->headers != NULL && req->headers[i] != NULL && call->headers != NULL; i++)
        call->headers = curl_slist_append(call->headers, req->headers[i]);
    if (call->own_headers == NULL || call->headers == NULL)
        abort(); /* curl fails only to allocate */
    if ((call->easy = curl_easy_init()) == NULL || tool_http_setup(call) != 0) {
        tool_http_fail(call, TOOL_HTTP_NETWORK, xstrdup("the HTTP client refused the request"));
        return call;
    }
    tool_http_hop(call);
    return call;
}

void
tool_http_cancel(struct tool_http_call *call)
{
    if (call == NULL || call->done)
        return;
    call->done = 1;
    if (call->in_curl) {
        curl_uv_remove(call->th->cu, call->easy);
        call->in_curl = 0;
    }
    tool_http_unlink(call);
    tool_http_release(call);
}

void
tool_http_free(struct tool_http *th)
{
    if (th == NULL)
        return;
    while (th->calls != NULL)
        tool_http_cancel(th->calls);
    free(th->allow);
    free(th->user_agent);
    free(th);
}
