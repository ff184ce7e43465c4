/*
 * Strict checks for JSON that comes from outside (homeserver bodies, tool
 * answers).  json-c builds the tree warroom works with, but even in its
 * strict mode it accepts single quotes, NaN and Infinity, raw control
 * characters and overlong or surrogate UTF-8.  Those bodies are refused
 * here, with libraries that get them right: GNU libunistring for UTF-8
 * (RFC 3629) and SQLite's json_valid() for the RFC 8259 grammar.
 */
#ifndef WARROOM_JSON_CHECK_H
#define WARROOM_JSON_CHECK_H

#include <json-c/json.h>
#include <stddef.h>

/* Returns 0 if s[0..len) is well-formed UTF-8, else -1 and sets *bad to
 * the offset of the first bad byte. */
int json_check_utf8(const char *s, size_t len, size_t *bad);

/* Returns 0 if s[0..len) is one JSON value under RFC 8259, else -1.
 * Thread-safe. */
int json_check_syntax(const char *s, size_t len);

/* Returns 0 if no number in the tree is NaN or infinite (json-c turns
 * 1e400 into inf, which no JSON writer can write back), else -1. */
int json_check_finite(struct json_object *obj);

/* Frees the checker's private resources; for a leak-free exit. */
void json_check_cleanup(void);

#endif
