/*
 * The table of subcommands, as tmux's cmd_table: adding one is a file in
 * cli/, one line here and one in Makefile.am.
 */
#include "autoconfig.h"

#include <stddef.h>
#include <string.h>

#include "cli/subcommand.h"

const struct subcommand subcommands_all[] = {
    {"audit", "audit verify|show [-c config.yaml] [...]      check or print the tamper-evident audit log", audit_main},
    {"shell", "shell [-c config.yaml] [--as USER]            talk to the bots without a homeserver", shell_main},
    {NULL, NULL, NULL},
};

const struct subcommand *
subcommand_find(const char *name)
{
    for (const struct subcommand *s = subcommands_all; s->name != NULL; s++)
        if (strcmp(s->name, name) == 0)
            return s;
    return NULL;
}

void
subcommand_usage(FILE *f)
{
    for (const struct subcommand *s = subcommands_all; s->name != NULL; s++)
        fprintf(f, "       warroom %s\n", s->synopsis);
}
