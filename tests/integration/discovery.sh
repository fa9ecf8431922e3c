#!/usr/bin/env bash
# Discovery and management over loopback: SendTargets lists the target and
# its LUN (iscsi-ls), INQUIRY shows vendor/product (iscsi-inq), and
# `uscstadmin show config` over the control socket prints TARGET and LUN.
# The daemon also listens on 127.0.0.2, portal group 2 of the target
# (portal_group), and on 127.0.0.3, which a second target's allowed_portal
# leaves out: SendTargets through either listed portal names every portal
# the target is reachable on, each with its group's tag (RFC 7143 13.3).
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

# Every portal of every portal group, with its tag, whichever portal the
# request came in on; a portal allowed_portal excludes is not listed.
# iscsi-ls prints "Target:NAME Portal:ADDR,TAG" for each TargetAddress.
check_all_portals() {
	local host port out ok=0
	for host in 127.0.0.1 127.0.0.2; do
		port=$DAEMON_PORT
		[[ $host == 127.0.0.2 ]] && port=$PORT2
		out=$(timeout 20 iscsi-ls "iscsi://$host:$port") || return 1
		echo "via $host:"
		echo "$out"
		grep -qx "Target:$IQN Portal:127.0.0.1:$DAEMON_PORT,1" <<<"$out" &&
			grep -qx "Target:$IQN Portal:127.0.0.2:$PORT2,2" <<<"$out" &&
			grep -qx "Target:$IQN Portal:127.0.0.3:$PORT3,1" <<<"$out" &&
			[[ $(grep -c "^Target:$IQN " <<<"$out") == 3 ]] &&
			grep -qx "Target:$IQN-restricted Portal:127.0.0.1:$DAEMON_PORT,1" <<<"$out" &&
			grep -qx "Target:$IQN-restricted Portal:127.0.0.2:$PORT2,1" <<<"$out" &&
			[[ $(grep -c "^Target:$IQN-restricted " <<<"$out") == 2 ]] || ok=1
	done
	return $ok
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
	# Portal group 2 on 127.0.0.2; a second target kept off 127.0.0.3.
	sed -i "s|^\(\s*\)TARGET $IQN {|&\n\1    portal_group \"2 7 127.0.0.2\"|" "$LIB_TMP/scst.conf"
	cat >>"$LIB_TMP/scst.conf" <<-CONF
		TARGET_DRIVER iscsi {
		    TARGET $IQN-restricted {
		        allowed_portal !127.0.0.3
		        LUN 0 disk0
		    }
		}
	CONF
	PORT2=$(free_port 14260) && PORT3=$(free_port $((PORT2 + 1))) || return 1
	if ! daemon_start "$LIB_TMP/scst.conf" --listen "127.0.0.2:$PORT2" \
		--listen "127.0.0.3:$PORT3"; then
		fail discovery:start
		lib_finish
		return
	fi
	check discovery:iscsi-ls check_ls
	check discovery:iscsi-inq check_inq
	check discovery:uscstadmin-show-config check_admin
	check discovery:all-portals check_all_portals
	lib_finish
}

main "$@"
