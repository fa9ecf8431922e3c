#!/usr/bin/env bash
# Data path over loopback with qemu's libiscsi block driver: write a
# pattern file to the LUN with qemu-img convert, read it back, compare
# checksums; then qemu-io writes/reads a pattern at an unaligned-ish offset
# and verifies it (read -P checks every byte).
# Usage: tests/integration/data-integrity.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IQN=iqn.2026-11.org.uscst:data
SIZE_MB=16 # bounded: 16 MiB each way

url() { echo "iscsi://127.0.0.1:$DAEMON_PORT/$IQN/0"; }

# Random 16 MiB image -> LUN (first 16 MiB), LUN (first 16 MiB) -> file.
check_convert() {
	local src=$LIB_TMP/pattern.raw back=$LIB_TMP/readback.raw
	# check() runs this in a condition, where set -e is off: stop explicitly.
	head -c $((SIZE_MB << 20)) /dev/urandom >"$src"
	timeout 60 qemu-img convert -n -f raw -O raw "$src" "$(url)" || return 1
	# Read back exactly SIZE_MB: the LUN is bigger than the pattern.
	timeout 60 qemu-img convert -O raw --image-opts \
		"driver=raw,size=$((SIZE_MB << 20)),file.driver=iscsi,file.transport=tcp,file.portal=127.0.0.1:$DAEMON_PORT,file.target=$IQN,file.lun=0" \
		"$back" || return 1
	local a b
	a=$(sha256sum <"$src")
	b=$(sha256sum <"$back")
	echo "written $a"
	echo "read    $b"
	[[ $a == "$b" ]]
}

# qemu-io: pattern writes at several offsets/sizes, then verified reads.
check_qemu_io() {
	timeout 60 qemu-io -f raw \
		-c 'write -P 0xa5 0 64k' \
		-c 'write -P 0x5a 1m 512' \
		-c 'write -P 0x3c 100m 1m' \
		-c 'read -P 0xa5 0 64k' \
		-c 'read -P 0x5a 1m 512' \
		-c 'read -P 0x3c 100m 1m' \
		"$(url)" | tee "$LIB_TMP/qemu-io.out" || return 1
	# Besides the exit status, look for "Pattern verification failed" and
	# I/O errors in case some qemu-io version exits 0 on them.
	! grep -qi 'fail\|error' "$LIB_TMP/qemu-io.out"
}

main() {
	lib_init "${1:-}"
	write_config "$LIB_TMP/scst.conf" "$IQN" "$LIB_TMP/disk0.img"
	if ! daemon_start "$LIB_TMP/scst.conf"; then
		fail data:start
		lib_finish
		return
	fi
	check data:qemu-img-convert check_convert
	check data:qemu-io-pattern check_qemu_io
	lib_finish
}

main "$@"
