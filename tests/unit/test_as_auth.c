/*
 * hs_token checks: the constant-time comparison, and what each request
 * shape gets (no token, wrong token, header, legacy query parameter, both
 * disagreeing).
 */
#include "autoconfig.h"

#include <string.h>

#include "appservice/as_auth.h"
#include "tests/tap.h"

static const char *token = "hs_token_fixture_0000";

int
main(void)
{
    struct as_auth_result r;

    ok(as_auth_token_equal("abc", "abc"), "equal tokens match");
    ok(!as_auth_token_equal("abc", "abd"), "last character differs");
    ok(!as_auth_token_equal("abc", "abcd"), "a prefix does not match");
    ok(!as_auth_token_equal("", "a"), "empty does not match");
    ok(!as_auth_token_equal(NULL, "a") && !as_auth_token_equal("a", NULL), "NULL matches nothing");

    r = as_auth_check(token, "Bearer hs_token_fixture_0000", NULL, 0);
    is_int(r.status, 0, "Bearer with the right token is allowed");
    r = as_auth_check(token, "bearer hs_token_fixture_0000", NULL, 0);
    is_int(r.status, 0, "the scheme is case-insensitive");
    r = as_auth_check(token, NULL, NULL, 0);
    is_int(r.status, 401, "no token: 401");
    is_str(r.errcode, "M_MISSING_TOKEN", "no token: M_MISSING_TOKEN");
    r = as_auth_check(token, "Basic dXNlcjpwYXNz", NULL, 0);
    is_int(r.status, 401, "another scheme counts as missing");
    r = as_auth_check(token, "Bearer wrong", NULL, 0);
    is_int(r.status, 403, "wrong token: 403");
    is_str(r.errcode, "M_FORBIDDEN", "wrong token: M_FORBIDDEN");
    ok(strstr(r.message, "wrong") == NULL, "the message does not echo the token");

    r = as_auth_check(token, NULL, "hs_token_fixture_0000", 0);
    is_int(r.status, 401, "query token ignored unless legacy_access_token is on");
    ok(strstr(r.message, "legacy_access_token") != NULL, "and the message says which switch");
    r = as_auth_check(token, NULL, "hs_token_fixture_0000", 1);
    is_int(r.status, 0, "query token accepted with legacy_access_token");
    r = as_auth_check(token, NULL, "wrong", 1);
    is_int(r.status, 403, "wrong query token: 403");
    r = as_auth_check(token, "Bearer hs_token_fixture_0000", "hs_token_fixture_0000", 1);
    is_int(r.status, 0, "both present and equal");
    r = as_auth_check(token, "Bearer hs_token_fixture_0000", "other", 1);
    is_int(r.status, 403, "both present and different: 403");
    r = as_auth_check(token, "Bearer other", "hs_token_fixture_0000", 1);
    is_int(r.status, 403, "both present, header wrong: 403");
    tap_done();
}
