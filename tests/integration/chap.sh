#!/usr/bin/env bash
# CHAP (IncomingUser/OutgoingUser) with libiscsi's tools, credentials in
# the iscsi:// URL: the right secret logs in, a wrong one is refused;
# mutual CHAP (target_user/target_password) with the right and a wrong
# target secret; discovery CHAP (iscsi-ls, the TARGET_DRIVER account);
# AuthMethod=None and a login without CHAP are refused by a CHAP target;
# no secret ever reaches the daemon's log.  (Targets without accounts are
# what every other test logs in to.)
# Usage: tests/integration/chap.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IQN=iqn.2026-12.org.uscst:chap
USER=alice
SECRET=alicesecret12
TUSER=tgtuser
TSECRET=targetsecret123
DUSER=disc
DSECRET=discoverysecret1

write_chap_config() {
	truncate -s 64M "$LIB_TMP/disk0.img"
	cat >"$LIB_TMP/scst.conf" <<-CONF
		HANDLER vdisk_fileio {
		    DEVICE disk0 {
		        filename $LIB_TMP/disk0.img
		    }
		}
		TARGET_DRIVER iscsi {
		    enabled 1
		    IncomingUser "$DUSER $DSECRET"
		    TARGET $IQN {
		        IncomingUser "$USER $SECRET"
		        IncomingUser "$DUSER $DSECRET"
		        OutgoingUser "$TUSER $TSECRET"
		        LUN 0 disk0
		    }
		}
	CONF
}

url() { echo "iscsi://$1@127.0.0.1:$DAEMON_PORT/$IQN/0${2:-}"; }

inq_ok() {
	local out
	out=$(timeout 20 iscsi-inq "$1" 2>&1)
	echo "$out"
	grep -q '^Peripheral Device Type:DIRECT_ACCESS' <<<"$out"
}

# inq_refused URL WORD: iscsi-inq fails and says WORD.
inq_refused() {
	local out rc=0
	out=$(timeout 20 iscsi-inq "$1" 2>&1) || rc=$?
	echo "exit $rc: $out"
	((rc != 0 && rc != 124)) && grep -qi -- "$2" <<<"$out"
}

check_right() { inq_ok "$(url "$USER%$SECRET")"; }
check_wrong() { inq_refused "$(url "$USER%alicesecret13")" "Authentication failure"; }
check_unknown_user() { inq_refused "$(url "mallory%$SECRET")" "Authentication failure"; }
# libiscsi without credentials goes straight to the operational stage.
check_no_chap() { inq_refused "iscsi://127.0.0.1:$DAEMON_PORT/$IQN/0" "Authentication failure"; }
check_mutual() { inq_ok "$(url "$USER%$SECRET" "?target_user=$TUSER&target_password=$TSECRET")"; }
check_mutual_wrong() {
	inq_refused "$(url "$USER%$SECRET" "?target_user=$TUSER&target_password=targetsecret124")" \
		"CHAP_R"
}

# Discovery with the driver's account lists the targets; -s then logs in
# to each with the same account (the CHAP target has it too).
check_discovery() {
	local out
	out=$(timeout 20 iscsi-ls -s "iscsi://$DUSER%$DSECRET@127.0.0.1:$DAEMON_PORT" 2>&1)
	echo "$out"
	grep -q "^Target:$IQN " <<<"$out" &&
		grep -Eq '^Lun:0[[:space:]]+Type:DIRECT_ACCESS' <<<"$out"
}

check_discovery_wrong() {
	local out rc=0
	out=$(timeout 20 iscsi-ls "iscsi://$DUSER%discoverysecret2@127.0.0.1:$DAEMON_PORT" 2>&1) ||
		rc=$?
	echo "exit $rc: $out"
	((rc != 0)) && ! grep -q "^Target:" <<<"$out"
}

check_discovery_none() {
	local out rc=0
	out=$(timeout 20 iscsi-ls "iscsi://127.0.0.1:$DAEMON_PORT" 2>&1) || rc=$?
	echo "exit $rc: $out"
	((rc != 0)) && ! grep -q "^Target:" <<<"$out"
}

# A raw Login Request (T=1, CSG security, NSG operational) offering only
# AuthMethod=None; prints the response's status class and detail.
login_status_auth_none() {
	local data len pad hdr status
	data="InitiatorName=iqn.2026-12.org.uscst:raw\0SessionType=Normal\0TargetName=$IQN\0AuthMethod=None\0"
	len=$(printf "$data" | wc -c)
	pad=$(((4 - len % 4) % 4))
	hdr=$(printf '\\x43\\x81\\x00\\x00\\x00\\x%02x\\x%02x\\x%02x' 0 $((len >> 8)) $((len & 255)))
	exec 3<>"/dev/tcp/127.0.0.1/$DAEMON_PORT"
	{
		printf "$hdr"
		printf '\x80\x00\x00\x00\x00\x01\x00\x00' # ISID, TSIH 0
		printf '\x00\x00\x00\x07\x00\x01\x00\x00' # ITT, CID 1
		printf '\x00\x00\x00\x01\x00\x00\x00\x00' # CmdSN 1, ExpStatSN 0
		printf '\x00%.0s' {1..16}
		printf "$data"
		((pad == 0)) || printf '\x00%.0s' $(seq "$pad")
	} >&3
	status=$(timeout 10 head -c 48 <&3 | od -An -tx1 -j36 -N2 | tr -d ' \n')
	exec 3<&-
	echo "$status"
}

check_auth_none() {
	local status
	status=$(login_status_auth_none)
	echo "status $status"
	[[ $status == 0201 ]]
}

check_no_secret_logged() {
	cat "$DAEMON_LOG"
	! grep -qF -e "$SECRET" -e "$TSECRET" -e "$DSECRET" "$DAEMON_LOG" &&
		grep -q "authenticated by CHAP" "$DAEMON_LOG"
}

main() {
	lib_init "${1:-}"
	write_chap_config
	if ! daemon_start "$LIB_TMP/scst.conf"; then
		fail chap:start
		lib_finish
		return
	fi
	check chap:right-secret check_right
	check chap:wrong-secret check_wrong
	check chap:unknown-user check_unknown_user
	check chap:no-chap-refused check_no_chap
	check chap:auth-none-refused check_auth_none
	check chap:mutual check_mutual
	check chap:mutual-wrong-target-secret check_mutual_wrong
	check chap:discovery check_discovery
	check chap:discovery-wrong-secret check_discovery_wrong
	check chap:discovery-without-chap check_discovery_none
	check chap:right-secret-again check_right
	check chap:no-secret-in-log check_no_secret_logged
	lib_finish
}

main "$@"
