# uscst — plain GNU Makefile.  Every .c under src/ (except the two programs'
# main files) goes into one static library, so adding a file needs no edit here.
BUILD    ?= build
CC       ?= cc
CFLAGS   ?= -O2 -g
SAN      ?=
WARN     := -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers \
            -Wshadow -Wformat=2 -Wvla
# src/ serves only "..." includes (-iquote): a system header such as
# libiscsi's <iscsi/iscsi.h> or <scsi/sg.h> must never resolve to one of
# our directories of the same name.
CPPFLAGS := -Iinclude -iquote src -D_GNU_SOURCE -MMD -MP
ALLCFLAGS = -std=gnu11 $(WARN) $(CFLAGS) -pthread
LDLIBS   := -luring -lisal -lcrypto -liscsi -ljson-c -pthread
ifeq ($(SAN),1)
ALLCFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS   += -fsanitize=address,undefined
endif
# ThreadSanitizer (make SAN=thread BUILD=build-tsan): gcc's libtsan2.
# Suppressions and options: scripts/tsan.supp, scripts/tsan-env.sh.
ifeq ($(SAN),thread)
ALLCFLAGS += -fsanitize=thread -fno-omit-frame-pointer
LDFLAGS   += -fsanitize=thread
endif

PROGS    := uscstd uscstadmin
LIB_SRC  := $(filter-out src/uscstd.c src/uscstadmin.c,$(shell find src -name '*.c' | sort))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps run test unit install conformance conformance-matrix conformance-thin conformance-readonly conformance-4k conformance-ramdisk conformance-blockio conformance-san integration clean format fuzz fuzz-smoke
all: $(addprefix $(BUILD)/,$(PROGS)) $(BUILD)/tests/hostile_client $(BUILD)/tests/mcs_client

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) -c $< -o $@

$(BUILD)/libuscst.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/uscstd: $(BUILD)/src/uscstd.o $(BUILD)/libuscst.a
	$(CC) $(ALLCFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/uscstadmin: $(BUILD)/src/uscstadmin.o $(BUILD)/libuscst.a
	$(CC) $(ALLCFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Unit tests: link seams are explicit.  BUILD/tests/test_NAME links, in
# this order, test_NAME.o, the objects of the files listed in test_NAME_LINK
# (shared fixtures/ and test doubles/ under tests/unit/), then libuscst.a.
# Objects always go in whole; the library only gives the members still
# needed.  A double therefore replaces a library module only when it defines
# everything the binary needs from that module: if the module is pulled in
# anyway, its symbols clash with the double's and the link fails, instead
# of one of them winning silently (no weak symbols in tests/unit: checked
# by scripts/run-unit.sh).
ISCSI_FIXTURE            := fixtures/iscsi_target.c fixtures/iscsi_client.c fixtures/crc32c.c
test_alua_LINK           := fixtures/fixture_scsi.c
test_backend_iov_LINK    := fixtures/backend_io.c
test_blockio_LINK        := fixtures/backend_io.c
test_dispatch_LINK       := fixtures/fixture_scsi.c
test_ctl_verbs_LINK      := fixtures/ctl_call.c
test_device_attrs_LINK   := fixtures/ctl_call.c
test_resync_LINK         := fixtures/ctl_call.c
test_iscsi_chap_LINK     := $(ISCSI_FIXTURE)
test_iscsi_digest_LINK   := $(ISCSI_FIXTURE)
test_iscsi_login_LINK    := $(ISCSI_FIXTURE)
test_iscsi_scsi_cmd_LINK := $(ISCSI_FIXTURE)
test_iscsi_tmf_LINK      := $(ISCSI_FIXTURE)
test_iscsi_rfc7143_LINK  := $(ISCSI_FIXTURE)
test_iscsi_async_LINK    := $(ISCSI_FIXTURE)
test_iscsi_tmf_sam5_LINK := $(ISCSI_FIXTURE)
test_iscsi_redirect_LINK := $(ISCSI_FIXTURE)
test_log_LINK            := doubles/syslog_record.c
test_mmc_LINK            := fixtures/fixture_scsi.c doubles/ua_record.c
test_passthrough_LINK    := fixtures/fixture_scsi.c
test_runtime_attr_LINK   := fixtures/ctl_call.c
test_pr_LINK             := fixtures/fixture_scsi.c
test_pr_persist_LINK     := fixtures/fixture_scsi.c
test_sanitize_LINK       := fixtures/fixture_scsi.c
test_sbc_LINK            := fixtures/fixture_scsi.c
test_smc_LINK            := fixtures/fixture_scsi.c
test_spc_LINK            := fixtures/fixture_scsi.c doubles/ua_record.c
test_ssc_LINK            := fixtures/fixture_scsi.c doubles/ua_record.c
test_task_set_LINK       := fixtures/fixture_scsi.c
test_xcopy_LINK          := fixtures/fixture_scsi.c

UNIT_OBJ_DIR := $(BUILD)/unit-obj
unit_link = $(patsubst %.c,$(UNIT_OBJ_DIR)/%.o,$($(1)_LINK))

$(UNIT_OBJ_DIR)/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) -c $< -o $@

.SECONDEXPANSION:
$(UNIT_BIN): $(BUILD)/tests/%: $(UNIT_OBJ_DIR)/%.o $$(call unit_link,$$*) $(BUILD)/libuscst.a
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(LDFLAGS) -o $@ $(filter %.o,$^) $(BUILD)/libuscst.a $(LDLIBS) -lcmocka

# Raw-socket iSCSI client for tests/integration/hostile-pdus.sh; standalone
# on purpose (no daemon code), so it does not link the library.
$(BUILD)/tests/hostile_client: tests/integration/hostile_client.c tests/integration/wire.h
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(LDFLAGS) -o $@ $<

# ErrorRecoveryLevel 1 client for tests/integration/erl1.sh; standalone too.
all: $(BUILD)/tests/erl1_client
$(BUILD)/tests/erl1_client: tests/integration/erl1_client.c tests/integration/wire.h
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(LDFLAGS) -o $@ $<

# One raw Login for tests/integration/redirect.sh; standalone too.
all: $(BUILD)/tests/redirect_client
$(BUILD)/tests/redirect_client: tests/integration/redirect_client.c tests/integration/wire.h
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(LDFLAGS) -o $@ $<

# Raw-socket MC/S and connection-recovery client for tests/integration/mcs.sh.
$(BUILD)/tests/mcs_client: tests/integration/mcs_client.c tests/integration/wire.h
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(LDFLAGS) -o $@ $<

# Random-PDU stress client for tests/integration/pdu-stress.sh; standalone too.
all: $(BUILD)/tests/pdu_stress
$(BUILD)/tests/pdu_stress: tests/integration/pdu_stress.c tests/integration/wire.h
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(LDFLAGS) -o $@ $<

# Slow-reader / flood / oversized-header client for
# tests/integration/memory-bounds.sh; standalone too.
all: $(BUILD)/tests/slow_reader
$(BUILD)/tests/slow_reader: tests/integration/slow_reader.c tests/integration/wire.h
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(LDFLAGS) -o $@ $<

# Connections from one source address for tests/integration/conn-limits.sh;
# standalone too.
all: $(BUILD)/tests/addr_conns
$(BUILD)/tests/addr_conns: tests/integration/addr_conns.c
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(LDFLAGS) -o $@ $<

# systemd's end of NOTIFY_SOCKET for tests/integration/notify-log.sh;
# standalone too.
all: $(BUILD)/tests/notify_listen
$(BUILD)/tests/notify_listen: tests/integration/notify_listen.c
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(LDFLAGS) -o $@ $<

# Handler plugins (include/uscst/handler.h): the examples, and the test
# plugins of tests/unit/test_handler_plugin.c.  Built as a plugin outside
# the tree is: only include/ on the include path, and -z defs, so that a
# reference to anything but the C library fails the link (uscstd exports
# no symbols; a plugin reaches it through the host table).
PLUGIN_FLAGS  = -Iinclude -std=gnu11 $(WARN) $(CFLAGS) -pthread -fPIC -shared -Wl,-z,defs
EXAMPLES      := $(patsubst examples/%.c,$(BUILD)/examples/%.so,$(wildcard examples/*.c))
TEST_PLUGINS  := $(patsubst tests/unit/plugins/%.c,$(BUILD)/tests/plugins/%.so,\
                 $(wildcard tests/unit/plugins/*.c))
.PHONY: examples
examples: $(EXAMPLES)
all: examples
$(BUILD)/examples/%.so: examples/%.c $(wildcard include/uscst/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(PLUGIN_FLAGS) $(filter -fsanitize%,$(ALLCFLAGS)) $(LDFLAGS) -o $@ $<
	@chmod go-w $@ # uscstd refuses a plugin others may rewrite
# A test plugin may break the rules on purpose (one calls a daemon
# function directly, so it is linked without -z defs).
$(BUILD)/tests/plugins/%.so: tests/unit/plugins/%.c $(wildcard include/uscst/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -Wl$(comma)-z$(comma)defs,$(PLUGIN_FLAGS)) \
		$(filter -fsanitize%,$(ALLCFLAGS)) $(LDFLAGS) -o $@ $<
	@chmod go-w $@
comma := ,
$(UNIT_OBJ_DIR)/test_handler_plugin.o: CPPFLAGS += -DTEST_PLUGIN_DIR='"$(abspath $(BUILD))/tests/plugins"'
$(BUILD)/tests/test_handler_plugin: $(TEST_PLUGINS)

# libiscsi client of tests/integration/plugins.sh (fault_inject's sense and
# delays, mini_disk's answers); built only when libiscsi-dev is installed,
# as the LIBISCSI_CLIENTS below.
ifneq ($(wildcard /usr/include/iscsi/iscsi.h),)
all: $(BUILD)/tests/fault_client
endif
$(BUILD)/tests/fault_client: tests/integration/fault_client.c
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(LDFLAGS) -o $@ $< -liscsi

# Raw control-socket client for tests/integration/ctl-bad-input.sh;
# standalone too.
all: $(BUILD)/tests/ctl_raw_client
$(BUILD)/tests/ctl_raw_client: tests/integration/ctl_raw_client.c
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(LDFLAGS) -o $@ $<

# libiscsi client for tests/integration/resync-size.sh (a unit attention on a
# live session); built only when libiscsi-dev is installed.
# The same for pr_persist_client (tests/integration/pr-persist.sh),
# caw_race_client (caw-race.sh), xcopy_resv_client (xcopy-reservation.sh)
# durability_client (durability.sh), acl_client (acl-groups.sh),
# cdrom_client (vcdrom.sh), tape_client (vtape.sh), changer_client
# (vchanger.sh), passthrough_client (passthrough.sh),
# session_hold_client (admin-list.sh), graceful_client (graceful-stop.sh),
# metrics_client (metrics.sh), pt_hostile_client (passthrough-hostile.sh)
# live_io_client (live-admin.sh) and bounds_client (bounds-*.sh).
LIBISCSI_CLIENTS := resync_ua_client pr_persist_client caw_race_client xcopy_resv_client \
                    durability_client acl_client cdrom_client tape_client changer_client \
                    passthrough_client session_hold_client graceful_client metrics_client \
                    pt_hostile_client live_io_client bounds_client alua_client
ifneq ($(wildcard /usr/include/iscsi/iscsi.h),)
all: $(addprefix $(BUILD)/tests/,$(LIBISCSI_CLIENTS))
endif
$(addprefix $(BUILD)/tests/,$(LIBISCSI_CLIENTS)): $(BUILD)/tests/%: tests/integration/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(LDFLAGS) -o $@ $< -liscsi

# libFuzzer targets (tests/fuzz/fuzz_*.c).  The library is compiled again
# with clang and the fuzzer/sanitizer instrumentation into FUZZ_BUILD, never
# mixed with the gcc objects of BUILD.
FUZZ_BUILD ?= build-fuzz
FUZZ_CC    ?= clang
FUZZ_FLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
              -fno-sanitize-recover=undefined
FUZZ_SRC   := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN   := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_BUILD)/%)
FUZZ_OBJ   := $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_TIME  ?= 20

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) -std=gnu11 $(WARN) $(FUZZ_FLAGS) -pthread -c $< -o $@

$(FUZZ_BUILD)/libuscst.a: $(FUZZ_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_BUILD)/libuscst.a
	$(FUZZ_CC) $(CPPFLAGS) -std=gnu11 $(WARN) $(FUZZ_FLAGS) -fsanitize=fuzzer -pthread \
		-o $@ $< $(FUZZ_BUILD)/libuscst.a $(LDLIBS)

# `make fuzz` builds the fuzzers, then runs the random-PDU stress against
# an ASan/UBSan uscstd (fuzz-stress).
fuzz: $(FUZZ_BIN)
	@$(MAKE) --no-print-directory fuzz-stress

# Runs every fuzzer for FUZZ_TIME seconds from its seed corpus (if any);
# crashes land in $(FUZZ_BUILD)/crashes/.  Prints "fuzz: NAME ok|FAILED".
fuzz-smoke: $(FUZZ_BIN)
	@tests/fuzz/run-smoke.sh $(FUZZ_BUILD) $(FUZZ_TIME) $(FUZZ_BIN)

# Random-PDU stress (tests/integration/pdu-stress.sh, 16 connections, two
# reactors): `stress` against BUILD for STRESS_TIME s (default 60),
# `fuzz-stress` against an ASan/UBSan build in build-san (default 180 s).
# STRESS_SEED replays a run; STRESS_LOG_DIR keeps the logs.
.PHONY: stress fuzz-stress
stress: all
	@STRESS_TIME=$(or $(STRESS_TIME),60) tests/integration/pdu-stress.sh $(BUILD)
fuzz-stress:
	@$(MAKE) --no-print-directory -j$$(nproc) BUILD=build-san SAN=1 all
	@STRESS_TIME=$(or $(STRESS_TIME),180) tests/integration/pdu-stress.sh build-san

# make install [PREFIX=/usr/local] [DESTDIR=]: the two programs, the man
# pages, the systemd unit (its ExecStart names SBINDIR) and the example
# handler plugins (README: User device handlers).  Checked by
# tests/integration/install.sh.
PREFIX         ?= /usr/local
SBINDIR        ?= $(PREFIX)/sbin
MANDIR         ?= $(PREFIX)/share/man
PLUGINDIR      ?= $(PREFIX)/lib/uscst
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
INSTALL        ?= install
install: $(addprefix $(BUILD)/,$(PROGS)) $(EXAMPLES)
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(SYSTEMDUNITDIR)
	$(INSTALL) -m 0755 $(addprefix $(BUILD)/,$(PROGS)) $(DESTDIR)$(SBINDIR)/
	$(INSTALL) -m 0644 man/uscstd.8 man/uscstadmin.8 $(DESTDIR)$(MANDIR)/man8/
	$(INSTALL) -m 0644 man/scst.conf.5 $(DESTDIR)$(MANDIR)/man5/
	sed 's|@SBINDIR@|$(SBINDIR)|g' contrib/systemd/uscstd.service.in >$(BUILD)/uscstd.service
	$(INSTALL) -m 0644 $(BUILD)/uscstd.service $(DESTDIR)$(SYSTEMDUNITDIR)/uscstd.service
ifneq ($(EXAMPLES),)
	$(INSTALL) -d $(DESTDIR)$(PLUGINDIR)
	$(INSTALL) -m 0755 $(EXAMPLES) $(DESTDIR)$(PLUGINDIR)/
endif

# Installs the Debian packages the build and the tests need (only if missing).
deps:
	@scripts/install-deps.sh

# Starts uscstd in the foreground on 127.0.0.1:3260 with the embedded default
# configuration (LUN 0: a 1 GiB sparse file under $(BUILD)/).
run: deps
	@$(MAKE) --no-print-directory all
	$(BUILD)/uscstd -f --default-config --data-dir $(BUILD) --listen 127.0.0.1:3260

unit: $(UNIT_BIN)
	@scripts/run-unit.sh $(UNIT_BIN)

# Compiles each directory of src/ with only include/ and the directories it
# may include (scripts/check-layers.sh, the README's design section), so a
# forbidden #include fails.
.PHONY: check-layers
check-layers:
	@CC="$(CC)" scripts/check-layers.sh

test: deps
	@$(MAKE) --no-print-directory all
	@scripts/run-all-tests.sh

conformance: all
	@tests/conformance/run.sh $(BUILD)

# The matrix of `make test` (plain, thin, readonly, 4k) and its total line.
conformance-matrix: all
	@tests/conformance/matrix.sh $(BUILD)

conformance-thin conformance-readonly conformance-4k: all
	@tests/conformance/run.sh $(BUILD) $(@:conformance-%=%)

# The plain suite against the ramdisk example plugin (tests/integration/plugins.sh runs it too).
conformance-ramdisk: all
	@tests/conformance/run.sh $(BUILD) ramdisk

# The plain suite against a vdisk_blockio LUN (tests/integration/blockio.sh runs it too).
conformance-blockio: all
	@tests/conformance/run.sh $(BUILD) blockio

# ThreadSanitizer stage of `make test` on its own: unit tests, the
# plain-LUN conformance and a short PDU stress against a SAN=thread build
# in build-tsan (scripts/run-tsan.sh).
.PHONY: tsan
tsan:
	@scripts/run-tsan.sh build-tsan

clean:
	rm -rf $(BUILD) build-san build-tsan $(FUZZ_BUILD)

format:
	clang-format -i $$(find src include tests -name '*.[ch]')

-include $(LIB_OBJ:.o=.d)
# The programs' own objects too: uscstd.o holds USCST_TRANSPORT_ABI, and a
# stale one refuses the rebuilt transports.
-include $(BUILD)/src/uscstd.d $(BUILD)/src/uscstadmin.d
-include $(wildcard $(UNIT_OBJ_DIR)/*.d $(UNIT_OBJ_DIR)/*/*.d)
-include $(FUZZ_OBJ:.o=.d)

# bench/uscst-bench: the load generator (libiscsi's asynchronous API);
# built only when libiscsi-dev is installed, as the LIBISCSI_CLIENTS above.
ifneq ($(wildcard /usr/include/iscsi/iscsi.h),)
all: $(BUILD)/uscst-bench
endif
$(BUILD)/uscst-bench: bench/uscst-bench.c bench/bench_util.h
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(LDFLAGS) -o $@ $< -liscsi

# bench/uscst-rawbench: the same load on a small initiator of its own, for
# DataDigest=CRC32C, which libiscsi 1.19 cannot negotiate (isa-l's CRC32C).
all: $(BUILD)/uscst-rawbench
$(BUILD)/uscst-rawbench: bench/uscst-rawbench.c bench/bench_util.h
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(LDFLAGS) -o $@ $< -lisal

# make bench [BENCH_ROUNDS=3] [BENCH_TIME=5] [BENCH_ONLY=REGEX]: uscstd
# against tgtd, both pinned to CPU 1, the client to CPU 0; a table of medians
# (bench/compare.sh; several minutes).  `make test` runs only its smoke,
# tests/integration/bench-compare-smoke.sh.
.PHONY: bench
bench: deps
	@$(MAKE) --no-print-directory all
	@bench/compare.sh $(BUILD)
