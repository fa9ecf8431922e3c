# shellcheck shell=bash
# Helpers of the tests/integration/bounds-*.sh scripts (issue 16, "Bounds"),
# sourced after lib.sh.  Not a test itself (run-all-tests.sh runs *.sh).

BOUNDS_IQN=iqn.2026-11.org.uscst:bounds
BOUNDS_URL_LUN=0
# Away from lib.sh's default 13260, where parallel runs of other scripts look.
PORT_BASE=${PORT_BASE:-$((20000 + RANDOM % 20000))}

# status_kb FIELD: a /proc/PID/status field (VmRSS, VmHWM) of the daemon, kB.
status_kb() {
	awk -v f="$1:" '$1 == f { print $2 }' "/proc/$DAEMON_PID/status" 2>/dev/null || echo 0
}

# cpu_ticks: utime + stime of the whole daemon, in clock ticks.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$DAEMON_PID/stat" 2>/dev/null || echo 0
}

# cpu_us: CPU time of all the daemon's threads in microseconds, exact
# (/proc/PID/task/TID/schedstat: nanoseconds on a CPU); utime and stime are
# sampled at the clock tick, so a thread that wakes for microseconds is
# sometimes charged a whole tick.  Empty if schedstat is not there.
cpu_us() {
	cat /proc/"$DAEMON_PID"/task/*/schedstat 2>/dev/null |
		awk '{ ns += $1 } END { if (NR) printf "%d\n", ns / 1000 }'
}

# reactor_ticks: utime + stime of each reactor thread (named uscst-rN),
# "uscst-rN TICKS" per line, sorted by name.
reactor_ticks() {
	local t
	for t in /proc/"$DAEMON_PID"/task/*; do
		[[ $(cat "$t/comm" 2>/dev/null) == uscst-r* ]] || continue
		echo "$(cat "$t/comm") $(awk '{ print $14 + $15 }' "$t/stat")"
	done | sort
}

# nullio_config FILE DRIVER_ATTRS TARGET_ATTRS: one target, LUN 0 a 1 GiB
# vdisk_nullio device; the attributes are lines ("\n" between them).
nullio_config() {
	cat >"$1" <<-CONF
		HANDLER vdisk_nullio {
		    DEVICE null0 {
		        size_mb 1024
		    }
		}

		TARGET_DRIVER iscsi {
		    enabled 1
		    $(printf '%b' "$2")
		    TARGET $BOUNDS_IQN {
		        enabled 1
		        $(printf '%b' "$3")
		        LUN 0 null0
		    }
		}
	CONF
}

bounds_url() { echo "iscsi://127.0.0.1:$DAEMON_PORT/$BOUNDS_IQN/$BOUNDS_URL_LUN"; }

# bclient ARGS...: BUILD/tests/bounds_client, bounded by BCLIENT_TIMEOUT.
bclient() {
	timeout "${BCLIENT_TIMEOUT:-60}" "$USCST_BUILD/tests/bounds_client" "$@"
}

bounds_build_clients() {
	local c
	for c in "$@"; do
		if [[ ! -x $USCST_BUILD/tests/$c ]]; then
			make --no-print-directory -C "$USCST_ROOT" BUILD="$USCST_BUILD" \
				"$USCST_BUILD/tests/$c" >/dev/null
		fi
	done
}
