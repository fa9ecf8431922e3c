#!/usr/bin/env bash
# Rewrites a setup's expected-pass file from its last conformance run
# (tests/conformance/run.sh BUILD_DIR SETUP): plain (the default) updates
# expected-pass.txt from BUILD_DIR/conformance/results.txt, SETUP (thin,
# readonly, 4k, ramdisk, blockio) updates expected-pass-SETUP.txt from
# BUILD_DIR/conformance-SETUP/results.txt, the names run.sh uses. For a
# subset run (CONF_TESTS=...), only the entries of the tests in that subset
# are replaced; the others stay.
#
# Usage: tests/conformance/update-expected.sh [BUILD_DIR [SETUP]]
#        (default: $BUILD or build; SETUP: $CONF_SETUP or plain)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

# Test names in expected-pass.txt, without comments and blank lines.
expected_names() {
	sed -e 's/#.*//' -e 's/[[:space:]]//g' "$EXPECTED" | { grep -v '^$' || true; } | sort -u
}

main() {
	local build=${1:-${BUILD:-build}} setup=${2:-${CONF_SETUP:-plain}} suffix="" out before after
	[[ $build == /* ]] || build=$ROOT/$build
	# Same naming as run.sh's setup_init: plain has no suffix.
	[[ $setup == plain ]] || suffix=-$setup
	EXPECTED=$HERE/expected-pass$suffix.txt
	out=$build/conformance$suffix
	if [[ ! -s $out/results.txt || ! -s $out/selected.txt ]]; then
		echo "update-expected: no results in $out; run tests/conformance/run.sh BUILD_DIR $setup first" >&2
		return 1
	fi
	TMP_FILE=$(mktemp)
	trap 'rm -f "$TMP_FILE"' EXIT
	touch "$EXPECTED"
	before=$(grep -c . "$EXPECTED" || true)
	{
		# Keep expected tests outside the last run's selection...
		expected_names | comm -23 - <(sort -u "$out/selected.txt")
		# ...and take this run's passes for the tests inside it.
		awk '$2 == "PASS" { print $1 }' "$out/results.txt"
	} | sort -u >"$TMP_FILE"
	cp "$TMP_FILE" "$EXPECTED"
	after=$(grep -c . "$EXPECTED" || true)
	echo "update-expected: $EXPECTED: $before -> $after tests"
	git -C "$ROOT" --no-pager diff --stat -- "$EXPECTED" 2>/dev/null || true
}

main "$@"
