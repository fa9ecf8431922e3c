#include "lib/json_put.h"

#include <stdio.h>
#include <stdlib.h>

struct json_object *jp_object(bool *failed)
{
	struct json_object *o = json_object_new_object();
	if (!o)
		*failed = true;
	return o;
}

struct json_object *jp_array(bool *failed)
{
	struct json_object *a = json_object_new_array();
	if (!a)
		*failed = true;
	return a;
}

struct json_object *jp_put(bool *failed, struct json_object *obj, const char *key,
			   struct json_object *val)
{
	if (!obj || !val || json_object_object_add(obj, key, val) != 0) {
		json_object_put(val);
		*failed = true;
		return NULL;
	}
	return val;
}

void jp_str(bool *failed, struct json_object *obj, const char *key, const char *s)
{
	if (!s) {
		/* json-c stores a NULL value as JSON null. */
		if (!obj || json_object_object_add(obj, key, NULL) != 0)
			*failed = true;
		return;
	}
	jp_put(failed, obj, key, json_object_new_string(s));
}

void jp_u64(bool *failed, struct json_object *obj, const char *key, uint64_t v)
{
	jp_put(failed, obj, key, json_object_new_uint64(v));
}

void jp_bool(bool *failed, struct json_object *obj, const char *key, bool v)
{
	jp_put(failed, obj, key, json_object_new_boolean(v));
}

struct json_object *jp_append(bool *failed, struct json_object *arr, struct json_object *val)
{
	if (!arr || !val || json_object_array_add(arr, val) != 0) {
		json_object_put(val);
		*failed = true;
		return NULL;
	}
	return val;
}

void jp_append_str(bool *failed, struct json_object *arr, const char *s)
{
	jp_append(failed, arr, json_object_new_string(s ? s : ""));
}

char *jp_text(struct json_object *obj, bool pretty)
{
	int flags =
	    JSON_C_TO_STRING_NOSLASHESCAPE |
	    (pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN);
	const char *s = json_object_to_json_string_ext(obj, flags);
	char *text = NULL;
	if (!s || asprintf(&text, "%s\n", s) < 0)
		return NULL;
	return text;
}
