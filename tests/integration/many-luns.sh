#!/usr/bin/env bash
# many-luns: one target whose default map holds all 16384 LUNs of SAM flat
# space addressing (0..16383, nullio devices).  REPORT LUNS lists every one,
# in order, each in single level encoding (peripheral below 256, flat
# above); the last LUN answers a READ.  Prints the daemon's start-up time
# (exec to listening) and its resident set size after a login.
# Usage: tests/integration/many-luns.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IQN=$USCST_IQN_PREFIX:many-luns
NLUNS=${NLUNS:-16384}
INI=iqn.2026-12.org.example:many

write_many_config() {
	{
		echo "HANDLER vdisk_nullio {"
		for ((i = 0; i < NLUNS; i++)); do
			printf '\tDEVICE n%d {\n\t\tsize_mb 1\n\t\tpr_file_name ""\n\t}\n' "$i"
		done
		echo "}"
		echo "TARGET_DRIVER iscsi {"
		echo "	enabled 1"
		echo "	TARGET $IQN {"
		echo "		enabled 1"
		for ((i = 0; i < NLUNS; i++)); do
			printf '\t\tLUN %d n%d\n' "$i" "$i"
		done
		echo "	}"
		echo "}"
	} >"$LIB_TMP/scst.conf"
}

check_all_listed() {
	local out count want
	out=$("$CLIENT" "iscsi://127.0.0.1:$DAEMON_PORT/$IQN/0" "$INI" luns)
	count=$(grep -c '^LUN ' <<<"$out")
	echo "REPORT LUNS: $count entries; $(grep '^COUNT' <<<"$out")"
	# Every number once, in order.
	want=$(seq 0 $((NLUNS - 1)))
	[[ $count == "$NLUNS" ]] && [[ $(grep '^LUN ' <<<"$out" | awk '{print $2}') == "$want" ]]
}

check_last_lun() {
	local out
	out=$("$CLIENT" "iscsi://127.0.0.1:$DAEMON_PORT/$IQN/0" "$INI" inq $((NLUNS - 1)))
	echo "INQUIRY LUN $((NLUNS - 1)): $out"
	[[ $out == "PQ 0 TYPE 00" ]]
}

main() {
	lib_init "${1:-}"
	CLIENT=$USCST_BUILD/tests/acl_client
	if [[ ! -x $CLIENT ]]; then
		if [[ -e /usr/include/iscsi/iscsi.h ]]; then
			fail many-luns:client "$CLIENT not built (make all)"
		else
			echo "SKIP many-luns (libiscsi-dev not installed)"
		fi
		lib_finish
		return
	fi
	write_many_config
	local t0 t1
	t0=$(date +%s%N)
	if ! DAEMON_WAIT=${DAEMON_WAIT:-120} daemon_start "$LIB_TMP/scst.conf"; then
		fail many-luns:start
		lib_finish
		return
	fi
	t1=$(date +%s%N)
	echo "many-luns: $NLUNS LUNs: start-up $(((t1 - t0) / 1000000)) ms," \
		"RSS $(awk '/^VmRSS/ {print $2, $3}' "/proc/$DAEMON_PID/status")"
	check many-luns:report-luns-all check_all_listed
	check many-luns:last-lun check_last_lun
	echo "many-luns: RSS after a login: $(awk '/^VmRSS/ {print $2, $3}' "/proc/$DAEMON_PID/status")"
	lib_finish
}

main "$@"
