#!/usr/bin/env bash
# NOT RUN BY THIS PROJECT: no QNX SDP is available here. A recipe for
# building MIT krb5's client libraries for QNX Neutrino, statically and
# without OpenSSL, with the flags that toolchains/lib.sh uses (and tests)
# for the static Linux builds, plus what QNX needs (-lsocket). See
# README.md beside this file for why each flag is there.
#
# Usage, in a shell where the QNX SDP's qnxsdp-env.sh has been sourced:
#   platform/qnx/build-mit-krb5.sh SRC ARCH PREFIX
#     SRC     MIT krb5's src/ directory (Debian's krb5 source package, as
#             toolchains/ unpacks it into .cache/cross/src, or an
#             upstream release)
#     ARCH    aarch64le or x86_64 (the SDP's target names)
#     PREFIX  where usr/include and usr/lib/*.a are installed
# Environment: QNX_VERSION (default 7.1.0), the SDP's version in the
# compiler's name, such as aarch64-unknown-nto-qnx7.1.0-gcc.
set -euo pipefail
[ $# -eq 3 ] || { sed -n '2,18p' "$0"; exit 2; }
src=$(cd "$1" && pwd)
arch=$2
prefix=$(mkdir -p "$3" && cd "$3" && pwd)
ver=${QNX_VERSION:-7.1.0}
case $arch in
  aarch64le) host=aarch64-unknown-nto-qnx$ver ;;
  x86_64) host=x86_64-pc-nto-qnx$ver ;;
  *) echo "unknown ARCH $arch (aarch64le or x86_64)" >&2; exit 2 ;;
esac
cc=${CC:-$host-gcc}
command -v "$cc" >/dev/null || { echo "$cc not found: source the QNX SDP's qnxsdp-env.sh first" >&2; exit 1; }
[ -x "$src/configure" ] || { echo "$src/configure not found" >&2; exit 1; }

build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
cd "$build"
# Checks that must run a program, answered for a cross build (the answers
# that hold for glibc; to be confirmed once on a QNX target).
env krb5_cv_attr_constructor_destructor=yes,yes \
    ac_cv_func_regcomp=yes \
    ac_cv_printf_positional=yes \
  "$src/configure" --host="$host" --prefix=/usr \
    --enable-static --disable-shared \
    --with-tls-impl=no --with-crypto-impl=builtin --with-spake-openssl=no --disable-pkinit \
    --without-keyutils --without-ldap --without-lmdb \
    --without-libedit --without-readline --disable-nls \
    --without-system-verto --disable-rpath \
    CC="$cc" CFLAGS="-O2" LIBS="-lsocket"
for d in util include lib build-tools; do
  make -j"$(nproc)" -C "$d"
done
make install-mkdirs DESTDIR="$prefix"
for d in util include lib build-tools; do
  make -C "$d" install DESTDIR="$prefix"
done
echo "installed into $prefix/usr; link with:"
echo "  -L$prefix/usr/lib -lgssapi_krb5 -lkrb5 -lk5crypto -lcom_err -lkrb5support -lsocket"
