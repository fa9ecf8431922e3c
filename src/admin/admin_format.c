#include "admin/admin_format.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COLUMNS 32

static bool is_scalar(struct json_object *v)
{
	return !json_object_is_type(v, json_type_object) &&
	       !json_object_is_type(v, json_type_array);
}

static bool is_scalar_list(struct json_object *v)
{
	if (!json_object_is_type(v, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(v); i++)
		if (!is_scalar(json_object_array_get_idx(v, i)))
			return false;
	return true;
}

static bool is_object_list(struct json_object *v)
{
	if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) == 0)
		return false;
	for (size_t i = 0; i < json_object_array_length(v); i++)
		if (!json_object_is_type(json_object_array_get_idx(v, i), json_type_object))
			return false;
	return true;
}

/* The text of a scalar, or of a list of scalars joined by ","; malloc'd. */
static char *cell_text(struct json_object *v)
{
	if (!v)
		return strdup("-");
	switch (json_object_get_type(v)) {
	case json_type_boolean:
		return strdup(json_object_get_boolean(v) ? "yes" : "no");
	case json_type_string:
		return strdup(json_object_get_string(v));
	case json_type_array: {
		if (json_object_array_length(v) == 0)
			return strdup("-");
		char *out = strdup("");
		for (size_t i = 0; out && i < json_object_array_length(v); i++) {
			char *item = cell_text(json_object_array_get_idx(v, i));
			char *joined = NULL;
			if (!item || asprintf(&joined, "%s%s%s", out, i ? "," : "", item) < 0)
				joined = NULL;
			free(item);
			free(out);
			out = joined;
		}
		return out;
	}
	default:
		return strdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	}
}

static size_t text_width(const char *s)
{
	/* UTF-8: count the first byte of each character only. */
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void pad(FILE *f, size_t n)
{
	while (n--)
		fputc(' ', f);
}

struct columns {
	const char *key[MAX_COLUMNS];
	size_t width[MAX_COLUMNS];
	unsigned n;
};

static void add_column(struct columns *cols, const char *key)
{
	for (unsigned i = 0; i < cols->n; i++)
		if (strcmp(cols->key[i], key) == 0)
			return;
	if (cols->n < MAX_COLUMNS) {
		cols->key[cols->n] = key;
		cols->width[cols->n++] = strlen(key);
	}
}

static void print_table(FILE *f, struct json_object *rows, int indent)
{
	struct columns cols = {.n = 0};
	size_t nrows = json_object_array_length(rows);
	for (size_t r = 0; r < nrows; r++) {
		json_object_object_foreach(json_object_array_get_idx(rows, r), key, val)
		{
			if (!val || is_scalar(val) || is_scalar_list(val))
				add_column(&cols, key);
		}
	}
	for (size_t r = 0; r < nrows; r++) {
		struct json_object *row = json_object_array_get_idx(rows, r);
		for (unsigned i = 0; i < cols.n; i++) {
			struct json_object *v = NULL;
			json_object_object_get_ex(row, cols.key[i], &v);
			char *t = cell_text(v);
			size_t w = t ? text_width(t) : 1;
			if (w > cols.width[i])
				cols.width[i] = w;
			free(t);
		}
	}
	pad(f, (size_t)indent);
	for (unsigned i = 0; i < cols.n; i++) {
		for (const char *k = cols.key[i]; *k; k++)
			fputc(*k >= 'a' && *k <= 'z' ? *k - 'a' + 'A' : *k, f);
		if (i + 1 < cols.n)
			pad(f, cols.width[i] - strlen(cols.key[i]) + 2);
	}
	fputc('\n', f);
	for (size_t r = 0; r < nrows; r++) {
		struct json_object *row = json_object_array_get_idx(rows, r);
		pad(f, (size_t)indent);
		for (unsigned i = 0; i < cols.n; i++) {
			struct json_object *v = NULL;
			json_object_object_get_ex(row, cols.key[i], &v);
			char *t = cell_text(v);
			fputs(t ? t : "?", f);
			if (i + 1 < cols.n)
				pad(f, cols.width[i] - (t ? text_width(t) : 1) + 2);
			free(t);
		}
		fputc('\n', f);
	}
}

static void print_value(FILE *f, struct json_object *v, int indent);

static void print_object(FILE *f, struct json_object *o, int indent)
{
	json_object_object_foreach(o, key, val)
	{
		pad(f, (size_t)indent);
		if (!val || is_scalar(val) || is_scalar_list(val)) {
			char *t = cell_text(val);
			fprintf(f, "%s: %s\n", key, t ? t : "?");
			free(t);
			continue;
		}
		fprintf(f, "%s:\n", key);
		print_value(f, val, indent + 2);
	}
}

static void print_value(FILE *f, struct json_object *v, int indent)
{
	if (is_object_list(v)) {
		print_table(f, v, indent);
	} else if (json_object_is_type(v, json_type_array)) {
		if (json_object_array_length(v) == 0) {
			pad(f, (size_t)indent);
			fputs("(none)\n", f);
		}
		for (size_t i = 0; i < json_object_array_length(v); i++)
			print_value(f, json_object_array_get_idx(v, i), indent);
	} else if (json_object_is_type(v, json_type_object)) {
		print_object(f, v, indent);
	} else {
		char *t = cell_text(v);
		pad(f, (size_t)indent);
		fprintf(f, "%s\n", t ? t : "?");
		free(t);
	}
}

void admin_format(FILE *f, struct json_object *result)
{
	if (json_object_is_type(result, json_type_string)) {
		const char *s = json_object_get_string(result);
		size_t len = strlen(s);
		fputs(s, f);
		if (len == 0 || s[len - 1] != '\n')
			fputc('\n', f);
		return;
	}
	print_value(f, result, 0);
}
