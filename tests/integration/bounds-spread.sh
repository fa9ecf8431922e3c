#!/usr/bin/env bash
# Connection spreading over reactors (issue 16, item 4), against uscstd
# --threads 2 and a vdisk_nullio LUN, with BUILD/tests/bounds_client.  The
# reactor threads are named uscst-r0 and uscst-r1; each part measures their
# CPU (utime + stime, /proc/PID/task/TID/stat) while sessions run READs.
#   burst       8 sessions log in at once (one client, all logins in
#               flight together), then run 4 KiB READs at QD8: each reactor
#               does at least MIN_SHARE % of the reactors' work.  (The
#               count used to be taken on the reactor, after the acceptor
#               had placed the whole burst: often all on uscst-r0.)
#   churn       3 rounds of 40 idle sessions logging in and out, then the
#               burst again: the counts went back down on both reactors.
#   idle-peer   a busy session, then an idle one (placed on the other
#               reactor), then a second busy session: it goes where the
#               idle one is, not beside the busy one (equal connection
#               counts used to tie to uscst-r0).
#   light-peer  the same with a session that sends a TEST UNIT READY every
#               300 ms instead of the idle one: both reactors have one
#               connection carrying traffic, and the second busy session
#               goes to the reactor whose thread is less busy.
# Usage: tests/integration/bounds-spread.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/bounds_lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/bounds_lib.bash"

MIN_SHARE=${MIN_SHARE:-20}
LOAD_S=${LOAD_S:-3}

# ticks_of NAME SNAPSHOT: the ticks of reactor NAME in a reactor_ticks snapshot.
ticks_of() { awk -v n="$1" '$1 == n { print $2 }' <<<"$2"; }

# check_spread NAME BEFORE AFTER: each reactor did >= MIN_SHARE % of the work
# between the two snapshots.
check_spread() {
	local name=$1 d0 d1 total share
	d0=$(($(ticks_of uscst-r0 "$3") - $(ticks_of uscst-r0 "$2")))
	d1=$(($(ticks_of uscst-r1 "$3") - $(ticks_of uscst-r1 "$2")))
	total=$((d0 + d1))
	share=$((total > 0 ? (d0 < d1 ? d0 : d1) * 100 / total : 0))
	if ((total >= 10 && share >= MIN_SHARE)); then
		pass "bounds-spread:$name (uscst-r0 $d0 ticks, uscst-r1 $d1 ticks: $share %)"
	else
		fail "bounds-spread:$name" "uscst-r0 $d0 ticks, uscst-r1 $d1 ticks: $share % < $MIN_SHARE % or too little work"
	fi
}

# load_spread NAME SESSIONS: SESSIONS log in together and read for LOAD_S.
load_spread() {
	local before after out
	before=$(reactor_ticks)
	if ! out=$(bclient load "$(bounds_url)" "$2" "$LOAD_S" 8 4096 read 2>&1); then
		fail "bounds-spread:$1:client" "$out"
		return
	fi
	after=$(reactor_ticks)
	echo "  | $out"
	check_spread "$1" "$before" "$after"
}

part_churn() {
	local i out
	for ((i = 0; i < 3; i++)); do
		if ! out=$(bclient hold "$(bounds_url)" 40 1 2>&1); then
			fail "bounds-spread:churn:client" "$out"
			return
		fi
	done
	sleep 0.5 # the last logouts' connections are freed
	load_spread churn 4
}

# part_peer NAME [PING_MS]: a busy session, then a peer session (idle, or
# pinging every PING_MS), then a second busy one, which must not land
# beside the first.
part_peer() {
	local name=$1 busy idle before after out
	bclient load "$(bounds_url)" 1 $((LOAD_S + 6)) 8 4096 read >"$LIB_TMP/busy.out" 2>&1 &
	busy=$!
	sleep 0.5
	bclient hold "$(bounds_url)" 1 $((LOAD_S + 6)) ${2:+"$2"} >"$LIB_TMP/idle.out" 2>&1 &
	idle=$!
	sleep 4 # seen idle (2 s without a PDU, 1 s ticks); CPU sampled
	before=$(reactor_ticks)
	if ! out=$(bclient load "$(bounds_url)" 1 "$LOAD_S" 8 4096 read 2>&1); then
		fail "bounds-spread:$name:client" "$out"
	fi
	after=$(reactor_ticks)
	wait "$busy" || fail "bounds-spread:$name:busy-client" "$(cat "$LIB_TMP/busy.out")"
	wait "$idle" || fail "bounds-spread:$name:peer-client" "$(cat "$LIB_TMP/idle.out")"
	echo "  | $out"
	check_spread "$name" "$before" "$after"
}

main() {
	lib_init "${1:-}"
	bounds_build_clients bounds_client
	nullio_config "$LIB_TMP/scst.conf" "" ""
	if ! daemon_start "$LIB_TMP/scst.conf" --threads 2; then
		fail bounds-spread:start
		lib_finish
		return
	fi
	if [[ $(reactor_ticks | wc -l) != 2 ]]; then
		fail bounds-spread:threads "no reactor threads named uscst-r0, uscst-r1"
		lib_finish
		return
	fi
	load_spread burst 8
	part_churn
	part_peer idle-peer
	part_peer light-peer 300
	lib_finish
}

main "$@"
