/*
 * Checks the request line of an HTTP/1.x request (RFC 9112 3): METHOD SP
 * TARGET SP HTTP/1.x, then header fields up to an empty line.  The header
 * fields themselves are not needed and not interpreted.
 */
#include "metrics/http_request.h"

#include <stdbool.h>
#include <string.h>

/* The offset just past the empty line ending the header, or 0. */
static size_t header_end(const char *buf, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

static bool is_token_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

int http_request_status(const char *buf, size_t len)
{
	if (!header_end(buf, len))
		return len >= HTTP_MAX_REQUEST ? 431 : 0;
	size_t line_len = (size_t)((const char *)memchr(buf, '\n', len) - buf);
	if (line_len && buf[line_len - 1] == '\r')
		line_len--;
	/* METHOD */
	size_t i = 0;
	while (i < line_len && is_token_char(buf[i]))
		i++;
	size_t method_len = i;
	if (!method_len || i >= line_len || buf[i] != ' ')
		return 400;
	/* TARGET: visible characters up to the next space */
	size_t target = ++i;
	while (i < line_len && buf[i] > ' ' && buf[i] < 0x7f)
		i++;
	size_t target_len = i - target;
	if (!target_len || i >= line_len || buf[i] != ' ')
		return 400;
	/* VERSION: exactly HTTP/1.<digit> */
	i++;
	if (line_len - i != 8 || memcmp(buf + i, "HTTP/1.", 7) != 0 || buf[i + 7] < '0' ||
	    buf[i + 7] > '9')
		return 400;
	if (method_len != 3 || memcmp(buf, "GET", 3) != 0)
		return 405;
	const char *path = buf + target;
	size_t path_len = target_len;
	const char *q = memchr(path, '?', path_len);
	if (q)
		path_len = (size_t)(q - path);
	if (path_len != 8 || memcmp(path, "/metrics", 8) != 0)
		return 404;
	return 200;
}
