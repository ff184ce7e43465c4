/*
 * The command language; see command_parse.h.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridges/bridge.h"
#include "command_parse.h"
#include "indicator.h"
#include "xmalloc.h"

/* A growing string. */
struct command_buf {
    char *s;
    size_t len, cap;
};

static void
command_buf_add(struct command_buf *b, char c)
{
    if (b->len + 2 > b->cap) {
        b->cap = b->cap * 2 + 32;
        b->s = xrealloc(b->s, b->cap);
    }
    b->s[b->len++] = c;
    b->s[b->len] = '\0';
}

static char *
command_buf_take(struct command_buf *b)
{
    char *s = b->s != NULL ? b->s : xstrdup("");

    b->s = NULL;
    b->len = b->cap = 0;
    return s;
}

/* 1 if s[0..len) is a plain argument name. */
static int
command_is_name(const char *s, size_t len)
{
    if (len == 0 || len > 64 || !isalpha((unsigned char)s[0]))
        return 0;
    for (size_t i = 1; i < len; i++) {
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
            return 0;
    }
    return 1;
}

static void
command_words_add(struct command_words *w, char *key, char *value, int quoted, size_t offset)
{
    w->v = xreallocarray(w->v, w->n + 1, sizeof(*w->v));
    w->v[w->n].key = key;
    w->v[w->n].value = value;
    w->v[w->n].quoted = quoted;
    w->v[w->n].offset = offset;
    w->n++;
}

int
command_parse(const char *text, struct command_words *out, char **error)
{
    const char *p = text;

    memset(out, 0, sizeof(*out));
    out->text = xstrdup(text);
    *error = NULL;
    for (;;) {
        struct command_buf buf = {0};
        char *key = NULL;
        int quoted = 0, any = 0;
        size_t start;

        while (isspace((unsigned char)*p))
            p++;
        if (*p == '\0')
            break;
        start = (size_t)(p - text);
        /* One word: runs of bare characters and quoted parts, until white
         * space outside quotes. */
        while (*p != '\0' && !isspace((unsigned char)*p)) {
            if (*p == '"') {
                const char *open = p++;

                quoted = 1;
                while (*p != '"') {
                    if (*p == '\0') {
                        *error =
                            xasprintf("the quote opened at character %zu is never closed", (size_t)(open - text) + 1);
                        goto fail;
                    }
                    if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
                        p++;
                    command_buf_add(&buf, *p++);
                }
                p++;
            } else if (*p == '`') {
                const char *open = p++;

                quoted = 1;
                while (*p != '`') {
                    if (*p == '\0') {
                        *error = xasprintf("the backtick opened at character %zu is never closed",
                                           (size_t)(open - text) + 1);
                        goto fail;
                    }
                    command_buf_add(&buf, *p++);
                }
                p++;
            } else if (*p == '=' && key == NULL && !quoted && command_is_name(buf.s != NULL ? buf.s : "", buf.len)) {
                key = command_buf_take(&buf);
                for (char *k = key; *k != '\0'; k++)
                    *k = (char)tolower((unsigned char)*k);
                p++;
            } else {
                command_buf_add(&buf, *p++);
            }
            any = 1;
        }
        if (any)
            command_words_add(out, key, command_buf_take(&buf), quoted, start);
        else
            free(key);
        continue;
    fail:
        free(key);
        free(buf.s);
        command_words_clear(out);
        return -1;
    }
    return 0;
}

void
command_words_clear(struct command_words *w)
{
    for (size_t i = 0; i < w->n; i++) {
        free(w->v[i].key);
        free(w->v[i].value);
    }
    free(w->v);
    free(w->text);
    memset(w, 0, sizeof(*w));
}

/* The slot of argument arg in out, created on first use. */
static struct command_arg_value *
command_slot(struct command_args *out, const struct bridge_arg *arg)
{
    for (size_t i = 0; i < out->n; i++) {
        if (strcmp(out->v[i].name, arg->name) == 0)
            return &out->v[i];
    }
    out->v = xreallocarray(out->v, out->n + 1, sizeof(*out->v));
    memset(&out->v[out->n], 0, sizeof(out->v[out->n]));
    out->v[out->n].name = arg->name;
    return &out->v[out->n++];
}

/* A readable list of the names of a type mask ("an IP address or a domain"). */
static char *
command_type_words(unsigned types)
{
    static const struct {
        unsigned bits;
        const char *words;
    } names[] = {
        {IND_IP, "an IP address"},
        {IND_IPV4, "an IPv4 address"},
        {IND_IPV6, "an IPv6 address"},
        {IND_DOMAIN, "a domain"},
        {IND_URL, "a URL"},
        {IND_EMAIL, "an e-mail address"},
        {IND_HASH, "a hash (MD5, SHA-1 or SHA-256)"},
        {IND_MD5, "an MD5 hash"},
        {IND_SHA1, "a SHA-1 hash"},
        {IND_SHA256, "a SHA-256 hash"},
        {IND_CVE, "a CVE ID"},
        {IND_ASN, "an AS number"},
    };
    char *out = xstrdup("");
    unsigned left = types;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && left != 0; i++) {
        if ((left & names[i].bits) == names[i].bits) {
            char *next = xasprintf("%s%s%s", out, out[0] != '\0' ? " or " : "", names[i].words);

            free(out);
            out = next;
            left &= ~names[i].bits;
        }
    }
    return out;
}

/* Checks and adds one value to an argument (refanging indicators). */
static int
command_add_value(const struct bridge_arg *arg, struct command_arg_value *slot, const char *raw, char **error)
{
    char *value;

    if (arg->types != 0 && !(arg->types & (IND_TEXT | IND_FILE))) {
        char *norm = NULL;
        unsigned t = indicator_detect(raw, &norm);

        if ((t & arg->types) == 0) {
            char *want = command_type_words(arg->types);

            *error = xasprintf("%s: \"%s\" is not %s", arg->name, raw, want);
            free(want);
            free(norm);
            return -1;
        }
        slot->type = t;
        value = norm;
    } else {
        value = xstrdup(raw);
    }
    if (arg->allowed != NULL) {
        size_t i;

        for (i = 0; arg->allowed[i] != NULL; i++) {
            if (strcasecmp(value, arg->allowed[i]) == 0)
                break;
        }
        if (arg->allowed[i] == NULL) {
            char *list = xstrdup("");

            for (i = 0; arg->allowed[i] != NULL; i++) {
                char *next = xasprintf("%s%s%s", list, i ? ", " : "", arg->allowed[i]);

                free(list);
                list = next;
            }
            *error = xasprintf("%s: \"%s\" is not one of %s", arg->name, raw, list);
            free(list);
            free(value);
            return -1;
        }
        /* Store the table's spelling. */
        free(value);
        value = xstrdup(arg->allowed[i]);
    }
    slot->values = xreallocarray(slot->values, slot->n + 1, sizeof(*slot->values));
    slot->values[slot->n++] = value;
    return 0;
}

/* Adds a word's value, split at commas for an array argument. */
static int
command_add_word(const struct bridge_arg *arg, struct command_arg_value *slot, const struct command_word *w,
                 char **error)
{
    const char *p = w->value;

    if (!(arg->flags & BRIDGE_ARG_ARRAY) || w->quoted) {
        if (slot->n > 0 && !(arg->flags & BRIDGE_ARG_ARRAY)) {
            *error = xasprintf("%s is given twice", arg->name);
            return -1;
        }
        return command_add_value(arg, slot, w->value, error);
    }
    for (;;) {
        const char *comma = strchr(p, ',');
        char *one = comma != NULL ? xstrndup(p, (size_t)(comma - p)) : xstrdup(p);
        int rc = 0;

        if (one[0] != '\0')
            rc = command_add_value(arg, slot, one, error);
        free(one);
        if (rc != 0)
            return -1;
        if (comma == NULL)
            return 0;
        p = comma + 1;
    }
}

int
command_bind(const struct bridge_command *cmd, const struct command_words *words, size_t first, int has_reply,
             struct command_args *out, char **error)
{
    const struct bridge_arg *args = cmd->args;
    size_t next_positional = 0;

    memset(out, 0, sizeof(*out));
    *error = NULL;
    for (size_t i = first; i < words->n; i++) {
        const struct command_word *w = &words->v[i];
        const struct bridge_arg *arg = NULL;

        if (w->key != NULL) {
            for (size_t j = 0; args != NULL && args[j].name != NULL; j++) {
                if (strcmp(args[j].name, w->key) == 0)
                    arg = &args[j];
            }
            if (arg == NULL) {
                *error = xasprintf("there is no argument \"%s\"", w->key);
                goto fail;
            }
        } else {
            /* The next positional argument without a value; an array
             * argument takes every positional word that is left. */
            for (size_t j = next_positional; args != NULL && args[j].name != NULL; j++) {
                const struct command_arg_value *have = command_args_get(out, args[j].name);

                if (!(args[j].flags & BRIDGE_ARG_POSITIONAL))
                    continue;
                if (have != NULL && have->n > 0 && !(args[j].flags & BRIDGE_ARG_ARRAY))
                    continue;
                arg = &args[j];
                next_positional = (args[j].flags & BRIDGE_ARG_ARRAY) ? j : j + 1;
                break;
            }
            if (arg == NULL) {
                *error = xasprintf("\"%s\" is one value too many", w->value);
                goto fail;
            }
        }
        if (w->key == NULL && (arg->flags & BRIDGE_ARG_REST)) {
            /* Free text: everything from this word on, as written. */
            struct command_word rest = {.value = words->text + w->offset, .quoted = 1};
            size_t len = strlen(rest.value);

            while (len > 0 && isspace((unsigned char)rest.value[len - 1]))
                len--;
            rest.value = xstrndup(rest.value, len);
            if (command_add_word(arg, command_slot(out, arg), &rest, error) != 0) {
                free(rest.value);
                goto fail;
            }
            free(rest.value);
            break;
        }
        if (command_add_word(arg, command_slot(out, arg), w, error) != 0)
            goto fail;
    }
    for (size_t j = 0; args != NULL && args[j].name != NULL; j++) {
        const struct bridge_arg *arg = &args[j];
        struct command_arg_value *slot = command_slot(out, arg);

        if (slot->n > 0)
            continue;
        if (arg->default_value != NULL) {
            if (command_add_value(arg, slot, arg->default_value, error) != 0)
                goto fail;
            slot->from_default = 1;
        } else if ((arg->flags & BRIDGE_ARG_REQUIRED) && !(has_reply && (arg->flags & BRIDGE_ARG_FROM_REPLY))) {
            *error = xasprintf("%s is missing (%s)", arg->name, arg->help != NULL ? arg->help : "required");
            goto fail;
        }
    }
    return 0;
fail:
    command_args_clear(out);
    return -1;
}

void
command_args_clear(struct command_args *a)
{
    for (size_t i = 0; i < a->n; i++) {
        for (size_t j = 0; j < a->v[i].n; j++)
            free(a->v[i].values[j]);
        free(a->v[i].values);
    }
    free(a->v);
    memset(a, 0, sizeof(*a));
}

const struct command_arg_value *
command_args_get(const struct command_args *a, const char *name)
{
    for (size_t i = 0; i < a->n; i++) {
        if (strcmp(a->v[i].name, name) == 0)
            return &a->v[i];
    }
    return NULL;
}

void
command_args_set(struct command_args *a, const struct bridge_arg *arg, const char *value, unsigned type)
{
    struct command_arg_value *slot = command_slot(a, arg);

    slot->values = xreallocarray(slot->values, slot->n + 1, sizeof(*slot->values));
    slot->values[slot->n++] = xstrdup(value);
    slot->type = type;
    slot->from_default = 0;
}
