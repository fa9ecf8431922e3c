#!/usr/bin/env bash
# Pass-through shared by many initiators: a second uscstd is the upstream
# target (a vdisk_fileio LUN, a vtape drive, a vchanger), our gateway
# uscstd exports them through dev_iscsi devices.  Checks: INQUIRY comes from the upstream device; data
# read through the gateway equals the upstream bytes, before and after
# the writes; passthrough_client (built when libiscsi-dev is there) with
# two initiators on the gateway: the holder of an SPC-2 reservation and,
# separately, of a persistent one writes and reads back, the other gets
# RESERVATION CONFLICT and loses nothing, PR never reaches the upstream,
# MODE SELECT from a nexus that does not hold the shared device is
# refused, and a LU reset stays in the gateway; libiscsi's conformance
# suite passes through the gateway but for the two tests a shared device
# must fail; on the tape (type 01h through the gateway) the same with
# records, filemarks and ILI data (passthrough_client tape), and on the
# changer (08h) MOVE MEDIUM under a reservation; none of its resets reaches the upstream (which logs TMFs
# at debug level; an ABORT TASK of a command in the upstream may); a daemonised gateway (no -f) works; the gateway reconnects when the upstream restarts; a
# gateway whose upstream cannot be
# reached refuses to start, saying why.
# Usage: tests/integration/passthrough.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

UP_IQN=$USCST_IQN_PREFIX:upstream
GW_IQN=$USCST_IQN_PREFIX:gateway
SIZE=$((256 << 20)) # sparse; random bytes in the first RANDOM
RANDOM_SIZE=$((16 << 20))
LBA=100 # passthrough_client's blocks: LBA .. LBA+2
UP_PID=""
UP_PORT=""
UP_LOG=""

gw_url() { echo "iscsi://127.0.0.1:$DAEMON_PORT/$GW_IQN/${1:-0}"; }
up_url() { echo "iscsi://127.0.0.1:$UP_PORT/$UP_IQN/${1:-0}"; }

# The upstream: LUN 0 a disk (vdisk_fileio), LUN 1 a tape drive (vtape),
# LUN 2 a changer (vchanger) over LIB_TMP/lib with its drive at LUN 3.
# The disk reports no physical block beyond its logical one (lb_per_pb_exp
# 0): at LBPPB 8 libiscsi's GetLBAStatus.UnmapSingle asks for more than
# SBC-4 does (tests/conformance/deviations.md), which is not what this
# test is about.
write_upstream_config() {
	cat >"$1" <<-CONF
		HANDLER vdisk_fileio {
		    DEVICE disk0 {
		        filename $LIB_TMP/up.img
		        size $SIZE
		        lb_per_pb_exp 0
		    }
		}
		HANDLER vtape {
		    DEVICE tape0 {
		        filename $LIB_TMP/tape0.img
		        size_mb 16
		    }
		    DEVICE ldrive {
		        filename none
		    }
		}
		HANDLER vchanger {
		    DEVICE lib0 {
		        library_dir $LIB_TMP/lib
		        drives ldrive
		        slots 4
		        ie_slots 1
		    }
		}

		TARGET_DRIVER iscsi {
		    enabled 1
		    TARGET $UP_IQN {
		        enabled 1
		        LUN 0 disk0
		        LUN 1 tape0
		        LUN 2 lib0
		        LUN 3 ldrive
		    }
		}
	CONF
}

# The changer's library: two blank tapes, made by vtape itself (a missing
# image is created blank) in a uscstd run of their own.
make_library() {
	mkdir -p "$LIB_TMP/lib"
	cat >"$LIB_TMP/mk.conf" <<-CONF
		HANDLER vtape {
		    DEVICE mk1 {
		        filename $LIB_TMP/lib/TAPE01.tape
		        size_mb 4
		    }
		    DEVICE mk2 {
		        filename $LIB_TMP/lib/TAPE02.tape
		        size_mb 4
		    }
		}
	CONF
	DAEMON_LOG_FILE=$LIB_TMP/mk.log DAEMON_SOCK_FILE=$LIB_TMP/mk.sock \
		daemon_start "$LIB_TMP/mk.conf" || return 1
	daemon_stop
}

# write_gateway_config FILE DISK_URL [TAPE_URL CHANGER_URL]
write_gateway_config() {
	local tape_dev="" tape_lun="" changer_dev="" changer_lun=""
	if [[ -n ${3:-} ]]; then
		tape_dev=$(printf 'DEVICE pt1 {\n        url %s\n    }' "$3")
		tape_lun="LUN 1 pt1"
		changer_dev=$(printf 'DEVICE pt2 {\n        url %s\n    }' "$4")
		changer_lun="LUN 2 pt2"
	fi
	cat >"$1" <<-CONF
		HANDLER dev_iscsi {
		    DEVICE pt0 {
		        url $2
		        initiator_name $USCST_IQN_PREFIX:gw-test
		    }
		    $tape_dev
		    $changer_dev
		}

		TARGET_DRIVER iscsi {
		    enabled 1
		    TARGET $GW_IQN {
		        enabled 1
		        LUN 0 pt0
		        $tape_lun
		        $changer_lun
		    }
		}
	CONF
}

# The upstream runs as a second daemon: lib.sh's DAEMON_* name the gateway.
start_upstream() {
	make_library || return 1
	head -c "$RANDOM_SIZE" /dev/urandom >"$LIB_TMP/up.img"
	truncate -s "$SIZE" "$LIB_TMP/up.img"
	write_upstream_config "$LIB_TMP/up.conf"
	DAEMON_LOG_FILE=$LIB_TMP/up.log DAEMON_SOCK_FILE=$LIB_TMP/up.sock \
		daemon_start "$LIB_TMP/up.conf" --debug --threads 1 || return 1
	UP_PID=$DAEMON_PID UP_PORT=$DAEMON_PORT UP_LOG=$DAEMON_LOG
	DAEMON_PID="" DAEMON_LOG=""
}

stop_upstream() {
	local gw=$DAEMON_PID rc=0
	DAEMON_PID=$UP_PID
	UP_PID=""
	daemon_stop || rc=$?
	DAEMON_PID=$gw
	return "$rc"
}

check_inquiry() {
	local out
	out=$(timeout 20 iscsi-inq "$(gw_url)") || return 1
	echo "$out"
	# The upstream's own identification: its device is named disk0 (the
	# gateway's would say pt0).
	grep -Eq 'Peripheral Device Type:.*DIRECT_ACCESS' <<<"$out" &&
		grep -Eq '^Product:disk0 ' <<<"$out"
}

check_readback() {
	local back=$LIB_TMP/back.raw
	rm -f "$back"
	timeout 60 qemu-img convert -f raw -O raw "$(gw_url)" "$back" || return 1
	cmp "$LIB_TMP/up.img" "$back"
}

check_sharing() {
	timeout 120 "$PT_CLIENT" disk "$(gw_url)" "$(up_url)" "$LBA"
}

# The tape through the gateway: INQUIRY type 01h (one command at a time),
# then two initiators and the reservations (passthrough_client tape).
check_tape_type() {
	grep -E 'device pt1: upstream .*/1, peripheral device type 01h' "$DAEMON_LOG" &&
		grep -E 'device pt2: upstream .*/2, peripheral device type 08h' "$DAEMON_LOG"
}

check_changer_sharing() {
	timeout 120 "$PT_CLIENT" changer "$(gw_url 2)"
}

check_tape_sharing() {
	timeout 120 "$PT_CLIENT" tape "$(gw_url 1)"
}

# libiscsi's conformance suite through the gateway, two sessions: every
# test passes but the two a shared pass-through device must fail:
# Control-SWP (MODE SELECT while another nexus shares the device: refused)
# and CopyStatus (the upstream sees one nexus, so the copy list IDs of all
# initiators share one namespace).  The resets it sends must stay in the
# gateway (checked next).
check_conformance() {
	local log=$LIB_TMP/cu.log failed
	timeout 600 iscsi-test-cu -d -v -t ALL "$(gw_url)" "$(gw_url)" >"$log" 2>&1 || true
	grep -E 'tests +[0-9]+' "$log" || return 1
	failed=$(awk '/  Test: /{t=$2} /\.\.\.FAILED|^    [0-9]+\. /{print t}' "$log" | sort -u)
	echo "failed: ${failed//$'\n'/ }"
	! grep -qvxE 'Control-SWP|CopyStatus|' <<<"$failed"
}

# The upstream logs every TMF it receives at debug level: none came.
check_no_upstream_tmf() {
	# Only ABORT TASK (function 1) may go up: of a command the gateway had
	# in the upstream when an initiator aborted it (the suite's resets
	# abort such commands too); never a reset or a task set's abort.
	grep -n 'TMF function' "$UP_LOG" || true
	if grep -n 'TMF function' "$UP_LOG" | grep -qv 'TMF function 1$'; then
		return 1
	fi
	grep -q 'normal session' "$UP_LOG" # and it did log at debug level
}

# The upstream restarts (same port): libiscsi's reconnect brings the
# gateway's device back, and the data still reads back equal.
check_upstream_restart() {
	local deadline
	stop_upstream || return 1
	"$USCSTD" -f -c "$LIB_TMP/up.conf" --listen "127.0.0.1:$UP_PORT" \
		--ctl-socket "$LIB_TMP/up.sock" --pr-dir "$LIB_TMP/pr" --threads 1 \
		>"$LIB_TMP/up2.log" 2>&1 </dev/null &
	UP_PID=$!
	deadline=$((SECONDS + 10))
	until port_in_use "$UP_PORT"; do
		((SECONDS < deadline)) || return 1
		sleep 0.1
	done
	timeout 60 iscsi-inq "$(gw_url)" | grep -E '^Product:disk0 ' &&
		check_readback &&
		grep -E 'pt0: upstream session (lost|re-established)' "$DAEMON_LOG"
}

# A gateway that becomes a daemon (no -f): its device's thread must start
# after the fork.  Found by its port, stopped by that PID.
check_daemonised() {
	local port pid rc=0 i
	port=$(free_port 23660) || return 1
	write_gateway_config "$LIB_TMP/gw2.conf" "$(up_url)"
	"$USCSTD" -c "$LIB_TMP/gw2.conf" --listen "127.0.0.1:$port" \
		--ctl-socket "$LIB_TMP/gw2.sock" --pr-dir "$LIB_TMP/pr2" \
		>"$LIB_TMP/gw2.log" 2>&1 </dev/null || return 1
	for ((i = 0; i < 50; i++)); do
		pid=$(ss -Htlnp "( sport = :$port )" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1)
		[[ -n $pid ]] && break
		sleep 0.1
	done
	[[ -n $pid ]] || return 1
	echo "daemon pid $pid"
	timeout 60 qemu-img convert -f raw -O raw \
		"iscsi://127.0.0.1:$port/$GW_IQN/0" "$LIB_TMP/back2.raw" || rc=1
	kill -TERM "$pid"
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	((rc == 0)) && cmp "$LIB_TMP/up.img" "$LIB_TMP/back2.raw"
}

# An upstream that cannot be reached: the gateway refuses to start and
# names the upstream.
check_unreachable_upstream() {
	local port conf=$LIB_TMP/bad.conf log=$LIB_TMP/bad.log rc=0
	port=$(free_port 23260) || return 1
	write_gateway_config "$conf" "iscsi://127.0.0.1:$port/$UP_IQN/0"
	timeout 30 "$USCSTD" -f -c "$conf" --listen "127.0.0.1:$(free_port 23460)" \
		--ctl-socket "$LIB_TMP/bad.sock" --pr-dir "$LIB_TMP/pr" >"$log" 2>&1 </dev/null || rc=$?
	cat "$log"
	((rc != 0 && rc != 124)) && grep -q "cannot log in to $UP_IQN LUN 0 at 127.0.0.1:$port" "$log"
}

main() {
	lib_init "${1:-}"
	trap 'stop_upstream >/dev/null 2>&1 || true; lib_cleanup' EXIT
	if ! start_upstream; then
		fail passthrough:upstream-start
		lib_finish
		return
	fi
	write_gateway_config "$LIB_TMP/gw.conf" "$(up_url)" "$(up_url 1)" "$(up_url 2)"
	if ! DAEMON_LOG_FILE=$LIB_TMP/gw.log daemon_start "$LIB_TMP/gw.conf"; then
		fail passthrough:gateway-start
		lib_finish
		return
	fi
	check passthrough:inquiry check_inquiry
	check passthrough:serialised-types check_tape_type
	check passthrough:readback check_readback
	PT_CLIENT=$USCST_BUILD/tests/passthrough_client
	if [[ -x $PT_CLIENT ]]; then
		check passthrough:sharing check_sharing
		check passthrough:readback-after-writes check_readback
		check passthrough:tape-sharing check_tape_sharing
		check passthrough:changer-sharing check_changer_sharing
	else
		echo "SKIP passthrough:sharing (no libiscsi-dev: $PT_CLIENT not built)"
	fi
	check passthrough:conformance check_conformance
	check passthrough:readback-after-conformance check_readback
	check passthrough:no-upstream-tmf check_no_upstream_tmf
	check passthrough:daemonised check_daemonised
	check passthrough:upstream-restart check_upstream_restart
	check passthrough:unreachable-upstream check_unreachable_upstream
	# The gateway first: it logs out of the upstream as it stops.
	if ! daemon_stop; then
		fail passthrough:gateway-exit "the gateway crashed or did not stop on SIGTERM"
		tail -n 20 "$DAEMON_LOG" | sed 's/^/  | /'
	fi
	if ! stop_upstream; then
		fail passthrough:upstream-exit "the upstream uscstd crashed or did not stop"
	fi
	if sanitizer_report "$UP_LOG" >/dev/null || sanitizer_report "$LIB_TMP/up2.log" >/dev/null; then
		fail passthrough:upstream-sanitizer "report in the upstream's log"
	fi
	lib_finish
}

main "$@"
