#!/usr/bin/env bash
# vdisk_fileio against vdisk_blockio on the same file, one uscstd at a time
# (a file may back one device only), A B A B for ROUNDS rounds: uscstd
# pinned to CPU 1, uscst-bench to CPU 0.  Per workload and handler: the
# median MB/s, IOPS and target CPU microseconds per command (utime+stime
# of uscstd from /proc/PID/stat over the commands done), and the file's
# bytes in the page cache after the run (fincore).  Before each run the
# file's cached pages are written back and dropped (fdatasync, then
# POSIX_FADV_DONTNEED on that file only).
# A benchmark, not a test.  Usage:
#   bench/blockio-vs-fileio.sh [BUILD_DIR]   (env: ROUNDS=2 TIME=10 FILE_GIB=4)
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../tests/integration/lib.sh"

IQN=iqn.2026-11.org.uscst:bvf
ROUNDS=${ROUNDS:-2}
TIME=${TIME:-10}
FILE_GIB=${FILE_GIB:-4}
WORKLOADS=(
	"seqwrite-1M-qd4|--rw write --seq --bs 1M --qd 4"
	"randread-4K-qd32|--rw read --random --bs 4K --qd 32"
	"randwrite-4K-qd32|--rw write --random --bs 4K --qd 32"
)

drop_cache() {
	python3 -c 'import os,sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.fdatasync(fd)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
os.close(fd)' "$1"
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# run HANDLER ARGS...: one daemon with the file through HANDLER, one
# uscst-bench run; prints "MB/s IOPS us_per_cmd cached_bytes".
run() {
	local handler=$1 img=$LIB_TMP/data.img t0 t1 json hz
	shift
	cat >"$LIB_TMP/scst.conf" <<-CONF
		HANDLER $handler {
		    DEVICE d0 {
		        filename $img
		    }
		}
		TARGET_DRIVER iscsi {
		    enabled 1
		    TARGET $IQN {
		        enabled 1
		        LUN 0 d0
		    }
		}
	CONF
	drop_cache "$img"
	daemon_start "$LIB_TMP/scst.conf" >/dev/null
	taskset -pc 1 "$DAEMON_PID" >/dev/null
	for t in /proc/"$DAEMON_PID"/task/*; do taskset -pc 1 "${t##*/}" >/dev/null; done
	hz=$(getconf CLK_TCK)
	t0=$(cpu_ticks "$DAEMON_PID")
	json=$(taskset -c 0 "$USCST_BUILD/uscst-bench" --json --time "$TIME" "$@" \
		"iscsi://127.0.0.1:$DAEMON_PORT/$IQN/0")
	t1=$(cpu_ticks "$DAEMON_PID")
	daemon_stop
	local cached
	cached=$(fincore -b -n -o RES "$img")
	jq -r --argjson t $((t1 - t0)) --argjson hz "$hz" --argjson c "$cached" \
		'"\(.mb_per_s) \(.iops) \(($t / $hz * 1e6 / .commands) * 100 | round / 100) \($c)"' <<<"$json"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

main() {
	lib_init "${1:-}"
	echo "filling a ${FILE_GIB} GiB file..."
	dd if=/dev/zero of="$LIB_TMP/data.img" bs=1M count=$((FILE_GIB * 1024)) oflag=direct status=none
	local w name args h r
	declare -A res
	for w in "${WORKLOADS[@]}"; do
		name=${w%%|*}
		args=${w#*|}
		for ((r = 0; r < ROUNDS; r++)); do
			for h in vdisk_fileio vdisk_blockio; do
				# shellcheck disable=SC2086
				res[$name/$h]+="$(run "$h" $args)"$'\n'
				echo "$name $h round $r: $(tail -n 1 <<<"${res[$name/$h]%$'\n'}")"
			done
		done
	done
	printf '\n%-20s %-14s %10s %10s %12s %14s\n' workload handler MB/s IOPS "us/cmd" "cached bytes"
	for w in "${WORKLOADS[@]}"; do
		name=${w%%|*}
		for h in vdisk_fileio vdisk_blockio; do
			local col out=()
			for col in 1 2 3 4; do
				out+=("$(awk -v c=$col 'NF { print $c }' <<<"${res[$name/$h]}" | median)")
			done
			printf '%-20s %-14s %10s %10s %12s %14s\n' "$name" "$h" "${out[@]}"
		done
	done
	echo "(medians of $ROUNDS rounds of ${TIME} s; uscstd on CPU 1, uscst-bench on CPU 0)"
}

main "$@"
