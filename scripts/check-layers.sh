#!/usr/bin/env bash
# make check-layers: compiles every file of each layer of src/ (its .c and
# .h files, syntax only) with only include/ and the directories that layer
# may see on the include path, so that an #include "other/x.h" the layer
# must not use fails to compile.  The table below is the rule the README's
# design section states; change both together.
#
# Prints "check-layers: LAYER ok (N files)" or the compiler's error for
# each layer, then "check-layers: P passed, F failed" (P, F: layers);
# exit status 1 if any layer failed.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CC=${CC:-cc}
# What each directory of src/ may include besides include/uscst/ and the
# C library.  lib/ (log, lists, byte order) is the shared bottom layer.
declare -A ALLOWED=(
	[lib]="lib"
	[reactor]="reactor lib"
	[iscsi]="iscsi lib"
	[backend]="backend lib"
	[core]="core lib" # never scsi/: the core calls command sets through core/cmdset.h
	[scsi]="scsi core lib"
	[config]="config core lib"
	[ctl]="ctl config core lib"
	[admin]="admin ctl lib" # uscstadmin's side: ctl/ctl_protocol.h only, never the daemon
	[metrics]="metrics core lib" # the /metrics HTTP server: reads core statistics
)
# A header compiled on its own has unused static inline functions.
FLAGS=(-std=gnu11 -D_GNU_SOURCE -fsyntax-only -Wall -Wextra -Werror -Wno-unused-parameter
	-Wno-missing-field-initializers -Wno-unused-function -pthread)

cd "$ROOT" || exit 1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

passed=0
failed=0
for dir in src/*/; do
	layer=$(basename "$dir")
	if [[ -z ${ALLOWED[$layer]+x} ]]; then
		echo "check-layers: src/$layer has no rule in scripts/check-layers.sh"
		failed=$((failed + 1))
		continue
	fi
	view=$TMP/$layer
	mkdir -p "$view"
	for dep in ${ALLOWED[$layer]}; do
		ln -s "$ROOT/src/$dep" "$view/$dep"
	done
	n=0
	ok=1
	for f in "$dir"*.c "$dir"*.h; do
		[[ -e $f ]] || continue
		n=$((n + 1))
		lang=()
		[[ $f == *.h ]] && lang=(-x c)
		if ! out=$("$CC" "${FLAGS[@]}" -Iinclude -I"$view" "${lang[@]}" "$f" 2>&1); then
			ok=0
			echo "check-layers: $f does not compile with only include/ and" \
				"src/{${ALLOWED[$layer]// /,}} visible:"
			echo "$out" | head -n 5
		fi
	done
	if ((ok)); then
		echo "check-layers: $layer ok ($n files)"
		passed=$((passed + 1))
	else
		echo "check-layers: $layer FAILED"
		failed=$((failed + 1))
	fi
done
echo "check-layers: $passed passed, $failed failed"
((failed == 0))
