#!/usr/bin/env bash
# uscstd --metrics: a libiscsi client (metrics_client) does a known number
# of writes and reads of known sizes plus two commands that fail with known
# sense keys; /metrics must then show exactly that, per LUN, device, target
# and (while it is logged in) session, with a latency histogram whose count
# is the command count.  The session's series go away when it logs out; the
# LUN's and device's stay and add up over a second session.  Bad requests
# get 400/404/405/431; clients that connect and send nothing neither block
# a scrape nor the daemon (more than the server serves at once get 503
# until the stalled ones time out).  `uscstadmin [-j] stats` shows the same counters.
# Usage: tests/integration/metrics.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IQN=$USCST_IQN_PREFIX:metrics
INITIATOR=$USCST_IQN_PREFIX:metrics-client
NWRITES=7 WBLOCKS=16 # 7 x 8 KiB
NREADS=5 RBLOCKS=40  # 5 x 20 KiB
METRICS=""           # ADDR:PORT

# http_get PATH [METHOD]: the whole answer (status line, headers, body);
# curl if installed, else bash's /dev/tcp.
http_raw() {
	local request=$1 host=${METRICS%:*} port=${METRICS##*:}
	exec 3<>"/dev/tcp/$host/$port"
	printf '%b' "$request" >&3
	timeout 10 cat <&3
	exec 3<&-
}

scrape() {
	if command -v curl >/dev/null; then
		curl -sS --max-time 10 "http://$METRICS/metrics"
	else
		http_raw 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n' | sed '1,/^\r$/d'
	fi
}

# value FILE SERIES: the sample of SERIES (name and labels exactly as
# written), or "absent".
value() {
	awk -v s="$2" 'index($0, s " ") == 1 { print $2; found = 1 } END { if (!found) print "absent" }' "$1"
}

# expect FILE SERIES WANT
expect() {
	local got
	got=$(value "$1" "$2")
	if [[ $got != "$3" ]]; then
		echo "$2: got $got, want $3"
		return 1
	fi
	echo "$2 = $got"
}

LUN_LABELS="{target=\"$IQN\",group=\"\",lun=\"0\",device=\"disk0\"}"
with() { echo "${LUN_LABELS%\}},$1}"; }

# check_io FILE RUNS: the counters after RUNS client runs.
check_io() {
	local f=$1 n=$2 ok=0
	local cmds=$((n * (1 + NWRITES + NREADS + 2)))
	local reads=$((n * (NREADS + 2))) writes=$((n * NWRITES))
	local rbytes=$((n * NREADS * RBLOCKS * 512 + n * 8)) wbytes=$((n * NWRITES * WBLOCKS * 512))
	# reads: the NREADS, READ CAPACITY(10) (8 bytes) and the failing READ
	# (no data).
	for series in "uscst_commands_total$LUN_LABELS $cmds" \
		"uscst_reads_total$LUN_LABELS $reads" \
		"uscst_writes_total$LUN_LABELS $writes" \
		"uscst_read_bytes_total$LUN_LABELS $rbytes" \
		"uscst_write_bytes_total$LUN_LABELS $wbytes" \
		"uscst_aborts_total$LUN_LABELS 0" \
		"uscst_command_errors_total$(with 'sense_key="unit_attention"') $n" \
		"uscst_command_errors_total$(with 'sense_key="illegal_request"') $n" \
		"uscst_command_errors_total$(with 'sense_key="medium_error"') absent" \
		"uscst_command_duration_seconds_count$LUN_LABELS $cmds" \
		"uscst_command_duration_seconds_bucket$(with 'le="+Inf"') $cmds" \
		"uscst_device_commands_total{device=\"disk0\"} $cmds" \
		"uscst_device_read_bytes_total{device=\"disk0\"} $rbytes" \
		"uscst_device_write_bytes_total{device=\"disk0\"} $wbytes" \
		"uscst_target_commands_total{target=\"$IQN\"} $cmds" \
		"uscst_target_writes_total{target=\"$IQN\"} $writes"; do
		expect "$f" "${series% *}" "${series##* }" || ok=1
	done
	# Buckets never decrease, and the 16.777216 s one holds them all.
	awk '/^uscst_command_duration_seconds_bucket/ { if ($2 < last) bad = 1; last = $2 }
		END { exit bad }' "$f" || {
		echo "buckets not cumulative"
		ok=1
	}
	return $ok
}

run_client() {
	"$USCST_BUILD/tests/metrics_client" "iscsi://127.0.0.1:$DAEMON_PORT/$IQN/0" \
		"$NWRITES" "$WBLOCKS" "$NREADS" "$RBLOCKS" "$1"
}

# The session's series while it is logged in (scraped by the client's
# COMMAND), then none of it once it has logged out.
check_session() {
	local during=$1 after=$2 labels ok=0 cmds=$((1 + NWRITES + NREADS + 2))
	labels=$(grep -o "^uscst_session_commands_total{[^}]*initiator=\"$INITIATOR\"[^}]*}" "$during") || {
		echo "no session series while logged in"
		return 1
	}
	expect "$during" "$labels" "$cmds" || ok=1
	expect "$during" "${labels/commands_total/write_bytes_total}" $((NWRITES * WBLOCKS * 512)) || ok=1
	if grep -q "initiator=\"$INITIATOR\"" "$after"; then
		echo "session series left after logout:"
		grep "initiator=\"$INITIATOR\"" "$after"
		ok=1
	fi
	return $ok
}

# uscstadmin stats: the LUN row (TARGET GROUP LUN DEVICE COMMANDS READS
# WRITES READ_BYTES WRITE_BYTES ABORTS ERRORS ...) says what /metrics says.
admin_stats() {
	local n=$1 out row want
	out=$("$USCSTADMIN" -s "$DAEMON_SOCK" stats) || return 1
	echo "$out"
	row=$(awk -v t="$IQN" '$1 == t && $2 == "-" && $3 == "0" && $4 == "disk0" { print $5, $6, $7, $8, $9, $10, $11 }' <<<"$out")
	want="$((n * (1 + NWRITES + NREADS + 2))) $((n * (NREADS + 2))) $((n * NWRITES)) \
$((n * NREADS * RBLOCKS * 512 + n * 8)) $((n * NWRITES * WBLOCKS * 512)) 0 $((2 * n))"
	[[ $row == "$want" ]] || {
		echo "LUN row: '$row', want '$want'"
		return 1
	}
	grep -q "unit_attention=$n illegal_request=$n\|illegal_request=$n unit_attention=$n" <<<"$out"
}

# uscstadmin -j stats: the same numbers as JSON (jq reads it).
admin_stats_json() {
	local n=$1 out got want
	out=$("$USCSTADMIN" -s "$DAEMON_SOCK" -j stats) || return 1
	got=$(jq -r --arg t "$IQN" '.luns[] | select(.target == $t and .lun == 0 and .group == "")
		| [.device, .commands, .reads, .writes, .read_bytes, .write_bytes, .aborts,
		   .errors, .errors_by_sense_key.unit_attention, .errors_by_sense_key.illegal_request, .latency.count,
		   (.latency.buckets | map(.count) | add), (.latency.buckets | length),
		   .latency.buckets[0].le_us, .latency.buckets[-1].le_us] | map(tostring) | join(" ")' <<<"$out") || {
		echo "$out" | head -40
		return 1
	}
	local cmds=$((n * (1 + NWRITES + NREADS + 2)))
	want="disk0 $cmds $((n * (NREADS + 2))) $((n * NWRITES)) $((n * NREADS * RBLOCKS * 512 + n * 8))"
	want+=" $((n * NWRITES * WBLOCKS * 512)) 0 $((2 * n)) $n $n $cmds $cmds 26 1 null"
	[[ $got == "$want" ]] || {
		echo "-j stats LUN: '$got', want '$want'"
		return 1
	}
	jq -e '.devices[0].device == "disk0" and (.sessions | length) == 0' <<<"$out" >/dev/null || {
		echo "-j stats: devices or sessions wrong"
		return 1
	}
	echo "$got"
}

status_of() { http_raw "$1" | head -n 1 | tr -d '\r'; }

check_status() {
	local got
	got=$(status_of "$1")
	[[ $got == "HTTP/1.1 $2 "* ]] || {
		echo "request ${1:0:40}...: got '$got', want $2"
		return 1
	}
	echo "$got"
}

bad_requests() {
	check_status 'GET /nothing HTTP/1.1\r\n\r\n' 404 &&
		check_status 'POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n' 405 &&
		check_status 'DELETE /metrics HTTP/1.0\r\n\r\n' 405 &&
		check_status 'hello\r\n\r\n' 400 &&
		check_status 'GET /metrics HTTP/9.9\r\n\r\n' 400 &&
		check_status "GET /metrics HTTP/1.1\r\nX: $(head -c 5000 /dev/zero | tr '\0' a)\r\n\r\n" 431 &&
		check_status 'GET /metrics HTTP/1.0\r\n\r\n' 200
}

# Clients that connect and send nothing: a scrape meanwhile is answered at
# once, and the server drops them after its timeout (5 s).
silent_clients() {
	local host=${METRICS%:*} port=${METRICS##*:} start got
	exec 4<>"/dev/tcp/$host/$port" 5<>"/dev/tcp/$host/$port" 6<>"/dev/tcp/$host/$port"
	start=$SECONDS
	scrape >"$LIB_TMP/stalled.txt" || true
	grep -q '^uscst_commands_total' "$LIB_TMP/stalled.txt" || {
		echo "no answer while 3 clients stall"
		return 1
	}
	((SECONDS - start <= 2)) || {
		echo "scrape waited $((SECONDS - start)) s behind silent clients"
		return 1
	}
	# The server closes a silent client: cat sees EOF within the bound.
	got=$(timeout 9 cat <&4; echo "rc=$?")
	exec 4<&- 5<&- 6<&-
	[[ $got == "rc=0" ]] || {
		echo "silent client not closed by the server within 9 s ($got)"
		return 1
	}
	echo "silent clients: scrape answered, idle connection closed"
}

# More silent clients than the server serves at once (16): the next one
# gets 503 at once instead of waiting, and once their 5 s are up the
# server answers again.
full_server() {
	local host=${METRICS%:*} port=${METRICS##*:} i got
	local -a fds=()
	for ((i = 0; i < 16; i++)); do
		exec {fd}<>"/dev/tcp/$host/$port"
		fds+=("$fd")
	done
	sleep 0.5
	check_status 'GET /metrics HTTP/1.1\r\n\r\n' 503 || got=fail
	sleep 6
	check_status 'GET /metrics HTTP/1.1\r\n\r\n' 200 || got=fail
	for fd in "${fds[@]}"; do
		exec {fd}<&-
	done
	[[ -z ${got:-} ]]
}

main() {
	lib_init "${1:-}"
	if [[ ! -x $USCST_BUILD/tests/metrics_client ]]; then
		echo "metrics.sh: $USCST_BUILD/tests/metrics_client not built (libiscsi-dev missing?)"
		fail metrics:client-built
		lib_finish
		return
	fi
	write_config "$LIB_TMP/scst.conf" "$IQN" "$LIB_TMP/disk0.img" $((64 << 20))
	local mport
	mport=$(free_port 19470)
	METRICS=127.0.0.1:$mport
	if ! daemon_start "$LIB_TMP/scst.conf" --metrics "$METRICS"; then
		fail metrics:start
		lib_finish
		return
	fi
	local during=$LIB_TMP/during.txt
	check metrics:client-run-1 run_client "curl -sS --max-time 10 http://$METRICS/metrics >$during"
	scrape >"$LIB_TMP/after1.txt"
	check metrics:counters-exact check_io "$LIB_TMP/after1.txt" 1
	check metrics:session-series check_session "$during" "$LIB_TMP/after1.txt"
	check metrics:client-run-2 run_client true
	scrape >"$LIB_TMP/after2.txt"
	check metrics:counters-survive-sessions check_io "$LIB_TMP/after2.txt" 2
	check metrics:uscstadmin-stats admin_stats 2
	check metrics:uscstadmin-stats-json admin_stats_json 2
	check metrics:bad-requests bad_requests
	check metrics:silent-clients silent_clients
	check metrics:full-server full_server
	check metrics:daemon-alive daemon_alive
	lib_finish
}

main "$@"
