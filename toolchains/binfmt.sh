#!/usr/bin/env bash
# Makes the kernel run arm64 and ARM (EABI) binaries through Debian's
# qemu-user-static, by binfmt_misc, as the cross tests need: mounts
# binfmt_misc if it is not mounted and enables the qemu-aarch64 and
# qemu-arm entries. Idempotent; needs root. Debian's packages register
# the entries with binfmt-support, but with /usr/sbin/policy-rc.d refusing
# services (as .ci/install-deps sets it up) nothing mounts binfmt_misc or
# loads them into the kernel: this does. Nothing else is changed.
set -euo pipefail
dir=/proc/sys/fs/binfmt_misc
if [ ! -e "$dir/status" ]; then
  mount -t binfmt_misc binfmt_misc "$dir"
fi
for entry in qemu-aarch64 qemu-arm; do
  if [ ! -e "$dir/$entry" ]; then
    if command -v update-binfmts >/dev/null && update-binfmts --enable "$entry" 2>/dev/null; then
      :
    elif [ -f "/usr/lib/binfmt.d/$entry.conf" ]; then
      # The systemd-binfmt form of the same entry, flags F (the
      # interpreter is opened now, so it works inside a chroot too).
      grep -v '^#' "/usr/lib/binfmt.d/$entry.conf" >"$dir/register"
    else
      echo "binfmt: no $entry entry: install qemu-user-static and binfmt-support (.ci/install-deps does)" >&2
      exit 1
    fi
  fi
  [ "$(head -1 "$dir/$entry")" = enabled ] || echo 1 >"$dir/$entry"
  echo "binfmt: $entry: $(head -1 "$dir/$entry"), $(grep '^interpreter' "$dir/$entry"), $(grep '^flags' "$dir/$entry")"
done
