/*
 * Command sets (core/cmdset.h): the registry, and that the core reaches a
 * device's command set only through its table: decode and dispatch of a
 * command, nexus loss when the session ends, LU reset from task
 * management.  Two recording command sets stand in for SBC, so the test
 * sees exactly what the core asks of a command set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/cmdset.h"
#include "core/core.h"

/* What a recording command set was asked, and about which device/session. */
struct calls {
	unsigned decode, dispatch, nexus_lost, power_on, lu_reset;
	const struct uscst_device *dev;
	const struct uscst_session *sess;
};
static struct calls first_calls, second_calls;

#define OUT_LEN_FIRST 7u
#define OUT_LEN_SECOND 9u

static void first_decode(struct uscst_cmd *cmd)
{
	first_calls.decode++;
	first_calls.dev = cmd->dev;
	cmd->out_len = OUT_LEN_FIRST;
}

static void second_decode(struct uscst_cmd *cmd)
{
	second_calls.decode++;
	second_calls.dev = cmd->dev;
	cmd->out_len = OUT_LEN_SECOND;
}

static void first_dispatch(struct uscst_cmd *cmd)
{
	first_calls.dispatch++;
	cmd->done(cmd);
}

static void second_dispatch(struct uscst_cmd *cmd)
{
	second_calls.dispatch++;
	cmd->done(cmd);
}

static void first_nexus_lost(struct uscst_device *dev, struct uscst_session *sess)
{
	first_calls.nexus_lost++;
	first_calls.dev = dev;
	first_calls.sess = sess;
}

static void second_nexus_lost(struct uscst_device *dev, struct uscst_session *sess)
{
	second_calls.nexus_lost++;
}

static void first_power_on(struct uscst_device *dev) { first_calls.power_on++; }

static void second_power_on(struct uscst_device *dev)
{
	second_calls.power_on++;
	second_calls.dev = dev;
}

static void first_lu_reset(struct uscst_device *dev)
{
	first_calls.lu_reset++;
	first_calls.dev = dev;
}

static void second_lu_reset(struct uscst_device *dev) { second_calls.lu_reset++; }

static const struct uscst_cmdset first = {
    .name = "test_first",
    .device_type = 0x1e,
    .decode = first_decode,
    .dispatch = first_dispatch,
    .nexus_lost = first_nexus_lost,
    .power_on = first_power_on,
    .lu_reset = first_lu_reset,
};
static const struct uscst_cmdset second = {
    .name = "test_second",
    .device_type = 0x1d,
    .decode = second_decode,
    .dispatch = second_dispatch,
    .nexus_lost = second_nexus_lost,
    .power_on = second_power_on,
    .lu_reset = second_lu_reset,
};

static int sized_open(struct uscst_device *dev)
{
	uscst_device_set_size(dev, 1u << 20);
	return 0;
}
static void noop_close(struct uscst_device *dev) {}
static void noop_submit(struct uscst_device *dev, struct uscst_io *io) {}

/* A handler whose devices take the second command set. */
static const struct uscst_backend_ops second_handler = {
    .name = "test_second_handler",
    .open = sized_open,
    .close = noop_close,
    .submit = noop_submit,
    .cmdset = "test_second",
};

static struct uscst_device *dev;
static struct uscst_lun map_luns[1];
static struct uscst_lun_map map = {.luns = map_luns, .cap = 1};
static struct uscst_target tgt;
static unsigned ndone;

static void on_done(struct uscst_cmd *cmd) { ndone++; }

static void test_registry(void **state)
{
	assert_ptr_equal(uscst_cmdset_find("test_first"), &first);
	assert_ptr_equal(uscst_cmdset_find("test_second"), &second);
	assert_null(uscst_cmdset_find("test_nosuch"));
	/* A second one of the same name is refused, the first stays. */
	static const struct uscst_cmdset impostor = {.name = "test_first"};
	assert_false(uscst_cmdset_register(&impostor));
	assert_ptr_equal(uscst_cmdset_find("test_first"), &first);
	/* LUNs with no device are answered by the first registered. */
	assert_ptr_equal(uscst_cmdset_default(), &first);
}

static void test_device_takes_its_handlers_cmdset(void **state)
{
	assert_ptr_equal(dev->cmdset, &second);
}

/* Opening the device gives the command set its power-on state. */
static void test_open_powers_on_the_cmdset(void **state)
{
	char err[256] = "";
	memset(&second_calls, 0, sizeof(second_calls));
	assert_int_equal(uscst_device_open(dev, err, sizeof(err)), 0);
	assert_int_equal(second_calls.power_on, 1);
	assert_ptr_equal(second_calls.dev, dev);
	assert_int_equal(first_calls.power_on, 0);
}

static void run_cmd(struct uscst_session *s, uint64_t lun, uint32_t *out_len)
{
	struct uscst_cmd cmd;
	uscst_cmd_init(&cmd, s);
	cmd.lun = lun;
	cmd.cdb[0] = 0x00;
	cmd.done = on_done;
	uscst_cmd_decode(&cmd);
	*out_len = cmd.out_len;
	uscst_cmd_execute(&cmd);
	uscst_cmd_release(&cmd);
}

static void test_commands_go_to_the_devices_cmdset(void **state)
{
	struct uscst_session *s = uscst_session_create(&tgt, "iqn.test:i", "iqn.test:i,i,0x1");
	assert_non_null(s);
	memset(&first_calls, 0, sizeof(first_calls));
	memset(&second_calls, 0, sizeof(second_calls));
	ndone = 0;
	uint32_t out_len;

	run_cmd(s, 0, &out_len); /* LUN 0: dev, the second command set */
	assert_int_equal(out_len, OUT_LEN_SECOND);
	assert_int_equal(second_calls.decode, 1);
	assert_int_equal(second_calls.dispatch, 1);
	assert_ptr_equal(second_calls.dev, dev);
	assert_int_equal(first_calls.decode + first_calls.dispatch, 0);

	run_cmd(s, 5, &out_len); /* no device: the default command set */
	assert_int_equal(out_len, OUT_LEN_FIRST);
	assert_int_equal(first_calls.decode, 1);
	assert_int_equal(first_calls.dispatch, 1);
	assert_null(first_calls.dev);
	assert_int_equal(ndone, 2);
	uscst_session_destroy(s);
}

static void tmf_done(struct uscst_tmf *tmf) { ndone++; }

static void test_lu_reset_and_nexus_loss(void **state)
{
	struct uscst_session *s = uscst_session_create(&tgt, "iqn.test:i", "iqn.test:i,i,0x2");
	assert_non_null(s);
	memset(&second_calls, 0, sizeof(second_calls));
	ndone = 0;

	struct uscst_tmf tmf = {.sess = s, .fn = USCST_TMF_LUN_RESET, .lun = 0, .done = tmf_done};
	assert_int_equal(uscst_tmf_start(&tmf), USCST_TMF_RSP_COMPLETE);
	assert_int_equal(ndone, 1); /* no reactor: answered at once */
	assert_int_equal(second_calls.lu_reset, 1);

	/* A target reset resets every LU of the target. */
	tmf.fn = USCST_TMF_TARGET_WARM_RESET;
	assert_int_equal(uscst_tmf_start(&tmf), USCST_TMF_RSP_COMPLETE);
	assert_int_equal(second_calls.lu_reset, 2);

	assert_int_equal(second_calls.nexus_lost, 0);
	uscst_session_destroy(s);
	assert_int_equal(second_calls.nexus_lost, 1);
	assert_int_equal(first_calls.nexus_lost, 0);
}

static int setup(void **state)
{
	if (!uscst_cmdset_register(&first) || !uscst_cmdset_register(&second))
		return -1;
	if (uscst_backend_register(&second_handler, USCST_BACKEND_ABI) < 0)
		return -1;
	char err[256] = "";
	dev = uscst_device_create("test_second_handler", "cmdset_dev", err, sizeof(err));
	if (!dev) {
		print_error("device: %s\n", err);
		return -1;
	}
	map.count = 1;
	map.luns[0].lun = 0;
	map.luns[0].dev = dev;
	snprintf(tgt.name, sizeof(tgt.name), "iqn.test:tgt");
	tgt.luns = &map;
	atomic_init(&map.refs, 1); /* the target's, never dropped */
	tgt.enabled = true;
	list_init(&tgt.groups); /* none: every initiator gets map */
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_registry),
	    cmocka_unit_test(test_device_takes_its_handlers_cmdset),
	    cmocka_unit_test(test_open_powers_on_the_cmdset),
	    cmocka_unit_test(test_commands_go_to_the_devices_cmdset),
	    cmocka_unit_test(test_lu_reset_and_nexus_loss),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
