#!/usr/bin/env bash
# Runs libiscsi's iscsi-test-cu conformance suite against a uscstd started
# here, classifies every test as PASS / FAIL / SKIP / NOTRUN and compares the
# passes with the setup's expected-pass file.
#
# Usage: tests/conformance/run.sh [BUILD_DIR [SETUP]]  (default: $BUILD or
#        build; SETUP: $CONF_SETUP or plain)
# Setups (one uscstd each):
#   plain      LUN 0 = 1 GiB file, 512-byte blocks; iscsi-test-cu -t ALL with
#              two URLs (MultipathIO). Expected: expected-pass.txt, results
#              in BUILD_DIR/conformance/.
#   removable  LUN 0 = removable 1 GiB file (PreventAllow, StartStopUnit,
#              NoMedia), LUN 1 = 100 MiB file mapped read_only (ReadOnly and
#              write tests), LUN 2 = 1 GiB file with 4096-byte blocks (ALL);
#              one iscsi-test-cu run per selection, single URL. Test names
#              are prefixed with the LUN ("lun2:ALL.Read10.Simple").
#              Expected: expected-pass-removable.txt, results in
#              BUILD_DIR/conformance-removable/.
#   ramdisk    LUN 0 = 1 GiB disk of the ramdisk example plugin
#              (BUILD_DIR/examples/ramdisk.so, HANDLER ramdisk); otherwise as
#              plain. Expected: expected-pass-ramdisk.txt, results in
#              BUILD_DIR/conformance-ramdisk/.
#   blockio    LUN 0 = 1 GiB file through vdisk_blockio (O_DIRECT, 512-byte
#              blocks on the file system's 4 KiB: small writes are
#              read-modify-writes); otherwise as plain. Expected:
#              expected-pass-blockio.txt, results in
#              BUILD_DIR/conformance-blockio/.
# Environment:
#   CONF_TESTS=ALL.Read10,ALL.Write1*   all but removable: only these tests
#                                       (iscsi-test-cu -t syntax:
#                                       FAMILY[.SUITE[.TEST]] globs, comma
#                                       separated); default ALL
#   CONF_TIMEOUT=900                    seconds for all iscsi-test-cu runs of
#                                       the setup together
#   CONF_EXTRA_ARGS="--allow-sanitize"  more iscsi-test-cu options, for every
#                                       run (word split)
#   CONF_URL=iscsi://host:port/iqn/lun  test an already running target
#                                       instead of starting uscstd (removable:
#                                       without /lun, the LUN is appended)
# Results go to the results directory: iscsi-test-cu*.log (full output, one
# per run), uscstd.log (daemon stdout/stderr), results.txt ("NAME RESULT" per
# test), selected.txt (tests that were asked for; used by update-expected.sh).
# Exit status: 0 if every expected test in the selection passed and the
# daemon neither crashed nor produced a sanitizer report.
# The last line, "conformance-expected: X passed, Y failed", is what
# scripts/run-all-tests.sh adds to the totals.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/integration/lib.sh
source "$HERE/../integration/lib.sh"

IQN=iqn.2026-11.org.uscst:conformance
SELECTION=${CONF_TESTS:-ALL}
EXTRA_FAILURES=0 # daemon crash, sanitizer report, startup failure
# iscsi-test-cu runs of the setup: "LUN NUMBER_OF_URLS SELECTION" each.
RUNS=()
# Prepended to the test names of a run ("lun0:"), so the same test on
# different LUNs is a different entry; empty for plain (one LUN).
NAME_PREFIX=""

# setup_init SETUP: sets EXPECTED, OUT_NAME (results dir under the build
# dir), RUNS and the name prefix of the setup.
setup_init() {
	case $1 in
	plain)
		EXPECTED=${CONF_EXPECTED:-$HERE/expected-pass.txt}
		OUT_NAME=conformance
		# The second URL opens a second I_T nexus to the same LU: that
		# enables the MultipathIO tests (and the 2-initiator reservation
		# tests).
		RUNS=("0 2 $SELECTION")
		;;
	ramdisk)
		EXPECTED=${CONF_EXPECTED:-$HERE/expected-pass-ramdisk.txt}
		OUT_NAME=conformance-ramdisk
		RUNS=("0 2 $SELECTION")
		;;
	blockio)
		EXPECTED=${CONF_EXPECTED:-$HERE/expected-pass-blockio.txt}
		OUT_NAME=conformance-blockio
		RUNS=("0 2 $SELECTION")
		;;
	removable)
		if [[ -n ${CONF_TESTS:-} ]]; then
			echo "conformance: CONF_TESTS only applies to the plain setup" >&2
			return 1
		fi
		EXPECTED=${CONF_EXPECTED:-$HERE/expected-pass-removable.txt}
		OUT_NAME=conformance-removable
		NAME_PREFIX=lun
		# Single URL: a second session would carry the unit attention
		# left by the reset tests into PreventAllow.2ITNexuses (correct
		# SAM behaviour, a test-suite artefact). On the read-only LUN the
		# write tests must report WRITE PROTECTED (or skip).
		RUNS=(
			"0 1 ALL.PreventAllow"
			"0 1 ALL.StartStopUnit"
			"0 1 ALL.NoMedia"
			"1 1 ALL.ReadOnly"
			"1 1 ALL.Write10,ALL.WriteSame10,ALL.Unmap"
			"2 1 ALL"
		)
		;;
	*)
		echo "conformance: unknown setup '$1' (plain, removable, ramdisk, blockio)" >&2
		return 1
		;;
	esac
}

# run_prefix LUN: the prefix of the test names of a run on LUN.
run_prefix() {
	[[ -z $NAME_PREFIX ]] || echo "$NAME_PREFIX$1:"
}

# Lists the test names (ALL.Suite.Test) that SELECTION asks for, the way
# iscsi-test-cu's add_tests() matches them: comma separated
# FAMILY[.SUITE[.TEST]], each part an fnmatch glob, missing parts are "*".
# Output names always use the ALL family because the verbose output only
# shows suite and test, and ALL holds every suite.
selected_tests() {
	local -a pats
	local pat fam suite test name f s t
	IFS=, read -ra pats <<<"${1:-$SELECTION}"
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

# Every run's selection, with the runs' name prefixes, sorted.
selected_all() {
	local run lun urls sel
	for run in "${RUNS[@]}"; do
		read -r lun urls sel <<<"$run"
		selected_tests "$sel" | sed "s/^/$(run_prefix "$lun")/"
	done | sort -u
}

# Test names in the expected-pass file, without comments and blank lines.
expected_names() {
	[[ -f $EXPECTED ]] || return 0
	sed -e 's/#.*//' -e 's/[[:space:]]//g' "$EXPECTED" | { grep -v '^$' || true; } | sort -u
}

# Warns about names in the expected-pass file that the setup can't run
# (typos would otherwise be ignored silently). Plain: any iscsi-test-cu test
# (CONF_TESTS may select fewer); other setups always run their full
# selection.
check_expected_names() {
	local unknown known=$OUT/selected.txt
	if [[ $SETUP == plain ]]; then
		known=$LIB_TMP/known.txt
		selected_tests ALL >"$known"
	fi
	unknown=$(expected_names | comm -23 - "$known")
	if [[ -n $unknown ]]; then
		echo "conformance: WARNING: unknown test names in $EXPECTED: ${unknown//$'\n'/ }" >&2
	fi
}

# write_removable_config FILE: the removable setup's three LUNs (see the
# header), backed by sparse files made here.
write_removable_config() {
	local gib=1073741824 mib100=104857600
	truncate -s "$gib" "$LIB_TMP/removable0.img"
	truncate -s "$mib100" "$LIB_TMP/readonly1.img"
	truncate -s "$gib" "$LIB_TMP/block4k2.img"
	cat >"$1" <<-CONF
		HANDLER vdisk_fileio {
		    DEVICE removable0 {
		        filename $LIB_TMP/removable0.img
		        size $gib
		        removable 1
		    }
		    DEVICE readonly1 {
		        filename $LIB_TMP/readonly1.img
		        size $mib100
		    }
		    DEVICE block4k2 {
		        filename $LIB_TMP/block4k2.img
		        size $gib
		        blocksize 4096
		    }
		}

		TARGET_DRIVER iscsi {
		    enabled 1
		    TARGET $IQN {
		        enabled 1
		        LUN 0 removable0
		        LUN 1 readonly1 {
		            read_only 1
		        }
		        LUN 2 block4k2
		    }
		}
	CONF
}

# write_ramdisk_config FILE: LUN 0 a 1 GiB disk of the ramdisk plugin.
write_ramdisk_config() {
	cat >"$1" <<-CONF
		HANDLER ramdisk {
		    plugin $USCST_BUILD/examples/ramdisk.so
		    DEVICE ram0 {
		        size_mb 1024
		    }
		}

		TARGET_DRIVER iscsi {
		    enabled 1
		    TARGET $IQN {
		        enabled 1
		        LUN 0 ram0
		    }
		}
	CONF
}

# Starts uscstd with the setup's generated config; sets TARGET_URL (the
# target's URL without the LUN).
start_uscstd() {
	local conf=$LIB_TMP/scst.conf
	if [[ $SETUP == plain ]]; then
		write_config "$conf" "$IQN" "$LIB_TMP/disk0.img"
	elif [[ $SETUP == ramdisk ]]; then
		write_ramdisk_config "$conf"
	elif [[ $SETUP == blockio ]]; then
		write_config "$conf" "$IQN" "$LIB_TMP/disk0.img"
		sed -i 's/^HANDLER vdisk_fileio /HANDLER vdisk_blockio /' "$conf"
	else
		write_removable_config "$conf"
	fi
	DAEMON_LOG_FILE=$OUT/uscstd.log
	if ! daemon_start "$conf"; then
		return 1
	fi
	TARGET_URL=iscsi://127.0.0.1:$DAEMON_PORT/$IQN
	echo "conformance: uscstd pid $DAEMON_PID on 127.0.0.1:$DAEMON_PORT"
}

# run_suite LUN URLS SELECTION: runs iscsi-test-cu with URLS copies of the
# LUN's URL, appends its prefixed verdicts to $LIB_TMP/parsed.txt. Its
# stdout (parsed) and stderr go to separate files so unbuffered stderr can't
# split a CUnit line. The timeout is what is left of the setup's
# CONF_TIMEOUT, so a hung daemon can't stall every following run.
run_suite() {
	local lun=$1 urls=$2 sel=$3 rc=0 start=$SECONDS url log left i
	local -a args=() extra=()
	read -ra extra <<<"${CONF_EXTRA_ARGS:-}"
	url=$TARGET_URL/$lun
	[[ $SETUP != plain || -z ${CONF_URL:-} ]] || url=$CONF_URL
	for ((i = 0; i < urls; i++)); do
		args+=("$url")
	done
	# Plain keeps its one log's historic name; the others get one per run.
	log=$OUT/iscsi-test-cu
	[[ $SETUP == plain ]] || log+=".lun$lun.${sel//,/+}"
	left=$((DEADLINE - SECONDS))
	if ((left <= 0)); then
		echo "conformance: no time left for lun $lun -t $sel; its tests count as NOTRUN" >&2
		return 0
	fi
	echo "conformance: lun $lun: iscsi-test-cu -t $sel, $urls URL(s) (timeout ${left}s)"
	timeout "$left" iscsi-test-cu -d -v "${extra[@]}" -t "$sel" "${args[@]}" \
		>"$log.log" 2>"$log.stderr" </dev/null || rc=$?
	echo "conformance: iscsi-test-cu exit $rc after $((SECONDS - start))s"
	if ((rc == 124)); then
		# A hang is a failure even when no expected test is affected.
		echo "conformance: FAIL iscsi-test-cu TIMED OUT; tests without a verdict count as NOTRUN" >&2
		EXTRA_FAILURES=$((EXTRA_FAILURES + 1))
	fi
	if [[ -s $log.stderr ]]; then
		echo "conformance: iscsi-test-cu stderr (last lines):"
		tail -n 10 "$log.stderr" | sed 's/^/  | /'
	fi
	parse_cunit "$log.log" | sed "s/^/$(run_prefix "$lun")/" >>"$LIB_TMP/parsed.txt"
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

# Merges the parsed results of all runs with the selection (unreported
# tests = NOTRUN) and compares with the expected-pass file. Prints the
# summary lines.
report() {
	local parsed=$LIB_TMP/parsed.txt results=$OUT/results.txt
	local expected=$LIB_TMP/expected.txt passes=$LIB_TMP/passes.txt
	local p f s n t total exp_sel exp_pass regress newpass update
	touch "$parsed"
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
		echo "conformance: REGRESSIONS (in ${EXPECTED##*/}, did not pass):"
		while read -r t; do
			echo "  $t $(awk -v t="$t" '$1 == t { print $2 }' "$results")"
		done <<<"$regress"
	fi
	if [[ -n $newpass ]]; then
		update=tests/conformance/update-expected.sh
		[[ $SETUP == plain ]] || update+=" BUILD_DIR $SETUP"
		echo "conformance: new passes, add them to ${EXPECTED##*/} ($update):"
		while read -r t; do echo "  $t"; done <<<"$newpass"
	fi
	((n == 0)) || echo "conformance: $n selected tests got no verdict (NOTRUN, counted as failed)"
	echo "conformance: $p passed, $((f + n)) failed, $s skipped (of $total)"
	echo "conformance: expected passes: $exp_pass of $exp_sel; logs: $OUT/iscsi-test-cu*.log"
	EXP_PASSED=$exp_pass
	EXP_FAILED=$((exp_sel - exp_pass + EXTRA_FAILURES))
}

main() {
	local run lun urls sel
	SETUP=${2:-${CONF_SETUP:-plain}}
	if ! setup_init "$SETUP"; then
		echo "conformance-expected: 0 passed, 1 failed"
		return 1
	fi
	lib_init "${1:-}"
	OUT=$USCST_BUILD/$OUT_NAME
	mkdir -p "$OUT"
	rm -f "$OUT"/*.log "$OUT"/*.stderr "$OUT"/results.txt
	EXP_PASSED=0
	EXP_FAILED=0
	selected_all >"$OUT/selected.txt"
	check_expected_names
	if [[ ! -s $OUT/selected.txt ]]; then
		echo "conformance: CONF_TESTS=$SELECTION selects no test" >&2
		echo "conformance-expected: 0 passed, 1 failed"
		return 1
	fi

	if [[ -n ${CONF_URL:-} ]]; then
		TARGET_URL=$CONF_URL
	elif ! start_uscstd; then
		echo "conformance: FAIL could not start $USCSTD" >&2
		EXTRA_FAILURES=1
		report
		echo "conformance-expected: $EXP_PASSED passed, $EXP_FAILED failed"
		return 1
	fi
	DEADLINE=$((SECONDS + ${CONF_TIMEOUT:-900}))
	for run in "${RUNS[@]}"; do
		read -r lun urls sel <<<"$run"
		run_suite "$lun" "$urls" "$sel"
	done
	check_daemon
	report
	echo "conformance-expected: $EXP_PASSED passed, $EXP_FAILED failed"
	((EXP_FAILED == 0))
}

main "$@"
