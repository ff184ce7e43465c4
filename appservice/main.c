/*
 * warroom's command line: parses the options and hands over to the
 * daemon, the registration generator or the configuration check.
 *
 *   warroom -g -c config.yaml -r registration.yaml   write the registration
 *   warroom -c config.yaml [-r registration.yaml]     run
 *   warroom -t -c config.yaml [-r registration.yaml]  check the config
 *   warroom <subcommand> ...                         see cli/subcommand.c
 */
#include "autoconfig.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/subcommand.h"
#include "bridge_host.h"
#include "config.h"
#include "daemon.h"
#include "json_check.h"
#include "registration/registration.h"

static void
main_usage(FILE *f)
{
    fprintf(f, "usage: warroom [-c config.yaml] [-r registration.yaml]       run warroom\n"
               "       warroom -g [-c config.yaml] [-r registration.yaml]    generate the registration file\n"
               "       warroom -t [-c config.yaml] [-r registration.yaml]    check the configuration\n");
    subcommand_usage(f);
    fprintf(f, "\n"
               "  -c, --config FILE        configuration file (default: config.yaml)\n"
               "  -r, --registration FILE  registration file (default for -g: registration.yaml)\n"
               "  -g, --generate           write the registration file for the homeserver, creating the\n"
               "                           as_token and hs_token in the config if they are missing\n"
               "  -t, --check              check the configuration (and the registration, with -r) and exit:\n"
               "                           one 'file:line: problem' per error, exit status 1 if any\n"
               "  -h, --help               this help\n"
               "  -V, --version            print the version\n"
               "\n"
               "See README.md for the configuration keys and how to register warroom with Synapse, Conduit\n"
               "and Dendrite.\n");
}

/* Prints errors, one per line, and frees them. */
static void
main_print_errors(struct config_errors *errs)
{
    for (size_t i = 0; i < errs->n; i++)
        fprintf(stderr, "%s\n", errs->lines[i]);
    config_errors_free(errs);
}

static int
main_generate(const char *config_path, const char *registration_path)
{
    struct config_errors errs = {0};

    if (registration_generate(config_path, registration_path, &errs) != 0) {
        main_print_errors(&errs);
        return 1;
    }
    printf("Wrote %s (mode 0600) and the tokens into %s.\n"
           "Give %s to your homeserver, then restart it:\n"
           "  Synapse:  add its path to app_service_config_files in homeserver.yaml\n"
           "  Conduit:  send '@conduit:<server> register-appservice' with the file's contents in a code block\n"
           "            to the admin room\n"
           "  Dendrite: add its path to app_service_api.config_files in dendrite.yaml\n"
           "Then start warroom with: warroom -c %s\n",
           registration_path, config_path, registration_path, config_path);
    return 0;
}

/* Checks the bridges' sections as the daemon's start would: unknown
 * bridges, every key, and each enabled bridge's init. */
static int
main_check_bridges(const struct config *cfg, struct config_errors *errs)
{
    struct bridge_host_options opt = {.cfg = cfg, .check_only = 1};
    struct bridge_host *h = NULL;
    uv_loop_t loop;
    int ret;

    if (uv_loop_init(&loop) != 0)
        abort();
    opt.loop = &loop;
    ret = bridge_host_new(&opt, &h, errs);
    bridge_host_free(h);
    while (uv_run(&loop, UV_RUN_NOWAIT) != 0)
        ;
    uv_loop_close(&loop);
    return ret;
}

static int
main_check(const char *config_path, const char *registration_path)
{
    struct config_errors errs = {0};
    struct config *cfg = NULL;
    int status = 0;

    if (config_load(config_path, &cfg, &errs) != 0 || config_check_runnable(cfg, &errs) != 0)
        status = 1;
    if (cfg != NULL && registration_path != NULL && registration_check(cfg, registration_path, &errs) != 0)
        status = 1;
    if (cfg != NULL && main_check_bridges(cfg, &errs) != 0)
        status = 1;
    if (status != 0)
        main_print_errors(&errs);
    else
        printf("%s: OK\n", config_path);
    config_errors_free(&errs);
    config_free(cfg);
    return status;
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"registration", required_argument, NULL, 'r'},
        {"generate", no_argument, NULL, 'g'},
        {"check", no_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = "config.yaml", *registration_path = NULL;
    int generate = 0, check = 0, c, status;

    /* A first word that is not an option names a subcommand. */
    if (argc > 1 && argv[1][0] != '-') {
        const struct subcommand *sub = subcommand_find(argv[1]);

        if (sub == NULL) {
            fprintf(stderr, "warroom: unknown subcommand '%s'\n", argv[1]);
            main_usage(stderr);
            return 2;
        }
        status = sub->main(argc - 1, argv + 1);
        json_check_cleanup();
        return status;
    }

    while ((c = getopt_long(argc, argv, "c:r:gthV", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config_path = optarg;
            break;
        case 'r':
            registration_path = optarg;
            break;
        case 'g':
            generate = 1;
            break;
        case 't':
            check = 1;
            break;
        case 'h':
            main_usage(stdout);
            return 0;
        case 'V':
            printf("warroom %s\n", PACKAGE_VERSION);
            return 0;
        default:
            main_usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "warroom: unexpected argument '%s'\n", argv[optind]);
        main_usage(stderr);
        return 2;
    }
    if (generate && check) {
        fprintf(stderr, "warroom: -g and -t do not go together\n");
        return 2;
    }
    if (generate)
        status = main_generate(config_path, registration_path != NULL ? registration_path : "registration.yaml");
    else if (check)
        status = main_check(config_path, registration_path);
    else
        status = daemon_run(config_path, registration_path);
    json_check_cleanup();
    return status;
}
