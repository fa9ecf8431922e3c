#!/usr/bin/env bash
# xcopy-reservation: EXTENDED COPY sent through LUN 0 honours the
# reservations of every device it reads or writes, persistent (Write
# Exclusive, Exclusive Access) and SPC-2 RESERVE(6) alike, as if each
# segment were a READ of the source and a WRITE of the destination from the
# copying I_T nexus (xcopy_resv_client, built when libiscsi-dev is
# installed).
# Usage: tests/integration/xcopy-reservation.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IQN=iqn.2026-11.org.uscst:xcopyresv

write_xcopy_config() {
	truncate -s $((16 * 1024 * 1024)) "$LIB_TMP/disk0.img" "$LIB_TMP/disk1.img"
	cat >"$LIB_TMP/scst.conf" <<-CONF
		HANDLER vdisk_fileio {
		    DEVICE disk0 {
		        filename $LIB_TMP/disk0.img
		        pr_file_name ""
		    }
		    DEVICE disk1 {
		        filename $LIB_TMP/disk1.img
		        pr_file_name ""
		    }
		}

		TARGET_DRIVER iscsi {
		    enabled 1
		    TARGET $IQN {
		        enabled 1
		        LUN 0 disk0
		        LUN 1 disk1
		    }
		}
	CONF
}

main() {
	lib_init "${1:-}"
	CLIENT=$USCST_BUILD/tests/xcopy_resv_client
	if [[ ! -x $CLIENT ]]; then
		if [[ -e /usr/include/iscsi/iscsi.h ]]; then
			fail xcopy-reservation:client "$CLIENT not built (make all)"
		else
			echo "SKIP xcopy-reservation (libiscsi-dev not installed)"
		fi
		lib_finish
		return
	fi
	write_xcopy_config
	if ! daemon_start "$LIB_TMP/scst.conf"; then
		fail xcopy-reservation:start
		lib_finish
		return
	fi
	local out rc=0
	out=$(timeout 60 "$CLIENT" "iscsi://127.0.0.1:$DAEMON_PORT/$IQN" 2>&1) || rc=$?
	# One PASS/FAIL per step of the client.
	while read -r verdict name rest; do
		case $verdict in
		PASS) pass "xcopy-reservation:${name%:}" ;;
		FAIL) fail "xcopy-reservation:${name%:}" "$rest" ;;
		esac
	done <<<"$out"
	if ((rc != 0 && rc != 1)) || ! grep -q '^xcopy_resv_client: ' <<<"$out"; then
		fail xcopy-reservation:client-run "exit $rc"
		printf '%s\n' "$out" | tail -n 20 | sed 's/^/  | /'
	fi
	lib_finish
}

main "$@"
