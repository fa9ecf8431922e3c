/*
 * Unit tests for configurations where two devices would share storage
 * (issue 11): one backing file reached by the same name, another spelling,
 * a symlink or a hard link, and one PR file (pr_file_name, or another
 * device's default --pr-dir/NAME, or a second path to the same file).  Such
 * a configuration must be refused at load time with FILE:LINE, before any
 * initiator can see two devices with separate reservations and COMPARE AND
 * WRITE locks over the same blocks.  Distinct files stay accepted.
 *
 * Devices cannot be deleted from the core, so every test uses its own
 * device names and its own temporary directory.
 */
#include <errno.h>
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

#include "backend/builtin.h"
#include "config/conf_apply.h"
#include "core/core.h"
#include "core/pr.h"
#include "scsi/scsi.h"

static char tmpdir[64];

static int setup_tmpdir(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/uscst-shared.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmpdir(void **state)
{
	char cmd[128];
	uscst_set_pr_dir(NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *tmp_path(const char *name)
{
	char *p = NULL;
	assert_true(asprintf(&p, "%s/%s", tmpdir, name) > 0);
	return p;
}

static void make_image(const char *name)
{
	char *p = tmp_path(name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(ftruncate(fileno(f), 1 << 20), 0);
	assert_int_equal(fclose(f), 0);
	free(p);
}

/* Two vdisk_fileio devices A and B (names prefix-a, prefix-b) on files fa
 * and fb, relative to tmpdir unless they start with '/'.  Line numbers:
 * DEVICE a = 2, its filename = 3; DEVICE b = 5, its filename = 6. */
static char *two_fileio(const char *prefix, const char *fa, const char *fb)
{
	char *text = NULL;
	assert_true(asprintf(&text,
			     "HANDLER vdisk_fileio {\n"
			     "\tDEVICE %s-a {\n"
			     "\t\tfilename %s%s%s\n"
			     "\t}\n"
			     "\tDEVICE %s-b {\n"
			     "\t\tfilename %s%s%s\n"
			     "\t\tpr_file_name \"\"\n"
			     "\t}\n"
			     "}\n",
			     prefix, fa[0] == '/' ? "" : tmpdir, fa[0] == '/' ? "" : "/", fa,
			     prefix, fb[0] == '/' ? "" : tmpdir, fb[0] == '/' ? "" : "/", fb) > 0);
	return text;
}

/* Loads text; expects failure with "test.conf:LINE:" and every word of
 * `want` (NULL-terminated) in the message. */
static void expect_refused(const char *text, int line, const char *const *want)
{
	struct conf_result res;
	char err[1024] = "";
	int rc = conf_load_text(text, "test.conf", &res, err, sizeof(err));
	conf_result_free(&res);
	if (rc == 0)
		fail_msg("configuration accepted:\n%s", text);
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "test.conf:%d: ", line);
	if (strncmp(err, prefix, strlen(prefix)) != 0)
		fail_msg("message '%s' does not start with '%s'", err, prefix);
	for (; want && *want; want++)
		if (!strstr(err, *want))
			fail_msg("message '%s' lacks '%s'", err, *want);
}

static void expect_accepted(const char *text)
{
	struct conf_result res;
	char err[1024] = "";
	int rc = conf_load_text(text, "test.conf", &res, err, sizeof(err));
	conf_result_free(&res);
	if (rc != 0)
		fail_msg("refused: %s\nconfiguration:\n%s", err, text);
}

/* --- one backing file --- */

static void test_backing_same_name(void **state)
{
	make_image("img");
	char *t = two_fileio("bsame", "img", "img");
	expect_refused(t, 6, (const char *const[]){"bsame-b", "bsame-a", NULL});
	free(t);
}

static void test_backing_other_spelling(void **state)
{
	make_image("img");
	char *sub = tmp_path("sub");
	assert_int_equal(mkdir(sub, 0700), 0);
	free(sub);
	char *t = two_fileio("bspell", "img", "sub/../img");
	expect_refused(t, 6, (const char *const[]){"bspell-a", NULL});
	free(t);
	/* Devices cannot be deleted: the first device of a refused
	 * configuration stays open, so every case needs its own file. */
	make_image("img2");
	t = two_fileio("bspell2", "img2", ".//img2");
	expect_refused(t, 6, (const char *const[]){"bspell2-a", NULL});
	free(t);
}

static void test_backing_symlink(void **state)
{
	make_image("img");
	char *target = tmp_path("img"), *link = tmp_path("link");
	assert_int_equal(symlink(target, link), 0);
	char *t = two_fileio("bsym", "img", "link");
	expect_refused(t, 6, (const char *const[]){"bsym-b", "bsym-a", NULL});
	free(t);
	/* The symlink first: still refused, at the second device. */
	make_image("img2");
	char *target2 = tmp_path("img2"), *link2 = tmp_path("link2");
	assert_int_equal(symlink(target2, link2), 0);
	t = two_fileio("bsym2", "link2", "img2");
	expect_refused(t, 6, (const char *const[]){"bsym2-a", NULL});
	free(t);
	/* A symlinked directory. */
	char *dirlink = tmp_path("dirlink");
	assert_int_equal(symlink(tmpdir, dirlink), 0);
	make_image("img3");
	t = two_fileio("bsym3", "img3", "dirlink/img3");
	expect_refused(t, 6, (const char *const[]){"bsym3-a", NULL});
	free(t);
	free(target);
	free(link);
	free(target2);
	free(link2);
	free(dirlink);
}

static void test_backing_hard_link(void **state)
{
	make_image("img");
	char *target = tmp_path("img"), *hard = tmp_path("hard");
	assert_int_equal(link(target, hard), 0);
	char *t = two_fileio("bhard", "img", "hard");
	expect_refused(t, 6, (const char *const[]){"bhard-a", NULL});
	free(t);
	free(target);
	free(hard);
}

/* A missing image file is created by the first device: the second one on
 * the same name opens what the first created. */
static void test_backing_created_by_first(void **state)
{
	char *text = NULL;
	assert_true(asprintf(&text,
			     "HANDLER vdisk_fileio {\n"
			     "\tDEVICE bnew-a {\n"
			     "\t\tfilename %s/new.img\n"
			     "\t\tsize 1048576\n"
			     "\t}\n"
			     "\tDEVICE bnew-b {\n"
			     "\t\tsize 1048576\n"
			     "\t\tfilename %s/new.img\n"
			     "\t}\n"
			     "}\n",
			     tmpdir, tmpdir) > 0);
	expect_refused(text, 8, (const char *const[]){"bnew-a", NULL});
	free(text);
}

static void test_backing_distinct_accepted(void **state)
{
	make_image("one");
	make_image("two");
	char *t = two_fileio("bok", "one", "two");
	expect_accepted(t);
	free(t);
	/* Two nullio devices have no backing file at all. */
	expect_accepted("HANDLER vdisk_nullio {\n"
			"\tDEVICE bok-n1 {\n\t\tpr_file_name \"\"\n\t}\n"
			"\tDEVICE bok-n2 {\n\t\tpr_file_name \"\"\n\t}\n"
			"}\n");
}

/* --- one PR file --- */

/* Two nullio devices NAME-a and NAME-b with the given pr_file_name values
 * (NULL: attribute absent, so the default --pr-dir/NAME applies).  Lines:
 * DEVICE a = 2, its pr_file_name = 4; DEVICE b = 6, its pr_file_name = 8. */
static char *two_nullio(const char *prefix, const char *pa, const char *pb)
{
	char *text = NULL, *la = NULL, *lb = NULL;
	assert_true(asprintf(&la, pa ? "\t\tpr_file_name %s\n" : "\t\t# default PR file\n", pa) >
		    0);
	assert_true(asprintf(&lb, pb ? "\t\tpr_file_name %s\n" : "\t\t# default PR file\n", pb) >
		    0);
	assert_true(asprintf(&text,
			     "HANDLER vdisk_nullio {\n"
			     "\tDEVICE %s-a {\n"
			     "\t\tsize_mb 1\n"
			     "%s"
			     "\t}\n"
			     "\tDEVICE %s-b {\n"
			     "\t\tsize_mb 1\n"
			     "%s"
			     "\t}\n"
			     "}\n",
			     prefix, la, prefix, lb) > 0);
	free(la);
	free(lb);
	return text;
}

static void test_pr_same_name(void **state)
{
	char *p = tmp_path("pr/shared");
	char *t = two_nullio("psame", p, p);
	expect_refused(t, 8, (const char *const[]){"psame-b", "psame-a", p, NULL});
	free(t);
	free(p);
}

/* A valid PR file as one device (APTPL) writes it: in issue 11 both
 * devices loaded it after a restart. */
static char *write_pr_file(const char *name)
{
	static const char text[] = "uscst-pr 1\ngeneration 1\naptpl 1\nreservation 0 0\n"
				   "registrant 1 0 0 0x000000000000bbbb "
				   "iqn.2024-01.test:b,i,0x23d000000002\n";
	char *p = tmp_path(name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	struct pr_state *st = NULL;
	char err[256];
	assert_int_equal(pr_file_load(p, &st, NULL, err, sizeof(err)), 0);
	assert_non_null(st); /* the fixture itself is a valid PR file */
	pr_state_free(st);
	return p;
}

static void test_pr_existing_file(void **state)
{
	char *p = write_pr_file("shared");
	char *t = two_nullio("pexist", p, p);
	expect_refused(t, 8, (const char *const[]){"pexist-a", NULL});
	free(t);
	/* A hard link and a symlink to it are the same file too (a file per
	 * case: the first device of a refused configuration stays open). */
	char *p2 = write_pr_file("shared2"), *p3 = write_pr_file("shared3");
	char *hard = tmp_path("hard"), *sym = tmp_path("sym");
	assert_int_equal(link(p2, hard), 0);
	assert_int_equal(symlink(p3, sym), 0);
	t = two_nullio("pexist2", p2, hard);
	expect_refused(t, 8, (const char *const[]){"pexist2-a", NULL});
	free(t);
	t = two_nullio("pexist3", sym, p3);
	expect_refused(t, 8, (const char *const[]){"pexist3-a", NULL});
	free(t);
	free(p);
	free(p2);
	free(p3);
	free(hard);
	free(sym);
}

/* The PR directory may not exist yet (it is created on the first save): two
 * spellings of a file in it are still one file. */
static void test_pr_missing_directory(void **state)
{
	char *p1 = tmp_path("new/dir/f"), *p2 = tmp_path("new/x/../dir/./f");
	char *t = two_nullio("pmiss", p1, p2);
	expect_refused(t, 8, (const char *const[]){"pmiss-a", NULL});
	free(t);
	/* A symlink to the directory. */
	char *real = tmp_path("real");
	assert_int_equal(mkdir(real, 0700), 0);
	free(real);
	char *dl = tmp_path("dl");
	assert_int_equal(symlink("real", dl), 0);
	char *p3 = tmp_path("real/f"), *p4 = tmp_path("dl/f");
	t = two_nullio("pmiss2", p3, p4);
	expect_refused(t, 8, (const char *const[]){"pmiss2-a", NULL});
	free(t);
	free(p1);
	free(p2);
	free(p3);
	free(p4);
	free(dl);
}

/* An explicit pr_file_name equal to another device's default path. */
static void test_pr_default_collision(void **state)
{
	char *prdir = tmp_path("prdir");
	assert_true(uscst_set_pr_dir(prdir));
	/* a uses the default prdir/pdef-a; b names it explicitly. */
	char *pa = tmp_path("prdir/pdef-a");
	char *t = two_nullio("pdef", NULL, pa);
	expect_refused(t, 8, (const char *const[]){"pdef-b", "pdef-a", NULL});
	free(t);
	/* The other way round: a names prdir/pdef2-b, b's default is that file:
	 * the line is b's DEVICE, as b has no pr_file_name line. */
	char *pb = tmp_path("prdir/pdef2-b");
	t = two_nullio("pdef2", pb, NULL);
	expect_refused(t, 6, (const char *const[]){"pdef2-b", "pdef2-a", NULL});
	free(t);
	/* Distinct defaults, explicit files elsewhere and "" are fine. */
	char *pc = tmp_path("elsewhere/c");
	t = two_nullio("pdef3", NULL, pc);
	expect_accepted(t);
	free(t);
	t = two_nullio("pdef4", NULL, NULL);
	expect_accepted(t);
	free(t);
	t = two_nullio("pdef5", "\"\"", "\"\"");
	expect_accepted(t);
	free(t);
	free(prdir);
	free(pa);
	free(pb);
	free(pc);
}

/* A PR file that is a device's backing file would be replaced by PR text. */
static void test_pr_file_is_backing_file(void **state)
{
	make_image("img");
	char *text = NULL;
	assert_true(asprintf(&text,
			     "HANDLER vdisk_fileio {\n"
			     "\tDEVICE pback-a {\n"
			     "\t\tfilename %s/img\n"
			     "\t\tpr_file_name \"\"\n"
			     "\t}\n"
			     "}\n"
			     "HANDLER vdisk_nullio {\n"
			     "\tDEVICE pback-b {\n"
			     "\t\tpr_file_name %s/img\n"
			     "\t}\n"
			     "}\n",
			     tmpdir, tmpdir) > 0);
	expect_refused(text, 9, (const char *const[]){"pback-a", NULL});
	free(text);
}

#define TMP_TEST(f) cmocka_unit_test_setup_teardown(f, setup_tmpdir, teardown_tmpdir)

int main(void)
{
	/* Devices take their command set when they are created (uscstd does the same). */
	if (!scsi_register_cmdsets())
		return 1;
	const struct CMUnitTest tests[] = {
	    TMP_TEST(test_backing_same_name),
	    TMP_TEST(test_backing_other_spelling),
	    TMP_TEST(test_backing_symlink),
	    TMP_TEST(test_backing_hard_link),
	    TMP_TEST(test_backing_created_by_first),
	    TMP_TEST(test_backing_distinct_accepted),
	    TMP_TEST(test_pr_same_name),
	    TMP_TEST(test_pr_existing_file),
	    TMP_TEST(test_pr_missing_directory),
	    TMP_TEST(test_pr_default_collision),
	    TMP_TEST(test_pr_file_is_backing_file),
	};
	if (uscst_backends_register_builtin() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
