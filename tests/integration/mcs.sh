#!/usr/bin/env bash
# Several connections per session (MC/S) and connection recovery
# (ErrorRecoveryLevel 2), with the raw-socket BUILD/tests/mcs_client: I/O
# on two connections of one session in one CmdSN order, a connection added
# with a wrong TSIH or beyond MaxConnections, logout of one connection,
# and the fall-back to one connection for initiators that ask for it.
# The daemon runs 4 reactors, so that added connections usually arrive on
# another reactor than their session's and have to move (conn_join.c).
# Usage: tests/integration/mcs.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IQN=iqn.2026-11.org.uscst:mcs
# Away from the other scripts' ports (several may run at once).
PORT_BASE=${PORT_BASE:-14760}
CASE_TIMEOUT=${CASE_TIMEOUT:-40}

# A second portal, in portal group 2 of the target (other-portal-group).
start() {
	daemon_start "$LIB_TMP/scst.conf" --threads 4 --listen "127.0.0.2:$PORT2"
}

run_case() {
	local name=$1 out rc=0
	out=$(timeout "$CASE_TIMEOUT" "$CLIENT" 127.0.0.1 "$DAEMON_PORT" "$IQN" "$name" 2>&1) || rc=$?
	if ! daemon_alive; then
		fail "mcs:$name" "uscstd died; client said: ${out:-nothing}"
		tail -n 20 "$DAEMON_LOG" | sed 's/^/  | /'
		wait "$DAEMON_PID" 2>/dev/null || true
		DAEMON_PID=""
		start || fail "mcs:restart"
		return
	fi
	if ((rc == 124)); then
		fail "mcs:$name" "client timed out after ${CASE_TIMEOUT}s"
	elif ((rc == 0)); then
		pass "mcs:$name"
	else
		fail "mcs:$name" "${out#error: }"
	fi
}

main() {
	local name
	lib_init "${1:-}"
	CLIENT=$USCST_BUILD/tests/mcs_client
	if [[ ! -x $CLIENT ]]; then
		make --no-print-directory -C "$USCST_ROOT" BUILD="$USCST_BUILD" \
			"$USCST_BUILD/tests/mcs_client" >/dev/null
	fi
	write_config "$LIB_TMP/scst.conf" "$IQN-unused" "$LIB_TMP/disk0.img" $((16 << 20))
	cat >>"$LIB_TMP/scst.conf" <<-CONF
		TARGET_DRIVER iscsi {
		    TARGET $IQN {
		        rel_tgt_id 1
		        portal_group "2 7 127.0.0.2"
		        MaxConnections 4
		        ErrorRecoveryLevel 2
		        LUN 0 disk0
		    }
		    TARGET $IQN-one {
		        LUN 0 disk0
		    }
		}
	CONF
	PORT2=$(free_port 14860) || {
		fail mcs:port
		lib_finish
		return
	}
	export MCS_PORTAL2=127.0.0.2:$PORT2
	if ! start; then
		fail mcs:start
		lib_finish
		return
	fi
	# admin-close: the client has the administrator close its session.
	printf -v MCS_CLOSE_CMD '%q -s %q session close %q %q >/dev/null' "$USCSTADMIN" \
		"$DAEMON_SOCK" "$IQN" iqn.2026-11.org.uscst:mcs-client
	export MCS_CLOSE_CMD
	while read -r name; do
		[[ -z ${MCS_ONLY:-} || $name =~ $MCS_ONLY ]] || continue
		run_case "$name"
	done < <("$CLIENT" --list)
	lib_finish
}

main "$@"
