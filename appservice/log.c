/*
 * Log lines on stderr.  Text lines are "2026-11-28T04:40:00.123Z INFO msg";
 * JSON lines are {"ts":...,"level":...,"msg":...}, one object per line, so
 * that journald or a log shipper can take them as they are.
 */
#include "autoconfig.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "log.h"
#include "xmalloc.h"

static enum log_level log_threshold = LOG_LEVEL_INFO;
static enum log_format log_format = LOG_FORMAT_TEXT;

static const char *const log_level_names[] = {"debug", "info", "warn", "error"};

void
log_init(enum log_level level, enum log_format format)
{
    log_threshold = level;
    log_format = format;
}

int
log_level_parse(const char *name, enum log_level *level)
{
    for (size_t i = 0; i < sizeof(log_level_names) / sizeof(log_level_names[0]); i++) {
        if (strcmp(name, log_level_names[i]) == 0) {
            *level = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

const char *
log_level_name(enum log_level level)
{
    return log_level_names[level];
}

int
log_enabled(enum log_level level)
{
    return level >= log_threshold;
}

/* Formats the current time as RFC 3339 UTC with milliseconds. */
static void
log_timestamp(char *buf, size_t len)
{
    struct timeval tv;
    struct tm tm;
    size_t n;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03dZ", (int)(tv.tv_usec / 1000));
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
    char ts[40];
    va_list ap;
    char *msg;

    if (!log_enabled(level))
        return;
    va_start(ap, fmt);
    msg = xvasprintf(fmt, ap);
    va_end(ap);
    log_timestamp(ts, sizeof(ts));

    if (log_format == LOG_FORMAT_JSON) {
        struct json_object *o = json_object_new_object();

        json_object_object_add(o, "ts", json_object_new_string(ts));
        json_object_object_add(o, "level", json_object_new_string(log_level_names[level]));
        json_object_object_add(o, "msg", json_object_new_string(msg));
        fprintf(stderr, "%s\n",
                json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
    } else {
        char upper[8];
        size_t i;

        for (i = 0; log_level_names[level][i] != '\0' && i < sizeof(upper) - 1; i++)
            upper[i] = (char)(log_level_names[level][i] - 'a' + 'A');
        upper[i] = '\0';
        fprintf(stderr, "%s %-5s %s\n", ts, upper, msg);
    }
    free(msg);
}
