#include "config/conf_parser.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Where a section is: the same keyword means different things in different
 * places (TARGET under TARGET_DRIVER holds LUNs, TARGET under TARGET_GROUP
 * only rel_tgt_id), so placement is checked against the context, not the
 * parent's keyword.
 */
enum conf_ctx {
	CTX_ROOT,
	CTX_HANDLER,
	CTX_DEVICE,
	CTX_DRIVER,
	CTX_TARGET,
	CTX_LUN,
	CTX_GROUP,
	CTX_DEVICE_GROUP,
	CTX_TARGET_GROUP,
	CTX_TG_TARGET,
	CTX_LEAF, /* INITIATOR, HW_TARGET, DEVICE in a DEVICE_GROUP: never a block */
};

static const char *const ctx_names[] = {
    [CTX_ROOT] = "top level",
    [CTX_HANDLER] = "HANDLER",
    [CTX_DEVICE] = "DEVICE",
    [CTX_DRIVER] = "TARGET_DRIVER",
    [CTX_TARGET] = "TARGET",
    [CTX_LUN] = "LUN",
    [CTX_GROUP] = "GROUP",
    [CTX_DEVICE_GROUP] = "DEVICE_GROUP",
    [CTX_TARGET_GROUP] = "TARGET_GROUP",
    [CTX_TG_TARGET] = "TARGET",
    [CTX_LEAF] = "?",
};

struct section_rule {
	enum conf_ctx parent;
	const char *keyword;
	enum conf_ctx ctx; /* context inside its block */
	unsigned nargs;
	const char *args_help;
};

static const struct section_rule section_rules[] = {
    {CTX_ROOT, "HANDLER", CTX_HANDLER, 1, "a handler name"},
    {CTX_ROOT, "TARGET_DRIVER", CTX_DRIVER, 1, "a driver name"},
    {CTX_ROOT, "DEVICE_GROUP", CTX_DEVICE_GROUP, 1, "a device group name"},
    {CTX_HANDLER, "DEVICE", CTX_DEVICE, 1, "a device name"},
    {CTX_DRIVER, "TARGET", CTX_TARGET, 1, "a target name"},
    {CTX_TARGET, "LUN", CTX_LUN, 2, "a LUN number and a device name"},
    {CTX_TARGET, "GROUP", CTX_GROUP, 1, "a group name"},
    {CTX_TARGET, "HW_TARGET", CTX_LEAF, 0, "nothing"},
    {CTX_GROUP, "LUN", CTX_LUN, 2, "a LUN number and a device name"},
    {CTX_GROUP, "INITIATOR", CTX_LEAF, 1, "an initiator name or pattern"},
    {CTX_DEVICE_GROUP, "DEVICE", CTX_LEAF, 1, "a device name"},
    {CTX_DEVICE_GROUP, "TARGET_GROUP", CTX_TARGET_GROUP, 1, "a target group name"},
    {CTX_TARGET_GROUP, "TARGET", CTX_TG_TARGET, 1, "a target name"},
};

#define NRULES (sizeof(section_rules) / sizeof(section_rules[0]))

void conf_error(char *err, size_t errlen, const char *file, int line, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	int n;
	if (line > 0)
		n = snprintf(err, errlen, "%s:%d: ", file ? file : "<config>", line);
	else
		n = snprintf(err, errlen, "%s: ", file ? file : "<config>");
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/* ---- tree building ---- */

static bool grow(void **array, size_t count, size_t elem_size)
{
	/* The capacity is implicit (4, 8, 16, ...): only a full array grows. */
	bool full = count == 0 || (count >= 4 && (count & (count - 1)) == 0);
	if (!full)
		return true;
	size_t cap = count ? count * 2 : 4;
	void *p = realloc(*array, cap * elem_size);
	if (!p)
		return false;
	*array = p;
	return true;
}

struct conf_tree *conf_tree_new(const char *file)
{
	struct conf_tree *tree = calloc(1, sizeof(*tree));
	if (!tree)
		return NULL;
	tree->file = strdup(file ? file : "<config>");
	if (!tree->file) {
		free(tree);
		return NULL;
	}
	return tree;
}

static void node_free_contents(struct conf_node *node)
{
	for (size_t i = 0; i < node->nchildren; i++) {
		node_free_contents(node->children[i]);
		free(node->children[i]);
	}
	free(node->children);
	for (size_t i = 0; i < node->nattrs; i++) {
		free(node->attrs[i].name);
		free(node->attrs[i].value);
	}
	free(node->attrs);
	for (size_t i = 0; i < node->nargs; i++)
		free(node->args[i]);
	free(node->args);
	free(node->keyword);
}

void conf_tree_free(struct conf_tree *tree)
{
	if (!tree)
		return;
	node_free_contents(&tree->root);
	free(tree->file);
	free(tree);
}

struct conf_node *conf_node_add_child(struct conf_node *parent, const char *keyword,
				      const char *const *args, size_t nargs, int line)
{
	struct conf_node *child = calloc(1, sizeof(*child));
	if (!child)
		return NULL;
	child->parent = parent;
	child->line = line;
	child->keyword = strdup(keyword);
	child->args = calloc(nargs ? nargs : 1, sizeof(char *));
	if (!child->keyword || !child->args)
		goto fail;
	for (; child->nargs < nargs; child->nargs++) {
		child->args[child->nargs] = strdup(args[child->nargs]);
		if (!child->args[child->nargs])
			goto fail;
	}
	if (!grow((void **)&parent->children, parent->nchildren, sizeof(*parent->children)))
		goto fail;
	parent->children[parent->nchildren++] = child;
	return child;
fail:
	node_free_contents(child);
	free(child);
	return NULL;
}

bool conf_node_add_attr(struct conf_node *node, const char *name, const char *value, int line)
{
	char *n = strdup(name), *v = strdup(value);
	if (!n || !v || !grow((void **)&node->attrs, node->nattrs, sizeof(*node->attrs))) {
		free(n);
		free(v);
		return false;
	}
	node->attrs[node->nattrs++] = (struct conf_attr){.name = n, .value = v, .line = line};
	return true;
}

const char *conf_node_arg(const struct conf_node *node, size_t i)
{
	return i < node->nargs ? node->args[i] : NULL;
}

const char *conf_node_attr(const struct conf_node *node, const char *name)
{
	for (size_t i = 0; i < node->nattrs; i++)
		if (strcmp(node->attrs[i].name, name) == 0)
			return node->attrs[i].value;
	return NULL;
}

struct conf_node *conf_node_child(const struct conf_node *node, const char *keyword,
				  const char *arg0)
{
	for (size_t i = 0; i < node->nchildren; i++) {
		struct conf_node *c = node->children[i];
		if (strcmp(c->keyword, keyword) != 0)
			continue;
		if (!arg0 || (c->nargs && strcmp(c->args[0], arg0) == 0))
			return c;
	}
	return NULL;
}

/* ---- tokenizing one line ---- */

struct word {
	char *text;
	bool brace; /* an unquoted '{' or '}' */
};

struct parser {
	const char *file;
	int line;
	char *err;
	size_t errlen;
	struct conf_tree *tree;
	struct {
		struct conf_node *node;
		enum conf_ctx ctx;
	} stack[CONF_MAX_DEPTH + 1];
	size_t depth;
	size_t items;
	struct word words[CONF_MAX_WORDS];
	size_t nwords;
	/* Unescaped words; a one-character brace becomes two bytes, hence 2x. */
	char buf[2 * CONF_MAX_LINE + 2];
};

#define perr(p, ...) conf_error((p)->err, (p)->errlen, (p)->file, (p)->line, __VA_ARGS__)

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

/* Characters a backslash makes literal; any other backslash stays as it is. */
static bool is_escapable(char c)
{
	return c == '#' || c == '"' || c == '\\' || c == '{' || c == '}';
}

static bool ends_bare_word(char c)
{
	return c == '\0' || is_blank(c) || c == '#' || c == '{' || c == '}';
}

/* Copies a quoted word starting after the opening quote; returns the position
 * after the closing quote or NULL if the line ends first. */
static const char *scan_quoted(const char *s, char **out)
{
	char *o = *out;
	for (; *s && *s != '"'; s++) {
		if (*s == '\\' && is_escapable(s[1]))
			s++;
		*o++ = *s;
	}
	if (*s != '"')
		return NULL;
	*o++ = '\0';
	*out = o;
	return s + 1;
}

static const char *scan_bare(const char *s, char **out)
{
	char *o = *out;
	while (!ends_bare_word(*s)) {
		if (*s == '\\' && is_escapable(s[1]))
			s++;
		*o++ = *s++;
	}
	*o++ = '\0';
	*out = o;
	return s;
}

static bool add_word(struct parser *p, char *text, bool brace)
{
	if (p->nwords == CONF_MAX_WORDS) {
		perr(p, "too many words on one line (at most %d)", CONF_MAX_WORDS);
		return false;
	}
	p->words[p->nwords++] = (struct word){.text = text, .brace = brace};
	return true;
}

static bool tokenize(struct parser *p, const char *s)
{
	char *o = p->buf;
	p->nwords = 0;
	for (;;) {
		while (is_blank(*s))
			s++;
		if (*s == '\0' || *s == '#')
			return true;
		char *start = o;
		if (*s == '{' || *s == '}') {
			*o++ = *s++;
			*o++ = '\0';
			if (!add_word(p, start, true))
				return false;
			continue;
		}
		if (*s == '"') {
			s = scan_quoted(s + 1, &o);
			if (!s) {
				perr(p, "unterminated quote");
				return false;
			}
			if (!ends_bare_word(*s)) {
				perr(p, "unexpected text right after a closing quote");
				return false;
			}
		} else {
			s = scan_bare(s, &o);
		}
		if (!add_word(p, start, false))
			return false;
	}
}

/* ---- line handling ---- */

static const struct section_rule *find_rule(enum conf_ctx parent, const char *keyword)
{
	for (size_t i = 0; i < NRULES; i++)
		if (section_rules[i].parent == parent &&
		    strcmp(section_rules[i].keyword, keyword) == 0)
			return &section_rules[i];
	return NULL;
}

static bool is_section_keyword(const char *word)
{
	for (size_t i = 0; i < NRULES; i++)
		if (strcmp(section_rules[i].keyword, word) == 0)
			return true;
	return false;
}

/* "HANDLER or DEVICE_GROUP": where a misplaced keyword would have been accepted. */
static void allowed_parents(const char *keyword, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < NRULES && n < len; i++) {
		if (strcmp(section_rules[i].keyword, keyword) != 0)
			continue;
		int w = snprintf(buf + n, len - n, "%s%s", n ? " or " : "",
				 ctx_names[section_rules[i].parent]);
		if (w < 0)
			break;
		n += (size_t)w;
	}
}

static enum conf_ctx current_ctx(const struct parser *p) { return p->stack[p->depth].ctx; }

static struct conf_node *current_node(const struct parser *p) { return p->stack[p->depth].node; }

static bool count_item(struct parser *p)
{
	if (++p->items > CONF_MAX_ITEMS) {
		perr(p, "too many entries in one file (at most %d)", CONF_MAX_ITEMS);
		return false;
	}
	return true;
}

static bool check_name_length(struct parser *p, const char *what, const char *word)
{
	if (strlen(word) < CONF_MAX_NAME)
		return true;
	perr(p, "%s too long (at most %d characters)", what, CONF_MAX_NAME - 1);
	return false;
}

static bool close_section(struct parser *p)
{
	if (p->nwords > 1) {
		perr(p, "unexpected text after '}' (it must be alone on its line)");
		return false;
	}
	if (p->depth == 0) {
		perr(p, "'}' without a matching section");
		return false;
	}
	p->depth--;
	return true;
}

static bool open_section(struct parser *p, const struct section_rule *rule, size_t nwords,
			 bool opens_block)
{
	const char *keyword = p->words[0].text;
	if (nwords - 1 != rule->nargs) {
		perr(p, "'%s' takes %s, got %zu word%s", keyword, rule->args_help, nwords - 1,
		     nwords == 2 ? "" : "s");
		return false;
	}
	for (size_t i = 1; i < nwords; i++)
		if (!check_name_length(p, "name", p->words[i].text))
			return false;
	if (opens_block && rule->ctx == CTX_LEAF) {
		perr(p, "'%s' cannot have a '{' block here", keyword);
		return false;
	}
	if (opens_block && p->depth == CONF_MAX_DEPTH) {
		perr(p, "sections nested too deeply (at most %d)", CONF_MAX_DEPTH);
		return false;
	}
	const char *args[CONF_MAX_WORDS] = {NULL};
	for (size_t i = 1; i < nwords; i++)
		args[i - 1] = p->words[i].text;
	struct conf_node *node =
	    conf_node_add_child(current_node(p), keyword, args, nwords - 1, p->line);
	if (!node) {
		perr(p, "out of memory");
		return false;
	}
	if (opens_block) {
		node->has_block = true;
		p->depth++;
		p->stack[p->depth].node = node;
		p->stack[p->depth].ctx = rule->ctx;
	}
	return true;
}

static bool valid_attr_name(const char *name)
{
	if (!*name)
		return false;
	for (const char *c = name; *c; c++)
		if (!(('a' <= *c && *c <= 'z') || ('A' <= *c && *c <= 'Z') ||
		      ('0' <= *c && *c <= '9') || *c == '_' || *c == '-' || *c == '.'))
			return false;
	return true;
}

static bool add_attribute(struct parser *p)
{
	const char *name = p->words[0].text;
	if (!check_name_length(p, "attribute name", name))
		return false;
	if (!valid_attr_name(name)) {
		perr(p, "invalid attribute name '%s'", name);
		return false;
	}
	if (p->nwords == 1) {
		perr(p, "value missing for '%s'", name);
		return false;
	}
	if (p->nwords > 2) {
		perr(p,
		     "too many values for '%s' (put values that contain blanks in double quotes)",
		     name);
		return false;
	}
	if (!conf_node_add_attr(current_node(p), name, p->words[1].text, p->line)) {
		perr(p, "out of memory");
		return false;
	}
	return true;
}

static bool misplaced_brace(struct parser *p, size_t nwords)
{
	for (size_t i = 0; i < nwords; i++) {
		if (!p->words[i].brace)
			continue;
		if (p->words[i].text[0] == '}')
			perr(p, "'}' must be alone on its line");
		else if (i == 0)
			perr(
			    p,
			    "'{' must end the line that opens the section (e.g. 'DEVICE disk0 {')");
		else
			perr(p, "unexpected text after '{'");
		return true;
	}
	return false;
}

static bool parse_words(struct parser *p)
{
	if (p->nwords == 0)
		return true;
	if (p->words[0].brace && p->words[0].text[0] == '}')
		return close_section(p);
	if (!count_item(p))
		return false;

	bool opens_block = p->words[p->nwords - 1].brace &&
			   p->words[p->nwords - 1].text[0] == '{' && p->nwords > 1;
	size_t nwords = opens_block ? p->nwords - 1 : p->nwords;
	if (misplaced_brace(p, nwords))
		return false;

	const char *keyword = p->words[0].text;
	if (is_section_keyword(keyword)) {
		const struct section_rule *rule = find_rule(current_ctx(p), keyword);
		if (!rule) {
			char where[128];
			allowed_parents(keyword, where, sizeof(where));
			perr(p, "'%s' is not allowed %s%s (it belongs in %s)", keyword,
			     current_ctx(p) == CTX_ROOT ? "at " : "inside ",
			     ctx_names[current_ctx(p)], where);
			return false;
		}
		return open_section(p, rule, nwords, opens_block);
	}
	if (opens_block) {
		perr(p, "unknown section keyword '%s'", keyword);
		return false;
	}
	return add_attribute(p);
}

static bool needs_quotes(const char *word);

/* Characters conf_write_word() writes for word. */
static size_t written_len(const char *word)
{
	if (!needs_quotes(word))
		return strlen(word);
	size_t n = 2;
	for (const char *c = word; *c; c++)
		n += *c == '"' || *c == '\\' ? 2 : 1;
	return n;
}

/* Quoting can make a line longer when it is written back (a value full of
 * quotes doubles), and the writer's output must parse again: a line whose
 * written form (indentation, each word as conf_write_word() writes it, one
 * space between words, braces as they are) would pass CONF_MAX_LINE is
 * refused now rather than after a rewrite. */
static bool fits_when_written(struct parser *p)
{
	size_t n = p->depth;
	for (size_t i = 0; i < p->nwords; i++)
		n += (i ? 1 : 0) + (p->words[i].brace ? 1 : written_len(p->words[i].text));
	if (n <= CONF_MAX_LINE)
		return true;
	perr(p, "line too long once written back (at most %d characters)", CONF_MAX_LINE);
	return false;
}

static bool parse_line(struct parser *p, const char *start, size_t len)
{
	if (len && start[len - 1] == '\r')
		len--;
	if (len > CONF_MAX_LINE) {
		perr(p, "line too long (at most %d characters)", CONF_MAX_LINE);
		return false;
	}
	char line[CONF_MAX_LINE + 1];
	memcpy(line, start, len);
	line[len] = '\0';
	return tokenize(p, line) && fits_when_written(p) && parse_words(p);
}

static bool parse_all(struct parser *p, const char *text)
{
	const char *s = text;
	while (*s) {
		p->line++;
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		if (!parse_line(p, s, len))
			return false;
		s += len + (nl ? 1 : 0);
	}
	if (p->depth > 0) {
		struct conf_node *open = current_node(p);
		p->line = open->line;
		perr(p, "'%s' section is not closed (missing '}')", open->keyword);
		return false;
	}
	return true;
}

struct conf_tree *conf_parse_text(const char *text, const char *file, char *err, size_t errlen)
{
	struct parser *p = calloc(1, sizeof(*p));
	struct conf_tree *tree = conf_tree_new(file);
	if (!p || !tree) {
		conf_error(err, errlen, file, 0, "out of memory");
		free(p);
		conf_tree_free(tree);
		return NULL;
	}
	p->file = tree->file;
	p->err = err;
	p->errlen = errlen;
	p->tree = tree;
	p->stack[0].node = &tree->root;
	p->stack[0].ctx = CTX_ROOT;
	bool ok = parse_all(p, text);
	free(p);
	if (!ok) {
		conf_tree_free(tree);
		return NULL;
	}
	return tree;
}

/* Reads the whole file, refusing anything larger than CONF_MAX_FILE_SIZE. */
static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		conf_error(err, errlen, path, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	char *buf = malloc(CONF_MAX_FILE_SIZE + 1);
	size_t n = 0;
	while (buf && n <= CONF_MAX_FILE_SIZE) {
		ssize_t r = read(fd, buf + n, CONF_MAX_FILE_SIZE + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			conf_error(err, errlen, path, 0, "cannot read: %s", strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (!buf) {
		conf_error(err, errlen, path, 0, "out of memory");
		goto fail;
	}
	if (n > CONF_MAX_FILE_SIZE) {
		conf_error(err, errlen, path, 0, "file too large (at most %u bytes)",
			   CONF_MAX_FILE_SIZE);
		goto fail;
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	close(fd);
	free(buf);
	return NULL;
}

static int line_of_offset(const char *buf, size_t off)
{
	int line = 1;
	for (size_t i = 0; i < off; i++)
		line += buf[i] == '\n';
	return line;
}

struct conf_tree *conf_parse_file(const char *path, char *err, size_t errlen)
{
	size_t len;
	char *text = read_file(path, &len, err, errlen);
	if (!text)
		return NULL;
	/* The text parser stops at a NUL; a NUL in a config file is corruption, not an end. */
	const char *nul = memchr(text, '\0', len);
	if (nul) {
		conf_error(err, errlen, path, line_of_offset(text, (size_t)(nul - text)),
			   "NUL byte in the file");
		free(text);
		return NULL;
	}
	struct conf_tree *tree = conf_parse_text(text, path, err, errlen);
	free(text);
	return tree;
}

/* ---- writing ---- */

static bool needs_quotes(const char *word)
{
	if (!*word)
		return true;
	for (const char *c = word; *c; c++)
		/* Control characters too: a bare CR at the end of a line would
		 * be taken for a CRLF line ending when read back. */
		if (is_blank(*c) || is_escapable(*c) || (unsigned char)*c < 0x20 || *c == 0x7f)
			return true;
	return false;
}

void conf_write_word(FILE *f, const char *word)
{
	if (!needs_quotes(word)) {
		fputs(word, f);
		return;
	}
	fputc('"', f);
	for (const char *c = word; *c; c++) {
		if (*c == '"' || *c == '\\')
			fputc('\\', f);
		fputc(*c, f);
	}
	fputc('"', f);
}

static void write_indent(FILE *f, int depth)
{
	for (int i = 0; i < depth; i++)
		fputc('\t', f);
}

static void write_node(const struct conf_node *node, FILE *f, int depth);

static void write_body(const struct conf_node *node, FILE *f, int depth)
{
	for (size_t i = 0; i < node->nattrs; i++) {
		write_indent(f, depth);
		conf_write_word(f, node->attrs[i].name);
		fputc(' ', f);
		conf_write_word(f, node->attrs[i].value);
		fputc('\n', f);
	}
	for (size_t i = 0; i < node->nchildren; i++) {
		const struct conf_node *c = node->children[i];
		/* A blank line before each block keeps big files readable, as scstadmin does. */
		bool separate =
		    (c->has_block || c->nattrs || c->nchildren) && (i > 0 || node->nattrs);
		if (separate)
			fputc('\n', f);
		write_node(c, f, depth);
	}
}

static void write_node(const struct conf_node *node, FILE *f, int depth)
{
	write_indent(f, depth);
	fputs(node->keyword, f);
	for (size_t i = 0; i < node->nargs; i++) {
		fputc(' ', f);
		conf_write_word(f, node->args[i]);
	}
	if (!node->has_block && !node->nattrs && !node->nchildren) {
		fputc('\n', f);
		return;
	}
	fputs(" {\n", f);
	write_body(node, f, depth + 1);
	write_indent(f, depth);
	fputs("}\n", f);
}

int conf_tree_write(const struct conf_tree *tree, FILE *f)
{
	write_body(&tree->root, f, 0);
	return ferror(f) ? -1 : 0;
}

char *conf_tree_to_text(const struct conf_tree *tree)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	int rc = conf_tree_write(tree, f);
	if (fclose(f) != 0 || rc != 0) {
		free(text);
		return NULL;
	}
	return text;
}
