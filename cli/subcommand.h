/*
 * warroom's subcommands ("warroom shell", "warroom search", "warroom
 * audit verify", "warroom export"): one entry per word in cli/subcommand.c.
 * Each runs without the daemon, against the same config and database; it
 * gets the arguments after its own name and returns the exit status
 * (0 success, 1 failure, 2 usage error).
 */
#ifndef WARROOM_SUBCOMMAND_H
#define WARROOM_SUBCOMMAND_H

#include <stdio.h>

struct subcommand {
    const char *name;     /* the word after "warroom" */
    const char *synopsis; /* one line for warroom --help */
    /* argv[0] is the subcommand's name; getopt works as usual on it. */
    int (*main)(int argc, char **argv);
};

/* Each subcommand's entry point. */
int shell_main(int argc, char **argv);
int audit_main(int argc, char **argv);

/* The table, NULL-terminated. */
extern const struct subcommand subcommands_all[];

/* The entry named name, or NULL. */
const struct subcommand *subcommand_find(const char *name);

/* Prints one "       warroom <synopsis>" line per subcommand. */
void subcommand_usage(FILE *f);

#endif
