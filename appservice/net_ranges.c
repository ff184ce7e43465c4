/*
 * Address ranges for the SSRF guard; see net_ranges.h.
 *
 * The refused ranges are one table, checked in order, built from IANA's
 * IPv4 and IPv6 special-purpose address registries (RFC 6890 and its
 * updates).  Two choices deserve a word:
 *
 * - The documentation ranges (192.0.2.0/24, 198.51.100.0/24,
 *   203.0.113.0/24, 2001:db8::/32, 3fff::/20) are refused.  Examples and
 *   tests use them as "public" attacker addresses in the TEXT of a room,
 *   and indicator extraction must treat them so, but no real tool API
 *   lives there: a lookup connecting to one is a test harness or a
 *   mistake, so it has to be allowed explicitly like any other range.
 * - For IPv6 only 2000::/3 is global unicast today, so everything outside
 *   it is refused even when no entry names it; the entries only give the
 *   better reason.  IPv4-mapped and NAT64 addresses are judged by the IPv4
 *   address they carry, because that is where the packets end up.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "net_ranges.h"
#include "xmalloc.h"

/* A refused range; reason NULL means "judge the embedded IPv4 address". */
struct net_ranges_entry {
    int family;
    uint8_t bytes[16];
    unsigned prefix;
    const char *reason;
};

static const struct net_ranges_entry net_ranges_table[] = {
    {AF_INET, {0}, 8, "\"this network\" address (0.0.0.0/8)"},
    {AF_INET, {10}, 8, "private address (RFC 1918)"},
    {AF_INET, {100, 64}, 10, "shared address space (carrier-grade NAT, 100.64.0.0/10)"},
    {AF_INET, {127}, 8, "loopback address"},
    {AF_INET, {169, 254}, 16, "link-local address"},
    {AF_INET, {172, 16}, 12, "private address (RFC 1918)"},
    {AF_INET, {192, 0, 0}, 24, "IETF protocol assignment (192.0.0.0/24)"},
    {AF_INET, {192, 0, 2}, 24, "documentation address (TEST-NET-1, 192.0.2.0/24)"},
    {AF_INET, {192, 88, 99}, 24, "6to4 relay anycast address (deprecated, 192.88.99.0/24)"},
    {AF_INET, {192, 168}, 16, "private address (RFC 1918)"},
    {AF_INET, {198, 18}, 15, "benchmarking address (198.18.0.0/15)"},
    {AF_INET, {198, 51, 100}, 24, "documentation address (TEST-NET-2, 198.51.100.0/24)"},
    {AF_INET, {203, 0, 113}, 24, "documentation address (TEST-NET-3, 203.0.113.0/24)"},
    {AF_INET, {224}, 4, "multicast address"},
    {AF_INET, {255, 255, 255, 255}, 32, "broadcast address"},
    {AF_INET, {240}, 4, "reserved address (240.0.0.0/4)"},

    {AF_INET6, {0}, 128, "unspecified address"},
    {AF_INET6, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, "loopback address"},
    {AF_INET6, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96, NULL},
    {AF_INET6, {0}, 96, "IPv4-compatible address (deprecated, ::/96)"},
    {AF_INET6, {0, 0x64, 0xff, 0x9b}, 96, NULL},
    {AF_INET6, {0, 0x64, 0xff, 0x9b, 0, 1}, 48, "local-use NAT64 address (64:ff9b:1::/48)"},
    {AF_INET6, {0x01, 0x00}, 64, "discard-only address (100::/64)"},
    {AF_INET6, {0x20, 0x01, 0x0d, 0xb8}, 32, "documentation address (2001:db8::/32)"},
    {AF_INET6, {0x20, 0x01}, 23, "IETF protocol assignment (2001::/23, Teredo included)"},
    {AF_INET6, {0x20, 0x02}, 16, "6to4 address (deprecated, 2002::/16)"},
    {AF_INET6, {0x3f, 0xff}, 20, "documentation address (3fff::/20)"},
    {AF_INET6, {0xfc}, 7, "unique local address (fc00::/7)"},
    {AF_INET6, {0xfe, 0x80}, 10, "link-local address"},
    {AF_INET6, {0xfe, 0xc0}, 10, "site-local address (deprecated, fec0::/10)"},
    {AF_INET6, {0xff}, 8, "multicast address"},
};

/* The global unicast range, 2000::/3: everything else in IPv6 is refused. */
static const struct net_cidr net_ranges_global_unicast = {{AF_INET6, {0x20}}, 3};

/* The number of bits in an address of the family. */
static unsigned
net_ranges_bits(int family)
{
    return family == AF_INET ? 32 : 128;
}

int
net_ranges_parse_addr(const char *s, struct net_addr *out)
{
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, s, out->bytes) == 1) {
        out->family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, s, out->bytes) == 1) {
        out->family = AF_INET6;
        return 0;
    }
    return -1;
}

int
net_ranges_from_sockaddr(const struct sockaddr *sa, size_t len, struct net_addr *out)
{
    memset(out, 0, sizeof(*out));
    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;

        out->family = AF_INET;
        memcpy(out->bytes, &sin->sin_addr, 4);
        return 0;
    }
    if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;

        out->family = AF_INET6;
        memcpy(out->bytes, &sin6->sin6_addr, 16);
        return 0;
    }
    return -1;
}

void
net_ranges_format(const struct net_addr *a, char *buf, size_t size)
{
    if (inet_ntop(a->family, a->bytes, buf, (socklen_t)size) == NULL)
        snprintf(buf, size, "?");
}

/* 1 if the first prefix bits of x and y are equal. */
static int
net_ranges_prefix_equal(const uint8_t *x, const uint8_t *y, unsigned prefix)
{
    unsigned whole = prefix / 8, rest = prefix % 8;

    if (memcmp(x, y, whole) != 0)
        return 0;
    if (rest == 0)
        return 1;
    return ((x[whole] ^ y[whole]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

int
net_ranges_contains(const struct net_cidr *c, const struct net_addr *a)
{
    return c->base.family == a->family && net_ranges_prefix_equal(c->base.bytes, a->bytes, c->prefix);
}

int
net_ranges_parse_cidr(const char *s, struct net_cidr *out, char **cause)
{
    const char *slash = strchr(s, '/');
    size_t alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
    char addr[64];
    unsigned bits, prefix = 0;
    struct net_cidr net;
    char text[NET_RANGES_ADDRSTRLEN];
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (alen == 0 || alen >= sizeof(addr)) {
        *cause = xasprintf("\"%s\" is not a network (expected an address/prefix such as 10.0.0.0/8)", s);
        goto out;
    }
    memcpy(addr, s, alen);
    addr[alen] = '\0';
    if (net_ranges_parse_addr(addr, &net.base) != 0) {
        *cause = xasprintf("\"%s\" is not a network: \"%s\" is not an IPv4 or IPv6 address", s, addr);
        goto out;
    }
    bits = net_ranges_bits(net.base.family);
    if (slash == NULL) {
        prefix = bits;
    } else {
        const char *p = slash + 1;
        size_t n = strspn(p, "0123456789");

        /* Digits only: strtoul would take signs, spaces and hex. */
        if (n == 0 || n > 3 || p[n] != '\0') {
            *cause = xasprintf("\"%s\" is not a network: the prefix length after '/' must be a number", s);
            goto out;
        }
        for (size_t i = 0; i < n; i++)
            prefix = prefix * 10 + (unsigned)(p[i] - '0');
        if (prefix > bits) {
            *cause = xasprintf("\"%s\" is not a network: the prefix length is at most %u for an %s address", s, bits,
                               bits == 32 ? "IPv4" : "IPv6");
            goto out;
        }
    }
    net.prefix = prefix;
    for (unsigned i = prefix; i < bits; i++) {
        if (net.base.bytes[i / 8] & (0x80 >> (i % 8))) {
            for (unsigned j = prefix; j < bits; j++)
                net.base.bytes[j / 8] &= (uint8_t) ~(0x80 >> (j % 8));
            net_ranges_format(&net.base, text, sizeof(text));
            *cause = xasprintf("\"%s\" is not a network: bits are set after the prefix (did you mean %s/%u, or "
                               "%s/%u for the one host?)",
                               s, text, prefix, addr, bits);
            goto out;
        }
    }
    *out = net;
    rc = 0;
out:
    return rc;
}

int
net_ranges_embedded_ipv4(const struct net_addr *a, struct net_addr *v4)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b};

    if (a->family != AF_INET6 || (memcmp(a->bytes, mapped, 12) != 0 && memcmp(a->bytes, nat64, 12) != 0))
        return 0;
    memset(v4, 0, sizeof(*v4));
    v4->family = AF_INET;
    memcpy(v4->bytes, a->bytes + 12, 4);
    return 1;
}

const char *
net_ranges_reason(const struct net_addr *a)
{
    for (size_t i = 0; i < sizeof(net_ranges_table) / sizeof(net_ranges_table[0]); i++) {
        const struct net_ranges_entry *e = &net_ranges_table[i];
        struct net_addr v4;

        if (e->family != a->family || !net_ranges_prefix_equal(e->bytes, a->bytes, e->prefix))
            continue;
        if (e->reason != NULL)
            return e->reason;
        /* An entry without a reason embeds IPv4: that address decides. */
        if (net_ranges_embedded_ipv4(a, &v4))
            return net_ranges_reason(&v4);
    }
    if (a->family == AF_INET6 && !net_ranges_contains(&net_ranges_global_unicast, a))
        return "reserved address (outside the global unicast range 2000::/3)";
    return NULL;
}

const char *
net_ranges_refusal(const struct net_cidr *allow, size_t n, const struct net_addr *a)
{
    const char *reason = net_ranges_reason(a);
    struct net_addr v4;
    int embeds = net_ranges_embedded_ipv4(a, &v4);

    if (reason == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (net_ranges_contains(&allow[i], a) || (embeds && net_ranges_contains(&allow[i], &v4)))
            return NULL;
    }
    return reason;
}
