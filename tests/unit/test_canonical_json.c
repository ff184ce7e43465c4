/*
 * Canonical JSON: the exact bytes the audit log hashes.  Members sorted by
 * their keys' UTF-8 bytes, no whitespace, integers only and in range,
 * the short escapes and \u00XX for other control characters, UTF-8 kept
 * as it is; the examples of the Matrix specification give the same
 * bytes.
 */
#include "autoconfig.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/canonical_json.h"
#include "tests/tap.h"

/* Parses text with json-c and encodes it; returns allocated or NULL
 * (printing the cause). */
static char *
encode_text(const char *text, unsigned flags)
{
    struct json_object *v = json_tokener_parse(text);
    char *cause = NULL, *out;

    if (v == NULL && strcmp(text, "null") != 0) {
        printf("# json-c cannot parse %s\n", text);
        return NULL;
    }
    out = canonical_json_encode(v, flags, NULL, &cause);
    if (out == NULL) {
        printf("# %s: %s\n", text, cause);
        free(cause);
    }
    json_object_put(v);
    return out;
}

/* Checks that text encodes to want. */
static void
check(const char *text, const char *want, const char *what)
{
    char *got = encode_text(text, 0);

    is_str(got, want, "%s", what);
    free(got);
}

/* Checks that a value cannot be encoded, and that the reason names it. */
static void
check_refused(struct json_object *v, unsigned flags, const char *reason_part, const char *what)
{
    char *cause = NULL, *got = canonical_json_encode(v, flags, NULL, &cause);

    ok(got == NULL && cause != NULL && strstr(cause, reason_part) != NULL, "%s refused (%s)", what,
       cause != NULL ? cause : "accepted");
    free(got);
    free(cause);
    json_object_put(v);
}

/* Encodes a string value of n bytes; returns allocated or NULL. */
static char *
encode_string(const char *s, size_t n, unsigned flags)
{
    struct json_object *v = json_object_new_string_len(s, (int)n);
    char *cause = NULL, *out = canonical_json_encode(v, flags, NULL, &cause);

    free(cause);
    json_object_put(v);
    return out;
}

int
main(void)
{
    char *s;
    size_t len = 0;
    struct json_object *v;

    /* The examples of the Matrix specification (appendices, canonical JSON). */
    check("{}", "{}", "spec: empty object");
    check("{\n  \"one\": 1,\n  \"two\": \"Two\"\n}", "{\"one\":1,\"two\":\"Two\"}", "spec: whitespace removed");
    check("{\n  \"b\": \"2\",\n  \"a\": \"1\"\n}", "{\"a\":\"1\",\"b\":\"2\"}", "spec: keys sorted");
    check("{\"b\":\"2\",\"a\":\"1\"}", "{\"a\":\"1\",\"b\":\"2\"}", "spec: compact input sorted");
    check("{\"auth\":{\"success\":true,\"mxid\":\"@john.doe:example.com\",\"profile\":{\"display_name\":\"John Doe\","
          "\"three_pids\":[{\"medium\":\"email\",\"address\":\"john.doe@example.org\"},{\"medium\":\"msisdn\","
          "\"address\":\"123456789\"}]}}}",
          "{\"auth\":{\"mxid\":\"@john.doe:example.com\",\"profile\":{\"display_name\":\"John Doe\",\"three_pids\":"
          "[{\"address\":\"john.doe@example.org\",\"medium\":\"email\"},{\"address\":\"123456789\",\"medium\":"
          "\"msisdn\"}]},\"success\":true}}",
          "spec: nested objects sorted at every level, arrays keep their order");
    check("{\"a\": \"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\"}", "{\"a\":\"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\"}",
          "spec: non-ASCII kept as UTF-8");
    check("{\"\xe6\x9c\xac\": 2, \"\xe6\x97\xa5\": 1}", "{\"\xe6\x97\xa5\":1,\"\xe6\x9c\xac\":2}",
          "spec: non-ASCII keys sorted by code point");
    check("{\"a\": \"\\u65E5\"}", "{\"a\":\"\xe6\x97\xa5\"}", "spec: \\u escapes of printable characters undone");
    check("{\"a\": null}", "{\"a\":null}", "spec: null");
    check("{\"a\": -0, \"b\": 1e0}", NULL, "a number with an exponent is not an integer");

    /* Order is by UTF-8 bytes, which is code point order; upper case
     * before lower case; a prefix before its extensions. */
    check("{\"b\":1,\"a\":2,\"aa\":3,\"B\":4,\"\xc3\xa9\":5,\"z\":6,\"\xe2\x82\xac\":7,\"\xf0\x9f\x98\x80\":8}",
          "{\"B\":4,\"a\":2,\"aa\":3,\"b\":1,\"z\":6,\"\xc3\xa9\":5,\"\xe2\x82\xac\":7,\"\xf0\x9f\x98\x80\":8}",
          "keys ordered by bytes: B a aa b z \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    check("[3,1,2,{\"y\":[],\"x\":{}}]", "[3,1,2,{\"x\":{},\"y\":[]}]", "arrays keep their order");
    check("[true,false,null,0,-1,42]", "[true,false,null,0,-1,42]", "literals and integers");
    check("9007199254740991", "9007199254740991", "2^53 - 1 is the largest integer");
    check("-9007199254740991", "-9007199254740991", "-(2^53 - 1) is the smallest integer");

    /* Escapes: only what JSON requires, in the shortest form. */
    s = encode_string("\"\\\b\f\n\r\t\x01\x1f/\x7f", 11, 0);
    is_str(s, "\"\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001f/\x7f\"",
           "quote, backslash and the short escapes; other controls as \\u00XX in lower case; '/' and DEL as they are");
    free(s);
    s = encode_string("a\0b", 3, 0);
    is_str(s, "\"a\\u0000b\"", "an embedded NUL as \\u0000");
    free(s);
    s = encode_string("\x1b", 1, 0);
    is_str(s, "\"\\u001b\"", "ESC as \\u001b (lower-case hex)");
    free(s);

    /* Refused: fractions, integers out of range, invalid UTF-8. */
    check_refused(json_object_new_double(1.5), 0, "not an integer", "1.5");
    check_refused(json_tokener_parse("1.0"), 0, "not an integer", "1.0 (a fraction, even if whole)");
    check_refused(json_object_new_int64(9007199254740992LL), 0, "out of", "2^53");
    check_refused(json_object_new_int64(-9007199254740992LL), 0, "out of", "-2^53");
    check_refused(json_object_new_uint64(18446744073709551615ULL), 0, "out of", "2^64 - 1");
    check_refused(json_object_new_string("\xff"), 0, "UTF-8", "byte 0xff");
    check_refused(json_object_new_string("\xc0\xaf"), 0, "UTF-8", "an overlong '/'");
    check_refused(json_object_new_string("\xed\xa0\x80"), 0, "UTF-8", "a UTF-16 surrogate");
    check_refused(json_object_new_string("\xf4\x90\x80\x80"), 0, "UTF-8", "a code point beyond U+10FFFF");
    check_refused(json_object_new_string("\xe2\x82"), 0, "UTF-8", "a truncated sequence");
    v = json_object_new_object();
    json_object_object_add(v, "k\xff", json_object_new_int(1));
    check_refused(v, 0, "UTF-8", "a key that is not UTF-8");
    v = json_object_new_object();
    json_object_object_add(v, "a", json_object_new_array());
    json_object_array_add(json_object_object_get(v, "a"), json_object_new_double(0.5));
    check_refused(v, 0, "not an integer", "a fraction deep inside");

    /* Lossy: each bad byte becomes U+FFFD, the rest is kept. */
    s = encode_string("ok\xff\xc0\xaf\xe2\x82\xac", 8, CANONICAL_JSON_LOSSY);
    is_str(s, "\"ok\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xe2\x82\xac\"", "lossy: bad bytes replaced, valid ones kept");
    free(s);

    /* The length is given, and the result is NUL-terminated. */
    v = json_tokener_parse("{\"a\":[1,2]}");
    s = canonical_json_encode(v, 0, &len, NULL);
    is_int(len, strlen("{\"a\":[1,2]}"), "the length is the text's");
    free(s);
    json_object_put(v);
    s = canonical_json_encode(NULL, 0, NULL, NULL);
    is_str(s, "null", "NULL is JSON null");
    free(s);

    /* The same value built in two insertion orders gives the same bytes. */
    {
        struct json_object *a = json_object_new_object(), *b = json_object_new_object();
        char *sa, *sb;

        json_object_object_add(a, "x", json_object_new_int(1));
        json_object_object_add(a, "y", json_object_new_string("two"));
        json_object_object_add(b, "y", json_object_new_string("two"));
        json_object_object_add(b, "x", json_object_new_int(1));
        sa = canonical_json_encode(a, 0, NULL, NULL);
        sb = canonical_json_encode(b, 0, NULL, NULL);
        is_str(sa, sb, "insertion order does not matter");
        free(sa);
        free(sb);
        json_object_put(a);
        json_object_put(b);
    }
    tap_done();
}
