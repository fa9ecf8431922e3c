/* Test plugin: the handler ABI matches, the backend ABI does not. */
#include <uscst/handler.h>

static int init(const struct uscst_handler_host *h) { return -1; }

__attribute__((visibility("default"))) const struct uscst_handler_plugin uscst_handler_plugin = {
    .abi = USCST_HANDLER_ABI,
    .backend_abi = USCST_BACKEND_ABI + 1,
    .name = "other backend ABI",
    .init = init,
};
