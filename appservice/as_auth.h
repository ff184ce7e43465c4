/*
 * Authenticating the homeserver: every request to the Application Service
 * API must carry the hs_token, as "Authorization: Bearer <token>" or, only
 * when appservice.legacy_access_token is on, as ?access_token=.  Tokens
 * are compared in constant time (both are hashed with SHA-256 and the
 * digests compared with CRYPTO_memcmp, so neither content nor length
 * leaks through timing).
 */
#ifndef WARROOM_AS_AUTH_H
#define WARROOM_AS_AUTH_H

#include <stddef.h>

/* 1 if a and b are equal; constant time in their contents and lengths.
 * NULL equals nothing. */
int as_auth_token_equal(const char *a, const char *b);

struct as_auth_result {
    int status;          /* 0 if allowed, else 401 or 403 */
    const char *errcode; /* M_MISSING_TOKEN or M_FORBIDDEN */
    const char *message;
};

/*
 * Decides on a request given its Authorization header value (or NULL) and
 * its access_token query parameter (or NULL).  legacy says whether the
 * query parameter is accepted; if both are given they must agree.
 */
struct as_auth_result as_auth_check(const char *expected, const char *authorization, const char *query_token,
                                    int legacy);

#endif
