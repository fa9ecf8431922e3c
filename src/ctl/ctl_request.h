/*
 * One request of the control protocol (ctl/ctl_protocol.h): checks the
 * request object and runs its verb (ctl/ctl_verbs.h).
 */
#ifndef USCST_CTL_CTL_REQUEST_H
#define USCST_CTL_CTL_REQUEST_H

#include <json-c/json.h>

/* The answer object to a parsed request (which stays the caller's); NULL
 * only on ENOMEM. */
struct json_object *ctl_answer(struct json_object *request);
/* The same for a request with input bytes after it (input NUL-terminated
 * at input[len]; NULL: none). */
struct json_object *ctl_answer_input(struct json_object *request, const char *input, size_t len);

/* The answer text (one JSON object and a newline) to a request text;
 * malloc'd, NULL on ENOMEM.  For tests and tools; the server parses
 * incrementally (ctl_server.c). */
char *ctl_handle_request(const char *request);

/* The answer text of an answer object (freed here); a fixed "out of
 * memory" answer when a is NULL or cannot be written.  malloc'd, NULL only
 * on ENOMEM. */
char *ctl_answer_text(struct json_object *a);

#endif
