#include "lib/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

int log_max_level = LOG_INFO;

static const char *const level_names[] = {"error", "warning", "info", "debug"};

void log_msg(enum log_level level, const char *fmt, ...)
{
	if ((int)level > log_max_level)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	localtime_r(&ts.tv_sec, &tm);
	/* One fprintf per line so lines from different reactors do not interleave. */
	fprintf(stderr, "%02d:%02d:%02d.%03ld uscstd %s: %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
		ts.tv_nsec / 1000000, level_names[level], line);
}
