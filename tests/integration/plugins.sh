#!/usr/bin/env bash
# Handler plugins (include/uscst/handler.h): the three examples loaded from
# one config.  mini_disk (whole commands, mode b) answers INQUIRY, READ
# CAPACITY, READ/WRITE(10) and its sense itself while REPORT LUNS stays the
# core's.  The ramdisk plugin's LUN takes data back byte for byte through
# qemu-img and passes the plain conformance suite (run.sh ramdisk, against
# expected-pass-ramdisk.txt); fault_client (built when libiscsi-dev is
# there) sees fault_inject's MEDIUM ERRORs (03/11/00 on READ, 03/0C/00 on
# WRITE, nothing written, the LBA in the sense) and its delays, also after
# uscstadmin changed them at run time; show config writes the plugins
# back; a missing plugin and one built for another ABI stop uscstd with
# FILE:LINE and the reason.
# Usage: tests/integration/plugins.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IQN=iqn.2026-11.org.uscst:plugins
READ_ERR_LBA=100  # first of read_error 100-103,5000
WRITE_ERR_LBA=200 # write_error
SLOW_LBA=1500     # in delay_lba 1000-1999
DELAY_MS=400

url() { echo "iscsi://127.0.0.1:$DAEMON_PORT/$IQN/$1"; }

write_plugins_config() {
	cat >"$1" <<-CONF
		HANDLER ramdisk {
		    plugin $USCST_BUILD/examples/ramdisk.so
		    DEVICE ram0 {
		        size_mb 64
		    }
		}

		HANDLER fault_inject {
		    plugin $USCST_BUILD/examples/fault_inject.so
		    DEVICE flaky0 {
		        filename $LIB_TMP/flaky0.img
		        size_mb 16
		        read_error 100-103,5000
		        write_error $WRITE_ERR_LBA
		    }
		    DEVICE slow0 {
		        filename $LIB_TMP/slow0.img
		        size_mb 16
		        delay_ms $DELAY_MS
		        delay_lba 1000-1999
		    }
		}

		HANDLER mini_disk {
		    plugin $USCST_BUILD/examples/mini_disk.so
		    DEVICE mini0 {
		        size_mb 8
		    }
		}

		TARGET_DRIVER iscsi {
		    enabled 1
		    TARGET $IQN {
		        enabled 1
		        LUN 0 ram0
		        LUN 1 flaky0
		        LUN 2 slow0
		        LUN 3 mini0
		    }
		}
	CONF
}

check_loaded() {
	grep -E "plugin .*/ramdisk.so \(ramdisk example\) loaded" "$DAEMON_LOG" &&
		grep -E "plugin .*/fault_inject.so \(fault injection example\) loaded" "$DAEMON_LOG"
}

check_show_config() {
	local out
	out=$("$USCSTADMIN" --socket "$DAEMON_SOCK" show config) || return 1
	echo "$out" | head -30
	grep -Fq "plugin $USCST_BUILD/examples/ramdisk.so" <<<"$out" &&
		grep -Fq "plugin $USCST_BUILD/examples/fault_inject.so" <<<"$out" &&
		grep -Fq "read_error 100-103,5000" <<<"$out" || return 1
	out=$("$USCSTADMIN" --socket "$DAEMON_SOCK" show handlers) || return 1
	grep -F "HANDLER fault_inject" <<<"$out"
	grep -Fq "HANDLER fault_inject (plugin $USCST_BUILD/examples/fault_inject.so):" <<<"$out" &&
		grep -Eq '^  read_error .*runtime' <<<"$out"
}

check_ramdisk_readback() {
	local data=$LIB_TMP/data.raw back=$LIB_TMP/back.raw
	head -c $((4 << 20)) /dev/urandom >"$data"
	timeout 60 qemu-img convert -n -f raw -O raw "$data" "$(url 0)" || return 1
	timeout 60 qemu-img convert -f raw -O raw "$(url 0)" "$back" || return 1
	cmp -n $((4 << 20)) "$data" "$back"
}

check_fault_errors() {
	timeout 60 "$FAULT_CLIENT" errors "$(url 1)" "$READ_ERR_LBA" "$WRITE_ERR_LBA"
}

check_fault_delay() {
	timeout 60 "$FAULT_CLIENT" delay "$(url 2)" "$SLOW_LBA" 10 "${1:-$DELAY_MS}"
}

admin_set() {
	"$USCSTADMIN" --socket "$DAEMON_SOCK" device "$@"
}

# The faults change while sessions run: the old ranges work again, the
# new ones fail, a new delay applies; a bad range list is refused.
check_runtime_faults() {
	admin_set flaky0 set read_error 300-301 &&
		admin_set flaky0 set write_error 400 &&
		timeout 60 "$FAULT_CLIENT" good "$(url 1)" "$READ_ERR_LBA" "$WRITE_ERR_LBA" &&
		timeout 60 "$FAULT_CLIENT" errors "$(url 1)" 300 400 || return 1
	if admin_set flaky0 set read_error 5-1; then
		echo "a bad range list was accepted"
		return 1
	fi
	admin_set flaky0 set read_error none &&
		timeout 60 "$FAULT_CLIENT" good "$(url 1)" 300 &&
		admin_set slow0 set delay_ms 150 &&
		check_fault_delay 150
}

# A plugin that is not there, and one built for another handler ABI: uscstd
# refuses to start, the message names the config line, the file and (for
# the ABI) both versions.
check_refused() {
	local conf=$LIB_TMP/bad.conf so=$1 want=$2 out rc=0
	printf 'HANDLER ramdisk {\n    plugin %s\n}\n' "$so" >"$conf"
	out=$(timeout 20 "$USCSTD" -f -c "$conf" --listen 127.0.0.1:1 \
		--ctl-socket "$LIB_TMP/bad.sock" --pr-dir "$LIB_TMP/pr" 2>&1) || rc=$?
	echo "exit $rc: $out"
	((rc != 0)) && grep -Fq "$conf:2: plugin $so: $want" <<<"$out"
}

check_missing_plugin() {
	check_refused "$LIB_TMP/none.so" "No such file or directory"
}

check_abi_mismatch() {
	local so=$LIB_TMP/future.so
	cat >"$LIB_TMP/future.c" <<-'C'
		#include <uscst/handler.h>
		static int init(const struct uscst_handler_host *h) { return -1; }
		__attribute__((visibility("default"))) const struct uscst_handler_plugin
		    uscst_handler_plugin = {.abi = USCST_HANDLER_ABI + 1,
					    .backend_abi = USCST_BACKEND_ABI, .init = init};
	C
	cc -std=gnu11 -I"$USCST_ROOT/include" -fPIC -shared -o "$so" "$LIB_TMP/future.c" &&
		chmod go-w "$so" || return 1
	check_refused "$so" "built for handler ABI $((ABI + 1)) and backend ABI"
}

# mini_disk (mode b) answers whole commands itself: its INQUIRY, its
# READ/WRITE(10) data, its sense for what it does not know or finds wrong in
# a CDB; REPORT LUNS stays the core's (the target's four LUNs).
check_mini_disk() {
	local out
	out=$(timeout 20 iscsi-inq "$(url 3)") || return 1
	echo "$out" | head -6
	grep -q 'MINI DISK' <<<"$out" || return 1
	out=$(timeout 20 iscsi-readcapacity16 "$(url 3)") || return 1
	echo "$out"
	grep -q 'LOGICAL BLOCK LENGTH IN BYTES:512' <<<"$out" || return 1
	grep -q 'Total size:8388608' <<<"$out" || return 1
	timeout 60 "$FAULT_CLIENT" good "$(url 3)" 0 100 16383 &&
		timeout 20 "$FAULT_CLIENT" cdb "$(url 3)" c00000000000 0 052000 &&
		timeout 20 "$FAULT_CLIENT" cdb "$(url 3)" 28000000400000000100 0 052100 &&
		timeout 20 "$FAULT_CLIENT" cdb "$(url 3)" 2a000000000000000100 0 052400 &&
		timeout 20 "$FAULT_CLIENT" cdb "$(url 3)" 28000000000000000200 512 good &&
		timeout 20 "$FAULT_CLIENT" cdb "$(url 3)" 1201b000ff00 255 052400 &&
		timeout 20 "$FAULT_CLIENT" cdb "$(url 3)" 12018000ff00 255 good || return 1
	out=$(timeout 20 iscsi-ls -s "iscsi://127.0.0.1:$DAEMON_PORT") || return 1
	echo "$out"
	[[ $(grep -c 'Lun:' <<<"$out") == 4 ]]
}

# The libiscsi suites a small disk answering whole commands can pass, on
# two nexuses: its own INQUIRY, READ and WRITE, and reservations (SPC-2 and
# persistent) that the core enforces in front of it.  (BlockLimits is left
# out: mini_disk has no VPD page B0h.)
MINI_TESTS=ALL.TestUnitReady,ALL.Read10,ALL.Write10,ALL.ReportLuns,ALL.Reserve6
MINI_TESTS+=,ALL.PrinReadKeys,ALL.ProutRegister,ALL.ProutReserve
MINI_TESTS+=,ALL.Inquiry.Standard,ALL.Inquiry.AllocLength,ALL.Inquiry.EVPD
MINI_TESTS+=,ALL.Inquiry.SupportedVPD,ALL.Inquiry.MandatoryVPDSBC

check_mini_suites() {
	local log=$LIB_TMP/mini-cu.log counts
	timeout 200 iscsi-test-cu -d -t "$MINI_TESTS" "$(url 3)" "$(url 3)" >"$log" 2>&1 </dev/null
	# CUnit's summary: "tests TOTAL RAN PASSED FAILED INACTIVE".
	counts=$(awk '$1 == "tests" { print $3, $5 }' "$log")
	echo "ran, failed: $counts"
	grep -B2 'FAILED$' "$log" | head -20
	[[ -n $counts && ${counts% *} -ge 30 && ${counts#* } == 0 ]]
}

check_conformance() {
	CONF_TIMEOUT=${PLUGINS_CONF_TIMEOUT:-200} "$USCST_ROOT/tests/conformance/run.sh" \
		"$USCST_BUILD" ramdisk
}

main() {
	lib_init "${1:-}"
	ABI=$(sed -n 's/^#define USCST_HANDLER_ABI \([0-9]*\).*/\1/p' \
		"$USCST_ROOT/include/uscst/handler.h")
	check plugins:missing-plugin check_missing_plugin
	check plugins:abi-mismatch check_abi_mismatch
	write_plugins_config "$LIB_TMP/scst.conf"
	if ! daemon_start "$LIB_TMP/scst.conf"; then
		fail plugins:start
		lib_finish
		return
	fi
	check plugins:loaded check_loaded
	check plugins:show-config check_show_config
	check plugins:ramdisk-readback check_ramdisk_readback
	FAULT_CLIENT=$USCST_BUILD/tests/fault_client
	if [[ -x $FAULT_CLIENT ]]; then
		check plugins:fault-errors check_fault_errors
		check plugins:fault-delay check_fault_delay
		check plugins:fault-runtime check_runtime_faults
		check plugins:mini-disk check_mini_disk
		check plugins:mini-disk-suites check_mini_suites
	else
		echo "SKIP plugins:fault-* (no libiscsi-dev: $FAULT_CLIENT not built)"
	fi
	# Stopped first: a clean exit runs the plugins' stop().
	if daemon_stop; then pass plugins:stop; else fail plugins:stop; fi
	if sanitizer_report "$DAEMON_LOG" >/dev/null; then
		fail plugins:sanitizer "report in uscstd log"
		sanitizer_report "$DAEMON_LOG" | head -n 20 | sed 's/^/  | /'
	fi
	check plugins:conformance-ramdisk check_conformance
	lib_finish
}

main "$@"
