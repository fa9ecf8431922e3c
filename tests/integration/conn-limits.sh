#!/usr/bin/env bash
# Connection limits (issue 13, item 3), with the driver attributes
# LoginTimeout 3 and MaxConnectionsPerAddress 4:
#  - 6 idle connections from 127.0.0.2: 4 stay, 2 are closed at accept;
#  - meanwhile an initiator on 127.0.0.1 still logs in and reads;
#  - the 4 that never log in are closed about LoginTimeout after accept;
#  - then 127.0.0.2 gets its 4 connections again (the counts went down);
#  - a session that logged in outlives LoginTimeout;
#  - restarted with MaxConnections 5: 4 connections from 127.0.0.2 and 3
#    from 127.0.0.3 (each under its per-address limit): 1 of the 3 stays,
#    2 are closed at accept, and the log says why.
# Every client wait is bounded (BUILD/tests/addr_conns, timeout).
# Usage: tests/integration/conn-limits.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IQN=iqn.2026-11.org.uscst:conn-limits
LOGIN_TIMEOUT=3
PER_ADDR=4

addr_conns() { # SRC N SETTLE_MS HOLD_MS
	timeout 30 "$USCST_BUILD/tests/addr_conns" "$1" 127.0.0.1 "$DAEMON_PORT" "$2" "$3" "$4"
}

check_flood_result() {
	local out ms
	out=$(cat "$LIB_TMP/flood.out")
	echo "$out"
	grep -qx "open=$PER_ADDR refused=2" <<<"$out" || return 1
	ms=$(sed -n 's/^closed_all_ms=//p' <<<"$out")
	# accepted at ~0, closed by the once-a-second tick after 3 s
	[[ -n $ms ]] && ((ms >= (LOGIN_TIMEOUT - 1) * 1000 && ms <= (LOGIN_TIMEOUT + 3) * 1000))
}

check_other_address() {
	timeout 20 iscsi-inq "iscsi://127.0.0.1:$DAEMON_PORT/$IQN/0" &&
		timeout 20 iscsi-readcapacity16 "iscsi://127.0.0.1:$DAEMON_PORT/$IQN/0"
}

check_released() {
	local out
	out=$(addr_conns 127.0.0.2 "$PER_ADDR" 1000 1000)
	echo "$out"
	grep -qx "open=$PER_ADDR refused=0" <<<"$out"
}

# iscsi-perf keeps one session reading for longer than LoginTimeout; the
# daemon must not close it (no LoginTimeout close for 127.0.0.1).
check_session_outlives() {
	timeout $((LOGIN_TIMEOUT + 3)) iscsi-perf -t 10 "iscsi://127.0.0.1:$DAEMON_PORT/$IQN/0" \
		>"$LIB_TMP/perf.out" 2>&1 || true
	tail -n 3 "$LIB_TMP/perf.out"
	grep 'LoginTimeout' "$DAEMON_LOG" | grep -v '127\.0\.0\.2:' && return 1
	grep -q '127\.0\.0\.1.*LoginTimeout' "$DAEMON_LOG" && return 1
	return 0
}

# `uscstadmin show config` reports the limits in force (so it round-trips).
check_show_config() {
	local out
	out=$(timeout 20 "$USCSTADMIN" -s "$DAEMON_SOCK" show config)
	grep -E 'LoginTimeout|MaxConnectionsPerAddress|MaxBufferMemory' <<<"$out"
	grep -Eq "^\s*LoginTimeout\s+$LOGIN_TIMEOUT\s*$" <<<"$out" &&
		grep -Eq "^\s*MaxConnectionsPerAddress\s+$PER_ADDR\s*$" <<<"$out" &&
		grep -Eq '^\s*MaxBufferMemory\s+0\s*$' <<<"$out"
}

TOTAL=5

# 127.0.0.2 holds 4 (its per-address limit) for the whole check; of the 3
# from 127.0.0.3 only 1 fits under MaxConnections.
check_total_limit() {
	local out
	addr_conns 127.0.0.2 "$PER_ADDR" 3000 100 >"$LIB_TMP/total2.out" 2>&1 &
	local holder=$!
	sleep 1
	out=$(addr_conns 127.0.0.3 3 1000 1000)
	wait "$holder" || true
	cat "$LIB_TMP/total2.out"
	echo "$out"
	grep -qx "open=$PER_ADDR refused=0" "$LIB_TMP/total2.out" &&
		grep -qx 'open=1 refused=2' <<<"$out" &&
		grep -q 'closed: the daemon has MaxConnections connections' "$DAEMON_LOG"
}

main() {
	lib_init "${1:-}"
	write_config "$LIB_TMP/scst.conf" "$IQN" "$LIB_TMP/disk0.img" 67108864
	sed -i "0,/enabled 1/s//enabled 1\n    LoginTimeout $LOGIN_TIMEOUT\n    MaxConnectionsPerAddress $PER_ADDR/" \
		"$LIB_TMP/scst.conf"
	if ! daemon_start "$LIB_TMP/scst.conf"; then
		fail conn-limits:start
		lib_finish
		return
	fi
	addr_conns 127.0.0.2 6 1000 $(((LOGIN_TIMEOUT + 5) * 1000)) >"$LIB_TMP/flood.out" 2>&1 &
	local flood=$!
	sleep 0.5
	check conn-limits:other-address-served check_other_address
	wait "$flood" || true
	check conn-limits:per-address-and-login-timeout check_flood_result
	check conn-limits:count-released check_released
	check conn-limits:session-outlives-login-timeout check_session_outlives
	check conn-limits:show-config check_show_config
	daemon_stop || fail conn-limits:stop
	# LoginTimeout 30: the idle connections must outlive the check.
	sed -i -e "0,/enabled 1/s//enabled 1\n    MaxConnections $TOTAL/" \
		-e "s/LoginTimeout $LOGIN_TIMEOUT\$/LoginTimeout 30/" "$LIB_TMP/scst.conf"
	if daemon_start "$LIB_TMP/scst.conf"; then
		check conn-limits:max-connections check_total_limit
	else
		fail conn-limits:start-max-connections
	fi
	lib_finish
}

main "$@"
