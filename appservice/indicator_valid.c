/*
 * Is this exactly one IP address, domain, hash, URL authority...?  The
 * checks each indicator type needs, on byte ranges that are not
 * NUL-terminated, and the normal form each type is reported in.  The
 * scanner calls them on candidates found in a text and indicator_detect()
 * on what an analyst typed; the rules for telling prose apart live in the
 * scanner, not here.
 *
 * IP addresses are checked by inet_pton(), never by pattern alone.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "indicator_internal.h"
#include "xmalloc.h"

/* Longest textual IPv6 address with an embedded IPv4 one, without the NUL. */
#define INDICATOR_VALID_IPV6_MAX 45

/* Checks a dotted quad with inet_pton(). */
int
indicator_valid_ipv4(const char *s, size_t len)
{
    char buf[16];
    unsigned char addr[4];

    /* inet_pton() rejects leading zeros ("010.1.1.1"), which some
     * resolvers would read as octal. */
    if (len < 7 || len > 15)
        return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return inet_pton(AF_INET, buf, addr) == 1;
}

/* Checks an IPv6 address with inet_pton() and writes it back with
 * inet_ntop(). */
int
indicator_valid_ipv6(const char *s, size_t len, char *out)
{
    char buf[INDICATOR_VALID_IPV6_MAX + 1];
    unsigned char addr[16];

    if (len < 2 || len > INDICATOR_VALID_IPV6_MAX)
        return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET6, buf, addr) != 1)
        return 0;
    if (out != NULL && inet_ntop(AF_INET6, addr, out, INDICATOR_VALID_IPV6_MAX + 1) == NULL)
        return 0;
    return 1;
}

/* Checks the syntax of each label and that the last is a TLD. */
int
indicator_valid_domain(const char *s, size_t len, size_t *labels)
{
    size_t n = 0, label_start = 0;

    if (len > 0 && s[len - 1] == '.')
        len--;
    if (len == 0 || len > 253)
        return 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == '.') {
            size_t llen = i - label_start;

            if (llen == 0 || llen > 63 || s[label_start] == '-' || s[i - 1] == '-')
                return 0;
            n++;
            if (i == len && !indicator_tlds_known(s + label_start, llen))
                return 0;
            label_start = i + 1;
        } else if (!indicator_is_alnum((unsigned char)s[i]) && s[i] != '-') {
            return 0;
        }
    }
    if (n < 2)
        return 0;
    if (labels != NULL)
        *labels = n;
    return 1;
}

/* Checks a local part: the dot-atom subset that appears in practice. */
int
indicator_valid_email_local(const char *s, size_t len)
{
    if (len == 0 || len > 64 || s[0] == '.' || s[len - 1] == '.')
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '.' && s[i + 1] == '.')
            return 0;
        if (!indicator_is_alnum(c) && strchr("._%+-_", c) == NULL)
            return 0;
    }
    return 1;
}

/* Tells a hash by its length in hex digits. */
unsigned
indicator_valid_hash(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!indicator_is_hex((unsigned char)s[i]))
            return 0;
    switch (len) {
    case 32:
        return IND_MD5;
    case 40:
        return IND_SHA1;
    case 64:
        return IND_SHA256;
    default:
        return 0;
    }
}

/* Matches a CVE ID at the start of s. */
size_t
indicator_valid_cve(const char *s, size_t len)
{
    size_t n = 9;

    /* CVE-YYYY-NNNN..., the year from 1999 on, at least four digits
     * after it (the format allows more since 2014). */
    if (len < 13 || strncasecmp(s, "cve-", 4) != 0 || s[8] != '-')
        return 0;
    if (!((s[4] == '1' && s[5] == '9') || (s[4] == '2' && s[5] == '0')))
        return 0;
    for (size_t i = 6; i < 8; i++)
        if (!indicator_is_digit((unsigned char)s[i]))
            return 0;
    while (n < len && n < 9 + 20 && indicator_is_digit((unsigned char)s[n]))
        n++;
    return n - 9 >= 4 && n - 9 < 20 ? n : 0;
}

/* Matches an AS number at the start of s: 1 to 4294967295, no leading zero. */
size_t
indicator_valid_asn(const char *s, size_t len)
{
    size_t i = 2, d;
    unsigned long long v = 0;

    if (len < 3 || strncasecmp(s, "as", 2) != 0)
        return 0;
    /* "ASN" may be followed by a space or a colon ("ASN 13335",
     * "ASN: 13335"); a bare "AS" only by the number, because "AS 2" is
     * as likely to be a shouted English word. */
    if (indicator_lower(s[2]) == 'n') {
        i = 3;
        if (i < len && (s[i] == ' ' || s[i] == ':'))
            i++;
        if (i < len && s[i - 1] == ':' && s[i] == ' ')
            i++;
    }
    d = i;
    while (i < len && i - d < 11 && indicator_is_digit((unsigned char)s[i]))
        v = v * 10 + (unsigned long long)(s[i++] - '0');
    if (i == d || i - d > 10 || s[d] == '0' || v > 4294967295ULL)
        return 0;
    return i;
}

/* Matches http, https or ftp and "://" at the start of s. */
size_t
indicator_valid_scheme(const char *s, size_t len)
{
    static const char *const schemes[] = {"https", "http", "ftp"};

    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        size_t n = strlen(schemes[i]);

        if (len >= n + 3 && strncasecmp(s, schemes[i], n) == 0 && memcmp(s + n, "://", 3) == 0)
            return n;
    }
    return 0;
}

/* 0 if s[0..len) is a port: empty (the scheme's default) or 1-5 digits up
 * to 65535; -1 otherwise. */
static int
indicator_valid_port(const char *s, size_t len)
{
    unsigned long port = 0;

    if (len > 5)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (!indicator_is_digit((unsigned char)s[i]))
            return -1;
        port = port * 10 + (unsigned long)(s[i] - '0');
    }
    return port <= 65535 ? 0 : -1;
}

/* Finds the host in a URL authority ([userinfo@]host[:port]): sets
 * *host and *hlen, and returns 1 if the port (if any) is well formed. */
static int
indicator_valid_split_authority(const char *s, size_t len, const char **host, size_t *hlen)
{
    const char *at = NULL, *h, *end = s + len, *colon;

    for (const char *p = s; p < end; p++)
        if (*p == '@')
            at = p;
    h = at != NULL ? at + 1 : s;
    if (h < end && *h == '[') {
        const char *close = memchr(h, ']', (size_t)(end - h));

        if (close == NULL)
            return 0;
        *host = h;
        *hlen = (size_t)(close + 1 - h);
        if (close + 1 == end)
            return 1;
        return close[1] == ':' && indicator_valid_port(close + 2, (size_t)(end - close - 2)) == 0;
    }
    colon = memchr(h, ':', (size_t)(end - h));
    *host = h;
    *hlen = (size_t)((colon != NULL ? colon : end) - h);
    return colon == NULL || indicator_valid_port(colon + 1, (size_t)(end - colon - 1)) == 0;
}

/* Checks a URL authority: printable ASCII, a valid host and port. */
int
indicator_valid_authority(const char *s, size_t len)
{
    const char *host;
    size_t hlen;

    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
            return 0;
    if (!indicator_valid_split_authority(s, len, &host, &hlen) || hlen == 0)
        return 0;
    if (host[0] == '[')
        return hlen > 2 && indicator_valid_ipv6(host + 1, hlen - 2, NULL);
    return indicator_valid_ipv4(host, hlen) || indicator_valid_domain(host, hlen, NULL);
}

/* Lower-cases len bytes of s in place. */
static void
indicator_valid_lower(char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        s[i] = indicator_lower(s[i]);
}

/* Returns the normal form of a value already known to be of its type. */
char *
indicator_valid_normalise(enum indicator_type type, const char *s, size_t len)
{
    char *v = xstrndup(s, len);
    char six[INDICATOR_VALID_IPV6_MAX + 1];

    switch (type) {
    case IND_IPV6:
        if (indicator_valid_ipv6(s, len, six)) {
            free(v);
            v = xstrdup(six);
        }
        break;
    case IND_DOMAIN:
        if (len > 0 && v[len - 1] == '.')
            v[len - 1] = '\0';
        indicator_valid_lower(v, strlen(v));
        break;
    case IND_MD5:
    case IND_SHA1:
    case IND_SHA256:
        indicator_valid_lower(v, len);
        break;
    case IND_CVE:
        for (size_t i = 0; i < len; i++)
            if (indicator_is_alpha((unsigned char)v[i]))
                v[i] = (char)(v[i] & ~0x20);
        break;
    case IND_ASN: {
        /* "AS13335", "asn 13335", "ASN:13335": keep the digits. */
        size_t d = 0;

        while (d < len && !indicator_is_digit((unsigned char)s[d]))
            d++;
        free(v);
        v = xasprintf("AS%.*s", (int)(len - d), s + d);
        break;
    }
    case IND_EMAIL: {
        char *at = strrchr(v, '@');

        /* The domain is case-insensitive, the local part in principle
         * not (RFC 5321), so only the domain is lowered. */
        if (at != NULL)
            indicator_valid_lower(at + 1, strlen(at + 1));
        break;
    }
    case IND_URL: {
        size_t slen = indicator_valid_scheme(v, len);
        size_t aend = slen + 3;
        const char *host;
        size_t hlen;

        if (slen == 0)
            break;
        indicator_valid_lower(v, slen);
        while (aend < len && strchr("/?#", v[aend]) == NULL)
            aend++;
        if (indicator_valid_split_authority(v + slen + 3, aend - slen - 3, &host, &hlen))
            indicator_valid_lower(v + (host - v), hlen);
        break;
    }
    default:
        break;
    }
    return v;
}
