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
		--ctl-socket "$LIB_TMP/bad.sock" --pr-dir "$LIB_TMP/pr" 2>&1 </dev/null) || rc=$?
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

# run_bad_msg NAME LINE WORD...: run_bad, and the output names every WORD
# (e.g. both devices).
run_bad_msg() {
	local name=$1 line=$2 out word
	shift 2
	out=$(run_bad "$name" "$line") || {
		echo "$out"
		return 1
	}
	echo "$out"
	for word in "$@"; do
		grep -qF -- "$word" <<<"$out" || {
			echo "message lacks '$word'"
			return 1
		}
	done
}

# two_fileio NAME FILE_A FILE_B: two vdisk_fileio devices d3 and d4 on
# FILE_A and FILE_B; d4's filename is line 7.
two_fileio() {
	cat >"$LIB_TMP/$1.conf" <<-CONF
		# two devices, one backing file?
		HANDLER vdisk_fileio {
		    DEVICE d3 {
		        filename $2
		    }
		    DEVICE d4 {
		        filename $3
		    }
		}
	CONF
}

# two_nullio NAME PR_A PR_B: two vdisk_nullio devices d3 and d4; an empty
# PR_x leaves pr_file_name out (the default --pr-dir/NAME). d4's DEVICE is
# line 6, its pr_file_name line 7.
two_nullio() {
	{
		echo '# two devices, one PR file?'
		echo 'HANDLER vdisk_nullio {'
		echo '    DEVICE d3 {'
		if [[ -n $2 ]]; then echo "        pr_file_name $2"; else echo '        size_mb 1'; fi
		echo '    }'
		echo '    DEVICE d4 {'
		if [[ -n $3 ]]; then echo "        pr_file_name $3"; else echo '        size_mb 1'; fi
		echo '    }'
		echo '}'
	} >"$LIB_TMP/$1.conf"
}

# Issue 11: two devices on one backing file would keep separate
# reservations and COMPARE AND WRITE locks over the same blocks; two
# devices on one PR file load each other's registrations after a restart.
# Both must be refused at load time, whatever the spelling of the path.
shared_files() {
	local img=$LIB_TMP/shared.img
	truncate -s 1M "$img"
	mkdir -p "$LIB_TMP/sub"
	ln -s "$img" "$LIB_TMP/shared-symlink.img"
	ln "$img" "$LIB_TMP/shared-hardlink.img"
	two_fileio shared-backing-same "$img" "$img"
	check badconfig:shared-backing-same-name run_bad_msg shared-backing-same 7 d3 d4
	two_fileio shared-backing-path "$img" "$LIB_TMP/sub/../shared.img"
	check badconfig:shared-backing-other-path run_bad_msg shared-backing-path 7 d3 d4
	two_fileio shared-backing-symlink "$img" "$LIB_TMP/shared-symlink.img"
	check badconfig:shared-backing-symlink run_bad_msg shared-backing-symlink 7 d3 d4
	two_fileio shared-backing-hardlink "$LIB_TMP/shared-hardlink.img" "$img"
	check badconfig:shared-backing-hardlink run_bad_msg shared-backing-hardlink 7 d3 d4
	two_fileio distinct-backing "$img" "$LIB_TMP/other.img"
	truncate -s 1M "$LIB_TMP/other.img"
	check badconfig:distinct-backing-accepted run_good distinct-backing

	two_nullio shared-pr-same "$LIB_TMP/prfile" "$LIB_TMP/prfile"
	check badconfig:shared-pr-file-name run_bad_msg shared-pr-same 7 d3 d4
	two_nullio shared-pr-path "$LIB_TMP/newdir/prfile" "$LIB_TMP/sub/../newdir/./prfile"
	check badconfig:shared-pr-file-other-path run_bad_msg shared-pr-path 7 d3 d4
	# d4's pr_file_name is d3's default file --pr-dir/d3 (run_bad passes
	# --pr-dir $LIB_TMP/pr), and the other way round.
	two_nullio shared-pr-default "" "$LIB_TMP/pr/d3"
	check badconfig:pr-file-name-is-default-of-other run_bad_msg shared-pr-default 7 d3 d4
	two_nullio shared-pr-default2 "$LIB_TMP/pr/d4" ""
	check badconfig:default-pr-file-is-pr-file-name-of-other \
		run_bad_msg shared-pr-default2 6 d3 d4
}

# run_good NAME: uscstd starts on $LIB_TMP/NAME.conf (and is stopped).
run_good() {
	daemon_start "$LIB_TMP/$1.conf" && daemon_stop
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
	shared_files
	lib_finish
}

main "$@"
