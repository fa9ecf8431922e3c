/*
 * libFuzzer target for the control protocol's request path
 * (ctl_handle_request: JSON parsing, the request checks, the verb table):
 * any bytes get one answer, a JSON object with "protocol" 1 and a boolean
 * "ok", and a refusal says why in a non-empty "error".  No configuration
 * is loaded, so the verbs see an empty daemon.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "ctl/ctl_protocol.h"
#include "ctl/ctl_request.h"
#include "lib/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > CTL_MAX_REQUEST)
		return 0; /* the server refuses these before parsing */
	log_max_level = LOG_ERR;
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	char *answer = ctl_handle_request(text);
	free(text);
	if (!answer)
		return 0; /* ENOMEM */
	struct json_object *a = json_tokener_parse(answer), *v;
	if (!a || !json_object_is_type(a, json_type_object))
		__builtin_trap(); /* every answer is one JSON object */
	if (!json_object_object_get_ex(a, "protocol", &v) ||
	    json_object_get_int(v) != CTL_PROTOCOL_VERSION)
		__builtin_trap();
	if (!json_object_object_get_ex(a, "ok", &v) || !json_object_is_type(v, json_type_boolean))
		__builtin_trap();
	if (!json_object_get_boolean(v) &&
	    (!json_object_object_get_ex(a, "error", &v) || !json_object_get_string_len(v)))
		__builtin_trap(); /* a refusal says why */
	json_object_put(a);
	free(answer);
	return 0;
}
