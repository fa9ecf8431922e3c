#!/usr/bin/env bash
# install: `make install DESTDIR=... PREFIX=/usr` puts the expected files
# in place, with their modes; each man page renders without a warning; the
# unit file names the installed uscstd and passes `systemd-analyze verify`
# (when systemd-analyze is there) with its man pages found.  A second
# install with the default PREFIX lands under /usr/local.
#
# Usage: tests/integration/install.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

lib_init "${1:-}"
DEST=$LIB_TMP/root
BUILD_REL=${USCST_BUILD#"$USCST_ROOT"/}

make -s -C "$USCST_ROOT" BUILD="$BUILD_REL" install DESTDIR="$DEST" PREFIX=/usr \
	>"$LIB_TMP/install.log" 2>&1 || {
	cat "$LIB_TMP/install.log"
	fail install-ran
}

# mode_is FILE MODE
mode_is() {
	[[ -f $1 && $(stat -c %a "$1") == "$2" ]]
}
check installed-uscstd mode_is "$DEST/usr/sbin/uscstd" 755
check installed-uscstadmin mode_is "$DEST/usr/sbin/uscstadmin" 755
check installed-man-uscstd mode_is "$DEST/usr/share/man/man8/uscstd.8" 644
check installed-man-uscstadmin mode_is "$DEST/usr/share/man/man8/uscstadmin.8" 644
check installed-man-scst-conf mode_is "$DEST/usr/share/man/man5/scst.conf.5" 644
UNIT=$DEST/usr/lib/systemd/system/uscstd.service
check installed-unit mode_is "$UNIT" 644
check unit-execstart grep -qx 'ExecStart=/usr/sbin/uscstd -f -c /etc/scst.conf --log syslog' "$UNIT"
check unit-no-placeholder bash -c "! grep -q @SBINDIR@ '$UNIT'"
n=0
for so in "$USCST_BUILD"/examples/*.so; do
	[[ -e $so ]] || continue
	n=$((n + 1))
	# go-w: uscstd refuses a plugin others may rewrite.
	check "installed-plugin-${so##*/}" mode_is "$DEST/usr/lib/uscst/${so##*/}" 755
done
echo "install: $n example plugins"
check installed-binary-runs "$DEST/usr/sbin/uscstd" --help

# Each page renders with every groff warning on and none printed.
render_clean() {
	local out
	out=$(groff -man -ww -z "$1" 2>&1) || return 1
	[[ -z $out ]] || {
		echo "$out"
		return 1
	}
	if command -v man >/dev/null; then
		out=$(MANWIDTH=80 man --warnings -l "$1" 2>&1 >/dev/null) || return 1
		[[ -z $out ]] || {
			echo "$out"
			return 1
		}
	fi
}
if command -v groff >/dev/null; then
	for page in man8/uscstd.8 man8/uscstadmin.8 man5/scst.conf.5; do
		check "renders-${page#*/}" render_clean "$DEST/usr/share/man/$page"
	done
	# The check can fail: a page with an unknown macro and a bad escape.
	printf '.TH X 8\n.SH NAME\n.XYZ\nx \\q\n' >"$LIB_TMP/bad.8"
	check render-check-can-fail bash -c "$(declare -f render_clean); ! render_clean '$LIB_TMP/bad.8'"
	# The options of uscstd --help are all in its page (\- is roff's -).
	page=$(sed 's/\\-/-/g' "$DEST/usr/share/man/man8/uscstd.8")
	missing=""
	for opt in $("$USCST_BUILD/uscstd" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
		grep -q -- "$opt" <<<"$page" || missing="$missing $opt"
	done
	check man-has-every-option test -z "$missing"
	[[ -z $missing ]] || echo "install: not in uscstd.8:$missing"
	# Every option of uscstadmin --help, and every command the daemon
	# lists in `uscstadmin help` (its literal words, not the upper-case
	# placeholders), are in uscstadmin.8.
	page=$(sed 's/\\-/-/g' "$DEST/usr/share/man/man8/uscstadmin.8")
	missing=""
	for opt in $("$USCSTADMIN" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
		grep -q -- "$opt" <<<"$page" || missing="$missing $opt"
	done
	check man-has-every-admin-option test -z "$missing"
	[[ -z $missing ]] || echo "install: not in uscstadmin.8:$missing"
	write_config "$LIB_TMP/scst.conf" "$USCST_IQN_PREFIX:install" "$LIB_TMP/disk0.img" $((16 << 20))
	daemon_start "$LIB_TMP/scst.conf"
	"$USCSTADMIN" -s "$DAEMON_SOCK" help >"$LIB_TMP/help.txt"
	missing=""
	nwords=0
	for word in $(grep -E '^  [a-z]' "$LIB_TMP/help.txt" | sed -E 's/^  //; s/  .*//' |
		tr ' ' '\n' | tr -d '[]' | grep -E '^-?-?[a-z][a-z_-]*$' | sort -u); do
		nwords=$((nwords + 1))
		grep -qw -- "$word" <<<"$page" || missing="$missing $word"
	done
	echo "install: $nwords command words in uscstadmin help"
	check man-has-every-command test -n "$nwords" -a "$nwords" -gt 5 -a -z "$missing"
	[[ -z $missing ]] || echo "install: not in uscstadmin.8:$missing"
else
	echo "install: groff missing, pages not rendered"
fi

if command -v systemd-analyze >/dev/null; then
	# verify checks that ExecStart is executable: the copy names the
	# installed binary under DESTDIR; man pages are looked up there too.
	sed "s|^ExecStart=/usr/sbin/uscstd|ExecStart=$DEST/usr/sbin/uscstd|" "$UNIT" \
		>"$LIB_TMP/uscstd.service"
	verify_clean() {
		local out
		out=$(MANPATH=$DEST/usr/share/man systemd-analyze verify "$1" 2>&1) || {
			echo "$out"
			return 1
		}
		[[ -z $out ]] || {
			echo "$out"
			return 1
		}
	}
	check unit-verifies verify_clean "$LIB_TMP/uscstd.service"
	sed 's/^Type=notify/Type=notify\nBogusKey=1/' "$LIB_TMP/uscstd.service" >"$LIB_TMP/bad.service"
	check unit-verify-can-fail bash -c "$(declare -f verify_clean); DEST='$DEST'; ! verify_clean '$LIB_TMP/bad.service'"
else
	echo "install: systemd-analyze missing, unit not verified"
fi

DEST2=$LIB_TMP/root2
make -s -C "$USCST_ROOT" BUILD="$BUILD_REL" install DESTDIR="$DEST2" >/dev/null 2>&1 ||
	fail install-default-prefix-ran
check default-prefix-sbin test -x "$DEST2/usr/local/sbin/uscstd"
check default-prefix-man test -f "$DEST2/usr/local/share/man/man8/uscstd.8"
check default-prefix-unit grep -qx 'ExecStart=/usr/local/sbin/uscstd -f -c /etc/scst.conf --log syslog' \
	"$DEST2/usr/local/lib/systemd/system/uscstd.service"

lib_finish
