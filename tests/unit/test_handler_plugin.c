/*
 * Handler plugins (core/handler_plugin.c, include/uscst/handler.h): the
 * loader refuses a missing file, a shared object without the descriptor,
 * another handler or backend ABI, a plugin that calls the daemon directly
 * (an undefined symbol), a failing init and a relative path, each with a
 * message naming the file; a good plugin loads once, provides its handler
 * to the configuration (HANDLER ... { plugin PATH }), runs start/stop, and
 * completes I/O from its own thread on the submitting reactor.  The test
 * plugins are the files of tests/unit/plugins/, built into TEST_PLUGIN_DIR.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include <uscst/handler.h>

#include "backend/builtin.h"
#include "config/conf_apply.h"
#include "config/conf_writer.h"
#include "core/core.h"
#include "core/handler_plugin.h"
#include "lib/log.h"
#include "reactor/reactor.h"
#include "scsi/scsi.h"

#define PLUGIN(name) TEST_PLUGIN_DIR "/" name ".so"

static char err[512];

static int load(const char *path, const char *handler)
{
	err[0] = '\0';
	return uscst_handler_plugin_load(path, handler, err, sizeof(err));
}

static void assert_contains(const char *text, const char *part)
{
	if (!strstr(text, part))
		fail_msg("'%s' does not contain '%s'", text, part);
}

static void test_missing_file(void **state)
{
	assert_int_equal(load(PLUGIN("does_not_exist"), "x"), -ENOENT);
	assert_contains(err, "plugin " PLUGIN("does_not_exist") ": No such file or directory");
}

static void test_no_entry_point(void **state)
{
	assert_int_equal(load(PLUGIN("no_entry"), "x"), -ENOENT);
	assert_contains(err,
			"plugin " PLUGIN("no_entry") ": no entry point 'uscst_handler_plugin'");
}

static void test_bad_handler_abi(void **state)
{
	char want[256];
	snprintf(want, sizeof(want),
		 "plugin %s: built for handler ABI %d and backend ABI %d, this uscstd has "
		 "handler ABI %d and backend ABI %d",
		 PLUGIN("bad_abi"), USCST_HANDLER_ABI + 98, USCST_BACKEND_ABI, USCST_HANDLER_ABI,
		 USCST_BACKEND_ABI);
	assert_int_equal(load(PLUGIN("bad_abi"), "x"), -EPROTO);
	assert_contains(err, want);
}

static void test_bad_backend_abi(void **state)
{
	char want[256];
	snprintf(want, sizeof(want), "built for handler ABI %d and backend ABI %d",
		 USCST_HANDLER_ABI, USCST_BACKEND_ABI + 1);
	assert_int_equal(load(PLUGIN("bad_backend_abi"), "x"), -EPROTO);
	assert_contains(err, PLUGIN("bad_backend_abi"));
	assert_contains(err, want);
}

/* The daemon exports nothing: a direct call cannot be bound. */
static void test_undefined_symbol(void **state)
{
	assert_int_equal(load(PLUGIN("undefined_sym"), "x"), -ENOEXEC);
	assert_contains(err, "plugin " PLUGIN("undefined_sym") ": cannot load:");
	assert_contains(err, "undefined symbol: uscst_device_name");
}

static void test_init_fails(void **state)
{
	assert_int_equal(load(PLUGIN("init_fails"), "x"), -ENODEV);
	assert_contains(err, "plugin " PLUGIN("init_fails") ": init failed: No such device");
}

/* Code that runs inside the daemon: a file others may rewrite is refused. */
static void test_writable_file(void **state)
{
	char path[] = "/tmp/uscst-plugin-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chmod(path, 0666), 0);
	assert_int_equal(load(path, "x"), -EPERM);
	assert_contains(err, "refused: writable by group or others");
	assert_contains(err, "(mode 0666");
	assert_int_equal(chmod(path, 0620), 0);
	assert_int_equal(load(path, "x"), -EPERM);
	/* Not writable by others: on to dlopen, which finds no ELF file. */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(load(path, "x"), -ENOEXEC);
	assert_contains(err, "cannot load:");
	unlink(path);
}

/* A directory of its own under /tmp (root's sticky one: fine) with a
 * 0644 file that is no ELF object: past the checks, dlopen refuses it. */
static void private_file(char *dir, size_t dlen, char *file, size_t flen)
{
	snprintf(dir, dlen, "/tmp/uscst-plugdir-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(file, flen, "%s/p.so", dir);
	int fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	close(fd);
}

/* stat then dlopen of a name could check one file and load another: a
 * symbolic link (which someone may point elsewhere) is refused, and so is
 * a file in a directory others may change entries of. */
static void test_symlink_and_open_directory(void **state)
{
	char dir[64], file[128], link[160];
	private_file(dir, sizeof(dir), file, sizeof(file));
	snprintf(link, sizeof(link), "%s/link.so", dir);
	assert_int_equal(symlink(file, link), 0);
	assert_int_equal(load(link, "tp_good"), -EPERM);
	assert_contains(err, "refused: a symbolic link");

	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(load(file, "tp_good"), -EPERM);
	assert_contains(err, "refused: a directory on its path");
	assert_contains(err, "mode 0777");
	assert_int_equal(chmod(dir, 0775), 0);
	assert_int_equal(load(file, "tp_good"), -EPERM);
	/* Sticky, like /tmp: others cannot replace what is not theirs. */
	assert_int_equal(chmod(dir, 01777), 0);
	assert_int_equal(load(file, "tp_good"), -ENOEXEC);
	assert_contains(err, "cannot load:");
	unlink(link);
	unlink(file);
	rmdir(dir);
}

static void test_relative_path(void **state)
{
	assert_int_equal(load("plugins/good.so", "tp_good"), -EINVAL);
	assert_contains(err, "plugin plugins/good.so: not an absolute path");
}

static void test_good_plugin(void **state)
{
	assert_null(uscst_handler_plugin_path("tp_good"));
	assert_int_equal(load(PLUGIN("good"), "tp_good"), 0);
	/* Once per path: a second HANDLER naming it finds it loaded. */
	assert_int_equal(load(PLUGIN("good"), "tp_good"), 0);
	assert_string_equal(uscst_handler_plugin_path("tp_good"), PLUGIN("good"));
	assert_null(uscst_handler_plugin_path("vdisk_fileio"));
	assert_int_equal(load(PLUGIN("good"), "ramdisk"), -ENOENT);
	assert_contains(err,
			"plugin " PLUGIN(
			    "good") " does not provide handler 'ramdisk' (it registered: tp_good)");

	void *dl = dlopen(PLUGIN("good"), RTLD_NOW | RTLD_NOLOAD);
	assert_non_null(dl);
	int (*started)(void) = (int (*)(void))dlsym(dl, "tp_good_started");
	assert_non_null(started);
	assert_int_equal(started(), 0);
	assert_int_equal(uscst_handler_plugins_start(err, sizeof(err)), 0);
	assert_int_equal(started(), 1);
	uscst_handler_plugins_stop();
	assert_int_equal(started(), 0);
	uscst_handler_plugins_stop(); /* stopped plugins are not stopped again */
	assert_int_equal(started(), 0);
	dlclose(dl);
}

static int check_conf(const char *text)
{
	struct conf_result res;
	err[0] = '\0';
	int rc = conf_load_text(text, "t.conf", &res, err, sizeof(err));
	conf_result_free(&res);
	return rc;
}

static void test_conf_grammar(void **state)
{
	assert_int_equal(check_conf("HANDLER tp_good {\n plugin good.so\n}\n"), -1);
	assert_string_equal(err, "t.conf:2: plugin 'good.so': expected an absolute path");
	assert_int_equal(check_conf("HANDLER tp_good {\n plugin /a.so\n plugin /b.so\n}\n"), -1);
	assert_string_equal(err, "t.conf:3: handler 'tp_good': plugin given twice");
	assert_int_equal(check_conf("HANDLER tp_good {\n threads 2\n}\n"), -1);
	assert_string_equal(err, "t.conf:2: handler attribute 'threads' is not supported yet");
	/* Refused at the plugin line, with the loader's message. */
	assert_int_equal(check_conf("HANDLER x {\n\n plugin " PLUGIN("bad_abi") "\n}\n"), -1);
	assert_contains(err, "t.conf:3: plugin " PLUGIN("bad_abi") ": built for handler ABI");
	assert_int_equal(check_conf("HANDLER ramdisk {\n plugin " PLUGIN("good") "\n}\n"), -1);
	assert_contains(err, "t.conf:2: plugin " PLUGIN("good") " does not provide handler");
}

/* ---- a device of the plugin, its I/O, show config ---- */

static sem_t io_sem;
static pthread_t reactor_thread, done_thread;

static void io_done(struct uscst_io *io)
{
	done_thread = pthread_self();
	sem_post(&io_sem);
}

static void submit_on_reactor(void *arg)
{
	struct uscst_io *io = arg;
	struct uscst_device *dev = io->priv;
	reactor_thread = pthread_self();
	dev->backend->submit(dev, io);
}

static int64_t run_io(struct uscst_device *dev, enum uscst_io_op op, void *buf, uint64_t len)
{
	struct iovec iov = {buf, len};
	struct uscst_io io = {
	    .op = op, .len = len, .iov = &iov, .iovcnt = buf ? 1 : 0, .done = io_done, .priv = dev};
	done_thread = 0;
	assert_int_equal(reactor_post(reactor_pick(), submit_on_reactor, &io), 0);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	assert_int_equal(sem_timedwait(&io_sem, &ts), 0);
	/* io->done always runs on the reactor that submitted. */
	assert_true(pthread_equal(done_thread, reactor_thread));
	return io.result;
}

static void test_device_of_plugin(void **state)
{
	assert_int_equal(check_conf("HANDLER tp_good {\n"
				    "\tplugin " PLUGIN("good") "\n"
							       "\tDEVICE tp0 {\n"
							       "\t\tcolour red\n"
							       "\t}\n"
							       "}\n"),
			 0);
	struct uscst_device *dev = uscst_device_find("tp0");
	assert_non_null(dev);
	assert_string_equal(uscst_device_attr(dev, "colour"), "red");
	assert_int_equal(uscst_device_size(dev), 1 << 20);

	char buf[4096];
	memset(buf, 0, sizeof(buf));
	assert_int_equal(run_io(dev, USCST_IO_READ, buf, sizeof(buf)), sizeof(buf));
	assert_int_equal((unsigned char)buf[0], 0xa5);
	assert_int_equal((unsigned char)buf[4095], 0xa5);
	assert_int_equal(run_io(dev, USCST_IO_WRITE, buf, sizeof(buf)), -EIO);
	/* Completed from the plugin's thread, run on the reactor. */
	assert_int_equal(run_io(dev, USCST_IO_FLUSH, NULL, 0), 0);

	char *text = conf_running_text();
	assert_non_null(text);
	assert_contains(text, "HANDLER tp_good {\n\tplugin " PLUGIN("good") "\n");
	free(text);
	/* The JSON form names the plugin beside the handler. */
	struct json_object *conf = conf_running_json_object(), *devs, *v;
	assert_non_null(conf);
	assert_true(json_object_object_get_ex(conf, "devices", &devs));
	struct json_object *tp0 = NULL;
	for (size_t i = 0; i < json_object_array_length(devs); i++) {
		struct json_object *d = json_object_array_get_idx(devs, i);
		if (json_object_object_get_ex(d, "name", &v) &&
		    strcmp(json_object_get_string(v), "tp0") == 0)
			tp0 = d;
	}
	assert_non_null(tp0);
	assert_true(json_object_object_get_ex(tp0, "handler", &v));
	assert_string_equal(json_object_get_string(v), "tp_good");
	assert_true(json_object_object_get_ex(tp0, "plugin", &v));
	assert_string_equal(json_object_get_string(v), PLUGIN("good"));
	json_object_put(conf);
}

/* A whole command (mode b) completed from another thread: req->done runs
 * on the reactor where async_begin_cmd was called. */
static const struct uscst_handler_host *plugin_host;
static struct uscst_handler_async cmd_async;
static sem_t begun;

static void req_done(struct uscst_scsi_req *req)
{
	done_thread = pthread_self();
	sem_post(&io_sem);
}

static void begin_on_reactor(void *arg)
{
	reactor_thread = pthread_self();
	plugin_host->async_begin_cmd(&cmd_async, arg);
	sem_post(&begun);
}

static void test_whole_command_async(void **state)
{
	void *dl = dlopen(PLUGIN("good"), RTLD_NOW | RTLD_NOLOAD);
	assert_non_null(dl);
	const struct uscst_handler_host *(*get)(void) =
	    (const struct uscst_handler_host *(*)(void))dlsym(dl, "tp_good_host");
	assert_non_null(get);
	plugin_host = get();
	assert_int_equal(plugin_host->abi, USCST_HANDLER_ABI);
	assert_int_equal(plugin_host->size, sizeof(struct uscst_handler_host));

	struct uscst_scsi_req req = {.done = req_done};
	sem_init(&begun, 0, 0);
	done_thread = 0;
	assert_int_equal(reactor_post(reactor_pick(), begin_on_reactor, &req), 0);
	assert_int_equal(sem_wait(&begun), 0);
	uscst_handler_check_condition(&req, 0x05, 0x20, 0x00);
	plugin_host->async_done_cmd(&cmd_async); /* from this (non-reactor) thread */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	assert_int_equal(sem_timedwait(&io_sem, &ts), 0);
	assert_true(pthread_equal(done_thread, reactor_thread));
	assert_false(pthread_equal(done_thread, pthread_self()));
	assert_int_equal(req.status, 0x02);
	assert_int_equal(req.sense_len, 18);
	assert_int_equal(req.sense[0], 0x70);
	assert_int_equal(req.sense[2], 0x05);
	assert_int_equal(req.sense[12], 0x20);
	sem_destroy(&begun);
	dlclose(dl);
}

static int start(void **state)
{
	sem_init(&io_sem, 0, 0);
	return reactors_start(1) == 0 ? 0 : -1;
}

static int stop(void **state)
{
	reactors_stop();
	return 0;
}

int main(void)
{
	if (!scsi_register_cmdsets() || uscst_backends_register_builtin() < 0)
		return 1;
	log_max_level = LOG_ERR;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_no_entry_point),
	    cmocka_unit_test(test_bad_handler_abi),
	    cmocka_unit_test(test_bad_backend_abi),
	    cmocka_unit_test(test_undefined_symbol),
	    cmocka_unit_test(test_init_fails),
	    cmocka_unit_test(test_symlink_and_open_directory),
	    cmocka_unit_test(test_relative_path),
	    cmocka_unit_test(test_writable_file),
	    cmocka_unit_test(test_good_plugin),
	    cmocka_unit_test(test_conf_grammar),
	    cmocka_unit_test(test_device_of_plugin),
	    cmocka_unit_test(test_whole_command_async),
	};
	return cmocka_run_group_tests(tests, start, stop);
}
