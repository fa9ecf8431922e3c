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
#    2 are closed at accept, and the log says why;
#  - the same daemon also listens on a dual-stack [::] portal: 2
#    connections from 127.0.0.4 to the IPv4 portal and 3 to the [::] one
#    (where they arrive as ::ffff:127.0.0.4) are one address: 2 of the 3
#    stay (MaxConnectionsPerAddress 4), and the log names 127.0.0.4.
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

# One host through an IPv4 and a dual-stack portal is one address.
check_dual_stack() {
	local out
	timeout 30 "$USCST_BUILD/tests/addr_conns" 127.0.0.4 127.0.0.1 "$DAEMON_PORT" 2 3000 100 \
		>"$LIB_TMP/dual4.out" 2>&1 &
	local holder=$!
	sleep 1
	out=$(timeout 30 "$USCST_BUILD/tests/addr_conns" 127.0.0.4 127.0.0.1 "$V6_PORT" 3 1000 100)
	wait "$holder" || true
	cat "$LIB_TMP/dual4.out"
	echo "$out"
	grep 'connection from .*127\.0\.0\.4' "$DAEMON_LOG" | head -n 2
	grep -qx 'open=2 refused=0' "$LIB_TMP/dual4.out" &&
		grep -qx 'open=2 refused=1' <<<"$out" &&
		grep -q 'connection from 127\.0\.0\.4:[0-9]* closed: its address' "$DAEMON_LOG"
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
	V6_PORT=$(free_port 15260)
	# --listen replaces the configured portals: lib.sh's IPv4 one is given
	# again by daemon_start, the dual-stack one here.
	if daemon_start "$LIB_TMP/scst.conf" --listen "[::]:$V6_PORT"; then
		check conn-limits:max-connections check_total_limit
		check conn-limits:dual-stack-one-address check_dual_stack
	else
		fail conn-limits:start-max-connections
	fi
	lib_finish
}

main "$@"
