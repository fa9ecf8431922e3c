/* Test plugin: calls a daemon function directly instead of through the
 * host table.  uscstd exports nothing, so dlopen (RTLD_NOW) refuses it. */
#include <uscst/handler.h>

static int init(const struct uscst_handler_host *h) { return uscst_device_name(NULL) ? 0 : -1; }

USCST_HANDLER_PLUGIN(.name = "undefined symbol", .init = init);
