/*
 * The parts of the bridge interface that do not depend on a running
 * call: verdict names and building results.  The call and its services
 * are in appservice/bridge_call.c.
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "appservice/xmalloc.h"
#include "bridges/bridge.h"

const char *
bridge_verdict_name(enum bridge_verdict v)
{
    switch (v) {
    case BRIDGE_VERDICT_INFO:
        return "info";
    case BRIDGE_VERDICT_SAFE:
        return "safe";
    case BRIDGE_VERDICT_SUSPICIOUS:
        return "suspicious";
    case BRIDGE_VERDICT_MALICIOUS:
        return "malicious";
    default:
        return "none";
    }
}

struct bridge_result *
bridge_result_new(const char *fmt, ...)
{
    struct bridge_result *r = xcalloc(1, sizeof(*r));
    va_list ap;

    va_start(ap, fmt);
    r->title = xvasprintf(fmt, ap);
    va_end(ap);
    return r;
}

void
bridge_result_verdict(struct bridge_result *r, enum bridge_verdict v)
{
    r->verdict = v;
}

void
bridge_result_summary(struct bridge_result *r, const char *fmt, ...)
{
    va_list ap;

    free(r->summary);
    va_start(ap, fmt);
    r->summary = xvasprintf(fmt, ap);
    va_end(ap);
}

void
bridge_result_columns(struct bridge_result *r, const char *first, ...)
{
    va_list ap;

    for (size_t i = 0; i < r->ncolumns; i++)
        free(r->columns[i]);
    free(r->columns);
    r->columns = NULL;
    r->ncolumns = 0;
    va_start(ap, first);
    for (const char *c = first; c != NULL; c = va_arg(ap, const char *)) {
        r->columns = xreallocarray(r->columns, r->ncolumns + 1, sizeof(*r->columns));
        r->columns[r->ncolumns++] = xstrdup(c);
    }
    va_end(ap);
}

void
bridge_result_row(struct bridge_result *r, const char *first, ...)
{
    char **row = xcalloc(r->ncolumns > 0 ? r->ncolumns : 1, sizeof(*row));
    size_t i = 0;
    va_list ap;

    va_start(ap, first);
    for (const char *c = first; c != NULL; c = va_arg(ap, const char *)) {
        if (i < r->ncolumns)
            row[i++] = xstrdup(c);
    }
    va_end(ap);
    for (; i < r->ncolumns; i++)
        row[i] = xstrdup("");
    r->rows = xreallocarray(r->rows, r->nrows + 1, sizeof(*r->rows));
    r->rows[r->nrows++] = row;
}

void
bridge_result_artifact(struct bridge_result *r, enum indicator_type type, const char *value)
{
    struct indicator_list *l = &r->artifacts;

    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i].type == type && strcmp(l->v[i].value, value) == 0)
            return;
    }
    l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
    memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
    l->v[l->n].type = type;
    l->v[l->n].value = xstrdup(value);
    l->n++;
}

void
bridge_result_raw(struct bridge_result *r, struct json_object *raw)
{
    json_object_put(r->raw);
    r->raw = raw;
}

void
bridge_result_code(struct bridge_result *r, const char *text)
{
    free(r->code);
    r->code = xstrdup(text);
}

void
bridge_result_max_age(struct bridge_result *r, uint64_t ms)
{
    if (!r->max_age_set || ms < r->max_age_ms)
        r->max_age_ms = ms;
    r->max_age_set = 1;
}

int
bridge_check_api_key(const char *key, const char *where, char **cause)
{
    if (key == NULL || key[0] == '\0') {
        *cause = xasprintf("api_key is required: %s", where);
        return -1;
    }
    if (strpbrk(key, "\r\n") != NULL) {
        *cause = xstrdup("api_key holds a line break");
        return -1;
    }
    return 0;
}

void
bridge_result_free(struct bridge_result *r)
{
    if (r == NULL)
        return;
    free(r->code);
    free(r->title);
    free(r->summary);
    for (size_t i = 0; i < r->ncolumns; i++)
        free(r->columns[i]);
    free(r->columns);
    for (size_t i = 0; i < r->nrows; i++) {
        for (size_t c = 0; c < r->ncolumns; c++)
            free(r->rows[i][c]);
        free(r->rows[i]);
    }
    free(r->rows);
    indicator_list_clear(&r->artifacts);
    json_object_put(r->raw);
    free(r);
}

struct json_object *
bridge_result_to_json(const struct bridge_result *r)
{
    struct json_object *o = json_object_new_object(), *cols = json_object_new_array();
    struct json_object *rows = json_object_new_array(), *arts = json_object_new_array();

    json_object_object_add(o, "title", json_object_new_string(r->title != NULL ? r->title : ""));
    json_object_object_add(o, "verdict", json_object_new_int(r->verdict));
    if (r->summary != NULL)
        json_object_object_add(o, "summary", json_object_new_string(r->summary));
    for (size_t c = 0; c < r->ncolumns; c++)
        json_object_array_add(cols, json_object_new_string(r->columns[c]));
    for (size_t i = 0; i < r->nrows; i++) {
        struct json_object *row = json_object_new_array();

        for (size_t c = 0; c < r->ncolumns; c++)
            json_object_array_add(row, json_object_new_string(r->rows[i][c]));
        json_object_array_add(rows, row);
    }
    for (size_t i = 0; i < r->artifacts.n; i++) {
        struct json_object *a = json_object_new_object();

        json_object_object_add(a, "type", json_object_new_int((int)r->artifacts.v[i].type));
        json_object_object_add(a, "value", json_object_new_string(r->artifacts.v[i].value));
        json_object_array_add(arts, a);
    }
    json_object_object_add(o, "columns", cols);
    json_object_object_add(o, "rows", rows);
    json_object_object_add(o, "artifacts", arts);
    if (r->raw != NULL)
        json_object_object_add(o, "raw", json_object_get(r->raw));
    if (r->code != NULL)
        json_object_object_add(o, "code", json_object_new_string(r->code));
    return o;
}

/* The string member key of o, or def. */
static const char *
bridge_json_string(struct json_object *o, const char *key, const char *def)
{
    struct json_object *v;

    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return def;
    return json_object_get_string(v);
}

struct bridge_result *
bridge_result_from_json(struct json_object *json)
{
    struct json_object *cols, *rows, *arts, *v;
    struct bridge_result *r;

    if (json == NULL || !json_object_is_type(json, json_type_object) ||
        !json_object_object_get_ex(json, "columns", &cols) || !json_object_is_type(cols, json_type_array) ||
        !json_object_object_get_ex(json, "rows", &rows) || !json_object_is_type(rows, json_type_array))
        return NULL;
    r = bridge_result_new("%s", bridge_json_string(json, "title", ""));
    if (json_object_object_get_ex(json, "verdict", &v))
        r->verdict = (enum bridge_verdict)json_object_get_int(v);
    if (bridge_json_string(json, "summary", NULL) != NULL)
        r->summary = xstrdup(bridge_json_string(json, "summary", NULL));
    r->ncolumns = json_object_array_length(cols);
    r->columns = xcalloc(r->ncolumns + 1, sizeof(*r->columns));
    for (size_t c = 0; c < r->ncolumns; c++)
        r->columns[c] = xstrdup(json_object_get_string(json_object_array_get_idx(cols, c)));
    for (size_t i = 0; i < json_object_array_length(rows); i++) {
        struct json_object *row = json_object_array_get_idx(rows, i);
        char **cells = xcalloc(r->ncolumns + 1, sizeof(*cells));

        for (size_t c = 0; c < r->ncolumns; c++) {
            struct json_object *cell = json_object_array_get_idx(row, c);

            cells[c] = xstrdup(cell != NULL ? json_object_get_string(cell) : "");
        }
        r->rows = xreallocarray(r->rows, r->nrows + 1, sizeof(*r->rows));
        r->rows[r->nrows++] = cells;
    }
    if (json_object_object_get_ex(json, "artifacts", &arts) && json_object_is_type(arts, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(arts); i++) {
            struct json_object *a = json_object_array_get_idx(arts, i), *t;

            if (json_object_object_get_ex(a, "type", &t) && bridge_json_string(a, "value", NULL) != NULL)
                bridge_result_artifact(r, (enum indicator_type)json_object_get_int(t),
                                       bridge_json_string(a, "value", NULL));
        }
    }
    if (json_object_object_get_ex(json, "raw", &v))
        r->raw = json_object_get(v);
    if (bridge_json_string(json, "code", NULL) != NULL)
        r->code = xstrdup(bridge_json_string(json, "code", NULL));
    return r;
}
