#!/usr/bin/env bash
# Discovery and management over loopback: SendTargets lists the target and
# its LUN (iscsi-ls), INQUIRY shows vendor/product (iscsi-inq), and
# `uscstadmin show config` over the control socket prints TARGET and LUN.
# Usage: tests/integration/discovery.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IQN=iqn.2026-11.org.uscst:discovery

# iscsi-ls prints "Target:IQN Portal:..." then "Lun:0 Type:DIRECT_ACCESS ...".
check_ls() {
	local out
	out=$(timeout 20 iscsi-ls -s "iscsi://127.0.0.1:$DAEMON_PORT")
	echo "$out"
	grep -q "^Target:$IQN " <<<"$out" &&
		grep -Eq '^Lun:0[[:space:]]+Type:DIRECT_ACCESS' <<<"$out"
}

# Vendor and product must be present and non-blank; INQ_VENDOR/INQ_PRODUCT
# pin them (prefix match) once the daemon's strings are settled.
check_inq() {
	local out vendor product
	out=$(timeout 20 iscsi-inq "iscsi://127.0.0.1:$DAEMON_PORT/$IQN/0")
	echo "$out"
	vendor=$(sed -n 's/^Vendor:[[:space:]]*//p' <<<"$out")
	product=$(sed -n 's/^Product:[[:space:]]*//p' <<<"$out")
	grep -q '^Peripheral Device Type:DIRECT_ACCESS' <<<"$out" &&
		[[ $vendor == *[![:space:]]* && $product == *[![:space:]]* ]] &&
		[[ $vendor == "${INQ_VENDOR:-}"* && $product == "${INQ_PRODUCT:-}"* ]]
}

check_admin() {
	local out
	out=$(timeout 20 "$USCSTADMIN" -s "$DAEMON_SOCK" show config)
	echo "$out"
	grep -Eq "TARGET[[:space:]]+$IQN" <<<"$out" &&
		grep -Eq 'LUN[[:space:]]+0[[:space:]]+disk0' <<<"$out"
}

main() {
	lib_init "${1:-}"
	write_config "$LIB_TMP/scst.conf" "$IQN" "$LIB_TMP/disk0.img"
	if ! daemon_start "$LIB_TMP/scst.conf"; then
		fail discovery:start
		lib_finish
		return
	fi
	check discovery:iscsi-ls check_ls
	check discovery:iscsi-inq check_inq
	check discovery:uscstadmin-show-config check_admin
	lib_finish
}

main "$@"
