#!/usr/bin/env bash
# bench/uscst-bench against uscstd for a few seconds: read and write on a
# nullio LUN and a file LUN, 2 sessions x QD8, must exit 0 with non-zero
# IOPS; --verify on the file LUN must pass, and must fail once a block of
# the backing file is overwritten between its write and read passes.
# A smoke test, not a benchmark: no thresholds.
# Usage: tests/integration/bench-smoke.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IQN=iqn.2026-12.org.uscst:bench

# bench LUN ARGS...: runs uscst-bench (bounded by timeout as a second
# guard) and requires exit 0 and an "IOPS N" line with N > 0.
bench() {
	local lun=$1 out
	shift
	out=$(timeout 60 "$USCST_BUILD/uscst-bench" --sessions 2 --qd 8 "$@" \
		"iscsi://127.0.0.1:$DAEMON_PORT/$IQN/$lun") || {
		echo "$out"
		return 1
	}
	echo "$out"
	awk '$1 == "IOPS" && $2 > 0 { ok = 1 } END { exit !ok }' <<<"$out"
}

# verify_catches_corruption: a write pass, one block of the backing file
# overwritten behind the target's back, then a read pass that must fail
# with exit 1 and report the mismatch.
verify_catches_corruption() {
	local rc=0 out
	bench 1 --verify --phase write --pass 7 --verify-size 1M || return 1
	# LBA 100 of a 512-byte-block LUN; conv=notrunc keeps the file's size.
	dd if=/dev/urandom of="$LIB_TMP/disk1.img" bs=512 seek=100 count=1 conv=notrunc status=none
	out=$(timeout 60 "$USCST_BUILD/uscst-bench" --sessions 2 --qd 8 --verify --phase read \
		--pass 7 --verify-size 1M "iscsi://127.0.0.1:$DAEMON_PORT/$IQN/1" 2>&1) || rc=$?
	echo "$out"
	((rc == 1)) && grep -q 'mismatch at LBA 100 ' <<<"$out"
}

main() {
	lib_init "${1:-}"
	if [[ ! -x $USCST_BUILD/uscst-bench ]]; then
		echo "bench-smoke: uscst-bench not built (libiscsi-dev missing); skipped"
		lib_finish
		return
	fi
	truncate -s 64M "$LIB_TMP/disk1.img"
	cat >"$LIB_TMP/scst.conf" <<-CONF
		HANDLER vdisk_nullio {
		    DEVICE null0 {
		        size 1073741824
		    }
		}
		HANDLER vdisk_fileio {
		    DEVICE disk1 {
		        filename $LIB_TMP/disk1.img
		        size 67108864
		    }
		}

		TARGET_DRIVER iscsi {
		    enabled 1
		    TARGET $IQN {
		        enabled 1
		        LUN 0 null0
		        LUN 1 disk1
		    }
		}
	CONF
	if ! daemon_start "$LIB_TMP/scst.conf"; then
		fail bench:start
		lib_finish
		return
	fi
	check bench:null-read bench 0 --rw read --time 2
	check bench:file-read bench 1 --rw read --time 2
	check bench:file-write bench 1 --rw write --time 2
	check bench:file-verify bench 1 --verify --time 2
	check bench:verify-catches-corruption verify_catches_corruption
	check bench:daemon-alive daemon_alive
	lib_finish
}

main "$@"
