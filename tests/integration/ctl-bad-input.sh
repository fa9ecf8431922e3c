#!/usr/bin/env bash
# ctl-bad-input: the control socket of a running uscstd against what
# uscstadmin never sends (ctl_raw_client): a client that connects and stays
# silent gets a timeout error after 5 s while other admin clients are
# answered at once and iSCSI I/O goes on; a malformed request, an old
# text-line request, a huge one, an unknown verb and every misuse of the
# input after a request (input_bytes) each get an error answer; a name
# with a control character is refused by every verb that creates one;
# afterwards the daemon serves as before.
# Usage: tests/integration/ctl-bad-input.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IQN=$USCST_IQN_PREFIX:ctl-bad-input

raw() { timeout 20 "$USCST_BUILD/tests/ctl_raw_client" "$DAEMON_SOCK" "$@"; }
admin() { timeout 20 "$USCSTADMIN" -s "$DAEMON_SOCK" "$@"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# expect_refused NAME ERROR_PATTERN: stdin is sent raw; the answer must be
# {"ok": false} with an error matching the pattern.
expect_refused() {
	local out
	out=$(raw send) || return 1
	echo "$1: $out"
	jq -e --arg p "$2" '.ok == false and (.error | test($p))' <<<"$out" >/dev/null
}

check_silent_client() {
	local silent_pid t0 t1 i worst=0
	raw silent 9 >"$LIB_TMP/silent.out" &
	silent_pid=$!
	sleep 0.2
	for ((i = 0; i < 10; i++)); do
		t0=$(now_ms)
		admin version >/dev/null || return 1
		t1=$(now_ms)
		((t1 - t0 > worst)) && worst=$((t1 - t0))
	done
	echo "slowest of 10 uscstadmin version beside the silent client: $worst ms"
	timeout 20 iscsi-inq "iscsi://127.0.0.1:$DAEMON_PORT/$IQN/0" >/dev/null || return 1
	wait "$silent_pid" || return 1
	cat "$LIB_TMP/silent.out"
	((worst < 1000)) || return 1
	jq -e '.ok == false and (.error | test("no complete request within 5000 ms"))' \
		<(head -n 1 "$LIB_TMP/silent.out") >/dev/null || return 1
	local waited
	waited=$(sed -n 's/^after \([0-9]*\) ms$/\1/p' "$LIB_TMP/silent.out")
	((waited >= 4500 && waited < 7000))
}

check_malformed() {
	printf '{"protocol": 1, "cmd": [version]}' |
		expect_refused malformed '^malformed JSON request' || return 1
	printf 'version\n' | expect_refused text-line '^malformed JSON request' || return 1
	printf '{"protocol": 1, "cmd": ["version"' |
		expect_refused cut-short 'ended before its JSON object' || return 1
	printf '{"protocol": 7, "cmd": ["version"]}' |
		expect_refused protocol 'protocol 7 is not spoken' || return 1
	printf '{"protocol": 1, "cmd": ["list", "everything"]}' |
		expect_refused unknown-verb "^unknown command 'list everything'; usage: " || return 1
	printf '{"protocol": 1, "cmd": ["frobnicate"]}' | raw send |
		jq -e '.usage == true' >/dev/null
}

# From a file: the daemon stops reading at its limit, and a pipe's writer
# would die of SIGPIPE.
check_huge() {
	{
		printf '{"protocol": 1, "cmd": ["'
		head -c 200000 /dev/zero | tr '\0' x
		printf '"]}'
	} >"$LIB_TMP/huge.json"
	expect_refused huge '^request longer than 65536 bytes' <"$LIB_TMP/huge.json"
}

# Input after the request object ("input_bytes", for config apply): each
# misuse gets an error, never a hang.
check_input() {
	printf '{"protocol": 1, "cmd": ["version"], "input_bytes": 3}abc' |
		expect_refused no-input-verb "^'version' takes no input" || return 1
	printf '{"protocol": 1, "cmd": ["config", "apply", "f"], "input_bytes": 16777217}x' |
		expect_refused too-much 'is a number of bytes in 1\.\.16777216' || return 1
	printf '{"protocol": 1, "cmd": ["config", "apply", "f"], "input_bytes": "3"}abc' |
		expect_refused not-a-number 'is a number of bytes' || return 1
	printf '{"protocol": 1, "cmd": ["config", "apply", "f"], "input_bytes": 100}abc' |
		expect_refused short 'announced 100 bytes of input and sent 3' || return 1
	printf '{"protocol": 1, "cmd": ["config", "apply", "f"], "input_bytes": 2}abcdef' |
		expect_refused long 'more than the 2 bytes of input' || return 1
	printf '{"protocol": 1, "cmd": ["config", "apply", "f"]}' |
		expect_refused missing '^no configuration text' || return 1
	printf '{"protocol": 1, "cmd": ["config", "apply", "f", "--dry-run"], "input_bytes": 9}HANDLER {' |
		expect_refused bad-config '^f:1: ' || return 1
}

# A control character in a name would be written raw into show config's
# scst.conf text (a newline inside a quoted word makes it unreadable at the
# next start): every verb that names a new object refuses it, nothing is
# created, and the saved configuration still parses (uscstd --check).
check_control_chars_in_names() {
	local out rc
	for args in "target add iscsi nl$'\n'x" "group add $IQN g$'\n'}" \
		"device add vdisk_nullio nl$'\n'dev size_mb=8" "chap add $IQN in us$'\n'er secret12345678" \
		"device add vdisk_nullio del$'\x7f' size_mb=8"; do
		rc=0
		out=$(eval "admin $args" 2>&1) || rc=$?
		echo "uscstadmin $args: exit $rc: $out"
		((rc == 1)) && [[ $out == *"control character"* ]] || return 1
	done
	admin show config >"$LIB_TMP/saved.conf" || return 1
	! grep -q "nl\|del" "$LIB_TMP/saved.conf"
}

check_still_serving() {
	admin -j list devices | jq -e '.[0].name == "disk0"' >/dev/null &&
		timeout 20 iscsi-inq "iscsi://127.0.0.1:$DAEMON_PORT/$IQN/0" >/dev/null
}

main() {
	lib_init "${1:-}"
	if ! command -v jq >/dev/null || ! command -v iscsi-inq >/dev/null; then
		echo "ctl-bad-input: SKIP (needs jq and libiscsi-bin)"
		lib_finish
		return
	fi
	write_config "$LIB_TMP/scst.conf" "$IQN" "$LIB_TMP/disk0.img" $((16 * 1024 * 1024))
	daemon_start "$LIB_TMP/scst.conf"
	check ctl-bad-input:silent-client check_silent_client
	check ctl-bad-input:malformed check_malformed
	check ctl-bad-input:huge check_huge
	check ctl-bad-input:input check_input
	check ctl-bad-input:control-chars-in-names check_control_chars_in_names
	check ctl-bad-input:still-serving check_still_serving
	lib_finish
}

main "$@"
