/*
 * Small readers for the JSON that tools answer with, shared by the
 * bridges: each looks up one member and checks its type, so that a tool
 * answering with an unexpected shape gives "missing" rather than a wrong
 * value or a crash.  Every pointer returned is borrowed from o.
 */
#ifndef WARROOM_BRIDGE_JSON_H
#define WARROOM_BRIDGE_JSON_H

#include <json-c/json.h>

/* The member key of o if it has type t, or NULL (also when o is NULL). */
struct json_object *bridge_json_get(struct json_object *o, const char *key, json_type t);

/* The string member key of o, or NULL if absent, not a string or "". */
const char *bridge_json_str(struct json_object *o, const char *key);

/* The integer member key of o, or def. */
long long bridge_json_int(struct json_object *o, const char *key, long long def);

/* 1 or 0 for a boolean member key of o, -1 if absent, null or not a boolean. */
int bridge_json_bool(struct json_object *o, const char *key);

#endif
