#!/usr/bin/env bash
# A malformed config must make uscstd exit non-zero (not hang, not serve)
# with a message naming the file and the offending line.
# Usage: tests/integration/bad-config.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# run_bad NAME LINE: runs uscstd on $LIB_TMP/NAME.conf (already written) and
# checks: exits non-zero within 10 s, output has the path and line LINE
# ("FILE:LINE" or "line LINE").
run_bad() {
	local conf=$LIB_TMP/$1.conf line=$2 rc=0 out port
	port=$(free_port "${PORT_BASE:-13260}")
	out=$(timeout 10 "$USCSTD" -f -c "$conf" --listen "127.0.0.1:$port" \
		--ctl-socket "$LIB_TMP/bad.sock" 2>&1 </dev/null) || rc=$?
	echo "exit $rc; output:"
	echo "$out"
	if ((rc == 0 || rc == 124)); then
		echo "expected a prompt non-zero exit"
		return 1
	fi
	grep -qF "$conf" <<<"$out" || grep -qF "${conf##*/}" <<<"$out" || {
		echo "message lacks the file name"
		return 1
	}
	grep -Eq "(:$line([^0-9]|$))|([Ll]ine:? $line([^0-9]|$))" <<<"$out" || {
		echo "message lacks line $line"
		return 1
	}
}

# run_bad_any NAME LINE...: any of the given line numbers is acceptable.
run_bad_any() {
	local name=$1 line
	shift
	for line in "$@"; do
		run_bad "$name" "$line" && return 0
	done
	return 1
}

main() {
	lib_init "${1:-}"
	if [[ ! -x $USCSTD ]]; then
		fail badconfig:built "$USCSTD missing"
		lib_finish
		return
	fi
	# Stray closing brace on line 4.
	printf '%s\n' '# uscst test' 'TARGET_DRIVER iscsi {' '}' '}' >"$LIB_TMP/stray-brace.conf"
	check badconfig:stray-brace run_bad stray-brace 4
	# Unterminated block: the line '}' on 5 closes DEVICE, HANDLER (line 1)
	# stays open. A parser may name the unclosed opening (1, or the inner
	# one, 2) or the end of file (5); all are useful.
	printf '%s\n' 'HANDLER vdisk_fileio {' '    DEVICE disk0 {' \
		"        filename $LIB_TMP/x.img" '        size 1048576' '}' >"$LIB_TMP/unterminated.conf"
	check badconfig:unterminated-block run_bad_any unterminated 1 2 5
	lib_finish
}

main "$@"
