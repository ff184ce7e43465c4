/*
 * hs_token checks; see as_auth.h.
 */
#include "autoconfig.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <string.h>
#include <strings.h>

#include "as_auth.h"

int
as_auth_token_equal(const char *a, const char *b)
{
    unsigned char da[SHA256_DIGEST_LENGTH], db[SHA256_DIGEST_LENGTH];
    int equal;

    if (a == NULL || b == NULL)
        return 0;
    SHA256((const unsigned char *)a, strlen(a), da);
    SHA256((const unsigned char *)b, strlen(b), db);
    equal = CRYPTO_memcmp(da, db, sizeof(da)) == 0;
    OPENSSL_cleanse(da, sizeof(da));
    OPENSSL_cleanse(db, sizeof(db));
    return equal;
}

/* Returns the token of a "Bearer <token>" header (borrowed), or NULL. */
static const char *
as_auth_bearer(const char *authorization)
{
    if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
        return NULL;
    authorization += 7;
    while (*authorization == ' ')
        authorization++;
    return *authorization != '\0' ? authorization : NULL;
}

struct as_auth_result
as_auth_check(const char *expected, const char *authorization, const char *query_token, int legacy)
{
    struct as_auth_result r = {0, NULL, NULL};
    const char *bearer = as_auth_bearer(authorization);
    const char *token = bearer;

    if (legacy && query_token != NULL) {
        if (bearer != NULL && !as_auth_token_equal(bearer, query_token)) {
            r.status = 403;
            r.errcode = "M_FORBIDDEN";
            r.message = "The access_token parameter and the Authorization header disagree";
            return r;
        }
        token = query_token;
    }
    if (token == NULL) {
        r.status = 401;
        r.errcode = "M_MISSING_TOKEN";
        r.message = authorization != NULL && bearer == NULL
                        ? "The Authorization header is not of the form 'Bearer <hs_token>'"
                        : (query_token != NULL ? "Send the hs_token in the Authorization header "
                                                 "(appservice.legacy_access_token is off)"
                                               : "Missing hs_token (Authorization: Bearer <hs_token>)");
        return r;
    }
    if (!as_auth_token_equal(token, expected)) {
        r.status = 403;
        r.errcode = "M_FORBIDDEN";
        r.message = "Wrong hs_token: does the homeserver's registration file match warroom's config?";
    }
    return r;
}
