#!/usr/bin/env bash
# pr-persist: persistent reservations across restarts of uscstd.  With
# --pr-dir, disk0 keeps its PR state in PR_DIR/disk0: a REGISTER with APTPL=1
# and a Write Exclusive RESERVE are still there after SIGTERM and a new
# uscstd on the same config, for the same initiator port (pr_persist_client
# logs in with a fixed name and ISID); the registration that clears APTPL
# removes the file, and without APTPL nothing survives.  A device with an
# empty pr_file_name refuses APTPL=1 (PTPL_C=0), and a malformed PR file
# stops uscstd at start-up with the file and line in the message.
# Usage: tests/integration/pr-persist.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IQN=iqn.2026-11.org.uscst:prpersist

write_pr_config() {
	truncate -s $((64 * 1024 * 1024)) "$LIB_TMP/disk0.img"
	cat >"$CONF" <<-CONF
		HANDLER vdisk_fileio {
		    DEVICE disk0 {
		        filename $LIB_TMP/disk0.img
		    }
		}

		HANDLER vdisk_nullio {
		    DEVICE null0 {
		        size_mb 16
		        pr_file_name ""
		    }
		}

		TARGET_DRIVER iscsi {
		    enabled 1
		    TARGET $IQN {
		        enabled 1
		        LUN 0 disk0
		        LUN 1 null0
		    }
		}
	CONF
}

# client STEP LUN
client() {
	timeout 30 "$PR_CLIENT" "iscsi://127.0.0.1:$DAEMON_PORT/$IQN/$2" "$1"
}

# Stops our daemon by PID (SIGTERM) and starts a new one on the same config.
restart() {
	daemon_stop && daemon_start "$CONF" --pr-dir "$PR_DIR"
}

# uscstd must exit with status 1 naming PR_DIR/disk0 and the bad line.
malformed_refused() {
	local port rc=0 out
	printf 'uscst-pr 1\ngeneration 3\nregistrant 1 0 0 0x11\n' >"$PR_DIR/disk0"
	port=$(free_port "${PORT_BASE:-13260}")
	out=$(timeout 10 "$USCSTD" -f -c "$CONF" --pr-dir "$PR_DIR" \
		--listen "127.0.0.1:$port" --ctl-socket "$LIB_TMP/refused.sock" 2>&1) || rc=$?
	echo "$out (exit $rc)"
	((rc == 1)) && grep -qF "$PR_DIR/disk0:3:" <<<"$out"
}

main() {
	lib_init "${1:-}"
	PR_CLIENT=$USCST_BUILD/tests/pr_persist_client
	CONF=$LIB_TMP/scst.conf
	PR_DIR=$LIB_TMP/pr
	write_pr_config
	if [[ ! -x $PR_CLIENT ]]; then
		if [[ -e /usr/include/iscsi/iscsi.h ]]; then
			fail pr-persist:client "$PR_CLIENT not built (make all)"
		else
			echo "SKIP pr-persist:restart checks (libiscsi-dev not installed)"
		fi
	elif ! daemon_start "$CONF" --pr-dir "$PR_DIR"; then
		fail pr-persist:start
	else
		check pr-persist:aptpl-register client register-aptpl 0
		check pr-persist:file-written test -s "$PR_DIR/disk0"
		check pr-persist:restart-1 restart
		check pr-persist:restored client check-reserved 0
		check pr-persist:aptpl-cleared-file-removed test ! -e "$PR_DIR/disk0"
		check pr-persist:restart-2 restart
		check pr-persist:not-kept-after-aptpl-0 client check-empty 0
		check pr-persist:plain-register client register-plain 0
		check pr-persist:plain-no-file test ! -e "$PR_DIR/disk0"
		check pr-persist:restart-3 restart
		check pr-persist:plain-lost client check-empty 0
		check pr-persist:no-ptpl-c-refused client aptpl-refused 1
		daemon_stop || fail pr-persist:stop "uscstd did not stop cleanly"
	fi
	mkdir -p "$PR_DIR"
	check pr-persist:malformed-refused malformed_refused
	lib_finish
}

main "$@"
