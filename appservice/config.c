/*
 * The configuration file; see config.h.
 *
 * libyaml loads the file into a document whose nodes carry their marks
 * (line, column, character index).  A key table (config_table.c for the
 * core, one per bridge) is applied to a mapping of that document in two
 * passes: the first walks the mapping and reports every key no table
 * entry names (with the closest known name), duplicate keys and
 * intermediate keys that are not mappings; the second looks every table
 * key up, checks its value and stores it at its offset in the target
 * struct, or stores the default.  Problems are collected rather than
 * stopped at, so an operator sees them all at once, each as
 * "file:line: what is wrong", in file order.
 *
 * config_write_scalars() edits the file as text, using the marks of the
 * parsed document to find where a value starts and ends, so that the
 * operator's comments and layout survive `warroom -g`.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>
#include <yaml.h>

#include "atomic_file.h"
#include "config.h"
#include "xmalloc.h"
#include "yaml_tree.h"

/* ------------------------------------------------------------------ */
/* Error lists                                                          */
/* ------------------------------------------------------------------ */

/* Appends one finished line to errs. */
static void
config_errors_push(struct config_errors *errs, char *line)
{
    errs->lines = xreallocarray(errs->lines, errs->n + 1, sizeof(*errs->lines));
    errs->lines[errs->n++] = line;
}

void
config_errors_add(struct config_errors *errs, const char *file, size_t line, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    msg = xvasprintf(fmt, ap);
    va_end(ap);
    config_errors_push(errs, xasprintf("%s:%zu: %s", file, line, msg));
    free(msg);
}

/* Like config_errors_add() for a problem with the file as a whole (it
 * cannot be read or written), which has no line. */
static void __attribute__((format(printf, 3, 4)))
config_errors_add_file(struct config_errors *errs, const char *file, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    msg = xvasprintf(fmt, ap);
    va_end(ap);
    config_errors_push(errs, xasprintf("%s: %s", file, msg));
    free(msg);
}

void
config_errors_free(struct config_errors *errs)
{
    if (errs == NULL)
        return;
    for (size_t i = 0; i < errs->n; i++)
        free(errs->lines[i]);
    free(errs->lines);
    errs->lines = NULL;
    errs->n = 0;
}

/* One problem found while applying a table, kept until they are sorted
 * into file order (seq keeps the order of problems on one line). */
struct config_problem {
    size_t line;
    size_t seq;
    char *text;
};

struct config_problems {
    struct config_problem *v;
    size_t n;
};

/* Records a problem at line. */
static void __attribute__((format(printf, 3, 4)))
config_problem(struct config_problems *p, size_t line, const char *fmt, ...)
{
    va_list ap;

    p->v = xreallocarray(p->v, p->n + 1, sizeof(*p->v));
    va_start(ap, fmt);
    p->v[p->n].text = xvasprintf(fmt, ap);
    va_end(ap);
    p->v[p->n].line = line;
    p->v[p->n].seq = p->n;
    p->n++;
}

/* qsort comparator: by line, then in the order found. */
static int
config_problem_cmp(const void *a, const void *b)
{
    const struct config_problem *x = a, *y = b;

    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Moves the problems, sorted, into errs and empties p. */
static void
config_problems_flush(struct config_problems *p, const char *file, struct config_errors *errs)
{
    if (p->n > 0)
        qsort(p->v, p->n, sizeof(*p->v), config_problem_cmp);
    for (size_t i = 0; i < p->n; i++) {
        config_errors_add(errs, file, p->v[i].line, "%s", p->v[i].text);
        free(p->v[i].text);
    }
    free(p->v);
    p->v = NULL;
    p->n = 0;
}

/* ------------------------------------------------------------------ */
/* Value parsers                                                        */
/* ------------------------------------------------------------------ */

int
config_parse_bool(const char *text, int *out, char **cause)
{
    static const char *const yes[] = {"true", "yes", "on", NULL};
    static const char *const no[] = {"false", "no", "off", NULL};

    for (size_t i = 0; yes[i] != NULL; i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    *cause = xasprintf("expected true or false, got '%s'", text);
    return -1;
}

/* A unit of a size or a duration: its name and what it multiplies by. */
struct config_unit {
    const char *name;
    uint64_t mult;
};

#define CONFIG_KIB UINT64_C(1024)
#define CONFIG_MIB (CONFIG_KIB * 1024)
#define CONFIG_GIB (CONFIG_MIB * 1024)
#define CONFIG_TIB (CONFIG_GIB * 1024)

static const struct config_unit config_size_units[] = {
    {"B", 1},
    {"K", CONFIG_KIB},
    {"KiB", CONFIG_KIB},
    {"KB", 1000},
    {"M", CONFIG_MIB},
    {"MiB", CONFIG_MIB},
    {"MB", 1000 * 1000},
    {"G", CONFIG_GIB},
    {"GiB", CONFIG_GIB},
    {"GB", 1000 * 1000 * 1000},
    {"T", CONFIG_TIB},
    {"TiB", CONFIG_TIB},
    {"TB", UINT64_C(1000) * 1000 * 1000 * 1000},
    {NULL, 0},
};

static const struct config_unit config_duration_units[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {"h", 60 * 60 * 1000}, {"d", 24 * 60 * 60 * 1000}, {NULL, 0},
};

/*
 * Parses a number with an optional unit ("16MiB", "1500"), or with
 * several (a duration such as "1h30m") when multi is set.  A bare number
 * is in the smallest unit (bytes, milliseconds) and only allowed alone.
 * Units are matched without regard to case.  Returns 0, or -1 for
 * anything else, including overflow.
 */
static int
config_parse_scaled(const char *text, const struct config_unit *units, int multi, uint64_t *out)
{
    const char *p = text;
    uint64_t total = 0;
    int parts = 0;

    while (*p == ' ')
        p++;
    if (*p == '\0')
        return -1;
    while (*p != '\0') {
        uint64_t n = 0, mult = 0;
        size_t ulen = 0;

        if (!isdigit((unsigned char)*p))
            return -1;
        for (; isdigit((unsigned char)*p); p++) {
            if (n > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
                return -1;
            n = n * 10 + (uint64_t)(*p - '0');
        }
        while (*p == ' ')
            p++;
        while (isalpha((unsigned char)p[ulen]))
            ulen++;
        if (ulen == 0) {
            if (parts > 0 || *p != '\0')
                return -1;
            mult = 1;
        } else {
            for (const struct config_unit *u = units; u->name != NULL; u++) {
                if (strlen(u->name) == ulen && strncasecmp(p, u->name, ulen) == 0) {
                    mult = u->mult;
                    break;
                }
            }
            if (mult == 0)
                return -1;
            p += ulen;
        }
        if (mult != 0 && n > UINT64_MAX / mult)
            return -1;
        n *= mult;
        if (total > UINT64_MAX - n)
            return -1;
        total += n;
        parts++;
        while (*p == ' ')
            p++;
        if (!multi && *p != '\0')
            return -1;
    }
    *out = total;
    return 0;
}

int
config_parse_size(const char *text, uint64_t *out, char **cause)
{
    if (config_parse_scaled(text, config_size_units, 0, out) != 0) {
        *cause = xasprintf("expected a size like 1048576, 512KiB or 16MiB, got '%s'", text);
        return -1;
    }
    return 0;
}

int
config_parse_duration(const char *text, uint64_t *out, char **cause)
{
    if (config_parse_scaled(text, config_duration_units, 1, out) != 0) {
        *cause = xasprintf("expected a duration like 250ms, 30s, 5m, 1h or 7d, got '%s'", text);
        return -1;
    }
    return 0;
}

int
config_parse_level(const char *text, enum perm_level *out, char **cause)
{
    static const struct {
        const char *name;
        enum perm_level level;
    } levels[] = {{"none", PERM_NONE}, {"guest", PERM_GUEST}, {"analyst", PERM_ANALYST}, {"admin", PERM_ADMIN}};

    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        if (strcasecmp(text, levels[i].name) == 0) {
            *out = levels[i].level;
            return 0;
        }
    }
    *cause = xasprintf("'%s' is not one of none, guest, analyst, admin", text);
    return -1;
}

/* Parses a decimal integer that fits in a long. */
static int
config_parse_int(const char *text, long *out)
{
    char *end;
    long long v;

    if (*text == '\0' || isspace((unsigned char)*text))
        return -1;
    errno = 0;
    v = strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0' || v < LONG_MIN || v > LONG_MAX)
        return -1;
    *out = (long)v;
    return 0;
}

/*
 * Checks an http:// or https:// URL with libcurl's URL parser: a host, no
 * query and no fragment (warroom appends API paths to it), no spaces.
 * Returns 0 and sets *norm (allocated, free with free()) to the text
 * without trailing slashes, or -1.
 */
static int
config_parse_url(const char *text, char **norm)
{
    CURLU *u = NULL;
    char *host = NULL, *query = NULL, *fragment = NULL;
    size_t len;
    int rc = -1;

    if (strncasecmp(text, "http://", 7) != 0 && strncasecmp(text, "https://", 8) != 0)
        goto out;
    for (const char *p = text; *p != '\0'; p++) {
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            goto out;
    }
    u = curl_url();
    if (u == NULL || curl_url_set(u, CURLUPART_URL, text, 0) != CURLUE_OK)
        goto out;
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || *host == '\0')
        goto out;
    if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_FRAGMENT, &fragment, 0) == CURLUE_OK)
        goto out;
    len = strlen(text);
    while (len > 0 && text[len - 1] == '/')
        len--;
    *norm = xstrndup(text, len);
    rc = 0;
out:
    curl_free(host);
    curl_free(query);
    curl_free(fragment);
    curl_url_cleanup(u);
    return rc;
}

/* True if s is a permission subject: "*", a full user ID or a server
 * name.  A localpart may hold any printable ASCII but ':' (historical user
 * IDs on old servers did). */
static int
config_valid_subject(const char *s)
{
    const char *colon;

    if (strcmp(s, "*") == 0)
        return 1;
    if (*s != '@')
        return config_check_server_name(s) == NULL;
    colon = strchr(s, ':');
    if (colon == NULL || colon == s + 1)
        return 0;
    for (const char *p = s + 1; p < colon; p++) {
        if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
            return 0;
    }
    return config_check_server_name(colon + 1) == NULL;
}

/* The bounds of a size, in the largest binary unit that is exact. */
static char *
config_format_size(uint64_t v)
{
    static const struct config_unit units[] = {
        {"TiB", CONFIG_TIB}, {"GiB", CONFIG_GIB}, {"MiB", CONFIG_MIB}, {"KiB", CONFIG_KIB}, {NULL, 0}};

    for (size_t i = 0; v > 0 && units[i].name != NULL; i++) {
        if (v % units[i].mult == 0)
            return xasprintf("%" PRIu64 "%s", v / units[i].mult, units[i].name);
    }
    return xasprintf("%" PRIu64, v);
}

/* The bounds of a duration, in the largest unit that is exact. */
static char *
config_format_duration(uint64_t ms)
{
    static const struct config_unit units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {NULL, 0}};

    if (ms == 0)
        return xstrdup("0s");
    for (size_t i = 0; units[i].name != NULL; i++) {
        if (ms % units[i].mult == 0)
            return xasprintf("%" PRIu64 "%s", ms / units[i].mult, units[i].name);
    }
    return xasprintf("%" PRIu64 "ms", ms);
}

/* ------------------------------------------------------------------ */
/* Target slots                                                         */
/* ------------------------------------------------------------------ */

/* Where key k's value lives in target. */
static void *
config_slot(void *target, const struct config_key *k)
{
    return (char *)target + k->offset;
}

/* Frees what is stored in k's slot and empties it. */
static void
config_free_slot(const struct config_key *k, void *target)
{
    void *slot = config_slot(target, k);

    switch (k->type) {
    case CONFIG_STRING:
    case CONFIG_URL:
        free(*(char **)slot);
        *(char **)slot = NULL;
        break;
    case CONFIG_SECRET:
        xfree_secret(*(char **)slot);
        *(char **)slot = NULL;
        break;
    case CONFIG_LEVELMAP: {
        struct config_level_map *m = slot;

        for (size_t i = 0; i < m->n; i++)
            free(m->rules[i].subject);
        free(m->rules);
        m->rules = NULL;
        m->n = 0;
        break;
    }
    case CONFIG_STRLIST:
        config_strlist_free(slot);
        break;
    default:
        /* Plain numbers own nothing; a subtree has no slot at all. */
        break;
    }
}

void
config_free_target(const struct config_key *keys, void *target)
{
    if (target == NULL)
        return;
    for (const struct config_key *k = keys; k->name != NULL; k++)
        config_free_slot(k, target);
}

void
config_strlist_free(struct config_strlist *list)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < list->n; i++)
        free(list->items[i]);
    free(list->items);
    list->items = NULL;
    list->n = 0;
}

/* ------------------------------------------------------------------ */
/* Applying a key table                                                 */
/* ------------------------------------------------------------------ */

struct config_apply_ctx {
    yaml_document_t *doc;
    const char *root; /* the table's root path, "" for the document */
    const struct config_key *keys;
    struct config_problems problems;
};

/* "root.rel", or either alone when the other is empty.  Returns
 * allocated, free with free(). */
static char *
config_join(const char *root, const char *rel)
{
    if (*root == '\0')
        return xstrdup(rel);
    if (*rel == '\0')
        return xstrdup(root);
    return xasprintf("%s.%s", root, rel);
}

/* What a value in a message is called: the value in quotes, or for a
 * secret only that it is one, since errors are printed and logged.
 * Returns allocated, free with free(). */
static char *
config_show(const struct config_key *k, const char *text)
{
    if (k->type == CONFIG_SECRET)
        return xstrdup("the secret value");
    return xasprintf("'%s'", text);
}

/* "debug, info, warn, error". Returns allocated, free with free(). */
static char *
config_choices(const struct config_key *k)
{
    char *list = xstrdup(""), *next;

    for (size_t i = 0; k->choices[i] != NULL; i++) {
        next = xasprintf("%s%s%s", list, i > 0 ? ", " : "", k->choices[i]);
        free(list);
        list = next;
    }
    return list;
}

/* What a key of k's type expects, for "expected X, got a mapping".
 * Returns allocated, free with free(). */
static char *
config_expected(const struct config_key *k)
{
    char *choices, *s;

    switch (k->type) {
    case CONFIG_URL:
        return xstrdup("an http:// or https:// URL");
    case CONFIG_BOOL:
        return xstrdup("true or false");
    case CONFIG_INT:
        return xstrdup("an integer");
    case CONFIG_SIZE:
        return xstrdup("a size");
    case CONFIG_DURATION:
        return xstrdup("a duration");
    case CONFIG_ENUM:
        choices = config_choices(k);
        s = xasprintf("one of %s", choices);
        free(choices);
        return s;
    case CONFIG_LEVELMAP:
        return xstrdup("a mapping of subjects to levels");
    case CONFIG_STRLIST:
        return xstrdup("a list of strings");
    case CONFIG_SUBTREE:
        return xstrdup("a mapping");
    default:
        return xstrdup("a string");
    }
}

/* True if v is within k's bounds (both 0: unbounded). */
static int
config_in_range(const struct config_key *k, int64_t v)
{
    return (k->min == 0 && k->max == 0) || (v >= k->min && v <= k->max);
}

/* Reports an unsigned value (size, duration) out of k's bounds. */
static int
config_check_range_u64(struct config_apply_ctx *c, const struct config_key *k, const char *full, const char *shown,
                       uint64_t v, size_t line)
{
    char *lo, *hi;

    if (v <= INT64_MAX && config_in_range(k, (int64_t)v))
        return 0;
    if (k->type == CONFIG_SIZE) {
        lo = config_format_size((uint64_t)k->min);
        hi = config_format_size((uint64_t)k->max);
    } else {
        lo = config_format_duration((uint64_t)k->min);
        hi = config_format_duration((uint64_t)k->max);
    }
    config_problem(&c->problems, line, "%s: %s is out of range (%s..%s)", full, shown, lo, hi);
    free(lo);
    free(hi);
    return -1;
}

/* Checks and stores the text of a scalar-typed key. */
static void
config_store_scalar(struct config_apply_ctx *c, const struct config_key *k, const char *full, const char *text,
                    size_t line, void *target)
{
    void *slot = config_slot(target, k);
    char *shown = config_show(k, text), *cause = NULL, *norm = NULL, *choices;
    const char *reason;
    uint64_t u;
    long l;
    int b;

    switch (k->type) {
    case CONFIG_STRING:
    case CONFIG_SECRET:
        if (k->check != NULL && (reason = k->check(text)) != NULL) {
            config_problem(&c->problems, line, "%s: %s %s", full, shown, reason);
            break;
        }
        config_free_slot(k, target);
        *(char **)slot = xstrdup(text);
        break;
    case CONFIG_URL:
        if (config_parse_url(text, &norm) != 0) {
            config_problem(&c->problems, line, "%s: %s is not an http:// or https:// URL", full, shown);
            break;
        }
        if (k->check != NULL && (reason = k->check(norm)) != NULL) {
            config_problem(&c->problems, line, "%s: %s %s", full, shown, reason);
            free(norm);
            break;
        }
        config_free_slot(k, target);
        *(char **)slot = norm;
        break;
    case CONFIG_BOOL:
        if (config_parse_bool(text, &b, &cause) != 0)
            config_problem(&c->problems, line, "%s: %s", full, cause);
        else
            *(int *)slot = b;
        break;
    case CONFIG_INT:
        if (config_parse_int(text, &l) != 0)
            config_problem(&c->problems, line, "%s: expected an integer, got %s", full, shown);
        else if (!config_in_range(k, l))
            config_problem(&c->problems, line, "%s: %s is out of range (%" PRId64 "..%" PRId64 ")", full, shown, k->min,
                           k->max);
        else
            *(long *)slot = l;
        break;
    case CONFIG_SIZE:
    case CONFIG_DURATION:
        if ((k->type == CONFIG_SIZE ? config_parse_size(text, &u, &cause) : config_parse_duration(text, &u, &cause)) !=
            0)
            config_problem(&c->problems, line, "%s: %s", full, cause);
        else if (config_check_range_u64(c, k, full, shown, u, line) == 0)
            *(uint64_t *)slot = u;
        break;
    case CONFIG_ENUM:
        for (size_t i = 0; k->choices[i] != NULL; i++) {
            if (strcasecmp(text, k->choices[i]) == 0) {
                *(int *)slot = (int)i;
                goto out;
            }
        }
        choices = config_choices(k);
        config_problem(&c->problems, line, "%s: %s is not one of %s", full, shown, choices);
        free(choices);
        break;
    default:
        config_problem(&c->problems, line, "%s: internal error: not a scalar type", full);
        break;
    }
out:
    free(cause);
    free(shown);
}

/* The key node of an earlier pair of map with the same key as pair, or
 * NULL: libyaml keeps duplicate keys, YAML forbids them. */
static yaml_node_t *
config_earlier_key(yaml_document_t *doc, yaml_node_t *map, yaml_node_pair_t *pair)
{
    const char *key = yaml_tree_scalar(yaml_document_get_node(doc, pair->key));

    if (key == NULL)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < pair; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        const char *s = yaml_tree_scalar(k);

        if (s != NULL && strcmp(s, key) == 0)
            return k;
    }
    return NULL;
}

/* Stores a mapping of permission subjects to levels. */
static void
config_store_levelmap(struct config_apply_ctx *c, yaml_document_t *doc, const struct config_key *k, const char *full,
                      yaml_node_t *node, void *target)
{
    struct config_level_map map = {0};
    char *cause = NULL;

    if (node != NULL && node->type != YAML_MAPPING_NODE) {
        config_problem(&c->problems, yaml_tree_line(node), "%s: expected a mapping of subjects to levels, got %s", full,
                       yaml_tree_kind(node));
        return;
    }
    for (yaml_node_pair_t *p = node != NULL ? node->data.mapping.pairs.start : NULL;
         node != NULL && p < node->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(doc, p->key), *vn = yaml_document_get_node(doc, p->value), *first;
        const char *subject = yaml_tree_scalar(kn), *text = yaml_tree_scalar(vn);
        enum perm_level level;

        if (subject == NULL) {
            config_problem(&c->problems, yaml_tree_line(kn), "%s: a subject must be a string", full);
            continue;
        }
        if ((first = config_earlier_key(doc, node, p)) != NULL) {
            config_problem(&c->problems, yaml_tree_line(kn), "%s: duplicate subject '%s' (first at line %zu)", full,
                           subject, yaml_tree_line(first));
            continue;
        }
        if (!config_valid_subject(subject)) {
            config_problem(&c->problems, yaml_tree_line(kn),
                           "%s: '%s' is not a user ID (@user:server), a server name or '*'", full, subject);
            continue;
        }
        if (yaml_tree_is_null(vn)) {
            config_problem(&c->problems, yaml_tree_line(kn), "%s: no level given for '%s'", full, subject);
            continue;
        }
        if (text == NULL) {
            config_problem(&c->problems, yaml_tree_line(vn), "%s: expected a level for '%s', got %s", full, subject,
                           yaml_tree_kind(vn));
            continue;
        }
        if (config_parse_level(text, &level, &cause) != 0) {
            config_problem(&c->problems, yaml_tree_line(vn), "%s: %s (for '%s')", full, cause, subject);
            free(cause);
            cause = NULL;
            continue;
        }
        map.rules = xreallocarray(map.rules, map.n + 1, sizeof(*map.rules));
        map.rules[map.n].subject = xstrdup(subject);
        map.rules[map.n].level = level;
        map.rules[map.n].line = yaml_tree_line(kn);
        map.n++;
    }
    config_free_slot(k, target);
    *(struct config_level_map *)config_slot(target, k) = map;
}

/* Stores a sequence of strings, or one string as a list of one. */
static void
config_store_strlist(struct config_apply_ctx *c, yaml_document_t *doc, const struct config_key *k, const char *full,
                     yaml_node_t *node, void *target)
{
    struct config_strlist list = {0};
    size_t i = 0;

    if (node != NULL && node->type == YAML_MAPPING_NODE) {
        config_problem(&c->problems, yaml_tree_line(node), "%s: expected a list of strings, got a mapping", full);
        return;
    }
    if (node != NULL && node->type == YAML_SCALAR_NODE) {
        list.items = xmalloc(sizeof(*list.items));
        list.items[list.n++] = xstrdup(yaml_tree_scalar(node));
    }
    for (yaml_node_item_t *it = node != NULL && node->type == YAML_SEQUENCE_NODE ? node->data.sequence.items.start
                                                                                 : NULL;
         it != NULL && it < node->data.sequence.items.top; it++) {
        yaml_node_t *in = yaml_document_get_node(doc, *it);

        i++;
        if (yaml_tree_scalar(in) == NULL || yaml_tree_is_null(in)) {
            config_problem(&c->problems, yaml_tree_line(in), "%s: item %zu: expected a string, got %s", full, i,
                           yaml_tree_kind(in));
            continue;
        }
        list.items = xreallocarray(list.items, list.n + 1, sizeof(*list.items));
        list.items[list.n++] = xstrdup(yaml_tree_scalar(in));
    }
    config_free_slot(k, target);
    *(struct config_strlist *)config_slot(target, k) = list;
}

/* Checks a subtree: a mapping (or nothing) with string keys, each once. */
static void
config_check_subtree(struct config_apply_ctx *c, yaml_document_t *doc, const char *full, yaml_node_t *node)
{
    if (node->type != YAML_MAPPING_NODE) {
        config_problem(&c->problems, yaml_tree_line(node), "%s: expected a mapping, got %s", full,
                       yaml_tree_kind(node));
        return;
    }
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(doc, p->key), *first;

        if (yaml_tree_scalar(kn) == NULL)
            config_problem(&c->problems, yaml_tree_line(kn), "%s: keys must be strings", full);
        else if ((first = config_earlier_key(doc, node, p)) != NULL)
            config_problem(&c->problems, yaml_tree_line(kn), "duplicate key '%s.%s' (first at line %zu)", full,
                           yaml_tree_scalar(kn), yaml_tree_line(first));
    }
}

/* Stores k's default (a programming error in the table if it is not
 * valid, which the unit tests check for every table). */
static void
config_store_default(struct config_apply_ctx *c, const struct config_key *k, const char *full, void *target)
{
    yaml_document_t doc;
    size_t line;
    char *cause = NULL;

    switch (k->type) {
    case CONFIG_SUBTREE:
        break;
    case CONFIG_LEVELMAP:
    case CONFIG_STRLIST:
        /* These defaults are written in YAML ("{}", "[a, b]"), and go
         * through the same code as a value from the file. */
        if (yaml_tree_parse(k->default_value, strlen(k->default_value), &doc, &line, &cause) != 0) {
            config_problem(&c->problems, 0, "%s: internal error: bad default: %s", full, cause);
            free(cause);
            break;
        }
        if (k->type == CONFIG_LEVELMAP)
            config_store_levelmap(c, &doc, k, full, yaml_document_get_root_node(&doc), target);
        else
            config_store_strlist(c, &doc, k, full, yaml_document_get_root_node(&doc), target);
        yaml_tree_free(&doc);
        break;
    default:
        config_store_scalar(c, k, full, k->default_value, 0, target);
        break;
    }
}

enum config_found {
    CONFIG_FOUND,   /* *val and *key are the node and its key */
    CONFIG_ABSENT,  /* *anc_line is the line of the nearest ancestor present */
    CONFIG_BLOCKED, /* an ancestor is neither a mapping nor null: *val is it */
};

/*
 * Looks the dotted path up under from (NULL when the table's root is
 * absent), whose own line is from_line.  A null ancestor counts as an
 * empty mapping.
 */
static enum config_found
config_find(yaml_document_t *doc, yaml_node_t *from, size_t from_line, const char *path, yaml_node_t **val,
            yaml_node_t **key, size_t *anc_line)
{
    yaml_node_t *node = from, *kn = NULL;
    const char *seg = path, *dot;

    *val = NULL;
    *key = NULL;
    *anc_line = from_line;
    for (;;) {
        if (node == NULL || yaml_tree_is_null(node))
            return CONFIG_ABSENT;
        if (node->type != YAML_MAPPING_NODE) {
            *val = node;
            return CONFIG_BLOCKED;
        }
        dot = strchr(seg, '.');
        node = yaml_tree_get(doc, node, seg, dot != NULL ? (size_t)(dot - seg) : strlen(seg), &kn);
        if (node == NULL)
            return CONFIG_ABSENT;
        if (dot == NULL) {
            *val = node;
            *key = kn;
            return CONFIG_FOUND;
        }
        *anc_line = yaml_tree_line(kn);
        seg = dot + 1;
    }
}

/* Edit distance with transpositions (optimal string alignment), for
 * "did you mean": "prot" is one step from "port". */
static size_t
config_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), *d, r;

    d = xcalloc((la + 1) * (lb + 1), sizeof(*d));
#define D(i, j) d[(i) * (lb + 1) + (j)]
    for (size_t i = 0; i <= la; i++)
        D(i, 0) = i;
    for (size_t j = 0; j <= lb; j++)
        D(0, j) = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1, best = D(i - 1, j) + 1;

            if (D(i, j - 1) + 1 < best)
                best = D(i, j - 1) + 1;
            if (D(i - 1, j - 1) + cost < best)
                best = D(i - 1, j - 1) + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && D(i - 2, j - 2) + 1 < best)
                best = D(i - 2, j - 2) + 1;
            D(i, j) = best;
        }
    }
    r = D(la, lb);
#undef D
    free(d);
    return r;
}

/* The known name closest to the unknown full name, if within two edits:
 * every key and every mapping above one ("appservice.bot") is a
 * candidate, and the first in table order wins a tie.  Returns allocated
 * (free with free()) or NULL. */
static char *
config_suggest(const struct config_apply_ctx *c, const char *full)
{
    char *best = NULL;
    size_t best_d = 3;

    for (const struct config_key *k = c->keys; k->name != NULL; k++) {
        for (const char *end = k->name;; end++) {
            if (*end == '.' || *end == '\0') {
                char *rel = xstrndup(k->name, (size_t)(end - k->name)), *cand = config_join(c->root, rel);
                size_t d = config_distance(full, cand);

                if (d < best_d) {
                    free(best);
                    best = cand;
                    best_d = d;
                } else {
                    free(cand);
                }
                free(rel);
            }
            if (*end == '\0')
                break;
        }
    }
    return best;
}

enum config_name_kind {
    CONFIG_NAME_UNKNOWN,
    CONFIG_NAME_KEY,    /* a key of the table */
    CONFIG_NAME_PREFIX, /* a mapping some keys of the table are under */
};

/* What the relative name rel is to the table. */
static enum config_name_kind
config_classify(const struct config_key *keys, const char *rel)
{
    size_t len = strlen(rel);
    enum config_name_kind kind = CONFIG_NAME_UNKNOWN;

    for (const struct config_key *k = keys; k->name != NULL; k++) {
        if (strcmp(k->name, rel) == 0)
            return CONFIG_NAME_KEY;
        if (strncmp(k->name, rel, len) == 0 && k->name[len] == '.')
            kind = CONFIG_NAME_PREFIX;
    }
    return kind;
}

/*
 * The first pass: every key of map (at relative path rel) must be a
 * table key or lead to one, and appear once.  Descends only into
 * mappings the table has keys under, so its depth is bounded by the
 * table even if aliases make the document cyclic.
 */
static void
config_walk(struct config_apply_ctx *c, yaml_node_t *map, const char *rel)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(c->doc, p->key), *vn = yaml_document_get_node(c->doc, p->value);
        yaml_node_t *first;
        const char *key = yaml_tree_scalar(kn);
        char *name, *full, *suggestion;

        if (key == NULL) {
            full = config_join(c->root, rel);
            config_problem(&c->problems, yaml_tree_line(kn), "%s: keys must be strings",
                           *full != '\0' ? full : "the top level");
            free(full);
            continue;
        }
        name = *rel != '\0' ? xasprintf("%s.%s", rel, key) : xstrdup(key);
        full = config_join(c->root, name);
        if ((first = config_earlier_key(c->doc, map, p)) != NULL) {
            config_problem(&c->problems, yaml_tree_line(kn), "duplicate key '%s' (first at line %zu)", full,
                           yaml_tree_line(first));
        } else if (strchr(key, '.') != NULL) {
            /* "appservice.port: 1" at the top level is not what the
             * table's dotted names mean: they are nested mappings. */
            config_problem(&c->problems, yaml_tree_line(kn),
                           "unknown key '%s' (write nested mappings, not dotted keys)", full);
        } else {
            switch (config_classify(c->keys, name)) {
            case CONFIG_NAME_KEY:
                break; /* its value is checked by the second pass */
            case CONFIG_NAME_PREFIX:
                if (vn->type == YAML_MAPPING_NODE)
                    config_walk(c, vn, name);
                else if (!yaml_tree_is_null(vn))
                    config_problem(&c->problems, yaml_tree_line(vn), "%s: expected a mapping, got %s", full,
                                   yaml_tree_kind(vn));
                break;
            default:
                suggestion = config_suggest(c, full);
                if (suggestion != NULL)
                    config_problem(&c->problems, yaml_tree_line(kn), "unknown key '%s' (did you mean '%s'?)", full,
                                   suggestion);
                else
                    config_problem(&c->problems, yaml_tree_line(kn), "unknown key '%s'", full);
                free(suggestion);
                break;
            }
        }
        free(name);
        free(full);
    }
}

/* The second pass for one key: check and store its value, or its
 * default, or report that a required key is missing. */
static void
config_apply_key(struct config_apply_ctx *c, yaml_node_t *root, size_t root_line, const struct config_key *k,
                 void *target)
{
    yaml_node_t *val, *key;
    size_t anc_line;
    char *full = config_join(c->root, k->name), *expected;
    enum config_found found = config_find(c->doc, root, root_line, k->name, &val, &key, &anc_line);

    if (found == CONFIG_FOUND && !yaml_tree_is_null(val)) {
        switch (k->type) {
        case CONFIG_LEVELMAP:
            config_store_levelmap(c, c->doc, k, full, val, target);
            break;
        case CONFIG_STRLIST:
            config_store_strlist(c, c->doc, k, full, val, target);
            break;
        case CONFIG_SUBTREE:
            config_check_subtree(c, c->doc, full, val);
            break;
        default:
            if (val->type != YAML_SCALAR_NODE) {
                expected = config_expected(k);
                config_problem(&c->problems, yaml_tree_line(val), "%s: expected %s, got %s", full, expected,
                               yaml_tree_kind(val));
                free(expected);
            } else {
                config_store_scalar(c, k, full, yaml_tree_scalar(val), yaml_tree_line(val), target);
            }
            break;
        }
    } else if (k->default_value != NULL) {
        config_store_default(c, k, full, target);
    } else if (found == CONFIG_BLOCKED || (k->flags & CONFIG_OPTIONAL)) {
        /* A blocked key was reported with its non-mapping ancestor. */
        config_free_slot(k, target);
    } else if (found == CONFIG_FOUND) {
        config_problem(&c->problems, yaml_tree_line(key), "%s: a value is required (%s)", full, k->help);
    } else {
        config_problem(&c->problems, anc_line, "missing required key '%s' (%s)", full, k->help);
    }
    free(full);
}

int
config_apply(const struct config *cfg, const char *root_path, const struct config_key *keys, void *target,
             struct config_errors *errs)
{
    struct config_apply_ctx c = {.doc = cfg->doc, .root = root_path, .keys = keys};
    yaml_node_t *root = yaml_document_get_root_node(cfg->doc), *val, *key;
    size_t root_line = 1, n;

    if (*root_path != '\0') {
        switch (config_find(c.doc, root, 1, root_path, &val, &key, &root_line)) {
        case CONFIG_FOUND:
            root_line = yaml_tree_line(key);
            root = val;
            break;
        case CONFIG_ABSENT:
            root = NULL;
            break;
        case CONFIG_BLOCKED:
            root = val;
            break;
        }
    }
    if (root != NULL && yaml_tree_is_null(root)) {
        root = NULL;
    } else if (root != NULL && root->type != YAML_MAPPING_NODE) {
        if (*root_path != '\0')
            config_problem(&c.problems, yaml_tree_line(root), "%s: expected a mapping, got %s", root_path,
                           yaml_tree_kind(root));
        else
            config_problem(&c.problems, yaml_tree_line(root), "expected a mapping of settings, got %s",
                           yaml_tree_kind(root));
        root = NULL;
        goto out;
    }
    if (root != NULL)
        config_walk(&c, root, "");
    for (const struct config_key *k = keys; k->name != NULL; k++)
        config_apply_key(&c, root, root_line, k, target);
out:
    n = c.problems.n;
    config_problems_flush(&c.problems, cfg->path, errs);
    return n == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* Loading                                                              */
/* ------------------------------------------------------------------ */

int
config_load(const char *path, struct config **out, struct config_errors *errs)
{
    struct config *cfg = NULL;
    char *text = NULL, *cause = NULL;
    size_t len = 0, line;
    int rc = -1;

    *out = NULL;
    if (yaml_tree_read_file(path, &text, &len, &cause) != 0) {
        config_errors_add_file(errs, path, "%s", cause);
        goto out;
    }
    cfg = xcalloc(1, sizeof(*cfg));
    cfg->path = xstrdup(path);
    cfg->doc = xcalloc(1, sizeof(*cfg->doc));
    if (yaml_tree_parse(text, len, cfg->doc, &line, &cause) != 0) {
        config_errors_add(errs, path, line, "%s", cause);
        goto out;
    }
    if (config_apply(cfg, "", config_core_keys, cfg, errs) != 0)
        goto out;
    *out = cfg;
    cfg = NULL;
    rc = 0;
out:
    free(cause);
    yaml_tree_free_text(text, len);
    config_free(cfg);
    return rc;
}

int
config_check_runnable(const struct config *cfg, struct config_errors *errs)
{
    static const char *const names[] = {"appservice.as_token", "appservice.hs_token"};
    const char *values[] = {cfg->appservice.as_token, cfg->appservice.hs_token};
    size_t line;
    int rc = 0;

    for (size_t i = 0; i < 2; i++) {
        if (values[i] != NULL && *values[i] != '\0')
            continue;
        line = config_line(cfg, names[i]);
        if (line == 0)
            line = config_line(cfg, "appservice");
        config_errors_add(errs, cfg->path, line != 0 ? line : 1,
                          "%s is not set: run warroom -g to generate the tokens and the registration file", names[i]);
        rc = -1;
    }
    if (rc == 0 && strcmp(values[0], values[1]) == 0) {
        /* With one token for both directions, whoever can call warroom
         * could also act as every bot on the homeserver. */
        config_errors_add(errs, cfg->path, config_line(cfg, names[1]),
                          "appservice.as_token and appservice.hs_token must differ");
        rc = -1;
    }
    return rc;
}

struct config_strlist
config_children(const struct config *cfg, const char *root_path)
{
    struct config_strlist list = {0};
    yaml_node_t *node = yaml_tree_path(cfg->doc, yaml_document_get_root_node(cfg->doc), root_path, NULL);

    if (node == NULL || node->type != YAML_MAPPING_NODE)
        return list;
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(cfg->doc, p->key), *vn = yaml_document_get_node(cfg->doc, p->value);
        const char *name = yaml_tree_scalar(kn);
        int seen = 0;

        /* "dns:" with nothing under it enables a bridge with defaults. */
        if (name == NULL || (vn->type != YAML_MAPPING_NODE && !yaml_tree_is_null(vn)))
            continue;
        for (size_t i = 0; i < list.n; i++)
            seen |= strcmp(list.items[i], name) == 0;
        if (seen)
            continue;
        list.items = xreallocarray(list.items, list.n + 1, sizeof(*list.items));
        list.items[list.n++] = xstrdup(name);
    }
    return list;
}

size_t
config_line(const struct config *cfg, const char *path)
{
    yaml_node_t *key;

    if (cfg == NULL || cfg->doc == NULL || *path == '\0')
        return 0;
    if (yaml_tree_path(cfg->doc, yaml_document_get_root_node(cfg->doc), path, &key) == NULL)
        return 0;
    return yaml_tree_line(key);
}

void
config_free(struct config *cfg)
{
    if (cfg == NULL)
        return;
    config_free_target(config_core_keys, cfg);
    free(cfg->path);
    if (cfg->doc != NULL) {
        yaml_tree_free(cfg->doc);
        free(cfg->doc);
    }
    free(cfg);
}

/* ------------------------------------------------------------------ */
/* Writing values back into the file                                    */
/* ------------------------------------------------------------------ */

/* The file being edited: its text and how it ends its lines. */
struct config_edit {
    const char *path;
    char *text;
    size_t len;
    const char *nl; /* "\r\n" if the file uses it, else "\n" */
    struct config_errors *errs;
};

/* value as a YAML double-quoted scalar.  Returns allocated, free with
 * xfree_secret() (it is usually a token). */
static char *
config_quote(const char *value)
{
    size_t n = 3;
    char *out, *o;

    for (const char *p = value; *p != '\0'; p++)
        n += 4;
    out = o = xmalloc(n);
    *o++ = '"';
    for (const unsigned char *p = (const unsigned char *)value; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            *o++ = '\\';
            *o++ = (char)*p;
        } else if (*p < 0x20 || *p == 0x7f) {
            o += snprintf(o, 5, "\\x%02x", *p);
        } else {
            *o++ = (char)*p;
        }
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

/* Replaces bytes [start, end) of the text with ins; the old text is
 * wiped, since it holds tokens. */
static void
config_splice(struct config_edit *e, size_t start, size_t end, const char *ins)
{
    size_t inslen = strlen(ins), newlen = e->len - (end - start) + inslen;
    char *text = xmalloc(newlen + 1);

    memcpy(text, e->text, start);
    memcpy(text + start, ins, inslen);
    memcpy(text + start + inslen, e->text + end, e->len - end);
    text[newlen] = '\0';
    yaml_tree_free_text(e->text, e->len);
    e->text = text;
    e->len = newlen;
}

/* The byte offset of a node's mark. */
static size_t
config_edit_offset(const struct config_edit *e, const yaml_mark_t *mark)
{
    return yaml_tree_byte_offset(e->text, e->len, mark->index);
}

/* The start of the line holding byte offset at. */
static size_t
config_line_start(const struct config_edit *e, size_t at)
{
    while (at > 0 && e->text[at - 1] != '\n')
        at--;
    return at;
}

/* The offset just after the line break ending the line holding at; a
 * missing final line break is added. */
static size_t
config_line_end(struct config_edit *e, size_t at)
{
    const char *nl = at < e->len ? memchr(e->text + at, '\n', e->len - at) : NULL;

    if (nl != NULL)
        return (size_t)(nl - e->text) + 1;
    config_splice(e, e->len, e->len, e->nl);
    return e->len;
}

/*
 * The character index of a point on the last line of the value node, so
 * that a line inserted after that line follows the whole entry.  floor is
 * where the node's key (or sequence) starts: a node starting before it is
 * an alias to an earlier anchor, whose marks say nothing about where this
 * entry ends; then *alias is set.
 */
static size_t
config_entry_end(yaml_document_t *doc, yaml_node_t *node, size_t floor, int *alias)
{
    if (node->start_mark.index < floor) {
        *alias = 1;
        return floor;
    }
    if (node->type == YAML_MAPPING_NODE && node->data.mapping.style == YAML_BLOCK_MAPPING_STYLE &&
        node->data.mapping.pairs.top > node->data.mapping.pairs.start) {
        yaml_node_pair_t *last = node->data.mapping.pairs.top - 1;
        yaml_node_t *k = yaml_document_get_node(doc, last->key);

        return config_entry_end(doc, yaml_document_get_node(doc, last->value), k->end_mark.index, alias);
    }
    if (node->type == YAML_SEQUENCE_NODE && node->data.sequence.style == YAML_BLOCK_SEQUENCE_STYLE &&
        node->data.sequence.items.top > node->data.sequence.items.start)
        return config_entry_end(doc, yaml_document_get_node(doc, node->data.sequence.items.top[-1]),
                                node->start_mark.index + 1, alias);
    /* A block scalar ends at the start of the line after it. */
    if (node->end_mark.column == 0 && node->end_mark.index > 0)
        return node->end_mark.index - 1;
    return node->end_mark.index;
}

/* The spaces before the key node on its line, or NULL if anything else
 * is there ("- key:" in a sequence).  Returns allocated, free with free(). */
static char *
config_indent_of(const struct config_edit *e, const yaml_node_t *key)
{
    size_t at = config_edit_offset(e, &key->start_mark), start = config_line_start(e, at);

    for (size_t i = start; i < at; i++) {
        if (e->text[i] != ' ')
            return NULL;
    }
    return xstrndup(e->text + start, at - start);
}

/* The file's indentation step: how far the first nested block mapping at
 * the top level is indented; 2 if there is none. */
static size_t
config_indent_unit(yaml_document_t *doc, yaml_node_t *root)
{
    if (root == NULL || root->type != YAML_MAPPING_NODE)
        return 2;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key), *v = yaml_document_get_node(doc, p->value);

        if (v->type == YAML_MAPPING_NODE && v->data.mapping.style == YAML_BLOCK_MAPPING_STYLE &&
            v->start_mark.index > k->end_mark.index && v->start_mark.line > k->start_mark.line &&
            v->start_mark.column > k->start_mark.column)
            return v->start_mark.column - k->start_mark.column;
    }
    return 2;
}

/* Block lines for segs[from..n-1] ending with `last: "value"`, the first
 * at indent and each further one unit deeper.  Returns allocated (it
 * holds the value), free with xfree_secret(). */
static char *
config_block(const struct config_edit *e, char **segs, size_t from, size_t n, const char *indent, size_t unit,
             const char *quoted)
{
    char *out = xstrdup(""), *next;

    for (size_t i = from; i < n; i++) {
        next = xasprintf("%s%s%*s%s:%s%s%s", out, indent, (int)(unit * (i - from)), "", segs[i], i + 1 == n ? " " : "",
                         i + 1 == n ? quoted : "", e->nl);
        xfree_secret(out);
        out = next;
    }
    return out;
}

/* The flow form "a: {b: "value"}" of segs[from..n-1].  Returns allocated,
 * free with xfree_secret(). */
static char *
config_flow(char **segs, size_t from, size_t n, const char *quoted)
{
    char *out = xstrdup(quoted), *next;

    for (size_t i = n; i-- > from;) {
        next = i + 1 == n ? xasprintf("%s: %s", segs[i], out) : xasprintf("%s: {%s}", segs[i], out);
        xfree_secret(out);
        out = next;
    }
    return out;
}

enum config_step {
    CONFIG_STEP_DONE,
    CONFIG_STEP_AGAIN, /* the text changed; parse again and go on */
    CONFIG_STEP_ERROR,
};

/* Inserts segs[from..] under the mapping map (found at path display). */
static enum config_step
config_insert(struct config_edit *e, yaml_document_t *doc, yaml_node_t *map, char **segs, size_t from, size_t n,
              const char *quoted, const char *display)
{
    yaml_node_pair_t *first = map->data.mapping.pairs.start, *last = map->data.mapping.pairs.top - 1;
    size_t at;
    char *indent, *ins, *flow;
    int alias = 0;

    if (map->data.mapping.style == YAML_FLOW_MAPPING_STYLE) {
        at = config_edit_offset(e, &map->start_mark);
        if (at >= e->len || e->text[at] != '{') {
            config_errors_add(e->errs, e->path, yaml_tree_line(map), "cannot add a key to %s: unusual layout", display);
            return CONFIG_STEP_ERROR;
        }
        flow = config_flow(segs, from, n, quoted);
        ins = xasprintf("%s%s", flow, first < map->data.mapping.pairs.top ? ", " : "");
        config_splice(e, at + 1, at + 1, ins);
        xfree_secret(flow);
        xfree_secret(ins);
        return CONFIG_STEP_DONE;
    }
    indent = config_indent_of(e, yaml_document_get_node(doc, first->key));
    if (indent == NULL) {
        config_errors_add(e->errs, e->path, yaml_tree_line(map), "cannot add a key to %s: unusual layout", display);
        return CONFIG_STEP_ERROR;
    }
    at = config_entry_end(doc, yaml_document_get_node(doc, last->value),
                          yaml_document_get_node(doc, last->key)->end_mark.index, &alias);
    if (!alias) {
        at = config_line_end(e, yaml_tree_byte_offset(e->text, e->len, at));
    } else {
        /* The entry ends with an alias, whose place in the text the
         * document does not keep: insert where the mapping ends, that is
         * at the line of whatever follows it. */
        at = config_edit_offset(e, &map->end_mark);
        at = at >= e->len ? config_line_end(e, e->len > 0 ? e->len - 1 : 0) : config_line_start(e, at);
    }
    ins = config_block(e, segs, from, n, indent, config_indent_unit(doc, yaml_document_get_root_node(doc)), quoted);
    config_splice(e, at, at, ins);
    xfree_secret(ins);
    free(indent);
    return CONFIG_STEP_DONE;
}

/*
 * One step of setting key to value: parses the current text and changes
 * it once.  Most changes finish the key; replacing a "~" under which a
 * key must go needs a second step.
 */
static enum config_step
config_set_step(struct config_edit *e, char **segs, size_t n, const char *key, const char *quoted)
{
    yaml_document_t doc;
    yaml_node_t *node, *val, *kn = NULL;
    size_t line, at, unit;
    char *cause = NULL, *indent = NULL, *ins = NULL, *deeper;
    enum config_step rc = CONFIG_STEP_ERROR;

    if (yaml_tree_parse(e->text, e->len, &doc, &line, &cause) != 0) {
        config_errors_add(e->errs, e->path, line, "%s", cause);
        free(cause);
        return CONFIG_STEP_ERROR;
    }
    node = yaml_document_get_root_node(&doc);
    unit = config_indent_unit(&doc, node);
    if (node == NULL) {
        /* An empty file, or one with comments only. */
        at = e->len > 0 ? config_line_end(e, e->len - 1) : 0;
        ins = config_block(e, segs, 0, n, "", unit, quoted);
        config_splice(e, at, at, ins);
        rc = CONFIG_STEP_DONE;
        goto out;
    }
    if (node->type != YAML_MAPPING_NODE) {
        config_errors_add(e->errs, e->path, yaml_tree_line(node), "cannot set %s: the file is not a mapping", key);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        val = yaml_tree_get(&doc, node, segs[i], strlen(segs[i]), &kn);
        if (val == NULL) {
            rc = config_insert(e, &doc, node, segs, i, n, quoted, i > 0 ? segs[i - 1] : "the top level");
            goto out;
        }
        if (val->start_mark.index < kn->end_mark.index) {
            config_errors_add(e->errs, e->path, yaml_tree_line(kn), "cannot set %s: '%s' is an alias", key, segs[i]);
            goto out;
        }
        if (i + 1 < n && val->type == YAML_MAPPING_NODE) {
            node = val;
            continue;
        }
        if (i + 1 < n && yaml_tree_is_null(val) && val->data.scalar.length > 0) {
            /* "appservice: ~": remove the "~", then add under the key. */
            config_splice(e, config_edit_offset(e, &val->start_mark), config_edit_offset(e, &val->end_mark), "");
            rc = CONFIG_STEP_AGAIN;
            goto out;
        }
        if (i + 1 < n && yaml_tree_is_null(val)) {
            indent = config_indent_of(e, kn);
            if (indent == NULL) {
                config_errors_add(e->errs, e->path, yaml_tree_line(kn), "cannot add a key under %s: unusual layout",
                                  segs[i]);
                goto out;
            }
            deeper = xasprintf("%s%*s", indent, (int)unit, "");
            at = config_line_end(e, config_edit_offset(e, &kn->end_mark));
            ins = config_block(e, segs, i + 1, n, deeper, unit, quoted);
            config_splice(e, at, at, ins);
            free(deeper);
            rc = CONFIG_STEP_DONE;
            goto out;
        }
        if (i + 1 < n) {
            config_errors_add(e->errs, e->path, yaml_tree_line(val), "cannot set %s: %s is %s, not a mapping", key,
                              segs[i], yaml_tree_kind(val));
            goto out;
        }
        if (val->type != YAML_SCALAR_NODE) {
            config_errors_add(e->errs, e->path, yaml_tree_line(val), "cannot set %s: it is %s, not a single value", key,
                              yaml_tree_kind(val));
            goto out;
        }
        if (val->start_mark.index == val->end_mark.index) {
            /* "key:" with nothing after it: the value goes after the
             * colon, before any comment on that line. */
            at = config_edit_offset(e, &kn->end_mark);
            while (at < e->len && (e->text[at] == ' ' || e->text[at] == '\t'))
                at++;
            if (at >= e->len || e->text[at] != ':') {
                config_errors_add(e->errs, e->path, yaml_tree_line(kn), "cannot set %s: unusual layout", key);
                goto out;
            }
            ins = xasprintf(" %s", quoted);
            config_splice(e, at + 1, at + 1, ins);
        } else {
            /* A block scalar ("|") takes its line break along. */
            ins = xasprintf("%s%s", quoted, val->end_mark.column == 0 ? e->nl : "");
            config_splice(e, config_edit_offset(e, &val->start_mark), config_edit_offset(e, &val->end_mark), ins);
        }
        rc = CONFIG_STEP_DONE;
        goto out;
    }
out:
    xfree_secret(ins);
    free(indent);
    yaml_tree_free(&doc);
    return rc;
}

/* Splits a dotted key into its segments.  Returns how many (at least
 * one); *segs is allocated, free with config_segs_free(). */
static size_t
config_segs(const char *key, char ***segs)
{
    size_t n = 0;
    const char *p = key, *dot;

    *segs = NULL;
    for (;;) {
        dot = strchr(p, '.');
        *segs = xreallocarray(*segs, n + 1, sizeof(**segs));
        (*segs)[n++] = dot != NULL ? xstrndup(p, (size_t)(dot - p)) : xstrdup(p);
        if (dot == NULL)
            return n;
        p = dot + 1;
    }
}

/* Frees the n segments of config_segs(). */
static void
config_segs_free(char **segs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(segs[i]);
    free(segs);
}

/* Every scalar of a document with its path ("a.b[2].c"), to compare a
 * file before and after an edit.  Values may be secrets. */
struct config_flat_entry {
    char *path;
    char *value;
};

struct config_flat {
    struct config_flat_entry *v;
    size_t n;
    int overflow; /* too deep or too large (aliases can multiply a tree) */
};

#define CONFIG_FLAT_MAX_DEPTH 64
#define CONFIG_FLAT_MAX_ENTRIES 100000

/* Appends every scalar under node to f. */
static void
config_flatten(yaml_document_t *doc, yaml_node_t *node, const char *path, size_t depth, struct config_flat *f)
{
    char *child;

    if (f->overflow || node == NULL)
        return;
    if (depth > CONFIG_FLAT_MAX_DEPTH || f->n >= CONFIG_FLAT_MAX_ENTRIES) {
        f->overflow = 1;
        return;
    }
    switch (node->type) {
    case YAML_SCALAR_NODE:
        f->v = xreallocarray(f->v, f->n + 1, sizeof(*f->v));
        f->v[f->n].path = xstrdup(path);
        f->v[f->n].value = xstrdup(yaml_tree_scalar(node));
        f->n++;
        break;
    case YAML_SEQUENCE_NODE:
        for (yaml_node_item_t *it = node->data.sequence.items.start; it < node->data.sequence.items.top; it++) {
            child = xasprintf("%s[%zu]", path, (size_t)(it - node->data.sequence.items.start));
            config_flatten(doc, yaml_document_get_node(doc, *it), child, depth + 1, f);
            free(child);
        }
        break;
    case YAML_MAPPING_NODE:
        for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
            const char *key = yaml_tree_scalar(yaml_document_get_node(doc, p->key));

            child =
                *path != '\0' ? xasprintf("%s.%s", path, key != NULL ? key : "?") : xstrdup(key != NULL ? key : "?");
            config_flatten(doc, yaml_document_get_node(doc, p->value), child, depth + 1, f);
            free(child);
        }
        break;
    default:
        break;
    }
}

/* Frees a flattened document, wiping its values. */
static void
config_flat_free(struct config_flat *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].path);
        xfree_secret(f->v[i].value);
    }
    free(f->v);
    memset(f, 0, sizeof(*f));
}

/* Parses text and flattens it into f; returns 0, or -1 with an error. */
static int
config_flat_text(const struct config_edit *e, const char *what, struct config_flat *f)
{
    yaml_document_t doc;
    size_t line;
    char *cause = NULL;

    memset(f, 0, sizeof(*f));
    if (yaml_tree_parse(e->text, e->len, &doc, &line, &cause) != 0) {
        config_errors_add(e->errs, e->path, line, "%s%s", what, cause);
        free(cause);
        return -1;
    }
    config_flatten(&doc, yaml_document_get_root_node(&doc), "", 0, f);
    yaml_tree_free(&doc);
    return 0;
}

/* True if path is one of the keys being set or lies above one (a "~"
 * that became a mapping). */
static int
config_flat_skip(const char *path, const char *const *keys, size_t n)
{
    size_t len = strlen(path);

    for (size_t i = 0; i < n; i++) {
        if (strcmp(path, keys[i]) == 0 || (strncmp(keys[i], path, len) == 0 && keys[i][len] == '.'))
            return 1;
    }
    return 0;
}

/*
 * Checks the edited text against the original (flattened in before): it
 * parses, holds every value as asked, and every other value is as it
 * was.  A mistake here must never reach the operator's file.
 */
static int
config_verify(struct config_edit *e, const struct config_flat *before, const char *const *keys,
              const char *const *values, size_t n)
{
    struct config_flat after;
    size_t i = 0, j = 0;
    int rc = 0;

    if (config_flat_text(e, "internal error: the edited file would not parse: ", &after) != 0)
        return -1;
    for (size_t k = 0; k < n; k++) {
        int found = 0;

        for (size_t m = 0; m < after.n; m++)
            found |= strcmp(after.v[m].path, keys[k]) == 0 && strcmp(after.v[m].value, values[k]) == 0;
        if (!found) {
            config_errors_add_file(e->errs, e->path, "internal error: %s would not be set as asked", keys[k]);
            rc = -1;
        }
    }
    for (;;) {
        while (i < before->n && config_flat_skip(before->v[i].path, keys, n))
            i++;
        while (j < after.n && config_flat_skip(after.v[j].path, keys, n))
            j++;
        if (i == before->n || j == after.n)
            break;
        if (strcmp(before->v[i].path, after.v[j].path) != 0 || strcmp(before->v[i].value, after.v[j].value) != 0)
            break;
        i++;
        j++;
    }
    if (i != before->n || j != after.n || before->overflow || after.overflow) {
        config_errors_add_file(e->errs, e->path,
                               "internal error: the edit would change other settings; nothing was written");
        rc = -1;
    }
    config_flat_free(&after);
    return rc;
}

int
config_write_scalars(const char *path, const char *const *keys, const char *const *values, size_t n,
                     struct config_errors *errs)
{
    struct config_edit e = {.path = path, .errs = errs};
    struct config_flat before = {0};
    char *cause = NULL, *real = NULL, **segs, *quoted;
    enum config_step step;
    size_t nsegs;
    int rc = -1;

    if (yaml_tree_read_file(path, &e.text, &e.len, &cause) != 0) {
        config_errors_add_file(errs, path, "%s", cause);
        goto out;
    }
    e.nl = strstr(e.text, "\r\n") != NULL ? "\r\n" : "\n";
    if (config_flat_text(&e, "", &before) != 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        nsegs = config_segs(keys[i], &segs);
        for (size_t j = 0; j < nsegs; j++) {
            if (*segs[j] == '\0') {
                config_errors_add_file(errs, path, "cannot set '%s': not a dotted key", keys[i]);
                config_segs_free(segs, nsegs);
                goto out;
            }
        }
        quoted = config_quote(values[i]);
        /* At most one step to clear a "~" per level, then the write. */
        step = CONFIG_STEP_AGAIN;
        for (size_t tries = 0; step == CONFIG_STEP_AGAIN && tries <= nsegs; tries++)
            step = config_set_step(&e, segs, nsegs, keys[i], quoted);
        xfree_secret(quoted);
        config_segs_free(segs, nsegs);
        if (step != CONFIG_STEP_DONE) {
            if (step == CONFIG_STEP_AGAIN)
                config_errors_add_file(errs, path, "cannot set %s", keys[i]);
            goto out;
        }
    }
    if (config_verify(&e, &before, keys, values, n) != 0)
        goto out;
    /* Replace the file a symlink points to, not the symlink, so that an
     * operator's /etc layout survives. */
    real = realpath(path, NULL);
    if (real == NULL) {
        config_errors_add_file(errs, path, "cannot resolve the path: %s", strerror(errno));
        goto out;
    }
    if (atomic_file_write(real, e.text, e.len, 0600, &cause) != 0) {
        config_errors_add_file(errs, path, "%s", cause);
        goto out;
    }
    rc = 0;
out:
    free(cause);
    free(real);
    config_flat_free(&before);
    yaml_tree_free_text(e.text, e.len);
    return rc;
}
