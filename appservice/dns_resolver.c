/*
 * c-ares on the libuv loop; see dns_resolver.h.
 *
 * c-ares tells us which of its sockets to watch through its socket-state
 * callback (ARES_OPT_SOCK_STATE_CB); we watch each with a uv_poll_t and
 * hand readiness back with ares_process_fd().  One uv_timer_t wakes c-ares
 * for its retries and timeouts: after every call into c-ares it is re-armed
 * from ares_timeout().  A second timer delivers the few answers c-ares gives
 * synchronously, from inside ares_query() (a malformed name, no servers), so
 * that a callback never runs before dns_resolver_query() has returned.
 *
 * c-ares cannot cancel one query, so a cancelled query stays in c-ares until
 * it is answered or times out, and is then dropped without its callback.
 * ares_destroy() calls every outstanding callback with ARES_EDESTRUCTION;
 * dns_resolver_free() marks every query cancelled first, so none of those
 * reach the user.  If dns_resolver_free() is called from inside a callback
 * that c-ares is running, the channel is destroyed only once c-ares has
 * returned.  Every handle is freed in its close callback, and the resolver
 * itself when the last one has closed.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ares.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "dns_resolver.h"
#include "log.h"
#include "xmalloc.h"

#define DNS_RESOLVER_DEFAULT_TIMEOUT_MS 2000u
#define DNS_RESOLVER_DEFAULT_TRIES 2u

/* One socket c-ares asked us to watch. */
struct dns_resolver_sock {
    uv_poll_t poll; /* first: the close callback casts back */
    struct dns_resolver *r;
    ares_socket_t fd;
    struct dns_resolver_sock *next;
    struct dns_resolver_sock **pprev;
};

/* One query, from dns_resolver_query() until c-ares has finished with it
 * (or, for an answer c-ares gave synchronously, until it is delivered). */
struct dns_query {
    struct dns_resolver *r;
    dns_resolver_cb cb; /* NULL once cancelled */
    void *arg;
    int submitting; /* inside ares_query(): an answer now must wait */
    int deferred;   /* on r->deferred, holding status and abuf */
    int status;
    unsigned char *abuf; /* copy, for a deferred answer only */
    int alen;
    struct dns_query *next;
    struct dns_query **pprev;
};

struct dns_resolver {
    uv_loop_t *loop;
    ares_channel channel;
    int have_channel;
    uv_timer_t timer;   /* c-ares's retries and timeouts */
    uv_timer_t deliver; /* answers c-ares gave inside ares_query() */
    struct dns_resolver_sock *socks;
    struct dns_query *queries;  /* in c-ares */
    struct dns_query *deferred; /* waiting for the deliver timer */
    unsigned depth;             /* calls into c-ares under way */
    unsigned handles;           /* uv handles not yet closed */
    int closing;                /* dns_resolver_free() was called */
    int destroy_pending;        /* ... from inside c-ares */
};

static unsigned dns_resolver_users; /* ares_library_init is done once, for the first user */

static void dns_resolver_on_timer(uv_timer_t *timer);

/* Frees r when its last handle has closed (or at once if it has none). */
static void
dns_resolver_release(struct dns_resolver *r)
{
    if (r->handles > 0 && --r->handles > 0)
        return;
    free(r);
    if (--dns_resolver_users == 0)
        ares_library_cleanup();
}

static void
dns_resolver_on_handle_close(uv_handle_t *handle)
{
    dns_resolver_release(handle->data);
}

static void
dns_resolver_on_sock_close(uv_handle_t *handle)
{
    struct dns_resolver_sock *s = (struct dns_resolver_sock *)handle;
    struct dns_resolver *r = s->r;

    free(s);
    dns_resolver_release(r);
}

/* Stops watching a socket and closes its poll handle.  c-ares calls the
 * socket-state callback before it closes the descriptor, so the poll is
 * stopped while the descriptor is still valid. */
static void
dns_resolver_sock_close(struct dns_resolver_sock *s)
{
    *s->pprev = s->next;
    if (s->next != NULL)
        s->next->pprev = s->pprev;
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, dns_resolver_on_sock_close);
}

/* Links q at the head of *list. */
static void
dns_resolver_link(struct dns_query **list, struct dns_query *q)
{
    q->next = *list;
    if (q->next != NULL)
        q->next->pprev = &q->next;
    q->pprev = list;
    *list = q;
}

static void
dns_resolver_unlink(struct dns_query *q)
{
    *q->pprev = q->next;
    if (q->next != NULL)
        q->next->pprev = q->pprev;
    q->next = NULL;
    q->pprev = NULL;
}

static void
dns_resolver_query_free(struct dns_query *q)
{
    free(q->abuf);
    free(q);
}

/* Re-arms the timer from what c-ares is waiting for; called after every
 * call into c-ares.  ares_timeout() returns NULL when nothing is pending. */
static void
dns_resolver_arm(struct dns_resolver *r)
{
    struct timeval tv, *tvp;
    uint64_t ms;
    int rc;

    if (r->closing)
        return;
    tvp = ares_timeout(r->channel, NULL, &tv);
    if (tvp == NULL) {
        uv_timer_stop(&r->timer);
        return;
    }
    /* Round up: waking a millisecond early would only make c-ares ask again. */
    ms = (uint64_t)tvp->tv_sec * 1000u + ((uint64_t)tvp->tv_usec + 999u) / 1000u;
    if ((rc = uv_timer_start(&r->timer, dns_resolver_on_timer, ms, 0)) != 0)
        log_error("dns_resolver: cannot arm the timer: %s", uv_strerror(rc));
}

/* Closes what is left once the channel is gone: the polls c-ares did not
 * report closed, both timers, and (in the last close callback) r. */
static void
dns_resolver_close_handles(struct dns_resolver *r)
{
    while (r->socks != NULL)
        dns_resolver_sock_close(r->socks);
    uv_timer_stop(&r->timer);
    uv_close((uv_handle_t *)&r->timer, dns_resolver_on_handle_close);
    uv_timer_stop(&r->deliver);
    uv_close((uv_handle_t *)&r->deliver, dns_resolver_on_handle_close);
}

/* Destroys the channel (every query already cancelled, so the
 * ARES_EDESTRUCTION callbacks only free their records) and closes the
 * handles.  Must not run from inside a call into c-ares. */
static void
dns_resolver_destroy(struct dns_resolver *r)
{
    r->destroy_pending = 0;
    ares_destroy(r->channel);
    r->have_channel = 0;
    /* ares_destroy() ends every query; anything left would be a record
     * whose callback c-ares never called, which cannot be. */
    while (r->queries != NULL) {
        struct dns_query *q = r->queries;

        dns_resolver_unlink(q);
        dns_resolver_query_free(q);
    }
    dns_resolver_close_handles(r);
}

/* Leaves a call into c-ares: re-arms the timer, or finishes a
 * dns_resolver_free() that was called from inside it. */
static void
dns_resolver_leave(struct dns_resolver *r)
{
    if (--r->depth > 0)
        return;
    if (r->destroy_pending)
        dns_resolver_destroy(r);
    else
        dns_resolver_arm(r);
}

static void
dns_resolver_on_poll(uv_poll_t *poll, int status, int events)
{
    struct dns_resolver_sock *s = (struct dns_resolver_sock *)poll;
    struct dns_resolver *r = s->r;
    ares_socket_t rfd = ARES_SOCKET_BAD, wfd = ARES_SOCKET_BAD;

    /* On a poll error let c-ares read and write: it sees the socket's
     * error itself and moves the query to another try or server. */
    if (status < 0 || (events & UV_READABLE))
        rfd = s->fd;
    if (status < 0 || (events & UV_WRITABLE))
        wfd = s->fd;
    /* s may be closed by the socket-state callback inside ares_process_fd. */
    r->depth++;
    ares_process_fd(r->channel, rfd, wfd);
    dns_resolver_leave(r);
}

static void
dns_resolver_on_timer(uv_timer_t *timer)
{
    struct dns_resolver *r = timer->data;

    r->depth++;
    ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    dns_resolver_leave(r);
}

/* ARES_OPT_SOCK_STATE_CB: start, change or stop watching a socket. */
static void
dns_resolver_sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
    struct dns_resolver *r = data;
    struct dns_resolver_sock *s;
    int events = 0, rc;

    for (s = r->socks; s != NULL; s = s->next) {
        if (s->fd == fd)
            break;
    }
    if (!readable && !writable) {
        if (s != NULL)
            dns_resolver_sock_close(s);
        return;
    }
    if (r->closing)
        return;
    if (s == NULL) {
        s = xcalloc(1, sizeof(*s));
        s->r = r;
        s->fd = fd;
        if ((rc = uv_poll_init_socket(r->loop, &s->poll, fd)) != 0) {
            /* The query on this socket will time out in c-ares. */
            log_error("dns_resolver: cannot watch a socket: %s", uv_strerror(rc));
            free(s);
            return;
        }
        r->handles++;
        s->next = r->socks;
        if (s->next != NULL)
            s->next->pprev = &s->next;
        s->pprev = &r->socks;
        r->socks = s;
    }
    if (readable)
        events |= UV_READABLE;
    if (writable)
        events |= UV_WRITABLE;
    if ((rc = uv_poll_start(&s->poll, events, dns_resolver_on_poll)) != 0)
        log_error("dns_resolver: cannot watch a socket: %s", uv_strerror(rc));
}

/* Runs the callbacks of answers c-ares gave inside ares_query().  The
 * list head is read again after each callback: the callback may cancel
 * other deferred queries or free the resolver, which empties the list. */
static void
dns_resolver_on_deliver(uv_timer_t *timer)
{
    struct dns_resolver *r = timer->data;
    struct dns_query *q;

    while ((q = r->deferred) != NULL) {
        struct dns_answer answer;

        dns_resolver_unlink(q);
        answer.status = q->status;
        answer.error = ares_strerror(q->status);
        answer.abuf = q->abuf;
        answer.alen = q->alen;
        if (q->cb != NULL)
            q->cb(&answer, q->arg);
        dns_resolver_query_free(q);
    }
}

/* c-ares's callback for one query: runs the user's callback unless the
 * query was cancelled (which dns_resolver_free() does to every query
 * before ares_destroy() reports ARES_EDESTRUCTION). */
static void
dns_resolver_on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    struct dns_query *q = arg;
    struct dns_resolver *r = q->r;
    struct dns_answer answer;
    dns_resolver_cb cb = q->cb;
    void *cb_arg = q->arg;
    int rc;

    (void)timeouts;
    dns_resolver_unlink(q);
    if (q->submitting) {
        /* Inside ares_query(): hand the answer over from the loop (q
         * stays allocated, so dns_resolver_query() may still touch it). */
        q->status = status;
        if (abuf != NULL && alen > 0) {
            q->abuf = xmalloc((size_t)alen);
            memcpy(q->abuf, abuf, (size_t)alen);
            q->alen = alen;
        }
        q->deferred = 1;
        dns_resolver_link(&r->deferred, q);
        if ((rc = uv_timer_start(&r->deliver, dns_resolver_on_deliver, 0, 0)) != 0)
            log_error("dns_resolver: cannot arm the delivery timer: %s", uv_strerror(rc));
        return;
    }
    dns_resolver_query_free(q);
    if (cb == NULL || status == ARES_EDESTRUCTION)
        return;
    answer.status = status;
    answer.error = ares_strerror(status);
    answer.abuf = abuf;
    answer.alen = alen;
    cb(&answer, cb_arg);
}

/* Parses one "host[:port]" server: "192.0.2.1", "192.0.2.1:5353", "::1",
 * "[::1]" or "[::1]:5353".  Returns 0 and fills node, or -1. */
static int
dns_resolver_parse_server(const char *spec, struct ares_addr_port_node *node)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *h = spec, *port = NULL, *colon, *end;
    size_t hlen;
    long p = 53;
    char *stop;

    memset(node, 0, sizeof(*node));
    if (spec[0] == '[') {
        if ((end = strchr(spec, ']')) == NULL)
            return -1;
        h = spec + 1;
        hlen = (size_t)(end - h);
        if (end[1] == ':')
            port = end + 2;
        else if (end[1] != '\0')
            return -1;
    } else if ((colon = strchr(spec, ':')) != NULL && strchr(colon + 1, ':') == NULL) {
        hlen = (size_t)(colon - spec);
        port = colon + 1;
    } else {
        hlen = strlen(spec); /* a bare IPv4 or IPv6 address */
    }
    if (hlen == 0 || hlen >= sizeof(host))
        return -1;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    if (port != NULL) {
        if (port[0] < '0' || port[0] > '9')
            return -1;
        errno = 0;
        p = strtol(port, &stop, 10);
        if (errno != 0 || *stop != '\0' || p < 1 || p > 65535)
            return -1;
    }
    if (spec[0] != '[' && inet_pton(AF_INET, host, &node->addr.addr4) == 1) {
        node->family = AF_INET;
    } else if (inet_pton(AF_INET6, host, &node->addr.addr6) == 1) {
        node->family = AF_INET6;
    } else {
        return -1;
    }
    node->udp_port = (int)p;
    node->tcp_port = (int)p;
    return 0;
}

/* Gives the channel the configured servers.  Returns 0, or -1 with an
 * allocated reason in *cause. */
static int
dns_resolver_set_servers(ares_channel channel, const char *const *servers, char **cause)
{
    struct ares_addr_port_node *nodes = NULL;
    size_t n = 0, i;
    int rc, ret = -1;

    while (servers[n] != NULL)
        n++;
    if (n == 0) {
        *cause = xstrdup("the list of DNS servers is empty");
        goto out;
    }
    nodes = xcalloc(n, sizeof(*nodes));
    for (i = 0; i < n; i++) {
        if (dns_resolver_parse_server(servers[i], &nodes[i]) != 0) {
            *cause = xasprintf("DNS server \"%s\" is not an IP address with an optional port", servers[i]);
            goto out;
        }
        if (i + 1 < n)
            nodes[i].next = &nodes[i + 1];
    }
    if ((rc = ares_set_servers_ports(channel, nodes)) != ARES_SUCCESS) {
        *cause = xasprintf("c-ares refused the DNS servers: %s", ares_strerror(rc));
        goto out;
    }
    ret = 0;
out:
    free(nodes);
    return ret;
}

int
dns_resolver_new(uv_loop_t *loop, const struct dns_resolver_options *opt, struct dns_resolver **out, char **cause)
{
    struct dns_resolver *r = xcalloc(1, sizeof(*r));
    struct ares_options aopt;
    int optmask, rc, ret = -1;

    *out = NULL;
    *cause = NULL;
    /* From here on r counts as a user, and dns_resolver_release() frees it. */
    if (dns_resolver_users++ == 0 && (rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
        *cause = xasprintf("c-ares cannot start: %s", ares_strerror(rc));
        goto out;
    }
    r->loop = loop;
    memset(&aopt, 0, sizeof(aopt));
    aopt.sock_state_cb = dns_resolver_sock_state_cb;
    aopt.sock_state_cb_data = r;
    aopt.timeout = (int)(opt != NULL && opt->timeout_ms > 0 ? opt->timeout_ms : DNS_RESOLVER_DEFAULT_TIMEOUT_MS);
    aopt.tries = (int)(opt != NULL && opt->tries > 0 ? opt->tries : DNS_RESOLVER_DEFAULT_TRIES);
    optmask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
    if (opt != NULL && opt->keep_errors) {
        aopt.flags = ARES_FLAG_NOCHECKRESP;
        optmask |= ARES_OPT_FLAGS;
    }
    /* Configured servers are an order of preference; the system's follow
     * resolv.conf, "options rotate" included. */
    if (opt != NULL && opt->servers != NULL)
        optmask |= ARES_OPT_NOROTATE;
    if ((rc = ares_init_options(&r->channel, &aopt, optmask)) != ARES_SUCCESS) {
        *cause = xasprintf("c-ares cannot start: %s", ares_strerror(rc));
        goto out;
    }
    r->have_channel = 1;
    if (opt != NULL && opt->servers != NULL && dns_resolver_set_servers(r->channel, opt->servers, cause) != 0)
        goto out;
    if ((rc = uv_timer_init(loop, &r->timer)) != 0) {
        *cause = xasprintf("cannot make a timer: %s", uv_strerror(rc));
        goto out;
    }
    r->timer.data = r;
    r->handles++;
    if ((rc = uv_timer_init(loop, &r->deliver)) != 0) {
        *cause = xasprintf("cannot make a timer: %s", uv_strerror(rc));
        goto out;
    }
    r->deliver.data = r;
    r->handles++;
    *out = r;
    ret = 0;
out:
    if (ret != 0) {
        if (r->have_channel)
            ares_destroy(r->channel);
        /* A timer already made must close before r can go. */
        if (r->handles > 0) {
            r->closing = 1;
            uv_close((uv_handle_t *)&r->timer, dns_resolver_on_handle_close);
        } else {
            dns_resolver_release(r);
        }
    }
    return ret;
}

struct dns_query *
dns_resolver_query(struct dns_resolver *r, const char *name, int type, dns_resolver_cb cb, void *arg)
{
    struct dns_query *q;

    if (r->closing)
        return NULL;
    q = xcalloc(1, sizeof(*q));
    q->r = r;
    q->cb = cb;
    q->arg = arg;
    dns_resolver_link(&r->queries, q);
    q->submitting = 1;
    r->depth++;
    ares_query(r->channel, name, ns_c_in, type, dns_resolver_on_answer, q);
    /* q may already sit on r->deferred, but it is not freed before the
     * deliver timer runs, so it is still ours to touch here. */
    q->submitting = 0;
    dns_resolver_leave(r);
    return q;
}

void
dns_query_cancel(struct dns_query *q)
{
    if (q == NULL)
        return;
    q->cb = NULL;
    /* A query still in c-ares is freed when c-ares ends it; an answer
     * waiting for the deliver timer can go now. */
    if (q->deferred) {
        dns_resolver_unlink(q);
        dns_resolver_query_free(q);
    }
}

char *
dns_resolver_reverse_name(const char *addr)
{
    static const char hex[] = "0123456789abcdef";
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    unsigned char a[16];
    char *name, *p;
    int i;

    if (addr == NULL)
        return NULL;
    if (inet_pton(AF_INET, addr, a) == 1)
        return xasprintf("%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]);
    if (inet_pton(AF_INET6, addr, a) != 1)
        return NULL;
    /* An IPv4-mapped address (::ffff:192.0.2.1, as a dual-stack socket
     * reports an IPv4 peer) has its PTR records under in-addr.arpa. */
    if (memcmp(a, mapped, sizeof(mapped)) == 0)
        return xasprintf("%u.%u.%u.%u.in-addr.arpa", a[15], a[14], a[13], a[12]);
    /* 32 nibbles, least significant first, each followed by a dot. */
    name = xmalloc(16 * 4 + sizeof("ip6.arpa"));
    p = name;
    for (i = 15; i >= 0; i--) {
        *p++ = hex[a[i] & 0xf];
        *p++ = '.';
        *p++ = hex[a[i] >> 4];
        *p++ = '.';
    }
    memcpy(p, "ip6.arpa", sizeof("ip6.arpa"));
    return name;
}

void
dns_resolver_free(struct dns_resolver *r)
{
    struct dns_query *q;

    if (r == NULL || r->closing)
        return;
    r->closing = 1;
    for (q = r->queries; q != NULL; q = q->next)
        q->cb = NULL;
    while (r->deferred != NULL) {
        q = r->deferred;
        dns_resolver_unlink(q);
        dns_resolver_query_free(q);
    }
    if (r->depth > 0)
        r->destroy_pending = 1; /* dns_resolver_leave() finishes */
    else
        dns_resolver_destroy(r);
}
