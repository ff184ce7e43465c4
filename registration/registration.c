/*
 * Generating and checking the registration file; see registration.h.  The
 * file is written with libyaml's emitter, and compared with the config
 * through libyaml's loader, so quoting is never done by hand.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "appservice/xmalloc.h"
#include "registration/registration.h"

#define REGISTRATION_TOKEN_LEN 64

static const char registration_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

char *
registration_generate_token(void)
{
    char *token = xmalloc(REGISTRATION_TOKEN_LEN + 1);
    unsigned char buf[64];
    size_t n = 0;

    /* 248 = 4 * 62: bytes at or above it are dropped, so every character
     * of the alphabet is equally likely. */
    while (n < REGISTRATION_TOKEN_LEN) {
        if (RAND_bytes(buf, sizeof(buf)) != 1)
            abort(); /* no randomness: nothing safe can be generated */
        for (size_t i = 0; i < sizeof(buf) && n < REGISTRATION_TOKEN_LEN; i++) {
            if (buf[i] < 248)
                token[n++] = registration_alphabet[buf[i] % 62];
        }
    }
    explicit_bzero(buf, sizeof(buf));
    token[n] = '\0';
    return token;
}

/* Appends s to out with regular-expression metacharacters escaped. */
static char *
registration_escape_append(char *out, const char *s, size_t len)
{
    size_t n = strlen(out), extra = 0;

    for (size_t i = 0; i < len; i++)
        extra += strchr(".^$*+?()[]{}|\\", s[i]) != NULL ? 2 : 1;
    out = xrealloc(out, n + extra + 1);
    for (size_t i = 0; i < len; i++) {
        if (strchr(".^$*+?()[]{}|\\", s[i]) != NULL)
            out[n++] = '\\';
        out[n++] = s[i];
    }
    out[n] = '\0';
    return out;
}

/* "<sigil><template with {name} as .*>:<server>", escaped. */
static char *
registration_regex(const struct config *cfg, char sigil)
{
    const char *t = cfg->bridge.username_template, *name = strstr(t, "{name}");
    char *out = xmalloc(2);

    out[0] = sigil;
    out[1] = '\0';
    if (name == NULL) {
        out = registration_escape_append(out, t, strlen(t));
    } else {
        out = registration_escape_append(out, t, (size_t)(name - t));
        out = xrealloc(out, strlen(out) + 3);
        strcat(out, ".*");
        out = registration_escape_append(out, name + 6, strlen(name + 6));
    }
    out = registration_escape_append(out, ":", 1);
    out = registration_escape_append(out, cfg->homeserver.domain, strlen(cfg->homeserver.domain));
    return out;
}

char *
registration_user_regex(const struct config *cfg)
{
    return registration_regex(cfg, '@');
}

char *
registration_alias_regex(const struct config *cfg)
{
    return registration_regex(cfg, '#');
}

/* libyaml's output callback: appends to a growing buffer. */
static int
registration_write_handler(void *data, unsigned char *buffer, size_t size)
{
    FILE *f = data;

    return fwrite(buffer, 1, size, f) == size;
}

/* Emits one scalar; quoted unless plain is set (for booleans). */
static int
registration_scalar(yaml_emitter_t *e, const char *value, int plain)
{
    yaml_event_t ev;

    if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)value, (int)strlen(value), plain, !plain,
                                      plain ? YAML_PLAIN_SCALAR_STYLE : YAML_DOUBLE_QUOTED_SCALAR_STYLE))
        return 0;
    return yaml_emitter_emit(e, &ev);
}

/* Emits "key: value". */
static int
registration_pair(yaml_emitter_t *e, const char *key, const char *value, int plain)
{
    return registration_scalar(e, key, 1) && registration_scalar(e, value, plain);
}

static int
registration_start(yaml_emitter_t *e, int mapping, int flow)
{
    yaml_event_t ev;

    if (mapping)
        yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
                                            flow ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE);
    else
        yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
                                             flow ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE);
    return yaml_emitter_emit(e, &ev);
}

static int
registration_end(yaml_emitter_t *e, int mapping)
{
    yaml_event_t ev;

    if (mapping)
        yaml_mapping_end_event_initialize(&ev);
    else
        yaml_sequence_end_event_initialize(&ev);
    return yaml_emitter_emit(e, &ev);
}

/* Emits a namespace list with one {exclusive, regex} entry. */
static int
registration_namespace(yaml_emitter_t *e, const char *key, const char *regex, int exclusive)
{
    return registration_scalar(e, key, 1) && registration_start(e, 0, 0) && registration_start(e, 1, 0) &&
           registration_pair(e, "exclusive", exclusive ? "true" : "false", 1) &&
           registration_pair(e, "regex", regex, 0) && registration_end(e, 1) && registration_end(e, 0);
}

/* Writes the registration document for cfg (with both tokens) to f. */
static int
registration_emit(const struct config *cfg, FILE *f)
{
    yaml_emitter_t e;
    yaml_event_t ev;
    char *users = registration_user_regex(cfg), *aliases = registration_alias_regex(cfg);
    int ok;

    fputs("# Generated by warroom -g from the configuration. Give this file to the homeserver\n"
          "# (see README.md, \"Registering with your homeserver\") and keep it secret: it holds\n"
          "# the tokens. Generate it again whenever the configuration's appservice section changes.\n",
          f);
    if (!yaml_emitter_initialize(&e))
        abort();
    yaml_emitter_set_output(&e, registration_write_handler, f);
    yaml_emitter_set_unicode(&e, 1);
    yaml_emitter_set_width(&e, -1);
    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    ok = yaml_emitter_emit(&e, &ev);
    yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
    ok = ok && yaml_emitter_emit(&e, &ev);
    ok = ok && registration_start(&e, 1, 0) && registration_pair(&e, "id", cfg->appservice.id, 0) &&
         registration_pair(&e, "url", cfg->appservice.address, 0) &&
         registration_pair(&e, "as_token", cfg->appservice.as_token, 0) &&
         registration_pair(&e, "hs_token", cfg->appservice.hs_token, 0) &&
         registration_pair(&e, "sender_localpart", cfg->appservice.bot_username, 0) &&
         registration_scalar(&e, "namespaces", 1) && registration_start(&e, 1, 0) &&
         registration_namespace(&e, "users", users, 1) && registration_namespace(&e, "aliases", aliases, 0) &&
         registration_scalar(&e, "rooms", 1) && registration_start(&e, 0, 1) && registration_end(&e, 0) &&
         registration_end(&e, 1) && registration_scalar(&e, "protocols", 1) && registration_start(&e, 0, 1) &&
         registration_scalar(&e, "warroom", 0) && registration_end(&e, 0) &&
         registration_pair(&e, "rate_limited", "false", 1) && registration_pair(&e, "receive_ephemeral", "true", 1) &&
         registration_pair(&e, "de.sorunome.msc2409.push_ephemeral", "true", 1) &&
         registration_pair(&e, "org.matrix.msc3202", "true", 1) && registration_end(&e, 1);
    yaml_document_end_event_initialize(&ev, 1);
    ok = ok && yaml_emitter_emit(&e, &ev);
    yaml_stream_end_event_initialize(&ev);
    ok = ok && yaml_emitter_emit(&e, &ev) && yaml_emitter_flush(&e);
    yaml_emitter_delete(&e);
    free(users);
    free(aliases);
    return ok ? 0 : -1;
}

/* Writes the registration for cfg to path atomically, with mode 0600. */
static int
registration_write(const struct config *cfg, const char *path, struct config_errors *errs)
{
    struct stat st;
    char *tmp = NULL, *buf = NULL;
    size_t len = 0;
    FILE *mem;
    int fd = -1, ret = -1;

    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        config_errors_add(errs, path, 0, "refusing to replace something that is not a regular file%s",
                          S_ISLNK(st.st_mode) ? " (a symbolic link)" : "");
        return -1;
    }
    if ((mem = open_memstream(&buf, &len)) == NULL)
        abort();
    if (registration_emit(cfg, mem) != 0) {
        fclose(mem);
        config_errors_add(errs, path, 0, "cannot produce the registration (libyaml emitter error)");
        goto out;
    }
    if (fclose(mem) != 0)
        abort();
    tmp = xasprintf("%s.tmp-XXXXXX", path);
    if ((fd = mkstemp(tmp)) < 0 || fchmod(fd, 0600) != 0 || write(fd, buf, len) != (ssize_t)len || fsync(fd) != 0) {
        config_errors_add(errs, path, 0, "cannot write the registration: %s", strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        config_errors_add(errs, path, 0, "cannot write the registration: %s", strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        config_errors_add(errs, path, 0, "cannot write the registration: %s", strerror(errno));
        goto out;
    }
    ret = 0;
out:
    if (fd >= 0)
        close(fd);
    if (ret != 0 && tmp != NULL)
        unlink(tmp);
    if (buf != NULL) {
        explicit_bzero(buf, len);
        free(buf);
    }
    free(tmp);
    return ret;
}

int
registration_generate(const char *config_path, const char *registration_path, struct config_errors *errs)
{
    struct config *cfg = NULL;
    const char *keys[2], *values[2];
    char *as = NULL, *hs = NULL;
    size_t n = 0;
    int ret = -1;

    if (config_load(config_path, &cfg, errs) != 0)
        goto out;
    if (cfg->appservice.as_token == NULL || cfg->appservice.as_token[0] == '\0') {
        as = registration_generate_token();
        keys[n] = "appservice.as_token";
        values[n++] = as;
    }
    if (cfg->appservice.hs_token == NULL || cfg->appservice.hs_token[0] == '\0') {
        hs = registration_generate_token();
        keys[n] = "appservice.hs_token";
        values[n++] = hs;
    }
    if (n > 0) {
        if (config_write_scalars(config_path, keys, values, n, errs) != 0)
            goto out;
        /* Read back what was written: the registration must match the
         * config exactly as warroom will load it. */
        config_free(cfg);
        cfg = NULL;
        if (config_load(config_path, &cfg, errs) != 0)
            goto out;
    }
    if (config_check_runnable(cfg, errs) != 0)
        goto out;
    ret = registration_write(cfg, registration_path, errs);
out:
    xfree_secret(as);
    xfree_secret(hs);
    config_free(cfg);
    return ret;
}

/* The scalar value at key of a mapping, or NULL; *line gets its line. */
static const char *
registration_get(yaml_document_t *doc, yaml_node_t *map, const char *key, size_t *line)
{
    if (map == NULL || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key), *v = yaml_document_get_node(doc, p->value);

        if (k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, key) == 0) {
            *line = v->start_mark.line + 1;
            return v->type == YAML_SCALAR_NODE ? (const char *)v->data.scalar.value : "";
        }
    }
    return NULL;
}

/* The node at key of a mapping, or NULL. */
static yaml_node_t *
registration_node(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
    if (map == NULL || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);

        if (k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, key) == 0)
            return yaml_document_get_node(doc, p->value);
    }
    return NULL;
}

/* Compares one field; secrets are compared but never printed. */
static int
registration_compare(yaml_document_t *doc, yaml_node_t *root, const char *path, const char *key, const char *want,
                     const char *config_key, int secret, struct config_errors *errs)
{
    size_t line = 1;
    const char *got = registration_get(doc, root, key, &line);
    size_t glen, wlen;

    if (got == NULL) {
        config_errors_add(errs, path, 1, "%s is missing (regenerate with warroom -g)", key);
        return -1;
    }
    glen = strlen(got);
    wlen = strlen(want);
    if (strcmp(key, "url") == 0) {
        while (glen > 0 && got[glen - 1] == '/')
            glen--;
    }
    if (glen == wlen && strncmp(got, want, wlen) == 0)
        return 0;
    if (secret)
        config_errors_add(errs, path, line,
                          "%s differs from %s in the configuration: regenerate with warroom -g and install the new "
                          "file on the homeserver",
                          key, config_key);
    else
        config_errors_add(errs, path, line,
                          "%s is '%s' but %s in the configuration is '%s': regenerate with warroom -g and install "
                          "the new file on the homeserver",
                          key, got, config_key, want);
    return -1;
}

int
registration_check(const struct config *cfg, const char *registration_path, struct config_errors *errs)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_node_t *root, *ns, *users;
    FILE *f = fopen(registration_path, "rb");
    char *regex = registration_user_regex(cfg);
    int ret = -1, found = 0;
    size_t line = 1;
    const char *v;

    if (f == NULL) {
        config_errors_add(errs, registration_path, 0, "cannot read the registration: %s (create it with warroom -g)",
                          strerror(errno));
        free(regex);
        return -1;
    }
    if (!yaml_parser_initialize(&parser))
        abort();
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        config_errors_add(errs, registration_path, parser.problem_mark.line + 1, "YAML syntax error: %s",
                          parser.problem != NULL ? parser.problem : "unknown problem");
        yaml_parser_delete(&parser);
        fclose(f);
        free(regex);
        return -1;
    }
    yaml_parser_delete(&parser);
    fclose(f);
    root = yaml_document_get_root_node(&doc);
    if (root == NULL || root->type != YAML_MAPPING_NODE) {
        config_errors_add(errs, registration_path, 1, "not a registration file (expected a mapping)");
        goto out;
    }
    ret = 0;
    ret |= registration_compare(&doc, root, registration_path, "id", cfg->appservice.id, "appservice.id", 0, errs);
    ret |= registration_compare(&doc, root, registration_path, "url", cfg->appservice.address, "appservice.address", 0,
                                errs);
    ret |= registration_compare(&doc, root, registration_path, "sender_localpart", cfg->appservice.bot_username,
                                "appservice.bot.username", 0, errs);
    if (cfg->appservice.as_token != NULL)
        ret |= registration_compare(&doc, root, registration_path, "as_token", cfg->appservice.as_token,
                                    "appservice.as_token", 1, errs);
    if (cfg->appservice.hs_token != NULL)
        ret |= registration_compare(&doc, root, registration_path, "hs_token", cfg->appservice.hs_token,
                                    "appservice.hs_token", 1, errs);
    ns = registration_node(&doc, root, "namespaces");
    users = registration_node(&doc, ns, "users");
    if (users != NULL && users->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = users->data.sequence.items.start; it < users->data.sequence.items.top; it++) {
            yaml_node_t *entry = yaml_document_get_node(&doc, *it);
            const char *r = registration_get(&doc, entry, "regex", &line);
            const char *ex = registration_get(&doc, entry, "exclusive", &line);

            if (r != NULL && strcmp(r, regex) == 0 && ex != NULL && strcmp(ex, "true") == 0)
                found = 1;
        }
    }
    if (!found) {
        config_errors_add(errs, registration_path, users != NULL ? users->start_mark.line + 1 : 1,
                          "namespaces.users has no exclusive entry '%s' for the bots (bridge.username_template): "
                          "regenerate with warroom -g",
                          regex);
        ret = -1;
    }
    v = registration_get(&doc, root, "rate_limited", &line);
    if (v == NULL || strcmp(v, "false") != 0) {
        config_errors_add(errs, registration_path, v != NULL ? line : 1,
                          "rate_limited must be false, or the homeserver will slow the bots down");
        ret = -1;
    }
    ret = ret != 0 ? -1 : 0;
out:
    /* The document holds the tokens: wipe its scalars before freeing. */
    for (yaml_node_t *n = doc.nodes.start; n < doc.nodes.top; n++) {
        if (n->type == YAML_SCALAR_NODE)
            explicit_bzero(n->data.scalar.value, n->data.scalar.length);
    }
    yaml_document_delete(&doc);
    free(regex);
    return ret;
}
