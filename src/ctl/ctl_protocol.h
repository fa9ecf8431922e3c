/*
 * The control protocol of uscstd, shared by the daemon (src/ctl/) and
 * uscstadmin (src/admin/): constants only, no daemon headers.
 *
 * One request per connection, over the UNIX stream socket:
 *
 *   client -> daemon   one JSON object (any whitespace around it; the
 *                      daemon stops reading at its closing brace):
 *       {"protocol": 1,
 *        "cmd": ["device", "disk0", "set", "filename", "/srv/a b.img"],
 *        "output": "text" | "json"}      optional, default "text"
 *   daemon -> client   one JSON object, then the daemon closes:
 *       {"protocol": 1, "ok": true, "result": <any JSON>,
 *        "message": "ok: ..."}           message optional
 *       {"protocol": 1, "ok": false, "error": "what was wrong and what to do",
 *        "usage": true}                  usage: the words make no command
 *
 * "cmd" holds the command words as the user typed them (one word may hold
 * spaces: a file name); the daemon's verb table (ctl/ctl_verbs.h) says
 * which words make which verb.  "output": "json" says the client shows the
 * result to a script (uscstadmin -j): a verb whose text form differs from
 * its data (show config) then answers with the data.  "message" is the
 * human answer of a verb whose result is an acknowledgement; uscstadmin
 * prints it instead of formatting the result.  Unknown request fields are
 * ignored, so a newer client's optional fields do not break an older daemon.
 *
 * Input: a verb that takes a document (config apply takes the file's text)
 * gets it after the object, as raw bytes: the request says how many in
 * "input_bytes": N (1..CTL_MAX_INPUT), and exactly N bytes follow its
 * closing brace.  The object itself stays under CTL_MAX_REQUEST, so the
 * larger bound is given only to a client that announces its input, and
 * the whole (object and input) must still arrive within
 * CTL_REQUEST_TIMEOUT_MS.  A verb that takes no input refuses one.  The
 * socket is the daemon's user's (or --ctl-group's) only, and at most
 * CTL_MAX_CLIENTS inputs are held at once.
 *
 * Bounds: a request longer than CTL_MAX_REQUEST bytes, or not complete
 * within CTL_REQUEST_TIMEOUT_MS of the connection, gets an error answer and
 * the connection closed; so does a request beyond CTL_MAX_WORDS words or
 * CTL_MAX_DEPTH levels of nesting.
 */
#ifndef USCST_CTL_CTL_PROTOCOL_H
#define USCST_CTL_CTL_PROTOCOL_H

#ifndef USCST_VERSION
#define USCST_VERSION "0.1.0"
#endif

/* Bumped when a request or answer changes incompatibly. */
#define CTL_PROTOCOL_VERSION 1

#define CTL_DEFAULT_SOCKET "/run/uscst/uscstd.sock"
#define CTL_MAX_REQUEST (64 * 1024) /* bytes of one request */
#define CTL_MAX_INPUT (16u << 20)   /* bytes of input after it (scst.conf's bound) */
#define CTL_MAX_WORDS 64	    /* words in "cmd" */
#define CTL_MAX_DEPTH 8		    /* nesting of the request object */
#define CTL_REQUEST_TIMEOUT_MS 5000 /* from accept to a whole request */

/* What uscstadmin prints before the daemon's error message. */
#define CTL_ERROR_PREFIX "error: "

#endif
