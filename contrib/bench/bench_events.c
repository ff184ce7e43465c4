/*
 * Benchmark events; see bench_events.h.  Event IDs come from a small
 * xorshift generator, so that every run builds the same stream and no two
 * events share an ID.
 */
#include "autoconfig.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appservice/xmalloc.h"
#include "contrib/bench/bench_events.h"

#define BENCH_ROOMS 20
#define BENCH_USERS 50

static const char bench_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static const char *const bench_words[] = {
    "beacon",   "proxy",    "phishing", "domain",   "ticket",  "analyst", "firewall", "alert",
    "hash",     "payload",  "lateral",  "movement", "malware", "vpn",     "login",    "ioc",
    "c2",       "dns",      "exfil",    "escalate", "contain", "reset",   "isolate",  "endpoint",
    "timeline", "evidence", "the",      "we",       "saw",     "from",    "on",       "at",
};

/* xorshift64*: deterministic and good enough for IDs and choices. */
static uint64_t
bench_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

/* A sentence of a few words with an indicator now and then. */
static char *
bench_sentence(uint64_t *s)
{
    char buf[512];
    size_t len = 0, words = 4 + bench_rand(s) % 14;

    for (size_t i = 0; i < words && len < sizeof(buf) - 64; i++)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? " " : "",
                                bench_words[bench_rand(s) % (sizeof(bench_words) / sizeof(bench_words[0]))]);
    if (bench_rand(s) % 4 == 0)
        snprintf(buf + len, sizeof(buf) - len, " 203.0.113.%u", (unsigned)(bench_rand(s) % 255));
    return xstrdup(buf);
}

void
bench_event_make(uint64_t n, struct bench_event *ev)
{
    uint64_t s = 0x9E3779B97F4A7C15ULL ^ (n * 0xBF58476D1CE4E5B9ULL);
    char id[45];
    struct json_object *e = json_object_new_object(), *content = json_object_new_object(), *unsig;
    unsigned kind;
    char *text;

    for (int i = 0; i < 8; i++)
        bench_rand(&s);
    id[0] = '$';
    for (int i = 1; i < 44; i++)
        id[i] = bench_b64[bench_rand(&s) % 64];
    id[44] = '\0';
    memset(ev, 0, sizeof(*ev));
    ev->event_id = xstrdup(id);
    ev->room_id = xasprintf("!room%02uBenchAbCdEf:localhost", (unsigned)(bench_rand(&s) % BENCH_ROOMS));
    ev->sender = xasprintf("@user%02u:localhost", (unsigned)(bench_rand(&s) % BENCH_USERS));
    ev->origin_server_ts = 1795836097813LL + (int64_t)n * 37;
    text = bench_sentence(&s);
    kind = (unsigned)(bench_rand(&s) % 100);
    ev->type = "m.room.message";
    if (kind < 55) { /* plain text */
        json_object_object_add(content, "msgtype", json_object_new_string("m.text"));
        json_object_object_add(content, "body", json_object_new_string(text));
    } else if (kind < 65) { /* HTML */
        char *html = xasprintf("<p>%s <code>evil.example.com</code></p>", text);

        json_object_object_add(content, "msgtype", json_object_new_string("m.text"));
        json_object_object_add(content, "body", json_object_new_string(text));
        json_object_object_add(content, "format", json_object_new_string("org.matrix.custom.html"));
        json_object_object_add(content, "formatted_body", json_object_new_string(html));
        free(html);
    } else if (kind < 75) { /* thread message */
        struct json_object *rel = json_object_new_object(), *irt = json_object_new_object();

        json_object_object_add(content, "msgtype", json_object_new_string("m.text"));
        json_object_object_add(content, "body", json_object_new_string(text));
        json_object_object_add(irt, "event_id", json_object_new_string("$7g0GhI-_EaUndX-W4DPYt3I7zyKj6UgIOh5go-LLiUA"));
        json_object_object_add(rel, "event_id", json_object_new_string("$7g0GhI-_EaUndX-W4DPYt3I7zyKj6UgIOh5go-LLiUA"));
        json_object_object_add(rel, "is_falling_back", json_object_new_boolean(1));
        json_object_object_add(rel, "m.in_reply_to", irt);
        json_object_object_add(rel, "rel_type", json_object_new_string("m.thread"));
        json_object_object_add(content, "m.relates_to", rel);
    } else if (kind < 82) { /* reply with fallback */
        struct json_object *rel = json_object_new_object(), *irt = json_object_new_object();
        char *body = xasprintf("> <@alice:localhost> first IOC from the proxy logs: 203.0.113.7\n\n%s", text);

        json_object_object_add(content, "msgtype", json_object_new_string("m.text"));
        json_object_object_add(content, "body", json_object_new_string(body));
        json_object_object_add(irt, "event_id", json_object_new_string("$7g0GhI-_EaUndX-W4DPYt3I7zyKj6UgIOh5go-LLiUA"));
        json_object_object_add(rel, "m.in_reply_to", irt);
        json_object_object_add(content, "m.relates_to", rel);
        free(body);
    } else if (kind < 88) { /* reaction */
        struct json_object *rel = json_object_new_object();

        ev->type = "m.reaction";
        json_object_object_add(rel, "event_id", json_object_new_string("$7g0GhI-_EaUndX-W4DPYt3I7zyKj6UgIOh5go-LLiUA"));
        json_object_object_add(rel, "key", json_object_new_string("\xf0\x9f\x91\x8d"));
        json_object_object_add(rel, "rel_type", json_object_new_string("m.annotation"));
        json_object_object_add(content, "m.relates_to", rel);
    } else if (kind < 93) { /* edit */
        struct json_object *rel = json_object_new_object(), *nc = json_object_new_object();
        char *body = xasprintf(" * %s", text);

        json_object_object_add(content, "msgtype", json_object_new_string("m.text"));
        json_object_object_add(content, "body", json_object_new_string(body));
        json_object_object_add(nc, "msgtype", json_object_new_string("m.text"));
        json_object_object_add(nc, "body", json_object_new_string(text));
        json_object_object_add(content, "m.new_content", nc);
        json_object_object_add(rel, "event_id", json_object_new_string("$7g0GhI-_EaUndX-W4DPYt3I7zyKj6UgIOh5go-LLiUA"));
        json_object_object_add(rel, "rel_type", json_object_new_string("m.replace"));
        json_object_object_add(content, "m.relates_to", rel);
        free(body);
    } else if (kind < 97) { /* notice */
        json_object_object_add(content, "msgtype", json_object_new_string("m.notice"));
        json_object_object_add(content, "body", json_object_new_string(text));
    } else { /* membership */
        ev->type = "m.room.member";
        ev->state_key = xstrdup(ev->sender);
        json_object_object_add(content, "membership", json_object_new_string("join"));
        json_object_object_add(content, "displayname", json_object_new_string("Analyst"));
    }
    free(text);
    json_object_object_add(e, "age", json_object_new_int(13));
    json_object_object_add(e, "content", content);
    json_object_object_add(e, "event_id", json_object_new_string(ev->event_id));
    json_object_object_add(e, "origin_server_ts", json_object_new_int64(ev->origin_server_ts));
    json_object_object_add(e, "room_id", json_object_new_string(ev->room_id));
    json_object_object_add(e, "sender", json_object_new_string(ev->sender));
    if (ev->state_key != NULL)
        json_object_object_add(e, "state_key", json_object_new_string(ev->state_key));
    json_object_object_add(e, "type", json_object_new_string(ev->type));
    unsig = json_object_new_object();
    json_object_object_add(unsig, "age", json_object_new_int(13));
    json_object_object_add(e, "unsigned", unsig);
    json_object_object_add(e, "user_id", json_object_new_string(ev->sender));
    ev->json = xstrdup(json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(e);
}

void
bench_event_clear(struct bench_event *ev)
{
    free(ev->event_id);
    free(ev->room_id);
    free(ev->sender);
    free(ev->state_key);
    free(ev->json);
    memset(ev, 0, sizeof(*ev));
}

char *
bench_transaction_body(uint64_t first, size_t count, size_t *len)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);

    if (f == NULL)
        abort();
    fputs("{\"de.sorunome.msc2409.ephemeral\":[],\"de.sorunome.msc2409.to_device\":[],\"ephemeral\":[],\"events\":[",
          f);
    for (size_t i = 0; i < count; i++) {
        struct bench_event ev;

        bench_event_make(first + i, &ev);
        fprintf(f, "%s%s", i ? "," : "", ev.json);
        bench_event_clear(&ev);
    }
    fputs("]}", f);
    if (fclose(f) != 0)
        abort();
    *len = size;
    return buf;
}
