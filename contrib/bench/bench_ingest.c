/*
 * The ingest benchmark: how fast warroom acknowledges transactions, next
 * to the ceiling of this machine.
 *
 * It starts the real warroom (a fresh database in a temporary directory),
 * PUTs transactions of realistic events over keep-alive connections as a
 * homeserver would, and prints events per second, transaction latency
 * p50/p99 and warroom's idle and peak RSS.  Then, in the same invocation,
 * it inserts the same rows into the same schema with the same commit size
 * and the same durability settings straight through SQLite: what no
 * appservice on this machine can beat.  The ratio of the two is the
 * figure to quote; absolute numbers depend on the machine and its load.
 *
 *   bench_ingest [--warroom PATH] [--transactions N] [--events N]
 *                [--connections N] [--sync full|normal] [--keep]
 */
#include "autoconfig.h"

#include <curl/curl.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "appservice/config.h"
#include "appservice/store/store.h"
#include "appservice/xmalloc.h"
#include "contrib/bench/bench_events.h"

extern char **environ;

struct bench {
    const char *warroom;
    unsigned transactions;
    unsigned events;
    unsigned connections;
    const char *sync;
    int keep;
    char *dir;
    char *hs_token;
    int port;
    pid_t pid;
};

static double
bench_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs argv, waits, returns the exit status (or -1). */
static int
bench_spawn_wait(char *const argv[], const char *log)
{
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int st;

    posix_spawn_file_actions_init(&fa);
    if (log != NULL) {
        posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    }
    if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return -1;
    }
    posix_spawn_file_actions_destroy(&fa);
    if (waitpid(pid, &st, 0) < 0)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A free TCP port on 127.0.0.1 (bound then released). */
static int
bench_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);

    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* Writes the config, generates the registration, reads the hs_token. */
static int
bench_setup(struct bench *b)
{
    char *config = xasprintf("%s/config.yaml", b->dir), *reg = xasprintf("%s/registration.yaml", b->dir);
    char *log = xasprintf("%s/warroom.log", b->dir);
    FILE *f = fopen(config, "w");
    struct config *cfg = NULL;
    struct config_errors errs = {0};
    int ret = -1;

    if (f == NULL)
        goto out;
    b->port = bench_free_port();
    /* The homeserver address is a closed port: the benchmark plays the
     * homeserver's part itself, and warroom's retries toward it are
     * spaced out by its backoff. */
    fprintf(f,
            "homeserver:\n  address: http://127.0.0.1:9\n  domain: localhost\n"
            "appservice:\n  address: http://127.0.0.1:%d\n  hostname: 127.0.0.1\n  port: %d\n"
            "  database: %s/warroom.db\n  database_sync: %s\n"
            "logging:\n  level: warn\n",
            b->port, b->port, b->dir, b->sync);
    fclose(f);
    {
        char *argv[] = {(char *)b->warroom, (char *)"-g", (char *)"-c", config, (char *)"-r", reg, NULL};

        if (bench_spawn_wait(argv, log) != 0) {
            fprintf(stderr, "bench: warroom -g failed (see %s)\n", log);
            goto out;
        }
    }
    if (config_load(config, &cfg, &errs) != 0 || cfg->appservice.hs_token == NULL) {
        fprintf(stderr, "bench: cannot read the generated config\n");
        goto out;
    }
    b->hs_token = xstrdup(cfg->appservice.hs_token);
    ret = 0;
out:
    config_errors_free(&errs);
    config_free(cfg);
    free(config);
    free(reg);
    free(log);
    return ret;
}

static size_t
bench_discard(char *ptr, size_t size, size_t nmemb, void *arg)
{
    (void)ptr;
    (void)arg;
    return size * nmemb;
}

/* GETs a path; returns the HTTP status or 0. */
static long
bench_get(struct bench *b, const char *path)
{
    CURL *e = curl_easy_init();
    char *url = xasprintf("http://127.0.0.1:%d%s", b->port, path);
    long status = 0;

    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, bench_discard);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 1000L);
    if (curl_easy_perform(e) == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(e);
    free(url);
    return status;
}

static int
bench_start_warroom(struct bench *b)
{
    char *config = xasprintf("%s/config.yaml", b->dir), *log = xasprintf("%s/warroom.log", b->dir);
    char *argv[] = {(char *)b->warroom, (char *)"-c", config, NULL};
    posix_spawn_file_actions_t fa;
    int ret = -1;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (posix_spawn(&b->pid, b->warroom, &fa, NULL, argv, environ) != 0)
        goto out;
    for (int i = 0; i < 200; i++) {
        if (bench_get(b, "/_warroom/ready") == 200) {
            ret = 0;
            goto out;
        }
        usleep(50000);
    }
    fprintf(stderr, "bench: warroom did not become ready (see %s)\n", log);
out:
    posix_spawn_file_actions_destroy(&fa);
    free(config);
    free(log);
    return ret;
}

/* Reads a field ("VmRSS", "VmHWM") of /proc/<pid>/status, in kB. */
static long
bench_proc_kb(pid_t pid, const char *field)
{
    char path[64], line[256];
    FILE *f;
    long kb = -1;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, field, strlen(field)) == 0 && line[strlen(field)] == ':')
            kb = strtol(line + strlen(field) + 1, NULL, 10);
    }
    fclose(f);
    return kb;
}

/* CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
static double
bench_proc_cpu(pid_t pid)
{
    char path[64], buf[1024], *p;
    FILE *f;
    unsigned long utime = 0, stime = 0;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields 14 and 15 come after the command name, which may hold spaces. */
    if ((p = strrchr(buf, ')')) == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static int
bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double
bench_percentile(double *sorted, size_t n, double p)
{
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);

    return sorted[i < n ? i : n - 1];
}

struct bench_slot {
    CURL *easy;
    struct curl_slist *headers;
    unsigned txn;
    double started;
};

/* PUTs every transaction, at most b->connections at once; fills lat[]. */
static int
bench_run_ingest(struct bench *b, char **bodies, size_t *lens, double *lat, double *elapsed)
{
    CURLM *multi = curl_multi_init();
    struct bench_slot *slots = xcalloc(b->connections, sizeof(*slots));
    char *auth = xasprintf("Authorization: Bearer %s", b->hs_token);
    unsigned next = 0, done = 0;
    int failures = 0;
    double t0 = bench_now();

    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)b->connections);
    for (unsigned i = 0; i < b->connections; i++) {
        slots[i].easy = curl_easy_init();
        slots[i].headers = curl_slist_append(NULL, auth);
        slots[i].headers = curl_slist_append(slots[i].headers, "Content-Type: application/json");
        slots[i].headers = curl_slist_append(slots[i].headers, "Expect:");
        curl_easy_setopt(slots[i].easy, CURLOPT_PRIVATE, &slots[i]);
        curl_easy_setopt(slots[i].easy, CURLOPT_WRITEFUNCTION, bench_discard);
        curl_easy_setopt(slots[i].easy, CURLOPT_HTTPHEADER, slots[i].headers);
        curl_easy_setopt(slots[i].easy, CURLOPT_CUSTOMREQUEST, "PUT");
    }
    for (;;) {
        int running, msgs, finished = 0;
        CURLMsg *m;

        for (unsigned i = 0; i < b->connections && next < b->transactions; i++) {
            char url[128];

            if (slots[i].started != 0)
                continue;
            snprintf(url, sizeof(url), "http://127.0.0.1:%d/_matrix/app/v1/transactions/%u", b->port, next + 1);
            curl_easy_setopt(slots[i].easy, CURLOPT_URL, url);
            curl_easy_setopt(slots[i].easy, CURLOPT_POSTFIELDS, bodies[next]);
            curl_easy_setopt(slots[i].easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)lens[next]);
            slots[i].txn = next++;
            slots[i].started = bench_now();
            curl_multi_add_handle(multi, slots[i].easy);
        }
        if (done == b->transactions)
            break;
        curl_multi_perform(multi, &running);
        while ((m = curl_multi_info_read(multi, &msgs)) != NULL) {
            struct bench_slot *s;
            long status = 0;

            if (m->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
            if (m->data.result != CURLE_OK || status != 200) {
                if (failures++ < 5)
                    fprintf(stderr, "bench: transaction %u: %s, HTTP %ld\n", s->txn + 1,
                            curl_easy_strerror(m->data.result), status);
            }
            lat[s->txn] = bench_now() - s->started;
            s->started = 0;
            curl_multi_remove_handle(multi, m->easy_handle);
            done++;
            finished++;
        }
        /* A slot just freed is refilled at once, as a homeserver sends its
         * next transaction as soon as the last one is answered. */
        if (finished == 0)
            curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    *elapsed = bench_now() - t0;
    for (unsigned i = 0; i < b->connections; i++) {
        curl_easy_cleanup(slots[i].easy);
        curl_slist_free_all(slots[i].headers);
    }
    curl_multi_cleanup(multi);
    free(slots);
    free(auth);
    return failures;
}

/* Inserts the same rows with the same statements, pragmas and commit size
 * straight into SQLite; returns the seconds it took, or -1. */
static double
bench_bare_sqlite(struct bench *b)
{
    char *path = xasprintf("%s/bare.db", b->dir);
    struct store_options opt = {.path = path, .sync_normal = strcmp(b->sync, "normal") == 0};
    struct store *s = NULL;
    sqlite3 *db = NULL;
    sqlite3_stmt *txn_st = NULL, *ev_st = NULL, *upd_st = NULL;
    struct bench_event *evs;
    size_t total = (size_t)b->transactions * b->events;
    char *cause = NULL;
    double t0, secs = -1;

    /* The schema comes from warroom's own migrations. */
    if (store_open(&opt, &s, &cause) != 0) {
        fprintf(stderr, "bench: %s\n", cause);
        free(cause);
        free(path);
        return -1;
    }
    store_close(s);
    evs = xcalloc(total, sizeof(*evs));
    for (size_t i = 0; i < total; i++)
        bench_event_make(i, &evs[i]);
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, opt.sync_normal ? "PRAGMA synchronous = NORMAL" : "PRAGMA synchronous = FULL", NULL, NULL,
                     NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "INSERT INTO transactions (txn_id, received_at, events, new_events, ephemeral, "
                           "to_device) VALUES (?1, ?2, ?3, 0, 0, 0)",
                           -1, &txn_st, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "INSERT INTO events (event_id, room_id, sender, type, state_key, origin_server_ts, "
                           "received_at, txn_seq, json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
                           "ON CONFLICT (event_id) DO NOTHING",
                           -1, &ev_st, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "UPDATE transactions SET new_events = ?2 WHERE seq = ?1", -1, &upd_st, NULL) !=
            SQLITE_OK) {
        fprintf(stderr, "bench: bare SQLite: %s\n", sqlite3_errmsg(db));
        goto out;
    }
    t0 = bench_now();
    for (unsigned t = 0; t < b->transactions; t++) {
        int64_t seq;
        char id[16];

        snprintf(id, sizeof(id), "%u", t + 1);
        sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        sqlite3_bind_text(txn_st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(txn_st, 2, 1795836097813LL);
        sqlite3_bind_int64(txn_st, 3, b->events);
        sqlite3_step(txn_st);
        sqlite3_reset(txn_st);
        seq = sqlite3_last_insert_rowid(db);
        for (unsigned i = 0; i < b->events; i++) {
            struct bench_event *ev = &evs[(size_t)t * b->events + i];

            sqlite3_bind_text(ev_st, 1, ev->event_id, -1, SQLITE_STATIC);
            sqlite3_bind_text(ev_st, 2, ev->room_id, -1, SQLITE_STATIC);
            sqlite3_bind_text(ev_st, 3, ev->sender, -1, SQLITE_STATIC);
            sqlite3_bind_text(ev_st, 4, ev->type, -1, SQLITE_STATIC);
            if (ev->state_key != NULL)
                sqlite3_bind_text(ev_st, 5, ev->state_key, -1, SQLITE_STATIC);
            else
                sqlite3_bind_null(ev_st, 5);
            sqlite3_bind_int64(ev_st, 6, ev->origin_server_ts);
            sqlite3_bind_int64(ev_st, 7, 1795836097813LL);
            sqlite3_bind_int64(ev_st, 8, seq);
            sqlite3_bind_text(ev_st, 9, ev->json, -1, SQLITE_STATIC);
            if (sqlite3_step(ev_st) != SQLITE_DONE)
                fprintf(stderr, "bench: bare insert: %s\n", sqlite3_errmsg(db));
            sqlite3_reset(ev_st);
        }
        sqlite3_bind_int64(upd_st, 1, seq);
        sqlite3_bind_int64(upd_st, 2, b->events);
        sqlite3_step(upd_st);
        sqlite3_reset(upd_st);
        if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            fprintf(stderr, "bench: bare commit: %s\n", sqlite3_errmsg(db));
    }
    secs = bench_now() - t0;
out:
    sqlite3_finalize(txn_st);
    sqlite3_finalize(ev_st);
    sqlite3_finalize(upd_st);
    sqlite3_close(db);
    for (size_t i = 0; i < total; i++)
        bench_event_clear(&evs[i]);
    free(evs);
    free(path);
    return secs;
}

/* Counts the events warroom stored, to be sure none was skipped. */
static long long
bench_count_stored(struct bench *b)
{
    char *path = xasprintf("file:%s/warroom.db?mode=ro", b->dir);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long n = -1;

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT count(*) FROM events", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    free(path);
    return n;
}

static void
bench_machine(void)
{
    char line[256], model[200] = "unknown CPU";
    FILE *f = fopen("/proc/cpuinfo", "r");

    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "model name", 10) == 0) {
            char *colon = strchr(line, ':');

            if (colon != NULL) {
                snprintf(model, sizeof(model), "%s", colon + 2);
                model[strcspn(model, "\n")] = '\0';
            }
            break;
        }
    }
    if (f != NULL)
        fclose(f);
    printf("machine: %ld cores, %s\n", sysconf(_SC_NPROCESSORS_ONLN), model);
}

/* One round: a fresh warroom and database, the ingest, then the same rows
 * straight into SQLite.  Fills the figures of the round. */
struct bench_round {
    double warroom_eps, bare_eps;
    double cpu_pct, client_pct;
    long idle_kb, peak_kb;
    long long stored;
    int failures, exit_status;
};

static double
bench_rusage_seconds(const struct rusage *a, const struct rusage *b)
{
    return (double)(b->ru_utime.tv_sec - a->ru_utime.tv_sec + b->ru_stime.tv_sec - a->ru_stime.tv_sec) +
           (double)(b->ru_utime.tv_usec - a->ru_utime.tv_usec + b->ru_stime.tv_usec - a->ru_stime.tv_usec) / 1e6;
}

static int
bench_round(struct bench *b, const char *parent, unsigned n, char **bodies, size_t *lens, double *lat,
            struct bench_round *r)
{
    double elapsed = 0, bare, cpu_before, cpu_after;
    struct rusage ru_before, ru_after;
    int st = 0;

    free(b->dir);
    b->dir = xasprintf("%s/round-%u", parent, n);
    free(b->hs_token);
    b->hs_token = NULL;
    if (mkdir(b->dir, 0700) != 0 || bench_setup(b) != 0 || bench_start_warroom(b) != 0)
        return -1;
    sleep(1);
    r->idle_kb = bench_proc_kb(b->pid, "VmRSS");
    cpu_before = bench_proc_cpu(b->pid);
    getrusage(RUSAGE_SELF, &ru_before);
    r->failures = bench_run_ingest(b, bodies, lens, lat, &elapsed);
    getrusage(RUSAGE_SELF, &ru_after);
    cpu_after = bench_proc_cpu(b->pid);
    r->peak_kb = bench_proc_kb(b->pid, "VmHWM");
    kill(b->pid, SIGTERM);
    waitpid(b->pid, &st, 0);
    r->exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r->stored = bench_count_stored(b);
    r->cpu_pct = 100.0 * (cpu_after - cpu_before) / elapsed;
    r->client_pct = 100.0 * bench_rusage_seconds(&ru_before, &ru_after) / elapsed;
    r->warroom_eps = (double)b->transactions * b->events / elapsed;
    bare = bench_bare_sqlite(b);
    if (bare <= 0)
        return -1;
    r->bare_eps = (double)b->transactions * b->events / bare;
    return 0;
}

static int
bench_cmp_round_ratio(const void *a, const void *b)
{
    const struct bench_round *x = a, *y = b;
    double rx = x->warroom_eps / x->bare_eps, ry = y->warroom_eps / y->bare_eps;

    return rx < ry ? -1 : rx > ry;
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"warroom", required_argument, NULL, 'w'},
        {"transactions", required_argument, NULL, 't'},
        {"events", required_argument, NULL, 'e'},
        {"connections", required_argument, NULL, 'c'},
        {"rounds", required_argument, NULL, 'r'},
        {"sync", required_argument, NULL, 's'},
        {"keep", no_argument, NULL, 'k'},
        {NULL, 0, NULL, 0},
    };
    struct bench b = {.warroom = getenv("WARROOM") ? getenv("WARROOM") : "./warroom",
                      .transactions = 300,
                      .events = 100,
                      .connections = 1,
                      .sync = "full"};
    unsigned rounds = 5, done_rounds = 0;
    struct bench_round *r;
    char **bodies, *parent;
    size_t *lens;
    double *lat;
    long long stored_ok = 1;
    int c, failures = 0;

    while ((c = getopt_long(argc, argv, "w:t:e:c:r:s:k", longopts, NULL)) != -1) {
        switch (c) {
        case 'w':
            b.warroom = optarg;
            break;
        case 't':
            b.transactions = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'e':
            b.events = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'c':
            b.connections = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'r':
            rounds = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 's':
            b.sync = optarg;
            break;
        case 'k':
            b.keep = 1;
            break;
        default:
            fprintf(stderr, "usage: bench_ingest [--warroom PATH] [--transactions N] [--events N] "
                            "[--connections N] [--rounds N] [--sync full|normal] [--keep]\n");
            return 2;
        }
    }
    if (b.transactions == 0 || b.events == 0 || b.connections == 0 || rounds == 0) {
        fprintf(stderr, "bench: counts must be positive\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    parent = xstrdup("/tmp/warroom-bench-XXXXXX");
    if (mkdtemp(parent) == NULL) {
        perror("bench: mkdtemp");
        return 1;
    }
    bodies = xcalloc(b.transactions, sizeof(*bodies));
    lens = xcalloc(b.transactions, sizeof(*lens));
    lat = xcalloc((size_t)b.transactions * rounds, sizeof(*lat));
    r = xcalloc(rounds, sizeof(*r));
    for (unsigned t = 0; t < b.transactions; t++)
        bodies[t] = bench_transaction_body((uint64_t)t * b.events, b.events, &lens[t]);

    /* Rounds alternate warroom and bare SQLite, so that a burst of load
     * from other tenants of the machine hits both; the median round is
     * the figure to quote. */
    for (unsigned i = 0; i < rounds; i++) {
        if (bench_round(&b, parent, i, bodies, lens, lat + (size_t)i * b.transactions, &r[i]) != 0) {
            fprintf(stderr, "bench: round %u failed\n", i + 1);
            break;
        }
        failures += r[i].failures;
        if (r[i].stored != (long long)b.transactions * b.events)
            stored_ok = 0;
        done_rounds++;
    }
    if (done_rounds == 0)
        return 1;

    bench_machine();
    printf("warroom ingest: %u transactions of %u events over %u keep-alive connection(s), synchronous=%s, "
           "%u rounds\n",
           b.transactions, b.events, b.connections, b.sync, done_rounds);
    for (unsigned i = 0; i < done_rounds; i++)
        printf("  round %u: warroom %6.0f events/s, bare SQLite %6.0f events/s, ratio %5.1f%%, warroom CPU %3.0f%% "
               "of a core, load generator %2.0f%%\n",
               i + 1, r[i].warroom_eps, r[i].bare_eps, 100.0 * r[i].warroom_eps / r[i].bare_eps, r[i].cpu_pct,
               r[i].client_pct);
    qsort(lat, (size_t)b.transactions * done_rounds, sizeof(*lat), bench_cmp_double);
    printf("  transaction latency: p50 %.2f ms, p99 %.2f ms (all rounds)\n",
           bench_percentile(lat, (size_t)b.transactions * done_rounds, 0.50) * 1e3,
           bench_percentile(lat, (size_t)b.transactions * done_rounds, 0.99) * 1e3);
    {
        long idle = r[0].idle_kb, peak = 0;

        for (unsigned i = 0; i < done_rounds; i++)
            peak = r[i].peak_kb > peak ? r[i].peak_kb : peak;
        printf("  RSS: idle %.1f MB (goal: under 15 MB), peak %.1f MB\n", idle / 1024.0, peak / 1024.0);
    }
    printf("  stored: %s, %d failed request(s)\n", stored_ok ? "every event of every round" : "EVENTS MISSING",
           failures);
    qsort(r, done_rounds, sizeof(*r), bench_cmp_round_ratio);
    printf("warroom / bare SQLite, median round: %.1f%% (warroom %.0f events/s, bare %.0f events/s; goal: at "
           "least 90%%)\n",
           100.0 * r[done_rounds / 2].warroom_eps / r[done_rounds / 2].bare_eps, r[done_rounds / 2].warroom_eps,
           r[done_rounds / 2].bare_eps);

    for (unsigned t = 0; t < b.transactions; t++)
        free(bodies[t]);
    free(bodies);
    free(lens);
    free(lat);
    free(r);
    if (!b.keep) {
        char *argv_rm[] = {(char *)"/bin/rm", (char *)"-rf", parent, NULL};

        bench_spawn_wait(argv_rm, NULL);
    } else {
        printf("kept %s\n", parent);
    }
    free(parent);
    free(b.dir);
    free(b.hs_token);
    curl_global_cleanup();
    return failures == 0 && stored_ok ? 0 : 1;
}
