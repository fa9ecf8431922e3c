/* Syslog output of lib/log.c (LOG_DAEMON facility). */
#ifndef USCST_LIB_LOG_SYSLOG_H
#define USCST_LIB_LOG_SYSLOG_H

void log_syslog_open(const char *ident);
/* level: 0 error, 1 warning, 2 info, 3 debug (enum log_level). */
void log_syslog_write(int level, const char *line);

#endif
