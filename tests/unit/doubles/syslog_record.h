/* Recording double of src/lib/log_syslog.c: what lib/log.c sent to syslog. */
#ifndef USCST_TEST_SYSLOG_RECORD_H
#define USCST_TEST_SYSLOG_RECORD_H

struct syslog_record {
	unsigned opens;
	char ident[32];
	unsigned lines;
	int last_level;
	char last_line[256];
};
extern struct syslog_record syslog_record;
void syslog_record_reset(void);

#endif
