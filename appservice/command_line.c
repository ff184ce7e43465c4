/*
 * Extracting commands from messages; see command_line.h.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bots.h"
#include "command_line.h"
#include "xmalloc.h"

/* Returns the string member key of obj, or NULL. */
static const char *
command_line_string(struct json_object *obj, const char *key)
{
    struct json_object *v;

    if (obj == NULL || !json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* Skips the reply fallback at the start of a reply's body: lines that
 * begin with "> ", then one empty line. */
static const char *
command_line_skip_fallback(const char *body)
{
    const char *p = body;

    if (strncmp(p, "> ", 2) != 0)
        return body;
    while (strncmp(p, "> ", 2) == 0 || strncmp(p, ">\n", 2) == 0) {
        const char *nl = strchr(p, '\n');

        if (nl == NULL)
            return body; /* all quote: no command after it */
        p = nl + 1;
    }
    if (*p == '\n')
        p++;
    return p;
}

/* If text starts with name (case-insensitive) followed by ':' or ',' (or
 * the end), returns the text after it; else NULL. */
static const char *
command_line_after_name(const char *text, const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || strncasecmp(text, name, n) != 0)
        return NULL;
    text += n;
    if (*text == ':' || *text == ',')
        return text + 1;
    if (*text == '\0')
        return text;
    return NULL;
}

/* The text of the first pill in formatted_body if it starts the message
 * and points at user_id ("<a href="https://matrix.to/#/@x:y">Name</a>"). */
static char *
command_line_pill_text(const char *formatted, const char *user_id)
{
    static const char head[] = "<a href=\"https://matrix.to/#/";
    const char *p, *end;

    if (formatted == NULL || strncmp(formatted, head, sizeof(head) - 1) != 0)
        return NULL;
    p = formatted + sizeof(head) - 1;
    if (strncmp(p, user_id, strlen(user_id)) != 0 || p[strlen(user_id)] != '"')
        return NULL;
    p = strchr(p, '>');
    if (p == NULL || (end = strstr(p, "</a>")) == NULL)
        return NULL;
    return xstrndup(p + 1, (size_t)(end - p - 1));
}

/* If the message starts by naming bot, returns the text after the name. */
static const char *
command_line_strip_mention(const char *text, struct json_object *content, struct bot *bot)
{
    const char *names[3] = {bot->user_id, bot->displayname, bot->localpart};
    char *pill = command_line_pill_text(command_line_string(content, "formatted_body"), bot->user_id);
    const char *after = NULL;

    if (pill != NULL)
        after = command_line_after_name(text, pill);
    free(pill);
    for (size_t i = 0; after == NULL && i < 3; i++)
        after = command_line_after_name(text, names[i]);
    return after;
}

/* 1 if m.mentions.user_ids holds user_id. */
static int
command_line_mentions(struct json_object *content, const char *user_id)
{
    struct json_object *mentions, *ids;

    if (!json_object_object_get_ex(content, "m.mentions", &mentions) ||
        !json_object_object_get_ex(mentions, "user_ids", &ids) || !json_object_is_type(ids, json_type_array))
        return 0;
    for (size_t i = 0; i < json_object_array_length(ids); i++) {
        struct json_object *v = json_object_array_get_idx(ids, i);

        if (json_object_is_type(v, json_type_string) && strcmp(json_object_get_string(v), user_id) == 0)
            return 1;
    }
    return 0;
}

int
command_line_extract(struct json_object *content, const char *prefix, struct bots *bots, struct bot *dm_bot,
                     struct command_line *cl)
{
    const char *msgtype = command_line_string(content, "msgtype");
    const char *body = command_line_string(content, "body");
    struct json_object *rel;
    const char *text, *rel_type;
    size_t len;

    memset(cl, 0, sizeof(*cl));
    if (msgtype == NULL || strcmp(msgtype, "m.text") != 0 || body == NULL)
        return -1;
    if (json_object_object_get_ex(content, "m.relates_to", &rel)) {
        rel_type = command_line_string(rel, "rel_type");
        if (rel_type != NULL && strcmp(rel_type, "m.replace") == 0)
            return -1;
        if (json_object_object_get_ex(rel, "m.in_reply_to", NULL))
            body = command_line_skip_fallback(body);
    }
    text = body;
    while (isspace((unsigned char)*text))
        text++;

    for (struct bot *b = bots_first(bots); b != NULL && cl->bot == NULL; b = b->next) {
        const char *after = command_line_strip_mention(text, content, b);

        if (after != NULL) {
            cl->bot = b;
            text = after;
        } else if (command_line_mentions(content, b->user_id)) {
            cl->bot = b; /* mentioned elsewhere in the message */
        }
    }
    if (cl->bot == NULL)
        cl->bot = dm_bot;
    while (isspace((unsigned char)*text))
        text++;
    if (prefix[0] != '\0' && strncmp(text, prefix, strlen(prefix)) == 0) {
        cl->prefixed = 1;
        text += strlen(prefix);
    }
    if (!cl->prefixed && cl->bot == NULL)
        return -1;
    len = strlen(text);
    while (len > 0 && isspace((unsigned char)text[len - 1]))
        len--;
    cl->text = xstrndup(text, len);
    return 0;
}

void
command_line_clear(struct command_line *cl)
{
    free(cl->text);
    memset(cl, 0, sizeof(*cl));
}

char *
command_line_first_word(const char *text, const char **rest)
{
    const char *end = text;
    char *word;

    while (*end != '\0' && !isspace((unsigned char)*end))
        end++;
    word = xstrndup(text, (size_t)(end - text));
    for (char *p = word; *p != '\0'; p++)
        *p = (char)tolower((unsigned char)*p);
    while (isspace((unsigned char)*end))
        end++;
    if (rest != NULL)
        *rest = end;
    return word;
}
