#!/usr/bin/env bash
# vdisk_blockio (O_DIRECT) over loopback, with qemu's libiscsi driver:
#  - on files, LUNs of 512- and 4096-byte blocks: 16 MiB of random data
#    written and read back identical, and found in the backing file;
#  - 512-byte writes on the 512-byte LUN, whose file system block is
#    4 KiB: each one is a read-modify-write of its 4 KiB block, and the
#    bytes around it survive; then many such writes in flight at once into
#    the same blocks (all eight sectors of each block), from one session
#    and from two at once: none is lost;
#  - FUA writes, aligned and not, and a write_through device;
#  - the host page cache: a 64 MiB write through vdisk_blockio leaves
#    (almost) none of the file in it, the same through vdisk_fileio does;
#  - on a loop device of 4096-byte sectors where losetup works: the same
#    data check and small writes (read-modify-write on a block device),
#    zeroing of a range not on its blocks.  Only the loop device made here
#    is detached; without losetup (a container) that part is skipped;
#  - the plain conformance suite on a vdisk_blockio LUN (run.sh blockio).
# Usage: tests/integration/blockio.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IQN=iqn.2026-11.org.uscst:blockio
LOOP_DEV=""

url() { echo "iscsi://127.0.0.1:$DAEMON_PORT/$IQN/$1"; }

# qemu-io on LUN $1 with the commands that follow; fails on any pattern
# mismatch or I/O error it prints (some versions exit 0 on those).
qio() {
	local lun=$1 out
	shift
	out=$LIB_TMP/qemu-io.$lun.$BASHPID.out
	timeout 120 qemu-io -f raw "$@" "$(url "$lun")" >"$out" 2>&1 || {
		cat "$out"
		return 1
	}
	if grep -qi 'fail\|error' "$out"; then
		cat "$out"
		return 1
	fi
}

# The first $2 bytes of LUN $1 as a file: $3.
read_lun() {
	timeout 120 qemu-img convert -O raw --image-opts \
		"driver=raw,size=$2,file.driver=iscsi,file.transport=tcp,file.portal=127.0.0.1:$DAEMON_PORT,file.target=$IQN,file.lun=$1" \
		"$3"
}

# 16 MiB of random data to LUN $1, read back, and compared with the
# backing storage $2 too (what O_DIRECT wrote is really there).
check_roundtrip() {
	local lun=$1 store=$2 src=$LIB_TMP/pattern.$1 back=$LIB_TMP/back.$1
	head -c $((16 << 20)) /dev/urandom >"$src"
	timeout 120 qemu-img convert -n -f raw -O raw "$src" "$(url "$lun")" || return 1
	read_lun "$lun" $((16 << 20)) "$back" || return 1
	cmp "$src" "$back" || return 1
	cmp -n $((16 << 20)) "$src" "$store"
}

# Byte $2 (count $3) of file $1 as hex, one value per line, deduplicated.
bytes_of() {
	od -A n -v -t x1 -j "$2" -N "$3" "$1" | tr -s ' ' '\n' | grep -v '^$' | sort -u
}

# 512-byte writes inside 4 KiB blocks of LUN $1 (storage $2): the written
# sector has the new bytes and its neighbours keep theirs.
check_small_writes() {
	local lun=$1 store=$2 base=$((20 << 20))
	qio "$lun" -c "write -P 0x11 $base 8k" \
		-c "write -P 0x22 $((base + 512)) 512" \
		-c "write -P 0x33 $((base + 4096 + 3584)) 512" \
		-c "write -P 0x44 $((base + 8192 - 1024)) 2k" \
		-c "read -P 0x11 $base 512" \
		-c "read -P 0x22 $((base + 512)) 512" \
		-c "read -P 0x11 $((base + 1024)) 6144" \
		-c "read -P 0x44 $((base + 7168)) 2k" || return 1
	[[ $(bytes_of "$store" $((base + 512)) 512) == 22 ]] || return 1
	[[ $(bytes_of "$store" $((base + 1024)) 6144) == 11 ]] || return 1
	[[ $(bytes_of "$store" $((base + 7168)) 2048) == 44 ]] || return 1
	[[ $(bytes_of "$store" $base 512) == 11 ]]
}

# Every 512-byte sector of 64 blocks of 4 KiB written at once, each with
# its own pattern, all in flight together (aio): a read-modify-write that
# lost another's sector would leave an old pattern behind.
check_concurrent_small_writes() {
	local lun=$1 store=$2 base=$((24 << 20)) blk s args=() reads=()
	qio "$lun" -c "write -P 0xee $base 256k" || return 1
	for ((blk = 0; blk < 64; blk++)); do
		for ((s = 0; s < 8; s++)); do
			args+=(-c "aio_write -q -P $((s + 1)) $((base + blk * 4096 + s * 512)) 512")
			reads+=(-c "read -q -P $((s + 1)) $((base + blk * 4096 + s * 512)) 512")
		done
	done
	qio "$lun" "${args[@]}" -c aio_flush "${reads[@]}" || return 1
	# The storage itself, a sector at a time for a few blocks.
	for blk in 0 17 63; do
		for ((s = 0; s < 8; s++)); do
			[[ $(bytes_of "$store" $((base + blk * 4096 + s * 512)) 512) == "0$((s + 1))" ]] ||
				return 1
		done
	done
}

# The same from two sessions at once (on two reactor threads: connections
# are spread over them), one writing the even sectors of each block, the
# other the odd ones.
check_two_sessions_small_writes() {
	local lun=$1 store=$2 base=$((26 << 20)) blk s args0=() args1=() rc=0
	qio "$lun" -c "write -P 0xee $base 256k" || return 1
	for ((blk = 0; blk < 64; blk++)); do
		for ((s = 0; s < 8; s += 2)); do
			args0+=(-c "aio_write -q -P $((s + 1)) $((base + blk * 4096 + s * 512)) 512")
			args1+=(-c "aio_write -q -P $((s + 2)) $((base + blk * 4096 + s * 512 + 512)) 512")
		done
	done
	qio "$lun" "${args0[@]}" -c aio_flush &
	local pid=$!
	qio "$lun" "${args1[@]}" -c aio_flush || rc=1
	wait "$pid" || rc=1
	((rc == 0)) || return 1
	for ((blk = 0; blk < 64; blk++)); do
		for ((s = 0; s < 8; s++)); do
			[[ $(bytes_of "$store" $((base + blk * 4096 + s * 512)) 512) == "0$((s + 1))" ]] ||
				return 1
		done
	done
}

# FUA writes (RWF_DSYNC), aligned and not, read back.
check_fua() {
	local lun=$1 base=$((28 << 20))
	qio "$lun" -c "write -f -P 0x5a $base 64k" \
		-c "write -f -P 0xa5 $((base + 1536)) 1k" \
		-c "read -P 0x5a $base 1536" \
		-c "read -P 0xa5 $((base + 1536)) 1k" \
		-c "read -P 0x5a $((base + 2560)) $((65536 - 2560))"
}

# Resident bytes of file $1 in the page cache.
cached_bytes() { fincore -b -n -o RES "$1"; }

# 64 MiB through LUN $1 into file $2: with $3 "none" its cached bytes stay
# under 1 MiB, with "grows" they reach 32 MiB at least.
check_page_cache() {
	local lun=$1 store=$2 want=$3 src=$LIB_TMP/cache.src before after
	head -c $((64 << 20)) /dev/urandom >"$src"
	before=$(cached_bytes "$store")
	timeout 120 qemu-img convert -n -f raw -O raw "$src" "$(url "$lun")" || return 1
	after=$(cached_bytes "$store")
	echo "$store: $before bytes cached before, $after after"
	if [[ $want == none ]]; then
		((after - before < (1 << 20)))
	else
		((after - before >= (32 << 20)))
	fi
}

# Zeroing on the loop device not on its 4 KiB blocks (WRITE SAME through
# qemu's write -z; bounced when unaligned), its neighbours kept.
check_zero_unaligned() {
	local lun=$1 base=$((4 << 20))
	qio "$lun" -c "write -P 0x77 $base 16k" \
		-c "write -z $((base + 512)) 9k" \
		-c "read -P 0x77 $base 512" \
		-c "read -P 0 $((base + 512)) 9k" \
		-c "read -P 0x77 $((base + 9728)) 6656"
}

loop_cleanup() {
	if [[ -n $LOOP_DEV ]]; then
		losetup -d "$LOOP_DEV" 2>/dev/null || true
		LOOP_DEV=""
	fi
	lib_cleanup
}

# A loop device of 4096-byte sectors over a temp file; empty if none.
make_loop() {
	local img=$LIB_TMP/loop.img
	truncate -s 64M "$img"
	if ! command -v losetup >/dev/null || ! compgen -G '/dev/loop*' >/dev/null; then
		return 0
	fi
	LOOP_DEV=$(losetup -f --show -b 4096 "$img" 2>"$LIB_TMP/losetup.err") || LOOP_DEV=""
}

write_blockio_config() {
	local d=$LIB_TMP
	truncate -s 64M "$d/b512.img" "$d/b4k.img" "$d/wt.img"
	truncate -s 128M "$d/cache-blockio.img" "$d/cache-fileio.img"
	{
		echo "HANDLER vdisk_blockio {"
		echo "    DEVICE b512 {"
		echo "        filename $d/b512.img"
		echo "    }"
		echo "    DEVICE b4k {"
		echo "        filename $d/b4k.img"
		echo "        blocksize 4096"
		echo "    }"
		echo "    DEVICE bwt {"
		echo "        filename $d/wt.img"
		echo "        write_through 1"
		echo "    }"
		echo "    DEVICE bcache {"
		echo "        filename $d/cache-blockio.img"
		echo "    }"
		if [[ -n $LOOP_DEV ]]; then
			echo "    DEVICE bloop {"
			echo "        filename $LOOP_DEV"
			echo "    }"
		fi
		echo "}"
		echo "HANDLER vdisk_fileio {"
		echo "    DEVICE fcache {"
		echo "        filename $d/cache-fileio.img"
		echo "    }"
		echo "}"
		echo "TARGET_DRIVER iscsi {"
		echo "    enabled 1"
		echo "    TARGET $IQN {"
		echo "        enabled 1"
		echo "        LUN 0 b512"
		echo "        LUN 1 b4k"
		echo "        LUN 2 bwt"
		echo "        LUN 3 bcache"
		echo "        LUN 4 fcache"
		[[ -z $LOOP_DEV ]] || echo "        LUN 5 bloop"
		echo "    }"
		echo "}"
	} >"$d/scst.conf"
}

# The devices are listed with their handler.
check_listing() {
	timeout 20 "$USCSTADMIN" -s "$DAEMON_SOCK" list devices >"$LIB_TMP/list.out" || return 1
	timeout 20 "$USCSTADMIN" -s "$DAEMON_SOCK" list handlers >>"$LIB_TMP/list.out" || return 1
	cat "$LIB_TMP/list.out"
	grep -q 'b512.*vdisk_blockio' "$LIB_TMP/list.out" || return 1
	grep -q '^ *vdisk_blockio' "$LIB_TMP/list.out"
}

check_conformance() {
	CONF_TIMEOUT=${BLOCKIO_CONF_TIMEOUT:-200} "$USCST_ROOT/tests/conformance/run.sh" \
		"$USCST_BUILD" blockio
}

main() {
	lib_init "${1:-}"
	trap loop_cleanup EXIT
	local d=$LIB_TMP
	make_loop
	write_blockio_config
	if ! daemon_start "$d/scst.conf"; then
		fail blockio:start
		lib_finish
		return
	fi
	check blockio:listing check_listing
	check blockio:file-512-roundtrip check_roundtrip 0 "$d/b512.img"
	check blockio:file-4096-roundtrip check_roundtrip 1 "$d/b4k.img"
	check blockio:file-512-small-writes check_small_writes 0 "$d/b512.img"
	check blockio:file-512-concurrent-small-writes check_concurrent_small_writes 0 "$d/b512.img"
	check blockio:file-512-two-sessions-small-writes check_two_sessions_small_writes 0 "$d/b512.img"
	check blockio:file-512-fua check_fua 0
	check blockio:file-4096-fua check_fua 1
	check blockio:write-through-small-writes check_small_writes 2 "$d/wt.img"
	check blockio:page-cache-blockio check_page_cache 3 "$d/cache-blockio.img" none
	check blockio:page-cache-fileio check_page_cache 4 "$d/cache-fileio.img" grows
	if [[ -n $LOOP_DEV ]]; then
		check blockio:loop-roundtrip check_roundtrip 5 "$LOOP_DEV"
		check blockio:loop-small-writes check_small_writes 5 "$LOOP_DEV"
		check blockio:loop-concurrent-small-writes check_concurrent_small_writes 5 "$LOOP_DEV"
		check blockio:loop-zero-unaligned check_zero_unaligned 5
	else
		echo "SKIP blockio:loop-* (no loop device: $(cat "$d/losetup.err" 2>/dev/null))"
	fi
	check blockio:conformance check_conformance
	lib_finish
}

main "$@"
