#!/usr/bin/env bash
# The gateway (dev_iscsi) in front of an upstream that misbehaves within
# RFC 7143 (hostile_upstream.py): a CHECK CONDITION without the U flag and
# residual carries no Data-In to the initiator (never another session's
# data from the gateway's heap), and ABORT TASK and LOGICAL UNIT RESET of
# a command the upstream never answers are answered within 5 s (the
# gateway aborts it upstream); two devices on one upstream LU are refused.  Needs python3 and libiscsi-dev.
# Usage: tests/integration/passthrough-hostile.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

GW_IQN=$USCST_IQN_PREFIX:gateway
UP_PID=""

gw_url() { echo "iscsi://127.0.0.1:$DAEMON_PORT/$GW_IQN/0"; }

stop_upstream() {
	[[ -n $UP_PID ]] || return 0
	kill "$UP_PID" 2>/dev/null || true
	wait "$UP_PID" 2>/dev/null || true
	UP_PID=""
}

# Two devices on one upstream LU (the same target name and LUN, whatever
# portal or case) would keep separate reservations over it: the start
# stops, saying which.
check_same_lu_refused() {
	local log=$LIB_TMP/same.log port
	port=$(free_port 24260) || return 1
	cat >"$LIB_TMP/same.conf" <<-CONF
		HANDLER dev_iscsi {
		    DEVICE a0 {
		        url iscsi://127.0.0.1:$1/iqn.2026-11.org.uscst:hostile/0
		    }
		    DEVICE b0 {
		        url iscsi://127.0.0.1:$1/IQN.2026-11.org.uscst:Hostile/0
		    }
		}
	CONF
	if timeout 20 "$USCSTD" -f -c "$LIB_TMP/same.conf" --listen "127.0.0.1:$port" \
		--ctl-socket "$LIB_TMP/same.sock" --pr-dir "$LIB_TMP/pr-same" >"$log" 2>&1 </dev/null; then
		cat "$log"
		return 1
	fi
	cat "$log"
	grep -q "is the backing .* of device 'a0'" "$log"
}

main() {
	lib_init "${1:-}"
	CLIENT=$USCST_BUILD/tests/pt_hostile_client
	if [[ ! -x $CLIENT ]] || ! command -v python3 >/dev/null; then
		echo "SKIP passthrough-hostile (needs python3 and libiscsi-dev)"
		lib_finish
		return
	fi
	trap 'stop_upstream; lib_cleanup' EXIT
	local up_port
	up_port=$(free_port 23260) || return 1
	python3 "$USCST_ROOT/tests/integration/hostile_upstream.py" "$up_port" &
	UP_PID=$!
	for _ in $(seq 50); do port_in_use "$up_port" && break; sleep 0.1; done
	cat >"$LIB_TMP/gw.conf" <<-CONF
		HANDLER dev_iscsi {
		    DEVICE pt0 {
		        url iscsi://127.0.0.1:$up_port/iqn.2026-11.org.uscst:hostile/0
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
	if ! daemon_start "$LIB_TMP/gw.conf" --threads 1; then
		fail passthrough-hostile:start
	else
		check passthrough-hostile:no-heap-data "$CLIENT" leak "$(gw_url)"
		check passthrough-hostile:abort-task timeout 30 "$CLIENT" abort "$(gw_url)"
		check passthrough-hostile:lu-reset timeout 30 "$CLIENT" lureset "$(gw_url)"
	fi
	check passthrough-hostile:one-device-per-upstream-lu check_same_lu_refused "$up_port"
	lib_finish
	stop_upstream
}

main "$@"
