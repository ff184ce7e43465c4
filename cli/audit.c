/*
 * warroom audit: the audit log on the command line, without the daemon
 * (it may run meanwhile: the database is in WAL mode and each command reads
 * one snapshot).
 *
 *   warroom audit verify [-c config.yaml] [--head SEQ:HASH]
 *       walks the chain; prints "N entries, chain intact, head HASH" and
 *       exits 0, or names the first entry changed, removed or reordered
 *       and exits 1.  --head checks a head anchored outside (the
 *       "audit: chain head SEQ:HASH" log line), which also catches the
 *       removal of the newest entries.
 *   warroom audit show [-c config.yaml] [--since T] [--json]
 *       prints the entries (since T: milliseconds since the epoch, a UTC
 *       date "2026-11-28" or "2026-11-28T10:00:00Z", or an age "24h").
 */
#include "autoconfig.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "cli/subcommand.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "store/store.h"
#include "xmalloc.h"

static void
audit_cli_usage(FILE *f)
{
    fprintf(f, "usage: warroom audit verify [-c config.yaml] [--head SEQ:HASH]\n"
               "       warroom audit show [-c config.yaml] [--since T] [--json]\n"
               "\n"
               "verify walks the audit log's hash chain and reports the first entry that was changed,\n"
               "removed or reordered (exit 1), or \"N entries, chain intact, head HASH\" (exit 0).\n"
               "show prints the entries, since T (epoch milliseconds, 2026-11-28[T10:00:00Z], or an age\n"
               "such as 24h), as text or one JSON object per line.\n"
               "\n"
               "  -c, --config FILE  configuration file (default: config.yaml)\n"
               "      --head SEQ:HASH  a head recorded outside (the \"audit: chain head\" log line)\n"
               "      --since T      show: only entries from T on\n"
               "      --json         show: JSON lines\n");
}

/* Parses --since: epoch milliseconds, a UTC date or date-time, or an age.
 * Returns 0, or -1 if text is none of them. */
static int
audit_cli_since(const char *text, int64_t *out)
{
    struct tm tm;
    const char *end;
    char *cause = NULL;
    uint64_t age;
    size_t n = strspn(text, "0123456789");

    if (n > 0 && text[n] == '\0' && n < 19) {
        *out = strtoll(text, NULL, 10);
        return 0;
    }
    memset(&tm, 0, sizeof(tm));
    if ((end = strptime(text, "%Y-%m-%d", &tm)) != NULL) {
        if (*end == 'T' || *end == ' ') {
            const char *t = strptime(end + 1, "%H:%M:%S", &tm);

            if (t == NULL)
                t = strptime(end + 1, "%H:%M", &tm);
            end = t;
        }
        if (end != NULL && (*end == 'Z' || *end == '\0') && (*end == '\0' || end[1] == '\0')) {
            *out = (int64_t)timegm(&tm) * 1000;
            return 0;
        }
    }
    if (config_parse_duration(text, &age, &cause) == 0) {
        *out = clock_now_ms() - (int64_t)age;
        return 0;
    }
    free(cause);
    return -1;
}

/* Loads the config and opens its database; returns 0 or -1 (reported). */
static int
audit_cli_open(const char *config_path, struct config **cfg, struct store **s)
{
    struct config_errors errs = {0};
    struct store_options opt = {0};
    char *cause = NULL;

    if (config_load(config_path, cfg, &errs) != 0) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.lines[i]);
        config_errors_free(&errs);
        return -1;
    }
    log_init(LOG_LEVEL_WARN, (enum log_format)(*cfg)->logging.format);
    opt.path = (*cfg)->appservice.database;
    opt.sync_normal = (*cfg)->appservice.database_sync;
    if (store_open(&opt, s, &cause) != 0) {
        fprintf(stderr, "warroom audit: %s\n", cause);
        free(cause);
        return -1;
    }
    return 0;
}

/* Parses SEQ:HASH. */
static int
audit_cli_anchor(const char *text, struct audit_anchor *a)
{
    char *end;
    const char *hash;

    a->seq = strtoll(text, &end, 10);
    if (end == text || *end != ':' || a->seq <= 0)
        return -1;
    hash = end + 1;
    if (strlen(hash) != 64 || strspn(hash, "0123456789abcdef") != 64)
        return -1;
    a->hash = hash;
    return 0;
}

/* warroom audit verify */
static int
audit_cli_verify(struct store *s, const struct audit_anchor *anchor)
{
    struct audit_verify_result res;
    char *cause = NULL;
    int status;

    if (audit_verify(s, anchor, &res, &cause) != 0) {
        fprintf(stderr, "warroom audit: cannot read the audit log: %s\n", cause);
        free(cause);
        return 1;
    }
    if (res.intact) {
        printf("%" PRId64 " entries, chain intact, head %s\n", res.entries,
               res.head_seq > 0 ? res.head : "0000000000000000000000000000000000000000000000000000000000000000");
        if (res.first_seq > 1)
            printf("entries before %" PRId64 " were removed by retention; a checkpoint records them\n", res.first_seq);
        if (anchor != NULL && anchor->seq > 0 && anchor->seq < res.first_seq)
            printf("the anchored head %" PRId64 " is older than what retention kept; it could not be checked\n",
                   anchor->seq);
        status = 0;
    } else {
        printf("chain broken at entry %" PRId64 ": %s\n", res.bad_seq, res.problem);
        status = 1;
    }
    audit_verify_result_clear(&res);
    return status;
}

/* What audit_cli_on_show() prints. */
struct audit_cli_show {
    int json;
};

static int
audit_cli_on_show(const struct store_audit_entry *e, void *arg)
{
    struct audit_cli_show *sh = arg;

    if (sh->json) {
        struct json_object *o = json_object_new_object(), *d = json_tokener_parse(e->detail);

        json_object_object_add(o, "seq", json_object_new_int64(e->seq));
        json_object_object_add(o, "ts", json_object_new_int64(e->ts));
        json_object_object_add(o, "kind", json_object_new_string(e->kind));
        json_object_object_add(o, "detail", d != NULL ? d : json_object_new_string(e->detail));
        json_object_object_add(o, "prev_hash", json_object_new_string(e->prev_hash));
        json_object_object_add(o, "entry_hash", json_object_new_string(e->entry_hash));
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
    } else {
        time_t secs = (time_t)(e->ts / 1000);
        struct tm tm;
        char when[32] = "?";

        if (gmtime_r(&secs, &tm) != NULL)
            strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
        printf("%" PRId64 "  %s.%03dZ  %-10s %s\n", e->seq, when, (int)(e->ts % 1000 + 1000) % 1000, e->kind,
               e->detail);
    }
    return 0;
}

int
audit_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"head", required_argument, NULL, 'H'},
        {"since", required_argument, NULL, 's'},  {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *config_path = "config.yaml", *action;
    struct audit_anchor anchor = {0};
    struct audit_cli_show show = {0};
    struct config *cfg = NULL;
    struct store *s = NULL;
    int64_t since = INT64_MIN;
    int c, status = 1, verify;
    char *cause = NULL;

    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        audit_cli_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    action = argv[1];
    if (strcmp(action, "verify") != 0 && strcmp(action, "show") != 0) {
        fprintf(stderr, "warroom audit: unknown action '%s' (verify or show)\n", action);
        audit_cli_usage(stderr);
        return 2;
    }
    verify = strcmp(action, "verify") == 0;
    optind = 1;
    while ((c = getopt_long(argc - 1, argv + 1, "c:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config_path = optarg;
            break;
        case 'H':
            if (!verify || audit_cli_anchor(optarg, &anchor) != 0) {
                fprintf(stderr, "warroom audit: --head wants SEQ:HASH (64 hex digits), with verify\n");
                return 2;
            }
            break;
        case 's':
            if (verify || audit_cli_since(optarg, &since) != 0) {
                fprintf(stderr, "warroom audit: --since wants epoch milliseconds, a date or an age, with show\n");
                return 2;
            }
            break;
        case 'j':
            show.json = 1;
            break;
        case 'h':
            audit_cli_usage(stdout);
            return 0;
        default:
            audit_cli_usage(stderr);
            return 2;
        }
    }
    if (optind < argc - 1) {
        fprintf(stderr, "warroom audit: unexpected argument '%s'\n", argv[optind + 1]);
        return 2;
    }
    if (audit_cli_open(config_path, &cfg, &s) != 0)
        goto out;
    if (verify) {
        status = audit_cli_verify(s, &anchor);
    } else if (store_audit_scan(s, 0, since, audit_cli_on_show, &show, &cause) != 0) {
        fprintf(stderr, "warroom audit: cannot read the audit log: %s\n", cause);
        free(cause);
    } else {
        status = 0;
    }
out:
    store_close(s);
    config_free(cfg);
    return status;
}
