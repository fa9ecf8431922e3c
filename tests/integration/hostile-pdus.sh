#!/usr/bin/env bash
# Hostile PDUs: runs every case of BUILD/tests/hostile_client against its own
# uscstd.  A case passes when the target answers as RFC 7143 wants (Reject
# reason, login status, sense, or a close), the daemon is still running, and
# a fresh login + TEST UNIT READY + READ(10) works (the client checks that).
# A daemon that died is restarted so the remaining cases still run.
# Usage: tests/integration/hostile-pdus.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IQN=iqn.2026-11.org.uscst:hostile
CASE_TIMEOUT=${CASE_TIMEOUT:-60}
# Extra targets so the SendTargets=All answer is several KB (the
# discovery-sendtargets-continuation case): "$IQN-many-NN-$MANY_SUFFIX",
# NN = 01..MANY_COUNT, ~200-byte names.  The client builds the same names
# from these two variables.
MANY_COUNT=40
MANY_SUFFIX=$(printf '%0162d' 0 | tr 0 x)
export HOSTILE_MANY_COUNT=$MANY_COUNT HOSTILE_MANY_SUFFIX=$MANY_SUFFIX

# start: one daemon; a 64 MiB disk keeps the data file small.
start() {
	daemon_start "$LIB_TMP/scst.conf"
}

# run_case NAME: PASS/FAIL hostile:NAME.
run_case() {
	local name=$1 out rc=0
	out=$(timeout "$CASE_TIMEOUT" "$CLIENT" 127.0.0.1 "$DAEMON_PORT" "$IQN" "$name" 2>&1) || rc=$?
	if ! daemon_alive; then
		fail "hostile:$name" "uscstd died; client said: ${out:-nothing}"
		tail -n 20 "$DAEMON_LOG" | sed 's/^/  | /'
		wait "$DAEMON_PID" 2>/dev/null || true
		DAEMON_PID=""
		# Keep the crashed daemon's log apart and carry on with a new one.
		cp "$DAEMON_LOG" "$LIB_TMP/uscstd-crash-$name.log"
		start || fail "hostile:restart" "uscstd did not start again"
		return
	fi
	if ((rc == 124)); then
		fail "hostile:$name" "client timed out after ${CASE_TIMEOUT}s (daemon hung?)"
	elif ((rc == 0)); then
		pass "hostile:$name"
	else
		fail "hostile:$name" "${out#error: }"
	fi
}

main() {
	local name crashed i
	lib_init "${1:-}"
	CLIENT=$USCST_BUILD/tests/hostile_client
	if [[ ! -x $CLIENT ]]; then
		make --no-print-directory -C "$USCST_ROOT" BUILD="$USCST_BUILD" \
			"$USCST_BUILD/tests/hostile_client" >/dev/null
	fi
	write_config "$LIB_TMP/scst.conf" "$IQN" "$LIB_TMP/disk0.img" $((64 << 20))
	# A second target with short keep-alive timers for the nop-in-keepalive case.
	cat >>"$LIB_TMP/scst.conf" <<-CONF
		TARGET_DRIVER iscsi {
		    TARGET $IQN-keepalive {
		        NopInInterval 1
		        NopInTimeout 2
		        LUN 0 disk0
		    }
		    TARGET $IQN-max2 {
		        MaxSessions 2
		        LUN 0 disk0
		    }
		}
	CONF
	# The same device may be mapped by many targets.
	{
		echo "TARGET_DRIVER iscsi {"
		for ((i = 1; i <= MANY_COUNT; i++)); do
			printf '    TARGET %s-many-%02d-%s {\n' "$IQN" "$i" "$MANY_SUFFIX"
			echo "        LUN 0 disk0"
			echo "    }"
		done
		echo "}"
	} >>"$LIB_TMP/scst.conf"
	if ! start; then
		fail hostile:start
		lib_finish
		return
	fi
	# HOSTILE_ONLY=REGEX runs only the cases whose names match.
	while read -r name; do
		[[ -z ${HOSTILE_ONLY:-} || $name =~ $HOSTILE_ONLY ]] || continue
		run_case "$name"
	done < <("$CLIENT" --list)
	# Sanitizer reports of daemons that crashed and were replaced.
	for crashed in "$LIB_TMP"/uscstd-crash-*.log; do
		[[ -e $crashed ]] || continue
		if sanitizer_report "$crashed" >/dev/null; then
			fail "hostile:sanitizer" "report in ${crashed##*/}"
			sanitizer_report "$crashed" | head -n 20 | sed 's/^/  | /'
		fi
	done
	lib_finish
}

main "$@"
