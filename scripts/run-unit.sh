#!/usr/bin/env bash
# Runs the cmocka unit test binaries given as arguments (make unit passes
# BUILD/tests/test_*), each bounded by UNIT_TIMEOUT seconds (default 120),
# counts test cases from cmocka's per-test lines and prints
# "unit: N passed, M failed" last. Exit status 1 if anything failed,
# including a weak symbol in tests/unit (no_weak_symbols below).
set -euo pipefail

PASSED=0
FAILED=0

# run_one BIN: runs one binary, adds its cases to the totals. cmocka prints
# "[       OK ] name" / "[  FAILED  ] name" / "[  ERROR   ] name" per test on
# stdout before the "[==========] N test(s) run." line of each group; the
# summary after that line repeats the names, so it is not counted.
run_one() {
	local bin=$1 out err rc=0 ok bad skip
	out=$(mktemp)
	err=$(mktemp)
	timeout "${UNIT_TIMEOUT:-120}" "$bin" >"$out" 2>"$err" </dev/null || rc=$?
	read -r ok bad skip < <(awk '
		/^\[==========\] Running/ { in_group = 1; next }
		/^\[==========\] .* run\./ { in_group = 0; next }
		!in_group { next }
		/^\[       OK \]/ { ok++ }
		/^\[  (FAILED|ERROR) +\]/ && !/ --- / { bad++ }
		/^\[  SKIPPED \]/ { skip++ }
		END { print ok + 0, bad + 0, skip + 0 }' "$out")
	# A crash, timeout or failing group setup may leave no per-test FAILED
	# line: the binary's non-zero exit must still count as a failure.
	if ((rc != 0 && bad == 0)); then
		bad=1
	fi
	cat "$out" "$err"
	if ((rc == 124)); then
		echo "unit: ${bin##*/} TIMED OUT after ${UNIT_TIMEOUT:-120}s"
	elif ((rc >= 128)); then
		echo "unit: ${bin##*/} killed by signal $((rc - 128))"
	fi
	echo "unit: ${bin##*/}: $ok passed, $bad failed, $skip skipped (exit $rc)"
	PASSED=$((PASSED + ok))
	FAILED=$((FAILED + bad))
	rm -f "$out" "$err"
}

# no_weak_symbols: test doubles are link seams listed per binary in the
# Makefile (test_NAME_LINK), where a duplicate is a link error; a weak
# symbol in tests/unit would let link order pick a winner silently again.
no_weak_symbols() {
	local root hits
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	hits=$(grep -rnE '__attribute__ *\(\(.*\b(__)?weak(__)?\b|#[[:space:]]*pragma[[:space:]]+weak' \
		"$root/tests/unit" || true)
	if [[ -n $hits ]]; then
		echo "unit: weak symbols in tests/unit (use a double in tests/unit/doubles/):"
		echo "$hits"
		echo "unit: weak-symbol check: 0 passed, 1 failed"
		FAILED=$((FAILED + 1))
	fi
}

main() {
	local bin
	no_weak_symbols
	if (($# == 0)); then
		echo "unit: no unit test binaries"
	fi
	for bin in "$@"; do
		if [[ ! -x $bin ]]; then
			echo "unit: $bin missing or not executable"
			FAILED=$((FAILED + 1))
			continue
		fi
		run_one "$bin"
	done
	echo "unit: $PASSED passed, $FAILED failed"
	((FAILED == 0))
}

main "$@"
