#!/usr/bin/env bash
# A pass-through command that the upstream never answers in time ends in
# bounded time: dev_iscsi's timeout attribute (here 1 s) against an
# upstream uscstd whose fault_inject LU delays LBAs 0-7 by 6 s.  The READ
# of LBA 0 through the gateway gets ABORTED COMMAND, TIME-OUT ON LOGICAL
# UNIT (0B/08/01) within 5 s; a READ elsewhere still reads; a device with
# no timeout takes its type's default (a disk: 30 s), as the log says.
# Needs libiscsi-dev (fault_client) and the example plugins.
# Usage: tests/integration/passthrough-timeout.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

UP_IQN=$USCST_IQN_PREFIX:slow-upstream
GW_IQN=$USCST_IQN_PREFIX:gateway
UP_PID=""
UP_PORT=""

gw_url() { echo "iscsi://127.0.0.1:$DAEMON_PORT/$GW_IQN/${1:-0}"; }

write_upstream_config() {
	cat >"$1" <<-CONF
		HANDLER fault_inject {
		    plugin $USCST_BUILD/examples/fault_inject.so
		    DEVICE slow0 {
		        filename $LIB_TMP/slow0.img
		        size_mb 16
		        delay_ms 6000
		        delay_lba 0-7
		    }
		    DEVICE quick0 {
		        filename $LIB_TMP/quick0.img
		        size_mb 16
		    }
		}
		TARGET_DRIVER iscsi {
		    enabled 1
		    TARGET $UP_IQN {
		        enabled 1
		        LUN 0 slow0
		        LUN 1 quick0
		    }
		}
	CONF
}

write_gateway_config() {
	cat >"$1" <<-CONF
		HANDLER dev_iscsi {
		    DEVICE pt0 {
		        url iscsi://127.0.0.1:$UP_PORT/$UP_IQN/0
		        timeout 1
		    }
		    DEVICE pt1 {
		        url iscsi://127.0.0.1:$UP_PORT/$UP_IQN/1
		        initiator_name $USCST_IQN_PREFIX:gw-default
		    }
		}
		TARGET_DRIVER iscsi {
		    enabled 1
		    TARGET $GW_IQN {
		        enabled 1
		        LUN 0 pt0
		    }
		}
	CONF
}

check_timed_out() {
	local t0 ms
	t0=$(date +%s%N)
	# READ(10) of LBA 0, one block.
	timeout 30 "$FAULT_CLIENT" cdb "$(gw_url)" 28000000000000000100 512 0b0801 || return 1
	ms=$((($(date +%s%N) - t0) / 1000000))
	echo "ended after $ms ms"
	((ms < 5000))
}

check_fast_lba() {
	timeout 30 "$FAULT_CLIENT" cdb "$(gw_url)" 28000000006400000100 512 good
}

check_logged_timeouts() {
	grep -E 'device pt0: upstream .*command timeout 1s' "$DAEMON_LOG" &&
		grep -E 'device pt1: upstream .*command timeout 30s' "$DAEMON_LOG"
}

main() {
	lib_init "${1:-}"
	FAULT_CLIENT=$USCST_BUILD/tests/fault_client
	if [[ ! -x $FAULT_CLIENT ]]; then
		echo "SKIP passthrough-timeout (no libiscsi-dev: $FAULT_CLIENT not built)"
		lib_finish
		return
	fi
	write_upstream_config "$LIB_TMP/up.conf"
	if ! DAEMON_LOG_FILE=$LIB_TMP/up.log DAEMON_SOCK_FILE=$LIB_TMP/up.sock \
		daemon_start "$LIB_TMP/up.conf"; then
		fail passthrough-timeout:upstream-start
		lib_finish
		return
	fi
	UP_PID=$DAEMON_PID UP_PORT=$DAEMON_PORT
	DAEMON_PID=""
	write_gateway_config "$LIB_TMP/gw.conf"
	if ! DAEMON_LOG_FILE=$LIB_TMP/gw.log DAEMON_SOCK_FILE=$LIB_TMP/gw.sock \
		daemon_start "$LIB_TMP/gw.conf"; then
		fail passthrough-timeout:gateway-start
	else
		check passthrough-timeout:logged check_logged_timeouts
		check passthrough-timeout:timed-out check_timed_out
		check passthrough-timeout:fast-lba check_fast_lba
		if daemon_stop; then pass passthrough-timeout:gateway-stop; else
			fail passthrough-timeout:gateway-stop
		fi
		if sanitizer_report "$LIB_TMP/gw.log" >/dev/null; then
			fail passthrough-timeout:sanitizer "report in the gateway's log"
		fi
	fi
	DAEMON_PID=$UP_PID
	DAEMON_LOG=$LIB_TMP/up.log
	lib_finish
}

main "$@"
