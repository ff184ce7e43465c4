/*
 * Logging to stderr, as text lines or JSON lines, with levels.  Nothing
 * that reaches this module may contain a token or key: callers log user
 * IDs, room IDs, paths and error codes, never headers or query strings.
 */
#ifndef WARROOM_LOG_H
#define WARROOM_LOG_H

enum log_level {
    LOG_LEVEL_DEBUG,
    LOG_LEVEL_INFO,
    LOG_LEVEL_WARN,
    LOG_LEVEL_ERROR,
};

enum log_format {
    LOG_FORMAT_TEXT,
    LOG_FORMAT_JSON,
};

/* Sets the threshold and the line format; may be called again after the
 * config is read.  Before any call the level is INFO and the format text. */
void log_init(enum log_level level, enum log_format format);

/* Returns 0 and sets *level for "debug", "info", "warn" or "error". */
int log_level_parse(const char *name, enum log_level *level);
const char *log_level_name(enum log_level level);

int log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif
