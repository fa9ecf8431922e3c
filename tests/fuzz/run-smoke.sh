#!/usr/bin/env bash
# Runs each libFuzzer binary for a bounded time (make fuzz-smoke).
# Usage: tests/fuzz/run-smoke.sh FUZZ_BUILD SECONDS BIN...
# Inputs saved in tests/fuzz/crashes/NAME-* are replayed first.
# Seeds come from tests/fuzz/corpus/NAME/ when present; the working corpus
# is FUZZ_BUILD/corpus/NAME/ (kept between runs), crashes go to
# FUZZ_BUILD/crashes/.  Prints "fuzz: NAME ok" or "fuzz: NAME FAILED" per
# fuzzer and "fuzz: N passed, M failed" last; exit 1 if any failed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dir=$1 secs=$2
shift 2
passed=0
failed=0
mkdir -p "$dir/crashes"
for bin in "$@"; do
	name=${bin##*/}
	corpus=$dir/corpus/$name
	seeds=$ROOT/tests/fuzz/corpus/$name
	mkdir -p "$corpus"
	args=("$corpus")
	[[ -d $seeds ]] && args+=("$seeds")
	log=$dir/$name.log
	rc=0
	# Known crash inputs first: deterministic, so a reported bug stays red
	# until it is fixed instead of failing at random.
	known=("$ROOT"/tests/fuzz/crashes/"$name"-*)
	if [[ -e ${known[0]} ]] && ! "$bin" -runs=1 "${known[@]}" >"$log.known" 2>&1; then
		echo "fuzz: $name FAILED (a saved input in tests/fuzz/crashes/ still crashes)"
		grep -E 'Running: |ERROR|SUMMARY|runtime error' "$log.known" | head -n 10 |
			sed 's/^/  | /'
		failed=$((failed + 1))
		continue
	fi
	# -rss_limit_mb keeps a leak or a huge allocation a finding, not an OOM kill.
	timeout $((secs + 60)) "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$dir/crashes/$name-" "${args[@]}" \
		>"$log" 2>&1 || rc=$?
	if ((rc == 0)); then
		echo "fuzz: $name ok ($(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" |
			grep -o '[0-9]*$' || echo '?') runs)"
		passed=$((passed + 1))
	else
		echo "fuzz: $name FAILED (exit $rc)"
		grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -n 20 |
			sed 's/^/  | /'
		failed=$((failed + 1))
	fi
done
echo "fuzz: $passed passed, $failed failed"
((failed == 0))
