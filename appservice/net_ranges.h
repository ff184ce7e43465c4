/*
 * IP addresses and the ranges tool_http's guard against server-side
 * request forgery refuses: parsing address literals and CIDRs (with
 * inet_pton, never by hand), deciding whether an address is an ordinary
 * public unicast address, and applying a list of networks the
 * configuration allows.
 *
 * What is refused, and why, is the table in net_ranges.c: loopback,
 * private, link-local, unspecified, multicast, broadcast, CGNAT,
 * benchmarking, documentation and other reserved ranges of IANA's
 * special-purpose registries, and every IPv6 address outside 2000::/3.
 * An IPv4-mapped (::ffff:0:0/96) or NAT64 (64:ff9b::/96) address is
 * judged by the IPv4 address it embeds.
 */
#ifndef WARROOM_NET_RANGES_H
#define WARROOM_NET_RANGES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Room for any address net_ranges_format() writes, NUL included. */
#define NET_RANGES_ADDRSTRLEN 46

/* An IPv4 or IPv6 address in network byte order. */
struct net_addr {
    int family;        /* AF_INET or AF_INET6 */
    uint8_t bytes[16]; /* the first 4 for AF_INET */
};

/* A network: an address whose host bits are zero, and a prefix length. */
struct net_cidr {
    struct net_addr base;
    unsigned prefix;
};

/* Parses an IPv4 or IPv6 literal ("192.0.2.1", "2001:db8::1"; no
 * brackets, no zone).  Returns 0, or -1 if s is not one. */
int net_ranges_parse_addr(const char *s, struct net_addr *out);

/* Reads the address of an AF_INET or AF_INET6 socket address.  Returns 0,
 * or -1 for another family or a short length. */
int net_ranges_from_sockaddr(const struct sockaddr *sa, size_t len, struct net_addr *out);

/* Writes the address as text (inet_ntop) into buf, of at least
 * NET_RANGES_ADDRSTRLEN bytes. */
void net_ranges_format(const struct net_addr *a, char *buf, size_t size);

/*
 * Parses "address/prefix", or a bare address meaning that one host
 * (/32 or /128).  Returns 0, or -1 with an allocated reason in *cause
 * (free with free()): not an address, a prefix that is missing, not a
 * number or too long for the family, or host bits set below the prefix
 * ("10.0.0.1/8": the network is 10.0.0.0/8).
 */
int net_ranges_parse_cidr(const char *s, struct net_cidr *out, char **cause);

/* 1 if a lies in the network c (both of the same family), else 0. */
int net_ranges_contains(const struct net_cidr *c, const struct net_addr *a);

/*
 * Why the guard refuses a by default, as a static phrase ("loopback
 * address", "private address (RFC 1918)"), or NULL if a is an ordinary
 * public unicast address.
 */
const char *net_ranges_reason(const struct net_addr *a);

/*
 * The IPv4 address embedded in an IPv4-mapped (::ffff:a.b.c.d) or NAT64
 * well-known prefix (64:ff9b::a.b.c.d) address.  Returns 1 and fills *v4,
 * or 0 if a embeds none.
 */
int net_ranges_embedded_ipv4(const struct net_addr *a, struct net_addr *v4);

/*
 * The guard's verdict: NULL if a may be connected to (it is public, or
 * one of the n allowed networks covers it or the IPv4 address it embeds),
 * else the reason it is refused, as net_ranges_reason() says it.
 */
const char *net_ranges_refusal(const struct net_cidr *allow, size_t n, const struct net_addr *a);

#endif
