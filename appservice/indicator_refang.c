/*
 * Refanging: undoing the notations analysts use so that a chat client
 * does not turn an indicator into a link (hxxp://, evil[.]com,
 * user[at]example.com, [:]//).  The extractor works on the refanged copy
 * and reports offsets in the original, so the copy keeps a map from each
 * of its bytes back to where it came from.
 *
 * One pass, constant look-ahead at each byte: linear in the text.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "indicator_internal.h"
#include "xmalloc.h"

/* A bracketed notation and what it stands for.  The bracket forms are
 * unambiguous enough to undo anywhere; "dot" and "at" match in any case. */
struct indicator_refang_notation {
    const char *from;
    const char *to;
};

static const struct indicator_refang_notation indicator_refang_notations[] = {
    {"[.]", "."}, {"(.)", "."}, {"{.}", "."},  {"[dot]", "."}, {"(dot)", "."}, {"{dot}", "."}, {"[@]", "@"},
    {"(@)", "@"}, {"{@}", "@"}, {"[at]", "@"}, {"(at)", "@"},  {"{at}", "@"},  {"[:]", ":"},   {"[://]", "://"},
};

/* Returns the length of the "://" that follows a defanged scheme at p
 * (written "://", "[:]//" or "[://]"), or 0 if none does. */
static size_t
indicator_refang_separator(const char *p, size_t left)
{
    if (left >= 3 && memcmp(p, "://", 3) == 0)
        return 3;
    if (left >= 5 && (memcmp(p, "[:]//", 5) == 0 || memcmp(p, "[://]", 5) == 0))
        return 5;
    return 0;
}

/* Returns the length of a defanged scheme at text[i] (hxxp, hxxps, fxp in
 * any case, at the start of a word and followed by "://" in one of its
 * forms), or 0. */
static size_t
indicator_refang_scheme(const char *text, size_t len, size_t i)
{
    size_t n = 0;

    if (i > 0 && indicator_is_alnum((unsigned char)text[i - 1]))
        return 0;
    if (len - i >= 4 && strncasecmp(text + i, "hxxp", 4) == 0)
        n = len - i >= 5 && indicator_lower(text[i + 4]) == 's' ? 5 : 4;
    else if (len - i >= 3 && strncasecmp(text + i, "fxp", 3) == 0)
        n = 3;
    if (n == 0 || indicator_refang_separator(text + i + n, len - i - n) == 0)
        return 0;
    return n;
}

/* Refangs text into out->text, recording where each byte came from. */
void
indicator_refang_mapped(const char *text, size_t len, struct indicator_refanged *out)
{
    size_t i = 0, o = 0;

    /* No notation is shorter than what it stands for, so the copy never
     * grows. */
    out->text = xmalloc(len + 1);
    out->map = xmalloc((len + 1) * sizeof(out->map[0]));
    while (i < len) {
        unsigned char c = (unsigned char)text[i];
        size_t n = 0;

        /* The byte after the bracket rules out most brackets at once. */
        if ((c == '[' || c == '(' || c == '{') && i + 2 < len && strchr(".@:dDaA", text[i + 1]) != NULL) {
            for (size_t k = 0; k < sizeof(indicator_refang_notations) / sizeof(indicator_refang_notations[0]); k++) {
                const struct indicator_refang_notation *nt = &indicator_refang_notations[k];
                size_t flen = strlen(nt->from);

                if (len - i >= flen && strncasecmp(text + i, nt->from, flen) == 0) {
                    size_t tlen = strlen(nt->to);

                    /* The first byte maps to the opening bracket, the
                     * others to the bytes they were written as. */
                    for (size_t t = 0; t < tlen; t++) {
                        out->text[o] = nt->to[t];
                        out->map[o++] = t == 0 ? i : i + flen - tlen - 1 + t;
                    }
                    n = flen;
                    break;
                }
            }
        } else if (c == 'h' || c == 'H' || c == 'f' || c == 'F') {
            size_t slen = indicator_refang_scheme(text, len, i);

            /* hxxp and fxp: the x's become t's, in the same case. */
            for (size_t t = 0; t < slen; t++) {
                char ch = text[i + t];

                if ((t == 1 || (t == 2 && slen != 3)) && (ch == 'x' || ch == 'X'))
                    ch = ch == 'x' ? 't' : 'T';
                out->text[o] = ch;
                out->map[o++] = i + t;
            }
            n = slen;
        }
        if (n == 0) {
            out->text[o] = (char)c;
            out->map[o++] = i;
            n = 1;
        }
        i += n;
    }
    out->text[o] = '\0';
    out->map[o] = len;
    out->len = o;
}

/* Frees what indicator_refang_mapped() allocated; NULL is a no-op. */
void
indicator_refang_release(struct indicator_refanged *r)
{
    if (r == NULL)
        return;
    free(r->text);
    free(r->map);
    r->text = NULL;
    r->map = NULL;
    r->len = 0;
}

/* Refangs a NUL-terminated text (NULL gives ""). */
char *
indicator_refang(const char *text)
{
    struct indicator_refanged r;

    if (text == NULL)
        return xstrdup("");
    indicator_refang_mapped(text, strlen(text), &r);
    free(r.map);
    return r.text;
}
