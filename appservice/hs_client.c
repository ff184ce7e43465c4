/*
 * The homeserver client; see hs_client.h.
 *
 * Each request is one struct hs_call with one easy handle, configured once
 * and added to the shared curl_uv again for each attempt, so that curl's
 * connection cache is reused across attempts and across calls.  A call
 * waits for a retry (or, when curl refused the request, for its report)
 * on a uv_timer_t embedded in it; the struct is freed only in that timer's
 * close callback, whatever state the call ended in.
 *
 * A call is taken off its client's list before its callback runs, and
 * nothing touches the client after the callback, so the callback may
 * cancel other calls, start new ones, or free the whole client.
 *
 * The as_token is in the Authorization header only: it is wiped when the
 * client and each call are freed, and CURLOPT_VERBOSE is never set, so it
 * reaches neither the log nor stderr.  Logs name the method and the path,
 * never the query string.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "curl_uv.h"
#include "hs_client.h"
#include "log.h"
#include "metrics.h"
#include "xmalloc.h"

#define HS_CLIENT_TIMEOUT_MS 30000L         /* per attempt, unless the request says */
#define HS_CLIENT_CONNECT_TIMEOUT_MS 10000L /* never more than the attempt's timeout */
#define HS_CLIENT_BACKOFF_INITIAL_MS 500
#define HS_CLIENT_BACKOFF_MAX_MS 60000
#define HS_CLIENT_MAX_BODY (64 * 1024 * 1024) /* a larger response is an error, unless the request says */
#define HS_CLIENT_MESSAGE_MAX 200             /* bytes of a non-JSON error body kept */
#define HS_CLIENT_JSON_DEPTH 64

enum hs_client_state {
    HS_CLIENT_RUNNING,   /* an attempt is in curl_uv */
    HS_CLIENT_WAITING,   /* on the timer: for a retry, or for the report */
    HS_CLIENT_REPORTING, /* its callback is running */
};

struct hs_client {
    uv_loop_t *loop;
    struct curl_uv *cu;
    char *base_url;
    char *auth_header; /* "Authorization: Bearer <as_token>", a secret */
    int verify_tls;
    uint64_t backoff_initial_ms;
    uint64_t backoff_max_ms;
    uint64_t rng; /* xorshift state for the jitter */
    struct hs_call *calls;
    unsigned pending;
    int draining; /* shutting down: failures are reported, not retried */
};

struct hs_call {
    uv_timer_t timer;     /* first: the close callback casts back */
    struct hs_client *hc; /* NULL once taken off the client's list */
    struct hs_call *next, *prev;
    enum hs_client_state state;
    int report_next; /* the timer reports instead of retrying */
    hs_client_cb cb;
    void *arg;
    enum hs_retry retry;
    char *method;
    char *path; /* for the log: no query string */
    CURL *easy;
    struct curl_slist *headers;
    char *body; /* the serialized JSON body */
    char *buf;  /* the response body of this attempt, NUL-terminated */
    size_t len, cap;
    size_t max_response;
    int too_large;
    char errbuf[CURL_ERROR_SIZE];
    uint64_t started_ns;
    unsigned attempts;
    struct hs_response res; /* the outcome of the last attempt */
};

int
hs_response_ok(const struct hs_response *res)
{
    return res->status >= 200 && res->status <= 299;
}

/* Forgets an outcome, freeing what it holds. */
static void
hs_client_outcome_clear(struct hs_response *res)
{
    json_object_put(res->body);
    free(res->error.errcode);
    free(res->error.message);
    memset(res, 0, sizeof(*res));
    res->error.retry_after_ms = -1;
}

/* Returns a pseudo-random number for the jitter (xorshift64*). */
static uint64_t
hs_client_random(struct hs_client *hc)
{
    hc->rng ^= hc->rng >> 12;
    hc->rng ^= hc->rng << 25;
    hc->rng ^= hc->rng >> 27;
    return hc->rng * 0x2545F4914F6CDD1DULL;
}

/* The delay before retrying after the given number of failed attempts:
 * initial * 2^(attempts-1), capped, with +-20% jitter. */
static uint64_t
hs_client_backoff(struct hs_client *hc, unsigned attempts)
{
    uint64_t base = hc->backoff_initial_ms;
    double jitter;

    for (unsigned i = 1; i < attempts && base < hc->backoff_max_ms; i++)
        base = base > hc->backoff_max_ms / 2 ? hc->backoff_max_ms : base * 2;
    if (base > hc->backoff_max_ms)
        base = hc->backoff_max_ms;
    jitter = 0.8 + 0.4 * (double)(hs_client_random(hc) >> 11) / (double)(1ULL << 53);
    return (uint64_t)((double)base * jitter);
}

/* Returns allocated: at most HS_CLIENT_MESSAGE_MAX bytes of s, with control
 * and non-ASCII bytes replaced, so that it is safe to log.  NULL if
 * nothing printable is left. */
static char *
hs_client_sanitize(const char *s, size_t len)
{
    char *out;

    if (len > HS_CLIENT_MESSAGE_MAX)
        len = HS_CLIENT_MESSAGE_MAX;
    out = xstrndup(s, len);
    len = strlen(out); /* stops at a NUL inside the body */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)out[i];

        if (c < 0x20 || c == 0x7f)
            out[i] = ' ';
        else if (c >= 0x80)
            out[i] = '?';
    }
    while (len > 0 && out[len - 1] == ' ')
        out[--len] = '\0';
    if (len == 0) {
        free(out);
        out = NULL;
    }
    return out;
}

/* Parses the response body as JSON; NULL if it is empty or not JSON. */
static struct json_object *
hs_client_parse(const char *buf, size_t len)
{
    struct json_tokener *tok;
    struct json_object *obj = NULL;
    size_t end;

    if (len == 0 || len > INT_MAX)
        return NULL;
    if ((tok = json_tokener_new_ex(HS_CLIENT_JSON_DEPTH)) == NULL) {
        log_error("hs: json_tokener_new_ex failed");
        abort();
    }
    obj = json_tokener_parse_ex(tok, buf, (int)len);
    if (json_tokener_get_error(tok) != json_tokener_success) {
        json_object_put(obj);
        obj = NULL;
        goto out;
    }
    /* Only whitespace may follow the value. */
    for (end = json_tokener_get_parse_end(tok); end < len; end++) {
        if (!isspace((unsigned char)buf[end])) {
            json_object_put(obj);
            obj = NULL;
            goto out;
        }
    }
out:
    json_tokener_free(tok);
    return obj;
}

/* Returns the delay the Retry-After header asks for, in milliseconds, or -1
 * if there is none.  It holds delta-seconds or an HTTP-date. */
static int64_t
hs_client_retry_after_header(CURL *easy)
{
    struct curl_header *h = NULL;
    const char *v;
    char *end;
    long long secs;
    time_t when, now;
    int64_t ms = -1;

    if (curl_easy_header(easy, "Retry-After", 0, CURLH_HEADER, -1, &h) != CURLHE_OK || h == NULL)
        goto out;
    for (v = h->value; *v == ' ' || *v == '\t'; v++)
        ;
    if (isdigit((unsigned char)*v)) {
        secs = strtoll(v, &end, 10);
        if (*end == '\0' || *end == ' ' || *end == '\t')
            ms = secs > INT64_MAX / 1000 ? INT64_MAX / 1000 * 1000 : (int64_t)secs * 1000;
    } else if ((when = curl_getdate(v, NULL)) != -1) {
        now = time(NULL);
        ms = when > now ? (int64_t)(when - now) * 1000 : 0;
    }
out:
    return ms;
}

/* Fills call->res from the attempt that just ended with result: either a
 * response (status, raw body and content type, the body as JSON, and for
 * an error status the Matrix fields) or a failure without one (status 0,
 * curl's code and message). */
static void
hs_client_outcome(struct hs_call *call, CURLcode result)
{
    struct hs_response *res = &call->res;
    struct json_object *v;
    char *ctype = NULL;
    long status = 0;

    hs_client_outcome_clear(res);
    res->raw = "";
    if (result == CURLE_OK && curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
        status = 0;
    if (result != CURLE_OK || status == 0) {
        if (call->too_large || result == CURLE_FILESIZE_EXCEEDED) {
            res->error.curl_code = CURLE_FILESIZE_EXCEEDED;
            if (call->max_response % (1024 * 1024) == 0)
                res->error.message = xasprintf("response body larger than %zu MiB", call->max_response / 1024 / 1024);
            else
                res->error.message = xasprintf("response body larger than %zu bytes", call->max_response);
        } else {
            res->error.curl_code = result != CURLE_OK ? result : CURLE_RECV_ERROR;
            res->error.message = xstrdup(call->errbuf[0] != '\0' ? call->errbuf : curl_easy_strerror(result));
        }
        return;
    }
    res->status = status;
    res->error.status = status;
    if (call->buf != NULL) {
        res->raw = call->buf;
        res->raw_len = call->len;
    }
    /* curl keeps the string until the handle's next transfer. */
    if (curl_easy_getinfo(call->easy, CURLINFO_CONTENT_TYPE, &ctype) == CURLE_OK)
        res->content_type = ctype;
    res->body = hs_client_parse(call->buf, call->len);
    if (hs_response_ok(res))
        return;
    if (json_object_is_type(res->body, json_type_object)) {
        if (json_object_object_get_ex(res->body, "errcode", &v) && json_object_is_type(v, json_type_string))
            res->error.errcode = xstrdup(json_object_get_string(v));
        if (json_object_object_get_ex(res->body, "error", &v) && json_object_is_type(v, json_type_string))
            res->error.message = xstrdup(json_object_get_string(v));
        if (json_object_object_get_ex(res->body, "retry_after_ms", &v) && json_object_is_type(v, json_type_int) &&
            json_object_get_int64(v) >= 0)
            res->error.retry_after_ms = json_object_get_int64(v);
    } else if (res->body == NULL && call->len > 0) {
        res->error.message = hs_client_sanitize(call->buf, call->len);
    }
    if (res->error.retry_after_ms < 0)
        res->error.retry_after_ms = hs_client_retry_after_header(call->easy);
}

/* Takes the call off its client's list. */
static void
hs_client_unlink(struct hs_call *call)
{
    struct hs_client *hc = call->hc;

    if (hc == NULL)
        return;
    if (call->prev != NULL)
        call->prev->next = call->next;
    else
        hc->calls = call->next;
    if (call->next != NULL)
        call->next->prev = call->prev;
    call->next = call->prev = NULL;
    hc->pending--;
    call->hc = NULL;
}

/* Close callback of a call's timer: the call goes with it. */
static void
hs_client_on_call_close(uv_handle_t *handle)
{
    free(handle); /* the timer is the first member of struct hs_call */
}

/* Frees what an unlinked call holds and closes its timer; the struct goes
 * in the close callback.  The easy handle must not be in curl_uv. */
static void
hs_client_release(struct hs_call *call)
{
    curl_easy_cleanup(call->easy);
    call->easy = NULL;
    for (struct curl_slist *h = call->headers; h != NULL; h = h->next) {
        if (strncmp(h->data, "Authorization:", 14) == 0)
            explicit_bzero(h->data, strlen(h->data));
    }
    curl_slist_free_all(call->headers);
    call->headers = NULL;
    free(call->method);
    free(call->path);
    free(call->body);
    free(call->buf);
    call->method = call->path = call->body = call->buf = NULL;
    hs_client_outcome_clear(&call->res);
    uv_close((uv_handle_t *)&call->timer, hs_client_on_call_close);
}

/* Hands the outcome to the callback, then releases the call.  Nothing
 * touches the client after the callback, which may have freed it. */
static void
hs_client_report(struct hs_call *call)
{
    hs_client_unlink(call);
    call->state = HS_CLIENT_REPORTING;
    call->res.attempts = call->attempts;
    call->cb(&call->res, call->arg);
    hs_client_release(call);
}

static void hs_client_on_done(CURL *easy, CURLcode result, void *arg);
static void hs_client_on_timer(uv_timer_t *timer);

/* Waits on the timer for delay_ms, then retries or reports. */
static void
hs_client_wait(struct hs_call *call, uint64_t delay_ms, int report)
{
    int r;

    call->state = HS_CLIENT_WAITING;
    call->report_next = report;
    if ((r = uv_timer_start(&call->timer, hs_client_on_timer, delay_ms, 0)) != 0) {
        /* Only a closing timer refuses, and a call's closes last. */
        log_error("hs: uv_timer_start: %s", uv_strerror(r));
        abort();
    }
}

/* Starts one attempt.  Returns 0, or -1 with the outcome set if curl
 * refused the handle. */
static int
hs_client_attempt(struct hs_call *call)
{
    hs_client_outcome_clear(&call->res);
    call->len = 0;
    call->too_large = 0;
    call->errbuf[0] = '\0';
    call->attempts++;
    call->started_ns = uv_hrtime();
    if (curl_uv_add(call->hc->cu, call->easy, hs_client_on_done, call) != 0) {
        call->res.error.curl_code = CURLE_FAILED_INIT;
        call->res.error.message = xstrdup("the request could not be started");
        return -1;
    }
    call->state = HS_CLIENT_RUNNING;
    return 0;
}

/* The wait is over: retry, or report what could not be started. */
static void
hs_client_on_timer(uv_timer_t *timer)
{
    struct hs_call *call = (struct hs_call *)timer;

    if (call->report_next || hs_client_attempt(call) != 0)
        hs_client_report(call);
}

/* Whether the outcome in call->res is worth another attempt. */
static int
hs_client_retryable(const struct hs_call *call)
{
    long status = call->res.status;

    if (call->retry != HS_RETRY_FOREVER || (call->hc != NULL && call->hc->draining))
        return 0;
    if (status == 0)
        return call->res.error.curl_code != CURLE_FILESIZE_EXCEEDED;
    return status == 429 || (status >= 500 && status <= 599);
}

/* Counts a finished attempt in the metrics. */
static void
hs_client_count(const struct hs_response *res)
{
    metrics_add(METRICS_HS_REQUESTS, 1);
    metrics_observe_hs_latency(res->seconds);
    if (hs_response_ok(res))
        return;
    if (res->status == 0)
        metrics_error(METRICS_ERR_HS_NETWORK);
    else if (res->status == 429)
        metrics_error(METRICS_ERR_HS_RATE_LIMITED);
    else if (res->status >= 500 && res->status <= 599)
        metrics_error(METRICS_ERR_HS_SERVER);
    else
        metrics_error(METRICS_ERR_HS_CLIENT);
}

/* curl_uv's callback: an attempt has ended. */
static void
hs_client_on_done(CURL *easy, CURLcode result, void *arg)
{
    struct hs_call *call = arg;
    struct hs_client *hc = call->hc;
    uint64_t delay;
    char *desc;

    (void)easy;
    hs_client_outcome(call, result);
    call->res.seconds = (double)(uv_hrtime() - call->started_ns) / 1e9;
    hs_client_count(&call->res);
    if (call->res.status != 0) {
        log_debug("hs: %s %s -> %ld (%.3f s, attempt %u)", call->method, call->path, call->res.status,
                  call->res.seconds, call->attempts);
    } else if (log_enabled(LOG_LEVEL_DEBUG)) {
        desc = hs_error_describe(&call->res.error);
        log_debug("hs: %s %s -> %s (%.3f s, attempt %u)", call->method, call->path, desc, call->res.seconds,
                  call->attempts);
        free(desc);
    }
    if (!hs_client_retryable(call)) {
        hs_client_report(call);
        return;
    }
    if (call->res.status == 429 && call->res.error.retry_after_ms >= 0)
        delay = (uint64_t)call->res.error.retry_after_ms;
    else
        delay = hs_client_backoff(hc, call->attempts);
    desc = hs_error_describe(&call->res.error);
    log_warn("hs: %s %s failed: %s; retrying in %llu ms (attempt %u)", call->method, call->path, desc,
             (unsigned long long)delay, call->attempts);
    free(desc);
    hs_client_wait(call, delay, 0);
}

/* CURLOPT_WRITEFUNCTION: keeps the response body, up to the cap. */
static size_t
hs_client_on_write(char *data, size_t size, size_t nmemb, void *arg)
{
    struct hs_call *call = arg;
    size_t n = size * nmemb;

    if (n > call->max_response - call->len) {
        call->too_large = 1;
        return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
    }
    if (call->len + n + 1 > call->cap) {
        size_t cap = call->cap > 0 ? call->cap : 4096;

        while (cap < call->len + n + 1)
            cap *= 2;
        call->buf = xrealloc(call->buf, cap);
        call->cap = cap;
    }
    memcpy(call->buf + call->len, data, n);
    call->len += n;
    call->buf[call->len] = '\0';
    return n;
}

/* Appends a header line to the call's list; aborts when out of memory. */
static void
hs_client_header(struct hs_call *call, const char *line)
{
    struct curl_slist *l = curl_slist_append(call->headers, line);

    if (l == NULL) {
        log_error("hs: curl_slist_append failed");
        abort();
    }
    call->headers = l;
}

/* Sets the call's easy handle up for req.  Returns 0, or -1 with the
 * outcome set if curl refused an option. */
static int
hs_client_setup(struct hs_client *hc, struct hs_call *call, const struct hs_request *req)
{
    const char *data = NULL, *content_type = NULL, *query = req->query;
    size_t data_len = 0;
    long timeout = req->timeout_ms > 0 ? req->timeout_ms : HS_CLIENT_TIMEOUT_MS;
    char *url = NULL, *user = NULL, *line = NULL;
    CURL *easy = call->easy;
    CURLcode rc = CURLE_OK;
    int ret = -1;

    if (req->user_id != NULL)
        user = hs_client_escape(req->user_id);
    if (query != NULL && *query == '\0')
        query = NULL;
    url = xasprintf("%s%s%s%s%s%s%s", hc->base_url, call->path, user != NULL || query != NULL ? "?" : "",
                    user != NULL ? "user_id=" : "", user != NULL ? user : "", user != NULL && query != NULL ? "&" : "",
                    query != NULL ? query : "");

    if (req->raw_body != NULL) {
        data = req->raw_body;
        data_len = req->raw_body_len;
        content_type = req->content_type != NULL ? req->content_type : "application/json";
    } else if (req->body != NULL) {
        call->body =
            xstrdup(json_object_to_json_string_ext(req->body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        data = call->body;
        data_len = strlen(call->body);
        content_type = "application/json";
    }

    hs_client_header(call, hc->auth_header);
    hs_client_header(call, "Accept: application/json");
    /* Without this curl waits for "100 Continue" before a large body. */
    hs_client_header(call, "Expect:");
    if (content_type != NULL) {
        line = xasprintf("Content-Type: %s", content_type);
        hs_client_header(call, line);
    } else {
        /* A PUT or POST without a body is no form: drop curl's default. */
        hs_client_header(call, "Content-Type:");
    }

#define HS_CLIENT_SETOPT(opt, val)                                                                                     \
    do {                                                                                                               \
        if ((rc = curl_easy_setopt(easy, opt, val)) != CURLE_OK)                                                       \
            goto out;                                                                                                  \
    } while (0)

    HS_CLIENT_SETOPT(CURLOPT_URL, url);
    HS_CLIENT_SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
    HS_CLIENT_SETOPT(CURLOPT_HTTPHEADER, call->headers);
    HS_CLIENT_SETOPT(CURLOPT_USERAGENT, "warroom/" PACKAGE_VERSION);
    HS_CLIENT_SETOPT(CURLOPT_NOSIGNAL, 1L);
    HS_CLIENT_SETOPT(CURLOPT_TIMEOUT_MS, timeout);
    HS_CLIENT_SETOPT(CURLOPT_CONNECTTIMEOUT_MS,
                     timeout < HS_CLIENT_CONNECT_TIMEOUT_MS ? timeout : HS_CLIENT_CONNECT_TIMEOUT_MS);
    HS_CLIENT_SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
    HS_CLIENT_SETOPT(CURLOPT_SSL_VERIFYPEER, hc->verify_tls ? 1L : 0L);
    HS_CLIENT_SETOPT(CURLOPT_SSL_VERIFYHOST, hc->verify_tls ? 2L : 0L);
    HS_CLIENT_SETOPT(CURLOPT_WRITEFUNCTION, hs_client_on_write);
    HS_CLIENT_SETOPT(CURLOPT_WRITEDATA, call);
    HS_CLIENT_SETOPT(CURLOPT_ERRORBUFFER, call->errbuf);
    HS_CLIENT_SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)call->max_response);
    if (strcmp(call->method, "GET") == 0 && data == NULL) {
        HS_CLIENT_SETOPT(CURLOPT_HTTPGET, 1L);
    } else {
        if (data != NULL || strcmp(call->method, "POST") == 0 || strcmp(call->method, "PUT") == 0) {
            HS_CLIENT_SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)data_len);
            HS_CLIENT_SETOPT(CURLOPT_POSTFIELDS, data != NULL ? data : "");
        }
        if (strcmp(call->method, "POST") != 0)
            HS_CLIENT_SETOPT(CURLOPT_CUSTOMREQUEST, call->method);
    }
#undef HS_CLIENT_SETOPT
    ret = 0;
out:
    if (ret != 0) {
        log_error("hs: %s %s: curl refused an option: %s", call->method, call->path, curl_easy_strerror(rc));
        call->res.error.curl_code = rc;
        call->res.error.message = xstrdup(curl_easy_strerror(rc));
    }
    free(line);
    free(url);
    free(user);
    return ret;
}

struct hs_client *
hs_client_new(uv_loop_t *loop, struct curl_uv *cu, const struct hs_client_options *opt)
{
    struct hs_client *hc = xcalloc(1, sizeof(*hc));
    size_t len;

    hc->loop = loop;
    hc->cu = cu;
    hc->base_url = xstrdup(opt->base_url != NULL ? opt->base_url : "");
    len = strlen(hc->base_url);
    while (len > 0 && hc->base_url[len - 1] == '/')
        hc->base_url[--len] = '\0';
    hc->auth_header = xasprintf("Authorization: Bearer %s", opt->as_token != NULL ? opt->as_token : "");
    hc->verify_tls = opt->verify_tls;
    hc->backoff_initial_ms = opt->backoff_initial_ms > 0 ? opt->backoff_initial_ms : HS_CLIENT_BACKOFF_INITIAL_MS;
    hc->backoff_max_ms = opt->backoff_max_ms > 0 ? opt->backoff_max_ms : HS_CLIENT_BACKOFF_MAX_MS;
    hc->rng = uv_hrtime() ^ (uint64_t)(uintptr_t)hc;
    if (hc->rng == 0)
        hc->rng = 1;
    return hc;
}

struct hs_call *
hs_client_request(struct hs_client *hc, const struct hs_request *req, hs_client_cb cb, void *arg)
{
    struct hs_call *call = xcalloc(1, sizeof(*call));
    int r;

    if ((r = uv_timer_init(hc->loop, &call->timer)) != 0) {
        log_error("hs: uv_timer_init: %s", uv_strerror(r));
        abort();
    }
    call->cb = cb;
    call->arg = arg;
    call->retry = req->retry;
    call->max_response = req->max_response > 0 ? req->max_response : HS_CLIENT_MAX_BODY;
    call->method = xstrdup(req->method != NULL ? req->method : "GET");
    call->path = xstrdup(req->path != NULL ? req->path : "/");
    hs_client_outcome_clear(&call->res);
    call->hc = hc;
    call->next = hc->calls;
    if (call->next != NULL)
        call->next->prev = call;
    hc->calls = call;
    hc->pending++;
    if ((call->easy = curl_easy_init()) == NULL) {
        log_error("hs: curl_easy_init failed");
        abort();
    }
    /* A refusal is reported from the loop, never from inside this call. */
    if (hs_client_setup(hc, call, req) != 0 || hs_client_attempt(call) != 0)
        hs_client_wait(call, 0, 1);
    return call;
}

void
hs_client_cancel(struct hs_call *call)
{
    if (call == NULL || call->state == HS_CLIENT_REPORTING)
        return;
    if (call->state == HS_CLIENT_RUNNING)
        curl_uv_remove(call->hc->cu, call->easy);
    uv_timer_stop(&call->timer);
    hs_client_unlink(call);
    hs_client_release(call);
}

void
hs_client_drain(struct hs_client *hc)
{
    hc->draining = 1;
    for (struct hs_call *call = hc->calls; call != NULL; call = call->next) {
        if (call->state == HS_CLIENT_WAITING && !call->report_next)
            hs_client_wait(call, 0, 1); /* report the last failure from the loop */
    }
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
    xfree_secret(hc->auth_header);
    free(hc->base_url);
    free(hc);
}

char *
hs_client_escape(const char *s)
{
    char *e, *out;
    size_t len;

    if (s == NULL) {
        log_error("hs: escaping a NULL string");
        s = "";
    }
    if ((len = strlen(s)) == 0)
        return xstrdup("");
    if (len > INT_MAX || (e = curl_easy_escape(NULL, s, (int)len)) == NULL) {
        log_error("hs: curl_easy_escape failed");
        abort();
    }
    out = xstrdup(e);
    curl_free(e);
    return out;
}

/* Appends n bytes of s to the string *out of length *len. */
static void
hs_client_append(char **out, size_t *len, const char *s, size_t n)
{
    *out = xrealloc(*out, *len + n + 1);
    memcpy(*out + *len, s, n);
    *len += n;
    (*out)[*len] = '\0';
}

char *
hs_client_path(const char *fmt, ...)
{
    char *out = xstrdup(""), *esc;
    const char *p = fmt, *pct;
    size_t len = 0;
    va_list ap;

    va_start(ap, fmt);
    while ((pct = strchr(p, '%')) != NULL) {
        hs_client_append(&out, &len, p, (size_t)(pct - p));
        if (pct[1] == 's') {
            esc = hs_client_escape(va_arg(ap, const char *));
            hs_client_append(&out, &len, esc, strlen(esc));
            free(esc);
        } else if (pct[1] == '%') {
            hs_client_append(&out, &len, "%", 1);
        } else {
            /* A programming error, caught by the format attribute. */
            log_error("hs: hs_client_path: unsupported conversion in \"%s\"", fmt);
            abort();
        }
        p = pct + 2;
    }
    hs_client_append(&out, &len, p, strlen(p));
    va_end(ap);
    return out;
}

char *
hs_error_describe(const struct hs_error *err)
{
    char *out, *retry = NULL;

    if (err == NULL)
        return xstrdup("no error");
    if (err->retry_after_ms >= 0)
        retry = xasprintf(" (retry after %lld ms)", (long long)err->retry_after_ms);
    if (err->status == 0) {
        const char *msg = err->message;

        if (msg == NULL)
            msg = err->curl_code != CURLE_OK ? curl_easy_strerror(err->curl_code) : "no response";
        out = xasprintf("network: %s%s", msg, retry != NULL ? retry : "");
    } else {
        out = xasprintf("HTTP %ld%s%s%s%s%s", err->status, err->errcode != NULL ? " " : "",
                        err->errcode != NULL ? err->errcode : "", err->message != NULL ? ": " : "",
                        err->message != NULL ? err->message : "", retry != NULL ? retry : "");
    }
    /* The server chose the errcode and message: keep them on one line. */
    for (char *c = out; *c != '\0'; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = ' ';
    }
    free(retry);
    return out;
}
