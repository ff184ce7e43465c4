/*
 * Finding indicators in a refanged text without mistaking prose for them.
 *
 * One scanner per kind (URLs, e-mail addresses, Matrix IDs, IPv4, IPv6,
 * domains, hashes, CVE IDs, AS numbers) walks the text once and proposes
 * candidate spans; each candidate is validated (indicator_valid.c) and
 * must stand alone: the bytes on either side may not continue a word
 * (ASCII letters, digits and '_', and non-ASCII letters and digits of
 * scripts written with spaces, so that "bücher.de" does not yield
 * "cher.de" while Chinese text glued to "evil.com" still does).  The
 * candidates are then sorted, and where two overlap the one that starts
 * first wins (at the same start, the longer, then the more specific type):
 * so a URL covers its host, an e-mail address its domain, an IPv6 address
 * the IPv4 address embedded in it.  Matrix IDs (@alice:example.org,
 * #room:example.org, !id:example.org) are candidates too, so that they
 * cover the homeserver name in them, but they are never reported: a
 * mention of a colleague is not an indicator, and reporting the
 * homeserver's own domain in every mention would bury the real ones.
 *
 * Every scanner is linear: each one continues after the run it looked
 * at, and the URL scanner remembers where the current run of URL
 * characters ends, so 1 MB of hostile text costs milliseconds.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unictype.h>
#include <unistr.h>

#include "indicator_internal.h"
#include "xmalloc.h"

/* Not an indicator type: a Matrix ID, which covers what is inside it but
 * is dropped from the result. */
#define INDICATOR_SCAN_MATRIX (1u << 30)

/* The state of one scan. */
struct indicator_scan {
    const struct indicator_refanged *r;
    const char *t; /* r->text */
    size_t len;
    struct indicator_span_list cands;
    /* The URL scanner's memory: no URL terminator lies in
     * [stop_from, stop_at), and stop_at is one (or the end). */
    size_t stop_from;
    size_t stop_at;
};

/*
 * Top-level domains that are also common file extensions (install.sh,
 * invoice.zip, clip.mov, main.rs, README.md, libfoo.so, Makefile.am,
 * configure.ac, Safari.app, invoice.one, id_rsa.pub, malware.cab) or,
 * for the last four, member names in code snippets (user.id, response.data,
 * list.map, file.name).  A two-label name ending in one of them is taken
 * for a domain only when written defanged, inside a URL or e-mail
 * address, or with three labels or more.  Extensions whose TLDs are
 * popular with phishing (.cc, .ai, .in, .pt, .ml) are deliberately not
 * listed: missing evil.cc costs more than flagging main.cc.
 */
static const char *const indicator_scan_ambiguous_tlds[] = {
    "ac",  "am", "app", "cab", "md", "mk", "mov", "one",  "pl", "pm",  "ps",
    "pub", "py", "rs",  "sh",  "so", "tf", "zip", "data", "id", "map", "name",
};

/* Scripts written without spaces between words: a letter of theirs next
 * to an indicator does not make it part of a word. */
static const char *const indicator_scan_spaceless_scripts[] = {"Han", "Hiragana", "Katakana", "Thai",
                                                               "Lao", "Khmer",    "Myanmar"};

/* 1 if c is a byte of set (a NUL is in no set). */
static int
indicator_scan_in(char c, const char *set)
{
    return c != '\0' && strchr(set, c) != NULL;
}

/* 1 if c may be part of a host name run. */
static int
indicator_scan_host_char(char c)
{
    return indicator_is_alnum((unsigned char)c) || c == '-' || c == '.';
}

/* 1 if c may be part of the local part of an e-mail address. */
static int
indicator_scan_local_char(char c)
{
    return indicator_is_alnum((unsigned char)c) || indicator_scan_in(c, "._%+-_");
}

/* 1 if the non-ASCII code point uc continues a word. */
static int
indicator_scan_unicode_word(ucs4_t uc)
{
    const uc_script_t *script;

    if (!uc_is_alnum(uc))
        return 0;
    script = uc_script(uc);
    if (script == NULL)
        return 1;
    for (size_t i = 0; i < sizeof(indicator_scan_spaceless_scripts) / sizeof(indicator_scan_spaceless_scripts[0]); i++)
        if (strcmp(script->name, indicator_scan_spaceless_scripts[i]) == 0)
            return 0;
    return 1;
}

/* 1 if the character before pos continues a word (so a span starting at
 * pos would be the tail of a longer token).  Invalid UTF-8 does not. */
static int
indicator_scan_word_before(const struct indicator_scan *s, size_t pos)
{
    unsigned char c;
    ucs4_t uc;

    if (pos == 0)
        return 0;
    c = (unsigned char)s->t[pos - 1];
    if (c < 0x80)
        return indicator_is_alnum(c) || c == '_';
    if (u8_prev(&uc, (const uint8_t *)s->t + pos, (const uint8_t *)s->t) == NULL)
        return 0;
    return indicator_scan_unicode_word(uc);
}

/* 1 if the character at pos continues a word. */
static int
indicator_scan_word_after(const struct indicator_scan *s, size_t pos)
{
    unsigned char c;
    ucs4_t uc;

    if (pos >= s->len)
        return 0;
    c = (unsigned char)s->t[pos];
    if (c < 0x80)
        return indicator_is_alnum(c) || c == '_';
    if (u8_mbtoucr(&uc, (const uint8_t *)s->t + pos, s->len - pos) <= 0)
        return 0;
    return indicator_scan_unicode_word(uc);
}

/* 1 if the original bytes of [start, end) differ from the refanged ones:
 * the analyst wrote it defanged, so they meant it as an indicator. */
static int
indicator_scan_defanged(const struct indicator_scan *s, size_t start, size_t end)
{
    return s->r->map[end] - s->r->map[start] != end - start;
}

/* Records a candidate. */
static void
indicator_scan_add(struct indicator_scan *s, unsigned type, size_t start, size_t end)
{
    struct indicator_span_list *l = &s->cands;

    if (l->n == l->cap) {
        l->cap = l->cap == 0 ? 64 : l->cap * 2;
        l->v = xreallocarray(l->v, l->cap, sizeof(l->v[0]));
    }
    l->v[l->n++] = (struct indicator_span){.type = type, .start = start, .end = end};
}

/* Returns the byte length of the URL character at pos, or 0 if it ends a
 * URL: white space, control characters, the delimiters RFC 3986 excludes
 * and that text puts around URLs (<>"`|\^), invalid UTF-8, and non-ASCII
 * characters other than letters, digits and marks (typographic quotes,
 * non-breaking and ideographic spaces, CJK punctuation). */
static size_t
indicator_scan_url_char(const struct indicator_scan *s, size_t pos)
{
    unsigned char c = (unsigned char)s->t[pos];
    ucs4_t uc;
    int n;

    if (c < 0x80)
        return c <= ' ' || c == 0x7f || indicator_scan_in((char)c, "<>\"`|\\^") ? 0 : 1;
    n = u8_mbtoucr(&uc, (const uint8_t *)s->t + pos, s->len - pos);
    if (n <= 0)
        return 0;
    return uc_is_alnum(uc) || uc_is_general_category(uc, UC_CATEGORY_M) ? (size_t)n : 0;
}

/* Returns where the run of URL characters that contains pos ends. */
static size_t
indicator_scan_url_stop(struct indicator_scan *s, size_t pos)
{
    size_t n;

    if (pos >= s->stop_from && pos <= s->stop_at)
        return s->stop_at;
    s->stop_from = pos;
    while (pos < s->len && (n = indicator_scan_url_char(s, pos)) > 0)
        pos += n;
    s->stop_at = pos;
    return pos;
}

/* Returns the new end of [start, end) after dropping trailing punctuation
 * that belongs to the sentence rather than the URL: .,;:!?'"* and closing
 * brackets that have no opening one inside the span ("(see
 * https://x.example/a)" keeps none, "https://x.example/wiki/A_(b)" keeps
 * its own).  Linear in the span. */
static size_t
indicator_scan_trim(const struct indicator_scan *s, size_t start, size_t end)
{
    static const char open[] = "([{", close[] = ")]}";
    long depth[3] = {0, 0, 0};

    for (size_t i = start; i < end; i++) {
        const char *o = strchr(open, s->t[i]), *c = strchr(close, s->t[i]);

        if (s->t[i] != '\0' && o != NULL)
            depth[o - open]++;
        else if (s->t[i] != '\0' && c != NULL)
            depth[c - close]--;
    }
    while (end > start) {
        char ch = s->t[end - 1];
        const char *c = ch != '\0' ? strchr(close, ch) : NULL;

        if (indicator_scan_in(ch, ".,;:!?'\"*")) {
            end--;
        } else if (c != NULL && depth[c - close] < 0) {
            depth[c - close]++;
            end--;
        } else {
            break;
        }
    }
    return end;
}

/* URLs: a known scheme, "://", an authority with a valid host, then
 * anything up to a terminator, less trailing punctuation. */
static void
indicator_scan_urls(struct indicator_scan *s)
{
    size_t p = 0;

    while (p + 3 <= s->len) {
        const char *sep = memchr(s->t + p, ':', s->len - p);
        size_t q, b, a, ae, end;

        if (sep == NULL)
            break;
        q = (size_t)(sep - s->t);
        if (q + 3 > s->len || s->t[q + 1] != '/' || s->t[q + 2] != '/') {
            p = q + 1;
            continue;
        }
        a = q + 3;
        b = q;
        while (b > p && q - b < 6 && indicator_is_alpha((unsigned char)s->t[b - 1]))
            b--;
        if (b == q || indicator_valid_scheme(s->t + b, s->len - b) != q - b || indicator_scan_word_before(s, b)) {
            p = a;
            continue;
        }
        ae = a;
        while (ae < s->len && !indicator_scan_in(s->t[ae], "/?#")) {
            size_t n = indicator_scan_url_char(s, ae);

            if (n == 0)
                break;
            ae += n;
        }
        end = ae;
        if (ae >= s->len || !indicator_scan_in(s->t[ae], "/?#"))
            end = ae = indicator_scan_trim(s, a, ae);
        if (!indicator_valid_authority(s->t + a, ae - a)) {
            p = a;
            continue;
        }
        if (end < s->len && indicator_scan_in(s->t[end], "/?#"))
            end = indicator_scan_trim(s, b, indicator_scan_url_stop(s, end));
        indicator_scan_add(s, IND_URL, b, end);
        p = end;
    }
}

/* E-mail addresses: around each '@', the local part before it and a
 * valid domain after it.  The runs on either side stop at the next '@',
 * so every byte is looked at a bounded number of times. */
static void
indicator_scan_emails(struct indicator_scan *s)
{
    const char *at = s->t;

    while ((at = memchr(at, '@', s->len - (size_t)(at - s->t))) != NULL) {
        size_t a = (size_t)(at - s->t), l = a, d = a + 1, e;

        at++;
        while (l > 0 && indicator_scan_local_char(s->t[l - 1]))
            l--;
        while (d < s->len && indicator_scan_host_char(s->t[d]))
            d++;
        if (l == a || indicator_scan_word_before(s, l) || indicator_scan_word_after(s, d))
            continue;
        /* "Wait...bob@example.com": the address starts after the last
         * run of dots. */
        for (size_t k = l; k + 1 < a; k++)
            if (s->t[k] == '.' && s->t[k + 1] == '.')
                l = k + 1;
        while (l < a && s->t[l] == '.')
            l++;
        e = d;
        while (e > a + 1 && (s->t[e - 1] == '.' || s->t[e - 1] == '-'))
            e--;
        if (indicator_valid_email_local(s->t + l, a - l) && indicator_valid_domain(s->t + a + 1, e - a - 1, NULL))
            indicator_scan_add(s, IND_EMAIL, l, e);
    }
}

/* Matrix user IDs, room aliases and room IDs: a sigil that does not
 * continue a word, a local part, ':' and a server name (a host name or a
 * bracketed IPv6 address, and an optional port). */
static void
indicator_scan_matrix_ids(struct indicator_scan *s)
{
    size_t i = 0;

    while (i < s->len) {
        size_t j, k;

        if (!indicator_scan_in(s->t[i], "@#!") ||
            (i > 0 && (indicator_scan_local_char(s->t[i - 1]) || indicator_scan_word_before(s, i)))) {
            i++;
            continue;
        }
        j = i + 1;
        while (j < s->len && (indicator_scan_local_char(s->t[j]) || indicator_scan_in(s->t[j], "=/")))
            j++;
        if (j == i + 1 || j >= s->len || s->t[j] != ':') {
            i = j;
            continue;
        }
        k = j + 1;
        if (k < s->len && s->t[k] == '[') {
            const char *close = memchr(s->t + k, ']', s->len - k < 48 ? s->len - k : 48);

            k = close != NULL ? (size_t)(close - s->t) + 1 : k;
        } else {
            while (k < s->len && indicator_scan_host_char(s->t[k]))
                k++;
        }
        if (k == j + 1) {
            i = k;
            continue;
        }
        if (k + 1 < s->len && s->t[k] == ':' && indicator_is_digit((unsigned char)s->t[k + 1]))
            for (k++; k < s->len && indicator_is_digit((unsigned char)s->t[k]); k++)
                ;
        indicator_scan_add(s, INDICATOR_SCAN_MATRIX, i, k);
        i = k;
    }
}

/* IPv4: a run of digits and dots that stands alone, less trailing dots,
 * that inet_pton() accepts.  A run preceded by a dot or a letter
 * ("v1.2.3.4", "1.1.2.3.4") or of five parts (10.0.19045.3803.1) is a
 * version, not an address. */
static void
indicator_scan_ipv4(struct indicator_scan *s)
{
    size_t i = 0;

    while (i < s->len) {
        size_t j = i, e;

        if (!indicator_is_digit((unsigned char)s->t[i])) {
            i++;
            continue;
        }
        while (j < s->len && (indicator_is_digit((unsigned char)s->t[j]) || s->t[j] == '.'))
            j++;
        e = j;
        while (e > i && s->t[e - 1] == '.')
            e--;
        if (!(i > 0 && s->t[i - 1] == '.') && !indicator_scan_word_before(s, i) && !indicator_scan_word_after(s, j) &&
            indicator_valid_ipv4(s->t + i, e - i))
            indicator_scan_add(s, IND_IPV4, i, e);
        i = j;
    }
}

/* 1 if an IPv6 candidate looks like an address rather than code or
 * prose: it has a decimal digit or three colons ("a::b" is C++ or Ruby),
 * and two groups or a leading "::" ("1::" ends a sentence, "::1" is the
 * loopback address). */
static int
indicator_scan_ipv6_plausible(const char *p, size_t len)
{
    size_t colons = 0, groups = 0;
    int digit = 0;

    for (size_t i = 0; i < len; i++) {
        if (p[i] == ':')
            colons++;
        else if (i == 0 || p[i - 1] == ':')
            groups++;
        if (indicator_is_digit((unsigned char)p[i]))
            digit = 1;
    }
    if (!digit && colons < 3)
        return 0;
    return groups >= 2 || (len >= 2 && p[0] == ':' && p[1] == ':');
}

/* IPv6: a run of hex digits, colons and dots that stands alone, with two
 * colons or more, that inet_pton() accepts (with a trailing colon or dot
 * of the sentence removed). */
static void
indicator_scan_ipv6(struct indicator_scan *s)
{
    size_t i = 0;

    while (i < s->len) {
        size_t j = i, e, colons = 0;

        if (!indicator_is_hex((unsigned char)s->t[i]) && s->t[i] != ':') {
            i++;
            continue;
        }
        while (j < s->len && (indicator_is_hex((unsigned char)s->t[j]) || s->t[j] == ':' || s->t[j] == '.'))
            colons += s->t[j++] == ':';
        e = j;
        while (e > i && s->t[e - 1] == '.')
            e--;
        if (colons >= 2 && !indicator_scan_word_before(s, i) && !indicator_scan_word_after(s, j)) {
            if (!indicator_valid_ipv6(s->t + i, e - i, NULL) && e - i > 2 && s->t[e - 1] == ':' && s->t[e - 2] != ':')
                e--;
            if (indicator_valid_ipv6(s->t + i, e - i, NULL) && indicator_scan_ipv6_plausible(s->t + i, e - i))
                indicator_scan_add(s, IND_IPV6, i, e);
        }
        i = j;
    }
}

/* 1 if tld[0..len) is in indicator_scan_ambiguous_tlds (any case). */
static int
indicator_scan_ambiguous(const char *tld, size_t len)
{
    for (size_t i = 0; i < sizeof(indicator_scan_ambiguous_tlds) / sizeof(indicator_scan_ambiguous_tlds[0]); i++)
        if (strlen(indicator_scan_ambiguous_tlds[i]) == len &&
            strncasecmp(tld, indicator_scan_ambiguous_tlds[i], len) == 0)
            return 1;
    return 0;
}

/* 1 if the first label of the name [a, b) is label, in lower case. */
static int
indicator_scan_first_label(const struct indicator_scan *s, size_t a, size_t b, const char *label)
{
    size_t n = strlen(label);

    return b - a > n && memcmp(s->t + a, label, n) == 0 && s->t[a + n] == '.';
}

/* Considers the domain candidate [a, b) of a host name run: trims dots
 * and hyphens at either end, validates it, and applies the prose rules to
 * what was not written defanged. */
static void
indicator_scan_domain(struct indicator_scan *s, size_t a, size_t b)
{
    size_t labels, tld;

    while (a < b && (s->t[a] == '.' || s->t[a] == '-'))
        a++;
    while (b > a && (s->t[b - 1] == '.' || s->t[b - 1] == '-'))
        b--;
    if (b - a < 3)
        return;
    if (!indicator_valid_domain(s->t + a, b - a, &labels)) {
        size_t h = b;

        /* "evil.com-based": a hyphen glued to the TLD starts a word. */
        for (size_t k = b; k > a && s->t[k - 1] != '.'; k--)
            if (s->t[k - 1] == '-')
                h = k - 1;
        if (h == b || !indicator_valid_domain(s->t + a, h - a, &labels))
            return;
        b = h;
    }
    /* "first.name@example.com": the local part of an address, not a
     * domain, even when the address is not valid. */
    if (b < s->len && s->t[b] == '@')
        return;
    if (!indicator_scan_defanged(s, a, b)) {
        for (tld = b; s->t[tld - 1] != '.'; tld--)
            ;
        /* install.sh, README.md. */
        if (labels == 2 && indicator_scan_ambiguous(s->t + tld, b - tld))
            return;
        /* "home.It was late", System.Net: a sentence or a namespace. */
        if (b - tld >= 2 && s->t[tld] >= 'A' && s->t[tld] <= 'Z' && s->t[tld + 1] >= 'a' && s->t[tld + 1] <= 'z')
            return;
        /* com.google.android, org.example.app: a Java package or an
         * application ID (reverse DNS); self.host, this.email: a member
         * in a code snippet. */
        if (indicator_scan_first_label(s, a, b, "com") || indicator_scan_first_label(s, a, b, "org") ||
            indicator_scan_first_label(s, a, b, "net") || indicator_scan_first_label(s, a, b, "self") ||
            indicator_scan_first_label(s, a, b, "this"))
            return;
        /* os.path.join(), foo.app(): a call in a code snippet. */
        if (b < s->len && s->t[b] == '(')
            return;
    }
    indicator_scan_add(s, IND_DOMAIN, a, b);
}

/* Domains: runs of letters, digits, hyphens and dots that stand alone,
 * split at ellipses ("wait...evil.com"). */
static void
indicator_scan_domains(struct indicator_scan *s)
{
    size_t i = 0;

    while (i < s->len) {
        size_t j = i, a;

        if (!indicator_scan_host_char(s->t[i])) {
            i++;
            continue;
        }
        while (j < s->len && indicator_scan_host_char(s->t[j]))
            j++;
        /* ".example.com" after a non-ASCII label: the tail of an
         * internationalised name written in Unicode, which this module
         * does not recognise; its ASCII tail would be a different name. */
        if (s->t[i] == '.' && i > 0 && (unsigned char)s->t[i - 1] >= 0x80) {
            i = j;
            continue;
        }
        a = i;
        /* Glued to a word on the left ("_dmarc.example.com",
         * "bücher.de"): the first label is part of that word. */
        if (indicator_scan_word_before(s, i))
            while (a < j && s->t[a] != '.')
                a++;
        if (!indicator_scan_word_after(s, j)) {
            while (a < j) {
                size_t b = a;

                while (b < j && !(s->t[b] == '.' && b + 1 < j && s->t[b + 1] == '.'))
                    b++;
                indicator_scan_domain(s, a, b);
                while (b < j && s->t[b] == '.')
                    b++;
                a = b;
            }
        }
        i = j;
    }
}

/* Hashes: a run of letters and digits that stands alone and is 32, 40 or
 * 64 hex digits, with both digits and letters (a 32-digit number or
 * "deadbeef..." repeated is not a hash anyone computed). */
static void
indicator_scan_hashes(struct indicator_scan *s)
{
    size_t i = 0;

    while (i < s->len) {
        size_t j = i;
        int digit = 0, letter = 0;
        unsigned type;

        if (!indicator_is_alnum((unsigned char)s->t[i])) {
            i++;
            continue;
        }
        for (; j < s->len && indicator_is_alnum((unsigned char)s->t[j]); j++) {
            digit |= indicator_is_digit((unsigned char)s->t[j]);
            letter |= indicator_is_alpha((unsigned char)s->t[j]);
        }
        type = indicator_valid_hash(s->t + i, j - i);
        if (type != 0 && digit && letter && !indicator_scan_word_before(s, i) && !indicator_scan_word_after(s, j))
            indicator_scan_add(s, type, i, j);
        i = j;
    }
}

/* CVE IDs and AS numbers: a fixed prefix at the start of a word, and no
 * word or version number glued after it. */
static void
indicator_scan_ids(struct indicator_scan *s)
{
    for (size_t i = 0; i < s->len; i++) {
        char c = indicator_lower(s->t[i]);
        size_t n = 0;
        unsigned type = 0;

        if (c != 'c' && c != 'a')
            continue;
        if (indicator_scan_word_before(s, i))
            continue;
        if (c == 'c' && (n = indicator_valid_cve(s->t + i, s->len - i)) > 0)
            type = IND_CVE;
        else if (c == 'a' && (n = indicator_valid_asn(s->t + i, s->len - i)) > 0)
            type = IND_ASN;
        if (type == 0 || indicator_scan_word_after(s, i + n))
            continue;
        if (i + n + 1 < s->len && s->t[i + n] == '.' && indicator_is_digit((unsigned char)s->t[i + n + 1]))
            continue;
        indicator_scan_add(s, type, i, i + n);
        i += n - 1;
    }
}

/* Which of two candidates at the same place wins: the lower rank. */
static int
indicator_scan_rank(unsigned type)
{
    switch (type) {
    case INDICATOR_SCAN_MATRIX:
        return 0;
    case IND_URL:
        return 1;
    case IND_EMAIL:
        return 2;
    case IND_IPV6:
        return 3;
    case IND_IPV4:
        return 4;
    case IND_DOMAIN:
        return 5;
    case IND_CVE:
        return 6;
    case IND_ASN:
        return 7;
    default:
        return 8;
    }
}

/* qsort() order: by start, then longer first, then by rank. */
static int
indicator_scan_cmp(const void *x, const void *y)
{
    const struct indicator_span *a = x, *b = y;

    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    if (a->end != b->end)
        return a->end > b->end ? -1 : 1;
    return indicator_scan_rank(a->type) - indicator_scan_rank(b->type);
}

/* Runs every scanner, sorts the candidates and keeps the first of any
 * overlapping ones; the candidates' array becomes out's. */
void
indicator_scan(const struct indicator_refanged *r, struct indicator_span_list *out)
{
    struct indicator_scan s = {.r = r, .t = r->text, .len = r->len, .stop_from = 1, .stop_at = 0};
    size_t covered = 0;

    indicator_scan_urls(&s);
    indicator_scan_emails(&s);
    indicator_scan_matrix_ids(&s);
    indicator_scan_ipv4(&s);
    indicator_scan_ipv6(&s);
    indicator_scan_domains(&s);
    indicator_scan_hashes(&s);
    indicator_scan_ids(&s);
    if (s.cands.n > 1)
        qsort(s.cands.v, s.cands.n, sizeof(s.cands.v[0]), indicator_scan_cmp);

    /* Keep the first of overlapping candidates, in place. */
    out->v = s.cands.v;
    out->cap = s.cands.cap;
    out->n = 0;
    for (size_t i = 0; i < s.cands.n; i++) {
        struct indicator_span c = s.cands.v[i];

        if (c.start < covered)
            continue;
        covered = c.end > covered ? c.end : covered;
        if (c.type != INDICATOR_SCAN_MATRIX)
            out->v[out->n++] = c;
    }
}
