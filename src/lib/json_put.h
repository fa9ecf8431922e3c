/*
 * Building JSON with json-c without an error check after every call.
 *
 * Each function takes `failed`: when it cannot allocate (or is handed a
 * NULL container or value) it sets *failed and frees what it was given, so
 * a builder calls them in a row and looks at *failed once at the end.
 * Values are owned by their container once put.
 */
#ifndef USCST_LIB_JSON_PUT_H
#define USCST_LIB_JSON_PUT_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

struct json_object *jp_object(bool *failed);
struct json_object *jp_array(bool *failed);
/* obj[key] = val (val taken: freed if it cannot be put); returns val, or
 * NULL if it was not put. */
struct json_object *jp_put(bool *failed, struct json_object *obj, const char *key,
			   struct json_object *val);
/* s NULL: JSON null. */
void jp_str(bool *failed, struct json_object *obj, const char *key, const char *s);
void jp_u64(bool *failed, struct json_object *obj, const char *key, uint64_t v);
void jp_bool(bool *failed, struct json_object *obj, const char *key, bool v);
/* arr += val (val taken); returns val, or NULL if it was not appended. */
struct json_object *jp_append(bool *failed, struct json_object *arr, struct json_object *val);
void jp_append_str(bool *failed, struct json_object *arr, const char *s);

/* Text of obj, malloc'd (pretty: indented, one member a line), with a
 * final newline; NULL on ENOMEM. */
char *jp_text(struct json_object *obj, bool pretty);

#endif
