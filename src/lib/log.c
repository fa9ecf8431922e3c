#include "lib/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/log_syslog.h"

int log_max_level = LOG_INFO;

/* Set at start-up, read by every thread that logs. */
static _Atomic int target = LOG_TO_STDERR;

static const char *const level_names[] = {"error", "warning", "info", "debug"};

void log_set_target(enum log_target t)
{
	if (t == LOG_TO_SYSLOG)
		log_syslog_open("uscstd");
	atomic_store(&target, t);
}

bool log_level_parse(const char *word, enum log_level *level)
{
	static const struct {
		const char *word;
		enum log_level level;
	} words[] = {{"err", LOG_ERR},	    {"error", LOG_ERR}, {"warn", LOG_WARN},
		     {"warning", LOG_WARN}, {"info", LOG_INFO}, {"debug", LOG_DEBUG}};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strcmp(word, words[i].word) == 0) {
			*level = words[i].level;
			return true;
		}
	}
	return false;
}

bool log_target_parse(const char *word, enum log_target *t)
{
	if (strcmp(word, "stderr") == 0)
		*t = LOG_TO_STDERR;
	else if (strcmp(word, "syslog") == 0)
		*t = LOG_TO_SYSLOG;
	else
		return false;
	return true;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if ((int)level > log_max_level || (int)level < LOG_ERR)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (atomic_load(&target) == LOG_TO_SYSLOG) {
		/* syslog stamps the time and the daemon's name itself. */
		log_syslog_write(level, line);
		return;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	localtime_r(&ts.tv_sec, &tm);
	/* One fprintf per line so lines from different reactors do not interleave. */
	fprintf(stderr, "%02d:%02d:%02d.%03ld uscstd %s: %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
		ts.tv_nsec / 1000000, level_names[level], line);
}
