/*
 * The one request the metrics server answers: GET /metrics over HTTP/1.x.
 */
#ifndef USCST_METRICS_HTTP_REQUEST_H
#define USCST_METRICS_HTTP_REQUEST_H

#include <stddef.h>

/* Requests whose header is longer than this are refused (431). */
#define HTTP_MAX_REQUEST 4096

/*
 * What to answer to the len bytes received so far:
 *   0    the header is not complete yet: read more
 *   200  GET /metrics (a query string is ignored)
 *   400  not an HTTP/1.x request line
 *   404  another path
 *   405  another method
 *   431  no end of header within HTTP_MAX_REQUEST bytes
 */
int http_request_status(const char *buf, size_t len);

#endif
