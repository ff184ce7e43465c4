/*
 * The warroom daemon: assembles the store, the homeserver client, the
 * bots, the outbox, the router and the HTTP servers on one libuv loop,
 * runs until SIGTERM or SIGINT, then shuts down gracefully.
 */
#ifndef WARROOM_DAEMON_H
#define WARROOM_DAEMON_H

/*
 * Runs warroom with the config at config_path.  If registration_path is
 * not NULL, the registration file there is checked against the config
 * first.  Returns the process exit status: 0 after a shutdown (also one
 * the grace period cut short: what it cancelled stays queued), 1 if
 * warroom could not start or its event loop did not close cleanly.
 */
int daemon_run(const char *config_path, const char *registration_path);

#endif
