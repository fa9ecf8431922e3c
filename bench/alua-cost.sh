#!/usr/bin/env bash
# What ALUA costs a command: target CPU per command of 4K random reads at
# QD32 on a nullio LUN, without a device group and with the LUN's device in
# one (the last of NDEV devices, its target the last of NTGT ports of the
# group, the worst case for a lookup by name).  uscstd runs with one
# reactor pinned to CPU 1, uscst-bench on CPU 0; target CPU per command is
# uscstd's utime+stime over the commands completed (uscst-bench
# --cpu-pid).  Rounds alternate plain/alua; the medians are printed.  The
# machine may be shared: look at the spread, not one run.
#
#   bench/alua-cost.sh [--rounds N] [--time SECONDS] [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../tests/integration/lib.sh"

ROUNDS=5
RUN_TIME=5
NDEV=16
NTGT=8
while [[ ${1:-} == --* ]]; do
	case $1 in
	--rounds) ROUNDS=$2 ;;
	--time) RUN_TIME=$2 ;;
	*) echo "usage: $0 [--rounds N] [--time SECONDS] [BUILD_DIR]" >&2 && exit 2 ;;
	esac
	shift 2
done
lib_init "${1:-}"
IQN=$USCST_IQN_PREFIX:alua-bench

# conf FILE ALUA(0|1)
conf() {
	local i
	{
		echo "HANDLER vdisk_nullio {"
		for ((i = 0; i < NDEV; i++)); do
			printf '  DEVICE null%d {\n    size 1099511627776\n  }\n' "$i"
		done
		echo "}"
		echo "TARGET_DRIVER iscsi {"
		echo "  enabled 1"
		printf '  TARGET %s {\n    rel_tgt_id %d\n' "$IQN" "$NTGT"
		echo "    LUN 0 null$((NDEV - 1))"
		echo "  }"
		echo "}"
		if (($2)); then
			echo "DEVICE_GROUP dg0 {"
			for ((i = 0; i < NDEV; i++)); do
				echo "  DEVICE null$i"
			done
			echo "  TARGET_GROUP tg1 {"
			echo "    group_id 1"
			echo "    state active"
			for ((i = 1; i < NTGT; i++)); do
				printf '    TARGET %s-peer%d {\n      rel_tgt_id %d\n    }\n' "$IQN" "$i" "$i"
			done
			echo "    TARGET $IQN"
			echo "  }"
			echo "}"
		fi
	} >"$1"
}

run() {
	local out
	conf "$LIB_TMP/scst.conf" "$1"
	daemon_start "$LIB_TMP/scst.conf" --threads 1 || exit 1
	taskset -a -p -c 1 "$DAEMON_PID" >/dev/null
	out=$(taskset -c 0 "$USCST_BUILD/uscst-bench" --json --rw read --random --bs 4K --qd 32 \
		--time "$RUN_TIME" --cpu-pid "$DAEMON_PID" "iscsi://127.0.0.1:$DAEMON_PORT/$IQN/0")
	daemon_stop
	jq -r '[.iops, .target_cpu_us_per_cmd] | @tsv' <<<"$out"
}

median() {
	sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

: >"$LIB_TMP/plain" >"$LIB_TMP/alua"
for ((r = 1; r <= ROUNDS; r++)); do
	for kind in plain alua; do
		res=$(run "$([[ $kind == alua ]] && echo 1 || echo 0)")
		echo "round $r $kind: IOPS $(cut -f1 <<<"$res") target us/cmd $(cut -f2 <<<"$res")"
		echo "$res" >>"$LIB_TMP/$kind"
	done
done
for kind in plain alua; do
	printf '%-6s median IOPS %s, target CPU us/cmd %s\n' "$kind" \
		"$(cut -f1 "$LIB_TMP/$kind" | median)" "$(cut -f2 "$LIB_TMP/$kind" | median)"
done
