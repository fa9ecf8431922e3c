#!/usr/bin/env bash
# vcdrom: an image exported as a read-only CD/DVD drive (MMC).  INQUIRY says
# type 05h and removable; qemu's iSCSI block driver reads the image back
# byte for byte in 2048-byte blocks; a write is refused.  cdrom_client (built
# when libiscsi-dev is there) checks the TOC, eject refused while prevented,
# eject and load with their sense and unit attentions on two nexuses, and an
# empty drive (filename none) at LUN 1; then the medium changed through
# uscstadmin (device cd0 set filename ...) under two live sessions, and the
# admin verb's errors.  With xorriso, a real ISO 9660 image at LUN 2 is read
# back through qemu-img and read as a file system.
# Usage: tests/integration/vcdrom.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IQN=iqn.2026-11.org.uscst:cd
BLOCKS=1531 # an odd number of 2048-byte blocks: not a multiple of 4 KiB
BLOCKS_B=777 # the second medium

url() { echo "iscsi://127.0.0.1:$DAEMON_PORT/$IQN/${1:-0}"; }

write_cd_config() {
	cat >"$1" <<-CONF
		HANDLER vcdrom {
		    DEVICE cd0 {
		        filename $2
		    }
		    DEVICE cd1 {
		        filename none
		    }
		    DEVICE cd2 {
		        filename $3
		    }
		}

		TARGET_DRIVER iscsi {
		    enabled 1
		    TARGET $IQN {
		        enabled 1
		        LUN 0 cd0
		        LUN 1 cd1
		        LUN 2 cd2
		    }
		}
	CONF
}

check_inquiry() {
	local out
	out=$(timeout 20 iscsi-inq "$(url)") || return 1
	echo "$out" | head -5
	grep -Eq 'Peripheral Device Type:.*(5|MMC)' <<<"$out" &&
		grep -Eiq 'Removable:[[:space:]]*1' <<<"$out"
}

check_readback() {
	local back=$LIB_TMP/readback.raw
	timeout 60 qemu-img convert -f raw -O raw "$(url)" "$back" || return 1
	ls -l "$LIB_TMP/cd.iso" "$back"
	cmp "$LIB_TMP/cd.iso" "$back"
}

# qemu-img reads the size through READ CAPACITY: blocks of 2048 bytes.
check_size() {
	local size
	size=$(timeout 20 qemu-img info -f raw --output=json "$(url)" |
		sed -n 's/.*"virtual-size": *\([0-9]*\).*/\1/p') || return 1
	echo "virtual size $size"
	[[ $size == $((BLOCKS * 2048)) ]]
}

# No write command is in the MMC table: the write fails, the image stays.
check_write_refused() {
	local sum
	sum=$(sha256sum <"$LIB_TMP/cd.iso")
	head -c 2048 /dev/zero >"$LIB_TMP/zero.raw"
	if timeout 30 qemu-img convert -n -f raw -O raw "$LIB_TMP/zero.raw" "$(url)" 2>"$LIB_TMP/w.err"; then
		echo "a write to the CD succeeded"
		return 1
	fi
	cat "$LIB_TMP/w.err"
	[[ $(sha256sum <"$LIB_TMP/cd.iso") == "$sum" ]]
}

check_eject_load() {
	timeout 60 "$CDROM_CLIENT" "$(url)" "$BLOCKS" 1
}

# A real ISO 9660 image (Rock Ridge, Joliet) made by xorriso from a small
# tree, at LUN 2: qemu-img reads it back identical, and xorriso reads the
# copy as a file system (volume id, files) and extracts the same tree.
make_iso() {
	mkdir -p "$LIB_TMP/tree/docs/deep"
	echo "uscst vcdrom test" >"$LIB_TMP/tree/README.txt"
	head -c 300001 /dev/urandom >"$LIB_TMP/tree/docs/random.bin"
	head -c 4096 /dev/urandom >"$LIB_TMP/tree/docs/deep/small.bin"
	xorriso -as mkisofs -quiet -R -J -V USCST_VCDROM -o "$LIB_TMP/real.iso" "$LIB_TMP/tree" \
		2>"$LIB_TMP/xorriso.log"
}

check_iso9660() {
	local back=$LIB_TMP/real-back.iso out=$LIB_TMP/extracted
	timeout 60 qemu-img convert -f raw -O raw "$(url 2)" "$back" || return 1
	cmp "$LIB_TMP/real.iso" "$back" || return 1
	xorriso -indev "$back" -pvd_info 2>&1 | grep -q "Volume Id    : USCST_VCDROM" || {
		echo "xorriso does not see the volume id in the copy"
		return 1
	}
	xorriso -osirrox on -indev "$back" -extract / "$out" >/dev/null 2>&1 || return 1
	diff -r "$LIB_TMP/tree" "$out"
}

# A real ISO 9660 image (Rock Ridge, Joliet) made by xorriso from a small
# tree, at LUN 2: qemu-img reads it back identical, and xorriso reads the
# copy as a file system (volume id, files) and extracts the same tree.
make_iso() {
	mkdir -p "$LIB_TMP/tree/docs/deep"
	echo "uscst vcdrom test" >"$LIB_TMP/tree/README.txt"
	head -c 300001 /dev/urandom >"$LIB_TMP/tree/docs/random.bin"
	head -c 4096 /dev/urandom >"$LIB_TMP/tree/docs/deep/small.bin"
	xorriso -as mkisofs -quiet -R -J -V USCST_VCDROM -o "$LIB_TMP/real.iso" "$LIB_TMP/tree" \
		2>"$LIB_TMP/xorriso.log"
}

check_iso9660() {
	local back=$LIB_TMP/real-back.iso out=$LIB_TMP/extracted
	timeout 60 qemu-img convert -f raw -O raw "$(url 2)" "$back" || return 1
	cmp "$LIB_TMP/real.iso" "$back" || return 1
	xorriso -indev "$back" -pvd_info 2>&1 | grep -q "Volume Id    : USCST_VCDROM" || {
		echo "xorriso does not see the volume id in the copy"
		return 1
	}
	xorriso -osirrox on -indev "$back" -extract / "$out" >/dev/null 2>&1 || return 1
	diff -r "$LIB_TMP/tree" "$out"
}

admin() { timeout 20 "$USCSTADMIN" -s "$DAEMON_SOCK" "$@"; }

# A -> B -> none -> A, a refused change while prevented, then B: the
# sessions stay up throughout (cdrom_client change).
check_admin_change() {
	local cmd
	printf -v cmd '%q -s %q device cd0 set filename' "$USCSTADMIN" "$DAEMON_SOCK"
	timeout 120 "$CDROM_CLIENT" change "$(url)" "$LIB_TMP/cd.iso" "$LIB_TMP/cd-b.iso" "$cmd"
}

# Told before reading: a client reads block 0 of cd.iso in a loop while
# the drive gets cd-b.iso; no read returns cd-b.iso's data before NOT READY
# or the change's unit attention (ten swaps: the race is narrow).
check_told_before_new_disc() {
	local i ready=$LIB_TMP/told-ready client rc=0
	for i in 1 2 3 4 5 6 7 8 9 10; do
		admin device cd0 set filename "$LIB_TMP/cd.iso" >/dev/null || return 1
		rm -f "$ready"
		timeout 30 "$CDROM_CLIENT" told "$(url)" "$LIB_TMP/cd.iso" "$LIB_TMP/cd-b.iso" \
			"$ready" 20 &
		client=$!
		while [[ ! -e $ready ]] && kill -0 "$client" 2>/dev/null; do
			sleep 0.02
		done
		admin device cd0 set filename "$LIB_TMP/cd-b.iso" >/dev/null || rc=1
		wait "$client" || rc=1
		((rc == 0)) || break
	done
	admin device cd0 set filename "$LIB_TMP/cd.iso" >/dev/null || return 1
	return "$rc"
}

# Reads under swaps: the LU flips between two copies of one image as fast
# as uscstadmin goes while a client reads; every read is the image's bytes
# or the change's unit attention (an image closed under a read would be a
# medium error, or worse under ASan).
check_reads_under_swaps() {
	local copy=$LIB_TMP/cd-copy.iso stop=$LIB_TMP/stop-swaps swapper rc=0
	cp "$LIB_TMP/cd.iso" "$copy"
	rm -f "$stop"
	admin device cd0 set filename "$LIB_TMP/cd.iso" >/dev/null || return 1
	# Stopped by a file, not a signal: an admin call cut short would leave
	# the drive on the copy for the next check.
	(
		while [[ ! -e $stop ]]; do
			admin device cd0 set filename "$copy" >/dev/null || exit 1
			admin device cd0 set filename "$LIB_TMP/cd.iso" >/dev/null || exit 1
		done
	) &
	swapper=$!
	timeout 60 "$CDROM_CLIENT" reads "$(url)" "$LIB_TMP/cd.iso" 4 || rc=1
	touch "$stop"
	wait "$swapper" || rc=1
	return "$rc"
}

# `show config` writes the filename in force, and the admin verb's errors:
# exit 1 with the daemon's message, 2 for a usage error.
check_admin_errors() {
	local out
	admin device cd0 set filename "$LIB_TMP/cd-b.iso" || return 1
	out=$(admin show config) || return 1
	grep -q "filename $LIB_TMP/cd-b.iso" <<<"$out" || {
		echo "show config does not have the new filename"
		return 1
	}
	expect_admin 1 "unknown attribute 'nosuch'" device cd0 set nosuch 1 || return 1
	expect_admin 1 "attribute blocksize of device cd0 cannot be changed while running" \
		device cd0 set blocksize 4096 || return 1
	expect_admin 1 "cannot open '$LIB_TMP/missing.iso'" \
		device cd0 set filename "$LIB_TMP/missing.iso" || return 1
	# A FIFO is refused at once (an open would wait for a writer, with
	# the control thread and its run-time lock held).
	mkfifo "$LIB_TMP/fifo.iso"
	expect_admin 1 "'$LIB_TMP/fifo.iso': not a regular file or block device" \
		device cd0 set filename "$LIB_TMP/fifo.iso" || return 1
	expect_admin 1 "no device 'nodev'" device nodev set filename none || return 1
	expect_admin 2 "" device cd0 set filename || return 1
	expect_admin 2 "" device cd0 set filename "" || return 1
	# A failed change leaves the medium and the text as they were.
	out=$(admin show config) || return 1
	grep -q "filename $LIB_TMP/cd-b.iso" <<<"$out"
}

# expect_admin RC MESSAGE ARGS...: uscstadmin ARGS exits RC with MESSAGE.
expect_admin() {
	local want=$1 msg=$2 out rc=0
	shift 2
	out=$(admin "$@" 2>&1) || rc=$?
	echo "uscstadmin $*: exit $rc: $(head -1 <<<"$out")"
	((rc == want)) && [[ -z $msg || $out == *"$msg"* ]]
}

main() {
	lib_init "${1:-}"
	head -c $((BLOCKS * 2048)) /dev/urandom >"$LIB_TMP/cd.iso"
	head -c $((BLOCKS_B * 2048)) /dev/urandom >"$LIB_TMP/cd-b.iso"
	local have_iso=0
	if command -v xorriso >/dev/null && make_iso; then
		have_iso=1
	else
		# LUN 2 then holds a copy of the second image, and goes unchecked.
		cp "$LIB_TMP/cd-b.iso" "$LIB_TMP/real.iso"
	fi
	write_cd_config "$LIB_TMP/scst.conf" "$LIB_TMP/cd.iso" "$LIB_TMP/real.iso"
	if ! daemon_start "$LIB_TMP/scst.conf"; then
		fail vcdrom:start
		lib_finish
		return
	fi
	check vcdrom:inquiry check_inquiry
	check vcdrom:size check_size
	check vcdrom:readback check_readback
	check vcdrom:write-refused check_write_refused
	if ((have_iso)); then
		check vcdrom:iso9660 check_iso9660
	else
		echo "SKIP vcdrom:iso9660 (xorriso not installed: scripts/install-deps.sh)"
	fi
	CDROM_CLIENT=$USCST_BUILD/tests/cdrom_client
	if [[ -x $CDROM_CLIENT ]]; then
		check vcdrom:eject-load check_eject_load
		check vcdrom:admin-change check_admin_change
		check vcdrom:reads-under-swaps check_reads_under_swaps
		check vcdrom:told-before-new-disc check_told_before_new_disc
	else
		echo "SKIP vcdrom:eject-load (no libiscsi-dev: $CDROM_CLIENT not built)"
	fi
	check vcdrom:admin-errors check_admin_errors
	lib_finish
}

main "$@"
