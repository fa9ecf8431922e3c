#!/usr/bin/env bash
# The ThreadSanitizer stage of `make test` (also `make tsan`): builds the
# daemon and the unit tests with -fsanitize=thread into TSAN_DIR (default
# build-tsan), then runs under TSan
#   1. the unit tests (scripts/run-unit.sh via make unit), and
#   2. the plain-LUN conformance (tests/conformance/run.sh TSAN_DIR), and
#   3. a short random-PDU stress over two reactors with resync_size and
#      other control-socket commands running under the I/O
#      (tests/integration/pdu-stress.sh, TSAN_STRESS_TIME seconds, default
#      15; 0 skips it): the cross-thread paths conformance does not drive,
#      e.g. nblocks written by the control thread while reactors read it,
#   4. the MC/S and connection-recovery tests (tests/integration/mcs.sh),
# each failing on any TSan report (in a unit test's output or in the
# daemon's log), with the suppressions of scripts/tsan.supp.
# Prints "tsan-unit: P passed, F failed", "tsan-conformance: ...",
# "tsan-stress: ...", "tsan-mcs: ..." and last "tsan: P passed, F failed"; exit status 1 if
# F > 0.
# Usage: scripts/run-tsan.sh [TSAN_DIR]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/integration/lib.sh
source "$ROOT/tests/integration/lib.sh" # sanitizer_report, TSAN_OPTIONS
DIR=${1:-build-tsan}
PASSED=0
FAILED=0
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# tally NAME P F: adds to the totals and prints the stage's line.
tally() {
	echo "$1: $2 passed, $3 failed"
	PASSED=$((PASSED + $2))
	FAILED=$((FAILED + $3))
}

# counts LOG PREFIX: "P F" from the last "PREFIX P passed, F failed" line.
counts() {
	sed -n "s/^$2\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed.*/\1 \2/p" "$1" | tail -n 1
}

# TSan maps its shadow memory at fixed addresses; with a large
# vm.mmap_rnd_bits (some kernels) a randomized layout collides with it and
# the program dies at start ("FATAL: ThreadSanitizer: unexpected memory
# mapping").  Running without address randomization (inherited by uscstd)
# avoids that wherever setarch -R is allowed.
WRAP=()
if setarch "$(uname -m)" -R true 2>/dev/null; then
	WRAP=(setarch "$(uname -m)" -R)
fi

run_build() {
	if ! make --no-print-directory -C "$ROOT" -j"$(nproc)" BUILD="$DIR" SAN=thread all \
		>"$TMP/build.log" 2>&1; then
		tail -n 40 "$TMP/build.log"
		tally tsan-build 0 1
		return 1
	fi
}

run_unit() {
	local log=$TMP/unit.log c
	"${WRAP[@]}" make --no-print-directory -C "$ROOT" -j"$(nproc)" BUILD="$DIR" SAN=thread unit \
		2>&1 | tee "$log" || true
	c=$(counts "$log" 'unit: ')
	[[ -n $c ]] || c="0 1"
	# A report makes the test binary exit 66 (a failure already); the
	# grep also catches a report that did not change the exit status.
	if sanitizer_report "$log" >/dev/null; then
		echo "tsan: FAIL ThreadSanitizer report in the unit tests' output:"
		sanitizer_report "$log" | head -n 20 | sed 's/^/  | /'
		c="${c% *} $((${c#* } + 1))"
	fi
	# shellcheck disable=SC2086
	tally tsan-unit $c
}

run_conformance() {
	local log=$TMP/conformance.log c
	# run.sh fails the run on a sanitizer report in the daemon's log.
	"${WRAP[@]}" "$ROOT/tests/conformance/run.sh" "$DIR" plain 2>&1 | tee "$log" || true
	c=$(counts "$log" 'conformance-expected: ')
	[[ -n $c ]] || c="0 1"
	# shellcheck disable=SC2086
	tally tsan-conformance $c
}

run_stress() {
	local log=$TMP/stress.log p f rc=0
	((${TSAN_STRESS_TIME:-15} > 0)) || return 0
	# pdu-stress.sh fails on a sanitizer report in the daemon's log.
	STRESS_TIME=${TSAN_STRESS_TIME:-15} timeout 300 "${WRAP[@]}" \
		"$ROOT/tests/integration/pdu-stress.sh" "$DIR" 2>&1 | tee "$log" || rc=$?
	p=$(grep -c '^PASS ' "$log" || true)
	f=$(grep -c '^FAIL ' "$log" || true)
	((rc == 0 || f > 0)) || f=1
	tally tsan-stress "$p" "$f"
}

# MC/S moves a connection to its session's reactor while it logs in
# (src/iscsi/conn_join.c): tests/integration/mcs.sh over four reactors.
run_mcs() {
	local log=$TMP/mcs.log p f rc=0
	timeout 300 "${WRAP[@]}" "$ROOT/tests/integration/mcs.sh" "$DIR" 2>&1 | tee "$log" || rc=$?
	p=$(grep -c '^PASS ' "$log" || true)
	f=$(grep -c '^FAIL ' "$log" || true)
	((rc == 0 || f > 0)) || f=1
	tally tsan-mcs "$p" "$f"
}

cd "$ROOT"
if run_build; then
	run_unit
	run_conformance
	run_stress
	run_mcs
fi
echo "tsan: $PASSED passed, $FAILED failed"
((FAILED == 0))
