/* Recording double of src/lib/log_syslog.c: see syslog_record.h. */
#include "syslog_record.h"

#include <stdio.h>
#include <string.h>

#include "lib/log_syslog.h"

struct syslog_record syslog_record;

void syslog_record_reset(void) { memset(&syslog_record, 0, sizeof(syslog_record)); }

void log_syslog_open(const char *ident)
{
	syslog_record.opens++;
	snprintf(syslog_record.ident, sizeof(syslog_record.ident), "%s", ident);
}

void log_syslog_write(int level, const char *line)
{
	syslog_record.lines++;
	syslog_record.last_level = level;
	snprintf(syslog_record.last_line, sizeof(syslog_record.last_line), "%s", line);
}
