//go:build linux

// Package linux holds the defaults that differ by platform, for Linux:
// where smbkrb keeps its state on a device (the Entra device identity,
// credential caches that must outlive a process), which credential cache
// types beyond FILE:, DIR: and MEMORY: the machine offers (KEYRING: needs
// the kernel's key retention service, KCM: a KCM daemon's socket), and how
// a build finds the MIT libraries (pkg-config, also inside a cross
// sysroot; toolchains/ uses it).
//
// Nothing here is Kerberos: the package is pure Go and builds without
// cgo, so that a tool can ask these questions before it loads MIT krb5.
// Whether the MIT library itself was built with KEYRING: support is the
// library's business: Debian's is, the static build of toolchains/ is not
// (--without-keyutils).
package linux
