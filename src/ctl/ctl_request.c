#include "ctl/ctl_request.h"

#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_verbs.h"

static const char oom_answer[] = "{\"protocol\": 1, \"ok\": false, \"error\": \"the daemon is "
				 "out of memory; try again\"}\n";

struct json_object *ctl_answer(struct json_object *req) { return ctl_answer_input(req, NULL, 0); }

struct json_object *ctl_answer_input(struct json_object *req, const char *input, size_t len)
{
	if (!json_object_is_type(req, json_type_object))
		return ctl_error_answer("a request is one JSON object: {\"protocol\": %d, \"cmd\": "
					"[\"word\", ...]}",
					CTL_PROTOCOL_VERSION);
	struct json_object *proto, *cmd, *output;
	if (!json_object_object_get_ex(req, "protocol", &proto) ||
	    !json_object_is_type(proto, json_type_int))
		return ctl_error_answer(
		    "the request has no \"protocol\" number (this daemon speaks "
		    "protocol %d)",
		    CTL_PROTOCOL_VERSION);
	int64_t version = json_object_get_int64(proto);
	if (version != CTL_PROTOCOL_VERSION)
		return ctl_error_answer(
		    "protocol %lld is not spoken by this daemon (it speaks %d): "
		    "use the uscstadmin of the same uscst version",
		    (long long)version, CTL_PROTOCOL_VERSION);
	if (!json_object_object_get_ex(req, "cmd", &cmd) ||
	    !json_object_is_type(cmd, json_type_array))
		return ctl_error_answer("the request has no \"cmd\" array of words");
	size_t n = json_object_array_length(cmd);
	if (n > CTL_MAX_WORDS)
		return ctl_error_answer("%zu words in \"cmd\"; at most %d", n, CTL_MAX_WORDS);
	const char *words[CTL_MAX_WORDS];
	for (size_t i = 0; i < n; i++) {
		struct json_object *w = json_object_array_get_idx(cmd, i);
		if (!json_object_is_type(w, json_type_string))
			return ctl_error_answer("word %zu of \"cmd\" is not a string", i + 1);
		words[i] = json_object_get_string(w);
		/* A NUL inside a word would cut it silently. */
		if (strlen(words[i]) != (size_t)json_object_get_string_len(w))
			return ctl_error_answer("word %zu of \"cmd\" holds a NUL byte", i + 1);
	}
	bool json = false;
	if (json_object_object_get_ex(req, "output", &output)) {
		const char *o = json_object_get_string(output);
		if (!json_object_is_type(output, json_type_string) ||
		    (strcmp(o, "json") != 0 && strcmp(o, "text") != 0))
			return ctl_error_answer("\"output\" is \"text\" or \"json\"");
		json = strcmp(o, "json") == 0;
	}
	return ctl_dispatch_input(words, n, json, input, len);
}

char *ctl_answer_text(struct json_object *a)
{
	char *text = a ? jp_text(a, false) : NULL;
	json_object_put(a);
	return text ? text : strdup(oom_answer);
}

char *ctl_handle_request(const char *request)
{
	struct json_tokener *tok = json_tokener_new_ex(CTL_MAX_DEPTH);
	if (!tok)
		return NULL;
	struct json_object *req = json_tokener_parse_ex(tok, request, (int)strlen(request));
	enum json_tokener_error e = json_tokener_get_error(tok);
	struct json_object *a;
	if (e == json_tokener_success)
		a = ctl_answer(req);
	else if (e == json_tokener_continue)
		a = ctl_error_answer("incomplete JSON request");
	else
		a = ctl_error_answer("malformed JSON request: %s", json_tokener_error_desc(e));
	json_object_put(req);
	json_tokener_free(tok);
	return ctl_answer_text(a);
}
