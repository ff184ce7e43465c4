/*
 * Canonical JSON encoding; see canonical_json.h for the exact form.  The
 * encoder walks json-c's tree itself, because json-c's own printer keeps
 * insertion order and escapes '/'.
 */
#include "autoconfig.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/canonical_json.h"
#include "xmalloc.h"

/* The output being built. */
struct canonical_json_buf {
    char *data;
    size_t len, cap;
};

/* Appends n bytes. */
static void
canonical_json_put(struct canonical_json_buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap == 0 ? 256 : b->cap;

        while (b->len + n + 1 > cap)
            cap *= 2;
        b->data = xrealloc(b->data, cap);
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

/* Appends a NUL-terminated string. */
static void
canonical_json_puts(struct canonical_json_buf *b, const char *s)
{
    canonical_json_put(b, s, strlen(s));
}

/*
 * The length of the valid UTF-8 sequence at s (n bytes available), or 0 if
 * it is not one: overlong forms, surrogates (U+D800..U+DFFF) and values
 * beyond U+10FFFF are invalid, as RFC 3629 says.
 */
static size_t
canonical_json_utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xbf;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        need = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (n < need || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < need; i++) {
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    }
    return need;
}

/* Appends s (n bytes) as a JSON string.  Returns 0, or -1 with *cause on
 * invalid UTF-8 when not lossy. */
static int
canonical_json_string(struct canonical_json_buf *b, const char *s, size_t n, unsigned flags, char **cause)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    canonical_json_put(b, "\"", 1);
    while (i < n) {
        unsigned char c = p[i];
        size_t l;
        char esc[8];

        switch (c) {
        case '"':
            canonical_json_put(b, "\\\"", 2);
            i++;
            continue;
        case '\\':
            canonical_json_put(b, "\\\\", 2);
            i++;
            continue;
        case '\b':
            canonical_json_put(b, "\\b", 2);
            i++;
            continue;
        case '\t':
            canonical_json_put(b, "\\t", 2);
            i++;
            continue;
        case '\n':
            canonical_json_put(b, "\\n", 2);
            i++;
            continue;
        case '\f':
            canonical_json_put(b, "\\f", 2);
            i++;
            continue;
        case '\r':
            canonical_json_put(b, "\\r", 2);
            i++;
            continue;
        default:
            break;
        }
        if (c < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            canonical_json_put(b, esc, 6);
            i++;
            continue;
        }
        if ((l = canonical_json_utf8_len(p + i, n - i)) == 0) {
            if (!(flags & CANONICAL_JSON_LOSSY)) {
                *cause = xasprintf("a string is not valid UTF-8 (byte 0x%02x at offset %zu)", c, i);
                return -1;
            }
            canonical_json_put(b, "\xef\xbf\xbd", 3);
            i++;
            continue;
        }
        canonical_json_put(b, p + i, l);
        i += l;
    }
    canonical_json_put(b, "\"", 1);
    return 0;
}

/* Orders object keys by their bytes (strcmp compares as unsigned char). */
static int
canonical_json_key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Appends v.  Returns 0, or -1 with *cause. */
static int
canonical_json_value(struct canonical_json_buf *b, struct json_object *v, unsigned flags, int depth, char **cause)
{
    char num[32];
    int ret = -1;

    /* json-c's parser stops at depth 32 by default; a deeper tree can only
     * be built by hand, and would only exhaust the stack here. */
    if (depth > 64) {
        *cause = xstrdup("the value is nested more than 64 levels deep");
        return -1;
    }
    switch (json_object_get_type(v)) {
    case json_type_null:
        canonical_json_puts(b, "null");
        return 0;
    case json_type_boolean:
        canonical_json_puts(b, json_object_get_boolean(v) ? "true" : "false");
        return 0;
    case json_type_double:
        *cause = xasprintf("%s is not an integer (canonical JSON has no fractions)", json_object_to_json_string(v));
        return -1;
    case json_type_int: {
        int64_t n = json_object_get_int64(v);

        /* A uint64 beyond INT64_MAX reads as INT64_MAX: out of range too. */
        if (n > CANONICAL_JSON_MAX_INT || n < -CANONICAL_JSON_MAX_INT) {
            *cause =
                xasprintf("the integer %s is out of canonical JSON's range (2^53 - 1)", json_object_to_json_string(v));
            return -1;
        }
        snprintf(num, sizeof(num), "%" PRId64, n);
        canonical_json_puts(b, num);
        return 0;
    }
    case json_type_string:
        return canonical_json_string(b, json_object_get_string(v), (size_t)json_object_get_string_len(v), flags, cause);
    case json_type_array: {
        size_t n = json_object_array_length(v);

        canonical_json_put(b, "[", 1);
        for (size_t i = 0; i < n; i++) {
            if (i > 0)
                canonical_json_put(b, ",", 1);
            if (canonical_json_value(b, json_object_array_get_idx(v, i), flags, depth + 1, cause) != 0)
                return -1;
        }
        canonical_json_put(b, "]", 1);
        return 0;
    }
    case json_type_object: {
        size_t n = (size_t)json_object_object_length(v), i = 0;
        const char **keys = xcalloc(n > 0 ? n : 1, sizeof(*keys));

        json_object_object_foreach(v, key, val)
        {
            (void)val;
            keys[i++] = key;
        }
        qsort(keys, n, sizeof(*keys), canonical_json_key_cmp);
        canonical_json_put(b, "{", 1);
        for (i = 0; i < n; i++) {
            if (i > 0)
                canonical_json_put(b, ",", 1);
            if (canonical_json_string(b, keys[i], strlen(keys[i]), flags, cause) != 0)
                goto out_object;
            canonical_json_put(b, ":", 1);
            if (canonical_json_value(b, json_object_object_get(v, keys[i]), flags, depth + 1, cause) != 0)
                goto out_object;
        }
        canonical_json_put(b, "}", 1);
        ret = 0;
    out_object:
        free(keys);
        return ret;
    }
    }
    *cause = xstrdup("a value of an unknown JSON type");
    return -1;
}

char *
canonical_json_encode(struct json_object *v, unsigned flags, size_t *len, char **cause)
{
    struct canonical_json_buf b = {0};

    if (canonical_json_value(&b, v, flags, 0, cause) != 0) {
        free(b.data);
        return NULL;
    }
    if (len != NULL)
        *len = b.len;
    return b.data;
}
