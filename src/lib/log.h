/* Logging: one line per message, to stderr (default) or syslog, with a
 * level filter. */
#ifndef USCST_LIB_LOG_H
#define USCST_LIB_LOG_H

#include <stdbool.h>

enum log_level { LOG_ERR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Messages above this level are dropped (default LOG_INFO). */
extern int log_max_level;

enum log_target { LOG_TO_STDERR, LOG_TO_SYSLOG };
/* Where the lines go from now on; syslog is opened as "uscstd". */
void log_set_target(enum log_target target);

/* "err", "warn", "info", "debug" (also "error", "warning"); false for any
 * other word. */
bool log_level_parse(const char *word, enum log_level *level);
/* "stderr" or "syslog"; false for any other word. */
bool log_target_parse(const char *word, enum log_target *target);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
	do {                                                                                       \
		if (log_max_level >= LOG_DEBUG)                                                    \
			log_msg(LOG_DEBUG, __VA_ARGS__);                                           \
	} while (0)

#endif
