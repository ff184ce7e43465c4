/*
 * Strict JSON checks; see json_check.h for why they exist beside json-c.
 * The grammar check runs on a private in-memory SQLite connection, opened
 * on first use and guarded by a mutex so that bridges may call it from the
 * thread pool too.
 */
#include "autoconfig.h"

#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistr.h>

#include "json_check.h"

static pthread_mutex_t json_check_lock = PTHREAD_MUTEX_INITIALIZER;
static sqlite3 *json_check_db;
static sqlite3_stmt *json_check_stmt;

int
json_check_utf8(const char *s, size_t len, size_t *bad)
{
    const uint8_t *p = u8_check((const uint8_t *)s, len);

    if (p == NULL)
        return 0;
    *bad = (size_t)(p - (const uint8_t *)s);
    return -1;
}

int
json_check_syntax(const char *s, size_t len)
{
    int ret = -1;

    if (len > INT32_MAX)
        return -1;
    pthread_mutex_lock(&json_check_lock);
    if (json_check_db == NULL) {
        if (sqlite3_open_v2(":memory:", &json_check_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_MEMORY, NULL) !=
                SQLITE_OK ||
            sqlite3_prepare_v3(json_check_db, "SELECT json_valid(?1)", -1, SQLITE_PREPARE_PERSISTENT, &json_check_stmt,
                               NULL) != SQLITE_OK)
            abort(); /* only out of memory can make an in-memory database fail */
    }
    if (sqlite3_bind_text(json_check_stmt, 1, s, (int)len, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_step(json_check_stmt) == SQLITE_ROW && sqlite3_column_int(json_check_stmt, 0) == 1)
        ret = 0;
    sqlite3_reset(json_check_stmt);
    sqlite3_clear_bindings(json_check_stmt);
    pthread_mutex_unlock(&json_check_lock);
    return ret;
}

int
json_check_finite(struct json_object *obj)
{
    switch (json_object_get_type(obj)) {
    case json_type_double:
        return isfinite(json_object_get_double(obj)) ? 0 : -1;
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(obj); i++) {
            if (json_check_finite(json_object_array_get_idx(obj, i)) != 0)
                return -1;
        }
        return 0;
    case json_type_object: {
        json_object_object_foreach(obj, key, value)
        {
            (void)key;
            if (json_check_finite(value) != 0)
                return -1;
        }
        return 0;
    }
    default:
        return 0;
    }
}

void
json_check_cleanup(void)
{
    pthread_mutex_lock(&json_check_lock);
    sqlite3_finalize(json_check_stmt);
    sqlite3_close(json_check_db);
    json_check_stmt = NULL;
    json_check_db = NULL;
    pthread_mutex_unlock(&json_check_lock);
}
