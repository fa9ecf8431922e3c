/*
 * uscstadmin's files (admin/admin_file.c): config write replaces a file
 * atomically (the whole new text, mode 0600, no temporary file left), a
 * symlink at the path is replaced rather than followed, and a failure
 * leaves the old file; admin_read_file keeps to its bound and refuses what
 * is not a regular file.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "admin/admin_file.h"

static char dir[256];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "%s/admin-file.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *path_in(const char *name)
{
	char *p;
	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

static char *slurp(const char *path)
{
	char err[256];
	size_t len;
	char *text = admin_read_file(path, 1 << 20, &len, err, sizeof(err));
	assert_non_null(text);
	return text;
}

static unsigned entries(void)
{
	unsigned n = 0;
	DIR *d = opendir(dir);
	assert_non_null(d);
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.' || strstr(e->d_name, ".tmp") != NULL;
	closedir(d);
	return n;
}

static void replaces_whole_file(void **state)
{
	char *p = path_in("scst.conf"), err[256];
	FILE *f = fopen(p, "w");
	fputs("old text that is longer than the new one\n", f);
	fclose(f);
	assert_int_equal(admin_write_atomic(p, "new\n", err, sizeof(err)), 0);
	char *text = slurp(p);
	assert_string_equal(text, "new\n");
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(entries(), 1); /* no temporary file left */
	free(text);
	free(p);
}

static void symlink_replaced_not_followed(void **state)
{
	char *target = path_in("elsewhere"), *link = path_in("link.conf"), err[256];
	FILE *f = fopen(target, "w");
	fputs("untouched\n", f);
	fclose(f);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(admin_write_atomic(link, "written\n", err, sizeof(err)), 0);
	char *a = slurp(target), *b = slurp(link);
	assert_string_equal(a, "untouched\n");
	assert_string_equal(b, "written\n");
	struct stat st;
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	free(a);
	free(b);
	free(target);
	free(link);
}

/* The rename cannot replace a directory: the error says so, the directory
 * stays, no temporary file is left. */
static void failure_leaves_old(void **state)
{
	char *p = path_in("adir"), err[256] = "";
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(admin_write_atomic(p, "x\n", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "renaming"));
	assert_non_null(strstr(err, "unchanged"));
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(entries(), 1);
	free(p);
	char *missing = path_in("no/such/dir/f.conf");
	assert_int_equal(admin_write_atomic(missing, "x\n", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot create"));
	free(missing);
}

static void read_bounds(void **state)
{
	char *p = path_in("big"), err[256];
	FILE *f = fopen(p, "w");
	fputs("0123456789", f);
	fclose(f);
	size_t len = 0;
	char *text = admin_read_file(p, 10, &len, err, sizeof(err));
	assert_non_null(text);
	assert_int_equal(len, 10);
	free(text);
	assert_null(admin_read_file(p, 9, &len, err, sizeof(err)));
	assert_non_null(strstr(err, "larger"));
	assert_null(admin_read_file(dir, 100, &len, err, sizeof(err)));
	assert_non_null(strstr(err, "not a regular file"));
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(replaces_whole_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(symlink_replaced_not_followed, setup, teardown),
	    cmocka_unit_test_setup_teardown(failure_leaves_old, setup, teardown),
	    cmocka_unit_test_setup_teardown(read_bounds, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
