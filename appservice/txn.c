/*
 * Parsing and checking of homeserver transactions; see txn.h.  json-c does
 * the JSON work: its strict mode with UTF-8 validation rejects what a
 * Matrix homeserver never sends, and its depth limit keeps a hostile
 * 10,000-deep body from using the parser's stack.
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_check.h"
#include "txn.h"
#include "xmalloc.h"

static void txn_error_set(struct txn_error *err, const char *errcode, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
txn_error_set(struct txn_error *err, const char *errcode, const char *fmt, ...)
{
    va_list ap;

    err->errcode = errcode;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
}

struct json_object *
txn_parse_json_object(const char *body, size_t len, struct txn_error *err)
{
    struct json_tokener *tok = NULL;
    struct json_object *obj = NULL;
    enum json_tokener_error jerr;
    size_t used;

    if (len == 0) {
        txn_error_set(err, "M_NOT_JSON", "The request body is empty");
        goto out;
    }
    if (len > INT32_MAX) {
        txn_error_set(err, "M_NOT_JSON", "The request body is too large to parse");
        goto out;
    }
    if (json_check_utf8(body, len, &used) != 0) {
        txn_error_set(err, "M_NOT_JSON", "The request body is not valid UTF-8 (byte %zu)", used);
        goto out;
    }
    tok = json_tokener_new_ex(TXN_MAX_DEPTH);
    if (tok == NULL)
        abort();
    /* UTF-8 was checked above, more strictly than json-c's own check
     * (JSON_TOKENER_VALIDATE_UTF8 lets overlong forms through), so that
     * flag would only cost a quarter of the parse. */
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    obj = json_tokener_parse_ex(tok, body, (int)len);
    jerr = json_tokener_get_error(tok);
    if (obj == NULL || jerr != json_tokener_success) {
        if (jerr == json_tokener_continue)
            txn_error_set(err, "M_NOT_JSON", "The request body ends in the middle of a JSON value");
        else if (jerr == json_tokener_error_depth)
            txn_error_set(err, "M_BAD_JSON", "The JSON is nested deeper than %d levels", TXN_MAX_DEPTH);
        else
            txn_error_set(err, "M_NOT_JSON", "The request body is not valid JSON: %s at byte %zu",
                          json_tokener_error_desc(jerr), json_tokener_get_parse_end(tok));
        json_object_put(obj);
        obj = NULL;
        goto out;
    }
    /* Anything after the value but white space is an error, not ignored. */
    used = json_tokener_get_parse_end(tok);
    while (used < len && strchr(" \t\r\n", body[used]) != NULL)
        used++;
    if (used != len) {
        txn_error_set(err, "M_NOT_JSON", "The request body has data after the JSON value (byte %zu)", used);
        json_object_put(obj);
        obj = NULL;
        goto out;
    }
    /* json-c accepted it; hold it to RFC 8259 as well (json_check.h). */
    if (json_check_syntax(body, len) != 0) {
        txn_error_set(err, "M_NOT_JSON", "The request body is not valid JSON (RFC 8259)");
        json_object_put(obj);
        obj = NULL;
        goto out;
    }
    if (json_check_finite(obj) != 0) {
        txn_error_set(err, "M_BAD_JSON", "The request body has a number out of range");
        json_object_put(obj);
        obj = NULL;
        goto out;
    }
    if (!json_object_is_type(obj, json_type_object)) {
        txn_error_set(err, "M_BAD_JSON", "The request body must be a JSON object");
        json_object_put(obj);
        obj = NULL;
    }
out:
    if (tok != NULL)
        json_tokener_free(tok);
    return obj;
}

/* Returns the member named stable, or else the one named unstable, or NULL. */
static struct json_object *
txn_get_either(struct json_object *obj, const char *stable, const char *unstable)
{
    struct json_object *v;

    if (json_object_object_get_ex(obj, stable, &v) && !json_object_is_type(v, json_type_null))
        return v;
    if (unstable != NULL && json_object_object_get_ex(obj, unstable, &v) && !json_object_is_type(v, json_type_null))
        return v;
    return NULL;
}

/* Returns the string member key of obj, or NULL if absent or not a string. */
static const char *
txn_get_string(struct json_object *obj, const char *key)
{
    struct json_object *v;

    if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* Checks one room event and fills ev; returns -1 with err set if malformed. */
static int
txn_parse_event(struct json_object *json, size_t index, struct txn_event *ev, struct txn_error *err)
{
    struct json_object *v;

    if (!json_object_is_type(json, json_type_object)) {
        txn_error_set(err, "M_BAD_JSON", "events[%zu] is not an object", index);
        return -1;
    }
    ev->json = json;
    ev->event_id = txn_get_string(json, "event_id");
    ev->room_id = txn_get_string(json, "room_id");
    ev->sender = txn_get_string(json, "sender");
    ev->type = txn_get_string(json, "type");
    if (ev->event_id == NULL || ev->event_id[0] == '\0') {
        txn_error_set(err, "M_BAD_JSON", "events[%zu].event_id is missing or not a string", index);
        return -1;
    }
    if (ev->room_id == NULL || ev->room_id[0] == '\0') {
        txn_error_set(err, "M_BAD_JSON", "events[%zu].room_id is missing or not a string", index);
        return -1;
    }
    if (ev->sender == NULL || ev->sender[0] == '\0') {
        txn_error_set(err, "M_BAD_JSON", "events[%zu].sender is missing or not a string", index);
        return -1;
    }
    if (ev->type == NULL || ev->type[0] == '\0') {
        txn_error_set(err, "M_BAD_JSON", "events[%zu].type is missing or not a string", index);
        return -1;
    }
    if (!json_object_object_get_ex(json, "origin_server_ts", &v) || !json_object_is_type(v, json_type_int)) {
        txn_error_set(err, "M_BAD_JSON", "events[%zu].origin_server_ts is missing or not an integer", index);
        return -1;
    }
    ev->origin_server_ts = json_object_get_int64(v);
    if (!json_object_object_get_ex(json, "content", &ev->content) ||
        !json_object_is_type(ev->content, json_type_object)) {
        txn_error_set(err, "M_BAD_JSON", "events[%zu].content is missing or not an object", index);
        return -1;
    }
    ev->state_key = NULL;
    if (json_object_object_get_ex(json, "state_key", &v)) {
        if (!json_object_is_type(v, json_type_string)) {
            txn_error_set(err, "M_BAD_JSON", "events[%zu].state_key is not a string", index);
            return -1;
        }
        ev->state_key = json_object_get_string(v);
    }
    ev->text = json_object_to_json_string_length(json, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
                                                 &ev->text_len);
    return 0;
}

/* Checks one to-device message and fills td. */
static int
txn_parse_to_device(struct json_object *json, size_t index, struct txn_to_device *td, struct txn_error *err)
{
    struct json_object *content;

    if (!json_object_is_type(json, json_type_object)) {
        txn_error_set(err, "M_BAD_JSON", "to_device[%zu] is not an object", index);
        return -1;
    }
    td->json = json;
    td->type = txn_get_string(json, "type");
    td->sender = txn_get_string(json, "sender");
    td->to_user_id = txn_get_string(json, "to_user_id");
    td->to_device_id = txn_get_string(json, "to_device_id");
    if (td->type == NULL || td->sender == NULL || td->to_user_id == NULL || td->to_device_id == NULL) {
        txn_error_set(err, "M_BAD_JSON", "to_device[%zu] lacks one of type, sender, to_user_id, to_device_id", index);
        return -1;
    }
    if (!json_object_object_get_ex(json, "content", &content) || !json_object_is_type(content, json_type_object)) {
        txn_error_set(err, "M_BAD_JSON", "to_device[%zu].content is missing or not an object", index);
        return -1;
    }
    return 0;
}

/* Checks that v is an array of strings (for device_lists.changed/left). */
static int
txn_check_string_array(struct json_object *v, const char *what, struct txn_error *err)
{
    if (!json_object_is_type(v, json_type_array)) {
        txn_error_set(err, "M_BAD_JSON", "%s is not an array", what);
        return -1;
    }
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        if (!json_object_is_type(json_object_array_get_idx(v, i), json_type_string)) {
            txn_error_set(err, "M_BAD_JSON", "%s[%zu] is not a string", what, i);
            return -1;
        }
    }
    return 0;
}

/* Checks the {user: {device: X}} shape shared by the key-count maps. */
static int
txn_check_user_device_map(struct json_object *v, const char *what, json_type leaf, struct txn_error *err)
{
    if (!json_object_is_type(v, json_type_object)) {
        txn_error_set(err, "M_BAD_JSON", "%s is not an object", what);
        return -1;
    }
    json_object_object_foreach(v, user, devices)
    {
        if (!json_object_is_type(devices, json_type_object)) {
            txn_error_set(err, "M_BAD_JSON", "%s[%s] is not an object", what, user);
            return -1;
        }
        json_object_object_foreach(devices, device, value)
        {
            if (!json_object_is_type(value, leaf)) {
                txn_error_set(err, "M_BAD_JSON", "%s[%s][%s] has the wrong type", what, user, device);
                return -1;
            }
        }
    }
    return 0;
}

int
txn_parse(const char *body, size_t len, struct txn **out, struct txn_error *err)
{
    struct txn *txn = NULL;
    struct json_object *root, *events, *v;
    int ret = -1;

    *out = NULL;
    root = txn_parse_json_object(body, len, err);
    if (root == NULL)
        goto out;
    txn = xcalloc(1, sizeof(*txn));
    txn->root = root;

    if (!json_object_object_get_ex(root, "events", &events) || !json_object_is_type(events, json_type_array)) {
        txn_error_set(err, "M_BAD_JSON", "The transaction has no \"events\" array");
        goto out;
    }
    txn->nevents = json_object_array_length(events);
    txn->events = xcalloc(txn->nevents, sizeof(*txn->events));
    for (size_t i = 0; i < txn->nevents; i++) {
        if (txn_parse_event(json_object_array_get_idx(events, i), i, &txn->events[i], err) != 0)
            goto out;
    }

    v = txn_get_either(root, "ephemeral", "de.sorunome.msc2409.ephemeral");
    if (v != NULL) {
        if (!json_object_is_type(v, json_type_array)) {
            txn_error_set(err, "M_BAD_JSON", "\"ephemeral\" is not an array");
            goto out;
        }
        txn->nephemeral = json_object_array_length(v);
        txn->ephemeral = xcalloc(txn->nephemeral, sizeof(*txn->ephemeral));
        for (size_t i = 0; i < txn->nephemeral; i++) {
            txn->ephemeral[i] = json_object_array_get_idx(v, i);
            if (!json_object_is_type(txn->ephemeral[i], json_type_object) ||
                txn_get_string(txn->ephemeral[i], "type") == NULL) {
                txn_error_set(err, "M_BAD_JSON", "ephemeral[%zu] is not an object with a type", i);
                goto out;
            }
        }
    }

    v = txn_get_either(root, "to_device", "de.sorunome.msc2409.to_device");
    if (v != NULL) {
        if (!json_object_is_type(v, json_type_array)) {
            txn_error_set(err, "M_BAD_JSON", "\"to_device\" is not an array");
            goto out;
        }
        txn->nto_device = json_object_array_length(v);
        txn->to_device = xcalloc(txn->nto_device, sizeof(*txn->to_device));
        for (size_t i = 0; i < txn->nto_device; i++) {
            if (txn_parse_to_device(json_object_array_get_idx(v, i), i, &txn->to_device[i], err) != 0)
                goto out;
        }
    }

    v = txn_get_either(root, "device_lists", "org.matrix.msc3202.device_lists");
    if (v != NULL) {
        if (!json_object_is_type(v, json_type_object)) {
            txn_error_set(err, "M_BAD_JSON", "\"device_lists\" is not an object");
            goto out;
        }
        if (json_object_object_get_ex(v, "changed", &txn->device_lists_changed) &&
            txn_check_string_array(txn->device_lists_changed, "device_lists.changed", err) != 0)
            goto out;
        if (json_object_object_get_ex(v, "left", &txn->device_lists_left) &&
            txn_check_string_array(txn->device_lists_left, "device_lists.left", err) != 0)
            goto out;
    }

    /* Synapse 1.94 sends the count under two unstable names (a typo kept
     * for compatibility); the stable name comes first. */
    v = txn_get_either(root, "device_one_time_keys_count", "org.matrix.msc3202.device_one_time_keys_count");
    if (v == NULL)
        v = txn_get_either(root, "org.matrix.msc3202.device_one_time_key_counts", NULL);
    if (v != NULL) {
        if (txn_check_user_device_map(v, "device_one_time_keys_count", json_type_object, err) != 0)
            goto out;
        txn->otk_counts = v;
    }

    v = txn_get_either(root, "device_unused_fallback_key_types", "org.matrix.msc3202.device_unused_fallback_key_types");
    if (v != NULL) {
        if (txn_check_user_device_map(v, "device_unused_fallback_key_types", json_type_array, err) != 0)
            goto out;
        txn->fallback_key_types = v;
    }

    *out = txn;
    txn = NULL;
    ret = 0;
out:
    txn_free(txn);
    return ret;
}

void
txn_free(struct txn *txn)
{
    if (txn == NULL)
        return;
    json_object_put(txn->root);
    free(txn->events);
    free(txn->ephemeral);
    free(txn->to_device);
    free(txn);
}
