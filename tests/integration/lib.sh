# shellcheck shell=bash
# Helpers shared by the integration tests and tests/conformance/run.sh:
# a private temp dir, a free loopback port, a generated config, starting and
# stopping one uscstd by PID, and PASS/FAIL bookkeeping.
# Source it, then call lib_init [BUILD_DIR].

# Variables below are used by the scripts that source this file.
# shellcheck disable=SC2034
USCST_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
USCST_IQN_PREFIX=iqn.2026-11.org.uscst

LIB_TMP=""
DAEMON_PID=""
DAEMON_PORT=""
DAEMON_SOCK=""
DAEMON_LOG=""
LIB_PASSED=0
LIB_FAILED=0

# Sanitizer builds: collect everything in the log, keep running after the
# first report where possible so the log shows it, and symbolize stacks.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:print_summary=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:print_summary=1}
# ThreadSanitizer builds (make SAN=thread): our suppressions, each with its
# reason, are in scripts/tsan.supp; every report also lands in the log.
export TSAN_OPTIONS=${TSAN_OPTIONS:-suppressions=$USCST_ROOT/scripts/tsan.supp:second_deadlock_stack=1:print_summary=1}

# lib_init [BUILD_DIR]: resolves the build dir (default $BUILD or build),
# makes a temp dir and installs the cleanup trap.
lib_init() {
	local build=${1:-${BUILD:-build}}
	[[ $build == /* ]] || build=$USCST_ROOT/$build
	# shellcheck disable=SC2034
	USCST_BUILD=$build
	USCSTD=$build/uscstd
	# shellcheck disable=SC2034
	USCSTADMIN=$build/uscstadmin
	LIB_TMP=$(mktemp -d "${TMPDIR:-/tmp}/uscst-test.XXXXXX")
	trap lib_cleanup EXIT
	# Turn INT/TERM into a normal exit so the EXIT trap still stops the daemon.
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

lib_cleanup() {
	daemon_stop >/dev/null 2>&1 || true
	if [[ -n $LIB_TMP && -d $LIB_TMP && -z ${KEEP_TMP:-} ]]; then
		rm -rf -- "$LIB_TMP"
	fi
}

# True if something listens on 127.0.0.1/any address at TCP port $1.
port_in_use() {
	[[ -n $(ss -Htln "( sport = :$1 )" 2>/dev/null) ]]
}

# free_port [START]: prints the first port >= START (default 13260) that no
# socket listens on; tries 200 ports.
free_port() {
	local port=${1:-13260} last
	last=$((port + 200))
	while ((port < last)); do
		if ! port_in_use "$port"; then
			echo "$port"
			return 0
		fi
		port=$((port + 1))
	done
	echo "lib: no free port in ${1:-13260}..$last" >&2
	return 1
}

# write_config FILE IQN DISK_IMG [SIZE]: a one-target, one-LUN scst.conf
# backed by a sparse file (created here so the test doesn't depend on uscstd
# creating missing files).
write_config() {
	local file=$1 iqn=$2 img=$3 size=${4:-1073741824}
	[[ -e $img ]] || truncate -s "$size" "$img"
	cat >"$file" <<-CONF
		HANDLER vdisk_fileio {
		    DEVICE disk0 {
		        filename $img
		        size $size
		    }
		}

		TARGET_DRIVER iscsi {
		    enabled 1
		    TARGET $iqn {
		        enabled 1
		        LUN 0 disk0
		    }
		}
	CONF
}

daemon_alive() {
	[[ -n $DAEMON_PID ]] && kill -0 "$DAEMON_PID" 2>/dev/null
}

# daemon_start CONF [EXTRA_ARGS...]: starts uscstd in the foreground mode in
# the background on a free port, then waits (at most DAEMON_WAIT seconds,
# default 10) until it listens. Sets DAEMON_PID/PORT/SOCK/LOG (the log and
# control socket paths may be chosen with DAEMON_LOG_FILE / DAEMON_SOCK_FILE,
# e.g. for a second daemon).
daemon_start() {
	local conf=$1 deadline
	shift
	if [[ ! -x $USCSTD ]]; then
		echo "lib: $USCSTD not built" >&2
		return 1
	fi
	DAEMON_PORT=$(free_port "${PORT_BASE:-13260}") || return 1
	DAEMON_SOCK=${DAEMON_SOCK_FILE:-$LIB_TMP/uscstd.sock}
	DAEMON_LOG=${DAEMON_LOG_FILE:-$LIB_TMP/uscstd.log}
	# PR files go to the private temp dir, never the system's
	# /var/lib/uscst/pr (a later --pr-dir in the arguments wins).
	# A stop waits at most 3 s for sessions to log out (uscstd's default,
	# 10 s, would reach daemon_stop's SIGKILL with a client still logged
	# in); --stop-timeout in the arguments wins.
	"$USCSTD" -f -c "$conf" --listen "127.0.0.1:$DAEMON_PORT" \
		--ctl-socket "$DAEMON_SOCK" --pr-dir "$LIB_TMP/pr" --stop-timeout 3 "$@" \
		>"$DAEMON_LOG" 2>&1 </dev/null &
	DAEMON_PID=$!
	deadline=$((SECONDS + ${DAEMON_WAIT:-10}))
	while ((SECONDS < deadline)); do
		if ! daemon_alive; then
			echo "lib: uscstd exited during startup; its log:" >&2
			sed 's/^/  | /' "$DAEMON_LOG" >&2
			wait "$DAEMON_PID" 2>/dev/null || true
			DAEMON_PID=""
			return 1
		fi
		if port_in_use "$DAEMON_PORT"; then
			return 0
		fi
		sleep 0.1
	done
	echo "lib: uscstd did not listen on 127.0.0.1:$DAEMON_PORT within ${DAEMON_WAIT:-10}s" >&2
	daemon_stop || true
	return 1
}

# daemon_stop: SIGTERM to our daemon only (by PID), SIGKILL after 10 s.
# Returns 0 if it exited by itself on SIGTERM (status 0 or 143).
daemon_stop() {
	local pid=$DAEMON_PID status=0 i
	[[ -n $pid ]] || return 0
	DAEMON_PID=""
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "lib: uscstd (pid $pid) ignored SIGTERM for 10 s, killing it" >&2
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		return 1
	fi
	wait "$pid" 2>/dev/null || status=$?
	[[ $status == 0 || $status == 143 ]]
}

# sanitizer_report LOG: true (and prints the report lines) if LOG holds an
# ASan/LSan/UBSan/TSan report.
sanitizer_report() {
	grep -E 'ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:|SUMMARY: [A-Za-z]+Sanitizer' \
		"$1" 2>/dev/null
}

pass() {
	echo "PASS $1"
	LIB_PASSED=$((LIB_PASSED + 1))
}

fail() {
	echo "FAIL $1${2:+ ($2)}"
	LIB_FAILED=$((LIB_FAILED + 1))
}

# check NAME CMD...: runs CMD with output to a per-check log; PASS/FAIL.
# On failure the log is shown so CI output explains why.
check() {
	local name=$1 log
	shift
	log=$LIB_TMP/check-$name.log
	if "$@" >"$log" 2>&1; then
		pass "$name"
	else
		fail "$name"
		sed 's/^/  | /' "$log" | tail -n 40
	fi
}

# lib_finish: stops the daemon (a crash shows as an unclean exit), checks
# its log for sanitizer reports, prints the script's tally; exit status.
lib_finish() {
	if [[ -n $DAEMON_PID ]] && ! daemon_stop; then
		fail "${0##*/}:daemon-exit" "uscstd crashed or did not stop on SIGTERM"
		tail -n 20 "$DAEMON_LOG" | sed 's/^/  | /'
	fi
	if [[ -n $DAEMON_LOG ]] && sanitizer_report "$DAEMON_LOG" >/dev/null; then
		fail "${0##*/}:sanitizer" "report in uscstd log"
		sanitizer_report "$DAEMON_LOG" | head -n 20 | sed 's/^/  | /'
	fi
	echo "${0##*/}: $LIB_PASSED passed, $LIB_FAILED failed"
	((LIB_FAILED == 0))
}
