#!/usr/bin/env bash
# Builds smbkrb for linux/arm64 (ARMv8-A, aarch64) on a Debian 12 amd64
# machine, into build/cross/linux-arm64/:
#   smbkrb         dynamic, against Debian's MIT libraries for arm64
#   smbkrb-static  one self-contained binary with a static MIT build
# Usage: toolchains/linux-arm64/build.sh [dynamic] [static]  (default: both)
# (what `make cross TARGET=linux-arm64` and the Dockerfile beside it run).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
TARGET=linux-arm64
DEB_ARCH=arm64
TRIPLET=aarch64-linux-gnu
GOARCH=arm64
CC=aarch64-linux-gnu-gcc
QEMU=qemu-aarch64
DEFAULT_KINDS=(dynamic static)
main_target "$@"
