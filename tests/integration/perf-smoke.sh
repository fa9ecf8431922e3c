#!/usr/bin/env bash
# A short load: iscsi-perf (libiscsi-bin) random and sequential reads for a
# few seconds each must finish without a SCSI or connection error, and the
# daemon must survive it.
# Usage: tests/integration/perf-smoke.sh [BUILD_DIR]   (PERF_SECONDS, default 3)
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IQN=iqn.2026-11.org.uscst:perf

# run_perf ARGS...: iscsi-perf -t SECONDS exits 1 on any command error
# (without -n) and prints "finished." on a clean end.
run_perf() {
	local secs=${PERF_SECONDS:-3} out
	out=$(timeout $((secs + 20)) iscsi-perf -t "$secs" "$@" \
		"iscsi://127.0.0.1:$DAEMON_PORT/$IQN/0" 2>&1 | tr '\r' '\n')
	tail -n 5 <<<"$out"
	grep -q '^finished\.' <<<"$out"
}

main() {
	lib_init "${1:-}"
	write_config "$LIB_TMP/scst.conf" "$IQN" "$LIB_TMP/disk0.img"
	if ! daemon_start "$LIB_TMP/scst.conf"; then
		fail perf:start
		lib_finish
		return
	fi
	check perf:random-4k-qd32 run_perf -r -m 32 -b 8
	check perf:seq-128k-qd8 run_perf -m 8 -b 256
	check perf:daemon-alive daemon_alive
	lib_finish
}

main "$@"
