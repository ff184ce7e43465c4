/*
 * Finding the command in a message.  A message holds a command when its
 * text starts with the command prefix ("!ping"), when it addresses a bot
 * by mention ("Warroom: ping", with or without the prefix), or when it is
 * written in a direct chat with a bot ("ping").  The reply fallback of a
 * reply ("> <@a:x> quoted\n\n") is not part of the command.  Notices,
 * emotes and edits never hold commands: bots answer with notices, and an
 * edit does not run a command again.
 */
#ifndef WARROOM_COMMAND_LINE_H
#define WARROOM_COMMAND_LINE_H

#include <json-c/json.h>

struct bots;
struct bot;

struct command_line {
    char *text;      /* the command without prefix or mention, trimmed; allocated */
    struct bot *bot; /* the bot addressed by mention or direct chat, or NULL */
    int prefixed;    /* the text started with the prefix */
};

/*
 * Extracts the command from a message's content.  dm_bot is the bot this
 * room is a direct chat with, or NULL.  Returns 0 and fills cl (free with
 * command_line_clear()), or -1 if the message holds no command.
 */
int command_line_extract(struct json_object *content, const char *prefix, struct bots *bots, struct bot *dm_bot,
                         struct command_line *cl);

void command_line_clear(struct command_line *cl);

/* The first word of text, allocated (free with free()), and in *rest the
 * remainder after white space (borrowed from text). */
char *command_line_first_word(const char *text, const char **rest);

#endif
