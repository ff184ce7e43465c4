/*
 * dns_resolver_reverse_name(): the in-addr.arpa and ip6.arpa names that
 * PTR lookups ask for, from IPv4, IPv6 (compressed and written in full)
 * and IPv4-mapped literals, and NULL for anything that is not an IP
 * literal.  No network and no loop are involved.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "appservice/dns_resolver.h"
#include "tests/tap.h"

/* Checks the reverse name of addr against want (NULL: must be refused). */
static void
check(const char *addr, const char *want, const char *what)
{
    char *got = dns_resolver_reverse_name(addr);

    is_str(got, want, "%s", what);
    free(got);
}

int
main(void)
{
    static const char v6_doc[] = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa";

    check("203.0.113.7", "7.113.0.203.in-addr.arpa", "IPv4: octets reversed");
    check("0.0.0.0", "0.0.0.0.in-addr.arpa", "IPv4: all zeroes");
    check("255.255.255.255", "255.255.255.255.in-addr.arpa", "IPv4: all ones");
    check("2001:db8::1", v6_doc, "IPv6 compressed: 32 nibbles, least significant first");
    check("2001:0db8:0000:0000:0000:0000:0000:0001", v6_doc, "IPv6 written in full: the same name");
    check("2001:DB8::1", v6_doc, "IPv6 upper case: nibbles come out lower case");
    check("::1", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa", "IPv6 loopback");
    check("fe80::abcd:ef01", "1.0.f.e.d.c.b.a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.e.f.ip6.arpa",
          "IPv6 nibbles of the low bytes in order");
    check("::ffff:192.0.2.1", "1.2.0.192.in-addr.arpa", "IPv4-mapped: the IPv4 address's in-addr.arpa name");
    check("::ffff:c000:201", "1.2.0.192.in-addr.arpa", "IPv4-mapped in hex: the same");
    check("64:ff9b::192.0.2.1", "1.0.2.0.0.0.0.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.b.9.f.f.4.6.0.0.ip6.arpa",
          "NAT64 is not mapped: ip6.arpa");

    check(NULL, NULL, "NULL is refused");
    check("", NULL, "empty is refused");
    check("example.org", NULL, "a host name is refused");
    check("192.0.2", NULL, "three octets are refused");
    check("256.1.1.1", NULL, "an octet over 255 is refused");
    check("192.0.2.1 ", NULL, "trailing space is refused");
    check("192.0.2.1/32", NULL, "a prefix is refused");
    check("2001:db8::1::2", NULL, "two :: are refused");
    check("fe80::1%lo", NULL, "a zone index is refused");
    check("[::1]", NULL, "brackets are refused");
    check("2001:db8::g", NULL, "a non-hex digit is refused");
    tap_done();
}
