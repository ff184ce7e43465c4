/*
 * Typed member readers for tools' JSON; see bridge_json.h.
 */
#include "autoconfig.h"

#include "bridges/bridge_json.h"

struct json_object *
bridge_json_get(struct json_object *o, const char *key, json_type t)
{
    struct json_object *v;

    if (o == NULL || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, t))
        return NULL;
    return v;
}

const char *
bridge_json_str(struct json_object *o, const char *key)
{
    struct json_object *v = bridge_json_get(o, key, json_type_string);

    return v != NULL && json_object_get_string_len(v) > 0 ? json_object_get_string(v) : NULL;
}

long long
bridge_json_int(struct json_object *o, const char *key, long long def)
{
    struct json_object *v = bridge_json_get(o, key, json_type_int);

    return v != NULL ? (long long)json_object_get_int64(v) : def;
}

int
bridge_json_bool(struct json_object *o, const char *key)
{
    struct json_object *v = bridge_json_get(o, key, json_type_boolean);

    return v != NULL ? json_object_get_boolean(v) != 0 : -1;
}
