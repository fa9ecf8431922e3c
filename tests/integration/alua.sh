#!/usr/bin/env bash
# ALUA and multipath, SCST's way: one device exported by two targets (two
# IQNs, two relative port ids) in two target port groups of one device
# group, plus a third group holding a target of an HA peer (rel_tgt_id
# given).  Checks:
#   start        the DEVICE_GROUP configuration loads
#   list         `uscstadmin list alua` shows the groups and states
#   json         `show config -j` has them under "alua"
#   round-trip   the running configuration, written and applied: "no changes"
#   client       alua_client (libiscsi): both paths, RTPG identical on both,
#                uscstadmin state changes with 2Ah/06h then the new state,
#                04h/0Bh on the standby path, STPG, I/O on the active path
#   apply-state  `config apply` of a file with another state changes it live
#   apply-bad    a file naming an unknown device in a device group is refused
#   admin-bad    an unknown state or group is refused
# Then a second uscstd: one target with two iSCSI portal groups (portal 1 on
# 127.0.0.1, portal_group 2 on 127.0.0.2, each its own SCSI target port),
# in two target port groups:
#   tpg-discovery  SendTargets on either portal lists both, tags 1 and 2
#   tpg-client     alua_client over the two portal groups, as above
#   tpg-bad-port   a TARGET_GROUP naming the target with a rel_tgt_id none
#                  of its ports has is refused by config apply, naming them
#   tpg-dup-id     a uscstd whose portal_group REL_TGT_ID is another
#                  target's rel_tgt_id does not start: FILE:LINE and both
# Usage: tests/integration/alua.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IQN_A=$USCST_IQN_PREFIX:alua-a
IQN_B=$USCST_IQN_PREFIX:alua-b
IQN_PEER=$USCST_IQN_PREFIX:alua-peer

adm() { "$USCSTADMIN" -s "$DAEMON_SOCK" "$@"; }

# conf FILE STATE_B [EXTRA_DEVICE]: the test's configuration, group 2 in STATE_B.
conf() {
	cat >"$1" <<-CONF
		HANDLER vdisk_fileio {
		    DEVICE disk0 {
		        filename $LIB_TMP/disk0.img
		        expl_alua 1
		    }
		}

		TARGET_DRIVER iscsi {
		    enabled 1
		    TARGET $IQN_A {
		        rel_tgt_id 1
		        LUN 0 disk0
		    }
		    TARGET $IQN_B {
		        rel_tgt_id 2
		        LUN 0 disk0
		    }
		}

		DEVICE_GROUP dg0 {
		    DEVICE disk0${3:+
		    DEVICE $3}
		    TARGET_GROUP local_a {
		        group_id 1
		        preferred 1
		        state active
		        TARGET $IQN_A
		    }
		    TARGET_GROUP local_b {
		        group_id 2
		        state $2
		        TARGET $IQN_B
		    }
		    TARGET_GROUP peer {
		        group_id 3
		        state standby
		        TARGET $IQN_PEER {
		            rel_tgt_id 10
		        }
		    }
		}
	CONF
}

check_list() {
	local out
	out=$(adm -j list alua) || return 1
	echo "$out"
	jq -e 'length == 3' <<<"$out" >/dev/null &&
		jq -e '.[0] | .device_group == "dg0" and .devices == "disk0" and .group_id == 1 and
			.state == "active" and .preferred == true and .targets == "'"$IQN_A"':1"' \
			<<<"$out" >/dev/null &&
		jq -e '.[1].state == "nonoptimized" and .[1].preferred == false' <<<"$out" >/dev/null &&
		jq -e '.[2].targets == "'"$IQN_PEER"':10" and .[2].state == "standby"' <<<"$out" >/dev/null
}

check_json() {
	local out
	out=$(adm -j show config) || return 1
	jq '.alua' <<<"$out"
	jq -e '.alua[0].name == "dg0" and .alua[0].devices == ["disk0"] and
		(.alua[0].target_groups | length) == 3 and
		.alua[0].target_groups[2].targets[0].rel_tgt_id == 10 and
		.alua[0].target_groups[0].preferred == true' <<<"$out" >/dev/null
}

round_trip() {
	adm config write "$LIB_TMP/written.conf" >/dev/null || return 1
	grep -A40 DEVICE_GROUP "$LIB_TMP/written.conf"
	local out
	out=$(adm config apply "$LIB_TMP/written.conf") || return 1
	echo "$out"
	[[ $out == "no changes" ]]
}

run_client() {
	local a b
	printf -v a '%q -s %q alua dg0 local_b state standby' "$USCSTADMIN" "$DAEMON_SOCK"
	printf -v b '%q -s %q alua dg0 local_b state active' "$USCSTADMIN" "$DAEMON_SOCK"
	timeout 40 "$CLIENT" "iscsi://127.0.0.1:$DAEMON_PORT/$IQN_A/0" \
		"iscsi://127.0.0.1:$DAEMON_PORT/$IQN_B/0" "$a" "$b"
}

state_of() { adm -j list alua | jq -r ".[] | select(.target_group == \"$1\") | .state"; }

apply_state() {
	conf "$LIB_TMP/unavail.conf" unavailable
	local out
	out=$(adm config apply "$LIB_TMP/unavail.conf") || return 1
	echo "$out"
	grep -q "set ALUA device groups" <<<"$out" && [[ $(state_of local_b) == unavailable ]]
}

apply_bad() {
	conf "$LIB_TMP/bad.conf" active nosuchdev
	local out rc=0
	out=$(adm config apply "$LIB_TMP/bad.conf" 2>&1) || rc=$?
	echo "$out (exit $rc)"
	((rc == 1)) && grep -q "unknown device 'nosuchdev'" <<<"$out" &&
		[[ $(state_of local_b) == unavailable ]]
}

admin_bad() {
	local out rc=0
	out=$(adm alua dg0 local_b state sleepy 2>&1) || rc=$?
	echo "$out (exit $rc)"
	((rc == 1)) && grep -q "unknown state 'sleepy'" <<<"$out" || return 1
	rc=0
	out=$(adm alua dg0 nosuchtg state active 2>&1) || rc=$?
	echo "$out (exit $rc)"
	((rc == 1)) && grep -q "no target group 'nosuchtg'" <<<"$out" || return 1
	out=$(adm alua dg0 local_b preferred 1) && echo "$out" &&
		[[ $(adm -j list alua | jq -r '.[1].preferred') == true ]]
}

# tpg_conf FILE: one target, portal group 2 (rel_tgt_id 7) on 127.0.0.2.
tpg_conf() {
	cat >"$1" <<-CONF
		HANDLER vdisk_fileio {
		    DEVICE disk0 {
		        filename $LIB_TMP/disk0.img
		        expl_alua 1
		    }
		}

		TARGET_DRIVER iscsi {
		    enabled 1
		    TARGET $IQN_A {
		        rel_tgt_id 1
		        portal_group "2 7 127.0.0.2"
		        LUN 0 disk0
		    }
		}

		DEVICE_GROUP dg0 {
		    DEVICE disk0
		    TARGET_GROUP local_a {
		        group_id 1
		        preferred 1
		        TARGET $IQN_A
		    }
		    TARGET_GROUP local_b {
		        group_id 2
		        state nonoptimized
		        TARGET $IQN_A {
		            rel_tgt_id 7
		        }
		    }
		}
	CONF
}

tpg_discovery() {
	local out host port
	# Through either portal: both portal groups, each with its tag.
	for host in 127.0.0.1 127.0.0.2; do
		port=$DAEMON_PORT
		[[ $host == 127.0.0.2 ]] && port=$PORT2
		out=$(timeout 20 iscsi-ls "iscsi://$host:$port" 2>&1) || return 1
		echo "$out"
		grep -q "Target:$IQN_A Portal:127.0.0.2:$PORT2,2" <<<"$out" &&
			grep -q "Target:$IQN_A Portal:127.0.0.1:$DAEMON_PORT,1" <<<"$out" || return 1
	done
}

tpg_client() {
	local a b
	printf -v a '%q -s %q alua dg0 local_b state standby' "$USCSTADMIN" "$DAEMON_SOCK"
	printf -v b '%q -s %q alua dg0 local_b state active' "$USCSTADMIN" "$DAEMON_SOCK"
	timeout 40 "$CLIENT" "iscsi://127.0.0.1:$DAEMON_PORT/$IQN_A/0" \
		"iscsi://127.0.0.2:$PORT2/$IQN_A/0" "$a" "$b"
}

tpg_bad_port() {
	local out rc=0
	sed 's/rel_tgt_id 7$/rel_tgt_id 9/' "$LIB_TMP/tpg.conf" >"$LIB_TMP/tpg-bad.conf"
	grep -q 'rel_tgt_id 9' "$LIB_TMP/tpg-bad.conf" || return 1
	out=$(adm config apply "$LIB_TMP/tpg-bad.conf" 2>&1) || rc=$?
	echo "$out (exit $rc)"
	((rc == 1)) &&
		grep -q "target '$IQN_A' has no target port with rel_tgt_id 9 (its ports: 1, 7)" <<<"$out"
}

tpg_dup_id() {
	local conf=$LIB_TMP/tpg-dup.conf port rc=0 line
	# A second target whose rel_tgt_id is portal group 2's.
	sed "0,/TARGET $IQN_A {/s|^\(\s*\)TARGET $IQN_A {|\1TARGET $IQN_B {\n\1    rel_tgt_id 7\n\1}\n&|" \
		"$LIB_TMP/tpg.conf" >"$conf"
	line=$(grep -n 'portal_group "2 7' "$conf" | cut -d: -f1)
	port=$(free_port 15260) || return 1
	timeout 20 "$USCSTD" -f -c "$conf" --listen "127.0.0.1:$port" \
		--ctl-socket "$LIB_TMP/dup.sock" --pr-dir "$LIB_TMP/pr" \
		>"$LIB_TMP/dup.log" 2>&1 </dev/null || rc=$?
	cat "$LIB_TMP/dup.log"
	((rc != 0 && rc != 124)) &&
		grep -q "$conf:$line:.*relative target port id 7 is already target '$IQN_B''s rel_tgt_id" \
			"$LIB_TMP/dup.log"
}

portal_groups() {
	local first_log=$DAEMON_LOG
	daemon_stop || fail alua:daemon-exit "uscstd did not stop cleanly"
	if sanitizer_report "$first_log" >/dev/null; then
		fail alua:sanitizer "report in the first uscstd's log"
		sanitizer_report "$first_log" | head -n 20 | sed 's/^/  | /'
	fi
	PORT2=$(free_port 14260) || return 1
	tpg_conf "$LIB_TMP/tpg.conf"
	if ! DAEMON_LOG_FILE=$LIB_TMP/uscstd-tpg.log daemon_start "$LIB_TMP/tpg.conf" \
		--listen "127.0.0.2:$PORT2"; then
		fail alua:tpg-start
		return
	fi
	check alua:tpg-discovery tpg_discovery
	if [[ -x $CLIENT ]]; then
		check alua:tpg-client tpg_client
	fi
	check alua:tpg-bad-port tpg_bad_port
	check alua:tpg-dup-id tpg_dup_id
}

main() {
	lib_init "${1:-}"
	CLIENT=$USCST_BUILD/tests/alua_client
	truncate -s $((16 << 20)) "$LIB_TMP/disk0.img"
	conf "$LIB_TMP/scst.conf" nonoptimized
	if ! daemon_start "$LIB_TMP/scst.conf"; then
		fail alua:start
		lib_finish
		return
	fi
	pass alua:start
	check alua:list check_list
	check alua:json check_json
	check alua:round-trip round_trip
	if [[ -x $CLIENT ]]; then
		check alua:client run_client
	elif [[ -e /usr/include/iscsi/iscsi.h ]]; then
		fail alua:client "$CLIENT not built (make all)"
	else
		echo "SKIP alua:client (libiscsi-dev not installed)"
	fi
	check alua:apply-state apply_state
	check alua:apply-bad apply_bad
	check alua:admin-bad admin_bad
	portal_groups
	lib_finish
}

main "$@"
