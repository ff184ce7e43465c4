/*
 * A bridge call as the bridge sees it (bridges/bridge.h): its arguments,
 * the services it may use, and how it ends.
 *
 * Every service request is an op linked to its call.  When the call ends
 * early (a timeout, a shutdown), its ops are cancelled, so no callback of
 * a bridge ever runs for a call that is over: HTTP and DNS requests are
 * cancelled outright; work already on the thread pool cannot be stopped,
 * so its op is orphaned and its after callback gets a NULL call.
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge_host_internal.h"
#include "bots.h"
#include "dns_resolver.h"
#include "hs_client.h"
#include "log.h"
#include "tool_http.h"
#include "xmalloc.h"

enum bridge_op_kind {
    BRIDGE_OP_HTTP,
    BRIDGE_OP_DNS,
    BRIDGE_OP_WORK,
    BRIDGE_OP_MEDIA,
};

struct bridge_op {
    uv_work_t work;           /* first: for BRIDGE_OP_WORK the pool's callbacks cast back */
    struct bridge_call *call; /* NULL once orphaned */
    enum bridge_op_kind kind;
    void *handle; /* tool_http_call, dns_query or hs_call */
    void *body;   /* http: the request's body, copied (tool_http borrows it until the call ends) */
    void *cb;
    void *arg;
    void (*work_fn)(void *arg);
    /* media: the URI parts, and whether the legacy endpoint is being tried */
    char *server;
    char *media_id;
    size_t max;
    int legacy;
    struct bridge_op *next;
    struct bridge_op **pprev;
};

struct bridge_state *
bridge_call_state(struct bridge_call *call)
{
    return call->inst->state;
}

const struct bridge_command *
bridge_call_command(struct bridge_call *call)
{
    return call->cmd;
}

const char *
bridge_call_arg(struct bridge_call *call, const char *name)
{
    const struct command_arg_value *v = command_args_get(&call->args, name);

    return v != NULL && v->n > 0 ? v->values[0] : NULL;
}

size_t
bridge_call_arg_count(struct bridge_call *call, const char *name)
{
    const struct command_arg_value *v = command_args_get(&call->args, name);

    return v != NULL ? v->n : 0;
}

const char *
bridge_call_arg_at(struct bridge_call *call, const char *name, size_t i)
{
    const struct command_arg_value *v = command_args_get(&call->args, name);

    return v != NULL && i < v->n ? v->values[i] : NULL;
}

unsigned
bridge_call_arg_type(struct bridge_call *call, const char *name)
{
    const struct command_arg_value *v = command_args_get(&call->args, name);

    return v != NULL ? v->type : 0;
}

const char *
bridge_call_sender(struct bridge_call *call)
{
    return call->sender;
}

const char *
bridge_call_room(struct bridge_call *call)
{
    return call->room_id;
}

struct json_object *
bridge_call_reply_content(struct bridge_call *call)
{
    return call->reply;
}

uv_loop_t *
bridge_call_loop(struct bridge_call *call)
{
    return call->inst->host->loop;
}

void
bridge_call_attach(struct bridge_call *call, void *data, void (*free_fn)(void *data))
{
    if (call->attached_free != NULL)
        abort(); /* one per call (bridge.h) */
    call->attached = data;
    call->attached_free = free_fn;
}

/* Links a new op to its call. */
static struct bridge_op *
bridge_op_new(struct bridge_call *call, enum bridge_op_kind kind, void *cb, void *arg)
{
    struct bridge_op *op = xcalloc(1, sizeof(*op));

    op->call = call;
    op->kind = kind;
    op->cb = cb;
    op->arg = arg;
    op->next = call->ops;
    if (op->next != NULL)
        op->next->pprev = &op->next;
    op->pprev = &call->ops;
    call->ops = op;
    return op;
}

/* Unlinks an op from its call (if it still has one). */
static void
bridge_op_unlink(struct bridge_op *op)
{
    if (op->pprev != NULL) {
        *op->pprev = op->next;
        if (op->next != NULL)
            op->next->pprev = op->pprev;
        op->pprev = NULL;
    }
}

static void
bridge_op_free(struct bridge_op *op)
{
    free(op->body);
    free(op->server);
    free(op->media_id);
    free(op);
}

void
bridge_call_cancel_ops(struct bridge_call *call)
{
    while (call->ops != NULL) {
        struct bridge_op *op = call->ops;

        bridge_op_unlink(op);
        switch (op->kind) {
        case BRIDGE_OP_HTTP:
            tool_http_cancel(op->handle);
            bridge_op_free(op);
            break;
        case BRIDGE_OP_DNS:
            dns_query_cancel(op->handle);
            bridge_op_free(op);
            break;
        case BRIDGE_OP_MEDIA:
            hs_client_cancel(op->handle);
            bridge_op_free(op);
            break;
        case BRIDGE_OP_WORK:
            op->call = NULL; /* the pool still owns it; its after frees it */
            break;
        }
    }
}

static void
bridge_op_on_http(const struct tool_http_response *res, void *arg)
{
    struct bridge_op *op = arg;
    struct bridge_call *call = op->call;
    void (*cb)(struct bridge_call *, const struct tool_http_response *, void *) = op->cb;
    void *cb_arg = op->arg;

    bridge_op_unlink(op);
    bridge_op_free(op);
    if (call != NULL && call->phase == BRIDGE_CALL_RUNNING)
        cb(call, res, cb_arg);
}

void
bridge_http(struct bridge_call *call, const struct tool_http_request *req,
            void (*cb)(struct bridge_call *call, const struct tool_http_response *res, void *arg), void *arg)
{
    struct bridge_op *op;
    struct tool_http *th;
    char *cause = NULL;

    if ((th = bridge_host_http(call->inst, &cause)) == NULL) {
        bridge_fail(call, cause, "%s cannot make HTTP requests (see the log)", call->inst->bridge->displayname);
        free(cause);
        return;
    }
    op = bridge_op_new(call, BRIDGE_OP_HTTP, (void *)cb, arg);
    /* tool_http borrows the body until its callback, which never runs for
     * a call cancelled by a timeout: the op owns a copy, freed with it
     * after the request is over either way, so the bridge need not keep
     * its own. */
    if (req->body != NULL) {
        struct tool_http_request copy = *req;

        op->body = xmalloc(req->body_len > 0 ? req->body_len : 1);
        memcpy(op->body, req->body, req->body_len);
        copy.body = op->body;
        op->handle = tool_http_request(th, &copy, bridge_op_on_http, op);
        return;
    }
    op->handle = tool_http_request(th, req, bridge_op_on_http, op);
}

static void
bridge_op_on_dns(const struct dns_answer *answer, void *arg)
{
    struct bridge_op *op = arg;
    struct bridge_call *call = op->call;
    void (*cb)(struct bridge_call *, const struct dns_answer *, void *) = op->cb;
    void *cb_arg = op->arg;

    bridge_op_unlink(op);
    bridge_op_free(op);
    if (call != NULL && call->phase == BRIDGE_CALL_RUNNING)
        cb(call, answer, cb_arg);
}

void
bridge_dns(struct bridge_call *call, const char *name, int type,
           void (*cb)(struct bridge_call *call, const struct dns_answer *answer, void *arg), void *arg)
{
    struct bridge_op *op;
    struct dns_resolver *r;
    char *cause = NULL;

    if ((r = bridge_host_dns(call->inst, &cause)) == NULL) {
        bridge_fail(call, cause, "%s cannot resolve names (see the log)", call->inst->bridge->displayname);
        free(cause);
        return;
    }
    op = bridge_op_new(call, BRIDGE_OP_DNS, (void *)cb, arg);
    op->handle = dns_resolver_query(r, name, type, bridge_op_on_dns, op);
}

static void
bridge_op_work(uv_work_t *work)
{
    struct bridge_op *op = (struct bridge_op *)work;

    op->work_fn(op->arg);
}

static void
bridge_op_after_work(uv_work_t *work, int status)
{
    struct bridge_op *op = (struct bridge_op *)work;
    struct bridge_call *call = op->call;
    void (*after)(struct bridge_call *, void *) = op->cb;
    void *arg = op->arg;

    (void)status;
    bridge_op_unlink(op);
    bridge_op_free(op);
    /* Orphaned (the call ended meanwhile): after still frees arg. */
    after(call != NULL && call->phase == BRIDGE_CALL_RUNNING ? call : NULL, arg);
}

void
bridge_work(struct bridge_call *call, void (*work)(void *arg), void (*after)(struct bridge_call *call, void *arg),
            void *arg)
{
    struct bridge_op *op = bridge_op_new(call, BRIDGE_OP_WORK, (void *)after, arg);

    op->work_fn = work;
    if (uv_queue_work(bridge_call_loop(call), &op->work, bridge_op_work, bridge_op_after_work) != 0)
        abort(); /* only invalid arguments make it fail */
}

static void bridge_media_request(struct bridge_op *op);

static void
bridge_op_on_media(const struct hs_response *res, void *arg)
{
    struct bridge_op *op = arg;
    struct bridge_call *call = op->call;
    void (*cb)(struct bridge_call *, const void *, size_t, const char *, const char *, void *) = op->cb;
    void *cb_arg = op->arg;
    size_t max = op->max < SIZE_MAX ? op->max : SIZE_MAX - 1;
    char *why = NULL;

    op->handle = NULL;
    /* Servers before Matrix 1.11 have no authenticated media endpoint. */
    if (!op->legacy && (res->status == 404 || res->status == 400 || res->status == 405) &&
        (res->error.errcode == NULL || strcmp(res->error.errcode, "M_UNRECOGNIZED") == 0)) {
        op->legacy = 1;
        bridge_media_request(op);
        return;
    }
    bridge_op_unlink(op);
    bridge_op_free(op);
    if (call == NULL || call->phase != BRIDGE_CALL_RUNNING)
        return;
    if (hs_response_ok(res)) {
        cb(call, res->raw, res->raw_len, res->content_type, NULL, cb_arg);
        return;
    }
    why = hs_error_describe(&res->error);
    /* curl stops a body larger than max (at once when Content-Length says
     * so); tell the bridge by the length, as bridge.h promises. */
    cb(call, NULL, res->error.curl_code == CURLE_FILESIZE_EXCEEDED ? max + 1 : 0, NULL, why, cb_arg);
    free(why);
}

static void
bridge_media_request(struct bridge_op *op)
{
    struct bridge_call *call = op->call;
    struct bridge_host *h = call->inst->host;
    struct hs_request req = {0};
    char *path = op->legacy ? hs_client_path("/_matrix/media/v3/download/%s/%s", op->server, op->media_id)
                            : hs_client_path("/_matrix/client/v1/media/download/%s/%s", op->server, op->media_id);

    req.method = "GET";
    req.path = path;
    req.user_id = call->inst->bot != NULL ? call->inst->bot->user_id : NULL;
    req.max_response = op->max;
    req.timeout_ms = 120000;
    req.retry = HS_RETRY_NONE;
    op->handle = hs_client_request(h->hc, &req, bridge_op_on_media, op);
    free(path);
}

void
bridge_media(struct bridge_call *call, const char *mxc_uri, size_t max,
             void (*cb)(struct bridge_call *call, const void *data, size_t len, const char *content_type,
                        const char *error, void *arg),
             void *arg)
{
    const char *p = mxc_uri, *slash;
    struct bridge_op *op;

    if (strncmp(p, "mxc://", 6) != 0 || (slash = strchr(p + 6, '/')) == NULL || slash == p + 6 || slash[1] == '\0' ||
        strchr(slash + 1, '/') != NULL) {
        bridge_fail(call, NULL, "\"%s\" is not a Matrix file address (mxc://server/id)", mxc_uri);
        return;
    }
    op = bridge_op_new(call, BRIDGE_OP_MEDIA, (void *)cb, arg);
    op->server = xstrndup(p + 6, (size_t)(slash - p - 6));
    op->media_id = xstrdup(slash + 1);
    op->max = max;
    bridge_media_request(op);
}

void
bridge_progress(struct bridge_call *call, const char *fmt, ...)
{
    va_list ap;
    char *text;

    if (call->phase != BRIDGE_CALL_RUNNING || call->cb.progress == NULL)
        return;
    va_start(ap, fmt);
    text = xvasprintf(fmt, ap);
    va_end(ap);
    call->cb.progress(text, call->cb.arg);
    free(text);
}

void
bridge_done(struct bridge_call *call, struct bridge_result *result)
{
    if (call->phase != BRIDGE_CALL_RUNNING) {
        /* Ended before (a timeout): the late answer is dropped. */
        bridge_result_free(result);
        return;
    }
    call->result = result;
    bridge_host_end(call);
}

void
bridge_fail(struct bridge_call *call, const char *detail, const char *fmt, ...)
{
    va_list ap;

    if (call->phase != BRIDGE_CALL_RUNNING)
        return;
    va_start(ap, fmt);
    call->error = xvasprintf(fmt, ap);
    va_end(ap);
    if (detail != NULL)
        log_warn("bridges: %s %s for %s: %s (%s)", call->inst->bridge->name, call->cmd->name, call->sender, call->error,
                 detail);
    else
        log_info("bridges: %s %s for %s: %s", call->inst->bridge->name, call->cmd->name, call->sender, call->error);
    bridge_host_end(call);
}

void
bridge_fail_http(struct bridge_call *call, const char *tool, const struct tool_http_response *res)
{
    struct json_object *v;
    const char *said = NULL;

    switch (res->failure) {
    case TOOL_HTTP_BLOCKED:
        bridge_fail(call, res->error, "%s was not asked: its address is on an internal network", tool);
        return;
    case TOOL_HTTP_TIMEOUT:
        bridge_fail(call, res->error, "%s took too long to answer", tool);
        return;
    case TOOL_HTTP_TOO_LARGE:
        bridge_fail(call, res->error, "%s answered with more data than warroom accepts", tool);
        return;
    case TOOL_HTTP_NETWORK:
        bridge_fail(call, res->error, "%s cannot be reached (%s)", tool, res->error != NULL ? res->error : "network");
        return;
    case TOOL_HTTP_OK:
        break;
    }
    /* The tool's own message, if its error body has one. */
    if (res->json != NULL) {
        if (json_object_object_get_ex(res->json, "error", &v) && json_object_is_type(v, json_type_object))
            json_object_object_get_ex(v, "message", &v);
        if (v != NULL && json_object_is_type(v, json_type_string))
            said = json_object_get_string(v);
        else if (json_object_object_get_ex(res->json, "message", &v) && json_object_is_type(v, json_type_string))
            said = json_object_get_string(v);
        else if (json_object_object_get_ex(res->json, "errors", &v) && json_object_is_type(v, json_type_array) &&
                 json_object_array_length(v) > 0) {
            struct json_object *first = json_object_array_get_idx(v, 0), *detail;

            if (json_object_object_get_ex(first, "detail", &detail) && json_object_is_type(detail, json_type_string))
                said = json_object_get_string(detail);
        } else if (json_object_object_get_ex(res->json, "errorCode", &v)) {
            /* An RDAP error object (RFC 9083 section 6): the first line of
             * its description, or else its title. */
            struct json_object *line;

            if (json_object_object_get_ex(res->json, "description", &v) && json_object_is_type(v, json_type_array) &&
                (line = json_object_array_get_idx(v, 0)) != NULL && json_object_is_type(line, json_type_string) &&
                json_object_get_string_len(line) > 0)
                said = json_object_get_string(line);
            else if (json_object_object_get_ex(res->json, "title", &v) && json_object_is_type(v, json_type_string))
                said = json_object_get_string(v);
        }
    }
    if (res->status == 401 || res->status == 403) {
        bridge_fail(call, said, "%s refused the API key (HTTP %ld)", tool, res->status);
    } else if (res->status == 429) {
        if (res->retry_after_ms >= 0)
            bridge_fail(call, NULL, "%s's quota is used up (HTTP 429%s%s); try again in %lld s", tool,
                        said != NULL ? ": " : "", said != NULL ? said : "",
                        (long long)(res->retry_after_ms + 999) / 1000);
        else
            bridge_fail(call, NULL, "%s's quota is used up (HTTP 429%s%s)", tool, said != NULL ? ": " : "",
                        said != NULL ? said : "");
    } else if (res->status >= 500) {
        bridge_fail(call, said, "%s is failing (HTTP %ld); try again later", tool, res->status);
    } else if (res->status == 404) {
        bridge_fail(call, said, "%s has nothing about that (HTTP 404)", tool);
    } else if (res->status >= 200 && res->status < 300) {
        bridge_fail(call, "the body is not the JSON expected", "%s answered with something that is not JSON", tool);
    } else {
        bridge_fail(call, said, "%s refused the request (HTTP %ld%s%s)", tool, res->status, said != NULL ? ": " : "",
                    said != NULL ? said : "");
    }
}
