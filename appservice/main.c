/*
 * warroom's command line: parses the options and hands over to the
 * daemon, the registration generator or one of the admin subcommands.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("warroom %s\n", PACKAGE_VERSION);
        return 0;
    }
    fprintf(stderr, "warroom: not yet\n");
    return 1;
}
