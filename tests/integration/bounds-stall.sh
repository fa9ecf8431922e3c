#!/usr/bin/env bash
# A client that stops reading its socket slows only itself (issue 16,
# "Bounds").  uscstd --threads 1 (every session on the one reactor, pinned
# to CPU 1; the clients on CPU 0), a vdisk_nullio LUN with QueuedCommands
# 64 and MaxSessionMemory 16:
#   - the stalled session (BUILD/tests/slow_reader reads 64 1 HOLD) logs in,
#     sends 64 READs of 1 MiB within its CmdSN window and never reads: 64 MiB
#     of Data-In that the daemon may queue only up to the session's cap;
#   - the other session (BUILD/tests/bounds_client load, 4 KiB READs at QD8,
#     LOAD_S seconds) keeps at least MIN_PCT % of its IOPS alone, best of
#     ROUNDS rounds A B (alone, then beside a fresh stalled session): other
#     processes on a shared machine only ever lower a round's IOPS, so the
#     best round is what the daemon can do;
#   - the daemon's peak RSS (VmHWM) grows by at most the cap + one READ +
#     MARGIN_MB while stalled sessions are held (64 MiB without the cap);
#   - the daemon spends no CPU on a stalled session (a busy loop on the
#     full socket would show): at most MAX_STALL_TICKS over STALL_IDLE_S s.
# Every client is bounded by timeout; a fresh session works at the end.
# Usage: tests/integration/bounds-stall.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/bounds_lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/bounds_lib.bash"

CAP_MB=16
MARGIN_MB=${MARGIN_MB:-16}
MIN_PCT=${MIN_PCT:-80}
LOAD_S=${LOAD_S:-2}
STALL_IDLE_S=3
MAX_STALL_TICKS=${MAX_STALL_TICKS:-3}
ROUNDS=${ROUNDS:-5}
PIN_CLIENT=()

best() { printf '%s\n' "$@" | sort -n | tail -n 1; }

# victim: IOPS of one session reading alone on its own for LOAD_S; 0 on error.
victim() {
	local out
	out=$("${PIN_CLIENT[@]}" timeout 30 "$USCST_BUILD/tests/bounds_client" load "$(bounds_url)" \
		1 "$LOAD_S" 8 4096 read 2>&1) || true
	sed -n 's/^ok .* iops=\([0-9]*\) .*/\1/p' <<<"$out" | grep . || {
		echo "  | victim: $out" >&2
		echo 0
	}
}

# stall_start HOLD: a stalled session (slow_reader), filled after 1.5 s.
stall_start() {
	timeout $(($1 + 10)) "${PIN_CLIENT[@]}" "$USCST_BUILD/tests/slow_reader" 127.0.0.1 \
		"$DAEMON_PORT" "$BOUNDS_IQN" reads 64 1 "$1" >>"$LIB_TMP/stall.out" 2>&1 &
	STALLER=$!
	sleep 1.5
}

stall_end() {
	if wait "$STALLER"; then
		return 0
	fi
	fail "bounds-stall:stalled-client" "$(tail -n 1 "$LIB_TMP/stall.out")"
}

main() {
	lib_init "${1:-}"
	bounds_build_clients bounds_client slow_reader
	nullio_config "$LIB_TMP/scst.conf" "" "QueuedCommands 64\nMaxSessionMemory $CAP_MB"
	if ! daemon_start "$LIB_TMP/scst.conf" --threads 1; then
		fail bounds-stall:start
		lib_finish
		return
	fi
	if command -v taskset >/dev/null && (($(nproc) >= 2)); then
		taskset -a -p -c 1 "$DAEMON_PID" >/dev/null
		PIN_CLIENT=(taskset -c 0)
	fi
	victim >/dev/null # warm-up
	local base t0 t1 grown round alone=() beside=() a b pct
	base=$(status_kb VmHWM)
	# No CPU while a stalled session sits at its cap.
	stall_start $((STALL_IDLE_S + 1))
	t0=$(cpu_ticks)
	sleep "$STALL_IDLE_S"
	t1=$(cpu_ticks)
	stall_end
	for ((round = 0; round < ROUNDS; round++)); do
		alone+=("$(victim)")
		stall_start $((LOAD_S + 1))
		beside+=("$(victim)")
		stall_end
	done
	grown=$((($(status_kb VmHWM) - base) / 1024))
	sed 's/^/  | stalled: /' "$LIB_TMP/stall.out" | sort | uniq -c
	echo "  | IOPS alone ${alone[*]}, beside a stalled session ${beside[*]}"
	a=$(best "${alone[@]}")
	b=$(best "${beside[@]}")
	pct=$((a > 0 ? b * 100 / a : 0))
	if ((a > 0 && pct >= MIN_PCT)); then
		pass "bounds-stall:other-session (best IOPS $b beside a stalled session, $a alone: $pct %)"
	else
		fail "bounds-stall:other-session" "best IOPS $b beside a stalled session, $a alone: $pct % < $MIN_PCT %"
	fi
	if ((grown <= CAP_MB + 1 + MARGIN_MB)); then
		pass "bounds-stall:rss (VmHWM +$grown MiB <= $CAP_MB + 1 + $MARGIN_MB MiB)"
	else
		fail "bounds-stall:rss" "VmHWM +$grown MiB > $CAP_MB + 1 + $MARGIN_MB MiB"
	fi
	if ((t1 - t0 <= MAX_STALL_TICKS)); then
		pass "bounds-stall:no-spin ($((t1 - t0)) ticks in $STALL_IDLE_S s with a stalled session)"
	else
		fail "bounds-stall:no-spin" "$((t1 - t0)) ticks in $STALL_IDLE_S s with a stalled session"
	fi
	if (($(victim) > 0)); then
		pass "bounds-stall:fresh-session"
	else
		fail "bounds-stall:fresh-session"
	fi
	lib_finish
}

main "$@"
