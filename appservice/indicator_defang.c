/*
 * Defanging: writing an indicator so that no chat client turns it into a
 * link or a mailto: (hxxps://www.evil[.]com/path, 1.2.3[.]4,
 * user[@]example[.]com, 2001:db8::[:]1), for one value or for every
 * indicator in a text.  Only the notations undone by indicator_refang()
 * are used, so refanging a defanged value gives the value back.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "indicator.h"
#include "indicator_internal.h"
#include "xmalloc.h"

/* A growing output string. */
struct indicator_defang_buf {
    char *s;
    size_t n;
    size_t cap;
};

/* Appends len bytes of p. */
static void
indicator_defang_put(struct indicator_defang_buf *b, const char *p, size_t len)
{
    if (b->n + len + 1 > b->cap) {
        while (b->n + len + 1 > b->cap)
            b->cap = b->cap == 0 ? 64 : b->cap * 2;
        b->s = xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->n, p, len);
    b->n += len;
    b->s[b->n] = '\0';
}

/* Returns the offset of the last c in s[from..to), or SIZE_MAX. */
static size_t
indicator_defang_last(const char *s, size_t from, size_t to, char c)
{
    for (size_t i = to; i > from; i--)
        if (s[i - 1] == c)
            return i - 1;
    return SIZE_MAX;
}

/* Returns the offset of the dot to defang in the host s[from..to): the
 * last one, but not the root's ("evil.com." defangs the dot before
 * "com"), or SIZE_MAX. */
static size_t
indicator_defang_dot(const char *s, size_t from, size_t to)
{
    if (to > from && s[to - 1] == '.')
        to--;
    return indicator_defang_last(s, from, to, '.');
}

/* Turns every scheme (http, https, ftp, any case) followed by "://" at
 * the start of a word in s[from..len) into hxxp, hxxps, fxp, in place. */
static void
indicator_defang_schemes(char *s, size_t from, size_t len)
{
    for (size_t i = from; i < len; i++) {
        size_t n;

        if (i > 0 && indicator_is_alpha((unsigned char)s[i - 1]))
            continue;
        if ((n = indicator_valid_scheme(s + i, len - i)) == 0)
            continue;
        for (size_t k = i; k < i + n; k++)
            if (s[k] == 't' || s[k] == 'T')
                s[k] = s[k] == 't' ? 'x' : 'X';
        i += n - 1;
    }
}

/* Returns allocated (free with free()) s[0..len), a refanged value of the
 * given single type, defanged. */
static char *
indicator_defang_span(const char *s, size_t len, unsigned type)
{
    struct indicator_defang_buf b = {0};
    char *v = xstrndup(s, len);
    size_t dot = SIZE_MAX, at = SIZE_MAX, colon = SIZE_MAX;

    switch (type) {
    case IND_IPV4:
    case IND_DOMAIN:
        dot = indicator_defang_dot(v, 0, len);
        break;
    case IND_IPV6:
        colon = indicator_defang_last(v, 0, len, ':');
        break;
    case IND_EMAIL:
        at = indicator_defang_last(v, 0, len, '@');
        if (at != SIZE_MAX)
            dot = indicator_defang_dot(v, at + 1, len);
        break;
    case IND_URL: {
        size_t slen = indicator_valid_scheme(v, len), a = slen + 3, ae = a, h, he;

        if (slen == 0)
            break;
        while (ae < len && strchr("/?#", v[ae]) == NULL)
            ae++;
        at = indicator_defang_last(v, a, ae, '@');
        h = at != SIZE_MAX ? at + 1 : a;
        if (h < ae && v[h] == '[') {
            /* IPv6 literal: its last colon, inside the brackets. */
            const char *close = memchr(v + h, ']', ae - h);

            he = close != NULL ? (size_t)(close - v) : ae;
            colon = indicator_defang_last(v, h, he, ':');
        } else {
            const char *port = memchr(v + h, ':', ae - h);

            he = port != NULL ? (size_t)(port - v) : ae;
            dot = indicator_defang_dot(v, h, he);
        }
        /* The scheme, and any URL embedded later in it (a redirect's
         * target), which clients would otherwise link. */
        indicator_defang_schemes(v, 0, len);
        break;
    }
    default:
        break;
    }
    for (size_t i = 0; i < len; i++) {
        if (i == dot)
            indicator_defang_put(&b, "[.]", 3);
        else if (i == at)
            indicator_defang_put(&b, "[@]", 3);
        else if (i == colon)
            indicator_defang_put(&b, "[:]", 3);
        else
            indicator_defang_put(&b, v + i, 1);
    }
    if (b.s == NULL)
        b.s = xstrdup("");
    free(v);
    return b.s;
}

/* Defangs one value (refanged first, so defanging twice changes nothing). */
char *
indicator_defang(const char *value, unsigned type)
{
    char *v, *out;

    if (value == NULL)
        return xstrdup("");
    /* Not one indicator type (0, a group, IND_FILE, IND_TEXT): find out
     * what it is. */
    if ((type & IND_ANY_INDICATOR) == 0 || (type & (type - 1)) != 0)
        type = indicator_detect(value, NULL);
    v = indicator_refang(value);
    out = indicator_defang_span(v, strlen(v), type);
    free(v);
    return out;
}

/* Defangs every indicator of a text in place of what was written. */
char *
indicator_defang_text(const char *text)
{
    struct indicator_refanged r = {0};
    struct indicator_span_list spans = {0};
    struct indicator_defang_buf b = {0};
    size_t pos = 0;

    if (text == NULL)
        return xstrdup("");
    indicator_refang_mapped(text, strlen(text), &r);
    indicator_scan(&r, &spans);
    /* Each occurrence, not each distinct value: indicator_scan() does not
     * deduplicate.  What lies between them is copied unchanged, and each
     * one is defanged as written (its case kept), not as normalised. */
    for (size_t i = 0; i < spans.n; i++) {
        const struct indicator_span *sp = &spans.v[i];
        char *d = indicator_defang_span(r.text + sp->start, sp->end - sp->start, sp->type);

        indicator_defang_put(&b, text + pos, r.map[sp->start] - pos);
        indicator_defang_put(&b, d, strlen(d));
        free(d);
        pos = r.map[sp->end];
    }
    indicator_defang_put(&b, text + pos, r.map[r.len] - pos);
    free(spans.v);
    indicator_refang_release(&r);
    return b.s;
}
