#!/usr/bin/env bash
# ErrorRecoveryLevel 1 (RFC 7143 7.x, SNACK 11.16): runs every case of
# BUILD/tests/erl1_client against one uscstd with an ERL 1 target (both
# digests, MaxSessionMemory 4 MiB so the retention bound is reached with a
# few reads) and a target left at the default ERL 0.  A case passes when
# the client says "ok" and the daemon still runs.
# Usage: tests/integration/erl1.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IQN=iqn.2026-11.org.uscst:erl1

main() {
	local name out rc
	lib_init "${1:-}"
	CLIENT=$USCST_BUILD/tests/erl1_client
	if [[ ! -x $CLIENT ]]; then
		make --no-print-directory -C "$USCST_ROOT" BUILD="$USCST_BUILD" \
			"$USCST_BUILD/tests/erl1_client" >/dev/null
	fi
	write_config "$LIB_TMP/scst.conf" "$IQN-unused" "$LIB_TMP/disk0.img" $((16 << 20))
	cat >>"$LIB_TMP/scst.conf" <<-CONF
		TARGET_DRIVER iscsi {
		    TARGET $IQN {
		        ErrorRecoveryLevel 1
		        HeaderDigest CRC32C
		        DataDigest CRC32C
		        MaxSessionMemory 4
		        QueuedCommands 32
		        LUN 0 disk0
		    }
		    TARGET $IQN-erl0 {
		        LUN 0 disk0
		    }
		    TARGET $IQN-r2t {
		        ErrorRecoveryLevel 1
		        MaxOutstandingR2T 65535
		        MaxSessionMemory 64
		        LUN 0 disk0
		    }
		}
	CONF
	if ! daemon_start "$LIB_TMP/scst.conf"; then
		fail erl1:start
		lib_finish
		return
	fi
	while read -r name; do
		[[ -z ${ERL1_ONLY:-} || $name =~ $ERL1_ONLY ]] || continue
		rc=0
		out=$(timeout 30 "$CLIENT" 127.0.0.1 "$DAEMON_PORT" "$IQN" "$name" 2>&1) || rc=$?
		if ! daemon_alive; then
			fail "erl1:$name" "uscstd died; client said: ${out:-nothing}"
			tail -n 20 "$DAEMON_LOG" | sed 's/^/  | /'
			break
		elif ((rc == 0)); then
			pass "erl1:$name"
		else
			fail "erl1:$name" "${out#error: }"
		fi
	done < <("$CLIENT" --list)
	lib_finish
}

main "$@"
