/*
 * Transaction parsing: every captured Synapse transaction parses, both the
 * stable and unstable field names are read (and never both), and every
 * kind of bad body is refused with the right errcode.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appservice/json_check.h"
#include "appservice/txn.h"
#include "appservice/xmalloc.h"
#include "tests/tap.h"
#include "tests/unit/fixture.h"

/* Parses a fixture's body; returns the txn or NULL (and reports). */
static struct txn *
parse_fixture(const char *name)
{
    size_t len;
    char *body = fixture_synapse_body(name, &len);
    struct txn *txn = NULL;
    struct txn_error err = {0};

    if (body == NULL) {
        ok(0, "fixture %s readable", name);
        return NULL;
    }
    if (txn_parse(body, len, &txn, &err) != 0)
        printf("# %s: %s %s\n", name, err.errcode, err.message);
    free(body);
    return txn;
}

/* Parses text and returns the errcode, or "OK". */
static const char *
parse_error(const char *text, size_t len)
{
    static struct txn_error err;
    struct txn *txn = NULL;

    memset(&err, 0, sizeof(err));
    if (txn_parse(text, len, &txn, &err) == 0) {
        txn_free(txn);
        return "OK";
    }
    ok(txn == NULL, "nothing returned on error (%s)", err.message);
    return err.errcode;
}

static void
test_all_fixtures(void)
{
    static const char *const names[] = {
        "txn-batch-max-events.json",
        "txn-batch-remainder.json",
        "txn-device-lists-appservice-user.json",
        "txn-device-lists-changed.json",
        "txn-edit.json",
        "txn-encrypted-message.json",
        "txn-ephemeral-presence.json",
        "txn-ephemeral-receipt-private.json",
        "txn-ephemeral-receipt-threaded.json",
        "txn-ephemeral-receipt.json",
        "txn-ephemeral-typing-stopped.json",
        "txn-ephemeral-typing.json",
        "txn-file.json",
        "txn-image.json",
        "txn-invite-at-room-creation.json",
        "txn-invite-direct.json",
        "txn-invite-encrypted-room.json",
        "txn-invite-unregistered-user.json",
        "txn-invite.json",
        "txn-member-ban.json",
        "txn-member-join-appservice-user.json",
        "txn-member-join.json",
        "txn-member-kick.json",
        "txn-member-leave-appservice-user.json",
        "txn-member-leave.json",
        "txn-message-command-mention.json",
        "txn-message-emote.json",
        "txn-message-html.json",
        "txn-message-notice.json",
        "txn-message-text.json",
        "txn-own-event-echo.json",
        "txn-own-file-echo.json",
        "txn-reaction.json",
        "txn-redaction-room-v11.json",
        "txn-redaction.json",
        "txn-reply.json",
        "txn-retry-1-first-attempt-500.json",
        "txn-retry-2-second-attempt-500.json",
        "txn-retry-3-third-attempt-200.json",
        "txn-room-create-by-appservice-user.json",
        "txn-state-topic-change.json",
        "txn-thread.json",
        "txn-to-device-olm-encrypted.json",
        "txn-to-device-wildcard.json",
        "txn-to-device.json",
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct txn *txn = parse_fixture(names[i]);

        ok(txn != NULL, "captured %s parses", names[i]);
        txn_free(txn);
    }
}

static void
test_fixture_contents(void)
{
    struct txn *txn;

    txn = parse_fixture("txn-message-text.json");
    if (txn != NULL) {
        is_int(txn->nevents, 1, "one event in txn-message-text");
        is_str(txn->events[0].type, "m.room.message", "its type");
        is_str(txn->events[0].sender, "@alice:localhost", "its sender");
        ok(txn->events[0].state_key == NULL, "a message has no state_key");
        ok(txn->events[0].origin_server_ts == 1795836097813LL, "origin_server_ts read as 64-bit");
        ok(txn->otk_counts != NULL, "org.matrix.msc3202.device_one_time_keys_count read");
        ok(txn->fallback_key_types != NULL, "org.matrix.msc3202.device_unused_fallback_key_types read");
        is_int(txn->nephemeral, 0, "empty ephemeral");
    }
    txn_free(txn);

    txn = parse_fixture("txn-ephemeral-typing.json");
    if (txn != NULL)
        is_int(txn->nephemeral, 1, "typing sent under two names is counted once");
    txn_free(txn);

    txn = parse_fixture("txn-to-device.json");
    if (txn != NULL) {
        is_int(txn->nto_device, 1, "de.sorunome.msc2409.to_device read");
        is_str(txn->to_device[0].to_device_id, "WARROOMDNS", "to_device_id");
    }
    txn_free(txn);

    txn = parse_fixture("txn-device-lists-changed.json");
    if (txn != NULL) {
        ok(txn->device_lists_changed != NULL && json_object_array_length(txn->device_lists_changed) == 1,
           "org.matrix.msc3202.device_lists.changed read");
    }
    txn_free(txn);

    txn = parse_fixture("txn-state-topic-change.json");
    if (txn != NULL)
        is_str(txn->events[0].state_key, "", "a state event's empty state_key is kept");
    txn_free(txn);
}

static void
test_field_name_variants(void)
{
    struct txn *txn = NULL;
    struct txn_error err;
    const char *stable =
        "{\"events\":[],"
        "\"ephemeral\":[{\"type\":\"m.typing\",\"room_id\":\"!r:x\",\"content\":{\"user_ids\":[]}}],"
        "\"de.sorunome.msc2409.ephemeral\":[{\"type\":\"m.typing\"},{\"type\":\"m.typing\"}],"
        "\"to_device\":[{\"type\":\"t\",\"sender\":\"@a:x\",\"to_user_id\":\"@soc_dns:x\",\"to_device_id\":\"D\","
        "\"content\":{}}],"
        "\"device_lists\":{\"changed\":[\"@a:x\",\"@b:x\"],\"left\":[\"@c:x\"]},"
        "\"org.matrix.msc3202.device_lists\":{\"changed\":[],\"left\":[]},"
        "\"device_one_time_keys_count\":{\"@soc_dns:x\":{\"D\":{\"signed_curve25519\":7}}},"
        "\"device_unused_fallback_key_types\":{\"@soc_dns:x\":{\"D\":[\"signed_curve25519\"]}}}";
    const char *twin = "{\"events\":[],\"org.matrix.msc3202.device_one_time_key_counts\":"
                       "{\"@soc_dns:x\":{\"D\":{\"signed_curve25519\":3}}}}";

    ok(txn_parse(stable, strlen(stable), &txn, &err) == 0, "stable names parse");
    if (txn != NULL) {
        is_int(txn->nephemeral, 1, "stable ephemeral wins over the unstable one");
        is_int(txn->nto_device, 1, "stable to_device read");
        is_int(json_object_array_length(txn->device_lists_changed), 2, "stable device_lists wins");
        is_int(json_object_array_length(txn->device_lists_left), 1, "device_lists.left read");
        ok(txn->otk_counts != NULL, "stable device_one_time_keys_count read");
        ok(txn->fallback_key_types != NULL, "stable device_unused_fallback_key_types read");
    }
    txn_free(txn);
    txn = NULL;
    ok(txn_parse(twin, strlen(twin), &txn, &err) == 0 && txn->otk_counts != NULL,
       "the twin name org.matrix.msc3202.device_one_time_key_counts is read");
    txn_free(txn);
}

static void
test_bad_bodies(void)
{
    char *deep;
    size_t depth = 10000, i;

    is_str(parse_error("", 0), "M_NOT_JSON", "empty body");
    is_str(parse_error("{\"events\":[", 11), "M_NOT_JSON", "truncated JSON");
    is_str(parse_error("{\"events\":[]} x", 15), "M_NOT_JSON", "trailing garbage");
    is_str(parse_error("{'events':[]}", 13), "M_NOT_JSON", "single quotes are not JSON");
    is_str(parse_error("{\"events\":[],}", 14), "M_NOT_JSON", "trailing comma is not JSON");
    is_str(parse_error("{\"events\":[],\"x\":\"\xff\xfe\"}", 22), "M_NOT_JSON", "invalid UTF-8");
    is_str(parse_error("{\"events\":[],\"x\":\"\xc0\xaf\"}", 22), "M_NOT_JSON", "overlong UTF-8");
    is_str(parse_error("{\"events\":[],\"x\":\"\xed\xa0\x80\"}", 23), "M_NOT_JSON", "UTF-8-encoded surrogate");
    is_str(parse_error("{\"events\":[],\"x\":\"\xf4\x90\x80\x80\"}", 24), "M_NOT_JSON", "code point past U+10FFFF");
    is_str(parse_error("{\"events\":[],\"x\":NaN}", 22), "M_NOT_JSON", "NaN is not JSON");
    is_str(parse_error("{\"events\":[],\"x\":Infinity}", 27), "M_NOT_JSON", "Infinity is not JSON");
    is_str(parse_error("{\"events\":[],\"x\":1e400}", 24), "M_BAD_JSON", "a number that overflows a double");
    is_str(parse_error("{\"events\":[],\"x\":\"a\x01b\"}", 23), "M_NOT_JSON", "raw control character in a string");
    is_str(parse_error("[]", 2), "M_BAD_JSON", "an array is not a transaction");
    is_str(parse_error("{}", 2), "M_BAD_JSON", "no events");
    is_str(parse_error("{\"events\":{}}", 13), "M_BAD_JSON", "events not an array");
    is_str(parse_error("{\"events\":[1]}", 14), "M_BAD_JSON", "an event that is not an object");

    /* {"events":[],"x":[[[...]]]} with 10,000 brackets each way. */
    deep = xmalloc(2 * depth + 32);
    strcpy(deep, "{\"events\":[],\"x\":");
    i = strlen(deep);
    memset(deep + i, '[', depth);
    memset(deep + i + depth, ']', depth);
    strcpy(deep + i + 2 * depth, "}");
    is_str(parse_error(deep, strlen(deep)), "M_BAD_JSON", "10,000-deep nesting refused");
    free(deep);

#define EV(body) "{\"events\":[{" body "}]}"
    {
        const char *s = EV("\"room_id\":\"!r:x\",\"sender\":\"@a:x\",\"type\":\"t\",\"origin_server_ts\":1,"
                           "\"content\":{}");
        is_str(parse_error(s, strlen(s)), "M_BAD_JSON", "event without event_id");
    }
    {
        const char *s = EV("\"event_id\":\"$e\",\"room_id\":\"!r:x\",\"sender\":\"@a:x\",\"type\":\"t\","
                           "\"origin_server_ts\":\"1\",\"content\":{}");
        is_str(parse_error(s, strlen(s)), "M_BAD_JSON", "origin_server_ts as a string");
    }
    {
        const char *s = EV("\"event_id\":\"$e\",\"room_id\":\"!r:x\",\"sender\":\"@a:x\",\"type\":\"t\","
                           "\"origin_server_ts\":1,\"content\":[]");
        is_str(parse_error(s, strlen(s)), "M_BAD_JSON", "content not an object");
    }
    {
        const char *s = EV("\"event_id\":\"$e\",\"room_id\":\"!r:x\",\"sender\":\"@a:x\",\"type\":\"t\","
                           "\"origin_server_ts\":1,\"content\":{},\"state_key\":5");
        is_str(parse_error(s, strlen(s)), "M_BAD_JSON", "state_key not a string");
    }
    {
        const char *s = "{\"events\":[],\"ephemeral\":{}}";
        is_str(parse_error(s, strlen(s)), "M_BAD_JSON", "ephemeral not an array");
    }
    {
        const char *s = "{\"events\":[],\"de.sorunome.msc2409.to_device\":[{\"type\":\"t\"}]}";
        is_str(parse_error(s, strlen(s)), "M_BAD_JSON", "to-device message lacking fields");
    }
    {
        const char *s = "{\"events\":[],\"org.matrix.msc3202.device_lists\":{\"changed\":[1]}}";
        is_str(parse_error(s, strlen(s)), "M_BAD_JSON", "device_lists.changed with a non-string");
    }
    {
        const char *s = "{\"events\":[],\"org.matrix.msc3202.device_one_time_keys_count\":{\"@a:x\":{\"D\":5}}}";
        is_str(parse_error(s, strlen(s)), "M_BAD_JSON", "OTK count map of the wrong shape");
    }
#undef EV
}

int
main(void)
{
    test_all_fixtures();
    test_fixture_contents();
    test_field_name_variants();
    test_bad_bodies();
    json_check_cleanup();
    tap_done();
}
