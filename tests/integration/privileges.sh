#!/usr/bin/env bash
# Privileges (issue 13, item 4): the control socket is mode 0600, or 0660
# with the group of --ctl-group; `uscstd --user NAME` runs as NAME (uid,
# primary gid, no supplementary groups, no capabilities) once its portals,
# devices and control socket are open, and still serves iSCSI and the
# control socket; an unknown user, or a drop that cannot be done, stops it.
# Dropping needs root: as another user the script says SKIP (not a pass).
# Usage: tests/integration/privileges.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IQN=iqn.2026-11.org.uscst:privileges
RUN_AS=nobody
RUN_GROUP=nogroup

check_mode() { # FILE MODE GROUP
	local got
	got=$(stat -c '%a %G %F' "$1")
	echo "$1: $got (want $2 $3 socket)"
	[[ $got == "$2 $3 socket" ]]
}

# /proc/PID/status of the daemon: every uid and gid is NAME's, no other
# group, no capability left.
check_creds() {
	local st uid gid
	uid=$(id -u "$RUN_AS")
	gid=$(id -g "$RUN_AS")
	st=$(cat "/proc/$DAEMON_PID/status")
	grep -E '^(Uid|Gid|Groups|CapPrm|CapEff):' <<<"$st"
	grep -Eq "^Uid:[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid$" <<<"$st" &&
		grep -Eq "^Gid:[[:space:]]+$gid[[:space:]]+$gid[[:space:]]+$gid[[:space:]]+$gid$" <<<"$st" &&
		grep -Eq '^Groups:[[:space:]]*$' <<<"$st" &&
		grep -Eq '^CapPrm:[[:space:]]+0+$' <<<"$st" &&
		grep -Eq '^CapEff:[[:space:]]+0+$' <<<"$st" &&
		# every thread, not only the main one
		! grep -EL "^Uid:[[:space:]]+$uid[[:space:]]" /proc/"$DAEMON_PID"/task/*/status | grep .
}

check_io() {
	timeout 20 iscsi-inq "iscsi://127.0.0.1:$DAEMON_PORT/$IQN/0" &&
		timeout 20 iscsi-readcapacity16 "iscsi://127.0.0.1:$DAEMON_PORT/$IQN/0"
}

# The portals accept only once root is gone: the acceptor's first line
# comes after the drop's.  (Before, it started with the portals, as root.)
check_accept_after_drop() {
	local drop acc
	drop=$(grep -n 'running as user' "$DAEMON_LOG" | head -n 1 | cut -d: -f1)
	acc=$(grep -n 'iscsi: accepting connections' "$DAEMON_LOG" | head -n 1 | cut -d: -f1)
	echo "drop at log line ${drop:-none}, acceptor at ${acc:-none}"
	[[ -n $drop && -n $acc ]] && ((drop < acc))
}

check_admin() {
	timeout 20 "$USCSTADMIN" -s "$DAEMON_SOCK" version | grep -q '^uscstd '
}

# check_refuses WHY ARGS...: uscstd ARGS (run through $AS_PREFIX if set)
# must exit non-zero within 20 s, saying why (WHY: a grep -E pattern).
check_refuses() {
	local why=$1 out rc=0
	shift
	out=$(timeout 20 ${AS_PREFIX:-} "$USCSTD" -f -c "$LIB_TMP/scst.conf" --listen "127.0.0.1:$(free_port 14260)" \
		--ctl-socket "$LIB_TMP/refuse.sock" --pr-dir "$LIB_TMP/pr" "$@" 2>&1) || rc=$?
	echo "exit $rc: $out"
	((rc != 0 && rc != 124)) && grep -Eq "$why" <<<"$out"
}

main() {
	lib_init "${1:-}"
	write_config "$LIB_TMP/scst.conf" "$IQN" "$LIB_TMP/disk0.img" 67108864
	if daemon_start "$LIB_TMP/scst.conf"; then
		check privileges:ctl-socket-0600 check_mode "$DAEMON_SOCK" 600 "$(id -gn)"
		daemon_stop || fail privileges:stop-0600
	else
		fail privileges:start-plain
	fi
	if ((EUID != 0)); then
		echo "SKIP privileges:--user/--ctl-group (needs root to change users; running as uid $EUID)"
		lib_finish
		return
	fi
	if daemon_start "$LIB_TMP/scst.conf" --user "$RUN_AS" --ctl-group "$RUN_GROUP"; then
		check privileges:ctl-socket-0660-group check_mode "$DAEMON_SOCK" 660 "$RUN_GROUP"
		check privileges:runs-as-user check_creds
		check privileges:accept-after-drop check_accept_after_drop
		check privileges:iscsi-after-drop check_io
		check privileges:ctl-after-drop check_admin
		daemon_stop || fail privileges:stop-after-drop
	else
		fail privileges:start-with-user
	fi
	check privileges:unknown-user-refused check_refuses 'no user' --user no-such-user-uscst
	check privileges:unknown-group-refused check_refuses 'no group' --ctl-group no-such-group-uscst
	check privileges:root-user-refused check_refuses 'is root' --user root
	# A drop that fails (not root any more: setgroups gets EPERM) stops the
	# daemon instead of leaving it running with the wrong ids.
	chmod 755 "$LIB_TMP"
	chmod 666 "$LIB_TMP/disk0.img"
	AS_PREFIX="setpriv --reuid=$RUN_AS --regid=$RUN_GROUP --clear-groups" \
		check privileges:failed-drop-refused check_refuses 'cannot drop privileges' \
		--user daemon --pr-dir "$LIB_TMP/pr-nobody"
	lib_finish
}

main "$@"
