/*
 * The backend registry (core/backends.c, include/uscst/backend.h):
 * registration rules (ABI version, duplicate and malformed ops refused),
 * the built-in backends registered by one explicit call, and the
 * per-device state the core allocates from ops->dev_priv_size.
 *
 * The registry has no removal, so every test registers backends of its
 * own names.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <uscst/backend.h>

#include "backend/builtin.h"
#include "core/backends.h"
#include "core/core.h"
#include "scsi/scsi.h"

static int fake_open(struct uscst_device *dev) { return 0; }
static void fake_close(struct uscst_device *dev) {}
static void fake_submit(struct uscst_device *dev, struct uscst_io *io)
{
	io->result = -EIO;
	io->done(io);
}

#define FAKE_OPS(n, priv)                                                                          \
	{                                                                                          \
		.name = (n), .dev_priv_size = (priv), .open = fake_open, .close = fake_close,      \
		.submit = fake_submit, .cmdset = "sbc",                                            \
	}

static void test_abi_mismatch_refused(void **state)
{
	static const struct uscst_backend_ops ops = FAKE_OPS("test_abi", 0);
	assert_int_equal(uscst_backend_register(&ops, USCST_BACKEND_ABI + 1), -EPROTO);
	assert_int_equal(uscst_backend_register(&ops, 0), -EPROTO);
	assert_null(uscst_backend_find("test_abi"));
	assert_int_equal(uscst_backend_register(&ops, USCST_BACKEND_ABI), 0);
	assert_ptr_equal(uscst_backend_find("test_abi"), &ops);
}

static void test_duplicate_refused(void **state)
{
	static const struct uscst_backend_ops first = FAKE_OPS("test_dup", 0);
	static const struct uscst_backend_ops second = FAKE_OPS("test_dup", 8);
	assert_int_equal(uscst_backend_register(&first, USCST_BACKEND_ABI), 0);
	assert_int_equal(uscst_backend_register(&second, USCST_BACKEND_ABI), -EEXIST);
	assert_int_equal(uscst_backend_register(&first, USCST_BACKEND_ABI), -EEXIST);
	assert_ptr_equal(uscst_backend_find("test_dup"), &first);
}

static void test_malformed_refused(void **state)
{
	static const struct uscst_backend_ops no_name = FAKE_OPS(NULL, 0);
	static const struct uscst_backend_ops empty_name = FAKE_OPS("", 0);
	static const struct uscst_backend_ops long_name =
	    FAKE_OPS("a_handler_name_of_thirty_two_ch", 0);
	static const struct uscst_backend_ops no_submit = {
	    .name = "test_nosubmit", .open = fake_open, .close = fake_close};
	assert_int_equal(strlen(long_name.name), USCST_BACKEND_NAME_MAX);
	static const struct uscst_backend_ops too_long =
	    FAKE_OPS("a_handler_name_of_thirty_two_chr", 0);
	assert_int_equal(uscst_backend_register(NULL, USCST_BACKEND_ABI), -EINVAL);
	assert_int_equal(uscst_backend_register(&no_name, USCST_BACKEND_ABI), -EINVAL);
	assert_int_equal(uscst_backend_register(&empty_name, USCST_BACKEND_ABI), -EINVAL);
	assert_int_equal(uscst_backend_register(&too_long, USCST_BACKEND_ABI), -EINVAL);
	assert_int_equal(uscst_backend_register(&no_submit, USCST_BACKEND_ABI), -EINVAL);
	assert_null(uscst_backend_find("test_nosubmit"));
	assert_int_equal(uscst_backend_register(&long_name, USCST_BACKEND_ABI), 0);
}

/* The daemon's one call registers both; a second call is refused, as any
 * duplicate is. */
static void test_builtin_registered_once(void **state)
{
	assert_int_equal(uscst_backends_register_builtin(), 0);
	assert_ptr_equal(uscst_backend_find("vdisk_fileio"), &backend_fileio_ops);
	assert_ptr_equal(uscst_backend_find("vdisk_nullio"), &backend_nullio_ops);
	assert_int_equal(uscst_backends_register_builtin(), -EEXIST);
	bool seen_fileio = false, seen_nullio = false;
	for (const struct uscst_backend_ops *o = uscst_backend_next(NULL); o;
	     o = uscst_backend_next(o)) {
		seen_fileio |= o == &backend_fileio_ops;
		seen_nullio |= o == &backend_nullio_ops;
	}
	assert_true(seen_fileio && seen_nullio);
}

struct big_priv {
	uint64_t words[37];
	long double ld; /* the strictest alignment */
};

static void test_dev_priv_allocated_zeroed(void **state)
{
	static const struct uscst_backend_ops with_priv =
	    FAKE_OPS("test_priv", sizeof(struct big_priv));
	static const struct uscst_backend_ops without = FAKE_OPS("test_nopriv", 0);
	assert_int_equal(uscst_backend_register(&with_priv, USCST_BACKEND_ABI), 0);
	assert_int_equal(uscst_backend_register(&without, USCST_BACKEND_ABI), 0);
	char err[256] = "";
	struct uscst_device *a = uscst_device_create("test_priv", "priv_a", err, sizeof(err));
	struct uscst_device *b = uscst_device_create("test_priv", "priv_b", err, sizeof(err));
	struct uscst_device *c = uscst_device_create("test_nopriv", "priv_c", err, sizeof(err));
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	struct big_priv *pa = uscst_device_backend_priv(a), *pb = uscst_device_backend_priv(b);
	assert_non_null(pa);
	assert_non_null(pb);
	assert_ptr_not_equal(pa, pb);
	assert_int_equal((uintptr_t)pa % _Alignof(max_align_t), 0);
	static const struct big_priv zero;
	assert_memory_equal(pa, &zero, sizeof(zero));
	/* The whole area is the device's own: writing it touches nothing else. */
	memset(pa, 0xa5, sizeof(*pa));
	assert_string_equal(uscst_device_name(a), "priv_a");
	assert_memory_equal(pb, &zero, sizeof(zero));
	assert_null(uscst_device_backend_priv(c));
}

static void test_unknown_handler_refused(void **state)
{
	char err[256] = "";
	assert_null(uscst_device_create("vdisk_nosuch", "dev_x", err, sizeof(err)));
	assert_non_null(strstr(err, "unknown handler 'vdisk_nosuch'"));
}

/* A device takes the command set its handler names: one nobody registered
 * refuses the device. */
static void test_unregistered_cmdset_refused(void **state)
{
	static const struct uscst_backend_ops ops = {.name = "test_nocmdset",
						     .open = fake_open,
						     .close = fake_close,
						     .submit = fake_submit,
						     .cmdset = "nosuch"};
	assert_int_equal(uscst_backend_register(&ops, USCST_BACKEND_ABI), 0);
	char err[256] = "";
	assert_null(uscst_device_create("test_nocmdset", "dev_y", err, sizeof(err)));
	assert_non_null(strstr(err, "command set 'nosuch' is not registered"));
}

static void fake_exec(struct uscst_device *dev, struct uscst_scsi_req *req)
{
	req->result = -EIO;
	req->done(req);
}

/* A backend may serve whole commands only (exec_cmd, no submit); a block
 * command set then refuses its devices, which would call submit. */
static void test_whole_command_backend(void **state)
{
	static const struct uscst_backend_ops ops = {.name = "test_exec_only",
						     .open = fake_open,
						     .close = fake_close,
						     .exec_cmd = fake_exec,
						     .cmdset = "sbc"};
	assert_int_equal(uscst_backend_register(&ops, USCST_BACKEND_ABI), 0);
	char err[256] = "";
	assert_null(uscst_device_create("test_exec_only", "dev_z", err, sizeof(err)));
	assert_non_null(strstr(err, "command set 'sbc' needs submit (block I/O)"));
}

int main(void)
{
	/* Devices take their command set when they are created (uscstd does the same). */
	if (!scsi_register_cmdsets())
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_abi_mismatch_refused),
	    cmocka_unit_test(test_duplicate_refused),
	    cmocka_unit_test(test_malformed_refused),
	    cmocka_unit_test(test_builtin_registered_once),
	    cmocka_unit_test(test_dev_priv_allocated_zeroed),
	    cmocka_unit_test(test_unknown_handler_refused),
	    cmocka_unit_test(test_unregistered_cmdset_refused),
	    cmocka_unit_test(test_whole_command_backend),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
