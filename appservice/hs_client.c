/*
 * The homeserver client; see hs_client.h.
 *
 * A call owns one easy handle for all its attempts, the serialized body,
 * the response buffer and a retry timer.  The timer is embedded in the
 * call, so the call is freed only in the timer's close callback, never
 * while libuv may still touch it.  The as_token lives in one header string
 * that is wiped when the client is freed; nothing here ever logs headers
 * or query strings.
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "curl_uv.h"
#include "hs_client.h"
#include "log.h"
#include "metrics.h"
#include "xmalloc.h"

#define HS_CLIENT_DEFAULT_TIMEOUT_MS 30000
#define HS_CLIENT_CONNECT_TIMEOUT_MS 10000
#define HS_CLIENT_MAX_RESPONSE (64u * 1024 * 1024)

struct hs_client {
    uv_loop_t *loop;
    struct curl_uv *cu;
    char *base_url;
    char *auth_header; /* "Authorization: Bearer <as_token>": secret */
    char *user_agent;
    int verify_tls;
    uint64_t backoff_initial_ms;
    uint64_t backoff_max_ms;
    struct hs_call *calls;
    unsigned pending;
};

struct hs_call {
    struct hs_client *hc;
    CURL *easy;
    struct curl_slist *headers;
    char *url;
    char *path; /* for the log: never the query string */
    char method[8];
    char *body;
    size_t body_len;
    const void *raw_body;
    enum hs_retry retry;
    long timeout_ms;
    unsigned attempts;
    double started;

    char *resp;
    size_t resp_len;
    size_t max_response;
    int resp_too_large;
    int64_t retry_after_header_ms;
    char errbuf[CURL_ERROR_SIZE];

    uv_timer_t timer; /* retry delay, and the deferred report of a refused start */
    hs_client_cb cb;
    void *arg;
    int done; /* the callback ran or the call was cancelled */
    int in_curl;
    struct hs_call *next;
    struct hs_call **pprev;
};

int
hs_response_ok(const struct hs_response *res)
{
    return res->status >= 200 && res->status < 300;
}

struct hs_client *
hs_client_new(uv_loop_t *loop, struct curl_uv *cu, const struct hs_client_options *opt)
{
    struct hs_client *hc = xcalloc(1, sizeof(*hc));
    size_t len = strlen(opt->base_url);

    while (len > 0 && opt->base_url[len - 1] == '/')
        len--;
    hc->loop = loop;
    hc->cu = cu;
    hc->base_url = xstrndup(opt->base_url, len);
    hc->auth_header = xasprintf("Authorization: Bearer %s", opt->as_token != NULL ? opt->as_token : "");
    hc->user_agent = xasprintf("warroom/%s", PACKAGE_VERSION);
    hc->verify_tls = opt->verify_tls;
    hc->backoff_initial_ms = opt->backoff_initial_ms != 0 ? opt->backoff_initial_ms : 500;
    hc->backoff_max_ms = opt->backoff_max_ms != 0 ? opt->backoff_max_ms : 60000;
    return hc;
}

char *
hs_client_escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0), *out;

    if (e == NULL)
        abort(); /* curl fails only to allocate */
    out = xstrdup(e);
    curl_free(e);
    return out;
}

char *
hs_client_path(const char *fmt, ...)
{
    va_list ap;
    char *out = xstrdup(""), *next;

    va_start(ap, fmt);
    for (const char *p = fmt; *p != '\0'; p++) {
        if (p[0] == '%' && p[1] == 's') {
            char *esc = hs_client_escape(va_arg(ap, const char *));

            next = xasprintf("%s%s", out, esc);
            free(esc);
            p++;
        } else if (p[0] == '%' && p[1] == '%') {
            next = xasprintf("%s%%", out);
            p++;
        } else {
            next = xasprintf("%s%c", out, *p);
        }
        free(out);
        out = next;
    }
    va_end(ap);
    return out;
}

char *
hs_error_describe(const struct hs_error *err)
{
    if (err->status == 0)
        return xasprintf("network: %s", err->message != NULL ? err->message : curl_easy_strerror(err->curl_code));
    return xasprintf("HTTP %ld%s%s%s%s", err->status, err->errcode != NULL ? " " : "",
                     err->errcode != NULL ? err->errcode : "", err->message != NULL ? ": " : "",
                     err->message != NULL ? err->message : "");
}

static size_t
hs_client_on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct hs_call *call = userp;
    size_t n = size * nmemb;

    if (call->resp_len + n > call->max_response) {
        call->resp_too_large = 1;
        return 0; /* curl stops the transfer with CURLE_WRITE_ERROR */
    }
    call->resp = xrealloc(call->resp, call->resp_len + n + 1);
    memcpy(call->resp + call->resp_len, data, n);
    call->resp_len += n;
    call->resp[call->resp_len] = '\0';
    return n;
}

/* Reads Retry-After (delta-seconds or an HTTP-date) from the headers. */
static size_t
hs_client_on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    struct hs_call *call = userp;
    size_t n = size * nmemb;

    if (n > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
        char *v = xstrndup(data + 12, n - 12), *end;
        long secs;

        v[strcspn(v, "\r\n")] = '\0';
        secs = strtol(v, &end, 10);
        if (end != v && *end == '\0' && secs >= 0) {
            call->retry_after_header_ms = (int64_t)secs * 1000;
        } else {
            time_t when = curl_getdate(v + strspn(v, " "), NULL);

            if (when > 0)
                call->retry_after_header_ms = when > time(NULL) ? ((int64_t)when - (int64_t)time(NULL)) * 1000 : 0;
        }
        free(v);
    }
    return n;
}

/* Unlinks a finished call and closes its timer; the close callback frees. */
static void hs_client_finish(struct hs_call *call);

static void
hs_client_on_close(uv_handle_t *handle)
{
    struct hs_call *call = handle->data;

    free(call->url);
    free(call->path);
    free(call->body);
    free(call->resp);
    free(call);
}

static void
hs_client_finish(struct hs_call *call)
{
    struct hs_client *hc = call->hc;

    call->done = 1;
    if (call->pprev != NULL) {
        *call->pprev = call->next;
        if (call->next != NULL)
            call->next->pprev = call->pprev;
        call->pprev = NULL;
        hc->pending--;
    }
    /* curl's part goes now, while curl is surely still set up; only the
     * struct waits for the timer's close callback. */
    curl_easy_cleanup(call->easy);
    call->easy = NULL;
    curl_slist_free_all(call->headers);
    call->headers = NULL;
    uv_timer_stop(&call->timer);
    uv_close((uv_handle_t *)&call->timer, hs_client_on_close);
}

static void hs_client_attempt(struct hs_call *call);

static void
hs_client_on_retry_timer(uv_timer_t *t)
{
    hs_client_attempt(t->data);
}

/* Fills res->error from the response: the Matrix error body if there is
 * one, else what curl or the raw body says. */
static void
hs_client_fill_error(struct hs_call *call, CURLcode code, struct hs_response *res)
{
    struct json_object *v;

    res->error.status = res->status;
    res->error.curl_code = code;
    res->error.retry_after_ms = -1;
    if (code != CURLE_OK) {
        res->error.message = xstrdup(call->resp_too_large ? "the response is larger than the limit"
                                     : call->errbuf[0] != '\0' ? call->errbuf
                                                               : curl_easy_strerror(code));
        return;
    }
    if (res->body != NULL) {
        if (json_object_object_get_ex(res->body, "errcode", &v) && json_object_is_type(v, json_type_string))
            res->error.errcode = xstrdup(json_object_get_string(v));
        if (json_object_object_get_ex(res->body, "error", &v) && json_object_is_type(v, json_type_string))
            res->error.message = xstrdup(json_object_get_string(v));
        if (json_object_object_get_ex(res->body, "retry_after_ms", &v) && json_object_is_type(v, json_type_int))
            res->error.retry_after_ms = json_object_get_int64(v);
    } else if (call->resp != NULL && call->resp_len > 0) {
        /* Not JSON (a proxy's error page): keep a printable start of it. */
        size_t n = call->resp_len < 200 ? call->resp_len : 200;
        char *m = xstrndup(call->resp, n);

        for (char *p = m; *p != '\0'; p++) {
            if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
                *p = ' ';
        }
        res->error.message = m;
    }
    if (res->error.retry_after_ms < 0 && call->retry_after_header_ms >= 0)
        res->error.retry_after_ms = call->retry_after_header_ms;
}

/* The delay before attempt number attempts + 1, with +-20% jitter. */
static uint64_t
hs_client_backoff(struct hs_call *call, const struct hs_response *res)
{
    struct hs_client *hc = call->hc;
    uint64_t d = hc->backoff_initial_ms;

    if (res->status == 429 && res->error.retry_after_ms >= 0)
        return (uint64_t)res->error.retry_after_ms;
    for (unsigned i = 1; i < call->attempts && d < hc->backoff_max_ms; i++)
        d *= 2;
    if (d > hc->backoff_max_ms)
        d = hc->backoff_max_ms;
    return d * 4 / 5 + (uint64_t)(rand() % (int)(d * 2 / 5 + 1));
}

static void
hs_client_on_done(CURL *easy, CURLcode code, void *arg)
{
    struct hs_call *call = arg;
    struct hs_response res;
    double seconds = uv_now(call->hc->loop) / 1000.0 - call->started;
    long status = 0;

    call->in_curl = 0;
    memset(&res, 0, sizeof(res));
    if (code == CURLE_OK)
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    res.status = status;
    res.seconds = seconds;
    res.attempts = call->attempts;
    res.raw = call->resp != NULL ? call->resp : "";
    res.raw_len = call->resp_len;
    if (code == CURLE_OK)
        curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, (char **)&res.content_type);
    if (call->resp != NULL && call->resp_len > 0) {
        struct json_tokener *tok = json_tokener_new_ex(64);

        if (tok == NULL)
            abort();
        res.body = json_tokener_parse_ex(tok, call->resp, (int)call->resp_len);
        if (json_tokener_get_error(tok) != json_tokener_success) {
            json_object_put(res.body);
            res.body = NULL;
        }
        json_tokener_free(tok);
    }
    metrics_observe_hs_latency(seconds);
    if (!hs_response_ok(&res)) {
        hs_client_fill_error(call, code, &res);
        metrics_error(status == 0     ? METRICS_ERR_HS_NETWORK
                      : status == 429 ? METRICS_ERR_HS_RATE_LIMITED
                      : status >= 500 ? METRICS_ERR_HS_SERVER
                                      : METRICS_ERR_HS_CLIENT);
    }
    log_debug("hs_client: %s %s: %ld (%.1f ms, attempt %u)", call->method, call->path, status, seconds * 1000,
              call->attempts);
    if (call->retry == HS_RETRY_FOREVER && (status == 0 || status == 429 || status >= 500)) {
        uint64_t delay = hs_client_backoff(call, &res);
        char *why = hs_error_describe(&res.error);

        log_warn("hs_client: %s %s failed (%s); retrying in %llu ms", call->method, call->path, why,
                 (unsigned long long)delay);
        free(why);
        uv_timer_start(&call->timer, hs_client_on_retry_timer, delay, 0);
    } else {
        call->done = 1;
        call->cb(&res, call->arg);
        hs_client_finish(call);
    }
    json_object_put(res.body);
    free(res.error.errcode);
    free(res.error.message);
}

/* Reports that curl refused to start the transfer (from the loop). */
static void
hs_client_on_refused(uv_timer_t *t)
{
    struct hs_call *call = t->data;
    struct hs_response res;

    memset(&res, 0, sizeof(res));
    res.attempts = call->attempts;
    res.error.curl_code = CURLE_FAILED_INIT;
    res.error.retry_after_ms = -1;
    res.error.message = xstrdup("the HTTP client refused the request");
    call->done = 1;
    call->cb(&res, call->arg);
    free(res.error.message);
    hs_client_finish(call);
}

/* Starts one attempt of the call. */
static void
hs_client_attempt(struct hs_call *call)
{
    free(call->resp);
    call->resp = NULL;
    call->resp_len = 0;
    call->resp_too_large = 0;
    call->retry_after_header_ms = -1;
    call->errbuf[0] = '\0';
    call->attempts++;
    call->started = uv_now(call->hc->loop) / 1000.0;
    metrics_add(METRICS_HS_REQUESTS, 1);
    if (curl_uv_add(call->hc->cu, call->easy, hs_client_on_done, call) != 0) {
        uv_timer_start(&call->timer, hs_client_on_refused, 0, 0);
        return;
    }
    call->in_curl = 1;
}

/* Sets the easy handle's options once for all attempts; 0 or -1. */
static int
hs_client_setup(struct hs_call *call, const struct hs_request *req)
{
    struct hs_client *hc = call->hc;
    CURL *e = call->easy;
    const char *ctype = req->content_type != NULL ? req->content_type : "application/json";
    char *h;
    int ok = 1;

    call->headers = curl_slist_append(call->headers, hc->auth_header);
    call->headers = curl_slist_append(call->headers, "Accept: application/json");
    call->headers = curl_slist_append(call->headers, "Expect:"); /* no 100-continue round trip */
    if (call->body != NULL || req->raw_body != NULL) {
        h = xasprintf("Content-Type: %s", ctype);
        call->headers = curl_slist_append(call->headers, h);
        free(h);
    }
    if (call->headers == NULL)
        abort();
    ok = ok && curl_easy_setopt(e, CURLOPT_URL, call->url) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_HTTPHEADER, call->headers) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_USERAGENT, hc->user_agent) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, hs_client_on_body) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_WRITEDATA, call) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, hs_client_on_header) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_HEADERDATA, call) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_ERRORBUFFER, call->errbuf) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, call->timeout_ms) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)HS_CLIENT_CONNECT_TIMEOUT_MS) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, hc->verify_tls ? 1L : 0L) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, hc->verify_tls ? 2L : 0L) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
    if (strcmp(call->method, "GET") == 0) {
        ok = ok && curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) == CURLE_OK;
    } else {
        const void *data = req->raw_body != NULL ? req->raw_body : (call->body != NULL ? call->body : "");
        size_t len = req->raw_body != NULL ? req->raw_body_len : call->body_len;

        ok = ok && curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, call->method) == CURLE_OK;
        ok = ok && curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) == CURLE_OK;
        ok = ok && curl_easy_setopt(e, CURLOPT_POSTFIELDS, data) == CURLE_OK;
    }
    return ok ? 0 : -1;
}

struct hs_call *
hs_client_request(struct hs_client *hc, const struct hs_request *req, hs_client_cb cb, void *arg)
{
    struct hs_call *call = xcalloc(1, sizeof(*call));
    char *user = NULL;

    call->hc = hc;
    call->cb = cb;
    call->arg = arg;
    call->retry = req->retry;
    call->timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : HS_CLIENT_DEFAULT_TIMEOUT_MS;
    call->max_response = req->max_response > 0 ? req->max_response : HS_CLIENT_MAX_RESPONSE;
    snprintf(call->method, sizeof(call->method), "%s", req->method);
    call->path = xstrdup(req->path);
    if (req->user_id != NULL)
        user = hs_client_escape(req->user_id);
    call->url = xasprintf("%s%s%s%s%s%s%s", hc->base_url, req->path, user != NULL || req->query != NULL ? "?" : "",
                          user != NULL ? "user_id=" : "", user != NULL ? user : "",
                          user != NULL && req->query != NULL ? "&" : "", req->query != NULL ? req->query : "");
    free(user);
    if (req->body != NULL) {
        size_t len;
        const char *s =
            json_object_to_json_string_length(req->body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

        call->body = xstrndup(s, len);
        call->body_len = len;
    }
    call->raw_body = req->raw_body;
    if (uv_timer_init(hc->loop, &call->timer) != 0)
        abort();
    call->timer.data = call;
    call->next = hc->calls;
    if (call->next != NULL)
        call->next->pprev = &call->next;
    call->pprev = &hc->calls;
    hc->calls = call;
    hc->pending++;
    if ((call->easy = curl_easy_init()) == NULL || hs_client_setup(call, req) != 0) {
        call->attempts++;
        uv_timer_start(&call->timer, hs_client_on_refused, 0, 0);
        return call;
    }
    hs_client_attempt(call);
    return call;
}

void
hs_client_cancel(struct hs_call *call)
{
    if (call == NULL || call->done)
        return;
    if (call->in_curl) {
        curl_uv_remove(call->hc->cu, call->easy);
        call->in_curl = 0;
    }
    hs_client_finish(call);
}

unsigned
hs_client_pending(const struct hs_client *hc)
{
    return hc->pending;
}

void
hs_client_free(struct hs_client *hc)
{
    if (hc == NULL)
        return;
    while (hc->calls != NULL)
        hs_client_cancel(hc->calls);
    free(hc->base_url);
    xfree_secret(hc->auth_header);
    free(hc->user_agent);
    free(hc);
}
