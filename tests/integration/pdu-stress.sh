#!/usr/bin/env bash
# Random-PDU stress (issue 11, "hostile initiators"): BUILD/tests/pdu_stress
# runs STRESS_CONNS (default 16) connections at once for STRESS_TIME seconds
# (default 20) against its own uscstd with two reactors (--threads 2):
# mixed valid and mutated PDUs, TMFs, session reinstatements, TCP RSTs,
# half-closed sockets, large READs followed by a TMF, unanswered R2Ts, slow
# readers, CmdSN games, bogus lengths.  Two targets share the LUs (LUN 0 a
# 64 MiB fileio disk, LUN 1 a nullio device); the second has 1 s NOP-In
# keep-alive pings and RspTimeout 2.  Meanwhile the control socket is busy:
# show config, and resync_size while the disk's file grows and shrinks under
# the I/O.  Then: the daemon must still run, hold no connection or
# descriptor of the stress, serve fresh sessions (TEST UNIT READY, READ
# CAPACITY, READ, WRITE + READ back, on several sessions so both reactors;
# libiscsi's iscsi-inq too), and a sanitizer build must have no report.
# Usage: tests/integration/pdu-stress.sh [BUILD_DIR]
# Environment: STRESS_TIME, STRESS_CONNS, STRESS_REACTORS (uscstd --threads,
# default 2), STRESS_SEED (default: random, printed), STRESS_LOG_DIR (keep the daemon and client logs there),
# STRESS_MAX_RSS_MB (fail if the daemon's peak RSS is larger; default: only
# printed).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IQN=iqn.2026-11.org.uscst:stress
STRESS_TIME=${STRESS_TIME:-20}
STRESS_CONNS=${STRESS_CONNS:-16}
STRESS_REACTORS=${STRESS_REACTORS:-2}
STRESS_SEED=${STRESS_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
DISK_SIZE=$((64 << 20))

# fd_count: open file descriptors of our daemon.
fd_count() {
	find "/proc/$DAEMON_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l
}

# leftovers: the daemon's TCP connections on its port that it still holds
# open (ESTABLISHED, CLOSE-WAIT, SYN-RECV): every client socket is closed by
# now, so each is a connection the daemon never closed.  TIME-WAIT and the
# like belong to the kernel.
LEFT_STATES=(state established state close-wait state syn-recv)
leftovers() {
	ss -Htn "${LEFT_STATES[@]}" "( sport = :$DAEMON_PORT )" 2>/dev/null | wc -l
}

# write_stress_config FILE IMG: both targets map LUN 0 (fileio on IMG) and
# LUN 1 (nullio); write_config makes the file and the base of the config.
write_stress_config() {
	local conf=$1 img=$2
	write_config "$conf" "$IQN" "$img" "$DISK_SIZE"
	# Rewrite it with the second LU and target (the same grammar).
	cat >"$conf" <<-CONF
		HANDLER vdisk_fileio {
		    DEVICE disk0 {
		        filename $img
		        size $DISK_SIZE
		    }
		}
		HANDLER vdisk_nullio {
		    DEVICE null0 {
		        size_mb 64
		    }
		}
		TARGET_DRIVER iscsi {
		    enabled 1
		    TARGET $IQN {
		        enabled 1
		        LUN 0 disk0
		        LUN 1 null0
		    }
		    TARGET $IQN-keepalive {
		        enabled 1
		        NopInInterval 1
		        NopInTimeout 2
		        RspTimeout 2
		        LUN 0 disk0
		        LUN 1 null0
		    }
		}
	CONF
}

# ctl_load SECONDS IMG: control-socket traffic for SECONDS: show config, and
# resync_size after the file went to 65, 63 and back to 64 MiB (the shrink
# cuts under in-flight I/O).  Writes "N commands, M hung" to ctl-load.txt.
ctl_load() {
	local end=$((SECONDS + $1)) img=$2 n=0 hung=0 step=0 size rc
	local sizes=($((DISK_SIZE + (1 << 20))) $((DISK_SIZE - (1 << 20))) "$DISK_SIZE")
	while ((SECONDS < end)) && daemon_alive; do
		rc=0
		timeout 20 "$USCSTADMIN" -s "$DAEMON_SOCK" show config --json >/dev/null 2>&1 || rc=$?
		((rc == 124)) && hung=$((hung + 1))
		size=${sizes[step % 3]}
		step=$((step + 1))
		truncate -s "$size" "$img"
		rc=0
		timeout 20 "$USCSTADMIN" -s "$DAEMON_SOCK" device disk0 resync_size >/dev/null 2>&1 || rc=$?
		((rc == 124)) && hung=$((hung + 1))
		n=$((n + 2))
		sleep 0.5
	done
	# Leave the LU at its configured size for the checks.
	truncate -s "$DISK_SIZE" "$img"
	timeout 20 "$USCSTADMIN" -s "$DAEMON_SOCK" device disk0 resync_size >/dev/null 2>&1 || true
	echo "$n $hung" >"$LIB_TMP/ctl-load.txt"
}

# keep_logs: copies the logs where the caller asked.
keep_logs() {
	if [[ -n ${STRESS_LOG_DIR:-} ]]; then
		mkdir -p "$STRESS_LOG_DIR"
		cp -f "$DAEMON_LOG" "$STRESS_LOG_DIR/uscstd-$STRESS_SEED.log" 2>/dev/null || true
		cp -f "$LIB_TMP/client.log" "$STRESS_LOG_DIR/pdu_stress-$STRESS_SEED.log" 2>/dev/null || true
		cp -f "$LIB_TMP/episodes.log" "$STRESS_LOG_DIR/episodes-$STRESS_SEED.log" 2>/dev/null || true
	fi
}

main() {
	local client out rc=0 limit hwm rss fds0 fds left i ctl_pid ctl_n ctl_hung
	lib_init "${1:-}"
	client=$USCST_BUILD/tests/pdu_stress
	if [[ ! -x $client ]]; then
		make --no-print-directory -C "$USCST_ROOT" BUILD="$USCST_BUILD" \
			"$USCST_BUILD/tests/pdu_stress" >/dev/null
	fi
	write_stress_config "$LIB_TMP/scst.conf" "$LIB_TMP/disk0.img"
	if ! daemon_start "$LIB_TMP/scst.conf" --threads "$STRESS_REACTORS"; then
		fail pdu-stress:start
		lib_finish
		return
	fi
	fds0=$(fd_count)
	echo "pdu-stress: seed $STRESS_SEED, ${STRESS_TIME}s, $STRESS_CONNS connections," \
		"$STRESS_REACTORS reactors (replay: STRESS_SEED=$STRESS_SEED)"
	ctl_load "$STRESS_TIME" "$LIB_TMP/disk0.img" &
	ctl_pid=$!
	# The client bounds itself (duration + 20 s grace + 30 s watchdog); the
	# timeout is only a last resort.
	limit=$((STRESS_TIME + 120))
	timeout "$limit" "$client" "$STRESS_SEED" "$STRESS_TIME" "$STRESS_CONNS" 127.0.0.1 \
		"$DAEMON_PORT" "$IQN" --target2 "$IQN-keepalive" --luns 2 \
		--log "$LIB_TMP/episodes.log" >"$LIB_TMP/client.log" 2>&1 || rc=$?
	wait "$ctl_pid" || true
	sed 's/^/  | /' "$LIB_TMP/client.log"
	if ((rc == 124)); then
		fail pdu-stress:client "the client itself hung (killed after ${limit}s)"
	elif ((rc == 3)); then
		fail pdu-stress:client "the client's watchdog fired"
	elif ((rc == 0)); then
		pass pdu-stress:client
	else
		fail pdu-stress:client "$(grep '^error:' "$LIB_TMP/client.log" | tail -n 1)"
	fi
	read -r ctl_n ctl_hung <"$LIB_TMP/ctl-load.txt" 2>/dev/null || ctl_n=0 ctl_hung=0
	echo "pdu-stress: $ctl_n control-socket commands during the stress"
	if ((ctl_hung == 0)); then
		pass pdu-stress:control-socket
	else
		fail pdu-stress:control-socket "$ctl_hung uscstadmin commands got no answer in 20 s"
	fi
	if daemon_alive; then
		pass pdu-stress:daemon-alive
		# Memory: the peak (slow readers must not make it grow without
		# bound) and what is left once every stress connection is gone.
		sleep 1
		hwm=$(awk '/^VmHWM/ {print int($2 / 1024)}' "/proc/$DAEMON_PID/status" 2>/dev/null || true)
		rss=$(awk '/^VmRSS/ {print int($2 / 1024)}' "/proc/$DAEMON_PID/status" 2>/dev/null || true)
		echo "pdu-stress: uscstd peak RSS ${hwm:-?} MiB, ${rss:-?} MiB after the stress"
		if [[ -n ${STRESS_MAX_RSS_MB:-} && -n $hwm ]]; then
			if ((hwm > STRESS_MAX_RSS_MB)); then
				fail pdu-stress:memory "peak RSS $hwm MiB > STRESS_MAX_RSS_MB=$STRESS_MAX_RSS_MB"
			else
				pass pdu-stress:memory
			fi
		fi
		# Every connection of the stress must be gone: the daemon closes
		# what the client closed, reset or half-closed (keep-alive and
		# RspTimeout bound the rest), and frees its descriptors.
		for ((i = 0; i < 30; i++)); do
			left=$(leftovers)
			fds=$(fd_count)
			((left == 0 && fds <= fds0)) && break
			sleep 1
		done
		if ((left == 0 && fds <= fds0)); then
			pass pdu-stress:no-leftover-connections
		else
			fail pdu-stress:no-leftover-connections \
				"30 s after the stress: $left TCP connections on the port, $fds fds (was $fds0)"
			{ ss -Htn "${LEFT_STATES[@]}" "( sport = :$DAEMON_PORT )" || true; } |
				head -n 10 | sed 's/^/  | /' || true
		fi
		out=$(timeout 120 "$client" --check 127.0.0.1 "$DAEMON_PORT" "$IQN" 2>&1) && rc=0 || rc=$?
		if ((rc == 0)); then
			pass pdu-stress:fresh-session
		else
			fail pdu-stress:fresh-session "${out:-no output, exit $rc}"
		fi
		# libiscsi's view too, when it is installed.
		if command -v iscsi-inq >/dev/null; then
			check pdu-stress:iscsi-inq timeout 30 iscsi-inq \
				"iscsi://127.0.0.1:$DAEMON_PORT/$IQN/0"
		fi
	else
		fail pdu-stress:daemon-alive "uscstd died during the stress (seed $STRESS_SEED)"
		tail -n 60 "$DAEMON_LOG" | sed 's/^/  | /'
		echo "  last episodes before the end:"
		tail -n 40 "$LIB_TMP/episodes.log" 2>/dev/null | sed 's/^/  | /'
		wait "$DAEMON_PID" 2>/dev/null || true
		DAEMON_PID=""
	fi
	if sanitizer_report "$DAEMON_LOG" >/dev/null; then
		echo "  (seed $STRESS_SEED; the sanitizer report follows in the tally)"
	fi
	keep_logs
	lib_finish
}

main "$@"
