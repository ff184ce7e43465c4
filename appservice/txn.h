/*
 * A transaction pushed by the homeserver (PUT /_matrix/app/v1/transactions/
 * {txnId}), parsed and checked before anything is stored.  Both the stable
 * and the unstable (MSC2409, MSC3202) field names are accepted; when both
 * are present the stable one wins, so nothing is counted twice (Synapse
 * sends ephemeral under both names with the same content).
 *
 * Checking is all or nothing: a body that is not JSON, not UTF-8, nested
 * too deep, or has one malformed event is refused as a whole, so that bad
 * input changes nothing.
 */
#ifndef WARROOM_TXN_H
#define WARROOM_TXN_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

/* JSON deeper than this is refused.  Matrix events are shallow (content,
 * m.relates_to, unsigned.invite_room_state); 64 leaves room for any
 * legitimate client content while keeping the parser's stack bounded. */
#define TXN_MAX_DEPTH 64

/* One room event.  Every pointer is borrowed from the transaction's JSON
 * and valid until txn_free(). */
struct txn_event {
    struct json_object *json; /* the whole event */
    struct json_object *content;
    const char *event_id;
    const char *room_id;
    const char *sender;
    const char *type;
    const char *state_key; /* NULL for a non-state event */
    int64_t origin_server_ts;
    /* The event serialized compactly, as it is stored: done while parsing,
     * so that the store's write transaction (the pipeline's narrowest
     * part) does not have to.  Owned by json. */
    const char *text;
    size_t text_len;
};

/* One to-device message (MSC2409), as Synapse delivers it. */
struct txn_to_device {
    struct json_object *json;
    const char *type;
    const char *sender;
    const char *to_user_id;
    const char *to_device_id;
};

struct txn {
    struct json_object *root;

    struct txn_event *events;
    size_t nevents;

    /* m.typing, m.receipt, m.presence ...: borrowed objects */
    struct json_object **ephemeral;
    size_t nephemeral;

    struct txn_to_device *to_device;
    size_t nto_device;

    /* MSC3202: borrowed arrays of user IDs, and the key-count maps
     * ({user: {device: {algorithm: n}}} and {user: {device: [types]}}),
     * each NULL when absent. */
    struct json_object *device_lists_changed;
    struct json_object *device_lists_left;
    struct json_object *otk_counts;
    struct json_object *fallback_key_types;
};

/* Why a body was refused: the Matrix errcode (M_NOT_JSON or M_BAD_JSON)
 * and a message that says what was wrong. */
struct txn_error {
    const char *errcode;
    char message[200];
};

/*
 * Parses and checks a transaction body.  Returns 0 and sets *out (returns
 * allocated, free with txn_free()), or -1 with err filled and nothing
 * allocated.
 */
int txn_parse(const char *body, size_t len, struct txn **out, struct txn_error *err);

void txn_free(struct txn *txn);

/*
 * Parses any JSON request body with the same rules (UTF-8 validated,
 * depth bounded, no trailing garbage, must be an object).  Returns the
 * object (returns allocated, release with json_object_put()) or NULL with
 * err filled.
 */
struct json_object *txn_parse_json_object(const char *body, size_t len, struct txn_error *err);

#endif
