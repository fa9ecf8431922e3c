#!/usr/bin/env bash
# notify-log: uscstd under a NOTIFY_SOCKET, and its log targets and levels.
#
# 1. NOTIFY_SOCKET names a unix datagram socket of notify_listen (systemd's
#    end, tests/integration/notify_listen.c): READY=1 must arrive, and the
#    portal must take connections when it does; SIGTERM must bring
#    STOPPING=1, and the daemon exits 0.  An abstract socket ("@name") works
#    the same way; a NOTIFY_SOCKET that is no AF_UNIX address is logged,
#    not fatal.
# 2. --log syslog: the daemon starts, serves and stops with nothing on
#    stderr (there may be no syslog daemon: syslog(3) drops the lines).
# 3. --log-level warn: no info line on stderr; --log-level debug: debug
#    lines; a bad --log or --log-level is refused (exit 2).
#
# Usage: tests/integration/notify-log.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IQN=$USCST_IQN_PREFIX:notify

lib_init "${1:-}"
LISTEN=$USCST_BUILD/tests/notify_listen
CONF=$LIB_TMP/scst.conf
write_config "$CONF" "$IQN" "$LIB_TMP/disk0.img" $((16 * 1024 * 1024))

# start_listener SOCKET_PATH: notify_listen on the port daemon_start will
# take (the first free one from PORT_BASE), output in $LIB_TMP/notify.out.
start_listener() {
	PORT_BASE=$(free_port 15260)
	"$LISTEN" "$1" "$PORT_BASE" 20 >"$LIB_TMP/notify.out" 2>&1 &
	LISTENER_PID=$!
	for _ in $(seq 50); do
		grep -q listening "$LIB_TMP/notify.out" && break
		sleep 0.1
	done
}

# stop_daemon: SIGTERM by PID, waits; sets STOP_STATUS.
stop_daemon() {
	local pid=$DAEMON_PID
	DAEMON_PID=""
	kill -TERM "$pid"
	STOP_STATUS=0
	wait "$pid" || STOP_STATUS=$?
}

# --- 1. NOTIFY_SOCKET, a path ---
start_listener "$LIB_TMP/notify.sock"
NOTIFY_SOCKET=$LIB_TMP/notify.sock daemon_start "$CONF"
sleep 0.3
stop_daemon
LISTENER_STATUS=0
wait "$LISTENER_PID" || LISTENER_STATUS=$?
sed 's/^/  notify: /' "$LIB_TMP/notify.out"
check ready-sent grep -qx "READY=1" "$LIB_TMP/notify.out"
check ready-after-listen grep -qx "port open at READY" "$LIB_TMP/notify.out"
check stopping-sent test "$LISTENER_STATUS" = 0
check ready-before-stopping bash -c "grep -x -e READY=1 -e STOPPING=1 '$LIB_TMP/notify.out' | tr '\n' ' ' | grep -qx 'READY=1 STOPPING=1 '"
check notify-exit-0 test "$STOP_STATUS" = 0

# --- 1b. an abstract socket, and a bad NOTIFY_SOCKET ---
ABSTRACT=uscst-notify-$$-$RANDOM
"$LISTEN" "@$ABSTRACT" 1 20 >"$LIB_TMP/notify-abstract.out" 2>&1 &
LISTENER_PID=$!
sleep 0.3
NOTIFY_SOCKET=@$ABSTRACT daemon_start "$CONF"
sleep 0.3
stop_daemon
LISTENER_STATUS=0
wait "$LISTENER_PID" || LISTENER_STATUS=$?
check abstract-ready grep -qx "READY=1" "$LIB_TMP/notify-abstract.out"
check abstract-stopping test "$LISTENER_STATUS" = 0

NOTIFY_SOCKET=vsock:2:1234 DAEMON_LOG_FILE=$LIB_TMP/bad-notify.log daemon_start "$CONF"
stop_daemon
check bad-notify-socket-logged grep -q "cannot tell systemd READY=1" "$LIB_TMP/bad-notify.log"
check bad-notify-socket-not-fatal test "$STOP_STATUS" = 0

# --- 2. --log syslog ---
DAEMON_LOG_FILE=$LIB_TMP/syslog-stderr.log daemon_start "$CONF" --log syslog
iscsi-ls "iscsi://127.0.0.1:$DAEMON_PORT" >/dev/null 2>&1 || true
stop_daemon
check syslog-exit-0 test "$STOP_STATUS" = 0
check syslog-nothing-on-stderr test ! -s "$LIB_TMP/syslog-stderr.log"
DAEMON_LOG_FILE=$LIB_TMP/stderr.log daemon_start "$CONF"
stop_daemon
check stderr-has-lines grep -q "uscstd info: listening on" "$LIB_TMP/stderr.log"

# --- 3. levels ---
DAEMON_LOG_FILE=$LIB_TMP/warn.log daemon_start "$CONF" --log-level warn
stop_daemon
check level-warn-no-info bash -c "! grep -q ' info: ' '$LIB_TMP/warn.log'"
DAEMON_LOG_FILE=$LIB_TMP/debug.log daemon_start "$CONF" --log-level debug
iscsi-ls "iscsi://127.0.0.1:$DAEMON_PORT" >/dev/null 2>&1 || true
stop_daemon
check level-debug-has-debug grep -q ' debug: ' "$LIB_TMP/debug.log"
rc=0
"$USCSTD" -f -c "$CONF" --log journal >/dev/null 2>&1 || rc=$?
check bad-log-target-usage test "$rc" = 2
rc=0
"$USCSTD" -f -c "$CONF" --log-level loud >/dev/null 2>&1 || rc=$?
check bad-log-level-usage test "$rc" = 2
rc=0
"$USCSTD" -f -c "$CONF" --stop-timeout -1 >/dev/null 2>&1 || rc=$?
check bad-stop-timeout-usage test "$rc" = 2

lib_finish
