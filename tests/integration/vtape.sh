#!/usr/bin/env bash
# vtape: tape drives (SSC) on tape images (docs/tape-image.md), through
# tape_client (libiscsi, built when libiscsi-dev is there):
#   three files of variable-size records with filemarks written, read back
#   byte for byte after a rewind, BLANK CHECK at end of data; SPACE over
#   filemarks and blocks both ways, LOCATE(10/16), READ POSITION;
#   fixed-block mode; early warning then VOLUME OVERFLOW on a 1 MiB tape;
#   UNLOAD/LOAD; an empty drive (filename none); a write-protected drive;
#   RESERVE(6) by one initiator, RESERVATION CONFLICT for another;
#   uscstd killed with SIGKILL right after an acknowledged WRITE FILEMARKS,
#   restarted on the same images: everything reads back;
#   a malformed image stops the start with "PATH: reason";
#   a tape loaded into the empty drive at run time (uscstadmin device NAME
#   set filename IMAGE|none, what a changer does) reads back.
# Usage: tests/integration/vtape.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IQN=$USCST_IQN_PREFIX:vtape

url() { echo "iscsi://127.0.0.1:$DAEMON_PORT/$IQN/$1"; }

# write_tape_config FILE [RO_IMAGE]: tape0 (64 MiB), tape1 (for fixed
# blocks), small (1 MiB), empty; with RO_IMAGE also a read-only drive.
write_tape_config() {
	local ro_dev="" ro_lun=""
	if [[ -n ${2:-} ]]; then
		ro_dev=$(printf 'DEVICE ro {\n        filename %s\n        read_only 1\n    }' "$2")
		ro_lun="LUN 4 ro"
	fi
	cat >"$1" <<-CONF
		HANDLER vtape {
		    DEVICE tape0 {
		        filename $LIB_TMP/tape0.img
		        size_mb 64
		    }
		    DEVICE tape1 {
		        filename $LIB_TMP/tape1.img
		        size_mb 16
		    }
		    DEVICE small {
		        filename $LIB_TMP/small.img
		        size_mb 1
		    }
		    DEVICE empty {
		        filename none
		    }
		    $ro_dev
		}

		TARGET_DRIVER iscsi {
		    enabled 1
		    TARGET $IQN {
		        enabled 1
		        LUN 0 tape0
		        LUN 1 tape1
		        LUN 2 small
		        LUN 3 empty
		        $ro_lun
		    }
		}
	CONF
}

check_inquiry() {
	local out
	out=$(timeout 20 iscsi-inq "$(url 0)") || return 1
	echo "$out" | head -5
	grep -Eq 'Peripheral Device Type:.*(SEQUENTIAL|1)' <<<"$out" &&
		grep -Eiq 'Removable:[[:space:]]*1' <<<"$out"
}

client() { timeout 120 "$TAPE_CLIENT" "$@"; }

# SIGKILL to our uscstd (by PID), reaped.
kill_daemon() {
	local pid=$DAEMON_PID
	DAEMON_PID=""
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
	! kill -0 "$pid" 2>/dev/null
}

# File 3 appended, its filemark acknowledged, then kill -9 at once; a new
# uscstd on the same images (and a read-only copy) reads all four files.
check_kill_after_filemark() {
	client "$(url 0)" append 3 || return 1
	kill_daemon || return 1
	cp "$LIB_TMP/tape0.img" "$LIB_TMP/ro.img"
	write_tape_config "$LIB_TMP/scst2.conf" "$LIB_TMP/ro.img"
	daemon_start "$LIB_TMP/scst2.conf" || return 1
	client "$(url 0)" verify 4 && client "$(url 4)" verify 4
}

admin() { timeout 20 "$USCSTADMIN" -s "$DAEMON_SOCK" "$@"; }

# The empty drive gets a tape at run time (what a changer does): it reads
# the four files; a malformed image is refused with its reason; `none`
# empties the drive again.
check_runtime_load() {
	cp "$LIB_TMP/tape0.img" "$LIB_TMP/spare.img"
	admin device empty set filename "$LIB_TMP/spare.img" || return 1
	client "$(url 3)" verify 4 || return 1
	local out
	if out=$(admin device empty set filename "$LIB_TMP/bad.img" 2>&1); then
		echo "a malformed image was loaded"
		return 1
	fi
	echo "$out"
	grep -q "bad.img: not a tape image (bad magic)" <<<"$out" || return 1
	# A FIFO is refused at once (an open would wait for a writer, with
	# the control thread and its run-time lock held).
	mkfifo "$LIB_TMP/fifo.img"
	if out=$(admin device empty set filename "$LIB_TMP/fifo.img" 2>&1); then
		echo "a FIFO was loaded"
		return 1
	fi
	echo "$out"
	grep -q "fifo.img: not a regular file" <<<"$out" || return 1
	client "$(url 3)" verify 4 || return 1
	admin device empty set filename none || return 1
	client "$(url 3)" empty
}

# One image, one drive: another drive's image (by its name or a hard link)
# is refused at run time as at start-up; an image another process holds
# locked (flock) is refused too.
check_one_drive_per_image() {
	local out holder rc=0
	for path in "$LIB_TMP/tape1.img" "$LIB_TMP/tape1-link.img"; do
		[[ $path == *link* ]] && ln "$LIB_TMP/tape1.img" "$path"
		if out=$(admin device empty set filename "$path" 2>&1); then
			echo "drive empty loaded tape1's image ($path)"
			return 1
		fi
		echo "$out"
		grep -q "is the backing file of device 'tape1'" <<<"$out" || return 1
	done
	cp "$LIB_TMP/tape0.img" "$LIB_TMP/held.img"
	exec {holder}<"$LIB_TMP/held.img"
	flock -n "$holder" || return 1
	if out=$(admin device empty set filename "$LIB_TMP/held.img" 2>&1); then
		echo "a locked image was loaded"
		rc=1
	fi
	echo "$out"
	grep -q "held.img: in use" <<<"$out" || rc=1
	exec {holder}<&-
	# Once let go, the image loads.
	admin device empty set filename "$LIB_TMP/held.img" || rc=1
	admin device empty set filename none || rc=1
	return "$rc"
}

# The verify must be able to fail: a file that was never written.
check_verify_can_fail() {
	! client "$(url 0)" verify 5
}

# A file that is no tape image: the start fails, the log names it.
check_bad_image() {
	local conf=$LIB_TMP/bad.conf log=$LIB_TMP/bad.log
	head -c 8192 /dev/urandom >"$LIB_TMP/bad.img"
	cat >"$conf" <<-CONF
		HANDLER vtape {
		    DEVICE bad {
		        filename $LIB_TMP/bad.img
		    }
		}
	CONF
	if timeout 20 "$USCSTD" -f -c "$conf" --listen 127.0.0.1:0 --ctl-socket "$LIB_TMP/bad.sock" \
		--pr-dir "$LIB_TMP/pr" >"$log" 2>&1; then
		echo "uscstd started on a malformed image"
		return 1
	fi
	cat "$log"
	grep -q "$LIB_TMP/bad.img: not a tape image (bad magic)" "$log" || return 1
	# A size_mb no tape may have: refused, and no file left behind (it
	# would fail every later start).
	cat >"$conf" <<-CONF
		HANDLER vtape {
		    DEVICE huge {
		        filename $LIB_TMP/huge.img
		        size_mb 2000000000
		    }
		}
	CONF
	if timeout 20 "$USCSTD" -f -c "$conf" --listen 127.0.0.1:0 --ctl-socket "$LIB_TMP/bad.sock" \
		--pr-dir "$LIB_TMP/pr" >"$log" 2>&1; then
		echo "uscstd started with a 2 EB tape"
		return 1
	fi
	cat "$log"
	grep -q "capacity above 1 PiB" "$log" && [[ ! -e $LIB_TMP/huge.img ]]
}

main() {
	lib_init "${1:-}"
	TAPE_CLIENT=$USCST_BUILD/tests/tape_client
	check vtape:bad-image check_bad_image
	write_tape_config "$LIB_TMP/scst.conf"
	if ! daemon_start "$LIB_TMP/scst.conf"; then
		fail vtape:start
		lib_finish
		return
	fi
	check vtape:inquiry check_inquiry
	if [[ ! -x $TAPE_CLIENT ]]; then
		echo "SKIP vtape:client (no libiscsi-dev: $TAPE_CLIENT not built)"
		lib_finish
		return
	fi
	check vtape:write-3-files client "$(url 0)" write 3
	check vtape:read-back client "$(url 0)" verify 3
	check vtape:space-locate client "$(url 0)" space 3
	check vtape:fixed-block client "$(url 1)" fixed
	check vtape:reservation client "$(url 1)" reserve
	check vtape:early-warning client "$(url 2)" ew
	check vtape:empty-drive client "$(url 3)" empty
	check vtape:unload-load client "$(url 0)" load
	check vtape:kill-after-filemark check_kill_after_filemark
	check vtape:write-protected client "$(url 4)" protect
	check vtape:runtime-load check_runtime_load
	check vtape:one-drive-per-image check_one_drive_per_image
	check vtape:verify-can-fail check_verify_can_fail
	lib_finish
}

main "$@"
