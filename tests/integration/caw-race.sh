#!/usr/bin/env bash
# caw-race: COMPARE AND WRITE is atomic against WRITE and against another
# COMPARE AND WRITE sent by a second session on another reactor thread
# (uscstd --threads 2).  caw_race_client (built when libiscsi-dev is
# installed) races, round after round, a CAW over 128 blocks with an 8-block
# WRITE inside the range, then two CAWs over the same range, and checks that
# each round ended as some serial order would have left it: no lost WRITE,
# no BUSY for the CAW that loses (it waits its turn).  Then a WRITE ATOMIC(16)
# over the range against a READ(16) of it: the READ sees all or none of it.
# Each mode is bounded
# by CAW_RACE_ROUNDS rounds (default 3000) and CAW_RACE_SECONDS (default 8).
# The same with write_through 1, whose writes go through RWF_DSYNC.
# Usage: tests/integration/caw-race.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IQN=iqn.2026-11.org.uscst:cawrace
ROUNDS=${CAW_RACE_ROUNDS:-3000}
SECONDS_PER_MODE=${CAW_RACE_SECONDS:-8}

write_caw_config() {
	truncate -s $((64 * 1024 * 1024)) "$LIB_TMP/disk0.img"
	cat >"$LIB_TMP/scst.conf" <<-CONF
		HANDLER vdisk_fileio {
		    DEVICE disk0 {
		        filename $LIB_TMP/disk0.img
		        write_through $1
		    }
		}

		TARGET_DRIVER iscsi {
		    enabled 1
		    TARGET $IQN {
		        enabled 1
		        LUN 0 disk0
		    }
		}
	CONF
}

# race MODE: the client's own bound plus a margin for login and logout.
race() {
	timeout $((SECONDS_PER_MODE + 20)) "$CLIENT" "iscsi://127.0.0.1:$DAEMON_PORT/$IQN/0" \
		"$1" "$ROUNDS" "$SECONDS_PER_MODE"
}

main() {
	lib_init "${1:-}"
	CLIENT=$USCST_BUILD/tests/caw_race_client
	if [[ ! -x $CLIENT ]]; then
		if [[ -e /usr/include/iscsi/iscsi.h ]]; then
			fail caw-race:client "$CLIENT not built (make all)"
		else
			echo "SKIP caw-race (libiscsi-dev not installed)"
		fi
		lib_finish
		return
	fi
	write_caw_config 0
	if ! daemon_start "$LIB_TMP/scst.conf" --threads 2; then
		fail caw-race:start
		lib_finish
		return
	fi
	check caw-race:caw-vs-write race write
	check caw-race:caw-vs-caw race caw
	check caw-race:atomic-vs-read race atomic
	grep -h '^caw_race_client [a-z]*: ' "$LIB_TMP"/check-caw-race:*.log || true
	daemon_stop || fail caw-race:daemon-exit
	write_caw_config 1
	if ! daemon_start "$LIB_TMP/scst.conf" --threads 2; then
		fail caw-race:start-write-through
		lib_finish
		return
	fi
	SECONDS_PER_MODE=$(((SECONDS_PER_MODE + 1) / 2))
	check caw-race:write-through-caw-vs-write race write
	grep -h '^caw_race_client [a-z]*: ' "$LIB_TMP"/check-caw-race:write-through*.log || true
	lib_finish
}

main "$@"
