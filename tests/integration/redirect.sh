#!/usr/bin/env bash
# Login redirection (RFC 7143 11.13.5; src/iscsi/redirect.c): uscstd A has
# target T configured with redirect_portal pointing at a second uscstd B,
# started here, which serves T itself.
#  - the raw client (redirect_client) sees 01/01 "moved temporarily" with
#    TargetAddress=127.0.0.1:PORT_B,1, TSIH 0, and the connection closed;
#  - libiscsi (iscsi-inq) follows the redirect: the INQUIRY it prints is
#    B's device (its product id), and A logged the redirection;
#  - discovery on A still lists T on A's portal;
#  - at run time, `uscstadmin target redirect T PORTAL permanent` gives
#    01/02 (and `show config` writes it), a bad portal is refused, and
#    `target redirect T off` lets the login through to A's own LUN again.
# Usage: tests/integration/redirect.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IQN=$USCST_IQN_PREFIX:redirect
lib_init "${1:-}"
RAW=$USCST_BUILD/tests/redirect_client

# conf FILE IMG PRODUCT [EXTRA TARGET LINES]
conf() {
	truncate -s $((16 * 1024 * 1024)) "$2"
	cat >"$1" <<CONF
HANDLER vdisk_fileio {
    DEVICE disk0 {
        filename $2
        prod_id $3
    }
}
TARGET_DRIVER iscsi {
    enabled 1
    TARGET $IQN {
        enabled 1
        LUN 0 disk0
        ${4:-}
    }
}
CONF
}

# --- B: where the target moved ---
conf "$LIB_TMP/b.conf" "$LIB_TMP/b.img" ondaemonb
DAEMON_LOG_FILE=$LIB_TMP/b.log DAEMON_SOCK_FILE=$LIB_TMP/b.sock daemon_start "$LIB_TMP/b.conf"
B_PID=$DAEMON_PID B_PORT=$DAEMON_PORT B_LOG=$DAEMON_LOG
DAEMON_PID="" DAEMON_LOG=""
stop_b() {
	local a=$DAEMON_PID rc=0
	DAEMON_PID=$B_PID
	B_PID=""
	daemon_stop || rc=$?
	DAEMON_PID=$a
	return $rc
}
trap 'stop_b >/dev/null 2>&1 || true; lib_cleanup' EXIT

# --- A: redirects T to B ---
conf "$LIB_TMP/a.conf" "$LIB_TMP/a.img" ondaemona \
	"redirect_portal 127.0.0.1:$B_PORT
        redirect_type temporary"
PORT_BASE=$((B_PORT + 1)) daemon_start "$LIB_TMP/a.conf"
A_URL=iscsi://127.0.0.1:$DAEMON_PORT

raw() {
	local out
	out=$("$RAW" 127.0.0.1 "$DAEMON_PORT" "$IQN")
	echo "$out"
	grep -qx "STATUS $1" <<<"$out" || return 1
	if [[ $1 == 0000 ]]; then
		return 0
	fi
	grep -qx "TargetAddress=$2" <<<"$out" && grep -qx "TSIH 0" <<<"$out" &&
		grep -qx CLOSED <<<"$out"
}

inq_product() {
	local out
	out=$(timeout 20 iscsi-inq "$A_URL/$IQN/0")
	echo "$out"
	grep -q "^Product:[[:space:]]*$1" <<<"$out"
}

discovery() {
	local out
	out=$(timeout 20 iscsi-ls "$A_URL")
	echo "$out"
	grep -q "^Target:$IQN Portal:127.0.0.1:$DAEMON_PORT,1" <<<"$out"
}

admin() { timeout 20 "$USCSTADMIN" -s "$DAEMON_SOCK" "$@"; }

check raw-moved-temporarily raw 0101 "127.0.0.1:$B_PORT,1"
check libiscsi-follows-to-b inq_product ondaemonb
check a-logged-redirect grep -q "redirected temporarily to 127.0.0.1:$B_PORT,1" "$DAEMON_LOG"
check b-took-the-login grep -q "normal session" "$B_LOG"
check discovery-lists-target-on-a discovery
check admin-permanent admin target redirect "$IQN" "127.0.0.1:$B_PORT,1" permanent
check raw-moved-permanently raw 0102 "127.0.0.1:$B_PORT,1"
check admin-bad-portal-refused bash -c "! $USCSTADMIN -s $DAEMON_SOCK target redirect $IQN nowhere"
check raw-still-permanent raw 0102 "127.0.0.1:$B_PORT,1"
show_config_has() {
	local out
	out=$(admin show config)
	echo "$out"
	grep -Eq "redirect_portal[[:space:]]+127.0.0.1:$B_PORT,1" <<<"$out" &&
		grep -Eq "redirect_type[[:space:]]+permanent" <<<"$out"
}
check show-config-writes-redirect show_config_has
check admin-off admin target redirect "$IQN" off
check raw-login-goes-through raw 0000
check libiscsi-stays-on-a inq_product ondaemona

if stop_b; then pass b-exit; else fail b-exit "uscstd B crashed or did not stop"; fi
if sanitizer_report "$B_LOG" >/dev/null; then
	fail b-sanitizer "report in B's log"
	sanitizer_report "$B_LOG" | head -n 20 | sed 's/^/  | /'
fi
lib_finish
