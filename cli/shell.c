/*
 * warroom shell: warroom without a homeserver.  Each line read from the
 * terminal (or a pipe) becomes an m.room.message from one local user in
 * one local room, stored like any event the homeserver pushes and offered
 * to the same router; the bots' answers, instead of going to a
 * homeserver, reach a local sink that prints their plain-text body.  So a
 * newcomer sees the bots answer, and a bridge author tries a bridge, with
 * the real bridges, permission checks and storage.
 *
 * The local room (!shell:<domain>) is set up with stored events the first
 * time: the main bot marks it as a direct chat (so commands need no "!")
 * and every bot joins it.  Their event IDs are fixed, so running the
 * shell again stores nothing twice.
 *
 *   warroom shell [-c config.yaml] [--as @user:domain] [-v]
 */
#include "autoconfig.h"

#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "bots.h"
#include "cli/local_room.h"
#include "cli/subcommand.h"
#include "clock.h"
#include "config.h"
#include "core.h"
#include "log.h"
#include "outbox.h"
#include "router.h"
#include "store/store.h"
#include "xmalloc.h"

/* A line longer than this is cut there: a Matrix event is at most 64 KiB. */
#define SHELL_MAX_LINE 60000

struct shell {
    uv_loop_t loop;
    struct config *cfg;
    struct core core;
    const char *as; /* --as, or NULL */
    struct local_room room;
    int tty; /* stdin is a terminal: print a prompt */

    union {
        uv_tty_t tty;
        uv_pipe_t pipe;
    } in;
    int in_open;
    uv_fs_t file_req; /* stdin is a regular file: read it with uv_fs_read */
    char file_buf[65536];
    int64_t file_offset;

    uv_timer_t timer; /* waits for the outbox to empty at the end */
    int timer_open;
    uv_signal_t sigint; /* Ctrl-C: end as at the end of the input; twice: now */

    char *line; /* the partial line read so far */
    size_t line_len;
    int eof;           /* no more input */
    int shutting_down; /* the router was asked to finish */
    int interrupts;    /* Ctrl-C pressed so far */
    int status;
};

/* Prints the prompt when a person is typing. */
static void
shell_prompt(struct shell *sh)
{
    if (sh->tty && !sh->eof) {
        printf("warroom> ");
        fflush(stdout);
    }
}

/* Sends one line as a message from the local user. */
static void
shell_send_line(struct shell *sh, const char *line)
{
    char *cause = NULL;

    if (line[0] == '\0') {
        shell_prompt(sh);
        return;
    }
    if (local_room_say(&sh->room, line, &cause) != 0) {
        log_error("shell: %s", cause);
        free(cause);
    }
}

/* The local sink: prints what a bot says, as a Matrix client would show
 * it (an edit replaces an earlier message: it is printed again, marked).
 * Joins and leaves are not shown.  Returns the event ID the message gets. */
static char *
shell_sink(const struct store_outbox_entry *e, struct json_object *body, void *arg)
{
    struct shell *sh = arg;
    struct json_object *shown = body, *v;
    struct bot *bot = bots_find(sh->core.bots, e->user_id);
    const char *name = bot != NULL ? bot->displayname : e->user_id;
    int edit = 0;

    if (e->kind == STORE_OUTBOX_SEND) {
        if (json_object_object_get_ex(body, "m.new_content", &v) && json_object_is_type(v, json_type_object)) {
            shown = v;
            edit = 1;
        }
        if (sh->tty)
            printf("\r");
        if (json_object_object_get_ex(shown, "body", &v) && json_object_is_type(v, json_type_string))
            printf("%s%s: %s\n", name, edit ? " (edited)" : "", json_object_get_string(v));
        if (e->blob != NULL)
            printf("%s attached %s (%zu bytes)\n", name, e->blob_name != NULL ? e->blob_name : "a file", e->blob_len);
        fflush(stdout);
        shell_prompt(sh);
    }
    return xasprintf("$shell-out-%s-%" PRId64, sh->room.nonce, e->id);
}

static void shell_finish(struct shell *sh);

/* Waits until every answer has been printed, then stops the loop. */
static void
shell_on_timer(uv_timer_t *t)
{
    struct shell *sh = t->data;

    if (outbox_depth(sh->core.outbox) == 0)
        uv_stop(&sh->loop);
}

/* The router has answered every command. */
static void
shell_on_router_done(void *arg)
{
    struct shell *sh = arg;

    uv_timer_start(&sh->timer, shell_on_timer, 0, 10);
}

/* Stops reading and lets running commands answer. */
static void
shell_finish(struct shell *sh)
{
    if (sh->shutting_down)
        return;
    sh->shutting_down = 1;
    sh->eof = 1;
    if (sh->in_open && !uv_is_closing((uv_handle_t *)&sh->in))
        uv_read_stop((uv_stream_t *)&sh->in);
    router_shutdown(sh->core.router, shell_on_router_done, sh);
}

/* Ctrl-C ends the shell as the end of its input does, letting running
 * commands answer; a second one stops at once (what still runs stays
 * recorded and runs at the next start). */
static void
shell_on_sigint(uv_signal_t *s, int signum)
{
    struct shell *sh = s->data;

    (void)signum;
    /* Counted apart from the end of input: Ctrl-C as the input ends is
     * still a first Ctrl-C. */
    if (++sh->interrupts > 1) {
        uv_stop(&sh->loop);
        return;
    }
    if (sh->tty)
        printf("\n(waiting for running commands; Ctrl-C again to stop now)\n");
    shell_finish(sh);
}

/* Splits what was read into lines and sends each complete one. */
static void
shell_take(struct shell *sh, const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\n') {
            sh->line[sh->line_len] = '\0';
            if (sh->line_len > 0 && sh->line[sh->line_len - 1] == '\r')
                sh->line[sh->line_len - 1] = '\0';
            shell_send_line(sh, sh->line);
            sh->line_len = 0;
        } else if (sh->line_len < SHELL_MAX_LINE) {
            sh->line[sh->line_len++] = buf[i];
        }
    }
}

/* At the end of the input, a last line without a newline counts too. */
static void
shell_eof(struct shell *sh)
{
    if (sh->line_len > 0) {
        sh->line[sh->line_len] = '\0';
        shell_send_line(sh, sh->line);
        sh->line_len = 0;
    }
    shell_finish(sh);
}

static void
shell_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    buf->base = xmalloc(suggested);
    buf->len = suggested;
}

static void
shell_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct shell *sh = s->data;

    if (n > 0)
        shell_take(sh, buf->base, (size_t)n);
    else if (n < 0) {
        if (n != UV_EOF)
            log_error("shell: reading the input: %s", uv_strerror((int)n));
        shell_eof(sh);
    }
    free(buf->base);
}

static void shell_read_file(struct shell *sh);

/* A chunk of a regular file given as input. */
static void
shell_on_file_read(uv_fs_t *req)
{
    struct shell *sh = req->data;
    ssize_t n = req->result;

    uv_fs_req_cleanup(req);
    if (n > 0) {
        shell_take(sh, sh->file_buf, (size_t)n);
        sh->file_offset += n;
        shell_read_file(sh);
        return;
    }
    if (n < 0)
        log_error("shell: reading the input: %s", uv_strerror((int)n));
    shell_eof(sh);
}

static void
shell_read_file(struct shell *sh)
{
    uv_buf_t b = uv_buf_init(sh->file_buf, sizeof(sh->file_buf));

    sh->file_req.data = sh;
    if (uv_fs_read(&sh->loop, &sh->file_req, 0, &b, 1, sh->file_offset, shell_on_file_read) != 0)
        shell_eof(sh);
}

/* Starts reading standard input, whatever it is. */
static int
shell_open_input(struct shell *sh)
{
    uv_handle_type type = uv_guess_handle(0);
    int rc;

    if (type == UV_FILE) {
        shell_read_file(sh);
        return 0;
    }
    if (type == UV_TTY) {
        sh->tty = 1;
        rc = uv_tty_init(&sh->loop, &sh->in.tty, 0, 1);
    } else if (type == UV_NAMED_PIPE) {
        if ((rc = uv_pipe_init(&sh->loop, &sh->in.pipe, 0)) == 0 && (rc = uv_pipe_open(&sh->in.pipe, 0)) != 0)
            uv_close((uv_handle_t *)&sh->in.pipe, NULL);
    } else {
        log_error("shell: standard input is neither a terminal, a pipe nor a file");
        return -1;
    }
    if (rc != 0) {
        log_error("shell: cannot read standard input: %s", uv_strerror(rc));
        return -1;
    }
    sh->in_open = 1;
    sh->in.pipe.data = sh;
    if ((rc = uv_read_start((uv_stream_t *)&sh->in, shell_alloc, shell_on_read)) != 0) {
        log_error("shell: cannot read standard input: %s", uv_strerror(rc));
        return -1;
    }
    return 0;
}

static void
shell_usage(FILE *f)
{
    fprintf(f, "usage: warroom shell [-c config.yaml] [--as @user:domain] [-v]\n"
               "\n"
               "Reads commands, one per line, as the user @shell:<homeserver.domain> (or --as) in a local\n"
               "direct chat with the bots, and prints their answers.  Uses the configured bridges,\n"
               "permissions and database; needs no homeserver.  End with Ctrl-D.\n"
               "\n"
               "  -c, --config FILE  configuration file (default: config.yaml)\n"
               "      --as USER      the Matrix user ID to act as\n"
               "  -v, --verbose      log at the configured level (default: warnings and errors only)\n");
}

/* Runs the shell until the input ends; returns the exit status. */
static int
shell_run(struct shell *sh)
{
    struct config_errors errs = {0};
    char *cause = NULL;

    if (core_open(&sh->core, &sh->loop, sh->cfg, 1, &errs) != 0) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.lines[i]);
        config_errors_free(&errs);
        return 1;
    }
    outbox_set_sink(sh->core.outbox, shell_sink, sh);
    if (router_start(sh->core.router, &cause) != 0) {
        log_error("cannot catch up with stored events: %s", cause);
        free(cause);
        return 1;
    }
    if (local_room_open(&sh->room, &sh->core, sh->as, &cause) != 0) {
        log_error("cannot set up the shell's room: %s", cause);
        free(cause);
        return 1;
    }
    if (shell_open_input(sh) != 0)
        return 1;
    outbox_kick(sh->core.outbox);
    if (sh->tty)
        printf("warroom shell: you are %s; type help, or !help.  Ctrl-D ends.\n", sh->room.user_id);
    shell_prompt(sh);
    uv_run(&sh->loop, UV_RUN_DEFAULT);
    if (sh->tty)
        printf("\n");
    return sh->status;
}

int
shell_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"as", required_argument, NULL, 'a'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = "config.yaml", *as = NULL;
    struct config_errors errs = {0};
    struct shell *sh = xcalloc(1, sizeof(*sh));
    int c, verbose = 0, status = 1;
    enum log_level level;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config_path = optarg;
            break;
        case 'a':
            as = optarg;
            break;
        case 'v':
            verbose = 1;
            break;
        case 'h':
            shell_usage(stdout);
            free(sh);
            return 0;
        default:
            shell_usage(stderr);
            free(sh);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "warroom shell: unexpected argument '%s'\n", argv[optind]);
        shell_usage(stderr);
        free(sh);
        return 2;
    }
    if (as != NULL && (as[0] != '@' || strchr(as, ':') == NULL)) {
        fprintf(stderr, "warroom shell: --as wants a Matrix user ID like @alice:example.org, not '%s'\n", as);
        free(sh);
        return 2;
    }
    if (config_load(config_path, &sh->cfg, &errs) != 0) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.lines[i]);
        config_errors_free(&errs);
        free(sh);
        return 1;
    }
    level = (enum log_level)sh->cfg->logging.level;
    if (!verbose && level < LOG_LEVEL_WARN)
        level = LOG_LEVEL_WARN;
    log_init(level, (enum log_format)sh->cfg->logging.format);
    sh->as = as;
    sh->line = xmalloc(SHELL_MAX_LINE + 1);
    sh->status = 0;
    if (uv_loop_init(&sh->loop) != 0) {
        log_error("cannot set up the event loop");
        goto out;
    }
    if (uv_timer_init(&sh->loop, &sh->timer) != 0 || uv_signal_init(&sh->loop, &sh->sigint) != 0)
        abort();
    sh->timer.data = sh->sigint.data = sh;
    uv_signal_start(&sh->sigint, shell_on_sigint, SIGINT);
    sh->timer_open = 1;

    status = shell_run(sh);

    /* Whatever still runs stays recorded and runs at the next start. */
    core_close(&sh->core);
    if (sh->in_open)
        uv_close((uv_handle_t *)&sh->in, NULL);
    uv_close((uv_handle_t *)&sh->timer, NULL);
    uv_close((uv_handle_t *)&sh->sigint, NULL);
    if (!sh->eof && sh->file_req.type == UV_FS)
        uv_cancel((uv_req_t *)&sh->file_req);
    uv_run(&sh->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&sh->loop) != 0) {
        log_error("the event loop did not close cleanly");
        status = 1;
    }
out:
    free(sh->line);
    local_room_clear(&sh->room);
    config_free(sh->cfg);
    free(sh);
    return status;
}
