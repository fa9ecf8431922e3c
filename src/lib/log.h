/* Logging: one line per message to stderr, with a level filter. */
#ifndef USCST_LIB_LOG_H
#define USCST_LIB_LOG_H

enum log_level { LOG_ERR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

extern int log_max_level;

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
