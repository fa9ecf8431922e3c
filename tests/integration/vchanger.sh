#!/usr/bin/env bash
# vchanger: a virtual tape library, one changer (SMC) with two vtape drives
# over a directory of three tape images.  A bad library directory stops the
# start with FILE:LINE, the path and the reason.  Through iSCSI
# (changer_client, built when libiscsi-dev is there): INQUIRY type 08h;
# READ ELEMENT STATUS gives the barcodes in slot order; a tape moves from a
# slot to a drive and back and its barcode follows; a MOVE to a full slot
# gets 05/3B/0D, from an empty one 05/3B/0E, to no element 05/21/01; the
# drive reads what the tape holds (written through the drive, another tape
# moved in and out between); the places survive a restart; a move while
# the same session's write runs on the drive neither hangs nor loses it;
# a drive whose initiator prevents removal keeps its tape (05/53/02).
# Usage: tests/integration/vchanger.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IQN=iqn.2026-11.org.uscst:vtl
SLOT1=1024 # element addresses (README, vchanger)
DRIVE1=256

url() { echo "iscsi://127.0.0.1:$DAEMON_PORT/$IQN/$1"; }

# changer_config FILE LIBRARY_DIR
changer_config() {
	cat >"$1" <<-CONF
		HANDLER vchanger {
		    DEVICE lib0 {
		        library_dir $2
		        drives tape0,tape1
		        slots 5
		        ie_slots 1
		    }
		}

		HANDLER vtape {
		    DEVICE tape0 {
		        filename none
		    }
		    DEVICE tape1 {
		        filename none
		    }
		}

		TARGET_DRIVER iscsi {
		    enabled 1
		    TARGET $IQN {
		        enabled 1
		        LUN 0 lib0
		        LUN 1 tape0
		        LUN 2 tape1
		    }
		}
	CONF
}

# bad_config FILE LIBRARY_DIR: a changer alone (its library is checked
# before its drives, so no vtape device is needed to see the error).
bad_config() {
	cat >"$1" <<-CONF
		HANDLER vchanger {
		    DEVICE lib0 {
		        library_dir $2
		        drives tape0
		    }
		}
	CONF
}

# start_fails CONF WORD...: uscstd exits non-zero at once, naming the
# config file with a line number and every WORD.
start_fails() {
	local conf=$1 out rc=0 port word
	shift
	port=$(free_port "${PORT_BASE:-13260}")
	out=$(timeout 10 "$USCSTD" -f -c "$conf" --listen "127.0.0.1:$port" \
		--ctl-socket "$LIB_TMP/bad.sock" --pr-dir "$LIB_TMP/pr" 2>&1 </dev/null) || rc=$?
	echo "exit $rc: $out"
	((rc != 0 && rc != 124)) || return 1
	grep -Eq "${conf##*/}:[0-9]+:" <<<"$out" || return 1
	for word in "$@"; do
		grep -qF -- "$word" <<<"$out" || {
			echo "message lacks '$word'"
			return 1
		}
	done
}

check_missing_dir() {
	bad_config "$LIB_TMP/missing.conf" "$LIB_TMP/nosuch"
	start_fails "$LIB_TMP/missing.conf" "$LIB_TMP/nosuch" "No such file or directory"
}

check_bad_barcode() {
	local dir=$LIB_TMP/badlib
	mkdir -p "$dir"
	: >"$dir/ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456.tape" # 33 characters
	bad_config "$LIB_TMP/badlib.conf" "$dir"
	start_fails "$LIB_TMP/badlib.conf" "$dir" "1 to 32 characters"
}

# Blank tapes in the vtape format: made by vtape itself (a missing image
# is created blank).  False if there is no vtape handler.
make_tapes() {
	local dir=$1 conf=$LIB_TMP/make.conf
	mkdir -p "$dir"
	cat >"$conf" <<-CONF
		HANDLER vtape {
		    DEVICE mk1 {
		        filename $dir/TAPE01.tape
		    }
		    DEVICE mk2 {
		        filename $dir/TAPE02.tape
		    }
		    DEVICE mk3 {
		        filename $dir/TAPE03.tape
		    }
		}
	CONF
	daemon_start "$conf" || return 1
	daemon_stop
}

status() { "$CLIENT" "$(url 0)" status; }

check_inquiry() {
	[[ $("$CLIENT" "$(url 0)" inquiry) == 08 ]]
}

check_initial_status() {
	local out
	out=$(status) || return 1
	echo "$out"
	grep -qx "1 1 - -" <<<"$out" &&
		grep -qx "16 3 - -" <<<"$out" &&
		grep -qx "256 4 - -" <<<"$out" &&
		grep -qx "257 4 - -" <<<"$out" &&
		grep -qx "1024 2 TAPE01 -" <<<"$out" &&
		grep -qx "1025 2 TAPE02 -" <<<"$out" &&
		grep -qx "1026 2 TAPE03 -" <<<"$out" &&
		grep -qx "1027 2 - -" <<<"$out"
}

move() { "$CLIENT" "$(url 0)" move "$1" "$2"; }

check_move_to_drive() {
	local out
	[[ $(move $SLOT1 $DRIVE1) == GOOD ]] || return 1
	out=$(status) || return 1
	echo "$out"
	grep -qx "256 4 TAPE01 1024" <<<"$out" && grep -qx "1024 2 - -" <<<"$out"
}

check_refusals() {
	local got
	got=$(move $DRIVE1 1025)
	echo "to a full slot: $got"
	[[ $got == 05/3b/0d ]] || return 1
	got=$(move 1027 1028)
	echo "from an empty slot: $got"
	[[ $got == 05/3b/0e ]] || return 1
	got=$(move $DRIVE1 9999)
	echo "to no element: $got"
	[[ $got == 05/21/01 ]] || return 1
	status | grep -qx "256 4 TAPE01 1024"
}

check_move_back() {
	local out
	[[ $(move $DRIVE1 $SLOT1) == GOOD ]] || return 1
	out=$(status) || return 1
	echo "$out"
	grep -qx "256 4 - -" <<<"$out" && grep -qx "1024 2 TAPE01 256" <<<"$out"
}

# Write through the drive, take the tape out, put another in (blank: BLANK
# CHECK, END-OF-DATA DETECTED at once), put the first back: the drive
# reads what it holds.
check_drive_reads_tape() {
	head -c 65536 /dev/urandom >"$LIB_TMP/record"
	[[ $(move $SLOT1 $DRIVE1) == GOOD ]] || return 1
	"$CLIENT" "$(url 1)" write "$LIB_TMP/record" || return 1
	[[ $(move $DRIVE1 $SLOT1) == GOOD ]] || return 1
	[[ $(move 1025 $DRIVE1) == GOOD ]] || return 1
	if "$CLIENT" "$(url 1)" read 65536 >"$LIB_TMP/blank" 2>"$LIB_TMP/blank.err"; then
		echo "TAPE02 returned a record"
		return 1
	fi
	cat "$LIB_TMP/blank.err"
	grep -q "READ(6): 08/00/05" "$LIB_TMP/blank.err" || return 1
	[[ $(move $DRIVE1 1025) == GOOD ]] || return 1
	[[ $(move $SLOT1 $DRIVE1) == GOOD ]] || return 1
	"$CLIENT" "$(url 1)" read 65536 >"$LIB_TMP/back" || return 1
	cmp "$LIB_TMP/record" "$LIB_TMP/back"
}

# The places (and the tape in the drive) survive a restart.
check_restart() {
	local before after
	before=$(status) || return 1
	daemon_stop || return 1
	daemon_start "$LIB_TMP/vtl.conf" || return 1
	after=$(status) || return 1
	echo "$after"
	[[ $before == "$after" ]] || return 1
	grep -qx "256 4 TAPE01 1024" <<<"$after" || return 1
	"$CLIENT" "$(url 1)" read 65536 >"$LIB_TMP/back2" || return 1
	cmp "$LIB_TMP/record" "$LIB_TMP/back2"
}

# An initiator of the drive prevents medium removal: the changer keeps the
# tape in it (05/53/02) until that initiator allows removal.
# (TAPE01 is in the drive since check_restart; it goes back there.)
check_prevented_drive() {
	local out
	out=$("$CLIENT" "$(url 0)" prevent-move 1 $DRIVE1 $SLOT1) || return 1
	echo "$out"
	[[ $out == $'05/53/02\nGOOD' ]] || return 1
	[[ $(move $SLOT1 $DRIVE1) == GOOD ]]
}

# One session writes 32 KiB to the drive (immediate data: it runs at once)
# and, right behind it, moves the drive's tape out: the move waits for the
# write (or, if it came first, the write answers NOT READY), nothing hangs.
check_move_while_drive_busy() {
	local out
	out=$(timeout 30 "$CLIENT" "$(url 0)" race 1 $DRIVE1 $SLOT1 32768) || return 1
	echo "$out"
	[[ $out == "WRITE GOOD MOVE GOOD" || $out == "WRITE 02/3a/00 MOVE GOOD" ]] || return 1
	status | grep -qx "1024 2 TAPE01 256"
}

main() {
	lib_init "${1:-}"
	check vchanger:missing-dir check_missing_dir
	check vchanger:bad-barcode check_bad_barcode
	CLIENT=$USCST_BUILD/tests/changer_client
	if [[ ! -x $CLIENT ]]; then
		echo "SKIP vchanger:iscsi (no libiscsi-dev: $CLIENT not built)"
		lib_finish
		return
	fi
	if ! make_tapes "$LIB_TMP/library" 2>"$LIB_TMP/make.err"; then
		if grep -q "unknown handler 'vtape'" "$LIB_TMP/make.err"; then
			echo "SKIP vchanger:iscsi (no vtape handler in this build)"
		else
			cat "$LIB_TMP/make.err"
			fail vchanger:make-tapes
		fi
		lib_finish
		return
	fi
	changer_config "$LIB_TMP/vtl.conf" "$LIB_TMP/library"
	if ! daemon_start "$LIB_TMP/vtl.conf"; then
		fail vchanger:start
		lib_finish
		return
	fi
	check vchanger:inquiry check_inquiry
	check vchanger:initial-status check_initial_status
	check vchanger:move-to-drive check_move_to_drive
	check vchanger:refusals check_refusals
	check vchanger:move-back check_move_back
	check vchanger:drive-reads-tape check_drive_reads_tape
	check vchanger:restart check_restart
	check vchanger:prevented-drive check_prevented_drive
	check vchanger:move-while-drive-busy check_move_while_drive_busy
	lib_finish
}

main "$@"
