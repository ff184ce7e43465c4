/*
 * Answers to HTTP requests: JSON bodies, Matrix errors ({"errcode":...,
 * "error":...}) and plain text.  Every reply sets Content-Length and the
 * content type, and is sent at once.
 */
#ifndef WARROOM_HTTP_REPLY_H
#define WARROOM_HTTP_REPLY_H

#include <json-c/json.h>

#include "h2o.h"

/* Sends body (borrowed) as JSON with the given status. */
void http_reply_json(h2o_req_t *req, int status, struct json_object *body);

/* Sends a JSON text that is already serialized. */
void http_reply_json_text(h2o_req_t *req, int status, const char *json);

/* Sends {"errcode": errcode, "error": <message>}. */
void http_reply_error(h2o_req_t *req, int status, const char *errcode, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Sends a body of the given content type. */
void http_reply_text(h2o_req_t *req, int status, const char *content_type, const char *body, size_t len);

/* The reason phrase for a status ("Not Found"). */
const char *http_reply_reason(int status);

#endif
