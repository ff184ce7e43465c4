/*
 * The configuration in the audit log: at every start, the digest of the
 * effective configuration with the secrets left out, and when it differs
 * from the previous start's, which keys changed.  The core keys are read
 * from struct config through the key table (so defaults count); each
 * known bridge's section is taken as written, without the keys its table
 * marks secret.  The previous snapshot is kept in the meta table (it holds
 * no secret) to name the keys that changed.
 */
#include "autoconfig.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "audit/audit.h"
#include "audit/canonical_json.h"
#include "bridges/bridge.h"
#include "config.h"
#include "permissions.h"
#include "store/store.h"
#include "xmalloc.h"
#include "yaml_tree.h"

/* The object at the dotted path's parent inside root, made as needed;
 * *leaf points at the last component. */
static struct json_object *
audit_config_parent(struct json_object *root, const char *path, const char **leaf)
{
    struct json_object *at = root;
    const char *p = path, *dot;

    while ((dot = strchr(p, '.')) != NULL) {
        char *part = xstrndup(p, (size_t)(dot - p));
        struct json_object *next;

        if (!json_object_object_get_ex(at, part, &next) || !json_object_is_type(next, json_type_object)) {
            next = json_object_new_object();
            json_object_object_add(at, part, next);
        }
        free(part);
        at = next;
        p = dot + 1;
    }
    *leaf = p;
    return at;
}

/* A core key's value as JSON, or NULL for a secret or a subtree. */
static struct json_object *
audit_config_value(const struct config *cfg, const struct config_key *k)
{
    const char *base = (const char *)cfg + k->offset;

    switch (k->type) {
    case CONFIG_STRING:
    case CONFIG_URL: {
        const char *v = *(char *const *)(const void *)base;

        return v != NULL ? json_object_new_string(v) : json_object_new_null();
    }
    case CONFIG_SECRET:
    case CONFIG_SUBTREE:
        return NULL;
    case CONFIG_BOOL:
        return json_object_new_boolean(*(const int *)(const void *)base);
    case CONFIG_INT:
        return json_object_new_int64(*(const long *)(const void *)base);
    case CONFIG_SIZE:
    case CONFIG_DURATION: {
        uint64_t v = *(const uint64_t *)(const void *)base;

        /* Beyond 2^53 - 1 an integer is not canonical JSON: as text. */
        if (v > (uint64_t)CANONICAL_JSON_MAX_INT) {
            char buf[32];

            snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
            return json_object_new_string(buf);
        }
        return json_object_new_int64((int64_t)v);
    }
    case CONFIG_ENUM: {
        int i = *(const int *)(const void *)base;

        return json_object_new_string(k->choices != NULL ? k->choices[i] : "");
    }
    case CONFIG_LEVELMAP: {
        const struct config_level_map *m = (const void *)base;
        struct json_object *o = json_object_new_object();

        for (size_t i = 0; i < m->n; i++)
            json_object_object_add(o, m->rules[i].subject,
                                   json_object_new_string(permissions_level_name(m->rules[i].level)));
        return o;
    }
    case CONFIG_STRLIST: {
        const struct config_strlist *l = (const void *)base;
        struct json_object *a = json_object_new_array();

        for (size_t i = 0; i < l->n; i++)
            json_object_array_add(a, json_object_new_string(l->items[i]));
        return a;
    }
    }
    return NULL;
}

/* 1 if the key at path (relative to the bridge's section) is secret. */
static int
audit_config_bridge_secret(const struct bridge *b, const char *path)
{
    for (const struct config_key *k = b != NULL ? b->config : NULL; k != NULL && k->name != NULL; k++) {
        if (k->type == CONFIG_SECRET && strcmp(k->name, path) == 0)
            return 1;
    }
    return 0;
}

/* A YAML node as JSON (scalars as strings), leaving out the bridge's
 * secret keys; path is the node's dotted path within the section. */
static struct json_object *
audit_config_yaml(yaml_document_t *doc, yaml_node_t *node, const struct bridge *b, const char *path)
{
    struct json_object *o = NULL;

    if (node == NULL || yaml_tree_is_null(node))
        return json_object_new_null();
    switch (node->type) {
    case YAML_SCALAR_NODE:
        return json_object_new_string(yaml_tree_scalar(node));
    case YAML_SEQUENCE_NODE:
        o = json_object_new_array();
        for (yaml_node_item_t *i = node->data.sequence.items.start; i < node->data.sequence.items.top; i++)
            json_object_array_add(o, audit_config_yaml(doc, yaml_document_get_node(doc, *i), b, path));
        return o;
    case YAML_MAPPING_NODE:
        o = json_object_new_object();
        for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
            const char *key = yaml_tree_scalar(yaml_document_get_node(doc, p->key));
            char *sub;

            if (key == NULL)
                continue;
            sub = *path != '\0' ? xasprintf("%s.%s", path, key) : xstrdup(key);
            if (!audit_config_bridge_secret(b, sub))
                json_object_object_add(o, key, audit_config_yaml(doc, yaml_document_get_node(doc, p->value), b, sub));
            free(sub);
        }
        return o;
    default:
        return json_object_new_null();
    }
}

struct json_object *
audit_config_snapshot(const struct config *cfg)
{
    struct json_object *root = json_object_new_object(), *bridges = json_object_new_object();
    yaml_node_t *sect = NULL;

    for (const struct config_key *k = config_core_keys; k->name != NULL; k++) {
        struct json_object *v = audit_config_value(cfg, k);
        const char *leaf = NULL;
        struct json_object *parent;

        if (v == NULL)
            continue;
        /* Two statements: the parent sets leaf, which is read after. */
        parent = audit_config_parent(root, k->name, &leaf);
        json_object_object_add(parent, leaf, v);
    }
    if (cfg->doc != NULL)
        sect = yaml_tree_path(cfg->doc, yaml_document_get_root_node(cfg->doc), "bridges", NULL);
    if (sect != NULL && sect->type == YAML_MAPPING_NODE) {
        for (yaml_node_pair_t *p = sect->data.mapping.pairs.start; p < sect->data.mapping.pairs.top; p++) {
            const char *name = yaml_tree_scalar(yaml_document_get_node(cfg->doc, p->key));
            const struct bridge *b = NULL;

            for (size_t i = 0; name != NULL && bridges_all[i] != NULL; i++) {
                if (strcmp(bridges_all[i]->name, name) == 0)
                    b = bridges_all[i];
            }
            /* An unknown section is refused by warroom -t; its keys'
             * secrecy is unknown, so nothing of it is recorded. */
            if (b != NULL)
                json_object_object_add(bridges, name,
                                       audit_config_yaml(cfg->doc, yaml_document_get_node(cfg->doc, p->value), b, ""));
        }
    }
    json_object_object_add(root, "bridges", bridges);
    return root;
}

/* Flattens o into dotted paths -> canonical text of the leaf (arrays and
 * scalars are leaves). */
static void
audit_config_flatten(struct json_object *o, const char *path, struct json_object *out)
{
    if (json_object_is_type(o, json_type_object) && json_object_object_length(o) > 0) {
        json_object_object_foreach(o, key, val)
        {
            char *sub = *path != '\0' ? xasprintf("%s.%s", path, key) : xstrdup(key);

            audit_config_flatten(val, sub, out);
            free(sub);
        }
        return;
    }
    {
        char *cause = NULL, *text = canonical_json_encode(o, CANONICAL_JSON_LOSSY, NULL, &cause);

        json_object_object_add(out, path, json_object_new_string(text != NULL ? text : ""));
        free(text);
        free(cause);
    }
}

/* Orders the changed keys. */
static int
audit_config_cmp(const void *a, const void *b)
{
    return strcmp(json_object_get_string(*(struct json_object *const *)a),
                  json_object_get_string(*(struct json_object *const *)b));
}

/* The dotted keys whose values differ between two snapshots, sorted. */
static struct json_object *
audit_config_changed(struct json_object *before, struct json_object *after)
{
    struct json_object *fb = json_object_new_object(), *fa = json_object_new_object(), *keys = json_object_new_array();

    audit_config_flatten(before, "", fb);
    audit_config_flatten(after, "", fa);
    json_object_object_foreach(fa, ka, va)
    {
        struct json_object *vb;

        if (!json_object_object_get_ex(fb, ka, &vb) || strcmp(json_object_get_string(va), json_object_get_string(vb)))
            json_object_array_add(keys, json_object_new_string(ka));
    }
    {
        json_object_object_foreach(fb, kb, vb2)
        {
            (void)vb2;
            if (!json_object_object_get_ex(fa, kb, NULL))
                json_object_array_add(keys, json_object_new_string(kb));
        }
    }
    json_object_array_sort(keys, audit_config_cmp);
    json_object_put(fb);
    json_object_put(fa);
    return keys;
}

/* SHA-256 of text as 64 hex digits. */
static void
audit_config_digest(const char *text, char hex[AUDIT_HASH_HEX_SIZE])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    if (EVP_Digest(text, strlen(text), md, &len, EVP_sha256(), NULL) != 1 || len != 32)
        abort(); /* a broken libcrypto */
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

int
audit_config_record(struct store *s, const struct config *cfg, char **cause)
{
    struct json_object *snap = audit_config_snapshot(cfg), *detail = NULL, *before = NULL;
    char *text = NULL, *prev_digest = NULL, *prev_text = NULL, digest[AUDIT_HASH_HEX_SIZE];
    int ret = -1, open = 0;

    if ((text = canonical_json_encode(snap, CANONICAL_JSON_LOSSY, NULL, cause)) == NULL)
        goto out;
    audit_config_digest(text, digest);
    if (store_meta_get(s, "audit.config_digest", &prev_digest, cause) != 0 ||
        store_meta_get(s, "audit.config", &prev_text, cause) != 0)
        goto out;
    if (store_begin(s, cause) != 0)
        goto out;
    open = 1;
    detail = json_object_new_object();
    json_object_object_add(detail, "event", json_object_new_string("start"));
    json_object_object_add(detail, "digest", json_object_new_string(digest));
    json_object_object_add(detail, "config", json_object_get(snap));
    if (audit_append(s, "config", detail, cause) != 0)
        goto out;
    if (prev_digest != NULL && strcmp(prev_digest, digest) != 0) {
        json_object_put(detail);
        detail = json_object_new_object();
        before = prev_text != NULL ? json_tokener_parse(prev_text) : NULL;
        json_object_object_add(detail, "event", json_object_new_string("changed"));
        json_object_object_add(detail, "digest", json_object_new_string(digest));
        json_object_object_add(detail, "previous_digest", json_object_new_string(prev_digest));
        json_object_object_add(detail, "changed_keys",
                               before != NULL ? audit_config_changed(before, snap) : json_object_new_array());
        if (audit_append(s, "config", detail, cause) != 0)
            goto out;
        log_info(
            "audit: the configuration changed since the previous start (%s)",
            json_object_to_json_string_ext(json_object_object_get(detail, "changed_keys"), JSON_C_TO_STRING_PLAIN));
    }
    if (store_meta_set(s, "audit.config_digest", digest, cause) != 0 || store_meta_set(s, "audit.config", text, cause))
        goto out;
    open = 0;
    if (store_commit(s, cause) != 0)
        goto out;
    ret = 0;
out:
    if (open)
        store_rollback(s);
    json_object_put(snap);
    json_object_put(detail);
    json_object_put(before);
    free(text);
    free(prev_digest);
    free(prev_text);
    return ret;
}
