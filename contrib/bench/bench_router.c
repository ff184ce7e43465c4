/*
 * The router benchmark: warroom's own latency from a command stored to
 * its answer handed to the outbox, for a local bridge (ioc) and the main
 * bot's help, without a homeserver or a network in the way.
 *
 * It builds the real core (store, bots, bridges, outbox, router) on a
 * fresh database in a temporary directory, with the outbox's local sink
 * behind it as warroom shell does, and sends the commands one at a time
 * from the local room (cli/local_room.c): the clock starts when the
 * message is stored and stops when the sink receives the answer.  It
 * prints p50, p99 and the maximum per command and overall.
 *
 *   bench_router [--commands N] [--sync full|normal] [--keep]
 */
#include "autoconfig.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "appservice/config.h"
#include "appservice/core.h"
#include "appservice/log.h"
#include "appservice/outbox.h"
#include "appservice/router.h"
#include "appservice/store/store.h"
#include "appservice/xmalloc.h"
#include "cli/local_room.h"

/* What is asked, in turn: every kind of work a local command does. */
static const char *const bench_router_commands[] = {
    "!ioc extract The phishing mail came from billing@evil-invoices.com, linked hxxps://evil-invoices[.]com/pay "
    "and 203.0.113.45; the attachment's SHA-256 is "
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 (CVE-2023-23397).",
    "!ioc defang see http://198.51.100.7/x and https://login.example-bank.com/reset",
    "!ioc refang hxxp://evil[.]com/a and 10.0.0[.]1",
    "!help",
};
#define BENCH_ROUTER_NKINDS (sizeof(bench_router_commands) / sizeof(bench_router_commands[0]))

struct bench_router {
    uv_loop_t loop;
    struct core core;
    struct local_room room;
    uint64_t stored_at; /* uv_hrtime() when the current message was stored */
    uint64_t answered_at;
    int answered;
};

/* The clock starts: the message is in the store. */
static void
bench_router_on_stored(struct local_room *lr, void *arg)
{
    struct bench_router *b = arg;

    (void)lr;
    b->stored_at = uv_hrtime();
}

/* The clock stops: the answer reached the outbox's hand-off. */
static char *
bench_router_sink(const struct store_outbox_entry *e, struct json_object *body, void *arg)
{
    struct bench_router *b = arg;

    (void)body;
    if (e->kind == STORE_OUTBOX_SEND && !b->answered) {
        b->answered_at = uv_hrtime();
        b->answered = 1;
        uv_stop(&b->loop);
    }
    return xasprintf("$bench-%" PRId64, e->id);
}

static int
bench_router_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Sorts v and prints its percentiles in milliseconds. */
static void
bench_router_print(const char *what, double *v, size_t n)
{
    qsort(v, n, sizeof(*v), bench_router_cmp);
    printf("%-14s n=%-6zu p50 %7.3f ms   p99 %7.3f ms   max %7.3f ms\n", what, n, v[n / 2],
           v[(size_t)((double)(n - 1) * 0.99)], v[n - 1]);
}

/* Writes the benchmark's config into dir; returns its path (allocated). */
static char *
bench_router_config(const char *dir, const char *sync)
{
    char *path = xasprintf("%s/config.yaml", dir);
    FILE *f = fopen(path, "w");

    if (f == NULL) {
        perror(path);
        exit(1);
    }
    fprintf(f,
            "homeserver:\n  address: http://127.0.0.1:9\n  domain: localhost\n"
            "appservice:\n  address: http://127.0.0.1:9\n  hostname: 127.0.0.1\n  port: 9\n  id: bench\n"
            "  bot:\n    username: warroom\n  database: %s/warroom.db\n  database_sync: %s\n"
            "bridge:\n  permissions:\n    localhost: analyst\n"
            "bridges:\n  ioc:\n    enabled: true\n    rate_limit: 0\n    cache_ttl: 0s\n"
            "logging:\n  level: error\n",
            dir, sync);
    fclose(f);
    return path;
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"commands", required_argument, NULL, 'n'},
        {"sync", required_argument, NULL, 's'},
        {"keep", no_argument, NULL, 'k'},
        {NULL, 0, NULL, 0},
    };
    struct bench_router b;
    struct config *cfg = NULL;
    struct config_errors errs = {0};
    char dir[] = "/tmp/bench-router-XXXXXX", *config_path, *cause = NULL, *cmd;
    const char *sync = "full";
    unsigned n = 2000;
    int keep = 0, c;
    double *all, *per[BENCH_ROUTER_NKINDS];
    size_t nper[BENCH_ROUTER_NKINDS] = {0};

    while ((c = getopt_long(argc, argv, "n:s:k", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            n = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 's':
            sync = optarg;
            break;
        case 'k':
            keep = 1;
            break;
        default:
            fprintf(stderr, "usage: bench_router [--commands N] [--sync full|normal] [--keep]\n");
            return 2;
        }
    }
    if (n < 10 || mkdtemp(dir) == NULL) {
        fprintf(stderr, "bench_router: --commands must be at least 10, and a temporary directory must be made\n");
        return 2;
    }
    config_path = bench_router_config(dir, sync);
    if (config_load(config_path, &cfg, &errs) != 0) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.lines[i]);
        return 1;
    }
    log_init(LOG_LEVEL_ERROR, LOG_FORMAT_TEXT);
    memset(&b, 0, sizeof(b));
    if (uv_loop_init(&b.loop) != 0 || core_open(&b.core, &b.loop, cfg, 1, &errs) != 0) {
        fprintf(stderr, "bench_router: cannot build the core\n");
        return 1;
    }
    outbox_set_sink(b.core.outbox, bench_router_sink, &b);
    if (router_start(b.core.router, &cause) != 0 || local_room_open(&b.room, &b.core, NULL, &cause) != 0) {
        fprintf(stderr, "bench_router: %s\n", cause);
        return 1;
    }
    b.room.on_stored = bench_router_on_stored;
    b.room.on_stored_arg = &b;
    uv_run(&b.loop, UV_RUN_NOWAIT);

    all = xcalloc(n, sizeof(*all));
    for (size_t k = 0; k < BENCH_ROUTER_NKINDS; k++)
        per[k] = xcalloc(n, sizeof(double));
    /* A few rounds first, so that statements are prepared and pages cached. */
    for (unsigned i = 0; i < n + 20; i++) {
        size_t kind = i % BENCH_ROUTER_NKINDS;
        double ms;

        b.answered = 0;
        cmd = xasprintf("%s #%u", bench_router_commands[kind], i);
        if (local_room_say(&b.room, cmd, &cause) != 0) {
            fprintf(stderr, "bench_router: %s\n", cause);
            return 1;
        }
        free(cmd);
        while (!b.answered)
            uv_run(&b.loop, UV_RUN_DEFAULT);
        if (i < 20)
            continue;
        ms = (double)(b.answered_at - b.stored_at) / 1e6;
        all[i - 20] = ms;
        per[kind][nper[kind]++] = ms;
    }
    printf("router latency, command stored -> answer handed to the outbox (synchronous=%s)\n", sync);
    for (size_t k = 0; k < BENCH_ROUTER_NKINDS; k++) {
        char name[15];

        snprintf(name, sizeof(name), "%.13s", bench_router_commands[k] + 1);
        bench_router_print(name, per[k], nper[k]);
        free(per[k]);
    }
    bench_router_print("all", all, n);
    free(all);

    local_room_clear(&b.room);
    core_close(&b.core);
    for (int i = 0; i < 16 && uv_run(&b.loop, UV_RUN_NOWAIT) != 0; i++)
        ;
    uv_loop_close(&b.loop);
    config_free(cfg);
    if (!keep) {
        char *cmdline = xasprintf("rm -rf '%s'", dir);

        if (system(cmdline) != 0)
            fprintf(stderr, "bench_router: could not remove %s\n", dir);
        free(cmdline);
    } else {
        printf("kept %s\n", dir);
    }
    free(config_path);
    return 0;
}
