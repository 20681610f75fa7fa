#!/usr/bin/env bash
# Builds smbkrb for linux/arm64 (ARMv8-A, aarch64) on a Debian 12 amd64
# machine, into build/cross/linux-arm64/:
#   smbkrb         dynamic, against Debian's MIT libraries for arm64
#   smbkrb-static  one self-contained binary with a static MIT build
#   libsmbkrb.a    the C library (libsmbkrb/) with the static MIT build
#                  inside, its header smbkrb.h, and smbkrb_test, the C
#                  test program linked statically against it
# Usage: toolchains/linux-arm64/build.sh [dynamic] [static] [lib]  (default: all three)
# (what `make cross TARGET=linux-arm64` and toolchains/Dockerfile run).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
TARGET=linux-arm64
DEB_ARCH=arm64
TRIPLET=aarch64-linux-gnu
GOARCH=arm64
CC=aarch64-linux-gnu-gcc
QEMU=qemu-aarch64
DEFAULT_KINDS=(dynamic static lib)
main_target "$@"
