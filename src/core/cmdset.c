/* The registry of command sets (core/cmdset.h). */
#include <string.h>

#include "core/cmdset.h"

/* One per device type: a handful at most. */
#define CMDSETS_MAX 8

static const struct uscst_cmdset *cmdsets[CMDSETS_MAX];
static unsigned ncmdsets;

bool uscst_cmdset_register(const struct uscst_cmdset *cs)
{
	if (uscst_cmdset_find(cs->name) || ncmdsets == CMDSETS_MAX)
		return false;
	cmdsets[ncmdsets++] = cs;
	return true;
}

const struct uscst_cmdset *uscst_cmdset_find(const char *name)
{
	for (unsigned i = 0; i < ncmdsets; i++)
		if (!strcmp(cmdsets[i]->name, name))
			return cmdsets[i];
	return NULL;
}

const struct uscst_cmdset *uscst_cmdset_default(void) { return ncmdsets ? cmdsets[0] : NULL; }
