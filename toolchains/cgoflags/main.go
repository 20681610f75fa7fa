//go:build linux

// Command cgoflags prints CGO_CFLAGS and CGO_LDFLAGS for building smbkrb
// against the MIT libraries of a sysroot, as shell assignments that the
// toolchain scripts eval:
//
//	eval "$(go run ./toolchains/cgoflags -sysroot /path/to/sysroot -triplet aarch64-linux-gnu)"
//
// It asks pkg-config through platform/linux's PkgConfig (the sysroot's .pc
// files only, paths rebased onto the sysroot, -rpath-link for its library
// directories; with -static, the private dependencies and -lresolv).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/smbkrb/smbkrb/platform/linux"
)

func main() {
	sysroot := flag.String("sysroot", "", "root of the target's files (default: the build machine)")
	triplet := flag.String("triplet", "", "the target's multiarch triplet, such as aarch64-linux-gnu")
	static := flag.Bool("static", false, "flags for a fully static link")
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: cgoflags [-sysroot DIR] [-triplet TRIPLET] [-static]")
		os.Exit(2)
	}
	root := *sysroot
	if root != "" {
		abs, err := filepath.Abs(root)
		if err != nil {
			fmt.Fprintln(os.Stderr, "cgoflags:", err)
			os.Exit(1)
		}
		root = abs
	}
	p := &linux.PkgConfig{Sysroot: root, Triplet: *triplet, Static: *static}
	cflags, ldflags, err := p.CgoFlags(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "cgoflags:", err)
		os.Exit(1)
	}
	fmt.Printf("CGO_CFLAGS=%s\n", shellQuote(strings.Join(cflags, " ")))
	fmt.Printf("CGO_LDFLAGS=%s\n", shellQuote(strings.Join(ldflags, " ")))
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
