#!/usr/bin/env bash
# Runs libiscsi's iscsi-test-cu conformance suite against a uscstd started
# here, classifies every test as PASS / FAIL / SKIP / NOTRUN and compares the
# passes with tests/conformance/expected-pass.txt.
#
# Usage: tests/conformance/run.sh [BUILD_DIR]      (default: $BUILD or build)
# Environment:
#   CONF_TESTS=ALL.Read10,ALL.Write1*   only these tests (iscsi-test-cu -t
#                                       syntax: FAMILY[.SUITE[.TEST]] globs,
#                                       comma separated); default ALL
#   CONF_TIMEOUT=900                    seconds for the whole iscsi-test-cu run
#   CONF_URL=iscsi://host:port/iqn/lun  test an already running target
#                                       instead of starting uscstd
# Results go to BUILD_DIR/conformance/: iscsi-test-cu.log (full output),
# uscstd.log (daemon stdout/stderr), results.txt ("NAME RESULT" per test),
# selected.txt (tests that were asked for; used by update-expected.sh).
# Exit status: 0 if every expected test in the selection passed and the
# daemon neither crashed nor produced a sanitizer report.
# The last line, "conformance-expected: X passed, Y failed", is what
# scripts/run-all-tests.sh adds to the totals.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/integration/lib.sh
source "$HERE/../integration/lib.sh"

IQN=iqn.2026-11.org.uscst:conformance
EXPECTED=${CONF_EXPECTED:-$HERE/expected-pass.txt}
SELECTION=${CONF_TESTS:-ALL}
EXTRA_FAILURES=0 # daemon crash, sanitizer report, startup failure

# Lists the test names (ALL.Suite.Test) that SELECTION asks for, the way
# iscsi-test-cu's add_tests() matches them: comma separated
# FAMILY[.SUITE[.TEST]], each part an fnmatch glob, missing parts are "*".
# Output names always use the ALL family because the verbose output only
# shows suite and test, and ALL holds every suite.
selected_tests() {
	local -a pats
	local pat fam suite test name f s t
	IFS=, read -ra pats <<<"$SELECTION"
	iscsi-test-cu -l | while IFS=. read -r f s t; do
		[[ -n $t ]] || continue
		for pat in "${pats[@]}"; do
			IFS=. read -r fam suite test <<<"$pat"
			# Unquoted right-hand sides: they are glob patterns.
			# shellcheck disable=SC2053
			if [[ $f == ${fam:-*} && $s == ${suite:-*} && $t == ${test:-*} ]]; then
				name="ALL.$s.$t"
				echo "$name"
				break
			fi
		done
	done | sort -u
}

# Parses CUnit's basic verbose output (stdout of iscsi-test-cu) into
# "ALL.Suite.Test RESULT" lines. CUnit prints "Suite: S", then per test
# "  Test: T ..." followed by whatever the test logs and finally "passed" or
# "FAILED" (plus numbered assertion lines). libiscsi reports unsupported
# features with a "[SKIPPED]" log line and CU_PASS, so CUnit calls those
# "passed": a test that logged [SKIPPED] is a SKIP, unless it also FAILED.
parse_cunit() {
	awk '
	function finish(res) {
		if (cur == "") return
		if (res == "passed") res = skipped ? "SKIP" : "PASS"
		else res = "FAIL"
		print cur, res
		cur = ""
	}
	/^Suite: / { finish("FAILED"); suite = $2; next }
	/^Run Summary:/ { finish("FAILED"); exit }
	/^  Test: .* \.\.\./ {
		finish("FAILED")
		rest = $0
		sub(/^  Test: /, "", rest)
		i = index(rest, " ...")
		cur = "ALL." suite "." substr(rest, 1, i - 1)
		skipped = 0
		rest = substr(rest, i + 4)
		# Text after the verdict on the same line is logged by the
		# teardown/next setup, so it does not belong to this test.
		if (rest ~ /^(passed|FAILED)/) { finish(substr(rest, 1, 6)); next }
		if (rest ~ /\[SKIPPED\]/) skipped = 1
		next
	}
	cur == "" { next }
	/^passed/ { finish("passed"); next }
	/^FAILED/ { finish("FAILED"); next }
	/\[SKIPPED\]/ { skipped = 1 }
	# A test that printed a partial line: CUnit appends its verdict to it.
	/[^ ]passed$/ && !/^    / { finish("passed"); next }
	/[^ ]FAILED$/ && !/^    / { finish("FAILED"); next }
	END { finish("FAILED") }
	' "$1"
}

# Test names in expected-pass.txt, without comments and blank lines.
expected_names() {
	[[ -f $EXPECTED ]] || return 0
	sed -e 's/#.*//' -e 's/[[:space:]]//g' "$EXPECTED" | { grep -v '^$' || true; } | sort -u
}

# Warns about names in expected-pass.txt that iscsi-test-cu doesn't have
# (typos would otherwise be ignored silently).
check_expected_names() {
	local unknown
	unknown=$(expected_names | comm -23 - <(SELECTION=ALL selected_tests))
	if [[ -n $unknown ]]; then
		echo "conformance: WARNING: unknown test names in $EXPECTED: ${unknown//$'\n'/ }" >&2
	fi
}

# Starts uscstd with a generated one-LUN config; sets URL.
start_uscstd() {
	local conf=$LIB_TMP/scst.conf
	write_config "$conf" "$IQN" "$LIB_TMP/disk0.img"
	DAEMON_LOG_FILE=$OUT/uscstd.log
	if ! daemon_start "$conf"; then
		return 1
	fi
	URL=iscsi://127.0.0.1:$DAEMON_PORT/$IQN/0
	echo "conformance: uscstd pid $DAEMON_PID on 127.0.0.1:$DAEMON_PORT"
}

# Runs iscsi-test-cu; its stdout (parsed) and stderr go to separate files so
# unbuffered stderr can't split a CUnit line.
run_suite() {
	local rc=0 start=$SECONDS
	echo "conformance: iscsi-test-cu -t $SELECTION (timeout ${CONF_TIMEOUT:-900}s)"
	# The second URL opens a second I_T nexus to the same LU: that enables
	# the MultipathIO tests (and the 2-initiator reservation tests).
	timeout "${CONF_TIMEOUT:-900}" iscsi-test-cu -d -v -t "$SELECTION" "$URL" "$URL" \
		>"$OUT/iscsi-test-cu.log" 2>"$OUT/iscsi-test-cu.stderr" </dev/null || rc=$?
	echo "conformance: iscsi-test-cu exit $rc after $((SECONDS - start))s"
	if ((rc == 124)); then
		# A hang is a failure even when no expected test is affected.
		echo "conformance: FAIL iscsi-test-cu TIMED OUT; tests without a verdict count as NOTRUN" >&2
		EXTRA_FAILURES=$((EXTRA_FAILURES + 1))
	fi
	if [[ -s $OUT/iscsi-test-cu.stderr ]]; then
		echo "conformance: iscsi-test-cu stderr (last lines):"
		tail -n 10 "$OUT/iscsi-test-cu.stderr" | sed 's/^/  | /'
	fi
}

# Checks that the daemon survived the run and stopped cleanly without a
# sanitizer report. Each problem adds one failure.
check_daemon() {
	[[ -z ${CONF_URL:-} ]] || return 0
	if ! daemon_alive; then
		echo "conformance: FAIL uscstd died during the run (crash?)" >&2
		EXTRA_FAILURES=$((EXTRA_FAILURES + 1))
		daemon_stop || true # reaps it; already counted
	elif ! daemon_stop; then
		echo "conformance: FAIL uscstd exited uncleanly or ignored SIGTERM" >&2
		EXTRA_FAILURES=$((EXTRA_FAILURES + 1))
	fi
	if sanitizer_report "$OUT/uscstd.log" >/dev/null; then
		echo "conformance: FAIL sanitizer report in $OUT/uscstd.log:" >&2
		sanitizer_report "$OUT/uscstd.log" | head -n 20 | sed 's/^/  | /' >&2
		EXTRA_FAILURES=$((EXTRA_FAILURES + 1))
	fi
	if ((EXTRA_FAILURES)); then
		echo "conformance: last lines of uscstd.log:" >&2
		tail -n 30 "$OUT/uscstd.log" | sed 's/^/  | /' >&2
	fi
}

# Merges parsed results with the selection (unreported tests = NOTRUN) and
# compares with expected-pass.txt. Prints the summary lines.
report() {
	local parsed=$LIB_TMP/parsed.txt results=$OUT/results.txt
	local expected=$LIB_TMP/expected.txt passes=$LIB_TMP/passes.txt
	local p f s n t total exp_sel exp_pass regress newpass
	parse_cunit "$OUT/iscsi-test-cu.log" >"$parsed"
	# Last verdict per test wins; selected tests with no verdict are NOTRUN.
	# (getline from a file, not NR == FNR: that breaks when $parsed is empty.)
	awk -v parsed="$parsed" '
		BEGIN { while ((getline l < parsed) > 0) { split(l, a, " "); res[a[1]] = a[2] } }
		{ print $1, ($1 in res) ? res[$1] : "NOTRUN" }' "$OUT/selected.txt" >"$results"
	p=$(grep -c ' PASS$' "$results" || true)
	f=$(grep -c ' FAIL$' "$results" || true)
	s=$(grep -c ' SKIP$' "$results" || true)
	n=$(grep -c ' NOTRUN$' "$results" || true)
	total=$(wc -l <"$results")

	# Expected passes that are in this selection (comments/blank lines ignored).
	expected_names | comm -12 - "$OUT/selected.txt" >"$expected"
	awk '$2 == "PASS" { print $1 }' "$results" | sort -u >"$passes"
	exp_sel=$(wc -l <"$expected")
	exp_pass=$(comm -12 "$expected" "$passes" | wc -l)
	regress=$(comm -23 "$expected" "$passes")
	newpass=$(comm -13 "$expected" "$passes")

	if [[ -n $regress ]]; then
		echo "conformance: REGRESSIONS (in expected-pass.txt, did not pass):"
		while read -r t; do
			echo "  $t $(awk -v t="$t" '$1 == t { print $2 }' "$results")"
		done <<<"$regress"
	fi
	if [[ -n $newpass ]]; then
		echo "conformance: new passes, add them to expected-pass.txt" \
			"(tests/conformance/update-expected.sh):"
		while read -r t; do echo "  $t"; done <<<"$newpass"
	fi
	((n == 0)) || echo "conformance: $n selected tests got no verdict (NOTRUN, counted as failed)"
	echo "conformance: $p passed, $((f + n)) failed, $s skipped (of $total)"
	echo "conformance: expected passes: $exp_pass of $exp_sel; log: $OUT/iscsi-test-cu.log"
	EXP_PASSED=$exp_pass
	EXP_FAILED=$((exp_sel - exp_pass + EXTRA_FAILURES))
}

main() {
	lib_init "${1:-}"
	OUT=$USCST_BUILD/conformance
	mkdir -p "$OUT"
	rm -f "$OUT"/*.log "$OUT"/*.stderr "$OUT"/results.txt
	EXP_PASSED=0
	EXP_FAILED=0
	selected_tests >"$OUT/selected.txt"
	check_expected_names
	if [[ ! -s $OUT/selected.txt ]]; then
		echo "conformance: CONF_TESTS=$SELECTION selects no test" >&2
		echo "conformance-expected: 0 passed, 1 failed"
		return 1
	fi

	if [[ -n ${CONF_URL:-} ]]; then
		URL=$CONF_URL
	elif ! start_uscstd; then
		echo "conformance: FAIL could not start $USCSTD" >&2
		: >"$OUT/iscsi-test-cu.log"
		EXTRA_FAILURES=1
		report
		echo "conformance-expected: $EXP_PASSED passed, $EXP_FAILED failed"
		return 1
	fi
	run_suite
	check_daemon
	report
	echo "conformance-expected: $EXP_PASSED passed, $EXP_FAILED failed"
	((EXP_FAILED == 0))
}

main "$@"
