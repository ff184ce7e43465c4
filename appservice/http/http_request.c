/*
 * Reading inbound requests; see http_request.h.
 */
#include "autoconfig.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_request.h"
#include "xmalloc.h"

int
http_request_method_is(const h2o_req_t *req, const char *method)
{
    return h2o_memis(req->method.base, req->method.len, method, strlen(method));
}

const char *
http_request_method(h2o_req_t *req)
{
    return h2o_strdup(&req->pool, req->method.base, req->method.len).base;
}

const char *
http_request_path_only(h2o_req_t *req)
{
    size_t len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;

    return h2o_strdup(&req->pool, req->path.base, len).base;
}

/* Percent-decodes s[0..len), with '+' as a space when plus is set.
 * Returns allocated, or NULL if the result holds a NUL byte. */
static char *
http_request_decode(const char *s, size_t len, int plus)
{
    char *copy = xstrndup(s, len), *out;
    int outlen = 0;
    char *decoded;

    if (plus) {
        for (char *p = copy; *p != '\0'; p++) {
            if (*p == '+')
                *p = ' ';
        }
    }
    decoded = curl_easy_unescape(NULL, copy, (int)len, &outlen);
    free(copy);
    if (decoded == NULL)
        abort(); /* curl only fails to allocate */
    if (memchr(decoded, '\0', (size_t)outlen) != NULL) {
        curl_free(decoded);
        return NULL;
    }
    out = xstrndup(decoded, (size_t)outlen);
    curl_free(decoded);
    return out;
}

int
http_request_split_path(const h2o_req_t *req, struct http_request_path *path)
{
    size_t len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    const char *p = req->path.base, *end = p + len;

    memset(path, 0, sizeof(*path));
    if (p < end && *p == '/')
        p++;
    while (p < end) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        const char *seg_end = slash != NULL ? slash : end;

        if (path->n == HTTP_REQUEST_MAX_SEGMENTS)
            goto fail;
        /* A trailing slash gives no empty last segment. */
        if (seg_end == end && seg_end == p)
            break;
        path->segments[path->n] = http_request_decode(p, (size_t)(seg_end - p), 0);
        if (path->segments[path->n] == NULL)
            goto fail;
        path->n++;
        p = slash != NULL ? slash + 1 : end;
    }
    return 0;
fail:
    http_request_path_clear(path);
    return -1;
}

void
http_request_path_clear(struct http_request_path *path)
{
    for (size_t i = 0; i < path->n; i++)
        free(path->segments[i]);
    memset(path, 0, sizeof(*path));
}

void
http_request_query_each(const h2o_req_t *req, int (*cb)(const char *name, const char *value, void *arg), void *arg)
{
    const char *p, *end;

    if (req->query_at == SIZE_MAX)
        return;
    p = req->path.base + req->query_at + 1;
    end = req->path.base + req->path.len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pair_end = amp != NULL ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(pair_end - p));
        char *name = http_request_decode(p, (size_t)((eq != NULL ? eq : pair_end) - p), 1);
        char *value = eq != NULL ? http_request_decode(eq + 1, (size_t)(pair_end - eq - 1), 1) : xstrdup("");
        int stop = 0;

        if (name != NULL && value != NULL && name[0] != '\0')
            stop = cb(name, value, arg);
        free(name);
        free(value);
        if (stop)
            return;
        p = pair_end + 1;
    }
}

struct http_request_find {
    const char *name;
    char *value;
    int present;
};

static int
http_request_find_cb(const char *name, const char *value, void *arg)
{
    struct http_request_find *f = arg;

    if (strcmp(name, f->name) != 0)
        return 0;
    f->value = xstrdup(value);
    f->present = 1;
    return 1;
}

char *
http_request_query(const h2o_req_t *req, const char *name, int *present)
{
    struct http_request_find f = {.name = name};

    http_request_query_each(req, http_request_find_cb, &f);
    if (present != NULL)
        *present = f.present;
    return f.value;
}

char *
http_request_header(const h2o_req_t *req, const h2o_token_t *token)
{
    ssize_t i = h2o_find_header(&req->headers, token, -1);

    if (i < 0)
        return NULL;
    return xstrndup(req->headers.entries[i].value.base, req->headers.entries[i].value.len);
}
