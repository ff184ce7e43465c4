/*
 * The counters and the homeserver latency histogram behind /metrics.  The
 * histogram buckets are fixed (Prometheus's default buckets, from 5 ms to
 * 10 s), which is what dashboards expect of an HTTP client.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "xmalloc.h"

static const struct {
    const char *name;
    const char *help;
} metrics_counter_info[] = {
#define METRICS_INFO(e, name, help) {name, help},
    METRICS_COUNTERS(METRICS_INFO)
#undef METRICS_INFO
};

static const char *const metrics_error_labels[] = {
#define METRICS_LABEL(e, label) label,
    METRICS_ERRORS(METRICS_LABEL)
#undef METRICS_LABEL
};

static const double metrics_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define METRICS_NBUCKETS (sizeof(metrics_buckets) / sizeof(metrics_buckets[0]))

static struct {
    uint64_t counters[METRICS_NCOUNTERS];
    uint64_t errors[METRICS_NERRORS];
    uint64_t bucket_counts[METRICS_NBUCKETS];
    uint64_t latency_count;
    double latency_sum;
    int64_t (*outbox_depth_fn)(void *);
    void *outbox_depth_arg;
} metrics;

void
metrics_add(enum metrics_counter counter, uint64_t n)
{
    metrics.counters[counter] += n;
}

void
metrics_error(enum metrics_error kind)
{
    metrics.errors[kind]++;
}

uint64_t
metrics_get(enum metrics_counter counter)
{
    return metrics.counters[counter];
}

void
metrics_observe_hs_latency(double seconds)
{
    for (size_t i = 0; i < METRICS_NBUCKETS; i++) {
        if (seconds <= metrics_buckets[i])
            metrics.bucket_counts[i]++;
    }
    metrics.latency_count++;
    metrics.latency_sum += seconds;
}

void
metrics_set_outbox_depth_fn(int64_t (*fn)(void *arg), void *arg)
{
    metrics.outbox_depth_fn = fn;
    metrics.outbox_depth_arg = arg;
}

char *
metrics_render(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    if (f == NULL)
        abort();
    for (size_t i = 0; i < METRICS_NCOUNTERS; i++) {
        fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", metrics_counter_info[i].name,
                metrics_counter_info[i].help, metrics_counter_info[i].name, metrics_counter_info[i].name,
                (unsigned long long)metrics.counters[i]);
    }
    fputs("# HELP warroom_errors_total Errors by kind\n# TYPE warroom_errors_total counter\n", f);
    for (size_t i = 0; i < METRICS_NERRORS; i++)
        fprintf(f, "warroom_errors_total{kind=\"%s\"} %llu\n", metrics_error_labels[i],
                (unsigned long long)metrics.errors[i]);
    fputs("# HELP warroom_outbox_depth Outbox entries waiting to be delivered\n"
          "# TYPE warroom_outbox_depth gauge\n",
          f);
    fprintf(f, "warroom_outbox_depth %lld\n",
            (long long)(metrics.outbox_depth_fn != NULL ? metrics.outbox_depth_fn(metrics.outbox_depth_arg) : 0));
    fputs("# HELP warroom_homeserver_request_duration_seconds Latency of requests to the homeserver\n"
          "# TYPE warroom_homeserver_request_duration_seconds histogram\n",
          f);
    for (size_t i = 0; i < METRICS_NBUCKETS; i++)
        fprintf(f, "warroom_homeserver_request_duration_seconds_bucket{le=\"%g\"} %llu\n", metrics_buckets[i],
                (unsigned long long)metrics.bucket_counts[i]);
    fprintf(f, "warroom_homeserver_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
            (unsigned long long)metrics.latency_count);
    fprintf(f, "warroom_homeserver_request_duration_seconds_sum %.6f\n", metrics.latency_sum);
    fprintf(f, "warroom_homeserver_request_duration_seconds_count %llu\n", (unsigned long long)metrics.latency_count);
    if (fclose(f) != 0)
        abort();
    return buf;
}

void
metrics_reset(void)
{
    memset(&metrics, 0, sizeof(metrics));
}
