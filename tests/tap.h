/*
 * A few macros for unit tests that print TAP, read by automake's
 * tap-driver.sh under "make check".  Each test program declares its plan
 * with tap_plan() or ends with tap_done(); a failed check prints the file,
 * line and expression, and the run goes on so that one failure does not
 * hide the next.
 */
#ifndef WARROOM_TAP_H
#define WARROOM_TAP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_count;
static int tap_failed;

#define tap_plan(n) printf("1..%d\n", (n))

#define ok(cond, ...)                                                                                                  \
    do {                                                                                                               \
        int ok_ = (cond) ? 1 : 0;                                                                                      \
        tap_count++;                                                                                                   \
        if (!ok_)                                                                                                      \
            tap_failed++;                                                                                              \
        printf("%s %d - ", ok_ ? "ok" : "not ok", tap_count);                                                          \
        printf(__VA_ARGS__);                                                                                           \
        printf("\n");                                                                                                  \
        if (!ok_)                                                                                                      \
            printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond);                                            \
        fflush(stdout);                                                                                                \
    } while (0)

#define is_int(got, want, ...)                                                                                         \
    do {                                                                                                               \
        long long g_ = (long long)(got), w_ = (long long)(want);                                                       \
        ok(g_ == w_, __VA_ARGS__);                                                                                     \
        if (g_ != w_)                                                                                                  \
            printf("#   got %lld, want %lld\n", g_, w_);                                                               \
    } while (0)

#define is_str(got, want, ...)                                                                                         \
    do {                                                                                                               \
        const char *g_ = (got), *w_ = (want);                                                                          \
        int same_ = (g_ == NULL && w_ == NULL) || (g_ != NULL && w_ != NULL && strcmp(g_, w_) == 0);                   \
        ok(same_, __VA_ARGS__);                                                                                        \
        if (!same_)                                                                                                    \
            printf("#   got \"%s\", want \"%s\"\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)");                           \
    } while (0)

#define tap_done()                                                                                                     \
    do {                                                                                                               \
        printf("1..%d\n", tap_count);                                                                                  \
        return tap_failed == 0 ? 0 : 1;                                                                                \
    } while (0)

#endif
