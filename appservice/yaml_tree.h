/*
 * A thin layer over libyaml's document API (yaml_document_t), shared by the
 * configuration and the registration file: reading a file, loading exactly
 * one document with a readable syntax error, looking keys up by name or by
 * dotted path, and the line of a node for "file:line:" messages.  Both
 * files hold tokens, so everything read is wiped before it is freed.
 *
 * libyaml's loader does not resolve implicit tags: every scalar is tagged
 * as a string, so null is recognised here from a plain scalar's text, as
 * YAML 1.1 spells it.
 */
#ifndef WARROOM_YAML_TREE_H
#define WARROOM_YAML_TREE_H

#include <stddef.h>
#include <yaml.h>

/* Files larger than this are refused: a config or registration file is a
 * few kilobytes, and a mistaken path (a log, a database) should fail fast. */
#define YAML_TREE_MAX_FILE (4 * 1024 * 1024)

/*
 * Reads the regular file at path.  Returns 0 and sets *text (allocated,
 * NUL-terminated, free with yaml_tree_free_text()) and *len; or -1 and sets
 * *cause (allocated, free with free()).
 */
int yaml_tree_read_file(const char *path, char **text, size_t *len, char **cause);

/* Wipes len bytes of text and frees it.  NULL is a no-op. */
void yaml_tree_free_text(char *text, size_t len);

/*
 * Loads text as one YAML document into *doc.  Returns 0 (then free *doc
 * with yaml_tree_free()); or -1 with *line (1-based) and *cause (allocated,
 * free with free()) saying what is wrong: a syntax error, more than one
 * document, or a NUL character inside a scalar.  On failure *doc holds
 * nothing to free.  An empty text gives a document without a root node.
 */
int yaml_tree_parse(const char *text, size_t len, yaml_document_t *doc, size_t *line, char **cause);

/* Wipes every scalar of the document and deletes it.  NULL is a no-op. */
void yaml_tree_free(yaml_document_t *doc);

/* The 1-based line where node starts; 0 for NULL. */
size_t yaml_tree_line(const yaml_node_t *node);

/* True for a plain scalar spelled as YAML's null: "", "~", "null". */
int yaml_tree_is_null(const yaml_node_t *node);

/* The value of a scalar node, or NULL if node is not a scalar.  Borrowed,
 * valid until the document is freed. */
const char *yaml_tree_scalar(const yaml_node_t *node);

/* "a string", "a mapping", "a sequence" or "nothing" (for null), for
 * messages such as "expected an integer, got a mapping". */
const char *yaml_tree_kind(const yaml_node_t *node);

/*
 * The value stored under key (keylen bytes, not NUL-terminated) in the
 * mapping map, or NULL if map is not a mapping or has no such key.  With
 * duplicate keys the first one counts.  If key_node is not NULL it is set
 * to the key's node (or NULL).  Borrowed from the document.
 */
yaml_node_t *yaml_tree_get(yaml_document_t *doc, yaml_node_t *map, const char *key, size_t keylen,
                           yaml_node_t **key_node);

/*
 * Follows a dotted path ("appservice.bot.username") from the mapping
 * from; "" is from itself.  Returns the value node or NULL, and sets
 * *key_node as yaml_tree_get() does (NULL for "").
 */
yaml_node_t *yaml_tree_path(yaml_document_t *doc, yaml_node_t *from, const char *path, yaml_node_t **key_node);

/*
 * The byte offset in text of libyaml's mark index (which counts
 * characters, not bytes, after an optional UTF-8 byte order mark).
 */
size_t yaml_tree_byte_offset(const char *text, size_t len, size_t char_index);

#endif
