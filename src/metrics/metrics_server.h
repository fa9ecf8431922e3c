/*
 * uscstd --metrics ADDR:PORT: an HTTP/1.x server on a thread of its own
 * (never a reactor) that answers GET /metrics with the Prometheus text of
 * a statistics snapshot (core/stats_snapshot.h), and nothing else.
 */
#ifndef USCST_METRICS_SERVER_H
#define USCST_METRICS_SERVER_H

#include <stddef.h>

/* addr: "IPv4:PORT", "[IPv6]:PORT" or "HOST:PORT".  0, or -1 with a
 * message in err. */
int metrics_server_start(const char *addr, char *err, size_t errlen);
void metrics_server_stop(void);

#endif
