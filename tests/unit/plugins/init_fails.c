/* Test plugin: init() fails. */
#include <errno.h>

#include <uscst/handler.h>

static int init(const struct uscst_handler_host *h) { return -ENODEV; }

USCST_HANDLER_PLUGIN(.name = "init fails", .init = init);
