/*
 * Helpers over libyaml's document API; see yaml_tree.h.  libyaml parses;
 * this file only reads files, turns libyaml's error fields into one line
 * of text, and walks mappings.  Every buffer that held file contents is
 * wiped before it is freed, because the files hold the appservice tokens.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "xmalloc.h"
#include "yaml_tree.h"

int
yaml_tree_read_file(const char *path, char **text, size_t *len, char **cause)
{
    struct stat st;
    char *buf = NULL;
    size_t have = 0, size;
    ssize_t got;
    int fd = -1, rc = -1;

    *text = NULL;
    *len = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        *cause = xasprintf("cannot open: %s", strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) != 0) {
        *cause = xasprintf("cannot stat: %s", strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        *cause = xstrdup("is not a regular file");
        goto out;
    }
    if (st.st_size > YAML_TREE_MAX_FILE) {
        *cause = xasprintf("is too large (more than %d bytes)", YAML_TREE_MAX_FILE);
        goto out;
    }
    /* One byte more than the size, so that a file growing while it is
     * read is noticed instead of silently cut. */
    size = (size_t)st.st_size + 1;
    buf = xmalloc(size + 1);
    for (;;) {
        got = read(fd, buf + have, size - have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            *cause = xasprintf("cannot read: %s", strerror(errno));
            goto out;
        }
        if (got == 0)
            break;
        have += (size_t)got;
        if (have == size) {
            *cause = xstrdup("changed while it was read");
            goto out;
        }
    }
    buf[have] = '\0';
    *text = buf;
    *len = have;
    buf = NULL;
    rc = 0;
out:
    if (buf != NULL)
        yaml_tree_free_text(buf, have);
    if (fd >= 0)
        close(fd);
    return rc;
}

void
yaml_tree_free_text(char *text, size_t len)
{
    if (text == NULL)
        return;
    explicit_bzero(text, len);
    free(text);
}

/* The 1-based line of a byte offset in text, for libyaml's reader errors,
 * which give an offset instead of a mark. */
static size_t
yaml_tree_line_of_offset(const char *text, size_t len, size_t offset)
{
    size_t line = 1;

    for (size_t i = 0; i < offset && i < len; i++) {
        if (text[i] == '\n')
            line++;
    }
    return line;
}

/* Turns the parser's error fields into *line and *cause. */
static void
yaml_tree_parser_error(const yaml_parser_t *parser, const char *text, size_t len, size_t *line, char **cause)
{
    const char *problem = parser->problem != NULL ? parser->problem : "unknown error";

    switch (parser->error) {
    case YAML_MEMORY_ERROR:
        *line = 1;
        *cause = xstrdup("out of memory while parsing YAML");
        break;
    case YAML_READER_ERROR:
        /* The reader reports a byte offset, and the byte in question is
         * most likely not printable, so it is shown as a number. */
        *line = yaml_tree_line_of_offset(text, len, parser->problem_offset);
        if (parser->problem_value != -1)
            *cause = xasprintf("YAML syntax error: %s (byte 0x%02x)", problem, (unsigned)parser->problem_value);
        else
            *cause = xasprintf("YAML syntax error: %s", problem);
        break;
    default:
        *line = parser->problem_mark.line + 1;
        if (parser->context != NULL)
            *cause = xasprintf("YAML syntax error: %s (%s at line %zu)", problem, parser->context,
                               parser->context_mark.line + 1);
        else
            *cause = xasprintf("YAML syntax error: %s", problem);
        break;
    }
}

/* Wipes the parser's copies of the input before it is deleted. */
static void
yaml_tree_parser_wipe(yaml_parser_t *parser)
{
    if (parser->buffer.start != NULL)
        explicit_bzero(parser->buffer.start, (size_t)(parser->buffer.end - parser->buffer.start));
    if (parser->raw_buffer.start != NULL)
        explicit_bzero(parser->raw_buffer.start, (size_t)(parser->raw_buffer.end - parser->raw_buffer.start));
}

int
yaml_tree_parse(const char *text, size_t len, yaml_document_t *doc, size_t *line, char **cause)
{
    yaml_parser_t parser;
    yaml_document_t extra;
    yaml_node_t *root;
    int loaded = 0, rc = -1;

    memset(doc, 0, sizeof(*doc));
    if (!yaml_parser_initialize(&parser)) {
        *line = 1;
        *cause = xstrdup("cannot initialise the YAML parser");
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, doc)) {
        yaml_tree_parser_error(&parser, text, len, line, cause);
        goto out;
    }
    loaded = 1;

    /* A scalar may spell a NUL ("\0"); every consumer of this tree treats
     * values as C strings, so such a value is refused here once. */
    for (yaml_node_t *n = doc->nodes.start; n < doc->nodes.top; n++) {
        if (n->type == YAML_SCALAR_NODE && strlen((const char *)n->data.scalar.value) != n->data.scalar.length) {
            *line = yaml_tree_line(n);
            *cause = xstrdup("a value contains a NUL character");
            goto out;
        }
    }

    /* A second document would be silently ignored, which is never what
     * the operator meant. */
    root = yaml_document_get_root_node(doc);
    if (root != NULL) {
        if (!yaml_parser_load(&parser, &extra)) {
            yaml_tree_parser_error(&parser, text, len, line, cause);
            goto out;
        }
        root = yaml_document_get_root_node(&extra);
        if (root != NULL) {
            *line = yaml_tree_line(root);
            *cause = xstrdup("only one YAML document is allowed");
            yaml_tree_free(&extra);
            goto out;
        }
        yaml_tree_free(&extra);
    }
    rc = 0;
out:
    yaml_tree_parser_wipe(&parser);
    yaml_parser_delete(&parser);
    if (rc != 0 && loaded) {
        yaml_tree_free(doc);
        memset(doc, 0, sizeof(*doc));
    }
    return rc;
}

void
yaml_tree_free(yaml_document_t *doc)
{
    if (doc == NULL || doc->nodes.start == NULL)
        return;
    for (yaml_node_t *n = doc->nodes.start; n < doc->nodes.top; n++) {
        if (n->type == YAML_SCALAR_NODE && n->data.scalar.value != NULL)
            explicit_bzero(n->data.scalar.value, n->data.scalar.length);
    }
    yaml_document_delete(doc);
}

size_t
yaml_tree_line(const yaml_node_t *node)
{
    return node != NULL ? node->start_mark.line + 1 : 0;
}

int
yaml_tree_is_null(const yaml_node_t *node)
{
    const char *v;

    if (node == NULL || node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    v = (const char *)node->data.scalar.value;
    return strcmp(v, "") == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
           strcmp(v, "NULL") == 0;
}

const char *
yaml_tree_scalar(const yaml_node_t *node)
{
    if (node == NULL || node->type != YAML_SCALAR_NODE)
        return NULL;
    return (const char *)node->data.scalar.value;
}

const char *
yaml_tree_kind(const yaml_node_t *node)
{
    if (node == NULL || yaml_tree_is_null(node))
        return "nothing";
    switch (node->type) {
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_SEQUENCE_NODE:
        return "a sequence";
    default:
        return "a string";
    }
}

yaml_node_t *
yaml_tree_get(yaml_document_t *doc, yaml_node_t *map, const char *key, size_t keylen, yaml_node_t **key_node)
{
    if (key_node != NULL)
        *key_node = NULL;
    if (map == NULL || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);

        if (k == NULL || k->type != YAML_SCALAR_NODE || k->data.scalar.length != keylen ||
            memcmp(k->data.scalar.value, key, keylen) != 0)
            continue;
        if (key_node != NULL)
            *key_node = k;
        return yaml_document_get_node(doc, p->value);
    }
    return NULL;
}

yaml_node_t *
yaml_tree_path(yaml_document_t *doc, yaml_node_t *from, const char *path, yaml_node_t **key_node)
{
    yaml_node_t *node = from;
    const char *seg = path, *dot;

    if (key_node != NULL)
        *key_node = NULL;
    if (*path == '\0')
        return from;
    while (node != NULL) {
        dot = strchr(seg, '.');
        node = yaml_tree_get(doc, node, seg, dot != NULL ? (size_t)(dot - seg) : strlen(seg), key_node);
        if (dot == NULL)
            return node;
        seg = dot + 1;
    }
    if (key_node != NULL)
        *key_node = NULL;
    return NULL;
}

size_t
yaml_tree_byte_offset(const char *text, size_t len, size_t char_index)
{
    size_t i = 0, chars = 0;

    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        i = 3;
    for (; i < len; i++) {
        /* A UTF-8 continuation byte does not start a character. */
        if (((unsigned char)text[i] & 0xc0) == 0x80)
            continue;
        if (chars == char_index)
            return i;
        chars++;
    }
    return len;
}
