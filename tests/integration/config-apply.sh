#!/usr/bin/env bash
# config-apply: declarative configuration through uscstadmin.
#   round-trip   config write, then config apply of what was written: "no changes"
#   session      an apply that adds a device and 3 LUNs and removes a LUN, while a
#                libiscsi client (live_io_client) does verified I/O on LUN 0: its
#                session sees REPORTED LUNS DATA HAS CHANGED (3Fh/0Eh) and stays up;
#                a session in another group and one of another target see nothing
#   dry-run      lists the changes, makes none
#   bad-file     refused with FILE:LINE, nothing changes
#   fixed-attribute  blocksize of a running device: refused, named, nothing changes
#   rollback     a device that cannot be opened, after a LUN removal and a device
#                addition that worked: both undone, the configuration as before
#   chap         a CHAP secret changed by an apply: the new one logs in, the old not
#   sighup       the start-up file, edited, is applied on SIGHUP
#   1000-luns    one apply adding 1,000 LUNs of one device, timed (and one removing
#                them); one adding 1,000 devices with a LUN each (a file over the
#                64 KiB of an ordinary request), timed
# Usage: tests/integration/config-apply.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

T1=iqn.2026-12.org.uscst:apply1
T2=iqn.2026-12.org.uscst:apply2
T3=iqn.2026-12.org.uscst:apply3
INI_B=iqn.2026-12.org.uscst:live-b
CUSER=applyuser

adm() { "$USCSTADMIN" -s "$DAEMON_SOCK" "$@"; }

# conf FILE [T1_LUNS] [FILEIO_DEVICES] [NULLIO_DEVICES]: the test's
# configuration; T1's default map is LUN 0 disk0 and T1_LUNS (default:
# LUN 4 null4).  T2 does not say `enabled` (enabled, as at start-up: no
# apply may disable it).
conf() {
	local file=$1 luns=${2:-LUN 4 null4} devices=${3:-} nulls=${4:-}
	cat >"$file" <<-CONF
		HANDLER vdisk_fileio {
		    DEVICE disk0 {
		        filename $LIB_TMP/disk0.img
		    }
		    $devices
		}
		HANDLER vdisk_nullio {
		    DEVICE null2 {
		        size_mb 16
		    }
		    DEVICE null4 {
		        size_mb 16
		    }
		    $nulls
		}
		TARGET_DRIVER iscsi {
		    enabled 1
		    TARGET $T1 {
		        enabled 1
		        LUN 0 disk0
		        $luns
		        GROUP gb {
		            LUN 0 disk0
		            INITIATOR $INI_B
		        }
		    }
		    TARGET $T2 {
		        LUN 0 null2
		    }
		    TARGET $T3 {
		        IncomingUser "$CUSER ${CSECRET:-chapsecret001}"
		        LUN 0 null2
		    }
		}
	CONF
}

# disk2, as a DEVICE block (after lib_init: it names $LIB_TMP).
disk2() {
	printf 'DEVICE disk2 {\n            filename %s\n        }' "$LIB_TMP/disk2.img"
}

# The running configuration, for before/after comparisons.
running() { adm show config; }

round_trip() {
	adm -j config write "$LIB_TMP/written.conf" | jq -e ".file == \"$LIB_TMP/written.conf\"" || return 1
	# 0600 (it may hold CHAP secrets), and no temporary file left.
	[[ $(stat -c %a "$LIB_TMP/written.conf") == 600 ]] || return 1
	[[ -z $(find "$LIB_TMP" -maxdepth 1 -name '.*.tmp') ]] || return 1
	local out
	out=$(adm config apply "$LIB_TMP/written.conf") || return 1
	echo "$out"
	[[ $out == "no changes" ]]
}

session_apply() {
	local a rc=0
	printf -v a '%q -s %q' "$USCSTADMIN" "$DAEMON_SOCK"
	conf "$LIB_TMP/grown.conf" "LUN 1 disk2
        LUN 2 disk2
        LUN 3 disk2" "$(disk2)"
	timeout 120 "$CLIENT" "iscsi://127.0.0.1:$DAEMON_PORT/$T1/0" \
		"iscsi://127.0.0.1:$DAEMON_PORT/$T1/0" "iscsi://127.0.0.1:$DAEMON_PORT/$T2/0" \
		"$INI_B" "apply|up|$a config apply $LIB_TMP/grown.conf >$LIB_TMP/apply.out" \
		>"$LIB_TMP/client.out" 2>"$LIB_TMP/client.err" || rc=$?
	cat "$LIB_TMP/client.out" "$LIB_TMP/client.err" "$LIB_TMP/apply.out"
	((rc == 0)) || return 1
	grep -Eq '^STEP apply rc=0 ios=[1-9][0-9]* A=3f0e B=- C=up$' "$LIB_TMP/client.out" ||
		return 1
	diff - "$LIB_TMP/apply.out" <<-OUT
		remove lun 4 (null4) from target $T1
		add device disk2 (vdisk_fileio, filename=$LIB_TMP/disk2.img)
		add lun 1 disk2 to target $T1
		add lun 2 disk2 to target $T1
		add lun 3 disk2 to target $T1
	OUT
	# Applied again: nothing left to do.
	[[ $(adm config apply "$LIB_TMP/grown.conf") == "no changes" ]]
}

dry_run() {
	local before out
	before=$(running)
	conf "$LIB_TMP/base.conf"
	out=$(adm config apply "$LIB_TMP/base.conf" --dry-run) || return 1
	echo "$out"
	grep -qx "add lun 4 null4 to target $T1" <<<"$out" &&
		grep -qx "remove device disk2" <<<"$out" &&
		grep -q "^(dry run: 5 changes, none made)$" <<<"$out" &&
		[[ $(running) == "$before" ]]
}

bad_file() {
	local before err
	before=$(running)
	conf "$LIB_TMP/bad.conf" "LUN 4 null4
        LUN 9 nosuchdevice"
	if err=$(adm config apply "$LIB_TMP/bad.conf" 2>&1); then
		return 1
	fi
	echo "$err"
	local line
	line=$(grep -n "LUN 9 nosuchdevice" "$LIB_TMP/bad.conf" | cut -d: -f1)
	[[ $err == "error: $LIB_TMP/bad.conf:$line: "*nosuchdevice* ]] && [[ $(running) == "$before" ]]
}

# An attribute that cannot change while the device runs: refused, named,
# nothing applied (the LUN removal in the same file included).
fixed_attribute() {
	local before err
	before=$(running)
	conf "$LIB_TMP/fixed.conf" "LUN 1 disk2" "$(disk2)"
	sed -i "s|^\( *\)filename $LIB_TMP/disk0.img|&\n\1blocksize 4096|" "$LIB_TMP/fixed.conf"
	if err=$(adm config apply "$LIB_TMP/fixed.conf" 2>&1); then
		return 1
	fi
	echo "$err"
	[[ $err == "error: $LIB_TMP/fixed.conf:"*"device disk0: attribute blocksize cannot change while the device runs"* ]] &&
		[[ $(running) == "$before" ]]
}

rollback() {
	local before err
	before=$(running)
	truncate -s 16M "$LIB_TMP/disk5.img"
	conf "$LIB_TMP/fail.conf" "LUN 1 disk2
        LUN 2 disk2" "$(disk2)
        DEVICE disk5 {
            filename $LIB_TMP/disk5.img
        }
        DEVICE broken {
            filename $LIB_TMP/no/such/file.img
        }"
	if err=$(adm config apply "$LIB_TMP/fail.conf" 2>&1); then
		return 1
	fi
	echo "$err"
	[[ $err == "error: $LIB_TMP/fail.conf:"*"add device broken"*"nothing changed (2 changes made before it undone)" ]] &&
		[[ $(running) == "$before" ]] &&
		grep -q "config apply: undone: add lun 3 disk2 to target $T1" "$DAEMON_LOG" &&
		grep -q "config apply: undone: remove device disk5" "$DAEMON_LOG"
}

# T3's CHAP secret changed by an apply: the new one logs in, the old no more.
chap() {
	local out
	CSECRET=chapsecret002 conf "$LIB_TMP/chap.conf" "LUN 1 disk2
        LUN 2 disk2
        LUN 3 disk2" "$(disk2)"
	out=$(adm config apply "$LIB_TMP/chap.conf") || return 1
	echo "$out"
	[[ $out == "change secret of IncomingUser user $CUSER of target $T3" ]] &&
		timeout 20 iscsi-inq "iscsi://$CUSER%chapsecret002@127.0.0.1:$DAEMON_PORT/$T3/0" >/dev/null &&
		! timeout 20 iscsi-inq "iscsi://$CUSER%chapsecret001@127.0.0.1:$DAEMON_PORT/$T3/0" >/dev/null 2>&1 &&
		[[ $(adm config apply "$LIB_TMP/grown.conf") == "change secret of IncomingUser user $CUSER of target $T3" ]]
}

sighup() {
	# The daemon was started with $LIB_TMP/scst.conf: edit it, then HUP.
	conf "$LIB_TMP/scst.conf" "LUN 1 disk2
        LUN 7 disk2" "$(disk2)"
	kill -HUP "$DAEMON_PID"
	local i
	for ((i = 0; i < 50; i++)); do
		grep -q "reload: $LIB_TMP/scst.conf: 3 changes applied" "$DAEMON_LOG" && break
		sleep 0.1
	done
	grep "reload" "$DAEMON_LOG"
	grep -q "reload: remove lun 2 (disk2) from target $T1" "$DAEMON_LOG" &&
		grep -q "reload: remove lun 3 (disk2) from target $T1" "$DAEMON_LOG" &&
		grep -q "reload: add lun 7 disk2 to target $T1" "$DAEMON_LOG" &&
		adm -j list luns | jq -e "[.[] | select(.target == \"$T1\" and .group == null) | .lun] == [0, 1, 7]" >/dev/null &&
		daemon_alive
}

many_luns() {
	local luns="" i start mid end
	for ((i = 100; i < 1100; i++)); do
		luns+="LUN $i many"$'\n'
	done
	adm config write "$LIB_TMP/before-many.conf" || return 1
	conf "$LIB_TMP/many.conf" "LUN 1 disk2
        LUN 7 disk2
        $luns" "$(disk2)
        DEVICE many {
            filename $LIB_TMP/disk5.img
        }"
	start=$(date +%s%N)
	adm config apply "$LIB_TMP/many.conf" >"$LIB_TMP/many.out" || return 1
	mid=$(date +%s%N)
	adm config apply "$LIB_TMP/before-many.conf" >"$LIB_TMP/unmany.out" || return 1
	end=$(date +%s%N)
	echo "apply adding 1000 LUNs ($(wc -l <"$LIB_TMP/many.out") changes, $(stat -c %s "$LIB_TMP/many.conf") bytes): $(((mid - start) / 1000000)) ms"
	echo "apply removing them again ($(wc -l <"$LIB_TMP/unmany.out") changes): $(((end - mid) / 1000000)) ms"
	[[ $(wc -l <"$LIB_TMP/many.out") == 1001 && $(wc -l <"$LIB_TMP/unmany.out") == 1001 ]] ||
		return 1
	# 1,000 devices, each with its LUN: a file over the 64 KiB of an
	# ordinary request (its text goes as the request's input).
	local devices="" dev
	luns=""
	for ((i = 100; i < 1100; i++)); do
		printf -v dev '        DEVICE n%d {\n            size_mb 1\n            read_only 0\n            write_through 0\n        }\n' "$i"
		devices+=$dev
		luns+="LUN $i n$i"$'\n'
	done
	conf "$LIB_TMP/many-devices.conf" "LUN 1 disk2
        LUN 7 disk2
        $luns" "$(disk2)" "$devices"
	[[ $(stat -c %s "$LIB_TMP/many-devices.conf") -gt 65536 ]] || return 1
	start=$(date +%s%N)
	adm config apply "$LIB_TMP/many-devices.conf" >"$LIB_TMP/many-devices.out" || return 1
	mid=$(date +%s%N)
	adm config apply "$LIB_TMP/before-many.conf" >/dev/null || return 1
	end=$(date +%s%N)
	echo "apply adding 1000 devices and 1000 LUNs ($(wc -l <"$LIB_TMP/many-devices.out") changes, $(stat -c %s "$LIB_TMP/many-devices.conf") bytes): $(((mid - start) / 1000000)) ms"
	echo "apply removing them again: $(((end - mid) / 1000000)) ms"
	[[ $(wc -l <"$LIB_TMP/many-devices.out") == 2000 ]] &&
		[[ $(adm config apply "$LIB_TMP/before-many.conf") == "no changes" ]]
}

main() {
	lib_init "${1:-}"
	CLIENT=$USCST_BUILD/tests/live_io_client
	if [[ ! -x $CLIENT ]]; then
		if [[ -e /usr/include/iscsi/iscsi.h ]]; then
			fail config-apply:client "$CLIENT not built (make all)"
		else
			echo "SKIP config-apply (libiscsi-dev not installed)"
		fi
		lib_finish
		return
	fi
	truncate -s 64M "$LIB_TMP/disk0.img"
	truncate -s 16M "$LIB_TMP/disk2.img"
	conf "$LIB_TMP/scst.conf"
	if ! daemon_start "$LIB_TMP/scst.conf"; then
		fail config-apply:start
		lib_finish
		return
	fi
	check config-apply:round-trip round_trip
	check config-apply:session session_apply
	check config-apply:dry-run dry_run
	check config-apply:bad-file bad_file
	check config-apply:fixed-attribute fixed_attribute
	check config-apply:rollback rollback
	check config-apply:chap chap
	check config-apply:sighup sighup
	check config-apply:1000-luns many_luns
	cat "$LIB_TMP"/check-config-apply:1000-luns.log
	lib_finish
}

main "$@"
