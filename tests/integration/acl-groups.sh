#!/usr/bin/env bash
# acl-groups: initiator groups (GROUP / INITIATOR in TARGET).  Two initiator
# names see different LUN lists of one target; a read-only mapping refuses
# writes with DATA PROTECT / WRITE PROTECTED while another group writes the
# same device; an initiator of no group, on a target with an empty default
# map, neither discovers the target nor logs in (02/02); an unknown target
# is 02/03; a LUN above 255 is reported with flat addressing and reached by
# number; EXTENDED COPY cannot reach a device outside the nexus's map;
# allowed_portal admits logins and lists the target only on the portals
# it names (the daemon listens on 127.0.0.1 and 127.0.0.2); two groups
# that can match one name are reported once at load, the first one wins.
# Clients: iscsi-ls / iscsi-inq -i NAME and acl_client (libiscsi).
# Usage: tests/integration/acl-groups.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IQN=$USCST_IQN_PREFIX:acl
OPEN=$USCST_IQN_PREFIX:acl-open
ONLY1=$USCST_IQN_PREFIX:acl-portal-1
NOT1=$USCST_IQN_PREFIX:acl-portal-not-1
ALPHA=iqn.2026-12.org.example:alpha-host1
BETA=iqn.2026-12.org.example:beta
STRANGER=iqn.2026-12.org.example:stranger

write_acl_config() {
	truncate -s $((16 * 1024 * 1024)) "$LIB_TMP/disk0.img" "$LIB_TMP/disk1.img" \
		"$LIB_TMP/disk2.img"
	cat >"$LIB_TMP/scst.conf" <<-CONF
		HANDLER vdisk_fileio {
		    DEVICE disk0 {
		        filename $LIB_TMP/disk0.img
		    }
		    DEVICE disk1 {
		        filename $LIB_TMP/disk1.img
		    }
		    DEVICE disk2 {
		        filename $LIB_TMP/disk2.img
		    }
		}

		TARGET_DRIVER iscsi {
		    enabled 1
		    TARGET $IQN {
		        enabled 1
		        GROUP alpha {
		            LUN 0 disk0
		            LUN 1 disk1
		            INITIATOR iqn.2026-12.org.example:ALPHA-*
		        }
		        # Overlaps alpha for alpha-h* names: alpha, first in the
		        # file, wins, and the loader warns once.
		        GROUP gamma {
		            LUN 0 disk2
		            INITIATOR iqn.2026-12.org.example:alpha-h*
		        }
		        GROUP beta {
		            LUN 0 disk1
		            LUN 7 disk0 {
		                read_only 1
		            }
		            LUN 300 disk2
		            INITIATOR $BETA
		        }
		    }
		    TARGET $OPEN {
		        enabled 1
		        LUN 0 disk2
		        GROUP only-beta {
		            LUN 0 disk1
		            INITIATOR $BETA
		        }
		    }
		    TARGET $ONLY1 {
		        enabled 1
		        allowed_portal 127.0.0.1
		        LUN 0 disk2
		    }
		    TARGET $NOT1 {
		        enabled 1
		        allowed_portal !127.0.0.1
		        allowed_portal 127.0.0.*
		        LUN 0 disk2
		    }
		}
	CONF
}

# libiscsi's URL parser wants a LUN; acl_client names the LUN per command.
URL() { echo "iscsi://127.0.0.1:$DAEMON_PORT/$IQN/0"; }

luns_of() { "$CLIENT" "$(URL)" "$1" luns | grep '^LUN' | awk '{print $2}' | tr '\n' ' '; }

check_lun_lists() {
	local a b
	a=$(luns_of "$ALPHA")
	b=$(luns_of "$BETA")
	echo "alpha: $a"
	echo "beta: $b"
	[[ $a == "0 1 " && $b == "0 7 300 " ]]
}

# The client exits 4 on a REPORT LUNS entry not in single level encoding.
check_flat_encoding() {
	"$CLIENT" "$(URL)" "$BETA" luns
}

check_ls_shows() {
	local out
	out=$(timeout 20 iscsi-ls -i "$ALPHA" -s "iscsi://127.0.0.1:$DAEMON_PORT")
	echo "$out"
	grep -q "^Target:$IQN " <<<"$out" && grep -Eq '^Lun:1[[:space:]]' <<<"$out" &&
		! grep -Eq '^Lun:7[[:space:]]' <<<"$out"
}

check_ls_hides() {
	local out
	out=$(timeout 20 iscsi-ls -i "$STRANGER" "iscsi://127.0.0.1:$DAEMON_PORT")
	echo "$out"
	# The open target (default map) is listed, the grouped one is not.
	grep -q "^Target:$OPEN " <<<"$out" && ! grep -q "^Target:$IQN " <<<"$out"
}

check_login_refused() {
	local out rc=0
	out=$("$CLIENT" "$(URL)" "$STRANGER" luns) || rc=$?
	echo "$out (exit $rc)"
	((rc == 3)) && grep -q 'LOGIN-FAILED.*[Aa]uthori[sz]ation failure' <<<"$out" &&
		grep -q "initiator not allowed" "$DAEMON_LOG"
}

check_unknown_target() {
	local out rc=0
	out=$("$CLIENT" "iscsi://127.0.0.1:$DAEMON_PORT/$IQN-nosuch/0" "$ALPHA" luns) || rc=$?
	echo "$out (exit $rc)"
	((rc == 3)) && grep -qi 'LOGIN-FAILED.*not found' <<<"$out"
}

check_default_map() {
	local s b d1 d2
	s=$("$CLIENT" "iscsi://127.0.0.1:$DAEMON_PORT/$OPEN/0" "$STRANGER" naa 0)
	b=$("$CLIENT" "iscsi://127.0.0.1:$DAEMON_PORT/$OPEN/0" "$BETA" naa 0)
	d2=$("$CLIENT" "$(URL)" "$BETA" naa 300)
	d1=$("$CLIENT" "$(URL)" "$BETA" naa 0)
	echo "stranger LUN 0: $s (disk2 $d2), beta LUN 0: $b (disk1 $d1)"
	[[ $s == "$d2" && $b == "$d1" && $s != "$b" ]]
}

check_read_only() {
	local ro rw wp_ro wp_rw
	ro=$("$CLIENT" "$(URL)" "$BETA" write 7)
	rw=$("$CLIENT" "$(URL)" "$ALPHA" write 0)
	wp_ro=$("$CLIENT" "$(URL)" "$BETA" wp 7)
	wp_rw=$("$CLIENT" "$(URL)" "$ALPHA" wp 0)
	echo "beta LUN 7 (disk0 read-only): $ro, $wp_ro; alpha LUN 0 (disk0): $rw, $wp_rw"
	[[ $ro == "SENSE 7/27/00" && $rw == GOOD && $wp_ro == "WP 1" && $wp_rw == "WP 0" ]]
}

check_unmapped_lun() {
	local w inq
	w=$("$CLIENT" "$(URL)" "$ALPHA" write 7)
	inq=$("$CLIENT" "$(URL)" "$ALPHA" inq 7)
	echo "alpha LUN 7 (not in its map): write $w, INQUIRY $inq"
	# SPC-4: peripheral qualifier 011b, device type 1Fh.
	[[ $w == "SENSE 5/25/00" && $inq == "PQ 3 TYPE 1f" ]]
}

check_lun_above_255() {
	local w
	w=$("$CLIENT" "$(URL)" "$BETA" write 300)
	echo "beta write LUN 300: $w"
	[[ $w == GOOD ]]
}

check_xcopy_outside_map() {
	local disk2 out ok
	disk2=$("$CLIENT" "$(URL)" "$BETA" naa 300)
	out=$("$CLIENT" "$(URL)" "$ALPHA" xcopy 0 "naa:$disk2")
	ok=$("$CLIENT" "$(URL)" "$BETA" xcopy 0 300)
	echo "alpha copies to disk2 ($disk2), not in its map: $out; beta, which maps it: $ok"
	[[ $out == "SENSE a/0d/02" && $ok == GOOD ]]
}

check_xcopy_read_only_dest() {
	local out
	out=$("$CLIENT" "$(URL)" "$BETA" xcopy 0 7)
	echo "beta copies to LUN 7 (read-only): $out"
	[[ $out == "SENSE 7/27/00" ]]
}

discovered_on() {
	timeout 20 iscsi-ls -i "$STRANGER" "iscsi://$1:$2" | sed -n 's/^Target:\([^ ]*\) .*/\1/p'
}

check_allowed_portal_sendtargets() {
	local on1 on2
	on1=$(discovered_on 127.0.0.1 "$DAEMON_PORT")
	on2=$(discovered_on 127.0.0.2 "$PORT2")
	echo "on 127.0.0.1: $on1"
	echo "on 127.0.0.2: $on2"
	grep -qx "$ONLY1" <<<"$on1" && ! grep -qx "$NOT1" <<<"$on1" &&
		grep -qx "$NOT1" <<<"$on2" && ! grep -qx "$ONLY1" <<<"$on2" &&
		grep -qx "$OPEN" <<<"$on2"
}

check_allowed_portal_login() {
	local ok1 no2 ok2 no1 rc=0
	ok1=$("$CLIENT" "iscsi://127.0.0.1:$DAEMON_PORT/$ONLY1/0" "$STRANGER" inq 0) || rc=$?
	no2=$("$CLIENT" "iscsi://127.0.0.2:$PORT2/$ONLY1/0" "$STRANGER" inq 0) || true
	ok2=$("$CLIENT" "iscsi://127.0.0.2:$PORT2/$NOT1/0" "$STRANGER" inq 0) || rc=$?
	no1=$("$CLIENT" "iscsi://127.0.0.1:$DAEMON_PORT/$NOT1/0" "$STRANGER" inq 0) || true
	echo "$ONLY1 via 127.0.0.1: $ok1; via 127.0.0.2: $no2"
	echo "$NOT1 via 127.0.0.2: $ok2; via 127.0.0.1: $no1"
	((rc == 0)) && [[ $ok1 == "PQ 0 TYPE 00" && $ok2 == "PQ 0 TYPE 00" ]] &&
		grep -q 'LOGIN-FAILED.*[Aa]uthori[sz]ation failure' <<<"$no2" &&
		grep -q 'LOGIN-FAILED.*[Aa]uthori[sz]ation failure' <<<"$no1" &&
		grep -q "portal not in allowed_portal" "$DAEMON_LOG"
}

check_overlap_warned() {
	grep 'initiator groups' "$DAEMON_LOG"
	[[ $(grep -c "initiator groups 'alpha' .* and 'gamma' .* can both match" "$DAEMON_LOG") == 1 ]] &&
		[[ $(grep -c 'initiator groups' "$DAEMON_LOG") == 1 ]]
}

main() {
	lib_init "${1:-}"
	CLIENT=$USCST_BUILD/tests/acl_client
	if [[ ! -x $CLIENT ]]; then
		if [[ -e /usr/include/iscsi/iscsi.h ]]; then
			fail acl-groups:client "$CLIENT not built (make all)"
		else
			echo "SKIP acl-groups (libiscsi-dev not installed)"
		fi
		lib_finish
		return
	fi
	write_acl_config
	# A second portal for allowed_portal (all of 127/8 is loopback).
	PORT2=$(free_port 14260)
	if ! daemon_start "$LIB_TMP/scst.conf" --listen "127.0.0.2:$PORT2"; then
		fail acl-groups:start
		lib_finish
		return
	fi
	check acl-groups:overlap-warned check_overlap_warned
	check acl-groups:lun-lists check_lun_lists
	check acl-groups:flat-encoding check_flat_encoding
	check acl-groups:sendtargets-shows check_ls_shows
	check acl-groups:sendtargets-hides check_ls_hides
	check acl-groups:login-refused check_login_refused
	check acl-groups:unknown-target check_unknown_target
	check acl-groups:default-map check_default_map
	check acl-groups:read-only check_read_only
	check acl-groups:unmapped-lun check_unmapped_lun
	check acl-groups:lun-above-255 check_lun_above_255
	check acl-groups:xcopy-outside-map check_xcopy_outside_map
	check acl-groups:xcopy-read-only-dest check_xcopy_read_only_dest
	check acl-groups:allowed-portal-sendtargets check_allowed_portal_sendtargets
	check acl-groups:allowed-portal-login check_allowed_portal_login
	lib_finish
}

main "$@"
