/*
 * uscstadmin's human output: any result of the control protocol
 * (ctl/ctl_protocol.h) as text, by its shape, so that a new verb needs no
 * formatting code in the client:
 *   a string            printed as is (with a final newline)
 *   a number, bool      its value ("yes" / "no" for booleans, "-" for null
 *                       and, in a table or a "name: value" line, an empty list)
 *   an array of objects a table: one column per member holding a scalar or
 *                       an array of scalars (joined by ","), in the order
 *                       the members first appear, headed by the name in
 *                       capitals; nested objects are left to `show`
 *   an array of scalars one per line
 *   an empty array      "(none)"
 *   an object           "name: value" lines; a nested object or a list of
 *                       objects under its "name:" line, indented
 */
#ifndef USCST_ADMIN_ADMIN_FORMAT_H
#define USCST_ADMIN_ADMIN_FORMAT_H

#include <stdio.h>

#include <json-c/json.h>

void admin_format(FILE *f, struct json_object *result);

#endif
