#!/usr/bin/env bash
# What `make test` runs (after building BUILD, default build):
#   0. layer check: each src/ directory compiles with only the headers it
#      may include (make check-layers); one pass/fail per layer
#   1. unit tests (make unit)
#   2. the conformance matrix: iscsi-test-cu over the setups plain (LBPPB
#      8), thin (thin, removable, two portals, SANITIZE allowed), readonly
#      and 4k, each vs its expected-pass file, then the total line
#      "CONFORMANCE: N passed, M failed, K skipped" over the distinct tests
#      (tests/conformance/matrix.sh); normal build only
#   4. integration tests (tests/integration/*.sh, each with its own uscstd)
#   5. conformance again on an ASan/UBSan build in build-san, then the
#      hostile, MC/S, ERL 1 and ALUA scripts there (a sanitizer report in
#      the daemon's output fails it)
#   6. ThreadSanitizer: unit tests, plain conformance and a short PDU
#      stress on a SAN=thread build in build-tsan (scripts/run-tsan.sh; a
#      TSan report fails it)
#   7. fuzz smoke: each libFuzzer target (tests/fuzz) for FUZZ_TIME seconds
#      (default 20), built with clang in build-fuzz; one pass/fail each
# Counts: unit test cases, conformance expected passes (passed) and
# regressions/crashes (failed) per setup, integration checks. The last line is
# "N passed, M failed"; exit status 1 if M > 0.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD:-build}
SAN_DIR=build-san
# Each conformance pass is bounded so the whole run stays far below 30 min
# even if the daemon hangs (a clean run takes well under a minute).
export CONF_TIMEOUT=${CONF_TIMEOUT:-420}
TOTAL_PASSED=0
TOTAL_FAILED=0
SUMMARY=()

# add SUITE PASSED FAILED: adds to the totals and the per-suite summary.
add() {
	TOTAL_PASSED=$((TOTAL_PASSED + $2))
	TOTAL_FAILED=$((TOTAL_FAILED + $3))
	SUMMARY+=("$(printf '%-32s %4d passed, %4d failed' "$1" "$2" "$3")")
}

section() {
	printf '\n===== %s =====\n' "$1"
}

# tally_line LOG PREFIX: prints "P F" from the last "PREFIX P passed, F
# failed" line of LOG, or nothing.
tally_line() {
	sed -n "s/^$2\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed.*/\1 \2/p" "$1" | tail -n 1
}

run_check_layers() {
	local log=$TMP/check-layers.log counts
	section "check-layers"
	make --no-print-directory -C "$ROOT" check-layers 2>&1 | tee "$log" || true
	counts=$(tally_line "$log" 'check-layers: ')
	if [[ -z $counts ]]; then
		add check-layers 0 1
	else
		# shellcheck disable=SC2086
		add check-layers $counts
	fi
}

run_unit() {
	local log=$TMP/unit.log rc=0 counts
	section "unit tests"
	make --no-print-directory -C "$ROOT" BUILD="$BUILD_DIR" unit 2>&1 | tee "$log" || rc=$?
	counts=$(tally_line "$log" 'unit: ')
	if [[ -z $counts ]]; then
		# make failed before run-unit.sh (a unit test didn't compile).
		add unit 0 1
	else
		# shellcheck disable=SC2086
		add unit $counts
		((rc == 0)) || [[ ${counts#* } != 0 ]] || add unit:make 0 1
	fi
}

# run_conformance NAME BUILD_DIR [SETUP]
run_conformance() {
	local name=$1 dir=$2 setup=${3:-plain} log=$TMP/$1.log counts
	section "$name ($dir)"
	"$ROOT/tests/conformance/run.sh" "$dir" "$setup" 2>&1 | tee "$log" || true
	counts=$(tally_line "$log" 'conformance-expected: ')
	if [[ -z $counts ]]; then
		add "$name" 0 1
	else
		# shellcheck disable=SC2086
		add "$name" $counts
	fi
}

# The matrix: one summary entry per setup ("conformance:SETUP"), from its
# "conformance-expected SETUP: X passed, Y failed" line.
run_conformance_matrix() {
	local log=$TMP/conformance-matrix.log setup counts n=0
	section "conformance matrix ($BUILD_DIR)"
	"$ROOT/tests/conformance/matrix.sh" "$BUILD_DIR" 2>&1 | tee "$log" || true
	while read -r setup counts; do
		# shellcheck disable=SC2086
		add "conformance:$setup" $counts
		n=$((n + 1))
	done < <(sed -n 's/^conformance-expected \([^:]*\): \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2 \3/p' "$log")
	# No setup line at all: the script died.
	((n > 0)) || add conformance 0 1
}

# run_integration_script SCRIPT BUILD_DIR NAME
run_integration_script() {
	local script=$1 dir=$2 name=$3 log=$TMP/integration-$3.log rc=0 p f
	section "integration $name ($dir)"
	timeout 300 "$script" "$dir" 2>&1 | tee "$log" || rc=$?
	p=$(grep -c '^PASS ' "$log" || true)
	f=$(grep -c '^FAIL ' "$log" || true)
	# A script that died (or timed out) without a FAIL line still fails.
	if ((rc != 0 && f == 0)); then
		echo "FAIL $name (exit $rc)"
		f=1
	fi
	add "integration:$name" "$p" "$f"
}

run_integration() {
	local script
	for script in "$ROOT"/tests/integration/*.sh; do
		[[ ${script##*/} == lib.sh ]] && continue
		run_integration_script "$script" "$BUILD_DIR" "${script##*/}"
	done
}

run_sanitizer() {
	local log=$TMP/san-build.log
	section "sanitizer build ($SAN_DIR)"
	if ! make --no-print-directory -C "$ROOT" -j"$(nproc)" BUILD="$SAN_DIR" SAN=1 all \
		>"$log" 2>&1; then
		tail -n 40 "$log"
		add conformance-san:build 0 1
		return
	fi
	run_conformance conformance-san "$SAN_DIR"
	# The hostile suite again under ASan: use-after-free and double free
	# races rarely crash a production build, ASan sees every one.
	run_integration_script "$ROOT/tests/integration/hostile-pdus.sh" "$SAN_DIR" hostile-san
	# MC/S and connection recovery move connections between reactors and
	# keep tasks of closed connections: the same under ASan.
	run_integration_script "$ROOT/tests/integration/mcs.sh" "$SAN_DIR" mcs-san
	# ERL 1 keeps answered tasks until acknowledged and rebuilds Data-In
	# for SNACKs; ALUA swaps its model under running commands.
	run_integration_script "$ROOT/tests/integration/erl1.sh" "$SAN_DIR" erl1-san
	run_integration_script "$ROOT/tests/integration/alua.sh" "$SAN_DIR" alua-san
}

run_tsan() {
	local log=$TMP/tsan.log name counts
	section "ThreadSanitizer (build-tsan)"
	"$ROOT/scripts/run-tsan.sh" build-tsan 2>&1 | tee "$log" || true
	for name in tsan-build tsan-unit tsan-conformance tsan-stress tsan-mcs; do
		counts=$(tally_line "$log" "$name: ")
		# shellcheck disable=SC2086
		[[ -z $counts ]] || add "$name" $counts
	done
	# No stage line at all: the script died.
	[[ -n $(tally_line "$log" 'tsan: ') ]] || add tsan 0 1
}

run_fuzz_smoke() {
	local log=$TMP/fuzz.log p f
	section "fuzz smoke (build-fuzz)"
	make --no-print-directory -C "$ROOT" -j"$(nproc)" FUZZ_TIME="${FUZZ_TIME:-20}" \
		fuzz-smoke 2>&1 | grep -v '^clang \|^ar \|^	' | tee "$log" || true
	p=$(grep -c '^fuzz: .* ok' "$log" || true)
	f=$(grep -c '^fuzz: .* FAILED' "$log" || true)
	# No per-fuzzer line at all: the fuzzers did not build.
	if ((p + f == 0)); then
		f=1
	fi
	add fuzz-smoke "$p" "$f"
}

main() {
	local line
	cd "$ROOT"
	TMP=$(mktemp -d)
	trap 'rm -rf "$TMP"' EXIT
	run_check_layers
	run_unit
	run_conformance_matrix
	run_integration
	run_sanitizer
	run_tsan
	run_fuzz_smoke
	section summary
	for line in "${SUMMARY[@]}"; do
		echo "$line"
	done
	grep -h '^conformance-setup \|^CONFORMANCE: ' "$TMP/conformance-matrix.log" 2>/dev/null || true
	echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
	((TOTAL_FAILED == 0))
}

main "$@"
