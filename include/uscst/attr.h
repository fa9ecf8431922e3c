/*
 * Attribute tables: how a plugin (a transport today) declares the
 * configuration attributes it owns, so that the configuration parser, the
 * core and the admin listings all work from one description.
 *
 * A table is an array of struct uscst_attr_def ended by an entry whose
 * name is NULL.  Values are text, as in scst.conf; the core stores them as
 * given and the owner reads them back (uscst_target_attr() for a target's,
 * uscst_transport_driver_attr() for a transport's own).
 */
#ifndef USCST_ATTR_H
#define USCST_ATTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum uscst_attr_type {
	USCST_ATTR_BOOL,   /* 0 or 1 */
	USCST_ATTR_UINT,   /* an unsigned number in min..max */
	USCST_ATTR_YESNO,  /* Yes or No */
	USCST_ATTR_LIST,   /* comma-separated words */
	USCST_ATTR_STRING, /* text (an address, a name ...) */
};

enum uscst_attr_flags {
	/* May be changed while running (uscstadmin device NAME set ATTR
	 * VALUE): the owner applies it (a backend's set_attr). */
	USCST_ATTR_RUNTIME = 1u << 0,
	USCST_ATTR_MULTI = 1u << 1, /* may be given more than once (e.g. listen) */
	/* A name SCST knows that uscst has not built yet: refused as "not
	 * supported yet" rather than as unknown. */
	USCST_ATTR_NOT_BUILT = 1u << 2,
	/* Changing it at run time changes the device's medium (vcdrom's
	 * filename): refused while an initiator prevents medium removal. */
	USCST_ATTR_MEDIUM = 1u << 3,
};

struct uscst_attr_def {
	const char *name; /* SCST's spelling; NULL ends the table */
	enum uscst_attr_type type;
	unsigned flags;	   /* enum uscst_attr_flags */
	uint64_t min, max; /* USCST_ATTR_UINT */
	const char *def;   /* the default, as scst.conf would spell it; NULL: none */
	size_t offset;	   /* for the table's owner (e.g. where it keeps the parsed
			      value); the core ignores it */
	/*
	 * Checks a value: true, or false with "NAME: expected ..., got 'VALUE'"
	 * in err.  NULL: the core checks by type (BOOL 0 or 1; UINT a decimal
	 * number in min..max; YESNO Yes or No, any case; LIST and STRING
	 * anything).  An owner that parses the value itself should give the
	 * function it parses with, so that what is accepted is what it reads.
	 */
	bool (*check)(const struct uscst_attr_def *def, const char *value, char *err,
		      size_t errlen);
};

#endif
