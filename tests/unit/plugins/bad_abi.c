/* Test plugin: built for a handler ABI this daemon does not have. */
#include <uscst/handler.h>

static int init(const struct uscst_handler_host *h) { return -1; }

__attribute__((visibility("default"))) const struct uscst_handler_plugin uscst_handler_plugin = {
    .abi = USCST_HANDLER_ABI + 98,
    .backend_abi = USCST_BACKEND_ABI,
    .name = "from the future",
    .init = init,
};
