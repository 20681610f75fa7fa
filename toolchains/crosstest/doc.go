// Package crosstest proves the cross-built smbkrb binaries work: its
// tests (only) run the CLI binaries that toolchains/ built, for linux/arm64
// and linux/arm (ARMv7) under qemu-user through binfmt_misc, and the
// static binaries (amd64, arm64) in an empty chroot where no shared
// library exists, against the lab's real servers, reached from a network
// namespace whose port 88 is rejected: a Samba AD DC through smbkrb's KDC
// proxy (each binary logs in with kinit through the proxy), and a Samba
// DC playing an Azure Files storage account with Microsoft Entra Kerberos
// through the Entra emulator (each binary registers the device with a
// device-code sign-in and signs in for a cloud TGT; the service ticket
// comes through the tenant's KDC proxy). In each flow the binary then puts
// and gets a random multi-MiB file; the bytes must come back identical
// (sha256).
//
// The tests build only with the crosstest build tag, and need
// SMBKRB_CROSS_DIR to name the directory the toolchain scripts wrote
// (build/cross): `make cross-test` builds the binaries, sets it and runs
// `go test -tags crosstest`. A plain `go test ./...` finds no tests here,
// so it does not need cross compilers, qemu and a few minutes of
// emulation; with the tag, a missing directory or binary is a failure,
// never a skip.
//
// The package lives under toolchains/ because it tests what toolchains/
// produces; it has no code of its own outside its tests.
package crosstest
