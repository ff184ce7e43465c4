/*
 * What the indicator module's files share and nobody else uses: the
 * refanged copy of a text with its map back to the original bytes, the
 * scanner that finds candidate spans in it, the validators and
 * normalisers each type needs (shared by the scanner and by
 * indicator_detect()), and the TLD list.
 */
#ifndef WARROOM_INDICATOR_INTERNAL_H
#define WARROOM_INDICATOR_INTERNAL_H

#include <stddef.h>

#include "indicator.h"

/* A text with every defanged notation undone, and where each of its bytes
 * came from. */
struct indicator_refanged {
    char *text; /* NUL-terminated */
    size_t len;
    /* map[i] is the offset in the original text of the notation that
     * produced text[i]; map[len] is the original length, so that the
     * original bytes of text[s..e) are original[map[s]..map[e]). */
    size_t *map;
};

/* Refangs len bytes of text into *out (see indicator_refang() for the
 * notations); free with indicator_refang_release(). */
void indicator_refang_mapped(const char *text, size_t len, struct indicator_refanged *out);
void indicator_refang_release(struct indicator_refanged *r);

/* A span of the refanged text the scanner kept: no two overlap, and they
 * come in text order. */
struct indicator_span {
    unsigned type; /* one IND_* bit */
    size_t start;
    size_t end;
};

struct indicator_span_list {
    struct indicator_span *v;
    size_t n;
    size_t cap;
};

/* Finds every indicator span in a refanged text, each occurrence (no
 * deduplication), applying the rules that keep ordinary prose out.  out
 * is overwritten; free out->v with free(). */
void indicator_scan(const struct indicator_refanged *r, struct indicator_span_list *out);

/* Validators on a byte range (not NUL-terminated), used both for whole
 * values (indicator_detect) and for candidates in a text.  Each returns 1
 * if s[0..len) is exactly one such value, else 0. */
int indicator_valid_ipv4(const char *s, size_t len);
/* Also writes the canonical text form (RFC 5952) to out, which has room
 * for 46 bytes, when out is not NULL. */
int indicator_valid_ipv6(const char *s, size_t len, char *out);
/* A domain name: labels of [A-Za-z0-9-], 1-63 bytes, no hyphen at either
 * end, at most 253 bytes, two labels or more, the last a known TLD.  A
 * single trailing dot (the root) is accepted.  *labels, when not NULL,
 * gets the number of labels. */
int indicator_valid_domain(const char *s, size_t len, size_t *labels);
/* The local part of an e-mail address: 1-64 bytes of [A-Za-z0-9._%+_-],
 * no dot at either end, no two dots together. */
int indicator_valid_email_local(const char *s, size_t len);
/* Returns IND_MD5, IND_SHA1 or IND_SHA256 for 32, 40 or 64 hex digits,
 * else 0. */
unsigned indicator_valid_hash(const char *s, size_t len);
/* The part of a URL after "scheme://" up to the path: [userinfo@]host[:port]
 * where host is a domain, an IPv4 address or a bracketed IPv6 address. */
int indicator_valid_authority(const char *s, size_t len);
/* Return the length of a CVE ID ("CVE-2021-44228", any case) or an AS
 * number ("AS13335", "ASN 13335", "asn:13335") at the start of s, or 0;
 * what follows is the caller's business. */
size_t indicator_valid_cve(const char *s, size_t len);
size_t indicator_valid_asn(const char *s, size_t len);
/* Returns the length of a known scheme ("http", "https", "ftp", any case)
 * at s, followed by "://", or 0. */
size_t indicator_valid_scheme(const char *s, size_t len);

/* Returns allocated (free with free()) the normalised value of s[0..len)
 * of the given type: lower-case domains, hashes, URL schemes and hosts and
 * e-mail domains, upper-case CVE IDs, "AS<number>", canonical IPv6. */
char *indicator_valid_normalise(enum indicator_type type, const char *s, size_t len);

/* ASCII character classes that do not depend on the locale. */
static inline int
indicator_is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static inline int
indicator_is_alpha(unsigned char c)
{
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static inline int
indicator_is_alnum(unsigned char c)
{
    return indicator_is_digit(c) || indicator_is_alpha(c);
}

static inline int
indicator_is_hex(unsigned char c)
{
    return indicator_is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

static inline char
indicator_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

/* 1 if label[0..len) is a top-level domain (any case), else 0. */
int indicator_tlds_known(const char *label, size_t len);

#endif
