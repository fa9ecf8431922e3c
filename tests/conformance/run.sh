#!/usr/bin/env bash
# Runs libiscsi's iscsi-test-cu conformance suite against a uscstd started
# here, classifies every test as PASS / FAIL / SKIP / NOTRUN and compares the
# passes with the setup's expected-pass file.
#
# Usage: tests/conformance/run.sh [BUILD_DIR [SETUP]]  (default: $BUILD or
#        build; SETUP: $CONF_SETUP or plain)
# Setups (one uscstd each, one LUN 0; SETUP's expected passes in
# expected-pass-SETUP.txt, plain's in expected-pass.txt; results in
# BUILD_DIR/conformance-SETUP/, plain's in BUILD_DIR/conformance/):
#   plain      1 GiB file, 512-byte blocks, every default: on a 4 KiB file
#              system READ CAPACITY(16) reports LBPPB 8 (lb_per_pb_exp 1,
#              SCST's default), which the CompareAndWrite/WriteSame
#              InvalidDataOutSize and UnmapUnaligned tests need. -t ALL,
#              two URLs (MultipathIO, the 2-initiator reservation tests).
#              The ASan and TSan stages run this one.
#   thin       1 GiB file, 512-byte blocks, thin_provisioned 1, removable 1
#              (PreventAllow, StartStopUnit, NoMedia), lb_per_pb_exp 0
#              (LBPPB 1: GetLBAStatus.UnmapSingle, see deviations.md), on
#              two portals; -t ALL with one URL per portal and
#              --allow-sanitize.
#   readonly   100 MiB file mapped read_only: -t ALL.ReadOnly (the write
#              tests of every other suite expect GOOD).
#   4k         1 GiB file with 4096-byte blocks; -t ALL, two URLs.
#   ramdisk    1 GiB disk of the ramdisk example plugin
#              (BUILD_DIR/examples/ramdisk.so, HANDLER ramdisk); as plain.
#   blockio    1 GiB file through vdisk_blockio (O_DIRECT; small writes are
#              read-modify-writes); as plain.
# `make test` runs the matrix plain, thin, readonly, 4k (matrix.sh);
# ramdisk and blockio are run by hand.
# Environment:
#   CONF_TESTS=ALL.Read10,ALL.Write1*   all but readonly: only these tests
#                                       (iscsi-test-cu -t syntax:
#                                       FAMILY[.SUITE[.TEST]] globs, comma
#                                       separated); default ALL
#   CONF_TIMEOUT=900                    seconds for all iscsi-test-cu runs of
#                                       the setup together
#   CONF_EXTRA_ARGS="--allow-sanitize"  more iscsi-test-cu options, for every
#                                       run (word split)
#   CONF_URL=iscsi://host:port/iqn/lun  test an already running target
#                                       instead of starting uscstd
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

# setup_init SETUP: sets EXPECTED, OUT_NAME (results dir under the build
# dir), RUNS, PORTALS (listening ports), CU_ARGS (more iscsi-test-cu
# options).
setup_init() {
	PORTALS=1
	CU_ARGS=()
	EXPECTED=${CONF_EXPECTED:-$HERE/expected-pass-$1.txt}
	OUT_NAME=conformance-$1
	case $1 in
	plain)
		EXPECTED=${CONF_EXPECTED:-$HERE/expected-pass.txt}
		OUT_NAME=conformance
		# The second URL opens a second I_T nexus to the same LU: that
		# enables the MultipathIO tests (and the 2-initiator reservation
		# tests).
		RUNS=("0 2 $SELECTION")
		;;
	thin)
		# Two portals, one URL each: the second nexus comes in through
		# another target port.  The SANITIZE tests overwrite the LUN:
		# they only run when allowed.
		PORTALS=2
		CU_ARGS=(--allow-sanitize)
		RUNS=("0 2 $SELECTION")
		;;
	4k | ramdisk | blockio)
		RUNS=("0 2 $SELECTION")
		;;
	readonly)
		if [[ -n ${CONF_TESTS:-} ]]; then
			echo "conformance: CONF_TESTS does not apply to the readonly setup" >&2
			return 1
		fi
		RUNS=("0 1 ALL.ReadOnly")
		;;
	*)
		echo "conformance: unknown setup '$1' (plain, thin, readonly, 4k, ramdisk, blockio)" >&2
		return 1
		;;
	esac
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

# Every run's selection, sorted.
selected_all() {
	local run lun urls sel
	for run in "${RUNS[@]}"; do
		read -r lun urls sel <<<"$run"
		selected_tests "$sel"
	done | sort -u
}

# Test names in the expected-pass file, without comments and blank lines.
expected_names() {
	[[ -f $EXPECTED ]] || return 0
	sed -e 's/#.*//' -e 's/[[:space:]]//g' "$EXPECTED" | { grep -v '^$' || true; } | sort -u
}

# Warns about names in the expected-pass file that the setup can't run
# (typos would otherwise be ignored silently). Setups that run ALL: any
# iscsi-test-cu test (CONF_TESTS may select fewer); readonly always runs
# its full selection.
check_expected_names() {
	local unknown known=$OUT/selected.txt
	if [[ $SETUP != readonly ]]; then
		known=$LIB_TMP/known.txt
		selected_tests ALL >"$known"
	fi
	unknown=$(expected_names | comm -23 - "$known")
	if [[ -n $unknown ]]; then
		echo "conformance: WARNING: unknown test names in $EXPECTED: ${unknown//$'\n'/ }" >&2
	fi
}

# write_disk_config FILE IMG SIZE DEVICE_ATTRS LUN_ATTRS: one vdisk_fileio
# device on LUN 0 of the target, backed by a sparse file made here; the
# attribute arguments are scst.conf lines ("" for none).
write_disk_config() {
	local conf=$1 img=$2 size=$3 dev_attrs=$4 lun_attrs=$5
	truncate -s "$size" "$img"
	{
		echo "HANDLER vdisk_fileio {"
		echo "    DEVICE disk0 {"
		echo "        filename $img"
		echo "        size $size"
		[[ -z $dev_attrs ]] || echo "$dev_attrs"
		echo "    }"
		echo "}"
		echo
		echo "TARGET_DRIVER iscsi {"
		echo "    enabled 1"
		echo "    TARGET $IQN {"
		echo "        enabled 1"
		if [[ -n $lun_attrs ]]; then
			echo "        LUN 0 disk0 {"
			echo "$lun_attrs"
			echo "        }"
		else
			echo "        LUN 0 disk0"
		fi
		echo "    }"
		echo "}"
	} >"$conf"
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

# Starts uscstd with the setup's generated config; sets TARGET_URLS (the
# target's URL without the LUN, one per portal).
start_uscstd() {
	local conf=$LIB_TMP/scst.conf gib=1073741824 port2 pbs
	local -a listen=()
	case $SETUP in
	plain)
		write_config "$conf" "$IQN" "$LIB_TMP/disk0.img"
		# LBPPB 8 needs a 4 KiB file system block under the image.
		pbs=$(stat -c %o "$LIB_TMP/disk0.img")
		[[ $pbs == 4096 ]] ||
			echo "conformance: WARNING: file system block $pbs, not 4096: READ CAPACITY(16) will not report LBPPB 8" >&2
		;;
	thin)
		write_disk_config "$conf" "$LIB_TMP/disk0.img" "$gib" \
			$'        thin_provisioned 1\n        removable 1\n        lb_per_pb_exp 0' ""
		;;
	readonly)
		write_disk_config "$conf" "$LIB_TMP/disk0.img" 104857600 "" "            read_only 1"
		;;
	4k)
		write_disk_config "$conf" "$LIB_TMP/disk0.img" "$gib" "        blocksize 4096" ""
		;;
	ramdisk)
		write_ramdisk_config "$conf"
		;;
	blockio)
		write_config "$conf" "$IQN" "$LIB_TMP/disk0.img"
		sed -i 's/^HANDLER vdisk_fileio /HANDLER vdisk_blockio /' "$conf"
		;;
	esac
	if ((PORTALS > 1)); then
		# Far from the ports daemon_start tries first (PORT_BASE up).
		port2=$(free_port $((${PORT_BASE:-13260} + 100))) || return 1
		listen=(--listen "127.0.0.1:$port2")
	fi
	DAEMON_LOG_FILE=$OUT/uscstd.log
	if ! daemon_start "$conf" "${listen[@]}"; then
		return 1
	fi
	TARGET_URLS=("iscsi://127.0.0.1:$DAEMON_PORT/$IQN")
	[[ -z ${port2:-} ]] || TARGET_URLS+=("iscsi://127.0.0.1:$port2/$IQN")
	echo "conformance: uscstd pid $DAEMON_PID on ${TARGET_URLS[*]}"
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
	# URL i goes through portal i (modulo the portals there are).
	for ((i = 0; i < urls; i++)); do
		url=${TARGET_URLS[i % ${#TARGET_URLS[@]}]}/$lun
		[[ -z ${CONF_URL:-} ]] || url=$CONF_URL
		args+=("$url")
	done
	# One log per run when a setup has several.
	log=$OUT/iscsi-test-cu
	((${#RUNS[@]} == 1)) || log+=".lun$lun.${sel//,/+}"
	left=$((DEADLINE - SECONDS))
	if ((left <= 0)); then
		echo "conformance: no time left for lun $lun -t $sel; its tests count as NOTRUN" >&2
		return 0
	fi
	echo "conformance: lun $lun: iscsi-test-cu -t $sel, $urls URL(s) (timeout ${left}s)"
	timeout "$left" iscsi-test-cu -d -v "${CU_ARGS[@]}" "${extra[@]}" -t "$sel" "${args[@]}" \
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
	parse_cunit "$log.log" >>"$LIB_TMP/parsed.txt"
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
		TARGET_URLS=("$CONF_URL")
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
