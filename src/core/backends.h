/*
 * The backend registry as the core sees it (the public part, registration,
 * is in include/uscst/backend.h).  Backends register at start-up, before
 * the configuration is read and before any other thread runs; devices look
 * their handler up by name when they are created.
 */
#ifndef USCST_CORE_BACKENDS_H
#define USCST_CORE_BACKENDS_H

#include <uscst/backend.h>

/* The backend registered as handler_name, or NULL. */
const struct uscst_backend_ops *uscst_backend_find(const char *handler_name);

/* Registered backends in registration order; NULL gives the first. */
const struct uscst_backend_ops *uscst_backend_next(const struct uscst_backend_ops *prev);

#endif
