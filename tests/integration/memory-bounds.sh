#!/usr/bin/env bash
# Memory, time and fairness bounds against hostile initiators (issue 11,
# items 10, 11, 13), with BUILD/tests/slow_reader.  Each part runs against
# its own uscstd --threads 1 (a fresh RSS baseline), is bounded to
# PART_TIMEOUT seconds, and ends with a fresh login + TEST UNIT READY +
# READ(10) on the same daemon.
#   a  slow reader: 48 in-window 16 MiB READs, the socket never read
#   b  48 immediate 16 MiB READs, socket never read; immediate commands
#      beyond ISCSI_MAX_IMMEDIATE_CMDS (16) are rejected with reason 0x06
#   c  20 connections each sending a 48-byte Login header announcing a
#      16 MiB data segment (and an AHS), left open
#   d  one session floods, another's TEST UNIT READY latency stays low
#   e  RspTimeout 2: a slow reader's connection is dropped
# For a-c the daemon's peak RSS (VmHWM) and, for c, peak virtual size
# (VmPeak) from /proc/PID/status must stay within the per-connection cap
# (QueuedCommands x MaxBurstLength = 64 x 1 MiB here) plus one command and
# a margin.
# Usage: tests/integration/memory-bounds.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IQN=iqn.2026-11.org.uscst:membounds
PART_TIMEOUT=${PART_TIMEOUT:-20}
MIB=$((1 << 20))
CAP_MB=64                       # QueuedCommands 64 x MaxBurstLength 1 MiB
RSS_LIMIT_MB=$((CAP_MB + 16 + ${MEM_MARGIN_MB:-32})) # + one 16 MiB READ + margin
VM_LIMIT_MB=${VM_LIMIT_MB:-64} # part c: virtual size growth
LATENCY_MS=${LATENCY_MS:-200}   # part d: worst TEST UNIT READY

indent() { sed 's/^/  | /' <<<"$1"; }

# status_kb FIELD: a /proc/PID/status field of the daemon, in kB.
status_kb() {
	awk -v f="$1:" '$1 == f { print $2 }' "/proc/$DAEMON_PID/status" 2>/dev/null || echo 0
}

# part_start NAME: a fresh daemon, warmed up by one health login.
part_start() {
	PART=$1
	# shellcheck disable=SC2034 # read by daemon_start (lib.sh)
	DAEMON_LOG_FILE=$LIB_TMP/uscstd-$PART.log
	if ! daemon_start "$LIB_TMP/scst.conf" --threads 1; then
		fail "memory-bounds:$PART" "uscstd did not start"
		return 1
	fi
	if ! client health >/dev/null; then
		fail "memory-bounds:$PART" "no health login before the part"
		return 1
	fi
	BASE_RSS=$(status_kb VmRSS)
	BASE_VM=$(status_kb VmPeak)
}

# part_end: the daemon still serves, stops cleanly, logged no sanitizer report.
part_end() {
	local out
	if ! daemon_alive; then
		fail "memory-bounds:$PART:alive" "uscstd died"
		tail -n 20 "$DAEMON_LOG" | sed 's/^/  | /'
		wait "$DAEMON_PID" 2>/dev/null || true
		DAEMON_PID=""
		return
	fi
	if out=$(client health 2>&1); then
		pass "memory-bounds:$PART:health"
	else
		fail "memory-bounds:$PART:health" "$out"
	fi
	if ! daemon_stop; then
		fail "memory-bounds:$PART:stop" "uscstd crashed or did not stop on SIGTERM"
	fi
	if sanitizer_report "$DAEMON_LOG" >/dev/null; then
		fail "memory-bounds:$PART:sanitizer" "report in ${DAEMON_LOG##*/}"
		sanitizer_report "$DAEMON_LOG" | head -n 20 | sed 's/^/  | /'
	fi
}

# client ARGS...: slow_reader against the daemon, bounded in time.
client() {
	timeout "$PART_TIMEOUT" "$CLIENT" 127.0.0.1 "$DAEMON_PORT" "${TARGET:-$IQN}" "$@"
}

# check_growth NAME FIELD BASE LIMIT_MB: PASS if FIELD - BASE <= LIMIT_MB.
check_growth() {
	local name=$1 field=$2 base=$3 limit=$4 now grown
	now=$(status_kb "$field")
	grown=$(((now - base) / 1024))
	if ((grown <= limit)); then
		pass "$name ($field +$grown MiB <= $limit MiB)"
	else
		fail "$name" "$field +$grown MiB > $limit MiB"
	fi
}

# run_reader NAME MODE ARGS...: a slow_reader that holds its connection
# while the daemon fills memory; the peak RSS is checked after it.
run_reader() {
	local name=$1 out rc=0
	shift
	out=$(client "$@" 2>&1) || rc=$?
	indent "$out"
	if ((rc != 0)); then
		fail "$name:client" "$(echo "$out" | tail -n 1)"
	fi
	check_growth "$name" VmHWM "$BASE_RSS" "$RSS_LIMIT_MB"
}

part_a() {
	part_start slow-reader || return 0
	run_reader memory-bounds:slow-reader reads 48 16 4
	part_end
}

part_b() {
	local out
	part_start immediate || return 0
	run_reader memory-bounds:immediate-reads immediate 48 16 4
	if out=$(client immlimit 24 16 2>&1); then
		pass "memory-bounds:immediate-limit"
	else
		fail "memory-bounds:immediate-limit" "$(echo "$out" | tail -n 1)"
	fi
	indent "$out"
	part_end
}

# WRITEs whose last Data-Out never comes: their buffers are solicited (and
# allocated) only within the cap.
part_f() {
	part_start write-hold || return 0
	run_reader memory-bounds:write-buffers writehold 24 16 6
	part_end
}

# READs that ask for 16 MiB but announce 512 bytes: only what is sent is
# read and held.
part_g() {
	part_start small-edtl || return 0
	# 48 x 16 MiB were read and held before (+79 MiB peak seen); now
	# one block each.
	RSS_LIMIT_MB=24 run_reader memory-bounds:small-edtl-reads smalledtl 48 16 3
	part_end
}

part_c() {
	local out rc=0
	part_start huge-header || return 0
	out=$(client hugehdr 20 3 2>&1) || rc=$?
	indent "$out"
	if ((rc != 0)); then
		fail "memory-bounds:huge-header:client" "$(echo "$out" | tail -n 1)"
	elif [[ $out != *"ok 20 of 20 closed"* ]]; then
		fail "memory-bounds:huge-header:closed" "the target kept oversized logins open"
	else
		pass "memory-bounds:huge-header:closed"
	fi
	check_growth memory-bounds:huge-header:rss VmHWM "$BASE_RSS" 16
	check_growth memory-bounds:huge-header:vm VmPeak "$BASE_VM" "$VM_LIMIT_MB"
	part_end
}

part_d() {
	local out rc=0
	part_start starvation || return 0
	out=$(client starve 5 "$LATENCY_MS" 2>&1) || rc=$?
	indent "$out"
	if ((rc == 0)); then
		pass "memory-bounds:starvation"
	else
		fail "memory-bounds:starvation" "$(echo "$out" | tail -n 1)"
	fi
	part_end
}

part_e() {
	local out rc=0
	part_start rsp-timeout || return 0
	out=$(TARGET=$IQN-rsp client rsptimeout 48 16 10 2>&1) || rc=$?
	indent "$out"
	if ((rc == 0)); then
		pass "memory-bounds:rsp-timeout"
	else
		fail "memory-bounds:rsp-timeout" "$(echo "$out" | tail -n 1)"
	fi
	part_end
}

main() {
	lib_init "${1:-}"
	CLIENT=$USCST_BUILD/tests/slow_reader
	if [[ ! -x $CLIENT ]]; then
		make --no-print-directory -C "$USCST_ROOT" BUILD="$USCST_BUILD" \
			"$USCST_BUILD/tests/slow_reader" >/dev/null
	fi
	write_config "$LIB_TMP/scst.conf" "$IQN" "$LIB_TMP/disk0.img" $((64 * MIB))
	# QueuedCommands 64: 48 READs fit in the window.  A second target
	# with RspTimeout 2 for part e.
	sed -i "s/^\(\s*\)LUN 0 disk0/\1QueuedCommands 64\n\1LUN 0 disk0/" "$LIB_TMP/scst.conf"
	cat >>"$LIB_TMP/scst.conf" <<-CONF
		TARGET_DRIVER iscsi {
		    TARGET $IQN-rsp {
		        QueuedCommands 64
		        RspTimeout 2
		        LUN 0 disk0
		    }
		}
	CONF
	local part
	for part in ${MEMORY_BOUNDS_PARTS:-a b c d e f g}; do
		"part_$part"
	done
	echo "${0##*/}: $LIB_PASSED passed, $LIB_FAILED failed"
	((LIB_FAILED == 0))
}

main "$@"
