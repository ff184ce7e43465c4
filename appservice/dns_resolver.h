/*
 * DNS lookups on the libuv loop, through c-ares: its sockets are watched
 * with uv_poll_t and its timeouts with a uv_timer_t, as curl_uv does for
 * curl, so no lookup blocks the loop.  Resolvers come from the bridge's
 * configuration ("127.0.0.1:5353", "[::1]:53", "9.9.9.9"), or from the
 * system (/etc/resolv.conf) when none is given.
 */
#ifndef WARROOM_DNS_RESOLVER_H
#define WARROOM_DNS_RESOLVER_H

#include <stddef.h>
#include <uv.h>

struct dns_resolver;
struct dns_query;

/* The answer to one query, borrowed by the callback.  status is an
 * ARES_* code (ARES_SUCCESS, ARES_ENOTFOUND for NXDOMAIN, ARES_ENODATA
 * for no record of that type, ARES_ETIMEOUT, ...); abuf is the raw
 * DNS response for the ares_parse_*_reply functions (NULL if no response
 * arrived, as on a timeout). */
struct dns_answer {
    int status;
    const char *error; /* ares_strerror(status) */
    const unsigned char *abuf;
    int alen;
};

typedef void (*dns_resolver_cb)(const struct dns_answer *answer, void *arg);

struct dns_resolver_options {
    const char *const *servers; /* NULL-terminated "host[:port]" list, or NULL for the system's */
    unsigned timeout_ms;        /* per try; 0: 2000 */
    unsigned tries;             /* 0: 2 */
    /* Pass a SERVFAIL, REFUSED or NOTIMP answer to the callback
     * (ARES_ESERVFAIL, ARES_EREFUSED, ARES_ENOTIMP, with its abuf) instead
     * of trying the next server: c-ares 1.18 would otherwise end the
     * query with ARES_ECONNREFUSED, which cannot be told from a server
     * that is not listening.  (ARES_FLAG_NOCHECKRESP) */
    int keep_errors;
};

/* Returns 0 with *out (free with dns_resolver_free()), or -1 with an
 * allocated reason in *cause (c-ares failed, a server is not an address).
 * opt may be NULL for the system's servers and the defaults. */
int dns_resolver_new(uv_loop_t *loop, const struct dns_resolver_options *opt, struct dns_resolver **out,
                     char **cause);

/*
 * Queries name for records of type (ns_t_a, ns_t_aaaa, ns_t_mx, ns_t_ns,
 * ns_t_txt, ns_t_cname, ns_t_soa, ns_t_ptr from <arpa/nameser.h>), class
 * IN.  cb runs exactly once, from the loop, unless cancelled.  The
 * returned query is valid until its callback starts or it is cancelled;
 * NULL (and cb never runs) once dns_resolver_free() has been called.
 */
struct dns_query *dns_resolver_query(struct dns_resolver *r, const char *name, int type, dns_resolver_cb cb,
                                     void *arg);

/* Cancels a query; its callback will not run.  NULL is a no-op.  c-ares
 * cannot abandon one query, so it stays in flight (until answered or
 * timed out) and is then dropped. */
void dns_query_cancel(struct dns_query *q);

/* The reverse-lookup name of an IPv4 or IPv6 literal
 * ("203.0.113.7" -> "7.113.0.203.in-addr.arpa"); an IPv4-mapped IPv6
 * address (::ffff:203.0.113.7) gets the in-addr.arpa name of its IPv4
 * address.  Returns allocated, or NULL if addr is not an IP literal. */
char *dns_resolver_reverse_name(const char *addr);

/* Cancels every query (no callbacks), destroys the channel and frees the
 * resolver after its handles close; run the loop once more.  NULL is a
 * no-op. */
void dns_resolver_free(struct dns_resolver *r);

#endif
