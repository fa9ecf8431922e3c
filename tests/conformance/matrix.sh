#!/usr/bin/env bash
# The conformance matrix of `make test`: libiscsi's iscsi-test-cu over the
# setups of run.sh (default: plain thin readonly 4k; see run.sh's header for
# what each one is), each against its own expected-pass file, then one
# total over the distinct tests iscsi-test-cu has (230 today).
#
# Where a test applies: a test applies to a setup when the setup's
# iscsi-test-cu run selects it (plain, thin and 4k run ALL, readonly runs
# ALL.ReadOnly) and iscsi-test-cu does not skip it there (libiscsi skips a
# test whose feature the LUN does not have: PreventAllow on a fixed LUN,
# ReadOnly on a writable one, the LBPPB > 1 tests when READ CAPACITY(16)
# says LBPPB 1). In the total a test is
#   passed  if it passed in at least one setup,
#   failed  if it passed in none and failed (or got no verdict) in one,
#   skipped if every setup that ran it skipped it.
# A test that fails in one setup by design (deviations.md) and passes in
# another therefore counts as passed; the setup's expected-pass file still
# catches a regression in any setup.
#
# Usage: tests/conformance/matrix.sh [BUILD_DIR]   (default $BUILD or build)
# Environment: CONF_SETUPS="plain thin readonly 4k" (the setups, in order),
# CONF_TIMEOUT (seconds per setup) and CONF_TESTS (a subset, for every
# setup but readonly), as run.sh takes them.
# Prints run.sh's output per setup, then one line per setup
#   "conformance-setup SETUP: P passed, F failed, S skipped (of T); expected X of Y"
#   "conformance-expected SETUP: X passed, R failed"  (R: regressions, crashes)
# and the total "CONFORMANCE: N passed, M failed, K skipped" (N+M+K = the
# distinct tests) with the names of those not passed. Exit status 0 if no
# setup had a regression.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

# results_dir BUILD SETUP: where run.sh leaves the setup's results.
results_dir() {
	if [[ $2 == plain ]]; then
		echo "$1/conformance"
	else
		echo "$1/conformance-$2"
	fi
}

# Every test iscsi-test-cu has, as ALL.Suite.Test (run.sh's names).
all_tests() {
	iscsi-test-cu -l | awk -F. 'NF == 3 && $3 != "" { print "ALL." $2 "." $3 }' | sort -u
}

main() {
	local build=${1:-${BUILD:-build}} setup dir log rc=0 line exp tmp
	local -a setups lines=()
	[[ $build == /* ]] || build=$ROOT/$build
	read -ra setups <<<"${CONF_SETUPS:-plain thin readonly 4k}"
	tmp=$(mktemp -d)
	# shellcheck disable=SC2064 # expanded now: tmp is local to main
	trap "rm -rf '$tmp'" EXIT
	for setup in "${setups[@]}"; do
		printf '\n----- conformance setup %s -----\n' "$setup"
		log=$tmp/$setup.log
		dir=$(results_dir "$build" "$setup")
		rm -f "$dir/results.txt"
		# CONF_TESTS narrows the setups that run ALL; readonly keeps
		# its own selection.
		if [[ $setup == readonly ]]; then
			CONF_TESTS="" "$HERE/run.sh" "$build" "$setup" 2>&1 | tee "$log" || rc=1
		else
			"$HERE/run.sh" "$build" "$setup" 2>&1 | tee "$log" || rc=1
		fi
		line=$(sed -n 's/^conformance: \([0-9]* passed, [0-9]* failed, [0-9]* skipped (of [0-9]*)\)$/\1/p' "$log" | tail -n 1)
		exp=$(sed -n 's/^conformance: expected passes: \([0-9]* of [0-9]*\);.*/\1/p' "$log" | tail -n 1)
		lines+=("conformance-setup $setup: ${line:-no results}; expected ${exp:-none}")
		line=$(sed -n 's/^conformance-expected: \([0-9]* passed, [0-9]* failed\)$/\1/p' "$log" | tail -n 1)
		lines+=("conformance-expected $setup: ${line:-0 passed, 1 failed}")
		# Kept for the total; a setup that did not run adds nothing.
		[[ ! -s $dir/results.txt ]] || sed "s/\$/ $setup/" "$dir/results.txt" >>"$tmp/all-results.txt"
	done

	echo
	for line in "${lines[@]}"; do
		echo "$line"
	done
	touch "$tmp/all-results.txt"
	all_tests >"$tmp/tests.txt"
	# One verdict per test over the setups, as the header says.
	awk -v res="$tmp/all-results.txt" '
		BEGIN {
			while ((getline l < res) > 0) {
				split(l, a, " ")
				if (a[2] == "PASS") pass[a[1]] = 1
				else if (a[2] == "FAIL" || a[2] == "NOTRUN") fail[a[1]] = fail[a[1]] " " a[3]
				else if (a[2] == "SKIP") skip[a[1]] = 1
			}
		}
		{
			if ($1 in pass) p++
			else if ($1 in fail) { f++; fl = fl "  failed: " $1 " (in" fail[$1] ")\n" }
			else { s++; sl = sl "  skipped: " $1 ((($1 in skip)) ? "" : " (selected by no setup)") "\n" }
		}
		END {
			printf "%s%s", fl, sl
			printf "CONFORMANCE: %d passed, %d failed, %d skipped\n", p, f, s
		}' "$tmp/tests.txt"
	return "$rc"
}

main "$@"
