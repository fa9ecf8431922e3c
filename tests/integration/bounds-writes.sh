#!/usr/bin/env bash
# Write buffer memory under load (issue 16, "Bounds"): SESSIONS (64)
# sessions keep QD (32) WRITEs of 1 MiB in flight on a vdisk_nullio LUN for
# WRITE_S seconds (BUILD/tests/bounds_client, one shared client buffer),
# against MaxBufferMemory POOL_MB (256).  The daemon's peak RSS (VmHWM)
# must grow by at most the issue's bound, the pool + 64 MiB, in both parts:
#   solicited  (InitialR2T Yes, ImmediateData No: every data byte is asked
#              for with an R2T, which waits for room in the pool);
#   unsolicited (ImmediateData Yes, InitialR2T No, FirstBurstLength
#              FIRST_BURST, 256 KiB: what the protocol lets each command
#              send unasked, which the target cannot refuse; the CmdSN
#              window is granted only against room reserved in the pool
#              for it, iscsi/cmd_window.c).  Without that reservation each
#              session's QueuedCommands x FIRST_BURST came on top of the
#              pool (64 x 32 x 256 KiB = 512 MiB).
# What the pool lets past MaxBufferMemory: each session's oldest WRITE
# (never held back, so that none can deadlock: SESSIONS x 1 MiB) and one
# window slot per idle session; the pool's last eighth, kept for sessions
# that hold little, leaves room for that.  Not counted in the pool:
# receive buffers (up to MaxRecvDataSegmentLength per connection) and the
# allocator's free lists.
# The load must make progress (WRITEs complete on every session), and a
# fresh session works afterwards.
# Usage: tests/integration/bounds-writes.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/bounds_lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/bounds_lib.bash"

SESSIONS=${SESSIONS:-64}
QD=${QD:-32}
POOL_MB=${POOL_MB:-256}
WRITE_S=${WRITE_S:-10}
OVER_POOL_MB=${OVER_POOL_MB:-64}
FIRST_BURST=${FIRST_BURST:-262144}

# run_part NAME TARGET_ATTRS
run_part() {
	local name=$1 base grown limit out
	nullio_config "$LIB_TMP/$name.conf" \
		"MaxBufferMemory $POOL_MB\nMaxConnectionsPerAddress 0" \
		"QueuedCommands $QD\nFirstBurstLength $FIRST_BURST\n$2"
	DAEMON_LOG_FILE=$LIB_TMP/uscstd-$name.log
	if ! daemon_start "$LIB_TMP/$name.conf"; then
		fail "bounds-writes:$name:start"
		return
	fi
	base=$(status_kb VmHWM)
	if out=$(BCLIENT_TIMEOUT=$((WRITE_S + 60)) bclient load "$(bounds_url)" "$SESSIONS" \
		"$WRITE_S" "$QD" 1048576 write 2>&1); then
		echo "  | $out"
		if [[ $out =~ min_iops=([0-9]+) ]] && ((BASH_REMATCH[1] > 0)); then
			pass "bounds-writes:$name:progress"
		else
			fail "bounds-writes:$name:progress" "a session completed no WRITE"
		fi
	else
		fail "bounds-writes:$name:client" "$out"
	fi
	grown=$((($(status_kb VmHWM) - base) / 1024))
	limit=$((POOL_MB + OVER_POOL_MB))
	if ((grown <= limit)); then
		pass "bounds-writes:$name:rss (VmHWM +$grown MiB <= $limit MiB; pool $POOL_MB MiB)"
	else
		fail "bounds-writes:$name:rss" "VmHWM +$grown MiB > $limit MiB; pool $POOL_MB MiB"
	fi
	if out=$(bclient load "$(bounds_url)" 1 1 4 4096 write 2>&1); then
		pass "bounds-writes:$name:fresh-session"
	else
		fail "bounds-writes:$name:fresh-session" "$out"
	fi
	if ! daemon_stop; then
		fail "bounds-writes:$name:stop" "uscstd crashed or did not stop on SIGTERM"
	fi
	if sanitizer_report "$DAEMON_LOG" >/dev/null; then
		fail "bounds-writes:$name:sanitizer" "report in ${DAEMON_LOG##*/}"
	fi
}

main() {
	lib_init "${1:-}"
	bounds_build_clients bounds_client
	run_part solicited "InitialR2T Yes\nImmediateData No"
	run_part unsolicited "InitialR2T No\nImmediateData Yes\nMaxBurstLength 1048576"
	lib_finish
}

main "$@"
