#!/usr/bin/env bash
# durability: acknowledged durable writes survive a kill -9 of uscstd.
#
# Two vdisk_fileio LUNs: LUN 0 write-back (write_through 0, WCE=1), LUN 1
# write-through (write_through 1, WCE=0).  Two durability_client loads per
# LUN, on disjoint halves, send one command at a time: WRITE(10/16) with
# FUA, plain WRITEs followed by SYNCHRONIZE CACHE(10/16), WRITE SAME(10/16)
# of zeros with and without the UNMAP bit, and UNMAP; each journals what it
# sent and, fsynced, what the target acknowledged as durable (FUA, WCE=0, or
# a later SYNCHRONIZE CACHE).  In the middle of the load the daemon gets
# SIGKILL (by PID), a new one starts on the same files, and a verify pass
# reads every block back: each must hold the newest acknowledged durable
# content or that of an operation sent after it (zeros for zeroing ones).
# A verify against a wrong expected pattern must fail (the check can fail).
#
# kill -9 does not drop the page cache, so this catches the daemon itself
# losing acknowledged writes (GOOD before the write was submitted or
# completed, a SYNCHRONIZE CACHE that does not wait), not a missing fsync.
#
# Usage: tests/integration/durability.sh [BUILD_DIR]
# KILL_AFTER=SECONDS (default: random 1.5-2.5) sets when the kill comes.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IQN=$USCST_IQN_PREFIX:durability
LUN_BYTES=$((32 * 1024 * 1024))
LOAD_SECONDS=12 # upper bound; the kill comes long before
CLIENT_TIMEOUT=30

write_durability_config() {
	truncate -s "$LUN_BYTES" "$LIB_TMP/wb.img" "$LIB_TMP/wt.img"
	cat >"$CONF" <<-CONF
		HANDLER vdisk_fileio {
		    DEVICE wb {
		        filename $LIB_TMP/wb.img
		        write_through 0
		    }
		    DEVICE wt {
		        filename $LIB_TMP/wt.img
		        write_through 1
		    }
		}

		TARGET_DRIVER iscsi {
		    enabled 1
		    TARGET $IQN {
		        enabled 1
		        LUN 0 wb
		        LUN 1 wt
		    }
		}
	CONF
}

url() {
	echo "iscsi://127.0.0.1:$DAEMON_PORT/$IQN/$1"
}

# Names of the four loads: LUN and half of it.
LOADS=(l0a l0b l1a l1b)
load_lun() { echo "${1:1:1}"; }
load_first() {
	local half=$((LUN_BYTES / 512 / 2))
	[[ ${1:2:1} == a ]] && echo 0 || echo "$half"
}

# start_loads: the four clients in the background; PIDs in LOAD_PIDS.
start_loads() {
	local name half=$((LUN_BYTES / 512 / 2)) seed=$((RANDOM * 32768 + RANDOM))
	declare -gA LOAD_PIDS=()
	for name in "${LOADS[@]}"; do
		seed=$((seed + 7919))
		timeout "$CLIENT_TIMEOUT" "$CLIENT" load "$(url "$(load_lun "$name")")" \
			"$LIB_TMP/$name.journal" "$LOAD_SECONDS" "$(load_first "$name")" "$half" \
			"$seed" >"$LIB_TMP/$name.out" 2>&1 &
		LOAD_PIDS[$name]=$!
	done
	echo "durability: load seed $((seed - 4 * 7919))"
}

# durable_entries NAME: acknowledged durable journal entries so far.
durable_entries() {
	grep -c '^D ' "$LIB_TMP/$1.journal" 2>/dev/null || true
}

# loads_running: every load is still sending and has durable entries.
loads_running() {
	local name ok=0
	for name in "${LOADS[@]}"; do
		if ! kill -0 "${LOAD_PIDS[$name]}" 2>/dev/null; then
			echo "$name: the load ended before the kill:"
			cat "$LIB_TMP/$name.out"
			ok=1
		fi
		echo "$name: $(durable_entries "$name") durable entries before the kill"
		(($(durable_entries "$name") > 0)) || ok=1
	done
	return $ok
}

# kill_daemon: SIGKILL to our uscstd (by PID), reaped.
kill_daemon() {
	local pid=$DAEMON_PID
	DAEMON_PID=""
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
	! kill -0 "$pid" 2>/dev/null
}

# loads_interrupted: each client saw the connection go (exit 0) rather than
# its deadline (3) or an error (1).
loads_interrupted() {
	local name rc ok=0
	for name in "${LOADS[@]}"; do
		rc=0
		wait "${LOAD_PIDS[$name]}" || rc=$?
		sed "s/^/$name: /" "$LIB_TMP/$name.out"
		if ((rc != 0)); then
			echo "$name: exit $rc, expected 0 (connection lost in the middle of the load)"
			ok=1
		fi
	done
	return $ok
}

# wce_as_configured: the clients saw WCE=1 on LUN 0 and WCE=0 on LUN 1.
wce_as_configured() {
	grep -h 'WCE=' "$LIB_TMP"/l0?.out "$LIB_TMP"/l1?.out
	grep -q 'lun 0,.*WCE=1' "$LIB_TMP/l0a.out" && grep -q 'lun 1,.*WCE=0' "$LIB_TMP/l1a.out"
}

verify() {
	timeout "$CLIENT_TIMEOUT" "$CLIENT" verify "$(url "$(load_lun "$1")")" \
		"$LIB_TMP/$1.journal"
}

# verify_wrong NAME: the same verify with a wrong expected pattern fails,
# and says so for data blocks.
verify_wrong() {
	local rc=0 out
	out=$(timeout "$CLIENT_TIMEOUT" "$CLIENT" verify "$(url "$(load_lun "$1")")" \
		"$LIB_TMP/$1.journal" --wrong-pattern 2>&1) || rc=$?
	echo "$out"
	((rc == 1)) && grep -q 'content differs from the pattern' <<<"$out"
}

main() {
	lib_init "${1:-}"
	CLIENT=$USCST_BUILD/tests/durability_client
	CONF=$LIB_TMP/scst.conf
	if [[ ! -x $CLIENT ]]; then
		if [[ -e /usr/include/iscsi/iscsi.h ]]; then
			fail durability:client "$CLIENT not built (make all)"
		else
			echo "SKIP durability (libiscsi-dev not installed)"
		fi
		lib_finish
		return
	fi
	write_durability_config
	if ! DAEMON_LOG_FILE=$LIB_TMP/uscstd-before-kill.log daemon_start "$CONF"; then
		fail durability:start
		lib_finish
		return
	fi
	start_loads
	local kill_after
	kill_after=${KILL_AFTER:-$(awk -v r=$((RANDOM % 1000)) 'BEGIN { printf "%.3f", 1.5 + r / 1000 }')}
	sleep "$kill_after"
	check durability:load-running-at-kill loads_running
	echo "killing uscstd with SIGKILL after ${kill_after}s of load"
	check durability:kill-9 kill_daemon
	check durability:load-interrupted loads_interrupted
	grep -h '^l..: load: [0-9]' "$LIB_TMP/check-durability:load-interrupted.log" | sed 's/^/  /'
	check durability:wce-as-configured wce_as_configured
	if ! DAEMON_LOG_FILE=$LIB_TMP/uscstd-after-kill.log daemon_start "$CONF"; then
		fail durability:restart
		lib_finish
		return
	fi
	pass durability:restart
	local name
	for name in "${LOADS[@]}"; do
		check "durability:verify-$name" verify "$name"
		grep -h '^verify: lun' "$LIB_TMP/check-durability:verify-$name.log" | sed 's/^/  /'
	done
	check durability:verify-detects-wrong-pattern verify_wrong l0a
	lib_finish
}

main "$@"
