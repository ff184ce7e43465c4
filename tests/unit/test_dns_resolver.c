/*
 * dns_resolver against a real DNS server: dnsmasq from Debian, started on
 * 127.0.0.1 (and ::1 when the machine has it) on a free port, with a test
 * zone written into its configuration.  Every record type the header
 * names is queried through the resolver and its answer parsed with
 * c-ares's own ares_parse_*_reply functions, values and TTLs checked.  Then
 * the failures a caller sees: NXDOMAIN, no data, a malformed name, a
 * timeout against a UDP port that never answers, failover to a second
 * server; and the lifecycle: cancel, free with queries in flight, free from
 * inside a callback, many queries at once.  Every part ends with
 * uv_loop_close() == 0.
 *
 * dnsmasq answers NS only for an authoritative zone queried on its
 * authoritative address, and in that mode it serves neither --address nor
 * --ptr-record and gives every record the same TTL.  So the test zone is
 * served in the ordinary (recursive-side) mode, where each record keeps
 * its own TTL; its NS records are written as raw --dns-rr records, and the
 * SOA comes from a separate --auth-zone, which dnsmasq also serves there.
 *
 * Without dnsmasq (Debian package dnsmasq-base) the whole test is skipped.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ares.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define TEST_SANITIZER 1
#endif

#include "appservice/dns_resolver.h"
#include "appservice/xmalloc.h"
#include "tests/tap.h"
#include "tests/unit/fixture.h"

extern char **environ;

/* The records the test zone holds, as the checks expect them. */
#define ZONE_LOCAL_TTL 300 /* --local-ttl: --address, --mx-host, --txt-record, --ptr-record, --dns-rr */
#define ZONE_HOST_TTL 600  /* the --host-record's own TTL */
#define ZONE_CNAME_TTL 120 /* the --cname's own TTL */
#define ZONE_AUTH_TTL 900  /* --auth-ttl: the SOA and its minimum */

/* One answer, copied out of the callback. */
struct result {
    int calls;
    int status;
    unsigned char *abuf;
    int alen;
};

static uv_loop_t loop;
static pid_t dnsmasq_pid = -1;
static int dnsmasq_port;
static int have_v6;
static char *tmpdir;

/* Stops dnsmasq; safe from a signal handler and at exit. */
static void
dnsmasq_kill(void)
{
    int st;

    if (dnsmasq_pid > 0) {
        kill(dnsmasq_pid, SIGTERM);
        waitpid(dnsmasq_pid, &st, 0);
        dnsmasq_pid = -1;
    }
}

/* When the test dies abnormally, dnsmasq would stay behind as an orphan;
 * these stop it.  Only async-signal-safe calls. */
static void
dnsmasq_kill_now(void)
{
    if (dnsmasq_pid > 0)
        kill(dnsmasq_pid, SIGTERM);
}

static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL};
static struct sigaction crash_old[sizeof(crash_signals) / sizeof(crash_signals[0])];

/* A crash: stop dnsmasq, then let the previous handler (the sanitizer's
 * report, or the default) have the signal. */
static void
on_crash(int sig)
{
    size_t i;

    dnsmasq_kill_now();
    for (i = 0; i < sizeof(crash_signals) / sizeof(crash_signals[0]); i++) {
        if (crash_signals[i] == sig)
            sigaction(sig, &crash_old[i], NULL);
    }
    raise(sig);
}

static void
crash_guard(void)
{
    struct sigaction sa;
    size_t i;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_crash;
    sigemptyset(&sa.sa_mask);
    for (i = 0; i < sizeof(crash_signals) / sizeof(crash_signals[0]); i++)
        sigaction(crash_signals[i], &sa, &crash_old[i]);
#ifdef TEST_SANITIZER
    /* A sanitizer's report ends the process without signals or atexit. */
    __sanitizer_set_death_callback(dnsmasq_kill_now);
#endif
}

/* A hung test must not leave dnsmasq running behind it. */
static void
on_fatal_signal(int sig)
{
    static const char msg[] = "Bail out! test timed out or was killed\n";

    if (dnsmasq_pid > 0)
        kill(dnsmasq_pid, SIGTERM);
    (void)!write(1, msg, sizeof(msg) - 1);
    _exit(128 + sig);
}

static void
result_reset(struct result *res)
{
    free(res->abuf);
    memset(res, 0, sizeof(*res));
}

static void
on_answer(const struct dns_answer *a, void *arg)
{
    struct result *res = arg;

    res->calls++;
    res->status = a->status;
    free(res->abuf);
    res->abuf = NULL;
    res->alen = a->alen;
    if (a->abuf != NULL && a->alen > 0) {
        res->abuf = xmalloc((size_t)a->alen);
        memcpy(res->abuf, a->abuf, (size_t)a->alen);
    }
}

/* Runs the loop until res has its answer (or the loop has nothing left). */
static void
wait_for(struct result *res)
{
    while (res->calls == 0 && uv_run(&loop, UV_RUN_ONCE) != 0)
        ;
}

/* Queries and waits; returns the status (-1 if no callback came). */
static int
resolve(struct dns_resolver *r, const char *name, int type, struct result *res)
{
    result_reset(res);
    if (dns_resolver_query(r, name, type, on_answer, res) == NULL)
        return -1;
    wait_for(res);
    return res->calls == 1 ? res->status : -1;
}

/* Frees r, lets its handles close, and checks the loop is empty. */
static void
resolver_done(struct dns_resolver *r, const char *what)
{
    dns_resolver_free(r);
    uv_run(&loop, UV_RUN_DEFAULT);
    is_int(uv_loop_alive(&loop), 0, "%s: nothing left on the loop", what);
}

/* Makes a resolver for servers; fails the test (and returns NULL) if it cannot. */
static struct dns_resolver *
resolver(const char *const *servers, unsigned timeout_ms, unsigned tries)
{
    struct dns_resolver_options opt = {servers, timeout_ms, tries};
    struct dns_resolver *r = NULL;
    char *cause = NULL;

    if (dns_resolver_new(&loop, &opt, &r, &cause) != 0) {
        printf("# dns_resolver_new: %s\n", cause);
        free(cause);
        return NULL;
    }
    return r;
}

/* "127.0.0.1:<port>", in a static buffer per slot. */
static const char *
server_at(const char *host, int port, int slot)
{
    static char buf[4][64];

    snprintf(buf[slot], sizeof(buf[slot]), "%s:%d", host, port);
    return buf[slot];
}

/* Big-endian fields of a DNS message. */
static unsigned
get16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static unsigned long
get32(const unsigned char *p)
{
    return (unsigned long)get16(p) << 16 | get16(p + 2);
}

#define MSG_RCODE(m) ((m)[3] & 0x0f)
#define MSG_QDCOUNT(m) get16((m) + 4)
#define MSG_ANCOUNT(m) get16((m) + 6)

/* The TTL, type and rdata offset of the first answer record, read with
 * ares_expand_name() for the names; c-ares 1.18's parsers give TTLs only
 * for A and AAAA.  Returns 0, or -1 if the message holds no answer. */
static int
first_rr(const struct result *res, int *type, int *ttl, long *rdata)
{
    const unsigned char *p = res->abuf, *end = res->abuf + res->alen;
    char *name;
    long enclen;
    int i;

    *type = -1;
    *ttl = -1;
    *rdata = 0;
    if (p == NULL || res->alen < 12 || MSG_QDCOUNT(p) != 1 || MSG_ANCOUNT(p) < 1)
        return -1;
    p += 12;
    for (i = 0; i < 2; i++) { /* the question's name, then the record's */
        if (ares_expand_name(p, res->abuf, res->alen, &name, &enclen) != ARES_SUCCESS)
            return -1;
        ares_free_string(name);
        p += enclen + (i == 0 ? 4 : 0);
    }
    if (end - p < 10)
        return -1;
    *type = (int)get16(p);
    *ttl = (int)get32(p + 4);
    *rdata = (long)(p + 10 - res->abuf);
    return 0;
}

/* The wire form of a name in hex, for --dns-rr. */
static char *
wire_hex(const char *name)
{
    char *out = xmalloc(strlen(name) * 2 + 5), *o = out;
    const char *label = name;

    while (*label != '\0') {
        const char *dot = strchr(label, '.');
        size_t len = dot != NULL ? (size_t)(dot - label) : strlen(label);
        size_t i;

        o += sprintf(o, "%02x", (unsigned)len);
        for (i = 0; i < len; i++)
            o += sprintf(o, "%02x", (unsigned char)label[i]);
        label += len + (dot != NULL);
    }
    strcpy(o, "00");
    return out;
}

/* Binds a socket of type on host:port; returns the descriptor or -1. */
static int
bind_on(int family, int type, int port)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int fd;

    memset(&ss, 0, sizeof(ss));
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(*sin);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        sin6->sin6_addr = in6addr_loopback;
        len = sizeof(*sin6);
    }
    if ((fd = socket(family, type | SOCK_CLOEXEC, 0)) < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The port a bound socket has. */
static int
port_of(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* A port free for UDP and TCP on 127.0.0.1 (and ::1 if used) right now. */
static int
free_port(void)
{
    int attempt;

    for (attempt = 0; attempt < 20; attempt++) {
        int fds[4] = {-1, -1, -1, -1}, port, i, okay = 1;

        if ((fds[0] = bind_on(AF_INET, SOCK_DGRAM, 0)) < 0)
            return -1;
        port = port_of(fds[0]);
        fds[1] = bind_on(AF_INET, SOCK_STREAM, port);
        if (have_v6) {
            fds[2] = bind_on(AF_INET6, SOCK_DGRAM, port);
            fds[3] = bind_on(AF_INET6, SOCK_STREAM, port);
        }
        for (i = 0; i < 4; i++) {
            if (fds[i] < 0 && (i < 2 || have_v6))
                okay = 0;
            if (fds[i] >= 0)
                close(fds[i]);
        }
        if (okay && port > 0)
            return port;
    }
    return -1;
}

/* Writes the dnsmasq configuration for port; returns its path (allocated). */
static char *
dnsmasq_config(int port)
{
    char *path = xasprintf("%s/dnsmasq.conf", tmpdir);
    char *ns1 = wire_hex("ns1.test.internal"), *ns2 = wire_hex("ns2.test.internal");
    FILE *f = fopen(path, "w");

    if (f == NULL) {
        perror(path);
        abort();
    }
    fprintf(f,
            "keep-in-foreground\n"
            "port=%d\n"
            "listen-address=127.0.0.1\n"
            "%s"
            "bind-interfaces\n"
            "no-resolv\n"
            "no-hosts\n"
            "pid-file=\n"
            "log-facility=-\n"
            "log-queries\n"
            "local-ttl=%d\n"
            /* Names under test.internal that are not below are NXDOMAIN. */
            "local=/test.internal/\n"
            "address=/a.test.internal/192.0.2.10\n"
            "host-record=h.test.internal,192.0.2.20,2001:db8::20,%d\n"
            "mx-host=test.internal,mail.test.internal,10\n"
            "mx-host=test.internal,backup.test.internal,20\n"
            "txt-record=t.test.internal,\"v=spf1 -all\",\"second string\"\n"
            "cname=alias.test.internal,h.test.internal,%d\n"
            "ptr-record=10.2.0.192.in-addr.arpa,a.test.internal\n"
            "dns-rr=test.internal,2,%s\n"
            "dns-rr=test.internal,2,%s\n"
            "auth-server=ns1.zone.internal\n"
            "auth-zone=zone.internal\n"
            "auth-soa=2024010101,hostmaster.zone.internal,1200,180,1209600\n"
            "auth-ttl=%d\n",
            port, have_v6 ? "listen-address=::1\n" : "", ZONE_LOCAL_TTL, ZONE_HOST_TTL, ZONE_CNAME_TTL, ns1, ns2,
            ZONE_AUTH_TTL);
    if (fclose(f) != 0) {
        perror(path);
        abort();
    }
    free(ns1);
    free(ns2);
    return path;
}

/* Prints dnsmasq's log as TAP comments, to explain a failure. */
static void
dnsmasq_show_log(void)
{
    char *path = xasprintf("%s/dnsmasq.log", tmpdir), line[512];
    FILE *f = fopen(path, "r");

    free(path);
    if (f == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL)
        printf("# dnsmasq: %s", line);
    fclose(f);
}

/* Sleeps ms milliseconds. */
static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/*
 * Starts dnsmasq on a free port and waits until it answers a query for
 * a.test.internal through the resolver.  Returns 0, or -1 (with the log
 * printed) if it exited or never answered.  A port taken between the
 * check and dnsmasq's bind (exit status 2) is retried on another port.
 */
static int
dnsmasq_start(const char *exe)
{
    int attempt;

    for (attempt = 0; attempt < 3; attempt++) {
        posix_spawn_file_actions_t fa;
        char *conf, *conf_arg, *log;
        char *argv[4];
        struct dns_resolver *probe;
        struct result res = {0};
        int port, st, i, rc, exited = 0;

        if ((port = free_port()) < 0)
            return -1;
        conf = dnsmasq_config(port);
        conf_arg = xasprintf("--conf-file=%s", conf);
        log = xasprintf("%s/dnsmasq.log", tmpdir);
        argv[0] = (char *)exe;
        argv[1] = (char *)"--keep-in-foreground";
        argv[2] = conf_arg;
        argv[3] = NULL;
        if (posix_spawn_file_actions_init(&fa) != 0 ||
            posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) != 0 ||
            posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0644) != 0 ||
            posix_spawn_file_actions_adddup2(&fa, 1, 2) != 0)
            abort();
        rc = posix_spawn(&dnsmasq_pid, exe, &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        free(conf);
        free(conf_arg);
        free(log);
        if (rc != 0) {
            printf("# posix_spawn %s: %s\n", exe, strerror(rc));
            dnsmasq_pid = -1;
            return -1;
        }
        dnsmasq_port = port;
        {
            const char *servers[] = {server_at("127.0.0.1", port, 0), NULL};

            if ((probe = resolver(servers, 200, 1)) == NULL)
                return -1;
        }
        for (i = 0; i < 100; i++) {
            if (resolve(probe, "a.test.internal", ns_t_a, &res) == ARES_SUCCESS)
                break;
            if (waitpid(dnsmasq_pid, &st, WNOHANG) == dnsmasq_pid) {
                dnsmasq_pid = -1;
                exited = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                break;
            }
            sleep_ms(50);
        }
        result_reset(&res);
        dns_resolver_free(probe);
        uv_run(&loop, UV_RUN_DEFAULT);
        if (dnsmasq_pid > 0 && i < 100)
            return 0;
        dnsmasq_show_log();
        dnsmasq_kill();
        if (exited != 2) /* 2: a network problem, such as the port being taken */
            return -1;
    }
    return -1;
}

/* A UDP socket on 127.0.0.1 that reads nothing and answers nothing. */
static int
silent_socket(int *port)
{
    int fd = bind_on(AF_INET, SOCK_DGRAM, 0);

    if (fd >= 0)
        *port = port_of(fd);
    return fd;
}

/* Counts (and drains) the datagrams a silent socket has received. */
static int
silent_count(int fd)
{
    char buf[1500];
    int n = 0;

    while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
        n++;
    return n;
}

static void
test_records(struct dns_resolver *r)
{
    struct result res = {0};
    struct hostent *host = NULL;
    struct ares_addrttl a4[4];
    struct ares_addr6ttl a6[4];
    struct ares_mx_reply *mx = NULL;
    struct ares_txt_ext *txt = NULL;
    struct ares_soa_reply *soa = NULL;
    char buf[INET6_ADDRSTRLEN], *rev, *name;
    int n, type, ttl;
    long rdata, enclen;

    /* A from --address, with --local-ttl. */
    is_int(resolve(r, "a.test.internal", ns_t_a, &res), ARES_SUCCESS, "A a.test.internal: success");
    n = 4;
    is_int(ares_parse_a_reply(res.abuf, res.alen, NULL, a4, &n), ARES_SUCCESS, "A: ares_parse_a_reply");
    is_int(n, 1, "A: one address");
    is_str(inet_ntop(AF_INET, &a4[0].ipaddr, buf, sizeof(buf)), "192.0.2.10", "A: 192.0.2.10");
    is_int(a4[0].ttl, ZONE_LOCAL_TTL, "A: TTL from --local-ttl");

    /* A and AAAA from --host-record, with its own TTL. */
    is_int(resolve(r, "h.test.internal", ns_t_a, &res), ARES_SUCCESS, "A h.test.internal: success");
    n = 4;
    is_int(ares_parse_a_reply(res.abuf, res.alen, NULL, a4, &n), ARES_SUCCESS, "A host-record: parsed");
    ok(n == 1 && strcmp(inet_ntop(AF_INET, &a4[0].ipaddr, buf, sizeof(buf)), "192.0.2.20") == 0,
       "A host-record: 192.0.2.20");
    is_int(a4[0].ttl, ZONE_HOST_TTL, "A host-record: the record's own TTL");
    is_int(resolve(r, "h.test.internal", ns_t_aaaa, &res), ARES_SUCCESS, "AAAA h.test.internal: success");
    n = 4;
    is_int(ares_parse_aaaa_reply(res.abuf, res.alen, NULL, a6, &n), ARES_SUCCESS, "AAAA: ares_parse_aaaa_reply");
    is_int(n, 1, "AAAA: one address");
    is_str(inet_ntop(AF_INET6, &a6[0].ip6addr, buf, sizeof(buf)), "2001:db8::20", "AAAA: 2001:db8::20");
    is_int(a6[0].ttl, ZONE_HOST_TTL, "AAAA: TTL");

    /* MX: both exchangers, with their preferences. */
    is_int(resolve(r, "test.internal", ns_t_mx, &res), ARES_SUCCESS, "MX test.internal: success");
    is_int(ares_parse_mx_reply(res.abuf, res.alen, &mx), ARES_SUCCESS, "MX: ares_parse_mx_reply");
    {
        int seen10 = 0, seen20 = 0, count = 0;
        struct ares_mx_reply *m;

        for (m = mx; m != NULL; m = m->next) {
            count++;
            seen10 |= m->priority == 10 && strcmp(m->host, "mail.test.internal") == 0;
            seen20 |= m->priority == 20 && strcmp(m->host, "backup.test.internal") == 0;
        }
        is_int(count, 2, "MX: two records");
        ok(seen10 && seen20, "MX: mail.test.internal at 10 and backup.test.internal at 20");
    }
    ares_free_data(mx);
    ok(first_rr(&res, &type, &ttl, &rdata) == 0 && type == ns_t_mx, "MX: first answer is an MX record");
    is_int(ttl, ZONE_LOCAL_TTL, "MX: TTL");

    /* NS from --dns-rr. */
    is_int(resolve(r, "test.internal", ns_t_ns, &res), ARES_SUCCESS, "NS test.internal: success");
    is_int(ares_parse_ns_reply(res.abuf, res.alen, &host), ARES_SUCCESS, "NS: ares_parse_ns_reply");
    if (host != NULL) {
        int count = 0, seen1 = 0, seen2 = 0;

        for (n = 0; host->h_aliases[n] != NULL; n++) {
            count++;
            seen1 |= strcmp(host->h_aliases[n], "ns1.test.internal") == 0;
            seen2 |= strcmp(host->h_aliases[n], "ns2.test.internal") == 0;
        }
        is_int(count, 2, "NS: two name servers");
        ok(seen1 && seen2, "NS: ns1.test.internal and ns2.test.internal");
        ares_free_hostent(host);
        host = NULL;
    }
    ok(first_rr(&res, &type, &ttl, &rdata) == 0 && type == ns_t_ns, "NS: first answer is an NS record");
    is_int(ttl, ZONE_LOCAL_TTL, "NS: TTL");

    /* TXT: one record of two strings. */
    is_int(resolve(r, "t.test.internal", ns_t_txt, &res), ARES_SUCCESS, "TXT t.test.internal: success");
    is_int(ares_parse_txt_reply_ext(res.abuf, res.alen, &txt), ARES_SUCCESS, "TXT: ares_parse_txt_reply_ext");
    ok(txt != NULL && txt->record_start == 1 && txt->length == 11 && memcmp(txt->txt, "v=spf1 -all", 11) == 0,
       "TXT: first string \"v=spf1 -all\" starts the record");
    ok(txt != NULL && txt->next != NULL && txt->next->record_start == 0 &&
           strcmp((char *)txt->next->txt, "second string") == 0 && txt->next->next == NULL,
       "TXT: second string of the same record");
    ares_free_data(txt);
    ok(first_rr(&res, &type, &ttl, &rdata) == 0 && type == ns_t_txt, "TXT: first answer is a TXT record");
    is_int(ttl, ZONE_LOCAL_TTL, "TXT: TTL");

    /* CNAME asked for itself, and followed by an A query. */
    is_int(resolve(r, "alias.test.internal", ns_t_cname, &res), ARES_SUCCESS, "CNAME alias.test.internal: success");
    ok(first_rr(&res, &type, &ttl, &rdata) == 0 && type == ns_t_cname, "CNAME: the answer is a CNAME record");
    is_int(ttl, ZONE_CNAME_TTL, "CNAME: the record's own TTL");
    name = NULL;
    if (ares_expand_name(res.abuf + rdata, res.abuf, res.alen, &name, &enclen) == ARES_SUCCESS) {
        is_str(name, "h.test.internal", "CNAME: target h.test.internal");
        ares_free_string(name);
    } else {
        ok(0, "CNAME: target h.test.internal");
    }
    is_int(resolve(r, "alias.test.internal", ns_t_a, &res), ARES_SUCCESS, "A through the CNAME: success");
    n = 4;
    is_int(ares_parse_a_reply(res.abuf, res.alen, &host, a4, &n), ARES_SUCCESS, "A through the CNAME: parsed");
    if (host != NULL) {
        is_str(host->h_name, "h.test.internal", "A through the CNAME: canonical name");
        is_str(host->h_aliases[0], "alias.test.internal", "A through the CNAME: alias");
        ares_free_hostent(host);
        host = NULL;
    }
    ok(n == 1 && strcmp(inet_ntop(AF_INET, &a4[0].ipaddr, buf, sizeof(buf)), "192.0.2.20") == 0,
       "A through the CNAME: the target's address");

    /* SOA of the authoritative zone, with every field of --auth-soa. */
    is_int(resolve(r, "zone.internal", ns_t_soa, &res), ARES_SUCCESS, "SOA zone.internal: success");
    is_int(ares_parse_soa_reply(res.abuf, res.alen, &soa), ARES_SUCCESS, "SOA: ares_parse_soa_reply");
    if (soa != NULL) {
        is_str(soa->nsname, "ns1.zone.internal", "SOA: primary name server from --auth-server");
        is_str(soa->hostmaster, "hostmaster.zone.internal", "SOA: hostmaster");
        is_int(soa->serial, 2024010101u, "SOA: serial");
        is_int(soa->refresh, 1200, "SOA: refresh");
        is_int(soa->retry, 180, "SOA: retry");
        is_int(soa->expire, 1209600, "SOA: expire");
        is_int(soa->minttl, ZONE_AUTH_TTL, "SOA: minimum TTL");
        ares_free_data(soa);
    }
    ok(first_rr(&res, &type, &ttl, &rdata) == 0 && type == ns_t_soa, "SOA: the answer is an SOA record");
    is_int(ttl, ZONE_AUTH_TTL, "SOA: TTL from --auth-ttl");

    /* PTR from --ptr-record (IPv4) and from the --host-record (IPv6). */
    rev = dns_resolver_reverse_name("192.0.2.10");
    is_int(resolve(r, rev, ns_t_ptr, &res), ARES_SUCCESS, "PTR %s: success", rev);
    free(rev);
    {
        struct in_addr in4;

        inet_pton(AF_INET, "192.0.2.10", &in4);
        is_int(ares_parse_ptr_reply(res.abuf, res.alen, &in4, sizeof(in4), AF_INET, &host), ARES_SUCCESS,
               "PTR IPv4: ares_parse_ptr_reply");
    }
    if (host != NULL) {
        is_str(host->h_name, "a.test.internal", "PTR IPv4: a.test.internal");
        ares_free_hostent(host);
        host = NULL;
    }
    ok(first_rr(&res, &type, &ttl, &rdata) == 0 && type == ns_t_ptr, "PTR IPv4: the answer is a PTR record");
    is_int(ttl, ZONE_LOCAL_TTL, "PTR IPv4: TTL");
    rev = dns_resolver_reverse_name("2001:db8::20");
    is_int(resolve(r, rev, ns_t_ptr, &res), ARES_SUCCESS, "PTR for 2001:db8::20: success");
    free(rev);
    {
        struct in6_addr in6;

        inet_pton(AF_INET6, "2001:db8::20", &in6);
        is_int(ares_parse_ptr_reply(res.abuf, res.alen, &in6, sizeof(in6), AF_INET6, &host), ARES_SUCCESS,
               "PTR IPv6: ares_parse_ptr_reply");
    }
    if (host != NULL) {
        is_str(host->h_name, "h.test.internal", "PTR IPv6: h.test.internal");
        ares_free_hostent(host);
        host = NULL;
    }
    ok(first_rr(&res, &type, &ttl, &rdata) == 0 && type == ns_t_ptr, "PTR IPv6: the answer is a PTR record");
    is_int(ttl, ZONE_HOST_TTL, "PTR IPv6: the host record's TTL");

    /* What does not exist. */
    is_int(resolve(r, "nx.test.internal", ns_t_a, &res), ARES_ENOTFOUND, "NXDOMAIN: ARES_ENOTFOUND");
    ok(res.abuf != NULL && res.alen >= 12 && MSG_RCODE(res.abuf) == ns_r_nxdomain,
       "NXDOMAIN: the response is passed on, with rcode NXDOMAIN");
    is_int(resolve(r, "h.test.internal", ns_t_txt, &res), ARES_ENODATA, "no TXT at a name with A: ARES_ENODATA");
    ok(res.abuf != NULL && res.alen >= 12 && MSG_RCODE(res.abuf) == ns_r_noerror && MSG_ANCOUNT(res.abuf) == 0,
       "no data: the response is passed on, NOERROR without answers");
    result_reset(&res);
}

/* State for queries started or ended from inside a callback. */
struct chain {
    struct dns_resolver *r;
    struct result ptr;
    int a_calls;
    int a_status;
    char *rev;
};

/* The A answer's callback looks up the PTR of the address it got. */
static void
on_chain_a(const struct dns_answer *a, void *arg)
{
    struct chain *c = arg;
    struct ares_addrttl a4[2];
    char buf[INET_ADDRSTRLEN];
    int n = 2;

    c->a_calls++;
    c->a_status = a->status;
    if (a->status != ARES_SUCCESS || ares_parse_a_reply(a->abuf, a->alen, NULL, a4, &n) != ARES_SUCCESS || n < 1)
        return;
    c->rev = dns_resolver_reverse_name(inet_ntop(AF_INET, &a4[0].ipaddr, buf, sizeof(buf)));
    dns_resolver_query(c->r, c->rev, ns_t_ptr, on_answer, &c->ptr);
}

static void
test_chain(struct dns_resolver *r)
{
    struct chain c = {r, {0}, 0, 0, NULL};
    struct hostent *host = NULL;
    struct in_addr in4;

    dns_resolver_query(r, "a.test.internal", ns_t_a, on_chain_a, &c);
    wait_for(&c.ptr);
    is_int(c.a_status, ARES_SUCCESS, "chain: the A query succeeded");
    is_str(c.rev, "10.2.0.192.in-addr.arpa", "chain: the callback asked for the address's PTR");
    is_int(c.ptr.calls, 1, "chain: a query started from a callback completes");
    inet_pton(AF_INET, "192.0.2.10", &in4);
    if (c.ptr.calls == 1 &&
        ares_parse_ptr_reply(c.ptr.abuf, c.ptr.alen, &in4, sizeof(in4), AF_INET, &host) == ARES_SUCCESS) {
        is_str(host->h_name, "a.test.internal", "chain: and finds a.test.internal");
        ares_free_hostent(host);
    } else {
        ok(0, "chain: and finds a.test.internal");
    }
    free(c.rev);
    result_reset(&c.ptr);
}

/* A malformed name: c-ares refuses it inside ares_query(), but the
 * callback still comes from the loop, after the call has returned. */
static void
test_bad_name(struct dns_resolver *r)
{
    struct result res = {0}, gone = {0};
    char label[80];
    char *name;
    struct dns_query *q;

    memset(label, 'x', 70);
    label[70] = '\0';
    name = xasprintf("%s.test.internal", label);
    q = dns_resolver_query(r, name, ns_t_a, on_answer, &res);
    ok(q != NULL && res.calls == 0, "bad name: no callback inside dns_resolver_query()");
    q = dns_resolver_query(r, name, ns_t_a, on_answer, &gone);
    dns_query_cancel(q);
    wait_for(&res);
    uv_run(&loop, UV_RUN_NOWAIT);
    is_int(res.calls, 1, "bad name: the callback runs once, from the loop");
    is_int(res.status, ARES_EBADNAME, "bad name: ARES_EBADNAME");
    is_int(gone.calls, 0, "bad name: cancelled before delivery, no callback");
    free(name);
    result_reset(&res);
}

static void
test_cancel(struct dns_resolver *r)
{
    struct result cancelled = {0}, kept = {0};
    struct dns_query *q;

    q = dns_resolver_query(r, "a.test.internal", ns_t_a, on_answer, &cancelled);
    ok(q != NULL, "cancel: query started");
    dns_resolver_query(r, "h.test.internal", ns_t_a, on_answer, &kept);
    dns_query_cancel(q);
    dns_query_cancel(NULL);
    uv_run(&loop, UV_RUN_DEFAULT); /* until c-ares has finished both and closed its socket */
    is_int(cancelled.calls, 0, "cancel: the cancelled query's callback never runs");
    is_int(kept.calls, 1, "cancel: the other query is answered");
    is_int(kept.status, ARES_SUCCESS, "cancel: with success");
    result_reset(&kept);
}

/* Many queries in flight at once, each answered exactly once and right. */
static void
test_many(struct dns_resolver *r)
{
    enum { MANY = 300 };
    static const char *const names[3] = {"a.test.internal", "h.test.internal", "nx.test.internal"};
    static const int types[3] = {ns_t_a, ns_t_aaaa, ns_t_a};
    static const int want[3] = {ARES_SUCCESS, ARES_SUCCESS, ARES_ENOTFOUND};
    struct result *res = xcalloc(MANY, sizeof(*res));
    int i, started = 0, once = 0, right = 0, values = 0;

    for (i = 0; i < MANY; i++) {
        if (dns_resolver_query(r, names[i % 3], types[i % 3], on_answer, &res[i]) != NULL)
            started++;
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    for (i = 0; i < MANY; i++) {
        struct ares_addrttl a4[2];
        struct ares_addr6ttl a6[2];
        char buf[INET6_ADDRSTRLEN];
        int n = 2;

        once += res[i].calls == 1;
        right += res[i].calls == 1 && res[i].status == want[i % 3];
        if (i % 3 == 0 && ares_parse_a_reply(res[i].abuf, res[i].alen, NULL, a4, &n) == ARES_SUCCESS && n == 1)
            values += strcmp(inet_ntop(AF_INET, &a4[0].ipaddr, buf, sizeof(buf)), "192.0.2.10") == 0;
        else if (i % 3 == 1 && ares_parse_aaaa_reply(res[i].abuf, res[i].alen, NULL, a6, &n) == ARES_SUCCESS && n == 1)
            values += strcmp(inet_ntop(AF_INET6, &a6[0].ip6addr, buf, sizeof(buf)), "2001:db8::20") == 0;
        else if (i % 3 == 2)
            values++;
        result_reset(&res[i]);
    }
    is_int(started, MANY, "many: %d queries started at once", MANY);
    is_int(once, MANY, "many: every callback ran exactly once");
    is_int(right, MANY, "many: every status is right");
    is_int(values, MANY, "many: every answer holds its own name's address");
    free(res);
}

/* Frees the resolver from inside the first callback; the other query's
 * callback must not run, even if its answer arrives in the same read. */
static void
on_free_resolver(const struct dns_answer *a, void *arg)
{
    struct chain *c = arg;

    c->a_calls++;
    dns_resolver_free(c->r);
    ok(dns_resolver_query(c->r, "a.test.internal", ns_t_a, on_answer, &c->ptr) == NULL,
       "free in callback: no new query after dns_resolver_free()");
}

static void
test_free_in_callback(void)
{
    const char *servers[] = {server_at("127.0.0.1", dnsmasq_port, 0), NULL};
    struct chain c = {NULL, {0}, 0, 0, NULL};
    int i;

    if ((c.r = resolver(servers, 1000, 2)) == NULL) {
        ok(0, "free in callback: resolver");
        return;
    }
    for (i = 0; i < 5; i++)
        dns_resolver_query(c.r, i % 2 ? "h.test.internal" : "nx.test.internal", ns_t_a, on_free_resolver, &c);
    uv_run(&loop, UV_RUN_DEFAULT);
    is_int(c.a_calls, 1, "free in callback: only the first callback ran");
    is_int(c.ptr.calls, 0, "free in callback: the refused query never calls back");
    is_int(uv_loop_alive(&loop), 0, "free in callback: nothing left on the loop");
}

/* A query to a server that never answers times out within the
 * configured timeout, after the configured number of tries. */
static void
test_timeout(void)
{
    const unsigned timeout_ms = 300;
    struct result res = {0};
    struct dns_resolver *r;
    int silent_port, fd = silent_socket(&silent_port);
    uint64_t t0, elapsed;

    ok(fd >= 0, "timeout: a silent UDP socket");
    {
        const char *servers[] = {server_at("127.0.0.1", silent_port, 0), NULL};

        r = resolver(servers, timeout_ms, 1);
    }
    t0 = uv_hrtime();
    is_int(resolve(r, "a.test.internal", ns_t_a, &res), ARES_ETIMEOUT, "timeout: ARES_ETIMEOUT");
    elapsed = (uv_hrtime() - t0) / 1000000u;
    ok(elapsed + 20 >= timeout_ms && elapsed <= timeout_ms + 1000, "timeout: after one try of %ums (took %llums)",
       timeout_ms, (unsigned long long)elapsed);
    ok(res.abuf == NULL, "timeout: no response to pass on");
    is_int(silent_count(fd), 1, "timeout: one datagram reached the configured server:port");
    resolver_done(r, "timeout, 1 try");

    /* Two tries: c-ares waits longer on the second (1.18 doubles it). */
    {
        const char *servers[] = {server_at("127.0.0.1", silent_port, 0), NULL};

        r = resolver(servers, timeout_ms, 2);
    }
    t0 = uv_hrtime();
    is_int(resolve(r, "a.test.internal", ns_t_a, &res), ARES_ETIMEOUT, "timeout, 2 tries: ARES_ETIMEOUT");
    elapsed = (uv_hrtime() - t0) / 1000000u;
    ok(elapsed + 20 >= 2 * timeout_ms && elapsed <= 3 * timeout_ms + 1000,
       "timeout, 2 tries: between 2 and 3 timeouts (took %llums)", (unsigned long long)elapsed);
    is_int(silent_count(fd), 2, "timeout, 2 tries: two datagrams sent");
    resolver_done(r, "timeout, 2 tries");

    /* The first server is silent, the second answers. */
    {
        const char *servers[] = {server_at("127.0.0.1", silent_port, 0), server_at("127.0.0.1", dnsmasq_port, 1), NULL};

        r = resolver(servers, timeout_ms, 2);
    }
    t0 = uv_hrtime();
    is_int(resolve(r, "a.test.internal", ns_t_a, &res), ARES_SUCCESS, "failover: the second server answers");
    elapsed = (uv_hrtime() - t0) / 1000000u;
    ok(elapsed + 20 >= timeout_ms, "failover: after the first server's timeout (took %llums)",
       (unsigned long long)elapsed);
    is_int(silent_count(fd), 1, "failover: the first server was asked first");
    resolver_done(r, "failover");

    /* A cancelled query to the silent server: no callback, and the loop
     * still winds down once c-ares gives up on it. */
    {
        const char *servers[] = {server_at("127.0.0.1", silent_port, 0), NULL};

        r = resolver(servers, 200, 1);
    }
    result_reset(&res);
    dns_query_cancel(dns_resolver_query(r, "a.test.internal", ns_t_a, on_answer, &res));
    uv_run(&loop, UV_RUN_DEFAULT);
    is_int(res.calls, 0, "cancel while waiting: no callback, even on timeout");
    resolver_done(r, "cancel while waiting");
    silent_count(fd);
    close(fd);
    result_reset(&res);
}

/* Fires once to stop uv_run() after a while. */
static void
on_pause(uv_timer_t *t)
{
    (void)t;
}

/* Freeing with queries in flight: no callback, every handle closed. */
static void
test_free_pending(void)
{
    struct result res[3] = {{0}, {0}, {0}};
    struct dns_resolver *r;
    uv_timer_t pause;
    int silent_port, fd = silent_socket(&silent_port), i;

    {
        const char *servers[] = {server_at("127.0.0.1", silent_port, 0), NULL};

        r = resolver(servers, 5000, 2);
    }
    for (i = 0; i < 3; i++)
        dns_resolver_query(r, "a.test.internal", ns_t_a, on_answer, &res[i]);
    /* Let the queries go out, so that c-ares has a socket and a timer. */
    uv_timer_init(&loop, &pause);
    uv_timer_start(&pause, on_pause, 50, 0);
    uv_run(&loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&pause, NULL);
    is_int(silent_count(fd), 3, "free pending: three queries in flight");
    dns_resolver_free(r);
    uv_run(&loop, UV_RUN_DEFAULT);
    is_int(res[0].calls + res[1].calls + res[2].calls, 0, "free pending: no callback (not even ARES_EDESTRUCTION)");
    is_int(uv_loop_alive(&loop), 0, "free pending: every handle closed");
    close(fd);

    /* Freed before the loop ever ran, against the real server. */
    {
        const char *servers[] = {server_at("127.0.0.1", dnsmasq_port, 0), NULL};

        r = resolver(servers, 1000, 2);
    }
    for (i = 0; i < 3; i++)
        dns_resolver_query(r, "h.test.internal", ns_t_a, on_answer, &res[i]);
    dns_resolver_free(r);
    uv_run(&loop, UV_RUN_DEFAULT);
    is_int(res[0].calls + res[1].calls + res[2].calls, 0, "free at once: no callback");
    is_int(uv_loop_alive(&loop), 0, "free at once: every handle closed");
}

/* Server lists: what dns_resolver_new() accepts and refuses. */
static void
test_servers(void)
{
    static const char *const good[] = {"9.9.9.9", "127.0.0.1:5353", "::1", "[::1]", "[::1]:5353", "[2001:db8::1]:53"};
    static const char *const bad[] = {"dns.example", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:", "127.0.0.1:53x",
                                      "[::1",        "[::1]x",      "[::1]:",          "",           "1.2.3.4.5",
                                      "[192.0.2.1]"};
    const char *list[2] = {NULL, NULL};
    struct dns_resolver_options opt = {list, 0, 0};
    struct dns_resolver *r;
    char *cause;
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        r = NULL;
        cause = NULL;
        list[0] = good[i];
        is_int(dns_resolver_new(&loop, &opt, &r, &cause), 0, "server \"%s\" accepted", good[i]);
        ok(r != NULL && cause == NULL, "server \"%s\": a resolver, no cause", good[i]);
        free(cause);
        dns_resolver_free(r);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = NULL;
        cause = NULL;
        list[0] = bad[i];
        is_int(dns_resolver_new(&loop, &opt, &r, &cause), -1, "server \"%s\" refused", bad[i]);
        ok(r == NULL && cause != NULL && strstr(cause, bad[i]) != NULL, "server \"%s\": the cause names it (%s)",
           bad[i], cause != NULL ? cause : "none");
        free(cause);
    }
    list[0] = NULL;
    cause = NULL;
    is_int(dns_resolver_new(&loop, &opt, &r, &cause), -1, "an empty server list is refused");
    free(cause);
    cause = NULL;
    r = NULL;
    is_int(dns_resolver_new(&loop, NULL, &r, &cause), 0, "no options: the system's servers");
    free(cause);
    dns_resolver_free(r);
    dns_resolver_free(NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    is_int(uv_loop_alive(&loop), 0, "servers: every handle closed");
}

int
main(void)
{
    const char *exe = getenv("DNSMASQ");
    struct dns_resolver *r;
    int fd;

    if (exe == NULL || exe[0] == '\0' || strcmp(exe, "no") == 0)
        exe = "/usr/sbin/dnsmasq";
    if (access(exe, X_OK) != 0) {
        printf("1..0 # SKIP dnsmasq not found at %s (install the Debian package dnsmasq-base)\n", exe);
        return 0;
    }
    signal(SIGALRM, on_fatal_signal);
    signal(SIGTERM, on_fatal_signal);
    signal(SIGINT, on_fatal_signal);
    alarm(120);
    atexit(dnsmasq_kill);
    crash_guard();
    if ((fd = bind_on(AF_INET6, SOCK_DGRAM, 0)) >= 0) {
        have_v6 = 1;
        close(fd);
    }
    if (uv_loop_init(&loop) != 0)
        abort();
    tmpdir = fixture_tmpdir();

    test_servers();
    ok(dnsmasq_start(exe) == 0, "dnsmasq answers on 127.0.0.1:%d", dnsmasq_port);
    if (dnsmasq_pid > 0) {
        const char *servers[] = {server_at("127.0.0.1", dnsmasq_port, 0), NULL};

        if ((r = resolver(servers, 1000, 2)) != NULL) {
            test_records(r);
            test_chain(r);
            test_bad_name(r);
            test_cancel(r);
            test_many(r);
            resolver_done(r, "records");
        }
        if (have_v6) {
            const char *servers6[] = {server_at("[::1]", dnsmasq_port, 0), NULL};
            struct result res = {0};

            if ((r = resolver(servers6, 1000, 2)) != NULL) {
                is_int(resolve(r, "a.test.internal", ns_t_a, &res), ARES_SUCCESS, "IPv6 server [::1]:port answers");
                result_reset(&res);
                resolver_done(r, "IPv6 server");
            }
        } else {
            ok(1, "# SKIP no ::1 on this machine");
        }
        test_free_in_callback();
        test_free_pending();
        test_timeout();
    }
    dnsmasq_kill();
    is_int(uv_loop_close(&loop), 0, "uv_loop_close() returns 0");
    fixture_rmdir(tmpdir);
    tap_done();
}
