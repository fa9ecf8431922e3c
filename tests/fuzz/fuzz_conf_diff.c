/*
 * libFuzzer target for conf_diff() (config apply's difference): the input
 * is two scst.conf texts separated by a NUL byte.  When both parse, the
 * first compared with the second gives an ordered list or an error naming
 * the wanted file (and no list); every change can be
 * described and has an undo of the inverse kind, whose own undo is the
 * change's kind again.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/conf_diff.h"

static enum conf_attr_runtime runtime(void *arg, const char *handler, const char *attr)
{
	return strcmp(attr, "read_only") == 0 || strcmp(attr, "size") == 0 ? CONF_ATTR_RUNTIME
									   : CONF_ATTR_FIXED;
}

static const char *default_of(void *arg, const char *handler, const char *attr)
{
	return strcmp(attr, "read_only") == 0 ? "0" : NULL;
}

static const struct conf_diff_policy policy = {runtime, default_of, NULL};

static void check_list(const struct conf_diff *d)
{
	for (size_t i = 0; i < d->count; i++) {
		char line[2048];
		conf_change_describe(&d->changes[i], line, sizeof(line));
		if (!line[0])
			__builtin_trap();
		if (i && d->changes[i].kind < d->changes[i - 1].kind)
			__builtin_trap(); /* ordered by kind */
		struct conf_change u = conf_change_undo(&d->changes[i]);
		struct conf_change uu = conf_change_undo(&u);
		if (uu.kind != d->changes[i].kind)
			__builtin_trap();
		conf_change_describe(&u, line, sizeof(line));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (1u << 18))
		return 0;
	char *text = malloc(size + 2);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = text[size + 1] = 0;
	const char *second = text + strlen(text) + 1; /* "" when there is no NUL */
	char err[512];
	struct conf_tree *a = conf_parse_text(text, "a.conf", err, sizeof(err));
	struct conf_tree *b = a ? conf_parse_text(second, "b.conf", err, sizeof(err)) : NULL;
	if (a && b) {
		struct conf_diff d;
		/* Against itself: no crash (no change either once validated,
		 * which rules out the duplicate names a raw tree may hold;
		 * test_conf_diff checks that).  A tree refused against itself
		 * could never be the one in force (ALUA groups are built and
		 * checked to be compared). */
		int self = conf_diff(a, a, &policy, &d, err, sizeof(err));
		if (self == 0)
			check_list(&d);
		conf_diff_free(&d);
		err[0] = 0;
		if (conf_diff(a, b, &policy, &d, err, sizeof(err)) == 0)
			check_list(&d);
		else if (d.count != 0 || (self == 0 && strncmp(err, "b.conf", 6) != 0))
			__builtin_trap(); /* refusals name the wanted file */
		conf_diff_free(&d);
	}
	conf_tree_free(b);
	conf_tree_free(a);
	free(text);
	return 0;
}
