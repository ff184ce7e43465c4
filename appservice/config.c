/*
 * The configuration file; see config.h.
 *
 * libyaml loads the file into a document whose nodes carry their marks
 * (line, column, byte offset).  A key table (config_table.c for the core,
 * one per bridge) is applied to a mapping of that document: each key is
 * looked up, type-checked and stored at its offset in a target struct, and
 * every key of the mapping that no table entry names is reported.  Problems
 * are collected, not stopped at, so an operator sees them all at once,
 * each as "file:line: what is wrong", in file order.
 *
 * Note that libyaml's loader does not resolve implicit tags: every scalar
 * comes tagged as a string, so null and booleans are recognised here from
 * the plain scalar's text, as YAML 1.1 spells them.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "config.h"
#include "xmalloc.h"

/* One problem found while applying a table, kept until they are sorted. */
struct config_problem {
    size_t line;
    char *text;
};

struct config_problems {
    struct config_problem *v;
    size_t n;
};

void
config_errors_add(struct config_errors *errs, const char *file, size_t line, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    msg = xvasprintf(fmt, ap);
    va_end(ap);
    errs->lines = xreallocarray(errs->lines, errs->n + 1, sizeof(*errs->lines));
    errs->lines[errs->n++] = xasprintf("%s:%zu: %s", file, line, msg);
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

static void config_problem(struct config_problems *p, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
config_problem(struct config_problems *p, size_t line, const char *fmt, ...)
{
    va_list ap;

    p->v = xreallocarray(p->v, p->n + 1, sizeof(*p->v));
    va_start(ap, fmt);
    p->v[p->n].text = xvasprintf(fmt, ap);
    va_end(ap);
    p->v[p->n].line = line;
    p->n++;
}

static int
config_problem_cmp(const void *a, const void *b)
{
    const struct config_problem *x = a, *y = b;

    return x->line < y->line ? -1 : x->line > y->line;
}

/* Moves the problems, sorted by line, into errs; returns their count. */
static size_t
config_problems_flush(struct config_problems *p, const char *file, struct config_errors *errs)
{
    size_t n = p->n;

    /* qsort is not stable; the index breaks ties so that problems on one
     * line keep the order they were found in. */
    for (size_t i = 0; i < p->n; i++)
        p->v[i].line = p->v[i].line * 1000 + (i < 999 ? i : 999);
    qsort(p->v, p->n, sizeof(*p->v), config_problem_cmp);
    for (size_t i = 0; i < p->n; i++) {
        config_errors_add(errs, file, p->v[i].line / 1000, "%s", p->v[i].text);
        free(p->v[i].text);
    }
    free(p->v);
    p->v = NULL;
    p->n = 0;
    return n;
}

/* The 1-based line of a node. */
static size_t
config_node_line(const yaml_node_t *node)
{
    return node->start_mark.line + 1;
}

/* 1 if node is a null scalar: ~, null, or nothing, written plain. */
static int
config_node_is_null(const yaml_node_t *node)
{
    const char *v;

    if (node == NULL)
        return 1;
    if (node->type != YAML_SCALAR_NODE)
        return 0;
    if (node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE && node->data.scalar.style != YAML_ANY_SCALAR_STYLE)
        return 0;
    v = (const char *)node->data.scalar.value;
    return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
           strcmp(v, "NULL") == 0;
}

static const char *
config_scalar(const yaml_node_t *node)
{
    return (const char *)node->data.scalar.value;
}

/* The value node of key in a mapping node, or NULL. */
static yaml_node_t *
config_map_get(yaml_document_t *doc, yaml_node_t *map, const char *key, size_t keylen)
{
    if (map == NULL || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);

        if (k != NULL && k->type == YAML_SCALAR_NODE && k->data.scalar.length == keylen &&
            memcmp(k->data.scalar.value, key, keylen) == 0)
            return yaml_document_get_node(doc, p->value);
    }
    return NULL;
}

/* The node at a dotted path below from ("" is from itself), or NULL.  The
 * key node of the last step goes to *key_node when asked for. */
static yaml_node_t *
config_path_node(yaml_document_t *doc, yaml_node_t *from, const char *path)
{
    const char *p = path;
    yaml_node_t *node = from;

    while (node != NULL && *p != '\0') {
        const char *dot = strchr(p, '.');
        size_t len = dot != NULL ? (size_t)(dot - p) : strlen(p);

        node = config_map_get(doc, node, p, len);
        p += len;
        if (*p == '.')
            p++;
    }
    return node;
}

/* The document root, or NULL for an empty document. */
static yaml_node_t *
config_root(const struct config *cfg)
{
    return cfg->doc != NULL ? yaml_document_get_root_node(cfg->doc) : NULL;
}

int
config_parse_bool(const char *text, int *out, char **cause)
{
    static const char *const yes[] = {"true", "yes", "on", "y"};
    static const char *const no[] = {"false", "no", "off", "n"};

    for (size_t i = 0; i < 4; i++) {
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

/* Parses a number followed by an optional unit from units[] (names and
 * multipliers, NULL-terminated); a bare number is in units[0]'s unit... of
 * multiplier bare_mult. */
static int
config_parse_scaled(const char *text, const char *const *names, const uint64_t *mults, uint64_t bare_mult,
                    uint64_t *out, const char *what, char **cause)
{
    const char *p = text;
    char *end;
    unsigned long long n;

    while (isspace((unsigned char)*p))
        p++;
    if (!isdigit((unsigned char)*p)) {
        *cause = xasprintf("expected %s, got '%s'", what, text);
        return -1;
    }
    errno = 0;
    n = strtoull(p, &end, 10);
    if (errno != 0) {
        *cause = xasprintf("'%s' is too large", text);
        return -1;
    }
    while (isspace((unsigned char)*end))
        end++;
    if (*end == '\0') {
        *out = (uint64_t)n * bare_mult;
        return 0;
    }
    for (size_t i = 0; names[i] != NULL; i++) {
        if (strcmp(end, names[i]) == 0) {
            if (n > UINT64_MAX / mults[i]) {
                *cause = xasprintf("'%s' is too large", text);
                return -1;
            }
            *out = (uint64_t)n * mults[i];
            return 0;
        }
    }
    *cause = xasprintf("expected %s, got '%s'", what, text);
    return -1;
}

int
config_parse_size(const char *text, uint64_t *out, char **cause)
{
    static const char *const names[] = {"B", "KiB", "MiB", "GiB", "KB", "MB", "GB", "k", "K", "M", "G", NULL};
    static const uint64_t mults[] = {1,          1024, 1048576, 1073741824, 1000,      1000000,
                                     1000000000, 1024, 1024,    1048576,    1073741824};

    return config_parse_scaled(text, names, mults, 1, out, "a size such as 16MiB, 512KiB or 1048576", cause);
}

int
config_parse_duration(const char *text, uint64_t *out, char **cause)
{
    static const char *const names[] = {"ms", "s", "m", "min", "h", "d", NULL};
    static const uint64_t mults[] = {1, 1000, 60000, 60000, 3600000, 86400000};

    return config_parse_scaled(text, names, mults, 1, out, "a duration such as 250ms, 30s, 10m, 1h or 7d", cause);
}

int
config_parse_level(const char *text, enum perm_level *out, char **cause)
{
    static const char *const names[] = {"none", "guest", "analyst", "admin"};

    for (size_t i = 0; i < 4; i++) {
        if (strcmp(text, names[i]) == 0) {
            *out = (enum perm_level)i;
            return 0;
        }
    }
    *cause = xasprintf("'%s' is not one of none, guest, analyst, admin", text);
    return -1;
}

/* Checks a permission subject: "*", a full user ID or a server name. */
static const char *
config_check_subject(const char *s)
{
    const char *colon;

    if (strcmp(s, "*") == 0)
        return NULL;
    if (s[0] == '@') {
        colon = strchr(s, ':');
        if (colon == NULL || colon == s + 1 || config_check_server_name(colon + 1) != NULL)
            return "is not a full user ID (@user:server), a server name or '*'";
        return NULL;
    }
    return config_check_server_name(s) == NULL ? NULL : "is not a full user ID (@user:server), a server name or '*'";
}

/* Where a value of the key goes. */
static void *
config_slot(void *target, const struct config_key *k)
{
    return (char *)target + k->offset;
}

/* Frees what a key stored at its slot (secrets wiped). */
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
        break;
    }
}

void
config_free_target(const struct config_key *keys, void *target)
{
    for (const struct config_key *k = keys; k->name != NULL; k++)
        config_free_slot(k, target);
}

/* Describes what the value is, for "expected X, got Y" messages; never
 * the value of a secret. */
static const char *
config_node_kind(const yaml_node_t *node)
{
    switch (node->type) {
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_SEQUENCE_NODE:
        return "a list";
    default:
        return "a scalar";
    }
}

/* Stores one scalar text of key k at its slot; line for problems. */
static void
config_store_scalar(const struct config_key *k, const char *full, const char *text, size_t line, void *target,
                    struct config_problems *p)
{
    void *slot = config_slot(target, k);
    char *cause = NULL;
    const char *why;

    switch (k->type) {
    case CONFIG_STRING:
    case CONFIG_SECRET:
        if (k->check != NULL && (why = k->check(text)) != NULL) {
            if (k->type == CONFIG_SECRET)
                config_problem(p, line, "%s: the value %s", full, why);
            else
                config_problem(p, line, "%s: '%s' %s", full, text, why);
            return;
        }
        *(char **)slot = xstrdup(text);
        return;
    case CONFIG_URL: {
        size_t len = strlen(text);

        if ((strncmp(text, "http://", 7) != 0 && strncmp(text, "https://", 8) != 0) ||
            text[strncmp(text, "https://", 8) == 0 ? 8 : 7] == '\0' || strpbrk(text, " \t\r\n") != NULL) {
            config_problem(p, line, "%s: '%s' is not an http:// or https:// URL", full, text);
            return;
        }
        while (len > 0 && text[len - 1] == '/')
            len--;
        *(char **)slot = xstrndup(text, len);
        return;
    }
    case CONFIG_BOOL:
        if (config_parse_bool(text, (int *)slot, &cause) != 0)
            break;
        return;
    case CONFIG_INT: {
        char *end;
        long long v;

        errno = 0;
        v = strtoll(text, &end, 10);
        if (text[0] == '\0' || *end != '\0' || errno != 0) {
            cause = xasprintf("expected an integer, got '%s'", text);
            break;
        }
        if ((k->min != 0 || k->max != 0) && (v < k->min || v > k->max)) {
            cause = xasprintf("%lld is out of range (%lld to %lld)", v, (long long)k->min, (long long)k->max);
            break;
        }
        *(long *)slot = (long)v;
        return;
    }
    case CONFIG_SIZE:
    case CONFIG_DURATION: {
        uint64_t v;
        int rc = k->type == CONFIG_SIZE ? config_parse_size(text, &v, &cause) : config_parse_duration(text, &v, &cause);

        if (rc != 0)
            break;
        if ((k->min != 0 || k->max != 0) && (v < (uint64_t)k->min || v > (uint64_t)k->max)) {
            cause = xasprintf("'%s' is out of range", text);
            break;
        }
        *(uint64_t *)slot = v;
        return;
    }
    case CONFIG_ENUM: {
        char *list = xstrdup("");

        for (size_t i = 0; k->choices[i] != NULL; i++) {
            char *next;

            if (strcmp(text, k->choices[i]) == 0) {
                *(int *)slot = (int)i;
                free(list);
                return;
            }
            next = xasprintf("%s%s%s", list, i ? ", " : "", k->choices[i]);
            free(list);
            list = next;
        }
        cause = xasprintf("'%s' is not one of %s", text, list);
        free(list);
        break;
    }
    default:
        return;
    }
    config_problem(p, line, "%s: %s", full, cause);
    free(cause);
}

/* Stores the value of a mapping of subjects to levels. */
static void
config_store_levelmap(yaml_document_t *doc, const struct config_key *k, const char *full, yaml_node_t *node,
                      void *target, struct config_problems *p)
{
    struct config_level_map *m = config_slot(target, k);

    if (node->type != YAML_MAPPING_NODE) {
        config_problem(p, config_node_line(node), "%s: expected a mapping of user, server or '*' to a level, got %s",
                       full, config_node_kind(node));
        return;
    }
    for (yaml_node_pair_t *pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top; pair++) {
        yaml_node_t *kn = yaml_document_get_node(doc, pair->key), *vn = yaml_document_get_node(doc, pair->value);
        enum perm_level level;
        const char *why;
        char *cause = NULL;

        if (kn->type != YAML_SCALAR_NODE || vn->type != YAML_SCALAR_NODE) {
            config_problem(p, config_node_line(kn), "%s: each entry must be 'subject: level'", full);
            continue;
        }
        if ((why = config_check_subject(config_scalar(kn))) != NULL) {
            config_problem(p, config_node_line(kn), "%s: '%s' %s", full, config_scalar(kn), why);
            continue;
        }
        if (config_parse_level(config_scalar(vn), &level, &cause) != 0) {
            config_problem(p, config_node_line(vn), "%s.%s: %s", full, config_scalar(kn), cause);
            free(cause);
            continue;
        }
        m->rules = xreallocarray(m->rules, m->n + 1, sizeof(*m->rules));
        m->rules[m->n].subject = xstrdup(config_scalar(kn));
        m->rules[m->n].level = level;
        m->rules[m->n].line = config_node_line(kn);
        m->n++;
    }
}

/* Stores a list of strings (or one string). */
static void
config_store_strlist(yaml_document_t *doc, const struct config_key *k, const char *full, yaml_node_t *node,
                     void *target, struct config_problems *p)
{
    struct config_strlist *l = config_slot(target, k);

    if (node->type == YAML_SCALAR_NODE) {
        l->items = xcalloc(1, sizeof(*l->items));
        l->items[0] = xstrdup(config_scalar(node));
        l->n = 1;
        return;
    }
    if (node->type != YAML_SEQUENCE_NODE) {
        config_problem(p, config_node_line(node), "%s: expected a list, got %s", full, config_node_kind(node));
        return;
    }
    for (yaml_node_item_t *it = node->data.sequence.items.start; it < node->data.sequence.items.top; it++) {
        yaml_node_t *item = yaml_document_get_node(doc, *it);

        if (item->type != YAML_SCALAR_NODE) {
            config_problem(p, config_node_line(item), "%s: every item must be a string", full);
            continue;
        }
        l->items = xreallocarray(l->items, l->n + 1, sizeof(*l->items));
        l->items[l->n++] = xstrdup(config_scalar(item));
    }
}

/* Levenshtein distance, capped: enough to suggest a key for a typo. */
static size_t
config_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), *prev, *cur, d;

    if (la > 64 || lb > 64)
        return 99;
    prev = xcalloc(lb + 1, sizeof(*prev));
    cur = xcalloc(lb + 1, sizeof(*cur));
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t *t;

        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        t = prev;
        prev = cur;
        cur = t;
    }
    d = prev[lb];
    free(prev);
    free(cur);
    return d;
}

/* Joins a path prefix and a key ("a.b" + "c"). */
static char *
config_join(const char *prefix, const char *key)
{
    return prefix[0] != '\0' ? xasprintf("%s.%s", prefix, key) : xstrdup(key);
}

/* 1 if name is a key of the table, 2 if it is a mapping above keys of the
 * table ("appservice" above "appservice.port"), 3 if the whole subtree
 * belongs to one key (a level map, a list, a subtree), else 0. */
static int
config_known(const struct config_key *keys, const char *name)
{
    size_t len = strlen(name);
    int found = 0;

    for (const struct config_key *k = keys; k->name != NULL; k++) {
        if (strcmp(k->name, name) == 0)
            return k->type == CONFIG_LEVELMAP || k->type == CONFIG_SUBTREE || k->type == CONFIG_STRLIST ? 3 : 1;
        if (strncmp(k->name, name, len) == 0 && k->name[len] == '.')
            found = 2;
    }
    return found;
}

/* Reports unknown and duplicate keys under a mapping, recursively. */
static void
config_check_keys(yaml_document_t *doc, yaml_node_t *map, const char *root, const char *rel,
                  const struct config_key *keys, struct config_problems *p)
{
    if (map == NULL || map->type != YAML_MAPPING_NODE)
        return;
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
        yaml_node_t *kn = yaml_document_get_node(doc, pair->key), *vn = yaml_document_get_node(doc, pair->value);
        char *name, *full;
        int known;

        if (kn->type != YAML_SCALAR_NODE) {
            config_problem(p, config_node_line(kn), "keys must be plain strings");
            continue;
        }
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < pair; q++) {
            yaml_node_t *qk = yaml_document_get_node(doc, q->key);

            if (qk->type == YAML_SCALAR_NODE && strcmp(config_scalar(qk), config_scalar(kn)) == 0) {
                char *dup = config_join(root, rel);
                char *dupname = config_join(dup, config_scalar(kn));

                config_problem(p, config_node_line(kn), "duplicate key '%s' (first on line %zu)", dupname,
                               config_node_line(qk));
                free(dup);
                free(dupname);
                break;
            }
        }
        name = config_join(rel, config_scalar(kn));
        full = config_join(root, name);
        known = config_known(keys, name);
        if (known == 0) {
            const struct config_key *best = NULL;
            size_t best_d = 3;

            for (const struct config_key *k = keys; k->name != NULL; k++) {
                size_t d = config_distance(name, k->name);

                if (d < best_d) {
                    best_d = d;
                    best = k;
                }
            }
            if (best != NULL) {
                char *suggest = config_join(root, best->name);

                config_problem(p, config_node_line(kn), "unknown key '%s' (did you mean '%s'?)", full, suggest);
                free(suggest);
            } else {
                config_problem(p, config_node_line(kn), "unknown key '%s'", full);
            }
        } else if (known == 2) {
            if (vn->type == YAML_MAPPING_NODE)
                config_check_keys(doc, vn, root, name, keys, p);
            else if (!config_node_is_null(vn))
                config_problem(p, config_node_line(vn), "%s: expected a mapping, got %s", full, config_node_kind(vn));
        }
        free(name);
        free(full);
    }
}

/* Applies keys to the mapping at root (already found, may be NULL). */
static void
config_apply_node(yaml_document_t *doc, yaml_node_t *rootnode, const char *root, size_t root_line,
                  const struct config_key *keys, void *target, struct config_problems *p)
{
    if (rootnode != NULL && rootnode->type != YAML_MAPPING_NODE && !config_node_is_null(rootnode)) {
        config_problem(p, config_node_line(rootnode), "%s: expected a mapping, got %s",
                       root[0] != '\0' ? root : "the configuration", config_node_kind(rootnode));
        rootnode = NULL;
    }
    if (rootnode != NULL && rootnode->type != YAML_MAPPING_NODE)
        rootnode = NULL;
    config_check_keys(doc, rootnode, root, "", keys, p);
    for (const struct config_key *k = keys; k->name != NULL; k++) {
        yaml_node_t *node = doc != NULL ? config_path_node(doc, rootnode, k->name) : NULL;
        char *full = config_join(root, k->name);

        if (k->type == CONFIG_SUBTREE) {
            if (node != NULL && !config_node_is_null(node) && node->type != YAML_MAPPING_NODE)
                config_problem(p, config_node_line(node), "%s: expected a mapping, got %s", full,
                               config_node_kind(node));
        } else if (node != NULL && !config_node_is_null(node)) {
            if (k->type == CONFIG_LEVELMAP)
                config_store_levelmap(doc, k, full, node, target, p);
            else if (k->type == CONFIG_STRLIST)
                config_store_strlist(doc, k, full, node, target, p);
            else if (node->type != YAML_SCALAR_NODE)
                config_problem(p, config_node_line(node), "%s: expected a single value, got %s", full,
                               config_node_kind(node));
            else
                config_store_scalar(k, full, config_scalar(node), config_node_line(node), target, p);
        } else if (k->default_value != NULL) {
            if (k->type == CONFIG_LEVELMAP || k->type == CONFIG_STRLIST)
                ; /* empty by default */
            else
                config_store_scalar(k, full, k->default_value, root_line, target, p);
        } else if (!(k->flags & CONFIG_OPTIONAL)) {
            config_problem(p, node != NULL ? config_node_line(node) : root_line, "%s: required, but not set (%s)", full,
                           k->help);
        }
        free(full);
    }
}

int
config_apply(const struct config *cfg, const char *root_path, const struct config_key *keys, void *target,
             struct config_errors *errs)
{
    struct config_problems p = {0};
    yaml_node_t *rootnode = NULL;
    size_t root_line = 1;

    if (cfg->doc != NULL) {
        rootnode = config_path_node(cfg->doc, config_root(cfg), root_path);
        if (rootnode != NULL)
            root_line = config_node_line(rootnode);
    }
    config_apply_node(cfg->doc, rootnode, root_path, root_line, keys, target, &p);
    return config_problems_flush(&p, cfg->path, errs) == 0 ? 0 : -1;
}

/* Reads a whole file; returns allocated or NULL with errno set. */
static char *
config_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0, r;

    if (f == NULL)
        return NULL;
    do {
        if (cap - n < 4096) {
            cap = cap * 2 + 8192;
            buf = xrealloc(buf, cap);
        }
        r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
    } while (r > 0);
    if (ferror(f)) {
        free(buf);
        fclose(f);
        errno = EIO;
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Loads text as one YAML document; returns 0 or -1 with an error added. */
static int
config_parse_text(const char *path, const char *text, size_t len, yaml_document_t *doc, struct config_errors *errs)
{
    yaml_parser_t parser;
    int ret = -1;

    if (!yaml_parser_initialize(&parser))
        abort();
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, doc)) {
        config_errors_add(errs, path, parser.problem_mark.line + 1, "YAML syntax error: %s%s%s",
                          parser.problem != NULL ? parser.problem : "unknown problem",
                          parser.context != NULL ? " " : "", parser.context != NULL ? parser.context : "");
        goto out;
    }
    ret = 0;
out:
    yaml_parser_delete(&parser);
    return ret;
}

int
config_load(const char *path, struct config **out, struct config_errors *errs)
{
    struct config *cfg = xcalloc(1, sizeof(*cfg));
    size_t len;
    char *text;
    yaml_node_t *root;

    *out = NULL;
    cfg->path = xstrdup(path);
    if ((text = config_read_file(path, &len)) == NULL) {
        config_errors_add(errs, path, 0, "cannot read the configuration: %s", strerror(errno));
        config_free(cfg);
        return -1;
    }
    cfg->doc = xcalloc(1, sizeof(*cfg->doc));
    if (config_parse_text(path, text, len, cfg->doc, errs) != 0) {
        free(cfg->doc);
        cfg->doc = NULL;
        free(text);
        config_free(cfg);
        return -1;
    }
    explicit_bzero(text, len); /* it holds the tokens */
    free(text);
    root = yaml_document_get_root_node(cfg->doc);
    if (root == NULL) {
        /* An empty file: every required key is reported as missing. */
        yaml_document_delete(cfg->doc);
        free(cfg->doc);
        cfg->doc = NULL;
    }
    if (config_apply(cfg, "", config_core_keys, cfg, errs) != 0) {
        config_free(cfg);
        return -1;
    }
    *out = cfg;
    return 0;
}

int
config_check_runnable(const struct config *cfg, struct config_errors *errs)
{
    int ret = 0;

    if (cfg->appservice.as_token == NULL || cfg->appservice.as_token[0] == '\0') {
        config_errors_add(errs, cfg->path, config_line(cfg, "appservice") ? config_line(cfg, "appservice") : 1,
                          "appservice.as_token: not set; run warroom -g to generate the tokens and the registration");
        ret = -1;
    }
    if (cfg->appservice.hs_token == NULL || cfg->appservice.hs_token[0] == '\0') {
        config_errors_add(errs, cfg->path, config_line(cfg, "appservice") ? config_line(cfg, "appservice") : 1,
                          "appservice.hs_token: not set; run warroom -g to generate the tokens and the registration");
        ret = -1;
    }
    if (ret == 0 && strcmp(cfg->appservice.as_token, cfg->appservice.hs_token) == 0) {
        config_errors_add(errs, cfg->path, config_line(cfg, "appservice.hs_token"),
                          "appservice.hs_token: must differ from appservice.as_token");
        ret = -1;
    }
    return ret;
}

struct config_strlist
config_children(const struct config *cfg, const char *root_path)
{
    struct config_strlist list = {0};
    yaml_node_t *node;

    if (cfg->doc == NULL)
        return list;
    node = config_path_node(cfg->doc, config_root(cfg), root_path);
    if (node == NULL || node->type != YAML_MAPPING_NODE)
        return list;
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(cfg->doc, p->key);

        if (k->type != YAML_SCALAR_NODE)
            continue;
        list.items = xreallocarray(list.items, list.n + 1, sizeof(*list.items));
        list.items[list.n++] = xstrdup(config_scalar(k));
    }
    return list;
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

size_t
config_line(const struct config *cfg, const char *path)
{
    yaml_node_t *node;

    if (cfg->doc == NULL)
        return 0;
    node = config_path_node(cfg->doc, config_root(cfg), path);
    return node != NULL ? config_node_line(node) : 0;
}

void
config_free(struct config *cfg)
{
    if (cfg == NULL)
        return;
    config_free_target(config_core_keys, cfg);
    if (cfg->doc != NULL) {
        /* The document holds the tokens too: wipe its scalars. */
        for (yaml_node_t *n = cfg->doc->nodes.start; n < cfg->doc->nodes.top; n++) {
            if (n->type == YAML_SCALAR_NODE)
                explicit_bzero(n->data.scalar.value, n->data.scalar.length);
        }
        yaml_document_delete(cfg->doc);
        free(cfg->doc);
    }
    free(cfg->path);
    free(cfg);
}

/* Quotes value as a YAML double-quoted scalar. */
static char *
config_quote(const char *value)
{
    size_t n = 0;
    char *out, *p;

    for (const char *s = value; *s != '\0'; s++)
        n += (*s == '"' || *s == '\\') ? 2 : 1;
    out = p = xmalloc(n + 3);
    *p++ = '"';
    for (const char *s = value; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            *p++ = '\\';
        *p++ = *s;
    }
    *p++ = '"';
    *p = '\0';
    return out;
}

/* Replaces text[start..end) by ins; returns a new allocated text. */
static char *
config_splice(const char *text, size_t len, size_t start, size_t end, const char *ins, size_t *newlen)
{
    size_t ilen = strlen(ins);
    char *out = xmalloc(len - (end - start) + ilen + 1);

    memcpy(out, text, start);
    memcpy(out + start, ins, ilen);
    memcpy(out + start + ilen, text + end, len - end);
    *newlen = len - (end - start) + ilen;
    out[*newlen] = '\0';
    return out;
}

/* The key node whose value is node in map, or NULL. */
static yaml_node_t *
config_key_of(yaml_document_t *doc, yaml_node_t *map, yaml_node_t *node)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        if (yaml_document_get_node(doc, p->value) == node)
            return yaml_document_get_node(doc, p->key);
    }
    return NULL;
}

/* Where a new line goes after a block whose end mark is at end: after the
 * line of its last non-blank character (a block's end mark may sit on the
 * next key's line). */
static size_t
config_after_block(const char *text, size_t len, size_t end)
{
    while (end > 0 && isspace((unsigned char)text[end - 1]))
        end--;
    while (end < len && text[end] != '\n')
        end++;
    return end < len ? end + 1 : len;
}

/* Sets one dotted key in text (see config_write_scalars).  Returns the new
 * text, or NULL with a problem added. */
static char *
config_set_in_text(const char *path, char *text, size_t len, const char *key, const char *value, size_t *newlen,
                   struct config_errors *errs)
{
    yaml_document_t doc;
    yaml_node_t *node, *parent = NULL, *node_key = NULL;
    char *quoted = config_quote(value), *out = NULL, *ins = NULL, *lines;
    const char *rest = key;
    size_t indent, pos;
    int have_doc = 0;

    if (config_parse_text(path, text, len, &doc, errs) != 0)
        goto out;
    have_doc = 1;
    node = yaml_document_get_root_node(&doc);
    /* Walk down as far as the path exists. */
    while (node != NULL && node->type == YAML_MAPPING_NODE && *rest != '\0') {
        const char *dot = strchr(rest, '.');
        size_t klen = dot != NULL ? (size_t)(dot - rest) : strlen(rest);
        yaml_node_t *child = config_map_get(&doc, node, rest, klen);

        if (child == NULL)
            break;
        parent = node;
        node = child;
        rest += klen;
        if (*rest == '.')
            rest++;
    }
    if (parent != NULL)
        node_key = config_key_of(&doc, parent, node);

    if (*rest == '\0' && node != NULL) {
        /* The key exists: replace its value where it stands. */
        if (node->type != YAML_SCALAR_NODE) {
            config_errors_add(errs, path, config_node_line(node), "%s: expected a single value, cannot set it", key);
            goto out;
        }
        if (node->start_mark.index == node->end_mark.index && node_key != NULL) {
            /* "key:" with nothing after it: the empty value's mark may sit
             * on a later line; put the value right after the key. */
            size_t colon = node_key->end_mark.index;

            while (colon < len && text[colon] != ':')
                colon++;
            ins = xasprintf(" %s", quoted);
            out = config_splice(text, len, colon + 1, colon + 1, ins, newlen);
        } else {
            out = config_splice(text, len, node->start_mark.index, node->end_mark.index, quoted, newlen);
        }
        goto out;
    }

    /* Insert what is missing under the deepest mapping that exists. */
    if (node == NULL) {
        indent = 0; /* an empty file */
        pos = len;
    } else if (node->type == YAML_MAPPING_NODE && node->data.mapping.style == YAML_FLOW_MAPPING_STYLE) {
        config_errors_add(errs, path, config_node_line(node), "cannot add %s to a {flow} mapping; add it by hand", key);
        goto out;
    } else if (node->type == YAML_MAPPING_NODE && node->data.mapping.pairs.start < node->data.mapping.pairs.top) {
        yaml_node_t *first_key = yaml_document_get_node(&doc, node->data.mapping.pairs.start->key);
        yaml_node_t *last_value = yaml_document_get_node(&doc, (node->data.mapping.pairs.top - 1)->value);

        indent = first_key->start_mark.column;
        pos = config_after_block(text, len, last_value->end_mark.index);
    } else if (node_key != NULL && (node->type == YAML_MAPPING_NODE || config_node_is_null(node))) {
        /* "parent:" with no children yet: one level deeper than parent. */
        indent = node_key->start_mark.column + 2;
        pos = config_after_block(text, len, node_key->end_mark.index);
        if (config_node_is_null(node) && node->start_mark.index != node->end_mark.index) {
            config_errors_add(errs, path, config_node_line(node), "cannot add %s under a value; add it by hand", key);
            goto out;
        }
    } else {
        config_errors_add(errs, path, config_node_line(node), "cannot add %s: its parent is not a mapping", key);
        goto out;
    }
    lines = xstrdup("");
    for (const char *p = rest; *p != '\0';) {
        const char *dot = strchr(p, '.');
        size_t klen = dot != NULL ? (size_t)(dot - p) : strlen(p);
        char *next;

        if (dot != NULL)
            next = xasprintf("%s%*s%.*s:\n", lines, (int)indent, "", (int)klen, p);
        else
            next = xasprintf("%s%*s%.*s: %s\n", lines, (int)indent, "", (int)klen, p, quoted);
        free(lines);
        lines = next;
        indent += 2;
        p += klen;
        if (*p == '.')
            p++;
    }
    ins = pos > 0 && pos == len && text[len - 1] != '\n' ? xasprintf("\n%s", lines) : xstrdup(lines);
    free(lines);
    out = config_splice(text, len, pos, pos, ins, newlen);
out:
    if (have_doc)
        yaml_document_delete(&doc);
    free(quoted);
    free(ins);
    return out;
}

/* Writes text to path atomically (temporary file, fsync, rename), 0600. */
static int
config_write_atomic(const char *path, const char *text, size_t len, struct config_errors *errs)
{
    char *tmp = xasprintf("%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp), ret = -1;
    size_t done = 0;

    if (fd < 0) {
        config_errors_add(errs, path, 0, "cannot write next to the configuration: %s", strerror(errno));
        goto out;
    }
    if (fchmod(fd, 0600) != 0)
        goto fail;
    while (done < len) {
        ssize_t w = write(fd, text + done, len - done);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            goto fail;
        }
        done += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        goto fail;
    ret = 0;
    goto out;
fail:
    config_errors_add(errs, path, 0, "cannot write the configuration: %s", strerror(errno));
    if (fd >= 0)
        close(fd);
    unlink(tmp);
out:
    free(tmp);
    return ret;
}

int
config_write_scalars(const char *path, const char *const *keys, const char *const *values, size_t n,
                     struct config_errors *errs)
{
    size_t len;
    char *text = config_read_file(path, &len);
    int ret = -1;

    if (text == NULL) {
        config_errors_add(errs, path, 0, "cannot read the configuration: %s", strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        size_t newlen;
        char *next = config_set_in_text(path, text, len, keys[i], values[i], &newlen, errs);

        if (next == NULL)
            goto out;
        explicit_bzero(text, len);
        free(text);
        text = next;
        len = newlen;
    }
    /* The result must still be YAML, with the values where they belong. */
    {
        yaml_document_t doc;

        if (config_parse_text(path, text, len, &doc, errs) != 0)
            goto out;
        for (size_t i = 0; i < n; i++) {
            yaml_node_t *node = config_path_node(&doc, yaml_document_get_root_node(&doc), keys[i]);

            if (node == NULL || node->type != YAML_SCALAR_NODE || strcmp(config_scalar(node), values[i]) != 0) {
                config_errors_add(errs, path, 0, "could not set %s in the configuration; set it by hand", keys[i]);
                yaml_document_delete(&doc);
                goto out;
            }
        }
        yaml_document_delete(&doc);
    }
    ret = config_write_atomic(path, text, len, errs);
out:
    explicit_bzero(text, len);
    free(text);
    return ret;
}
