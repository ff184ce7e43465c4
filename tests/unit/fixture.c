/*
 * Fixture files and temporary directories for the unit tests.
 */
#include "autoconfig.h"

#include <dirent.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "appservice/xmalloc.h"
#include "tests/unit/fixture.h"

char *
fixture_read(const char *rel, size_t *len)
{
    const char *srcdir = getenv("WARROOM_SRCDIR");
    char *path = xasprintf("%s/tests/fixtures/%s", srcdir != NULL ? srcdir : ".", rel);
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long size;

    free(path);
    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    buf = xmalloc((size_t)size + 1);
    if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        fclose(f);
        return NULL;
    }
    buf[size] = '\0';
    fclose(f);
    if (len != NULL)
        *len = (size_t)size;
    return buf;
}

char *
fixture_synapse_body(const char *name, size_t *len)
{
    char *rel = xasprintf("synapse/%s", name);
    char *text = fixture_read(rel, NULL);
    struct json_object *req, *body;
    char *out = NULL;

    free(rel);
    if (text == NULL)
        return NULL;
    req = json_tokener_parse(text);
    free(text);
    if (req != NULL && json_object_object_get_ex(req, "body", &body)) {
        size_t n;
        const char *s =
            json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);

        out = xstrndup(s, n);
        if (len != NULL)
            *len = n;
    }
    json_object_put(req);
    return out;
}

char *
fixture_tmpdir(void)
{
    char *dir = xstrdup("/tmp/warroom-test-XXXXXX");

    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        abort();
    }
    return dir;
}

/* Removes path and, if it is a directory, what it holds. */
static void
fixture_remove(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *de;

    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode) && (d = opendir(path)) != NULL) {
        while ((de = readdir(d)) != NULL) {
            char *child;

            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            child = xasprintf("%s/%s", path, de->d_name);
            fixture_remove(child);
            free(child);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

void
fixture_rmdir(char *dir)
{
    if (dir == NULL)
        return;
    fixture_remove(dir);
    free(dir);
}
