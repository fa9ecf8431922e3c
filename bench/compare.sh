#!/usr/bin/env bash
# make bench: uscstd against tgtd (Linux SCSI target framework), both on
# loopback with equivalent LUNs, driven by build/uscst-bench (and
# build/uscst-rawbench where libiscsi cannot: DataDigest).
#
#   bench/compare.sh [--rounds N] [--time SECONDS] [--only REGEX]
#                    [--sat-steps "SxQ ..."] [--no-saturate] [BUILD_DIR]
#
# Environment (make bench passes it through): BENCH_ROUNDS (default 3),
# BENCH_TIME (seconds per run, default 5), BENCH_ONLY (extended regex on
# "LUN workload", e.g. 'null 4K randread'), BENCH_SAT_STEPS (default
# "1x32 2x32 4x32 8x32 16x32": sessions x QD), BENCH_SATURATE (0: skip the
# saturation row), BENCH_SAT_CLIENT (raw: uscst-rawbench, the default;
# libiscsi: uscst-bench), BENCH_FILE_SIZE (file LUN size, default 1G).
#
# Both targets run at once (an idle target costs nothing) pinned to CPU 1;
# the client runs pinned to CPU 0.  Every workload runs against uscstd,
# then tgtd, and again in each round (A B A B ...), so a slow spell of a
# noisy machine hits both.  Target CPU per command is the target process's
# utime+stime (/proc/PID/stat fields 14 and 15, all threads) between the
# start and the end of the measured interval, over the commands completed
# in it (uscst-bench --cpu-pid).  The table shows the median over rounds.
#
# Exit status: 0 when every run succeeded, 1 otherwise (a failed run shows
# as "fail" in the table), 2 on usage errors.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../tests/integration/lib.sh"

IQN_USCST=iqn.2026-12.org.uscst:bench
IQN_TGT=iqn.2026-12.org.uscst:tgt
NULL_SIZE=1099511627776 # 1 TiB: the size of tgt's null backing store
TGTD=${TGTD:-/usr/sbin/tgtd}
TGTADM=${TGTADM:-tgtadm}
TGT_IPC_DIR=/var/run/tgtd

ROUNDS=${BENCH_ROUNDS:-3}
RUN_TIME=${BENCH_TIME:-5}
ONLY=${BENCH_ONLY:-}
SAT_STEPS=${BENCH_SAT_STEPS:-1x32 2x32 4x32 8x32 16x32}
SATURATE=${BENCH_SATURATE:-1}
# The saturation client: uscst-rawbench (raw, default; lighter, it drives a
# target core further from the one client core) or uscst-bench (libiscsi).
SAT_CLIENT=${BENCH_SAT_CLIENT:-raw}
# LUN kinds whose rows also show the page cache's growth during a run.
CACHE_KINDS=${BENCH_CACHE_KINDS:-blockio}
FILE_SIZE=${BENCH_FILE_SIZE:-1G}
BUILD_ARG=""

TGT_PID=""
TGT_CTL=""
TGT_PORT=""
FAILED_RUNS=0
RESULT=""
# LUN kind -> LUN number, per target; a kind a target lacks is skipped.
declare -A USCST_LUN=() TGT_LUN=()
# Workload rows: "KIND|LABEL|ARGS", ARGS for uscst-bench, or --raw and
# ARGS for uscst-rawbench.
ROWS=()

usage() {
	# The comment at the top, down to the line before "Both targets".
	sed -n '2,/^# Both targets/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}

parse_args() {
	while (($#)); do
		case $1 in
		--rounds) ROUNDS=${2:?}; shift ;;
		--time) RUN_TIME=${2:?}; shift ;;
		--only) ONLY=${2:?}; shift ;;
		--sat-steps) SAT_STEPS=${2:?}; shift ;;
		--no-saturate) SATURATE=0 ;;
		-h | --help) usage ;;
		-*) usage ;;
		*) BUILD_ARG=$1 ;;
		esac
		shift
	done
	[[ $ROUNDS =~ ^[1-9][0-9]*$ && $RUN_TIME =~ ^[1-9][0-9]*$ ]] || usage
}

# The workloads.  Null-LUN rows run again with HeaderDigest and DataDigest
# CRC32C ("digests"), driven by uscst-rawbench (--raw: libiscsi 1.19 cannot
# negotiate DataDigest).  A new LUN kind needs rows here and a LUN in
# start_uscstd/start_tgtd.
define_rows() {
	local -a null_rows=(
		"4K randread QD32|--rw read --random --bs 4K --qd 32"
		"4K randwrite QD32|--rw write --random --bs 4K --qd 32"
		"4K randread QD32 4 sess|--rw read --random --bs 4K --qd 32 --sessions 4"
		"128K seqread QD8|--rw read --seq --bs 128K --qd 8"
		"128K seqwrite QD8|--rw write --seq --bs 128K --qd 8"
		"1M seqread QD4|--rw read --seq --bs 1M --qd 4"
	)
	local -a file_rows=(
		"4K randread QD32|--rw read --random --bs 4K --qd 32"
		"4K randwrite QD32|--rw write --random --bs 4K --qd 32"
		"1M seqwrite QD4|--rw write --seq --bs 1M --qd 4"
	)
	local r
	for r in "${null_rows[@]}"; do
		ROWS+=("null|$r")
	done
	for r in "${null_rows[@]}"; do
		ROWS+=("null|${r%%|*} digests|--raw --digest all ${r#*|}")
	done
	for r in "${file_rows[@]}"; do
		ROWS+=("file|$r")
	done
	# O_DIRECT rows: uscst's vdisk_blockio against tgt's rdwr with
	# bsoflags=direct, only when this uscstd build has the handler.
	for r in "${file_rows[@]}"; do
		ROWS+=("blockio|$r")
	done
}

# uscstd: one reactor thread (--threads 1) so that it, like tgtd's event
# loop, works on one core; the whole process pinned to CPU 1.
start_uscstd() {
	local blockio=$1 conf=$LIB_TMP/scst.conf
	{
		cat <<-CONF
			HANDLER vdisk_nullio {
			    DEVICE null0 {
			        size $NULL_SIZE
			    }
			}
			HANDLER vdisk_fileio {
			    DEVICE file0 {
			        filename $LIB_TMP/file.img
			        size $FILE_BYTES
			    }
			}
		CONF
		if ((blockio)); then
			cat <<-CONF
				HANDLER vdisk_blockio {
				    DEVICE direct0 {
				        filename $LIB_TMP/direct.img
				        size $FILE_BYTES
				    }
				}
			CONF
		fi
		cat <<-CONF
			TARGET_DRIVER iscsi {
			    enabled 1
			    TARGET $IQN_USCST {
			        enabled 1
			        LUN 0 null0
			        LUN 1 file0
			        $( ((blockio)) && echo "LUN 2 direct0")
			    }
			}
		CONF
	} >"$conf"
	daemon_start "$conf" --threads 1 || return 1
	taskset -a -p -c 1 "$DAEMON_PID" >/dev/null
	USCST_LUN=([null]=0 [file]=1)
	((blockio)) && USCST_LUN[blockio]=2
	return 0
}

# True if this uscstd build registers the handler $1 (asked of a running
# daemon, so a plugin or a newer build is seen as it is).
uscstd_has_handler() {
	"$USCSTADMIN" -s "$DAEMON_SOCK" -j list handlers | jq -e --arg h "$1" \
		'any(.[]; .name == $h)' >/dev/null
}

# A control port no other tgtd uses: its socket does not exist.
pick_tgt_ctl() {
	local n
	for ((n = 100 + $$ % 800; n < 1000; n++)); do
		if [[ ! -e $TGT_IPC_DIR/socket.$n && ! -e $TGT_IPC_DIR/socket.$n.lock ]]; then
			echo "$n"
			return 0
		fi
	done
	echo "compare: no free tgtd control port" >&2
	return 1
}

tgtadm_() {
	"$TGTADM" -C "$TGT_CTL" --lld iscsi "$@"
}

# tgtd in the foreground (-f: we hold its PID) with a private control port
# (-C) so it never meets the system's tgtd, pinned to CPU 1.
start_tgtd() {
	local deadline
	if [[ ! -x $TGTD ]] || ! command -v "$TGTADM" >/dev/null; then
		echo "compare: tgtd not installed ($TGTD, $TGTADM; Debian package tgt: make deps)" >&2
		return 1
	fi
	TGT_CTL=$(pick_tgt_ctl) || return 1
	TGT_PORT=$(free_port $((DAEMON_PORT + 1))) || return 1
	taskset -c 1 "$TGTD" -f -C "$TGT_CTL" --iscsi "portal=127.0.0.1:$TGT_PORT" \
		>"$LIB_TMP/tgtd.log" 2>&1 </dev/null &
	TGT_PID=$!
	echo "compare: tgtd control port $TGT_CTL, pid $TGT_PID, portal 127.0.0.1:$TGT_PORT" >&2
	deadline=$((SECONDS + 10))
	until port_in_use "$TGT_PORT" && "$TGTADM" -C "$TGT_CTL" --op show --mode sys >/dev/null 2>&1; do
		if ! kill -0 "$TGT_PID" 2>/dev/null || ((SECONDS >= deadline)); then
			echo "compare: tgtd did not start; its log:" >&2
			sed 's/^/  | /' "$LIB_TMP/tgtd.log" >&2
			return 1
		fi
		sleep 0.1
	done
	# A null LUN (tgt's null backing store: 1 TiB, 512-byte blocks, nothing
	# stored) and the same file as uscstd's vdisk_fileio LUN (rdwr: pread/
	# pwrite through the page cache).  LUN 0 is tgt's controller.
	tgtadm_ --op new --mode target --tid 1 -T "$IQN_TGT" &&
		tgtadm_ --op new --mode logicalunit --tid 1 --lun 1 --bstype null \
			--backing-store /dev/null &&
		tgtadm_ --op new --mode logicalunit --tid 1 --lun 2 --bstype rdwr \
			--backing-store "$LIB_TMP/file.img" &&
		tgtadm_ --op bind --mode target --tid 1 -I ALL || return 1
	# tgt answers None to an initiator that offers only CRC32C unless the
	# target lists CRC32C (uscstd accepts either as it is).
	tgtadm_ --op update --mode target --tid 1 --name HeaderDigest --value CRC32C,None &&
		tgtadm_ --op update --mode target --tid 1 --name DataDigest --value CRC32C,None ||
		return 1
	TGT_LUN=([null]=1 [file]=2)
	if [[ -n ${USCST_LUN[blockio]:-} ]] &&
		tgtadm_ --op new --mode logicalunit --tid 1 --lun 3 --bstype rdwr \
			--bsoflags direct --backing-store "$LIB_TMP/direct.img"; then
		TGT_LUN[blockio]=3
	fi
	taskset -a -p -c 1 "$TGT_PID" >/dev/null
}

# tgtd ignores SIGTERM while it has targets: delete them and the system
# first, then SIGTERM, then SIGKILL; only our PID, only our socket files.
stop_tgtd() {
	local pid=$TGT_PID i
	[[ -n $pid ]] || return 0
	TGT_PID=""
	if kill -0 "$pid" 2>/dev/null; then
		tgtadm_ --op delete --mode target --tid 1 --force >/dev/null 2>&1 || true
		"$TGTADM" -C "$TGT_CTL" --op delete --mode system >/dev/null 2>&1 || true
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 30; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	rm -f "$TGT_IPC_DIR/socket.$TGT_CTL" "$TGT_IPC_DIR/socket.$TGT_CTL.lock"
}

bench_cleanup() {
	stop_tgtd
	lib_cleanup
}

# The file LUN: real blocks (zeros), so writes do not allocate, then read
# once so the page cache holds it (the rows are "page cache warm").
make_files() {
	FILE_BYTES=$(numfmt --from=iec "$FILE_SIZE")
	dd if=/dev/zero of="$LIB_TMP/file.img" bs=1M count=$((FILE_BYTES / 1048576)) \
		conv=fsync status=none
	cat "$LIB_TMP/file.img" >/dev/null
	FILE_BYTES=$(stat -c %s "$LIB_TMP/file.img")
}

# url TARGET KIND
url() {
	if [[ $1 == uscst ]]; then
		echo "iscsi://127.0.0.1:$DAEMON_PORT/$IQN_USCST/${USCST_LUN[$2]}"
	else
		echo "iscsi://127.0.0.1:$TGT_PORT/$IQN_TGT/${TGT_LUN[$2]}"
	fi
}

target_pid() {
	if [[ $1 == uscst ]]; then echo "$DAEMON_PID"; else echo "$TGT_PID"; fi
}

# has_lun TARGET KIND
has_lun() {
	if [[ $1 == uscst ]]; then
		[[ -n ${USCST_LUN[$2]:-} ]]
	else
		[[ -n ${TGT_LUN[$2]:-} ]]
	fi
}

# run_one TARGET KIND [--raw] ARGS...: one uscst-bench (uscst-rawbench
# with --raw) run on CPU 0; sets RESULT to "IOPS MB/s P99 CPU_US_PER_CMD
# BUSY" (tabs), or to "" and counts a failed run.
run_one() {
	local target=$1 kind=$2 out err=$LIB_TMP/bench.err client=uscst-bench
	shift 2
	if [[ ${1:-} == --raw ]]; then
		client=uscst-rawbench
		shift
	fi
	RESULT=""
	if ! out=$(timeout $((RUN_TIME + 60)) taskset -c 0 "$USCST_BUILD/$client" --json \
		--time "$RUN_TIME" --cpu-pid "$(target_pid "$target")" "$@" \
		"$(url "$target" "$kind")" 2>"$err" </dev/null); then
		echo "compare: $target $kind $*: failed:" >&2
		sed 's/^/  | /' "$err" | tail -n 5 >&2
		FAILED_RUNS=$((FAILED_RUNS + 1))
		return 0
	fi
	RESULT=$(jq -r '[.iops, .mb_per_s, .lat_us_p99, .target_cpu_us_per_cmd, .target_busy]
		| @tsv' <<<"$out")
}

# median: of the numbers on stdin, or "-" if none.
median() {
	sort -g | awk '{ a[NR] = $1 }
		END { if (NR == 0) print "-"; else if (NR % 2) print a[(NR + 1) / 2];
		      else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# column FILE N: field N of every line of FILE, medianed.
col_median() {
	[[ -s $1 ]] || {
		echo -
		return
	}
	cut -f "$2" "$1" | median
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'
}

selected_rows() {
	local row kind
	for row in "${ROWS[@]}"; do
		kind=${row%%|*}
		has_lun uscst "$kind" || has_lun tgt "$kind" || continue
		if [[ -n $ONLY ]] && ! grep -Eq -- "$ONLY" <<<"$kind $(cut -d '|' -f 2 <<<"$row")"; then
			continue
		fi
		echo "$row"
	done
}

# The host's page cache (kB): O_DIRECT rows should not grow it.
cached_kib() {
	awk '$1 == "Cached:" { print $2 }' /proc/meminfo
}

run_rows() {
	local round=$1 row kind label args i target cached_before
	i=0
	while IFS= read -r row; do
		i=$((i + 1))
		kind=${row%%|*}
		row=${row#*|}
		label=${row%%|*}
		args=${row#*|}
		for target in uscst tgt; do
			has_lun "$target" "$kind" || continue
			cached_before=$(cached_kib)
			# shellcheck disable=SC2086
			run_one "$target" "$kind" $args
			[[ -z $RESULT ]] || echo "$RESULT" >>"$LIB_TMP/res.$i.$target"
			echo $((($(cached_kib) - cached_before) / 1024)) >>"$LIB_TMP/cache.$i.$target"
			printf '  round %d  %-8s %-34s %-5s %s\n' "$round" "$kind" "$label" "$target" \
				"${RESULT:-failed}" >&2
		done
	done < <(selected_rows)
}

# Saturation: more sessions x QD from the one client core until the
# target core is 95 % busy, or until a step brings neither 3 % more IOPS
# nor 0.02 more busy share than the best so far (on a shared machine the
# busy share alone is a poor guide: other work runs on the same core).
# Keeps the step with the most IOPS: the target's state nearest
# saturation.
saturate() {
	local target=$1 step s q iops busy best_iops=0 best_busy=0 best=""
	for step in $SAT_STEPS; do
		s=${step%x*}
		q=${step#*x}
		# shellcheck disable=SC2046
		run_one "$target" null $([[ $SAT_CLIENT == raw ]] && echo --raw --digest none) \
			--rw read --random --bs 4K --sessions "$s" --qd "$q"
		[[ -n $RESULT ]] || return 0
		iops=$(cut -f 1 <<<"$RESULT")
		busy=$(cut -f 5 <<<"$RESULT")
		printf '  saturate %-5s %-6s %s\n' "$target" "$step" "$RESULT" >&2
		if awk -v i="$iops" -v b="$busy" -v bi="$best_iops" -v bb="$best_busy" \
			'BEGIN { exit !(bi > 0 && i < bi * 1.03 && b < bb + 0.02) }'; then
			break
		fi
		if awk -v i="$iops" -v bi="$best_iops" 'BEGIN { exit !(i > bi) }'; then
			best_iops=$iops
			best="$RESULT	$step"
		fi
		awk -v b="$busy" -v bb="$best_busy" 'BEGIN { exit !(b > bb) }' && best_busy=$busy
		awk -v b="$busy" 'BEGIN { exit !(b >= 0.95) }' && break
	done
	# IOPS, busy, IOPS per busy core, load
	[[ -z $best ]] || awk -F '\t' '{ printf "%s\t%s\t%.0f\t%s\n", $1, $5, ($5 > 0 ? $1 / $5 : 0), $6 }' \
		<<<"$best" >>"$LIB_TMP/sat.$target"
}

print_table() {
	local row kind label i target f
	local -A med
	printf '\nuscstd (build %s, 1 reactor) vs tgtd %s, both on CPU 1; uscst-bench on CPU 0\n' \
		"${USCST_BUILD##*/}" "$("$TGTD" -V 2>/dev/null | awk '{ print $NF }')"
	printf 'median of %d round(s) of %d s per run; client uscst-bench (libiscsi), but "digests" rows:\n' \
		"$ROUNDS" "$RUN_TIME"
	printf 'uscst-rawbench with HeaderDigest=CRC32C and DataDigest=CRC32C; ratio = ours/tgt; target\n'
	printf 'CPU = user+sys of the target process over the commands completed (lower is better);\n'
	printf 'busy = share of one core\n\n'
	printf '%-8s %-34s %-8s %10s %9s %9s %11s %6s\n' LUN workload target IOPS MB/s 'p99 us' \
		'CPU us/cmd' busy
	i=0
	while IFS= read -r row; do
		i=$((i + 1))
		kind=${row%%|*}
		row=${row#*|}
		label=${row%%|*}
		for target in uscst tgt; do
			for f in 1 2 3 4 5; do
				med[$target.$f]=$(col_median "$LIB_TMP/res.$i.$target" "$f")
			done
			if [[ ${med[$target.1]} == - ]]; then
				# No LUN of this kind on this target, or every run failed.
				printf '%-8s %-34s %-8s %10s\n' "$kind" "$label" "$target" \
					"$(has_lun "$target" "$kind" && echo fail || echo n/a)"
			else
				printf '%-8s %-34s %-8s %10.0f %9.1f %9.1f %11.2f %6.2f\n' "$kind" "$label" \
					"$target" "${med[$target.1]}" "${med[$target.2]}" "${med[$target.3]}" \
					"${med[$target.4]}" "${med[$target.5]}"
			fi
		done
		printf '%-8s %-34s %-8s %10s %9s %9s %11s\n' "" "" ours/tgt \
			"$(ratio "${med[uscst.1]}" "${med[tgt.1]}")" \
			"$(ratio "${med[uscst.2]}" "${med[tgt.2]}")" \
			"$(ratio "${med[uscst.3]}" "${med[tgt.3]}")" \
			"$(ratio "${med[uscst.4]}" "${med[tgt.4]}")"
		if [[ " $CACHE_KINDS " == *" $kind "* ]]; then
			printf '%-8s %-34s %-8s page cache growth per run, MiB (host-wide): uscst %s, tgt %s\n' \
				"" "" "" "$(col_median "$LIB_TMP/cache.$i.uscst" 1)" \
				"$(col_median "$LIB_TMP/cache.$i.tgt" 1)"
		fi
	done < <(selected_rows)
	((SATURATE)) || return 0
	printf '\nSaturated IOPS per target core, 4K random read, null LUN: the client (one core)\n'
	printf 'raises sessions x QD through "%s" until the target'"'"'s busy share\n' "$SAT_STEPS"
	printf '(target CPU time / wall time) reaches 0.95, or a step adds neither 3%% IOPS nor 0.02\n'
	printf 'busy; at the step with the most IOPS, IOPS per core = IOPS / busy (what one fully\n'
	printf 'busy core would do at that cost per command).\n'
	printf 'Client: %s, no digests.\n\n' \
		"$([[ $SAT_CLIENT == raw ]] && echo uscst-rawbench || echo uscst-bench)"
	printf '%-8s %-34s %-8s %10s %9s %9s %11s\n' "" "" target IOPS busy load 'IOPS/core'
	for target in uscst tgt; do
		for f in 1 2 3; do
			med[$target.$f]=$(col_median "$LIB_TMP/sat.$target" "$f")
		done
		if [[ ${med[$target.1]} == - ]]; then
			printf '%-8s %-34s %-8s %10s\n' null "saturated 4K randread" "$target" fail
			continue
		fi
		printf '%-8s %-34s %-8s %10.0f %9.2f %9s %11.0f\n' null "saturated 4K randread" \
			"$target" "${med[$target.1]}" "${med[$target.2]}" \
			"$(cut -f 4 "$LIB_TMP/sat.$target" | paste -sd, -)" "${med[$target.3]}"
	done
	printf '%-8s %-34s %-8s %10s %9s %9s %11s\n' "" "" ours/tgt \
		"$(ratio "${med[uscst.1]}" "${med[tgt.1]}")" "" "" \
		"$(ratio "${med[uscst.3]}" "${med[tgt.3]}")"
}

main() {
	local round blockio=0
	parse_args "$@"
	lib_init "$BUILD_ARG"
	trap bench_cleanup EXIT
	if (($(nproc) < 2)); then
		echo "compare: needs two CPUs (target on CPU 1, client on CPU 0)" >&2
		return 1
	fi
	if [[ ! -x $USCST_BUILD/uscst-bench || ! -x $USCST_BUILD/uscst-rawbench ]]; then
		echo "compare: $USCST_BUILD/uscst-bench or uscst-rawbench not built (make all;" \
			"libiscsi-dev missing?)" >&2
		return 1
	fi
	define_rows
	make_files
	start_uscstd 0 || return 1
	if uscstd_has_handler vdisk_blockio; then
		daemon_stop
		dd if=/dev/zero of="$LIB_TMP/direct.img" bs=1M count=$((FILE_BYTES / 1048576)) \
			conv=fsync status=none
		blockio=1
		if ! start_uscstd 1; then
			echo "compare: uscstd refused the vdisk_blockio LUN; rows without it" >&2
			blockio=0
			start_uscstd 0 || return 1
		fi
	fi
	start_tgtd || return 1
	for ((round = 1; round <= ROUNDS; round++)); do
		run_rows "$round"
		if ((SATURATE)); then
			saturate uscst
			saturate tgt
		fi
	done
	print_table
	if ! daemon_alive || ! kill -0 "$TGT_PID" 2>/dev/null; then
		echo "compare: a target died during the run" >&2
		FAILED_RUNS=$((FAILED_RUNS + 1))
	fi
	if ((FAILED_RUNS)); then
		echo "compare: $FAILED_RUNS run(s) failed" >&2
		return 1
	fi
}

main "$@"
