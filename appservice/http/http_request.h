/*
 * Reading an inbound request: method, path segments (percent-decoded),
 * query parameters and headers.  Decoding is curl's (curl_easy_unescape),
 * never hand-written.
 */
#ifndef WARROOM_HTTP_REQUEST_H
#define WARROOM_HTTP_REQUEST_H

#include <stddef.h>

#include "h2o.h"

#define HTTP_REQUEST_MAX_SEGMENTS 12

/* A path split at '/', each segment percent-decoded. */
struct http_request_path {
    char *segments[HTTP_REQUEST_MAX_SEGMENTS];
    size_t n;
};

/* 1 if the request's method is method. */
int http_request_method_is(const h2o_req_t *req, const char *method);

/* The method as a NUL-terminated string (borrowed from req's pool). */
const char *http_request_method(h2o_req_t *req);

/*
 * Splits the path (without its query) into decoded segments.  Returns 0,
 * or -1 if there are too many segments or a segment decodes to a string
 * with a NUL byte.  Free with http_request_path_clear().
 */
int http_request_split_path(const h2o_req_t *req, struct http_request_path *path);
void http_request_path_clear(struct http_request_path *path);

/* The path without the query, for logs (borrowed from req's pool). */
const char *http_request_path_only(h2o_req_t *req);

/*
 * The decoded value of the first query parameter named name, or NULL.
 * '+' is read as a space, as form encoding says.  Returns allocated, free
 * with free().  *present (may be NULL) is set to whether the name occurs.
 */
char *http_request_query(const h2o_req_t *req, const char *name, int *present);

/* Calls cb for each query parameter, decoded; stops if cb returns non-zero. */
void http_request_query_each(const h2o_req_t *req, int (*cb)(const char *name, const char *value, void *arg),
                             void *arg);

/* The value of header token, or NULL; returns allocated, free with free(). */
char *http_request_header(const h2o_req_t *req, const h2o_token_t *token);

#endif
