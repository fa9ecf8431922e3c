#!/usr/bin/env bash
# resync_size: a 64 MiB file LUN is grown to 128 MiB behind the daemon's
# back; `uscstadmin device disk0 resync_size` makes READ CAPACITY(16) report
# the new size, and a session that stays logged in across the resync gets
# CAPACITY DATA HAS CHANGED (2Ah/09h) once (resync_ua_client, built when
# libiscsi-dev is installed).  A nullio device is refused: its size is
# configured, not measured.
# Usage: tests/integration/resync-size.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IQN=iqn.2026-11.org.uscst:resync
MIB=$((1024 * 1024))

write_resync_config() {
	local img=$1
	truncate -s $((64 * MIB)) "$img"
	cat >"$LIB_TMP/scst.conf" <<-CONF
		HANDLER vdisk_fileio {
		    DEVICE disk0 {
		        filename $img
		    }
		}

		HANDLER vdisk_nullio {
		    DEVICE null0 {
		        size_mb 16
		    }
		}

		TARGET_DRIVER iscsi {
		    enabled 1
		    TARGET $IQN {
		        enabled 1
		        LUN 0 disk0
		        LUN 1 null0
		    }
		}
	CONF
}

# check_capacity BYTES: iscsi-readcapacity16 on LUN 0 prints "Total size:N".
check_capacity() {
	local out
	out=$(timeout 20 iscsi-readcapacity16 "iscsi://127.0.0.1:$DAEMON_PORT/$IQN/0")
	echo "$out"
	grep -qx "Total size:$1" <<<"$out"
}

# admin_resync NAME EXPECTED_REPLY
admin_resync() {
	local out
	out=$(timeout 20 "$USCSTADMIN" -s "$DAEMON_SOCK" device "$1" resync_size)
	echo "$out"
	[[ $out == "$2" ]]
}

grow_and_resync() {
	truncate -s $((128 * MIB)) "$LIB_TMP/disk0.img" &&
		admin_resync disk0 "ok: disk0: 131072 -> 262144 blocks"
}

# An error answer goes to stderr with exit status 1.
check_refused() {
	local out rc=0
	out=$(timeout 20 "$USCSTADMIN" -s "$DAEMON_SOCK" device "$1" resync_size 2>&1) || rc=$?
	echo "$out (exit $rc)"
	((rc == 1)) && grep -q "^error: .*$2" <<<"$out"
}

# The session outlives the resync and gets the UA on its next command.
check_ua_live_session() {
	local cmd
	printf -v cmd 'truncate -s %d %q && %q -s %q device disk0 resync_size' \
		$((192 * MIB)) "$LIB_TMP/disk0.img" "$USCSTADMIN" "$DAEMON_SOCK"
	timeout 60 "$UA_CLIENT" "iscsi://127.0.0.1:$DAEMON_PORT/$IQN/0" $((192 * MIB / 512)) "$cmd"
}

main() {
	lib_init "${1:-}"
	UA_CLIENT=$USCST_BUILD/tests/resync_ua_client
	write_resync_config "$LIB_TMP/disk0.img"
	if ! daemon_start "$LIB_TMP/scst.conf"; then
		fail resync-size:start
		lib_finish
		return
	fi
	check resync-size:capacity-64m check_capacity $((64 * MIB))
	check resync-size:unchanged admin_resync disk0 "ok: disk0: 131072 -> 131072 blocks"
	check resync-size:grow-resync grow_and_resync
	check resync-size:capacity-128m check_capacity $((128 * MIB))
	check resync-size:nullio-refused check_refused null0 "size is configured"
	check resync-size:unknown-device check_refused nosuchdev "no device 'nosuchdev'"
	if [[ -x $UA_CLIENT ]]; then
		check resync-size:ua-live-session check_ua_live_session
	elif [[ -e /usr/include/iscsi/iscsi.h ]]; then
		fail resync-size:ua-live-session "$UA_CLIENT not built (make all)"
	else
		echo "SKIP resync-size:ua-live-session (libiscsi-dev not installed)"
	fi
	lib_finish
}

main "$@"
