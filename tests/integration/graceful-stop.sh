#!/usr/bin/env bash
# graceful-stop: SIGTERM while a libiscsi client writes, and the stop's bound.
#
# 1. graceful_client keeps 16 WRITEs in flight on LUN 0; SIGTERM to uscstd
#    (by PID).  The client must see the Async Message asking it to log out
#    (AsyncEvent 1; libiscsi logs it and logs out at once, immediate, with
#    writes still in flight), every write it sent must be answered GOOD
#    before the Logout Response, and uscstd must exit 0 well within
#    --stop-timeout, having flushed its device.  After the exit, every
#    write the client saw GOOD is read back from the backing file (and a
#    check against a wrong fill fails, so the check can fail).
# 2. A connection that never logs in (it cannot be asked to log out) holds
#    the stop until --stop-timeout: uscstd then drops it, says so in its
#    log, and still exits 0, not much later than the bound.
#    So does a logged-in session whose initiator reads nothing (it never
#    sees the Async Message): the log names the session cut.
# 3. A second SIGTERM cuts that wait short.
# 4. A connection accepted before the SIGTERM that logs in after it is
#    refused with Service Unavailable, and once it is gone the daemon exits
#    without waiting for the bound.
#
# Usage: tests/integration/graceful-stop.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IQN=$USCST_IQN_PREFIX:graceful
STOP_TIMEOUT=6

lib_init "${1:-}"
CLIENT=$USCST_BUILD/tests/graceful_client
if [[ ! -x $CLIENT ]]; then
	echo "graceful-stop: $CLIENT not built (libiscsi-dev missing?)"
	echo "graceful-stop.sh: 0 passed, 0 failed"
	exit 0
fi
CONF=$LIB_TMP/scst.conf
IMG=$LIB_TMP/disk0.img
truncate -s $((64 * 1024 * 1024)) "$IMG"
# write_through: every WRITE waits for its fdatasync, so that writes are
# still in the backend when the Logout comes.
cat >"$CONF" <<CONF
HANDLER vdisk_fileio {
    DEVICE disk0 {
        filename $IMG
        write_through 1
    }
}
TARGET_DRIVER iscsi {
    enabled 1
    TARGET $IQN {
        enabled 1
        LUN 0 disk0
    }
}
CONF

# stop_and_time SIGNALS...: sends each signal (0.5 s apart) to our daemon
# by PID, waits for its exit; sets STOP_STATUS and STOP_MS.
stop_and_time() {
	local pid=$DAEMON_PID start sig
	DAEMON_PID=""
	start=$(date +%s%N)
	for sig in "$@"; do
		kill -"$sig" "$pid"
		sleep 0.5
	done
	STOP_STATUS=0
	wait "$pid" || STOP_STATUS=$?
	STOP_MS=$((($(date +%s%N) - start) / 1000000))
}

# --- 1. a client writing, asked to log out ---
DAEMON_LOG_FILE=$LIB_TMP/uscstd-1.log daemon_start "$CONF" --stop-timeout "$STOP_TIMEOUT"
"$CLIENT" load "iscsi://127.0.0.1:$DAEMON_PORT/$IQN/0" "$LIB_TMP/journal" 30 \
	>"$LIB_TMP/client.out" 2>&1 &
CLIENT_PID=$!
for _ in $(seq 100); do
	grep -q writing "$LIB_TMP/client.out" && break
	sleep 0.1
done
sleep 1 # writes in full flow
LOG=$DAEMON_LOG
stop_and_time TERM
CLIENT_STATUS=0
wait "$CLIENT_PID" || CLIENT_STATUS=$?
echo "graceful-stop: daemon exit $STOP_STATUS after $STOP_MS ms; client: $(tail -n 1 "$LIB_TMP/client.out")"

check exit-0 test "$STOP_STATUS" = 0
check exit-before-bound test "$STOP_MS" -lt $((STOP_TIMEOUT * 1000))
check client-saw-async-logout grep -q "target requests logout within $STOP_TIMEOUT seconds" "$LIB_TMP/client.out"
check writes-in-flight-at-request grep -qE "seen with ([1-9][0-9]*) writes in flight" "$LIB_TMP/client.out"
check client-writes-all-answered-good test "$CLIENT_STATUS" = 0
check daemon-asked-logout grep -q "asked to log out within $STOP_TIMEOUT s" "$LOG"
check logout-waited-for-backend grep -q "logout answered once its [0-9]* command(s) in the backend end" "$LOG"
check daemon-sessions-ended grep -q "every session ended" "$LOG"
check daemon-flushed grep -q "devices flushed" "$LOG"
check written-data-there "$CLIENT" verify "$IMG" "$LIB_TMP/journal"
check verify-can-fail bash -c "! '$CLIENT' verify '$IMG' '$LIB_TMP/journal' --wrong-pattern"
cat "$LIB_TMP/client.out"

# --- 2. a connection that never logs in: dropped at the bound ---
DAEMON_LOG_FILE=$LIB_TMP/uscstd-2.log daemon_start "$CONF" --stop-timeout 2
exec 3<>"/dev/tcp/127.0.0.1/$DAEMON_PORT"
sleep 0.3
LOG=$DAEMON_LOG
stop_and_time TERM
exec 3<&-
echo "graceful-stop: with an idle connection, exit $STOP_STATUS after $STOP_MS ms"
check bound-exit-0 test "$STOP_STATUS" = 0
check bound-waited test "$STOP_MS" -ge 2000
check bound-kept test "$STOP_MS" -lt 4000
check bound-logged-cut grep -q "1 connection(s) still open at --stop-timeout after" "$LOG"

# --- 2b. a session that never reads the Async Message: cut and named ---
DAEMON_LOG_FILE=$LIB_TMP/uscstd-2b.log daemon_start "$CONF" --stop-timeout 2
"$CLIENT" hold "iscsi://127.0.0.1:$DAEMON_PORT/$IQN/0" 8 >"$LIB_TMP/hold.out" 2>&1 &
HOLD_PID=$!
for _ in $(seq 100); do
	grep -q "logged in" "$LIB_TMP/hold.out" && break
	sleep 0.1
done
LOG=$DAEMON_LOG
stop_and_time TERM
kill "$HOLD_PID" 2>/dev/null || true
wait "$HOLD_PID" 2>/dev/null || true
echo "graceful-stop: with a deaf session, exit $STOP_STATUS after $STOP_MS ms"
check deaf-session-exit-0 test "$STOP_STATUS" = 0
check deaf-session-waited test "$STOP_MS" -ge 2000
check deaf-session-bound-kept test "$STOP_MS" -lt 4000
check deaf-session-named grep -q "stop: normal session tsih [0-9]* of iqn.2026-11.org.uscst:graceful-client from 127.0.0.1:[0-9]* cut" "$LOG"

# --- 3. a second signal cuts the wait short ---
DAEMON_LOG_FILE=$LIB_TMP/uscstd-3.log daemon_start "$CONF" --stop-timeout 30
exec 3<>"/dev/tcp/127.0.0.1/$DAEMON_PORT"
sleep 0.3
LOG=$DAEMON_LOG
stop_and_time TERM INT
exec 3<&-
echo "graceful-stop: second signal, exit $STOP_STATUS after $STOP_MS ms"
check second-signal-exit-0 test "$STOP_STATUS" = 0
check second-signal-fast test "$STOP_MS" -lt 3000
check second-signal-logged grep -q "still open at a second signal" "$LOG"

# --- 4. a login after the SIGTERM ---
DAEMON_LOG_FILE=$LIB_TMP/uscstd-4.log daemon_start "$CONF" --stop-timeout 30
"$CLIENT" late-login "iscsi://127.0.0.1:$DAEMON_PORT/$IQN/0" "$LIB_TMP/go" \
	>"$LIB_TMP/late.out" 2>&1 &
LATE_PID=$!
for _ in $(seq 100); do
	grep -q connected "$LIB_TMP/late.out" && break
	sleep 0.1
done
LOG=$DAEMON_LOG
PID=$DAEMON_PID
DAEMON_PID=""
start=$(date +%s%N)
kill -TERM "$PID"
sleep 0.3
touch "$LIB_TMP/go"
LATE_STATUS=0
wait "$LATE_PID" || LATE_STATUS=$?
STOP_STATUS=0
wait "$PID" || STOP_STATUS=$?
STOP_MS=$((($(date +%s%N) - start) / 1000000))
echo "graceful-stop: late login: $(tail -n 1 "$LIB_TMP/late.out"); exit $STOP_STATUS after $STOP_MS ms"
check late-login-service-unavailable test "$LATE_STATUS" = 0
check late-login-exit-0 test "$STOP_STATUS" = 0
check late-login-no-wait-for-bound test "$STOP_MS" -lt 10000

lib_finish
