#!/usr/bin/env bash
# Installs the Debian packages needed to build uscst and run its tests.
# Does nothing (and needs no network) when everything is already installed,
# so `make deps` is cheap to run before every `make test`.
set -euo pipefail

# Build: compiler, make, the libraries the Makefile links (LDLIBS) and
# cmocka for the unit tests (libiscsi: the dev_iscsi pass-through backend
# and several test clients); clang for clang-format and an alternative CC;
# libtsan2, gcc's ThreadSanitizer runtime (make SAN=thread; libgcc-12-dev
# pulls it in already, named here because the TSan stage needs it);
# libjson-c-dev: the control protocol's JSON and `show config --json`.
BUILD_PKGS=(build-essential pkg-config liburing-dev libisal-dev libssl-dev
	libiscsi-dev libcmocka-dev clang libtsan2 libjson-c-dev)
# Tests: libiscsi's iscsi-test-cu/iscsi-ls/iscsi-inq/iscsi-perf, qemu-img and
# qemu-io with the iscsi:// block driver (Debian ships block-iscsi.so in
# qemu-block-extra, not in qemu-utils), ss (iproute2) and ps (procps);
# xorriso makes and reads the ISO 9660 image of tests/integration/vcdrom.sh;
# jq reads `uscstadmin -j` in tests/integration/admin-list.sh and
# metrics.sh; groff-base renders the man pages with warnings on
# (tests/integration/install.sh; systemd-analyze, which checks the unit file
# there, comes with systemd when the machine has it); tgt's tgtd and tgtadm
# are what `make bench` (bench/compare.sh) compares uscstd with; util-linux
# gives taskset, which pins target and client to their CPUs there.
TEST_PKGS=(libiscsi-bin libiscsi-dev qemu-utils qemu-block-extra iproute2
	procps xorriso jq groff-base tgt util-linux)

# Prints the packages from "$@" that are not fully installed.
missing_packages() {
	local pkg status
	for pkg in "$@"; do
		status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
		if [[ $status != installed ]]; then
			printf '%s\n' "$pkg"
		fi
	done
}

# Debian's tgt package starts and enables a system tgtd on every address,
# port 3260, where `make run` wants uscstd; we need only its programs (make
# bench starts a private tgtd), so a tgt installed here is stopped again.
quiet_new_tgt() {
	local pkg
	for pkg in "$@"; do
		if [[ $pkg == tgt ]] && command -v systemctl >/dev/null &&
			systemctl is-enabled tgt.service >/dev/null 2>&1; then
			echo "install-deps: stopping and disabling the system tgtd (tgt.service)"
			systemctl disable --now tgt.service || true
		fi
	done
}

main() {
	local -a missing
	mapfile -t missing < <(missing_packages "${BUILD_PKGS[@]}" "${TEST_PKGS[@]}")
	if ((${#missing[@]} == 0)); then
		echo "install-deps: all packages present"
		return 0
	fi
	if ((EUID != 0)); then
		echo "install-deps: missing packages: ${missing[*]}" >&2
		echo "install-deps: run as root: apt-get install -y ${missing[*]}" >&2
		return 1
	fi
	echo "install-deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
	# Fail loudly if apt "succeeded" but something is still missing.
	local -a installed=("${missing[@]}")
	mapfile -t missing < <(missing_packages "${missing[@]}")
	if ((${#missing[@]} != 0)); then
		echo "install-deps: still missing after install: ${missing[*]}" >&2
		return 1
	fi
	quiet_new_tgt "${installed[@]}"
}

main "$@"
