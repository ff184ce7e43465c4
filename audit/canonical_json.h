/*
 * Canonical JSON, the byte form the audit log hashes.  It is Matrix's
 * canonical JSON (the same as Python's json.dumps(v, ensure_ascii=False,
 * separators=(",", ":"), sort_keys=True) for the values it accepts), so
 * that anyone can recompute an entry's hash with a standard library:
 *
 *   - no whitespace outside strings;
 *   - object members sorted by key, comparing the keys' UTF-8 bytes (the
 *     same order as comparing code points); keys are unique;
 *   - integers only, written in decimal without leading zeros or "+",
 *     within [-(2^53 - 1), 2^53 - 1], so every JSON implementation reads
 *     them exactly; a number with a fraction or exponent is refused;
 *   - strings are UTF-8, written as themselves except: '"' as \", '\' as
 *     \\, U+0008 \b, U+0009 \t, U+000A \n, U+000C \f, U+000D \r, and the
 *     other characters below U+0020 as \u00XX with lower-case hex digits;
 *     nothing else is escaped (not '/', not U+007F, not non-ASCII);
 *   - true, false and null as such.
 */
#ifndef WARROOM_CANONICAL_JSON_H
#define WARROOM_CANONICAL_JSON_H

#include <json-c/json.h>
#include <stddef.h>

/* The largest integer canonical JSON holds: 2^53 - 1. */
#define CANONICAL_JSON_MAX_INT 9007199254740991LL

/* canonical_json_encode() flags */
/* Replace each byte that is not part of valid UTF-8 with U+FFFD instead of
 * failing: for text that comes from other people (command arguments),
 * which must be recorded even when malformed. */
#define CANONICAL_JSON_LOSSY 0x1

/*
 * Encodes v (NULL is JSON null).  Returns allocated (free with free()),
 * NUL-terminated, with *len (may be NULL) set to its length; or NULL with
 * *cause (allocated) naming what cannot be encoded: a number with a
 * fraction, an integer out of range, or invalid UTF-8 without
 * CANONICAL_JSON_LOSSY.
 */
char *canonical_json_encode(struct json_object *v, unsigned flags, size_t *len, char **cause);

#endif
