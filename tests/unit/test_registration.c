/*
 * The registration file: tokens (length, alphabet, no two alike, no
 * modulo bias), the namespace regexes, the whole -g flow (tokens written
 * back into the config, every field of the registration, mode 0600, a
 * second run changing nothing, refusing symlinks), and registration_check
 * catching each mismatch without ever printing a token.
 */
#include "autoconfig.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "appservice/config.h"
#include "appservice/xmalloc.h"
#include "appservice/yaml_tree.h"
#include "registration/registration.h"
#include "tests/tap.h"
#include "tests/unit/fixture.h"

#define CONFIG_TEXT                                                                                                    \
    "# The operator's comments must survive -g.\n"                                                                     \
    "homeserver:\n"                                                                                                    \
    "  address: http://localhost:8008   # Synapse\n"                                                                   \
    "  domain: example.org\n"                                                                                          \
    "appservice:\n"                                                                                                    \
    "  address: http://127.0.0.1:29333/\n"                                                                             \
    "  port: 29333\n"                                                                                                  \
    "\n"                                                                                                               \
    "logging:\n"                                                                                                       \
    "  level: debug\n"

static char *tmpdir;

static char *
write_file(const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");

    if (f == NULL || fwrite(text, 1, strlen(text), f) != strlen(text) || fclose(f) != 0) {
        printf("# cannot write %s\n", path);
        abort();
    }
    return path;
}

static char *
read_file(const char *path)
{
    char *text = NULL, *cause = NULL;
    size_t len;

    if (yaml_tree_read_file(path, &text, &len, &cause) != 0) {
        printf("# %s: %s\n", path, cause);
        free(cause);
    }
    return text;
}

/* text with the first occurrence of from replaced by to; allocated. */
static char *
replace(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);

    if (at == NULL) {
        printf("# '%s' not found\n", from);
        return xstrdup(text);
    }
    return xasprintf("%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
}

/* The errors without the file name, joined with " | "; static buffer. */
static const char *
errors_joined(const struct config_errors *errs, const char *path)
{
    static char buf[8192];
    size_t plen = strlen(path);

    buf[0] = '\0';
    for (size_t i = 0; i < errs->n; i++) {
        const char *line = errs->lines[i];

        if (strncmp(line, path, plen) == 0 && line[plen] == ':')
            line += plen + 1;
        if (i > 0)
            strncat(buf, " | ", sizeof(buf) - strlen(buf) - 1);
        strncat(buf, line, sizeof(buf) - strlen(buf) - 1);
    }
    return buf;
}

static struct config *
load(const char *path)
{
    struct config *cfg = NULL;
    struct config_errors errs = {0};

    if (config_load(path, &cfg, &errs) != 0)
        printf("# %s\n", errors_joined(&errs, path));
    config_errors_free(&errs);
    return cfg;
}

static void
test_tokens(void)
{
    enum { N = 2000 };
    size_t counts[256] = {0}, lo = SIZE_MAX, hi = 0;
    char *first = registration_generate_token(), *t;
    int alphabet_ok = 1, length_ok = 1, distinct = 1;

    ok(first != NULL && strlen(first) == REGISTRATION_TOKEN_LEN, "a token has 64 characters");
    for (int i = 0; i < N; i++) {
        t = registration_generate_token();
        if (t == NULL || strlen(t) != REGISTRATION_TOKEN_LEN) {
            length_ok = 0;
            xfree_secret(t);
            continue;
        }
        for (const char *p = t; *p != '\0'; p++) {
            if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
                alphabet_ok = 0;
            counts[(unsigned char)*p]++;
        }
        if (first != NULL && strcmp(t, first) == 0)
            distinct = 0;
        if (i == 0)
            ok(strcmp(t, first) != 0, "two tokens differ");
        xfree_secret(t);
    }
    ok(length_ok, "%d more tokens of 64 characters", N);
    ok(alphabet_ok, "only [A-Za-z0-9]");
    ok(distinct, "none equal to the first");
    /* A chi-square test of uniformity over the 62 characters (61 degrees
     * of freedom: mean 61, sd 11).  Fair tokens exceed 150 about once in
     * 10^10 runs; a plain byte % 62 makes eight characters 25% more
     * frequent, which gives a statistic near 800. */
    double expected = (double)N * REGISTRATION_TOKEN_LEN / 62.0, chi2 = 0;

    for (int c = 0; c < 256; c++) {
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            continue;
        if (counts[c] < lo)
            lo = counts[c];
        if (counts[c] > hi)
            hi = counts[c];
        chi2 += ((double)counts[c] - expected) * ((double)counts[c] - expected) / expected;
    }
    ok(lo > 0 && chi2 < 150, "every character about equally likely (chi-square %.1f, min %zu, max %zu)", chi2, lo, hi);
    xfree_secret(first);
}

/* The regex for a template and domain, via a config file. */
static char *
regex_for(const char *tmpl, const char *domain, int alias)
{
    char *text = xasprintf("homeserver:\n  address: http://hs\n  domain: '%s'\nappservice:\n  address: http://as\n"
                           "bridge:\n  username_template: '%s'\n",
                           domain, tmpl);
    char *path = write_file("regex.yaml", text);
    struct config *cfg = load(path);
    char *regex = cfg == NULL ? xstrdup("(no config)")
                  : alias     ? registration_alias_regex(cfg)
                              : registration_user_regex(cfg);

    config_free(cfg);
    free(path);
    free(text);
    return regex;
}

/* 1 if the POSIX extended regex matches all of s. */
static int
matches(const char *regex, const char *s)
{
    regex_t re;
    regmatch_t m;
    int r;

    if (regcomp(&re, regex, REG_EXTENDED) != 0)
        return -1;
    r = regexec(&re, s, 1, &m, 0) == 0 && m.rm_so == 0 && (size_t)m.rm_eo == strlen(s);
    regfree(&re);
    return r;
}

static void
test_regex(void)
{
    char *r;

    r = regex_for("soc_{name}", "example.org", 0);
    is_str(r, "^@soc_.*:example\\.org$", "default user namespace");
    ok(matches(r, "@soc_dns:example.org") == 1, "matches a bot");
    ok(matches(r, "@soc_dns:exampleXorg") == 0, "the dot is literal");
    ok(matches(r, "@soc_dns:example.org.evil.com") == 0, "anchored at the end: another server is not claimed");
    ok(matches(r, "@mallory:evil.com@soc_dns:example.org") == 0, "anchored at the start");
    ok(matches(r, "@alice:example.org") == 0, "not a person");
    free(r);
    r = regex_for("soc_{name}", "example.org", 1);
    is_str(r, "^#soc_.*:example\\.org$", "alias namespace");
    free(r);
    r = regex_for("w.r+{name}=x/y", "[::1]:8448", 0);
    is_str(r, "^@w\\.r\\+.*=x/y:\\[::1\\]:8448$", "metacharacters escaped, IPv6 server name");
    ok(matches(r, "@w.r+dns=x/y:[::1]:8448") == 1, "matches a bot");
    ok(matches(r, "@wwrrrdns=x/y:[::1]:8448") == 0, ". and + are literal");
    free(r);
    r = regex_for("{name}.bot", "localhost", 0);
    is_str(r, "^@.*\\.bot:localhost$", "template with a suffix");
    free(r);
}

/* Checks every field of the registration file against cfg. */
static void
check_registration_fields(const char *path, const struct config *cfg)
{
    char *text = read_file(path), *cause = NULL;
    yaml_document_t doc;
    yaml_node_t *root, *n;
    size_t line;

    if (text == NULL || yaml_tree_parse(text, strlen(text), &doc, &line, &cause) != 0) {
        ok(0, "registration parses: %s", cause != NULL ? cause : "unreadable");
        free(cause);
        free(text);
        return;
    }
    ok(strncmp(text, "# Generated by warroom -g. Give this file to your homeserver (see README).\n", 75) == 0,
       "starts with the comment");
    root = yaml_document_get_root_node(&doc);
#define GET(p) yaml_tree_scalar(yaml_tree_path(&doc, root, (p), NULL))
    is_str(GET("id"), "warroom", "id");
    is_str(GET("url"), "http://127.0.0.1:29333", "url");
    is_str(GET("as_token"), cfg->appservice.as_token, "as_token as in the config");
    is_str(GET("hs_token"), cfg->appservice.hs_token, "hs_token as in the config");
    is_str(GET("sender_localpart"), "warroom", "sender_localpart");
    is_str(GET("rate_limited"), "false", "rate_limited: false");
    is_str(GET("receive_ephemeral"), "true", "receive_ephemeral: true");
    is_str(yaml_tree_scalar(yaml_tree_get(&doc, root, "de.sorunome.msc2409.push_ephemeral", 34, NULL)), "true",
           "de.sorunome.msc2409.push_ephemeral: true");
    is_str(yaml_tree_scalar(yaml_tree_get(&doc, root, "org.matrix.msc3202", 18, NULL)), "true",
           "org.matrix.msc3202: true");
    n = yaml_tree_path(&doc, root, "namespaces.users", NULL);
    ok(n != NULL && n->type == YAML_SEQUENCE_NODE && n->data.sequence.items.top - n->data.sequence.items.start == 1,
       "one user namespace");
    if (n != NULL && n->type == YAML_SEQUENCE_NODE && n->data.sequence.items.top > n->data.sequence.items.start) {
        yaml_node_t *e = yaml_document_get_node(&doc, n->data.sequence.items.start[0]);

        is_str(yaml_tree_scalar(yaml_tree_get(&doc, e, "exclusive", 9, NULL)), "true", "users: exclusive");
        is_str(yaml_tree_scalar(yaml_tree_get(&doc, e, "regex", 5, NULL)), "^@soc_.*:example\\.org$", "users: regex");
    }
    n = yaml_tree_path(&doc, root, "namespaces.aliases", NULL);
    if (n != NULL && n->type == YAML_SEQUENCE_NODE && n->data.sequence.items.top > n->data.sequence.items.start) {
        yaml_node_t *e = yaml_document_get_node(&doc, n->data.sequence.items.start[0]);

        is_str(yaml_tree_scalar(yaml_tree_get(&doc, e, "exclusive", 9, NULL)), "false", "aliases: not exclusive");
        is_str(yaml_tree_scalar(yaml_tree_get(&doc, e, "regex", 5, NULL)), "^#soc_.*:example\\.org$", "aliases: regex");
    } else {
        ok(0, "an alias namespace");
    }
    n = yaml_tree_path(&doc, root, "namespaces.rooms", NULL);
    ok(n != NULL && n->type == YAML_SEQUENCE_NODE && n->data.sequence.items.top == n->data.sequence.items.start,
       "rooms: []");
    n = yaml_tree_path(&doc, root, "protocols", NULL);
    ok(n != NULL && n->type == YAML_SEQUENCE_NODE && n->data.sequence.items.top - n->data.sequence.items.start == 1 &&
           strcmp(yaml_tree_scalar(yaml_document_get_node(&doc, n->data.sequence.items.start[0])), "warroom") == 0,
       "protocols: [warroom]");
    n = yaml_tree_get(&doc, root, "as_token", 8, NULL);
    ok(n != NULL && n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE, "strings are quoted");
#undef GET
    yaml_tree_free(&doc);

    /* Every key of the registration Synapse accepted is in ours. */
    {
        char *ref = fixture_read("synapse/registration.yaml", NULL);
        yaml_document_t rdoc;

        if (ref != NULL && yaml_tree_parse(ref, strlen(ref), &rdoc, &line, &cause) == 0) {
            yaml_node_t *rroot = yaml_document_get_root_node(&rdoc);
            int all = 1;

            for (yaml_node_pair_t *p = rroot->data.mapping.pairs.start; p < rroot->data.mapping.pairs.top; p++) {
                const char *key = yaml_tree_scalar(yaml_document_get_node(&rdoc, p->key));

                if (strstr(text, key) == NULL || (strstr(text, key) != text && strstr(text, key)[-1] != '\n')) {
                    printf("# %s missing\n", key);
                    all = 0;
                }
            }
            ok(all, "every top-level key of the Synapse fixture is present");
            yaml_tree_free(&rdoc);
        } else {
            ok(0, "the Synapse fixture registration parses");
            free(cause);
        }
        free(ref);
    }
    yaml_tree_free_text(text, strlen(text));
}

static void
test_generate(void)
{
    char *cfg_path = write_file("config.yaml", CONFIG_TEXT), *reg_path = xasprintf("%s/registration.yaml", tmpdir);
    char *text1 = NULL, *reg1 = NULL, *text2 = NULL, *reg2 = NULL, *expected = NULL, *as = NULL, *hs = NULL;
    struct config_errors errs = {0};
    struct config *cfg = NULL;
    struct stat st;

    is_int(registration_generate(cfg_path, reg_path, &errs), 0, "-g succeeds");
    is_str(errors_joined(&errs, cfg_path), "", "without errors");
    config_errors_free(&errs);

    cfg = load(cfg_path);
    ok(cfg != NULL, "the config still loads");
    if (cfg == NULL)
        goto out;
    ok(cfg->appservice.as_token != NULL && strlen(cfg->appservice.as_token) == 64, "as_token written into the config");
    ok(cfg->appservice.hs_token != NULL && strlen(cfg->appservice.hs_token) == 64, "hs_token written into the config");
    ok(cfg->appservice.as_token != NULL && cfg->appservice.hs_token != NULL &&
           strcmp(cfg->appservice.as_token, cfg->appservice.hs_token) != 0,
       "the tokens differ");
    if (cfg->appservice.as_token == NULL || cfg->appservice.hs_token == NULL)
        goto out;
    as = xstrdup(cfg->appservice.as_token);
    hs = xstrdup(cfg->appservice.hs_token);
    text1 = read_file(cfg_path);
    expected = xasprintf("# The operator's comments must survive -g.\n"
                         "homeserver:\n"
                         "  address: http://localhost:8008   # Synapse\n"
                         "  domain: example.org\n"
                         "appservice:\n"
                         "  address: http://127.0.0.1:29333/\n"
                         "  port: 29333\n"
                         "  as_token: \"%s\"\n"
                         "  hs_token: \"%s\"\n"
                         "\n"
                         "logging:\n"
                         "  level: debug\n",
                         as, hs);
    is_str(text1, expected, "the config keeps everything else byte for byte");
    ok(stat(cfg_path, &st) == 0 && (st.st_mode & 0777) == 0600, "the config is now mode 0600");
    ok(stat(reg_path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600, "registration mode 0600");
    check_registration_fields(reg_path, cfg);
    is_int(registration_check(cfg, reg_path, &errs), 0, "the generated registration passes the check");
    is_str(errors_joined(&errs, reg_path), "", "no mismatches");
    config_errors_free(&errs);

    /* A second run keeps the tokens and changes nothing. */
    reg1 = read_file(reg_path);
    is_int(registration_generate(cfg_path, reg_path, &errs), 0, "a second -g succeeds");
    config_errors_free(&errs);
    text2 = read_file(cfg_path);
    reg2 = read_file(reg_path);
    is_str(text2, text1, "the config is unchanged");
    is_str(reg2, reg1, "the registration is the same");

out:
    config_free(cfg);
    xfree_secret(as);
    xfree_secret(hs);
    free(expected);
    free(text1);
    free(text2);
    free(reg1);
    free(reg2);
    free(cfg_path);
    free(reg_path);
}

static void
test_generate_refusals(void)
{
    char *cfg_path = write_file("refuse.yaml", CONFIG_TEXT), *victim = write_file("victim.txt", "precious\n");
    char *link = xasprintf("%s/link.yaml", tmpdir), *dir = xasprintf("%s/adir", tmpdir), *got;
    char *bad = write_file("bad.yaml", "homeserver:\n  domain: example.org\n"), *out = xasprintf("%s/out.yaml", tmpdir);
    struct config_errors errs = {0};

    ok(symlink("victim.txt", link) == 0, "symlink made");
    is_int(registration_generate(cfg_path, link, &errs), -1, "a symlink as the registration is refused");
    is_str(errors_joined(&errs, link), "1: is a symbolic link; refusing to replace it", "says so");
    config_errors_free(&errs);
    got = read_file(victim);
    is_str(got, "precious\n", "the symlink's target is untouched");
    free(got);
    got = read_file(cfg_path);
    is_str(got, CONFIG_TEXT, "and the config too: refused before any change");
    free(got);

    ok(mkdir(dir, 0700) == 0, "directory made");
    is_int(registration_generate(cfg_path, dir, &errs), -1, "a directory as the registration is refused");
    is_str(errors_joined(&errs, dir), "1: is not a regular file; refusing to replace it", "says so");
    config_errors_free(&errs);

    is_int(registration_generate(cfg_path, cfg_path, &errs), -1, "the config as the registration is refused");
    is_str(errors_joined(&errs, cfg_path), "1: is the configuration file; refusing to overwrite it", "says so");
    config_errors_free(&errs);

    is_int(registration_generate(bad, out, &errs), -1, "a broken config stops -g");
    is_str(errors_joined(&errs, bad),
           "1: missing required key 'homeserver.address' (the homeserver's client-server API, as warroom reaches it "
           "(http://localhost:8008)) | "
           "1: missing required key 'appservice.address' (the URL the homeserver uses to reach warroom "
           "(http://localhost:29333))",
           "with the config's errors");
    ok(access(out, F_OK) != 0, "and no registration");
    got = read_file(bad);
    is_str(got, "homeserver:\n  domain: example.org\n", "nor a changed config");
    free(got);
    config_errors_free(&errs);

    /* One token present: it is kept, the other one created. */
    free(bad);
    bad = write_file("half.yaml", CONFIG_TEXT "appservice:\n  hs_token: keep-this-one\n");
    is_int(registration_generate(bad, out, &errs), -1, "a config with a duplicate section is refused");
    config_errors_free(&errs);
    free(bad);
    bad = write_file("half.yaml", "homeserver:\n  address: http://hs\n  domain: example.org\nappservice:\n"
                                  "  address: http://as\n  hs_token: keep-this-one\n");
    is_int(registration_generate(bad, out, &errs), 0, "-g with one token present");
    config_errors_free(&errs);
    {
        struct config *cfg = load(bad);

        ok(cfg != NULL && strcmp(cfg->appservice.hs_token, "keep-this-one") == 0 &&
               strlen(cfg->appservice.as_token) == 64,
           "the present token is kept, the missing one created");
        if (cfg != NULL) {
            is_int(registration_check(cfg, out, &errs), 0, "and the registration agrees");
            config_errors_free(&errs);
        }
        config_free(cfg);
    }
    free(bad);
    bad = write_file("same.yaml", "homeserver:\n  address: http://hs\n  domain: example.org\nappservice:\n"
                                  "  address: http://as\n  as_token: same\n  hs_token: same\n");
    is_int(registration_generate(bad, out, &errs), -1, "-g refuses equal tokens");
    is_str(errors_joined(&errs, bad), "7: appservice.as_token and appservice.hs_token must differ", "says so");
    config_errors_free(&errs);

    free(cfg_path);
    free(victim);
    free(link);
    free(dir);
    free(bad);
    free(out);
}

/* Writes a registration text, checks it against cfg, and returns the
 * errors joined. */
static const char *
check_text(const struct config *cfg, const char *text)
{
    char *path = write_file("check.yaml", text);
    struct config_errors errs = {0};
    const char *joined;
    int rc = registration_check(cfg, path, &errs);

    joined = errors_joined(&errs, path);
    if ((rc == 0) != (errs.n == 0))
        printf("# registration_check returned %d with %zu errors\n", rc, errs.n);
    if (cfg->appservice.as_token != NULL && strstr(joined, cfg->appservice.as_token) != NULL)
        ok(0, "an error shows the as_token");
    config_errors_free(&errs);
    free(path);
    return joined;
}

/* Compares the errors for text with want, in which "{cfg}" stands for
 * the config's path. */
static void
expect(const struct config *cfg, const char *text, const char *want_tmpl, const char *what)
{
    const char *at = strstr(want_tmpl, "{cfg}");
    char *want = at == NULL ? xstrdup(want_tmpl)
                            : xasprintf("%.*s%s%s", (int)(at - want_tmpl), want_tmpl, cfg->path, at + strlen("{cfg}"));

    is_str(check_text(cfg, text), want, "%s", what);
    free(want);
}

static void
test_check(void)
{
    char *cfg_path = write_file("check-config.yaml", CONFIG_TEXT), *reg_path = xasprintf("%s/check-reg.yaml", tmpdir);
    char *good = NULL, *t, *t2, *t3, *missing;
    struct config_errors errs = {0};
    struct config *cfg = NULL;

    if (registration_generate(cfg_path, reg_path, &errs) != 0 || (cfg = load(cfg_path)) == NULL ||
        (good = read_file(reg_path)) == NULL) {
        ok(0, "setup: %s", errors_joined(&errs, cfg_path));
        config_errors_free(&errs);
        goto out;
    }
    is_str(check_text(cfg, good), "", "the generated file agrees");

    t = replace(good, "id: 'warroom'", "id: 'other'");
    expect(cfg, t, "2: id is 'other', but appservice.id in {cfg} is 'warroom'", "id mismatch");
    free(t);

    t = replace(good, "url: 'http://127.0.0.1:29333'", "url: 'http://127.0.0.1:29333/'");
    is_str(check_text(cfg, t), "", "a trailing slash in url is the same url");
    free(t);
    t = replace(good, "url: 'http://127.0.0.1:29333'", "url: 'http://127.0.0.1:29334'");
    expect(cfg, t, "3: url is 'http://127.0.0.1:29334', but appservice.address in {cfg} is 'http://127.0.0.1:29333'",
           "url mismatch");
    free(t);

    t = replace(good, cfg->appservice.as_token, "0123456789012345678901234567890123456789012345678901234567890123");
    expect(cfg, t, "4: as_token does not match appservice.as_token in {cfg}", "as_token mismatch, token not shown");
    ok(strstr(check_text(cfg, t), "0123456789") == NULL, "nor the registration's token");
    free(t);
    t = replace(good, cfg->appservice.hs_token, "short");
    expect(cfg, t, "5: hs_token does not match appservice.hs_token in {cfg}", "hs_token of another length");
    free(t);
    t = replace(good, "hs_token:", "hs_tokem:");
    expect(cfg, t, "1: hs_token is missing (it must equal appservice.hs_token in {cfg})", "hs_token missing");
    free(t);
    t = replace(good, "as_token:", "as_token: [x]\nold_as_token:");
    expect(cfg, t, "4: as_token: expected a string, got a sequence", "as_token not a string");
    free(t);

    t = replace(good, "sender_localpart: 'warroom'", "sender_localpart: 'bot'");
    expect(cfg, t, "6: sender_localpart is 'bot', but appservice.bot.username in {cfg} is 'warroom'",
           "sender_localpart mismatch");
    free(t);

    t = replace(good, "regex: '^@soc_.*:example\\.org$'", "regex: '@other_.*:example\\.org'");
    expect(cfg, t,
           "8: namespaces.users has no regex covering the bots (expected an exclusive regex '^@soc_.*:example\\.org$')",
           "a namespace that does not cover the bots");
    free(t);
    t = replace(good, "regex: '^@soc_.*:example\\.org$'", "regex: '@soc_.*:other\\.org'");
    expect(cfg, t,
           "8: namespaces.users has no regex covering the bots (expected an exclusive regex '^@soc_.*:example\\.org$')",
           "a namespace on another server");
    free(t);
    t = replace(good, "regex: '^@soc_.*:example\\.org$'", "regex: '^@soc_[a-z]+:example\\.org$'");
    is_str(check_text(cfg, t), "", "another regex that covers the bots is fine");
    free(t);
    t = replace(good, "- exclusive: true", "- exclusive: false");
    expect(cfg, t,
           "9: namespaces.users: the regex covering the bots is not exclusive, so other users could take their names "
           "(set exclusive: true)",
           "a namespace that is not exclusive");
    free(t);
    t = replace(good, "regex: '^@soc_.*:example\\.org$'", "regex: '@soc_(:'");
    expect(cfg, t,
           "9: namespaces.users: cannot check this regex (not an extended regular expression); expected an exclusive "
           "regex '^@soc_.*:example\\.org$'",
           "a regex regex.h cannot read");
    free(t);
    t = replace(good, "  users:\n  - exclusive: true\n    regex: '^@soc_.*:example\\.org$'\n", "");
    expect(cfg, t,
           "1: namespaces.users is missing: the homeserver would not send the bots' events to warroom (expected an "
           "exclusive regex '^@soc_.*:example\\.org$')",
           "no user namespace");
    free(t);
    t = replace(good, "  users:\n  - exclusive: true\n    regex: '^@soc_.*:example\\.org$'\n", "  users: {}\n");
    expect(cfg, t, "8: namespaces.users: expected a sequence, got a mapping", "user namespace not a list");
    free(t);

    t = replace(good, "rate_limited: false", "rate_limited: true");
    expect(cfg, t, "16: rate_limited must be false, or the homeserver slows the bots down", "rate_limited true");
    free(t);
    t = replace(good, "rate_limited: false\n", "");
    expect(cfg, t, "1: rate_limited is missing; homeservers then rate-limit the bots (set rate_limited: false)",
           "rate_limited absent");
    free(t);

    /* Everything at once, in file order. */
    t = replace(good, "id: 'warroom'", "id: 'other'");
    t2 = replace(t, "rate_limited: false", "rate_limited: yes");
    free(t);
    t = replace(t2, cfg->appservice.as_token, "nope");
    free(t2);
    t3 = xasprintf("2: id is 'other', but appservice.id in %s is 'warroom' | "
                   "4: as_token does not match appservice.as_token in %s | "
                   "16: rate_limited must be false, or the homeserver slows the bots down",
                   cfg->path, cfg->path);
    is_str(check_text(cfg, t), t3, "every mismatch reported at once");
    free(t);
    free(t3);

    is_str(check_text(cfg, "- a\n"), "1: expected a mapping (id, url, as_token, ...), got a sequence", "not a mapping");
    is_str(check_text(cfg, "id: x\n  url: y\n"), "2: YAML syntax error: mapping values are not allowed in this context",
           "a syntax error");
    missing = xasprintf("%s/nowhere.yaml", tmpdir);
    is_int(registration_check(cfg, missing, &errs), -1, "a missing registration fails");
    t = xasprintf("%s: cannot open: No such file or directory", missing);
    is_str(errs.n == 1 ? errs.lines[0] : NULL, t, "says so");
    free(t);
    free(missing);
out:
    config_errors_free(&errs);
    config_free(cfg);
    free(good);
    free(cfg_path);
    free(reg_path);
}

int
main(void)
{
    tmpdir = fixture_tmpdir();
    test_tokens();
    test_regex();
    test_generate();
    test_generate_refusals();
    test_check();
    fixture_rmdir(tmpdir);
    tap_done();
}
