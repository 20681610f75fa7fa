# shellcheck shell=bash
# What the per-target build scripts (toolchains/linux-*/build.sh) share:
# a private apt setup for the target's Debian packages and Debian's krb5
# source, the sysroot of Debian's MIT libraries for dynamic builds, the
# static MIT build from that source, and the Go build of cmd/smbkrb.
#
# Nothing here changes the machine's apt or dpkg state: the target's
# package lists live in a private apt directory under the cache (no
# dpkg --add-architecture, so the machine's own apt-get update never sees
# the foreign indexes), packages are unpacked with dpkg -x. Everything
# slow is cached under $CACHE (the repository's .cache/cross by default,
# ignored by git) and skipped on a rerun:
#
#   $CACHE/apt/                  private apt lists, refreshed once a day
#   $CACHE/sysroot/TARGET/       Debian's MIT libraries and libc for TARGET
#   $CACHE/src/krb5_VERSION/     Debian's krb5 source package, unpacked
#   $CACHE/mit/VERSION-TARGET-HASH/  the static MIT build, HASH over the
#                                configure flags and the compiler version
#
# The binaries go to $OUT/TARGET (build/cross/TARGET by default).

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${SMBKRB_CROSS_CACHE:-$ROOT/.cache/cross}
OUT=${SMBKRB_CROSS_OUT:-$ROOT/build/cross}
export PATH="/usr/local/go/bin:$PATH"
# The Debian mirror; the machine's own sources are not read, so that a
# private list can add deb-src and foreign architectures.
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEBIAN_SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
DEBIAN_SUITE=bookworm

log() { printf 'toolchains: %s\n' "$*" >&2; }
die() { printf 'toolchains: %s\n' "$*" >&2; exit 1; }

# need TOOL PACKAGE: fail early, naming the Debian package, when a tool is
# missing (.ci/install-deps installs them all).
need() {
  command -v "$1" >/dev/null || die "$1 not found: install the Debian package $2 (.ci/install-deps does)"
}

# ---------------------------------------------------------------- apt --

APT_DIR=$CACHE/apt
# The options that point apt-get and apt-cache at the private setup: its
# own sources (deb and deb-src), lists, archive cache, no dpkg status, and
# the foreign architectures.
APT_OPTS=(
  -o "Dir::Etc::SourceList=$APT_DIR/sources.list"
  -o "Dir::Etc::SourceParts=$APT_DIR/sources.list.d"
  -o "Dir::Etc::Preferences=$APT_DIR/preferences"
  -o "Dir::Etc::PreferencesParts=$APT_DIR/preferences.d"
  -o "Dir::State=$APT_DIR/state"
  -o "Dir::State::status=$APT_DIR/status"
  -o "Dir::Cache=$APT_DIR/cache"
  -o "APT::Architecture=amd64"
  -o "APT::Architectures::=amd64"
  -o "APT::Architectures::=arm64"
  -o "APT::Architectures::=armhf"
  -o "APT::Sandbox::User=root"
  -o "Debug::NoLocking=true"
)

apt_private() {
  need apt-get apt
  mkdir -p "$APT_DIR"/{sources.list.d,preferences.d,state/lists/partial,cache/archives/partial}
  : >"$APT_DIR/status"
  : >"$APT_DIR/preferences"
  local key=/usr/share/keyrings/debian-archive-keyring.gpg
  local list=""
  local s
  for s in "$DEBIAN_MIRROR $DEBIAN_SUITE" "$DEBIAN_MIRROR $DEBIAN_SUITE-updates" "$DEBIAN_SECURITY_MIRROR $DEBIAN_SUITE-security"; do
    list+="deb [signed-by=$key] ${s% *} ${s#* } main"$'\n'
    list+="deb-src [signed-by=$key] ${s% *} ${s#* } main"$'\n'
  done
  if [ "$(cat "$APT_DIR/sources.list" 2>/dev/null)" != "${list%$'\n'}" ]; then
    printf '%s' "$list" >"$APT_DIR/sources.list"
    rm -f "$APT_DIR/updated"
  fi
  if [ -n "$(find "$APT_DIR/updated" -mmin -1440 2>/dev/null)" ]; then
    return
  fi
  log "apt-get update (private lists in $APT_DIR)"
  # The mirror's armhf index of bookworm-security has been seen failing
  # its size check (LAB.md): apt then exits non-zero but keeps the other
  # indexes, and bookworm's own armhf index still has every package. A
  # package that truly has no index fails in apt-get download below.
  if ! apt-get "${APT_OPTS[@]}" -q update >"$APT_DIR/update.log" 2>&1; then
    grep -E '^(E|W):' "$APT_DIR/update.log" | sed 's/^/toolchains: apt: /' >&2 || true
    log "apt-get update reported errors (above); going on with the indexes it has"
  fi
  touch "$APT_DIR/updated"
}

# ------------------------------------------------------------ sysroot --

# The target's packages a dynamic build links against and runs with:
# headers and .so links (libkrb5-dev, krb5-multidev, comerr-dev), the MIT
# libraries and what they need (libkeyutils, libresolv and libc in libc6).
# libssl3 is not here: Debian's libkrb5-3 depends on it, but none of these
# libraries loads it (no DT_NEEDED), and smbkrb does its TLS in Go.
# libc6-dev is not here either: the cross compiler brings its own
# (libc6-dev-arm64-cross, ...), and the sysroot's libc.so linker script
# names absolute paths that only a --sysroot link would rebase.
SYSROOT_PACKAGES=(
  libkrb5-dev krb5-multidev comerr-dev
  libkrb5-3 libk5crypto3 libkrb5support0 libgssapi-krb5-2 libgssrpc4
  libcom-err2 libkeyutils1 libc6 libgcc-s1
)

# sysroot DEB_ARCH DIR: DIR holds the unpacked packages. A stamp names
# the package set; when it matches, nothing is fetched (delete DIR, or
# make cross-clean, to take newer package versions).
sysroot() {
  local arch=$1 dir=$2
  local want="$arch ${SYSROOT_PACKAGES[*]}"
  if [ -f "$dir/.smbkrb-sysroot" ] && [ "$(head -1 "$dir/.smbkrb-sysroot")" = "$want" ]; then
    log "sysroot $dir: cached ($(tail -n +2 "$dir/.smbkrb-sysroot" | tr '\n' ' '))"
    return
  fi
  need dpkg-deb dpkg
  apt_private
  local debs=$CACHE/debs/$arch
  rm -rf "$dir" "$debs"
  mkdir -p "$dir" "$debs"
  log "sysroot $dir: apt-get download ${SYSROOT_PACKAGES[*]} ($arch)"
  local pkgs=()
  local p
  for p in "${SYSROOT_PACKAGES[@]}"; do pkgs+=("$p:$arch"); done
  (cd "$debs" && apt-get "${APT_OPTS[@]}" -q download "${pkgs[@]}" >download.log 2>&1) ||
    die "apt-get download for $arch failed: $(tail -5 "$debs/download.log")"
  local versions=()
  local deb
  for deb in "$debs"/*.deb; do
    dpkg-deb -x "$deb" "$dir"
    versions+=("$(dpkg-deb -f "$deb" Package)=$(dpkg-deb -f "$deb" Version)")
  done
  fix_symlinks "$dir"
  printf '%s\n' "$want" "${versions[@]}" >"$dir/.smbkrb-sysroot"
  log "sysroot $dir: ${versions[*]}"
}

# fix_symlinks DIR: absolute symlinks inside a sysroot point at the build
# machine's own files; make them point inside DIR, relatively, so that the
# linker (-rpath-link) and qemu (QEMU_LD_PREFIX) follow them there.
fix_symlinks() {
  local dir=$1 link target
  while IFS= read -r -d '' link; do
    target=$(readlink "$link")
    case $target in
      /*) ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$dir$target")" "$link" ;;
    esac
  done < <(find "$dir" -type l -print0)
}

# ------------------------------------------------------- MIT, static --

# mit_source: unpacks Debian's krb5 source package (Debian's patches
# applied, security fixes among them) and sets MIT_SRC and MIT_VERSION.
mit_source() {
  need dpkg-source dpkg-dev
  apt_private
  MIT_VERSION=$(apt-cache "${APT_OPTS[@]}" showsrc krb5 | sed -n 's/^Version: //p' | sort -V | tail -1)
  [ -n "$MIT_VERSION" ] || die "no krb5 source package in the private apt lists ($APT_DIR)"
  local dir=$CACHE/src/krb5_$MIT_VERSION
  MIT_SRC=$(echo "$dir"/krb5-*/src)
  if [ -f "$dir/.done" ] && [ -d "$MIT_SRC" ]; then
    return
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  log "apt-get source krb5=$MIT_VERSION"
  (cd "$dir" && apt-get "${APT_OPTS[@]}" -q source "krb5=$MIT_VERSION" >source.log 2>&1) ||
    die "apt-get source krb5 failed: $(tail -5 "$dir/source.log")"
  MIT_SRC=$(echo "$dir"/krb5-*/src)
  [ -f "$MIT_SRC/configure" ] || die "no configure script in $MIT_SRC"
  touch "$dir/.done"
}

# MIT_STATIC_FLAGS are the configure options of the static build: static
# libraries only; no TLS (Go does the HTTPS, so no OpenSSL and no k5tls
# plugin); MIT's own crypto; no keyutils (no KEYRING: caches), no LDAP,
# no PKINIT, no SPAKE over OpenSSL, no NLS, no line editing, MIT's own
# libverto; no run paths.
MIT_STATIC_FLAGS=(
  --enable-static --disable-shared
  --with-tls-impl=no --with-crypto-impl=builtin --with-spake-openssl=no --disable-pkinit
  --without-keyutils --without-ldap --without-lmdb
  --without-libedit --without-readline --disable-nls
  --without-system-verto --disable-rpath
)
# MIT_CROSS_CACHE answers the configure checks that must run a program,
# which a cross build cannot; these are the answers for glibc on Linux.
MIT_CROSS_CACHE=(
  krb5_cv_attr_constructor_destructor=yes,yes
  ac_cv_func_regcomp=yes
  ac_cv_printf_positional=yes
)

# mit_static TARGET TRIPLET CC: builds MIT krb5's client libraries for
# TRIPLET with CC, statically, and sets MIT_PREFIX (holding usr/include,
# usr/lib/*.a and usr/lib/pkgconfig). Only what smbkrb links is built:
# util (com_err, profile, support), include, lib (crypto, krb5, gssapi and
# their siblings) and build-tools (the pkg-config files). The result is
# kept under a key of the version, the target, the flags and the compiler.
mit_static() {
  local target=$1 triplet=$2 cc=$3
  need "$cc" "gcc for $triplet"
  need make make
  need bison bison
  mit_source
  local hash
  hash=$(printf '%s\n' "${MIT_STATIC_FLAGS[@]}" "${MIT_CROSS_CACHE[@]}" "$("$cc" --version | head -1)" | sha256sum | cut -c1-12)
  local key=$CACHE/mit/$MIT_VERSION-$target-$hash
  MIT_PREFIX=$key/root
  if [ -f "$key/.done" ]; then
    log "static MIT krb5 $MIT_VERSION for $target: cached in $key (built in $(cat "$key/build-seconds") s)"
    return
  fi
  rm -rf "$key"
  mkdir -p "$key/build"
  log "static MIT krb5 $MIT_VERSION for $target: configure and build in $key/build"
  local begin=$SECONDS
  (
    cd "$key/build"
    env "${MIT_CROSS_CACHE[@]}" "$MIT_SRC/configure" --host="$triplet" --prefix=/usr \
      "${MIT_STATIC_FLAGS[@]}" CC="$cc" CFLAGS="-O2 -g0" >configure.log 2>&1 ||
      die "MIT configure failed: see $key/build/configure.log"
    local d
    for d in util include lib build-tools; do
      make -j"$(nproc)" -C "$d" >>make.log 2>&1 || die "MIT make in $d failed: see $key/build/make.log"
    done
    make install-mkdirs DESTDIR="$MIT_PREFIX" >install.log 2>&1
    for d in util include lib build-tools; do
      make -C "$d" install DESTDIR="$MIT_PREFIX" >>install.log 2>&1 || die "MIT make install in $d failed: see $key/build/install.log"
    done
  )
  # Debian's patches put /mit-krb5 under libdir and includedir in the .pc
  # files (its own layout); this build installs one level up.
  ln -sfn . "$MIT_PREFIX/usr/lib/mit-krb5"
  ln -sfn . "$MIT_PREFIX/usr/include/mit-krb5"
  echo $((SECONDS - begin)) >"$key/build-seconds"
  touch "$key/.done"
  log "static MIT krb5 $MIT_VERSION for $target: built in $(cat "$key/build-seconds") s"
}

# ------------------------------------------------------------- Go build --

# cgo_flags SYSROOT TRIPLET [static]: sets CGO_CFLAGS and CGO_LDFLAGS from
# the sysroot's pkg-config files, through platform/linux (the same helper
# a Go build tool would use; see toolchains/cgoflags).
cgo_flags() {
  need pkg-config pkg-config
  local out
  out=$(cd "$ROOT" && env -u GOOS -u GOARCH -u GOARM -u CC CGO_ENABLED=0 go run ./toolchains/cgoflags -sysroot "$1" -triplet "$2" ${3:+-static}) ||
    die "cgo flags for $1 failed"
  eval "$out"
  export CGO_CFLAGS CGO_LDFLAGS
}

# go_build OUT GOARCH GOARM CC static|dynamic: builds cmd/smbkrb with the
# CGO_* flags set by cgo_flags, stripped (-s -w), without build paths. A
# static build also uses Go's own resolver and user lookup (netgo,
# osusergo), so that no glibc NSS module is needed at run time. The build
# cache needs no -a here: the MIT prefix's path changes with the
# library's key, and with it CGO_CFLAGS, which the cache does see.
go_build() {
  local out=$1 goarch=$2 goarm=$3 cc=$4 kind=$5
  local args=(build -trimpath -o "$out")
  if [ "$kind" = static ]; then
    args+=(-tags netgo,osusergo -ldflags "-s -w -linkmode external -extldflags -static")
  else
    args+=(-ldflags "-s -w")
  fi
  mkdir -p "$(dirname "$out")"
  log "go build $kind $goarch${goarm:+ GOARM=$goarm} -> $out"
  local begin=$SECONDS
  # The linker's warnings about getaddrinfo and friends in a static glibc
  # binary are expected: MIT links them, smbkrb's configuration never
  # makes MIT call them (no DNS, no canonicalization), and Go resolves.
  (cd "$ROOT" && CGO_ENABLED=1 GOOS=linux GOARCH="$goarch" GOARM="$goarm" CC="$cc" \
    go "${args[@]}" ./cmd/smbkrb 2>"$out.log") || { cat "$out.log" >&2; die "go build failed"; }
  log "go build $kind $goarch: $((SECONDS - begin)) s, $(stat -c %s "$out") bytes"
}

# lib_build DIR GOARCH GOARM CC: builds the C library for the target
# against the static MIT build (cgo_flags ... static must have run):
#   DIR/libsmbkrb.a   the Go code, cgo's C and MIT's client libraries in
#                     one archive: a program links it with -lpthread
#                     -lresolv and nothing else
#   DIR/smbkrb.h      the header (libsmbkrb/include)
#   DIR/smbkrb_test   the C test program (libsmbkrb/test), linked
#                     statically, for toolchains/crosstest
lib_build() {
  local dir=$1 goarch=$2 goarm=$3 cc=$4
  local ar=${cc%gcc}ar
  need "$ar" "binutils for $cc"
  local tmp=$dir/.lib
  rm -rf "$tmp"
  mkdir -p "$tmp"
  log "go build -buildmode=c-archive $goarch${goarm:+ GOARM=$goarm} -> $dir/libsmbkrb.a"
  local begin=$SECONDS
  (cd "$ROOT/libsmbkrb" && CGO_ENABLED=1 GOOS=linux GOARCH="$goarch" GOARM="$goarm" CC="$cc" \
    go build -trimpath -buildmode=c-archive -ldflags "-s -w" -o "$tmp/go.a" . 2>"$tmp/build.log") ||
    { cat "$tmp/build.log" >&2; die "go build -buildmode=c-archive failed"; }
  # One archive: ar's MRI script merges the Go archive and MIT's. The
  # libraries are copied to plain names first (MRI scripts read '+', as
  # in Debian's version numbers, as a line continuation).
  local mri="create libsmbkrb.a"$'\n'"addlib go.a"$'\n'
  local l
  for l in gssapi_krb5 krb5 k5crypto com_err krb5support; do
    cp "$MIT_PREFIX/usr/lib/lib$l.a" "$tmp/mit-$l.a"
    mri+="addlib mit-$l.a"$'\n'
  done
  mri+="save"$'\n'"end"$'\n'
  (cd "$tmp" && printf '%s' "$mri" | "$ar" -M) || die "$ar -M could not merge the archives"
  mv "$tmp/libsmbkrb.a" "$dir/libsmbkrb.a"
  cp "$ROOT/libsmbkrb/include/smbkrb.h" "$dir/smbkrb.h"
  rm -rf "$tmp"
  log "C library $goarch: $((SECONDS - begin)) s, libsmbkrb.a $(stat -c %s "$dir/libsmbkrb.a") bytes"
  "$cc" -std=c99 -Wall -Wextra -Werror -pedantic -O2 -static -I"$dir" -o "$dir/smbkrb_test" \
    "$ROOT/libsmbkrb/test/smbkrb_test.c" "$dir/libsmbkrb.a" -lpthread -lresolv 2>"$dir/smbkrb_test.log" ||
    { cat "$dir/smbkrb_test.log" >&2; die "the C test program did not build against libsmbkrb.a"; }
  "${cc%gcc}strip" "$dir/smbkrb_test"
}

# describe BIN: one line for BUILDINFO: size and what it needs at run time.
describe() {
  local bin=$1 needed interp
  needed=$(readelf -d "$bin" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
  interp=$(readelf -l "$bin" 2>/dev/null | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
  printf '%s %s bytes; ' "$(basename "$bin")" "$(stat -c %s "$bin")"
  if [ -z "$needed$interp" ]; then
    echo "static: needs nothing but the kernel"
  else
    echo "dynamic: interpreter $interp; needs $needed"
  fi
}

# build_target TARGET DEB_ARCH TRIPLET GOARCH GOARM CC QEMU KINDS...: the
# whole recipe for one target, KINDS being dynamic and/or static. It ends
# by writing $OUT/TARGET/BUILDINFO: every binary there, its size and what
# it needs at run time.
build_target() {
  local target=$1 arch=$2 triplet=$3 goarch=$4 goarm=$5 cc=$6 qemu=$7
  shift 7
  need go "Go (expected in /usr/local/go)"
  need readelf binutils
  need "$cc" "gcc for $triplet"
  local dir=$OUT/$target
  mkdir -p "$dir"
  local kind
  for kind in "$@"; do
    case $kind in
      dynamic)
        local sr=$CACHE/sysroot/$target
        sysroot "$arch" "$sr"
        ( cgo_flags "$sr" "$triplet"; go_build "$dir/smbkrb" "$goarch" "$goarm" "$cc" dynamic )
        # The test runs the binary with QEMU_LD_PREFIX pointing here.
        ln -sfn "$(realpath --relative-to="$dir" "$sr")" "$dir/sysroot"
        ;;
      static)
        mit_static "$target" "$triplet" "$cc"
        ( cgo_flags "$MIT_PREFIX" "$triplet" static; go_build "$dir/smbkrb-static" "$goarch" "$goarm" "$cc" static )
        echo "static MIT krb5 $MIT_VERSION (${MIT_STATIC_FLAGS[*]}), built in $(cat "$(dirname "$MIT_PREFIX")/build-seconds") s" >"$dir/smbkrb-static.mit"
        ;;
      lib)
        mit_static "$target" "$triplet" "$cc"
        ( cgo_flags "$MIT_PREFIX" "$triplet" static; lib_build "$dir" "$goarch" "$goarm" "$cc" )
        ;;
      *) die "unknown build kind $kind (dynamic, static or lib)" ;;
    esac
  done
  {
    echo "target $target ($triplet, GOARCH=$goarch${goarm:+ GOARM=$goarm}), $(go version | cut -d' ' -f3)"
    [ -z "$qemu" ] || echo "runs on an amd64 machine under $qemu (binfmt)"
    local bin
    for bin in "$dir/smbkrb" "$dir/smbkrb-static"; do
      [ -f "$bin" ] || continue
      describe "$bin"
      [ ! -f "$bin.mit" ] || cat "$bin.mit"
    done
    if [ -f "$dir/libsmbkrb.a" ]; then
      echo "libsmbkrb.a $(stat -c %s "$dir/libsmbkrb.a") bytes (Go, cgo and static MIT krb5; link with -lpthread -lresolv)"
      describe "$dir/smbkrb_test"
    fi
  } >"$dir/BUILDINFO"
  cat "$dir/BUILDINFO" >&2
}

# main_target: what every build.sh runs after setting its variables;
# "$@" are the kinds to build (the target's default when empty).
main_target() {
  local kinds=("$@")
  [ ${#kinds[@]} -gt 0 ] || kinds=("${DEFAULT_KINDS[@]}")
  build_target "$TARGET" "$DEB_ARCH" "$TRIPLET" "$GOARCH" "${GOARM:-}" "$CC" "${QEMU:-}" "${kinds[@]}"
}
