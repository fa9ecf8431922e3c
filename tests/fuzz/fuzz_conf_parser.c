/*
 * libFuzzer target for conf_parse_text(): any text either fails with a
 * "FILE:LINE: message" error or gives a tree, and a tree written out with
 * conf_tree_to_text() must parse back into a tree that writes the same text
 * (the writer's promise in conf_parser.h).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/conf_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (1u << 20))
		return 0;
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	char err[512];
	err[0] = 0;
	struct conf_tree *t = conf_parse_text(text, "fuzz.conf", err, sizeof(err));
	if (!t) {
		if (strncmp(err, "fuzz.conf", 9) != 0)
			__builtin_trap(); /* errors name the file */
		free(text);
		return 0;
	}
	char *out = conf_tree_to_text(t);
	if (out) {
		struct conf_tree *t2 = conf_parse_text(out, "rewritten.conf", err, sizeof(err));
		if (!t2)
			__builtin_trap(); /* our own output must parse */
		char *out2 = conf_tree_to_text(t2);
		if (out2 && strcmp(out, out2) != 0)
			__builtin_trap(); /* ... into the same tree */
		free(out2);
		conf_tree_free(t2);
		free(out);
	}
	conf_tree_free(t);
	free(text);
	return 0;
}
