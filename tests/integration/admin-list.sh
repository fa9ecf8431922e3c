#!/usr/bin/env bash
# admin-list: the listing verbs of uscstadmin against a running uscstd,
# as JSON (-j, stable field names, read with jq) and as human tables:
# devices, targets, groups, initiators, LUNs, portals, handlers; a libiscsi
# session logged in (session_hold_client, ISID 0x80123456789a) shows in
# `list sessions` with its initiator name, ISID, TSIH and portal, in
# `show session ID` with its negotiated parameters and in `list
# connections`; once it logged out the list is empty; beside iscsi-perf's
# I/O its commands in flight show.  And the exit codes:
# 0 ok, 1 the daemon's error on stderr, 2 usage.
# Usage: tests/integration/admin-list.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IQN=$USCST_IQN_PREFIX:admin-list
OFF=$USCST_IQN_PREFIX:admin-list-off
INITIATOR=iqn.2026-12.org.example:lister
ISID=0x80123456789a

admin() { timeout 20 "$USCSTADMIN" -s "$DAEMON_SOCK" "$@"; }

# jq_true FILE FILTER: the filter holds on the JSON in FILE.
jq_true() {
	if ! jq -e "$2" "$1" >/dev/null; then
		echo "not true of $1: $2"
		cat "$1"
		return 1
	fi
}

write_list_config() {
	truncate -s $((16 * 1024 * 1024)) "$LIB_TMP/disk0.img"
	cat >"$LIB_TMP/scst.conf" <<-CONF
		HANDLER vdisk_fileio {
		    DEVICE disk0 {
		        filename $LIB_TMP/disk0.img
		    }
		}
		HANDLER vdisk_nullio {
		    DEVICE null0 {
		        size_mb 64
		    }
		}

		TARGET_DRIVER iscsi {
		    enabled 1
		    TARGET $IQN {
		        enabled 1
		        LUN 0 disk0
		        LUN 1 null0 {
		            read_only 1
		        }
		        GROUP grouped {
		            LUN 0 null0
		            INITIATOR iqn.2026-12.org.example:grouped-*
		        }
		    }
		    TARGET $OFF {
		        enabled 0
		        IncomingUser "joe joessecret12"
		        MaxBurstLength 1048576
		        LUN 0 disk0
		    }
		}
	CONF
}

check_devices() {
	admin -j list devices >"$LIB_TMP/devices.json" || return 1
	jq_true "$LIB_TMP/devices.json" 'length == 2' || return 1
	jq_true "$LIB_TMP/devices.json" '.[] | select(.name == "disk0") | .handler ==
		"vdisk_fileio" and .size == 16777216 and .blocksize == 512 and .blocks == 32768
		and .read_only == false and .state == "open" and .luns == 2' || return 1
	jq_true "$LIB_TMP/devices.json" '.[] | select(.name == "null0") |
		.handler == "vdisk_nullio" and .size == 67108864 and .luns == 2' || return 1
	admin list devices >"$LIB_TMP/devices.txt" || return 1
	cat "$LIB_TMP/devices.txt"
	grep -Eq '^NAME +HANDLER +SIZE +BLOCKSIZE +BLOCKS +READ_ONLY +STATE +LUNS$' \
		"$LIB_TMP/devices.txt" &&
		grep -Eq '^disk0 +vdisk_fileio +16777216 +512 +32768 +no +open +2$' \
			"$LIB_TMP/devices.txt"
}

check_show_device() {
	admin -j show device disk0 >"$LIB_TMP/disk0.json" || return 1
	jq_true "$LIB_TMP/disk0.json" '.attributes.filename == "'"$LIB_TMP/disk0.img"'"' ||
		return 1
	jq_true "$LIB_TMP/disk0.json" '[.exported_as[] | .target] | sort ==
		["'"$IQN"'", "'"$OFF"'"]' || return 1
	jq_true "$LIB_TMP/disk0.json" '.prevent_removal == false'
}

check_targets() {
	admin -j list targets >"$LIB_TMP/targets.json" || return 1
	jq_true "$LIB_TMP/targets.json" '.[] | select(.name == "'"$IQN"'") | .driver == "iscsi"
		and .enabled == true and .luns == 2 and .groups == 1 and .sessions == 0' || return 1
	jq_true "$LIB_TMP/targets.json" '.[] | select(.name == "'"$OFF"'") | .enabled == false'
}

# show target: the attributes, a CHAP account without its secret.
check_show_target() {
	admin -j show target "$OFF" >"$LIB_TMP/off.json" || return 1
	jq_true "$LIB_TMP/off.json" '.attributes.MaxBurstLength == "1048576" and
		.attributes.IncomingUser == "joe (secret not shown)" and .enabled == false' || return 1
	if grep -q joessecret12 "$LIB_TMP/off.json" <(admin show target "$OFF"); then
		echo "show target shows the CHAP secret"
		return 1
	fi
	admin -j show target "$IQN" >"$LIB_TMP/on.json" || return 1
	jq_true "$LIB_TMP/on.json" '.group_names == ["grouped"]'
}

check_groups_luns() {
	admin -j list groups >"$LIB_TMP/groups.json" || return 1
	jq_true "$LIB_TMP/groups.json" '. == [{"target": "'"$IQN"'", "name": "grouped",
		"luns": 1, "initiators": 1}]' || return 1
	admin -j list initiators "$IQN" >"$LIB_TMP/ini.json" || return 1
	jq_true "$LIB_TMP/ini.json" '. == [{"target": "'"$IQN"'", "group": "grouped",
		"initiator": "iqn.2026-12.org.example:grouped-*"}]' || return 1
	admin -j list luns "$IQN" >"$LIB_TMP/luns.json" || return 1
	jq_true "$LIB_TMP/luns.json" '. == [
		{"target": "'"$IQN"'", "group": null, "lun": 0, "device": "disk0", "read_only": false},
		{"target": "'"$IQN"'", "group": null, "lun": 1, "device": "null0", "read_only": true},
		{"target": "'"$IQN"'", "group": "grouped", "lun": 0, "device": "null0",
		 "read_only": false}]' || return 1
	admin -j list luns >"$LIB_TMP/all-luns.json" || return 1
	jq_true "$LIB_TMP/all-luns.json" 'length == 4'
}

check_portals_handlers() {
	admin -j list portals >"$LIB_TMP/portals.json" || return 1
	jq_true "$LIB_TMP/portals.json" '. == [{"driver": "iscsi",
		"portal": "127.0.0.1:'"$DAEMON_PORT"'"}]' || return 1
	admin -j list handlers >"$LIB_TMP/handlers.json" || return 1
	jq_true "$LIB_TMP/handlers.json" '.[] | select(.name == "vdisk_fileio") |
		.devices == 1 and .command_set == "sbc"'
}

# While the client is logged in, this script saves the listings.
write_session_script() {
	cat >"$LIB_TMP/during.sh" <<-SCRIPT
		#!/usr/bin/env bash
		set -e
		A=("$USCSTADMIN" -s "$DAEMON_SOCK")
		"\${A[@]}" -j list sessions >"$LIB_TMP/sessions.json"
		"\${A[@]}" list sessions >"$LIB_TMP/sessions.txt"
		"\${A[@]}" -j list connections >"$LIB_TMP/conns.json"
		"\${A[@]}" -j list targets >"$LIB_TMP/targets-during.json"
		id=\$(jq '.[0].id' "$LIB_TMP/sessions.json")
		"\${A[@]}" -j show session "\$id" >"$LIB_TMP/session.json"
		"\${A[@]}" show session "\$id" >"$LIB_TMP/session.txt"
	SCRIPT
	chmod +x "$LIB_TMP/during.sh"
}

check_sessions() {
	write_session_script
	timeout 60 "$USCST_BUILD/tests/session_hold_client" \
		"iscsi://127.0.0.1:$DAEMON_PORT/$IQN/0" "$INITIATOR" "$LIB_TMP/during.sh" ||
		return 1
	local s=$LIB_TMP/sessions.json
	cat "$s" "$LIB_TMP/sessions.txt"
	jq_true "$s" 'length == 1' || return 1
	jq_true "$s" '.[0] | .initiator == "'"$INITIATOR"'" and .isid == "'"$ISID"'"
		and .tsih >= 1 and .target == "'"$IQN"'" and .driver == "iscsi"
		and .portal == "127.0.0.1:'"$DAEMON_PORT"'" and (.peer | startswith("127.0.0.1:"))
		and .connections == 1 and (.commands | type) == "number" and .id >= 1' || return 1
	grep -Eq '^ID +DRIVER +TARGET +INITIATOR +ISID +TSIH +PORTAL +PEER +CONNECTIONS +COMMANDS$' \
		"$LIB_TMP/sessions.txt" || return 1
	grep -Eq "^[0-9]+ +iscsi +$IQN +$INITIATOR +$ISID +[0-9]+ +127.0.0.1:$DAEMON_PORT " \
		"$LIB_TMP/sessions.txt" || return 1
	jq_true "$LIB_TMP/targets-during.json" '.[] | select(.name == "'"$IQN"'") |
		.sessions == 1' || return 1
	jq_true "$LIB_TMP/conns.json" 'length == 1 and (.[0] | .initiator == "'"$INITIATOR"'"
		and .portal == "127.0.0.1:'"$DAEMON_PORT"'")' || return 1
	cat "$LIB_TMP/session.txt"
	jq_true "$LIB_TMP/session.json" '.isid == "'"$ISID"'" and .params.HeaderDigest == "None"
		and (.params.MaxBurstLength | tonumber) > 0 and .params.ImmediateData == "Yes"
		and (.conns | length) == 1' || return 1
	grep -q '^  MaxRecvDataSegmentLength: ' "$LIB_TMP/session.txt"
}

# Once the client logged out (the teardown runs on its reactor: allow it
# a moment), no session is listed.
check_no_session() {
	local i
	for ((i = 0; i < 50; i++)); do
		admin -j list sessions >"$LIB_TMP/after.json" || return 1
		jq -e 'length == 0' "$LIB_TMP/after.json" >/dev/null && break
		sleep 0.1
	done
	jq_true "$LIB_TMP/after.json" '. == []' || return 1
	[[ $(admin list sessions) == "(none)" ]]
}

# The listing beside live I/O: iscsi-perf keeps 32 reads in flight on its
# own session while `list sessions` runs again and again; its session is
# listed, and its commands in flight are seen above 0 at least once.
check_commands_in_flight() {
	local perf_ini=iqn.2026-12.org.example:perf pid i seen=0 busiest=0 n
	timeout 6 iscsi-perf -i "$perf_ini" -m 32 -t 10 \
		"iscsi://127.0.0.1:$DAEMON_PORT/$IQN/0" >/dev/null 2>&1 &
	pid=$!
	for ((i = 0; i < 40; i++)); do
		sleep 0.1
		admin -j list sessions >"$LIB_TMP/busy.json" || break
		n=$(jq '[.[] | select(.initiator == "'"$perf_ini"'") | .commands] | max // -1' \
			"$LIB_TMP/busy.json")
		((n >= 0)) && seen=$((seen + 1))
		((n > busiest)) && busiest=$n
	done
	wait "$pid" || true
	echo "listed in $seen of 40 listings; most commands in flight seen: $busiest"
	((seen > 0 && busiest > 0))
}

# expect_exit RC STDERR_PATTERN ARGS...
expect_exit() {
	local want=$1 pattern=$2 rc=0 err
	shift 2
	err=$(admin "$@" 2>&1 >/dev/null) || rc=$?
	echo "uscstadmin $*: exit $rc: $err"
	((rc == want)) && grep -Eq "$pattern" <<<"$err"
}

check_exit_codes() {
	expect_exit 2 "^error: unknown command 'list lunz'; usage: .*list luns \[TARGET\]" \
		list lunz || return 1
	expect_exit 1 "^error: no device 'nosuch' \(see 'uscstadmin list devices'\)$" \
		show device nosuch || return 1
	expect_exit 1 "^error: no target 'iqn.none'" list luns iqn.none || return 1
	expect_exit 2 "^usage: uscstadmin" || return 1
	expect_exit 2 "unknown option" --bogus list devices || return 1
	admin version | grep -qx "uscstd [0-9.]*"
}

main() {
	lib_init "${1:-}"
	if [[ ! -x $USCST_BUILD/tests/session_hold_client ]] || ! command -v jq >/dev/null; then
		echo "admin-list: SKIP (needs libiscsi-dev for session_hold_client, and jq)"
		lib_finish
		return
	fi
	write_list_config
	daemon_start "$LIB_TMP/scst.conf"
	check admin-list:devices check_devices
	check admin-list:show-device check_show_device
	check admin-list:targets check_targets
	check admin-list:show-target check_show_target
	check admin-list:groups-luns check_groups_luns
	check admin-list:portals-handlers check_portals_handlers
	check admin-list:sessions check_sessions
	check admin-list:no-session-after-logout check_no_session
	check admin-list:commands-in-flight check_commands_in_flight
	check admin-list:exit-codes check_exit_codes
	lib_finish
}

main "$@"
