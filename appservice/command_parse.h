/*
 * The command language, as in XSOAR's war room:
 *
 *   <tool> [<command>] [positional ...] [name=value ...]
 *
 * Values may be double-quoted ("two words", with \" and \\ inside) or in
 * backticks (`taken as written`, no escapes), so that a value can hold
 * spaces, quotes or '='.  A word whose part before '=' is a plain name
 * (letters, digits, '_' and '-', starting with a letter) is name=value;
 * any other word (a URL with a query string) is positional.
 *
 * Parsing is in two steps: command_parse() splits the text into words;
 * command_bind() matches them to one command's argument table, checks
 * them (required, allowed values, indicator types, after refanging
 * defanged indicators) and reports, in words an analyst understands, what
 * is wrong.
 */
#ifndef WARROOM_COMMAND_PARSE_H
#define WARROOM_COMMAND_PARSE_H

#include <stddef.h>

struct bridge_command;
struct bridge_arg;

/* One word of a command: positional (key NULL) or name=value. */
struct command_word {
    char *key;
    char *value;
    int quoted;    /* the value was quoted (it is never split into an array) */
    size_t offset; /* where the word starts in the text */
};

struct command_words {
    struct command_word *v;
    size_t n;
    char *text; /* the text parsed, for BRIDGE_ARG_REST */
};

/* Splits text into words.  Returns 0, or -1 with an allocated message in
 * *error ("the quote opened at character 12 is never closed").  Free with
 * command_words_clear(). */
int command_parse(const char *text, struct command_words *out, char **error);
void command_words_clear(struct command_words *w);

/* The values of one argument after binding. */
struct command_arg_value {
    const char *name; /* the argument's name (borrowed from the table) */
    char **values;    /* refanged and normalised; one unless the argument is an array */
    size_t n;
    unsigned type; /* the indicator type recognised (0 for text) */
    int from_default;
};

struct command_args {
    struct command_arg_value *v;
    size_t n;
};

/*
 * Binds words[first..] to cmd's arguments.  Positional words fill the
 * BRIDGE_ARG_POSITIONAL arguments in order (an array argument takes all
 * that are left); name=value sets an argument by name; array values are
 * split at commas.  Defaults fill what is absent.  has_reply says whether
 * the command replies to a message (a BRIDGE_ARG_FROM_REPLY argument may
 * then stay empty; the caller fills it).  Returns 0, or -1 with an
 * allocated message in *error.  Free with command_args_clear().
 */
int command_bind(const struct bridge_command *cmd, const struct command_words *words, size_t first, int has_reply,
                 struct command_args *out, char **error);
void command_args_clear(struct command_args *a);

/* Adds a value to an argument (one taken from the message replied to). */
void command_args_set(struct command_args *a, const struct bridge_arg *arg, const char *value, unsigned type);

/* The bound argument called name, or NULL. */
const struct command_arg_value *command_args_get(const struct command_args *a, const char *name);

#endif
