/*
 * Names an administrator gives objects (targets, groups, devices, CHAP
 * accounts) are written back into scst.conf, log lines and uscstadmin's
 * tables: a control character in one would break each of them (a newline
 * inside a quoted word makes the saved configuration unreadable at the
 * next start), so every place that takes such a name refuses them.
 */
#ifndef USCST_LIB_NAMES_H
#define USCST_LIB_NAMES_H

#include <stdbool.h>

/* True if s holds a byte below 0x20 or 0x7f (DEL). */
bool name_has_control_char(const char *s);

#endif
