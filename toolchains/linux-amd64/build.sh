#!/usr/bin/env bash
# Builds the static smbkrb for linux/amd64 on a Debian 12 amd64 machine,
# into build/cross/linux-amd64/smbkrb-static: MIT krb5 compiled from
# Debian's source without OpenSSL, keyutils or LDAP, linked with static
# glibc into one binary that needs nothing but the kernel. (The dynamic
# amd64 build is the plain `go build ./cmd/smbkrb`; ask for it with
# `dynamic` to get it next to the static one.)
# Also the C library (lib): libsmbkrb.a with the static MIT build inside,
# its header smbkrb.h, and smbkrb_test, the C test program linked
# statically against it.
# Usage: toolchains/linux-amd64/build.sh [dynamic] [static] [lib]  (default: static lib)
# (what `make cross TARGET=linux-amd64` and toolchains/Dockerfile run).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
TARGET=linux-amd64
DEB_ARCH=amd64
TRIPLET=x86_64-linux-gnu
GOARCH=amd64
CC=gcc
QEMU=
DEFAULT_KINDS=(static lib)
main_target "$@"
