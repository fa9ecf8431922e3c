/*
 * scst.conf grammar <-> a generic tree.  Pure: knows nothing of the core.
 *
 * The grammar is line-oriented (scst.conf(5)):
 *   # comment                 ('\#' is a literal hash)
 *   name value                an attribute; "double quotes" for blanks; names may repeat
 *   KEYWORD arg... {          opens a section; '{' must end the line
 *   }                         closes it; must be alone on its line
 *   KEYWORD arg...            a section keyword without a block (LUN 0 disk1, DEVICE d, ...)
 *
 * Which keyword may appear where is checked here (HANDLER > DEVICE,
 * TARGET_DRIVER > TARGET > LUN/GROUP > LUN/INITIATOR, DEVICE_GROUP > DEVICE/
 * TARGET_GROUP > TARGET); whether names and values make sense is left to
 * conf_apply and the core.
 *
 * Every error message has the form "FILE:LINE: message".
 */
#ifndef USCST_CONFIG_CONF_PARSER_H
#define USCST_CONFIG_CONF_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Limits that keep a hostile or corrupt file from costing much. */
#define CONF_MAX_LINE 4096	       /* characters per line, without the newline */
#define CONF_MAX_NAME 256	       /* keyword, attribute name, section argument (with NUL) */
#define CONF_MAX_WORDS 16	       /* words on one line */
#define CONF_MAX_DEPTH 8	       /* open sections (the grammar itself needs 4) */
#define CONF_MAX_ITEMS 100000	       /* sections + attributes in one file */
#define CONF_MAX_FILE_SIZE (16u << 20) /* bytes */

struct conf_attr {
	char *name;
	char *value; /* quotes and escapes removed */
	int line;
};

struct conf_node {
	char *keyword; /* "HANDLER", "LUN", ...; NULL for the root */
	char **args;   /* words between the keyword and '{' */
	size_t nargs;
	struct conf_attr *attrs; /* in file order */
	size_t nattrs;
	struct conf_node **children; /* in file order */
	size_t nchildren;
	struct conf_node *parent;
	int line;	/* where the keyword is; 0 for the root */
	bool has_block; /* written with { } */
};

struct conf_tree {
	char *file; /* name used in error messages */
	struct conf_node root;
};

/* Parsing.  Return NULL with "FILE:LINE: message" in err on error. */
struct conf_tree *conf_parse_text(const char *text, const char *file, char *err, size_t errlen);
struct conf_tree *conf_parse_file(const char *path, char *err, size_t errlen);
void conf_tree_free(struct conf_tree *tree);

/* Building a tree by hand (the running-configuration writer does).  NULL/false on ENOMEM. */
struct conf_tree *conf_tree_new(const char *file);
struct conf_node *conf_node_add_child(struct conf_node *parent, const char *keyword,
				      const char *const *args, size_t nargs, int line);
bool conf_node_add_attr(struct conf_node *node, const char *name, const char *value, int line);

/* Queries. */
const char *conf_node_arg(const struct conf_node *node, size_t i); /* NULL if absent */
/* Value of the first attribute called name (exact match), or NULL. */
const char *conf_node_attr(const struct conf_node *node, const char *name);
/* First child with this keyword and first argument (arg0 NULL: any), or NULL. */
struct conf_node *conf_node_child(const struct conf_node *node, const char *keyword,
				  const char *arg0);

/* Writing in scst.conf grammar, tab-indented, values quoted when needed.
 * Output parses back into an equal tree.  Return 0 or -1 (errno set). */
int conf_tree_write(const struct conf_tree *tree, FILE *f);
char *conf_tree_to_text(const struct conf_tree *tree); /* malloc'd; NULL on ENOMEM */
/* Writes one word, quoting and escaping it if the parser would otherwise split or eat it. */
void conf_write_word(FILE *f, const char *word);

/* Formats "FILE:LINE: message" (or "FILE: message" when line <= 0) into err. */
void conf_error(char *err, size_t errlen, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
