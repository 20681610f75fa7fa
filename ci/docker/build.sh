#!/usr/bin/env bash
# Builds a Dockerfile of the project with podman on a machine with no
# container registry; by default the CI image (what `make docker-image`
# runs, as root):
#   ci/docker/build.sh [DOCKERFILE TAG [OUTPUT_DIR [NAME=VALUE...]]]
# e.g. ci/docker/build.sh toolchains/Dockerfile \
#        localhost/smbkrb-linux-arm64 build/cross TARGET=linux-arm64
# (each NAME=VALUE is a --build-arg).
# It makes the two images the Dockerfiles start from:
#   - BASE_IMAGE: Debian 12 from debootstrap --variant=minbase bookworm
#     (the rootfs tarball cached in .cache/docker), podman import'ed as
#     localhost/debian:bookworm-minbase;
#   - GO_IMAGE: only this machine's /usr/local/go, podman import'ed;
# then runs podman build --isolation=chroot. The CI image's context is
# just the files its Dockerfile copies; any other Dockerfile gets the
# files git knows (tracked or new, not ignored: no .cache/, no build/).
# With OUTPUT_DIR, the final stage's files are exported there. It reports
# the build time and the image size; for the CI image it also checks,
# inside the image, that .ci/install-deps finds nothing missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/usr/local/go/bin:$PATH"
DOCKERFILE=${1:-ci/docker/Dockerfile}
TAG=${2:-${SMBKRB_CI_IMAGE:-localhost/smbkrb-ci:latest}}
OUTPUT=${3:-}
shift $(($# < 3 ? $# : 3))
BUILD_ARGS=("$@")
for tool in podman runc debootstrap go; do
  command -v "$tool" >/dev/null || { echo "docker-image: $tool not found (bash .ci/install-deps --container installs podman, runc and debootstrap)" >&2; exit 1; }
done
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
CACHE=.cache/docker
BASE=localhost/debian:bookworm-minbase
GOIMAGE=localhost/smbkrb-go:$(go env GOVERSION)
begin=$SECONDS

if ! podman image exists "$BASE"; then
  if [ ! -f "$CACHE/bookworm-minbase.tar" ]; then
    echo "docker-image: debootstrap --variant=minbase bookworm"
    rm -rf "$CACHE/rootfs"
    mkdir -p "$CACHE"
    debootstrap --variant=minbase bookworm "$CACHE/rootfs" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 ||
      { tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
    # The machine's suites: updates and security fixes too.
    cat >"$CACHE/rootfs/etc/apt/sources.list" <<SOURCES
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $SECURITY_MIRROR bookworm-security main
SOURCES
    tar -C "$CACHE/rootfs" -cf "$CACHE/bookworm-minbase.tar" .
    rm -rf "$CACHE/rootfs"
  fi
  podman import "$CACHE/bookworm-minbase.tar" "$BASE" >/dev/null
fi
if ! podman image exists "$GOIMAGE"; then
  tar -C / -cf - usr/local/go | podman import - "$GOIMAGE" >/dev/null
fi
echo "docker-image: base images ready after $((SECONDS - begin)) s"

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
if [ "$DOCKERFILE" = ci/docker/Dockerfile ]; then
  mkdir -p "$ctx/.ci"
  cp .ci/install-deps "$ctx/.ci/"
  cp go.mod go.sum "$ctx/"
elif git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z -c -o --exclude-standard | xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
    tar --null -T - -cf - | tar -x -C "$ctx"
else
  # Not a git checkout (an exported tree): everything but the caches.
  tar --exclude=./.cache --exclude=./build --exclude=./.git -cf - . | tar -x -C "$ctx"
fi
args=(--isolation=chroot -f "$PWD/$DOCKERFILE" -t "$TAG"
  --build-arg BASE_IMAGE="$BASE" --build-arg GO_IMAGE="$GOIMAGE")
# Go's TLS to the module proxy inside the build trusts what this machine
# trusts: its CA bundle, bind-mounted for the RUN steps only.
if [ -n "${SSL_CERT_FILE:-}" ] && [ -r "$SSL_CERT_FILE" ]; then
  args+=(-v "$(realpath "$SSL_CERT_FILE"):/run/smbkrb-build-ca.pem:ro" --build-arg SSL_CERT_FILE=/run/smbkrb-build-ca.pem)
fi
[ -z "$OUTPUT" ] || args+=(--output "type=local,dest=$OUTPUT")
for a in "${BUILD_ARGS[@]}"; do
  case "$a" in
    *=*) args+=(--build-arg "$a") ;;
    *) echo "docker-image: $a: build arguments are NAME=VALUE" >&2; exit 2 ;;
  esac
done
build=$SECONDS
podman build "${args[@]}" "$ctx"
echo "docker-image: podman build of $DOCKERFILE took $((SECONDS - build)) s"

if [ "$DOCKERFILE" = ci/docker/Dockerfile ]; then
  # Nothing the script would install is missing in the image.
  # runc: crun, podman's default, fails here ("cgroups in hybrid mode").
  podman run --rm --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "$TAG" \
    bash -c 'bash /opt/smbkrb/.ci/install-deps && go version && dpkg-query -W samba qemu-user-static gcc-aarch64-linux-gnu'
fi
if podman image exists "$TAG"; then
  size=$(podman image inspect --format '{{.Size}}' "$TAG")
  echo "docker-image: $TAG built in $((SECONDS - begin)) s, $((size / 1000000)) MB"
fi
