/*
 * The syslog side of lib/log.c, apart because <syslog.h> defines LOG_ERR,
 * LOG_INFO and LOG_DEBUG as macros, which are also log.h's level names.
 * Levels are log.h's numbers: 0 error, 1 warning, 2 info, 3 debug.
 */
#include "lib/log_syslog.h"

#include <syslog.h>

void log_syslog_open(const char *ident)
{
	/* LOG_NDELAY: the socket to /dev/log is opened now, while the daemon
	 * may still see it (before a chroot or a drop of privileges). */
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_syslog_write(int level, const char *line)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	if (level < 0 || level > 3)
		level = 0;
	syslog(prio[level], "%s", line);
}
