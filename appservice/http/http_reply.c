/*
 * Sending answers through h2o; see http_reply.h.
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_reply.h"
#include "xmalloc.h"

const char *
http_reply_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Payload Too Large";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    default:
        return "Status";
    }
}

void
http_reply_text(h2o_req_t *req, int status, const char *content_type, const char *body, size_t len)
{
    static h2o_generator_t generator = {NULL, NULL};
    h2o_iovec_t buf = h2o_strdup(&req->pool, body, len);

    req->res.status = status;
    req->res.reason = http_reply_reason(status);
    req->res.content_length = buf.len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type, strlen(content_type));
    h2o_start_response(req, &generator);
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")))
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
    else
        h2o_send(req, &buf, 1, H2O_SEND_STATE_FINAL);
}

void
http_reply_json_text(h2o_req_t *req, int status, const char *json)
{
    http_reply_text(req, status, "application/json", json, strlen(json));
}

void
http_reply_json(h2o_req_t *req, int status, struct json_object *body)
{
    size_t len;
    const char *s =
        json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

    http_reply_text(req, status, "application/json", s, len);
}

void
http_reply_error(h2o_req_t *req, int status, const char *errcode, const char *fmt, ...)
{
    struct json_object *o = json_object_new_object();
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    msg = xvasprintf(fmt, ap);
    va_end(ap);
    json_object_object_add(o, "errcode", json_object_new_string(errcode));
    json_object_object_add(o, "error", json_object_new_string(msg));
    http_reply_json(req, status, o);
    json_object_put(o);
    free(msg);
}
