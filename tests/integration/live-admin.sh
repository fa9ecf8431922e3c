#!/usr/bin/env bash
# live-admin: every kind of run-time change through uscstadmin while a
# libiscsi client keeps verified I/O running on LUN 0 of target T1
# (live_io_client, built when libiscsi-dev is installed).  Session A (in
# T1's default map, then moved to group ga) does the I/O; session B (group
# gb of T1, which no step touches) and session C (target T2) must see only
# what their own step does to them.  Each step prints the unit attentions
# A and B met; they are checked here against what that step must raise:
#   add device       nothing
#   map LUN 1        A: REPORTED LUNS DATA HAS CHANGED (3Fh/0Eh)
#   move A to ga     A: 3Fh/0Eh
#   50 x LUN 2 of ga added and removed: A: 3Fh/0Eh
#   resize null1     A: CAPACITY DATA HAS CHANGED (2Ah/09h)
#   CHAP secret      nothing; a new login needs the new secret
#   disable T2       C's session closed, no new login; A and B nothing
#   enable T2        C logs in again
#   close C's session  C's next command fails, a new login works
#   remove device    refused while LUN 1 maps it (the answer names it)
#   unmap LUN 1      (of the default map and of ga) A: 3Fh/0Eh
#   remove device    done
#   add a portal     a login through it works; nobody notices
#   remove it        no login through it; nobody notices
# B sees nothing at any step, and A's I/O never fails or reads back wrong.
# Then 1,000 LUNs are added one by one (one uscstadmin each) and timed.
# Usage: tests/integration/live-admin.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

T1=iqn.2026-12.org.uscst:live1
T2=iqn.2026-12.org.uscst:live2
INI_A=iqn.2026-12.org.uscst:live-a
INI_B=iqn.2026-12.org.uscst:live-b
INI_C=iqn.2026-12.org.uscst:live-c # live_io_client's third session
CUSER=liveuser
CSECRET=livesecret0001
NEWSECRET=livesecret0002

write_live_config() {
	truncate -s 64M "$LIB_TMP/disk0.img"
	cat >"$LIB_TMP/scst.conf" <<-CONF
		HANDLER vdisk_fileio {
		    DEVICE disk0 {
		        filename $LIB_TMP/disk0.img
		    }
		}
		HANDLER vdisk_nullio {
		    DEVICE null2 {
		        size_mb 16
		    }
		}
		TARGET_DRIVER iscsi {
		    enabled 1
		    TARGET $T1 {
		        IncomingUser "$CUSER $CSECRET"
		        LUN 0 disk0
		        GROUP gb {
		            LUN 0 disk0
		            INITIATOR $INI_B
		        }
		    }
		    TARGET $T2 {
		        LUN 0 null2
		    }
		}
	CONF
}

adm() { "$USCSTADMIN" -s "$DAEMON_SOCK" "$@"; }

# inq_login SECRET: a fresh login to T1 with that CHAP secret works.
inq_login() {
	timeout 20 iscsi-inq "iscsi://$CUSER%$1@127.0.0.1:$DAEMON_PORT/$T1/0" >/dev/null 2>&1
}

# The steps, as live_io_client runs them: NAME|C|COMMAND.
steps() {
	local a
	printf -v a '%q -s %q' "$USCSTADMIN" "$DAEMON_SOCK"
	local inq="timeout 20 iscsi-inq iscsi://$CUSER%%%s@127.0.0.1:$DAEMON_PORT/$T1/0 >/dev/null 2>&1"
	local inq_new inq_old
	# shellcheck disable=SC2059
	printf -v inq_new "$inq" "$NEWSECRET"
	# shellcheck disable=SC2059
	printf -v inq_old "$inq" "$CSECRET"
	STEPS=(
		"add-device|up|$a device add vdisk_nullio null1 size_mb=16"
		"map-lun1|up|$a lun add $T1 1 null1"
		"move-a|up|$a group add $T1 ga && $a lun add $T1 group ga 0 disk0 && $a lun add $T1 group ga 1 null1 && $a initiator add $T1 ga $INI_A"
		"churn|up|for i in \$(seq 50); do $a lun add $T1 group ga 2 disk0 >/dev/null && $a lun remove $T1 group ga 2 >/dev/null || exit 1; done"
		"resize|up|$a device null1 resize 32M"
		"chap|up|$a chap add $T1 in $CUSER $NEWSECRET && $inq_new && ! $inq_old"
		"disable-t2|down|$a target disable $T2"
		"enable-t2|login|$a target enable $T2"
		"close-c|relogged|$a session close $T2 $INI_C"
		"remove-mapped|up|! $a device remove null1 && $a device remove null1 2>&1 | grep -q 'still mapped by target $T1 LUN 1'"
		"unmap-lun1|up|$a lun remove $T1 1 && $a lun remove $T1 group ga 1"
		"remove-device|up|$a device remove null1"
		"portal-add|up|$a portal add iscsi 127.0.0.1:$PORT2 && timeout 20 iscsi-inq iscsi://127.0.0.1:$PORT2/$T2/0"
		"portal-remove|up|$a portal remove iscsi 127.0.0.1:$PORT2 && ! timeout 10 iscsi-inq iscsi://127.0.0.1:$PORT2/$T2/0"
	)
}

# expect_step NAME A B C: the client's line for NAME says exactly that.
expect_step() {
	local line
	line=$(grep "^STEP $1 " "$LIB_TMP/client.out") || {
		echo "no line for step $1"
		return 1
	}
	echo "$line"
	[[ $line =~ ^STEP\ $1\ rc=0\ ios=[1-9][0-9]*\ A=$2\ B=$3\ C=$4$ ]] || {
		echo "what the steps printed:"
		cat "$LIB_TMP/client.out" "$LIB_TMP/client.err"
		return 1
	}
}

run_client() {
	steps
	local rc=0
	# On a sanitizer build: libiscsi leaks the task of a synchronous
	# command whose session was closed under it (scsi_cdb_testunitready's
	# allocation), which the disable step does on purpose.
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 timeout 300 "$CLIENT" \
		"iscsi://$CUSER%$CSECRET@127.0.0.1:$DAEMON_PORT/$T1/0" \
		"iscsi://$CUSER%$CSECRET@127.0.0.1:$DAEMON_PORT/$T1/0" \
		"iscsi://127.0.0.1:$DAEMON_PORT/$T2/0" "$INI_B" "${STEPS[@]}" \
		>"$LIB_TMP/client.out" 2>"$LIB_TMP/client.err" || rc=$?
	cat "$LIB_TMP/client.out" "$LIB_TMP/client.err"
	((rc == 0))
}

# remove_under_io: LUN 1 of T2 (disk0: reads go through io_uring, so some
# are in flight) is removed while iscsi-perf (QD 32, errors ignored) runs
# on it: the verb returns, and every command gets an answer: those not
# started yet LOGICAL UNIT NOT SUPPORTED, the running ones their own.
# iscsi-perf waits for every answer when it is told to stop, so it must
# then end within seconds; the daemon lives.
remove_under_io() {
	adm lun add "$T2" 1 disk0 || return 1
	iscsi-perf -n -x 0 -t 60 -r -m 32 -b 8 "iscsi://127.0.0.1:$DAEMON_PORT/$T2/1" \
		>"$LIB_TMP/perf.out" 2>&1 &
	local perf=$! rc=0 i
	sleep 2
	timeout 20 "$USCSTADMIN" -s "$DAEMON_SOCK" lun remove "$T2" 1 || rc=1
	sleep 1
	kill "$perf" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$perf" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$perf" 2>/dev/null; then
		echo "iscsi-perf still waits for answers 10 s after it was told to stop"
		kill -9 "$perf" 2>/dev/null || true
		rc=1
	fi
	wait "$perf" 2>/dev/null || true
	tr "\r" "\n" <"$LIB_TMP/perf.out" | grep -v "^ *$" | tail -n 2
	grep "unmapped LUN still running" "$DAEMON_LOG" || echo "(no command was running)"
	daemon_alive && ((rc == 0))
}

# 1,000 LUNs added one by one to T2 (an uscstadmin process each), timed.
add_many_luns() {
	local start end i
	adm device add vdisk_nullio many size_mb=1 || return 1
	start=$(date +%s%N)
	for ((i = 1; i <= 1000; i++)); do
		adm lun add "$T2" "$i" many >/dev/null || return 1
	done
	end=$(date +%s%N)
	echo "1000 LUNs added one by one in $(((end - start) / 1000000)) ms"
	timeout 20 iscsi-ls -s "iscsi://127.0.0.1:$DAEMON_PORT" >/dev/null 2>&1 || true
	adm show config | grep -c "LUN [0-9]* many" | grep -qx 1000
}

main() {
	lib_init "${1:-}"
	CLIENT=$USCST_BUILD/tests/live_io_client
	if [[ ! -x $CLIENT ]]; then
		if [[ -e /usr/include/iscsi/iscsi.h ]]; then
			fail live-admin:client "$CLIENT not built (make all)"
		else
			echo "SKIP live-admin (libiscsi-dev not installed)"
		fi
		lib_finish
		return
	fi
	write_live_config
	if ! daemon_start "$LIB_TMP/scst.conf"; then
		fail live-admin:start
		lib_finish
		return
	fi
	# Away from the ports other tests' daemons start from.
	PORT2=$(free_port $((DAEMON_PORT + 2000)))
	check live-admin:io-never-fails run_client
	cat "$LIB_TMP/client.out"
	check live-admin:add-device expect_step add-device - - up
	check live-admin:map-lun1 expect_step map-lun1 3f0e - up
	check live-admin:move-initiator expect_step move-a 3f0e - up
	check live-admin:churn expect_step churn 3f0e - up
	check live-admin:resize expect_step resize 2a09 - up
	check live-admin:chap-secret expect_step chap - - up
	check live-admin:disable-other-target expect_step disable-t2 - - down
	check live-admin:enable-other-target expect_step enable-t2 - - login
	check live-admin:session-close expect_step close-c - - relogged
	check live-admin:remove-mapped-refused expect_step remove-mapped - - up
	check live-admin:unmap-lun1 expect_step unmap-lun1 3f0e - up
	check live-admin:remove-device expect_step remove-device - - up
	check live-admin:portal-add expect_step portal-add - - up
	check live-admin:portal-remove expect_step portal-remove - - up
	check live-admin:old-secret-refused bash -c "! timeout 20 iscsi-inq iscsi://$CUSER%$CSECRET@127.0.0.1:$DAEMON_PORT/$T1/0"
	check live-admin:remove-under-io remove_under_io
	cat "$LIB_TMP"/check-live-admin:remove-under-io.log
	check live-admin:1000-luns add_many_luns
	grep -h "LUNs added" "$LIB_TMP"/check-live-admin:1000-luns.log || true
	lib_finish
}

main "$@"
