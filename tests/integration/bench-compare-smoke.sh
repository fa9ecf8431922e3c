#!/usr/bin/env bash
# bench/compare.sh (make bench) in miniature: one round of 1 s per run,
# three workloads (4K random read on the null LUN, 128K sequential write
# with header and data digests through uscst-rawbench, so with R2Ts and
# Data-Out, and 4K random write on the file LUN) and a two-step saturation,
# against uscstd and tgtd.  Checks that it
# exits 0, that every row of the table has numbers for both targets and a
# ratio, and that it left no tgtd and no control socket behind.  A smoke
# test, not a benchmark: no thresholds.  tgtd missing is a failure (make
# deps installs the tgt package).
# Usage: tests/integration/bench-compare-smoke.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# A table row: LUN, workload words, the target, then five numbers.
NUM='[0-9]+(\.[0-9]+)?'

# row_has_numbers TARGET LUN WORKLOAD: the row of TARGET for that workload
# carries IOPS, MB/s, p99, CPU us/cmd and busy, IOPS and CPU above zero.
row_has_numbers() {
	awk -v t="$1" -v lun="$2" -v w="$3" -v num="^$NUM\$" '
		$1 == lun && index($0, w) && $(NF - 5) == t {
			ok = 1
			for (i = NF - 4; i <= NF; i++) if ($i !~ num) ok = 0
			if ($(NF - 4) + 0 <= 0 || $(NF - 1) + 0 <= 0) ok = 0
			if (ok) found = 1
		}
		END { exit !found }' "$LIB_TMP/out"
}

# ratio_rows N: N "ours/tgt" lines with numbers only (one per workload and
# the saturation row's).
ratio_rows() {
	local n
	n=$(grep -cE "^ +ours/tgt( +$NUM)+ *\$" "$LIB_TMP/out" || true)
	((n == $1))
}

saturation_rows() {
	local t
	for t in uscst tgt; do
		grep -qE "^null +saturated 4K randread +$t +$NUM +$NUM +[0-9x,]+ +$NUM\$" \
			"$LIB_TMP/out" || return 1
	done
}

# No tgtd of ours left, nor its control socket (the script prints its
# control port on stderr; every tgtd it starts uses that port).
nothing_left() {
	local ctl
	ctl=$(sed -n 's/^compare: tgtd control port \([0-9]*\),.*/\1/p' "$LIB_TMP/err")
	[[ -n $ctl ]] || return 1
	[[ ! -e /var/run/tgtd/socket.$ctl && ! -e /var/run/tgtd/socket.$ctl.lock ]] || return 1
	! pgrep -f "tgtd -f -C $ctl " >/dev/null
}

main() {
	local rc=0
	lib_init "${1:-}"
	if [[ ! -x /usr/sbin/tgtd ]]; then
		fail bench-compare:tgtd "tgtd not installed (Debian package tgt; make deps)"
		lib_finish
		return
	fi
	if [[ ! -x $USCST_BUILD/uscst-bench ]]; then
		fail bench-compare:uscst-bench "$USCST_BUILD/uscst-bench not built (libiscsi-dev)"
		lib_finish
		return
	fi
	BENCH_FILE_SIZE=64M timeout 120 "$USCST_ROOT/bench/compare.sh" --rounds 1 --time 1 \
		--only '^(null 4K randread QD32|null 128K seqwrite QD8 digests|file 4K randwrite QD32)$' \
		--sat-steps '1x8 2x16' \
		"$USCST_BUILD" >"$LIB_TMP/out" 2>"$LIB_TMP/err" || rc=$?
	cat "$LIB_TMP/out"
	if ((rc == 0)); then
		pass bench-compare:exit-0
	else
		fail bench-compare:exit-0 "exit $rc"
		tail -n 20 "$LIB_TMP/err" | sed 's/^/  | /'
	fi
	check bench-compare:null-read-uscst row_has_numbers uscst null '4K randread QD32'
	check bench-compare:null-read-tgt row_has_numbers tgt null '4K randread QD32'
	check bench-compare:digests-write-uscst row_has_numbers uscst null '128K seqwrite QD8 digests'
	check bench-compare:digests-write-tgt row_has_numbers tgt null '128K seqwrite QD8 digests'
	check bench-compare:file-write-uscst row_has_numbers uscst file '4K randwrite QD32'
	check bench-compare:file-write-tgt row_has_numbers tgt file '4K randwrite QD32'
	check bench-compare:ratios ratio_rows 4
	check bench-compare:saturation saturation_rows
	check bench-compare:nothing-left nothing_left
	lib_finish
}

main "$@"
