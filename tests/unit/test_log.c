/*
 * Logging (lib/log.c): the level filter, the words of --log-level and
 * --log, and where a line goes: stderr (captured through a pipe) or
 * syslog (the recording double of lib/log_syslog.c, so no syslog daemon
 * is needed).
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "doubles/syslog_record.h"
#include "lib/log.h"

/* Runs one log_msg with stderr sent to a pipe; returns what it wrote. */
static char captured[2048];
static const char *capture(enum log_level level, const char *text)
{
	int p[2], saved = dup(STDERR_FILENO);
	assert_int_equal(pipe(p), 0);
	fflush(stderr);
	dup2(p[1], STDERR_FILENO);
	close(p[1]);
	log_msg(level, "%s", text);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	ssize_t n = read(p[0], captured, sizeof(captured) - 1);
	close(p[0]);
	captured[n > 0 ? n : 0] = '\0';
	return captured;
}

static void test_level_words(void **state)
{
	enum log_level l = LOG_INFO;
	assert_true(log_level_parse("err", &l) && l == LOG_ERR);
	assert_true(log_level_parse("error", &l) && l == LOG_ERR);
	assert_true(log_level_parse("warn", &l) && l == LOG_WARN);
	assert_true(log_level_parse("warning", &l) && l == LOG_WARN);
	assert_true(log_level_parse("info", &l) && l == LOG_INFO);
	assert_true(log_level_parse("debug", &l) && l == LOG_DEBUG);
	l = LOG_WARN;
	assert_false(log_level_parse("verbose", &l));
	assert_false(log_level_parse("", &l));
	assert_false(log_level_parse("INFO", &l));
	assert_int_equal(l, LOG_WARN); /* untouched when refused */

	enum log_target t = LOG_TO_STDERR;
	assert_true(log_target_parse("syslog", &t) && t == LOG_TO_SYSLOG);
	assert_true(log_target_parse("stderr", &t) && t == LOG_TO_STDERR);
	assert_false(log_target_parse("journal", &t));
}

static void test_stderr_filter(void **state)
{
	log_max_level = LOG_WARN;
	assert_string_equal(capture(LOG_INFO, "not shown"), "");
	assert_string_equal(capture(LOG_DEBUG, "not shown"), "");
	assert_non_null(strstr(capture(LOG_WARN, "shown"), "uscstd warning: shown\n"));
	assert_non_null(strstr(capture(LOG_ERR, "bad"), "uscstd error: bad\n"));
	log_max_level = LOG_DEBUG;
	assert_non_null(strstr(capture(LOG_DEBUG, "detail"), "uscstd debug: detail\n"));
	log_max_level = LOG_ERR;
	assert_string_equal(capture(LOG_WARN, "not shown"), "");
	log_max_level = LOG_INFO;
}

/* Last: the target stays syslog afterwards. */
static void test_syslog(void **state)
{
	syslog_record_reset();
	log_max_level = LOG_INFO;
	log_set_target(LOG_TO_SYSLOG);
	assert_int_equal(syslog_record.opens, 1);
	assert_string_equal(syslog_record.ident, "uscstd");
	/* Nothing on stderr any more, everything within the level to syslog. */
	assert_string_equal(capture(LOG_WARN, "disk0: flush failed"), "");
	assert_int_equal(syslog_record.lines, 1);
	assert_int_equal(syslog_record.last_level, LOG_WARN);
	assert_string_equal(syslog_record.last_line, "disk0: flush failed");
	log_msg(LOG_DEBUG, "filtered %d", 1);
	assert_int_equal(syslog_record.lines, 1);
	log_msg(LOG_ERR, "error %d", 2);
	assert_int_equal(syslog_record.lines, 2);
	assert_int_equal(syslog_record.last_level, LOG_ERR);
	assert_string_equal(syslog_record.last_line, "error 2");
	log_max_level = LOG_ERR;
	log_msg(LOG_INFO, "filtered");
	assert_int_equal(syslog_record.lines, 2);
	log_max_level = LOG_INFO;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_level_words),
	    cmocka_unit_test(test_stderr_filter),
	    cmocka_unit_test(test_syslog),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
