#!/usr/bin/env bash
# Idle sessions are cheap (issue 16, "Bounds"): with SESSIONS (1,000) idle
# sessions logged in, uscstd's RSS grows by less than MAX_KIB_PER_SESSION
# (16 KiB) per session, and its CPU over IDLE_S seconds stays within
# MAX_IDLE_TICKS clock ticks (10 ms each; the once-a-second ticks of 1,000
# connections), measured exactly from /proc/PID/task/*/schedstat (utime +
# stime from /proc/PID/stat, sampled at the tick, are printed too).  CROSS (100) sessions are measured the same
# way first, as a cross-check.  One client (BUILD/tests/bounds_client)
# holds all sessions; MaxConnectionsPerAddress 0 lifts the per-address
# limit (all come from 127.0.0.1).  After the client logs out, a fresh
# login still works and the daemon stops cleanly.
# Usage: tests/integration/bounds-idle.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/bounds_lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/bounds_lib.bash"

SESSIONS=${SESSIONS:-1000}
CROSS=${CROSS:-100}
MAX_KIB_PER_SESSION=${MAX_KIB_PER_SESSION:-16}
IDLE_S=${IDLE_S:-5}
MAX_IDLE_TICKS=${MAX_IDLE_TICKS:-2}
HOLDER=""

# hold_start N: a client holding N idle sessions; waits (bounded) until all
# are logged in.
hold_start() {
	local i
	: >"$LIB_TMP/hold.out"
	# timeout itself in the background, not a function: its PID gets
	# the SIGTERM and passes it on to the client.
	timeout 150 "$USCST_BUILD/tests/bounds_client" hold "$(bounds_url)" "$1" 120 \
		>"$LIB_TMP/hold.out" 2>&1 &
	HOLDER=$!
	for ((i = 0; i < 600; i++)); do
		grep -q '^ready' "$LIB_TMP/hold.out" && return 0
		kill -0 "$HOLDER" 2>/dev/null || break
		sleep 0.1
	done
	echo "hold $1: $(cat "$LIB_TMP/hold.out")" >&2
	hold_stop
	return 1
}

# hold_stop: SIGTERM to our client (by PID); it logs out and exits.
hold_stop() {
	[[ -n $HOLDER ]] || return 0
	kill -TERM "$HOLDER" 2>/dev/null || true
	wait "$HOLDER" 2>/dev/null || true
	HOLDER=""
}

cleanup_holder() {
	if [[ -n $HOLDER ]]; then
		kill -KILL "$HOLDER" 2>/dev/null || true
	fi
	lib_cleanup
}

# measure N: PER = RSS growth per session (KiB, one decimal) with N idle
# sessions, which stay logged in (hold_stop ends them).
measure() {
	local n=$1 before after per
	sleep 0.5 # connections of earlier clients are freed
	before=$(status_kb VmRSS)
	hold_start "$n" || return 1
	sleep 1
	after=$(status_kb VmRSS)
	PER=$(awk -v a="$after" -v b="$before" -v n="$n" 'BEGIN { printf "%.1f", (a - b) / n }')
	echo "  | $n sessions: VmRSS $before kB -> $after kB, $PER KiB per session"
}

check_per_session() {
	local name=$1 per=$2
	if awk -v p="$per" -v m="$MAX_KIB_PER_SESSION" 'BEGIN { exit !(p < m) }'; then
		pass "bounds-idle:$name ($per KiB per session < $MAX_KIB_PER_SESSION)"
	else
		fail "bounds-idle:$name" "$per KiB per session >= $MAX_KIB_PER_SESSION"
	fi
}

main() {
	lib_init "${1:-}"
	trap cleanup_holder EXIT
	bounds_build_clients bounds_client
	# One descriptor per session in the client (uscstd raises its own).
	# Soft limit only: the daemon, started from here, raises its own up to
	# the hard limit.
	ulimit -Sn $((SESSIONS + 256)) 2>/dev/null || ulimit -Sn "$(ulimit -Hn)"
	nullio_config "$LIB_TMP/scst.conf" \
		"MaxConnectionsPerAddress 0\nMaxConnections $((SESSIONS + 64))" ""
	if ! daemon_start "$LIB_TMP/scst.conf"; then
		fail bounds-idle:start
		lib_finish
		return
	fi
	local t0 t1 u0 u1 out
	# Warm-up: the first sessions set up per-thread caches once.
	bclient hold "$(bounds_url)" 20 1 >/dev/null 2>&1 || true
	if measure "$CROSS"; then
		check_per_session "rss-$CROSS" "$PER"
	else
		fail "bounds-idle:rss-$CROSS" "the sessions did not log in"
	fi
	hold_stop
	if measure "$SESSIONS"; then
		check_per_session "rss-$SESSIONS" "$PER"
		sleep 1
		t0=$(cpu_ticks)
		u0=$(cpu_us)
		sleep "$IDLE_S"
		t1=$(cpu_ticks)
		u1=$(cpu_us)
		# The exact figure when there is one, else the sampled ticks.
		local used=$(((t1 - t0) * 10000)) how="ticks sampled"
		if [[ -n $u0 && -n $u1 ]]; then
			used=$((u1 - u0))
			how="schedstat"
		fi
		if ((used <= MAX_IDLE_TICKS * 10000)); then
			pass "bounds-idle:cpu-$SESSIONS ($used us of CPU ($how; $((t1 - t0)) ticks) in $IDLE_S s idle)"
		else
			fail "bounds-idle:cpu-$SESSIONS" "$used us of CPU ($how; $((t1 - t0)) ticks) in $IDLE_S s idle > $MAX_IDLE_TICKS ticks"
		fi
		if kill -0 "$HOLDER" 2>/dev/null; then
			pass "bounds-idle:sessions-held"
		else
			fail "bounds-idle:sessions-held" "$(cat "$LIB_TMP/hold.out")"
		fi
	else
		fail "bounds-idle:rss-$SESSIONS" "the sessions did not log in"
	fi
	hold_stop
	if out=$(bclient load "$(bounds_url)" 1 1 4 4096 read 2>&1); then
		pass "bounds-idle:fresh-session"
	else
		fail "bounds-idle:fresh-session" "$out"
	fi
	lib_finish
}

main "$@"
