/*
 * User device handlers (include/uscst/handler.h): loading a plugin named by
 * a HANDLER block's `plugin` attribute, the host table it calls the daemon
 * through, and its start/stop around the daemon's life.
 *
 * A plugin is loaded once per path (a second HANDLER block naming the same
 * file finds it loaded) and stays loaded until the daemon exits: its
 * handlers are in the backend registry, which has no removal.
 */
#ifndef USCST_CORE_HANDLER_PLUGIN_H
#define USCST_CORE_HANDLER_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>

/* Loads the plugin at path (absolute) unless it is loaded already, then
 * checks that it registered the handler `handler`.  0, or -errno with
 * "plugin PATH: reason" in err: no such file, a file writable by group or
 * others or owned by another user than root or us, not loadable (dlerror),
 * no descriptor symbol, another handler or backend ABI (the plugin's and
 * ours), no init, init failed, or the handler is not one it registered. */
int uscst_handler_plugin_load(const char *path, const char *handler, char *err, size_t errlen);

/* The path of the plugin that registered handler, or NULL (built in). */
const char *uscst_handler_plugin_path(const char *handler);

/* Runs every loaded plugin's start() in load order; on a failure stops
 * the ones started and returns -errno with "plugin PATH: ..." in err. */
int uscst_handler_plugins_start(char *err, size_t errlen);

/* Runs the started plugins' stop() in reverse order. */
void uscst_handler_plugins_stop(void);

#endif
