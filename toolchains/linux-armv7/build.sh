#!/usr/bin/env bash
# Builds smbkrb for linux/arm with GOARM=7 (ARMv7-A, hard float, Debian's
# armhf) on a Debian 12 amd64 machine, into build/cross/linux-armv7/:
#   smbkrb         dynamic, against Debian's MIT libraries for armhf
#   smbkrb-static  (only when asked for) a static MIT build, as for arm64
#   libsmbkrb.a    the C library (libsmbkrb/) with the static MIT build
#                  inside, its header smbkrb.h, and smbkrb_test, the C
#                  test program linked statically against it
# Usage: toolchains/linux-armv7/build.sh [dynamic] [static] [lib]  (default: dynamic lib)
# (what `make cross TARGET=linux-armv7` and toolchains/Dockerfile run).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
TARGET=linux-armv7
DEB_ARCH=armhf
TRIPLET=arm-linux-gnueabihf
GOARCH=arm
GOARM=7
CC=arm-linux-gnueabihf-gcc
QEMU=qemu-arm
DEFAULT_KINDS=(dynamic lib)
main_target "$@"
