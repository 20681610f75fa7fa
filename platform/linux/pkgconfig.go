//go:build linux

package linux

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// DefaultKrb5Packages are the pkg-config packages smbkrb's cgo layer
// (package krb5) links: the GSS-API library, which requires libkrb5,
// libk5crypto and libcom_err.
var DefaultKrb5Packages = []string{"krb5-gssapi"}

// PkgConfig finds the compiler and linker flags for the MIT libraries
// with pkg-config, for the build machine or for a cross sysroot. The zero
// value asks about the build machine's own libraries.
type PkgConfig struct {
	// Sysroot is the root of the target's files, such as a directory
	// into which the target's Debian packages were unpacked, or the
	// DESTDIR of a static MIT build; "" means the build machine. Paths
	// in the .pc files are taken relative to it.
	Sysroot string
	// Triplet is the target's multiarch triplet, such as
	// "aarch64-linux-gnu": Debian keeps the .pc files and libraries in
	// usr/lib/TRIPLET. "" means usr/lib only.
	Triplet string
	// Static asks for the flags of a fully static link: the libraries'
	// private dependencies too (pkg-config --static), and -lresolv,
	// which MIT's libkrb5 needs (DNS code) but its .pc file omits.
	Static bool
	// Packages are the pkg-config packages; nil means
	// DefaultKrb5Packages.
	Packages []string
	// Tool is the pkg-config program; "" means "pkg-config" on PATH.
	Tool string
	// Timeout bounds the pkg-config run; 0 means 30 seconds.
	Timeout time.Duration
}

// CgoFlags returns the flags for CGO_CFLAGS and CGO_LDFLAGS. For a
// sysroot it also adds -isystem for the sysroot's usr/include (and
// usr/include/TRIPLET), and -L and -rpath-link for its library
// directories, where the linker finds the libraries that package krb5
// names itself and the libraries' own dependencies (libkeyutils,
// libresolv).
func (p *PkgConfig) CgoFlags(ctx context.Context) (cflags, ldflags []string, err error) {
	tool := p.Tool
	if tool == "" {
		tool = "pkg-config"
	}
	pkgs := p.Packages
	if pkgs == nil {
		pkgs = DefaultKrb5Packages
	}
	timeout := p.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	env := os.Environ()
	var libDirs []string
	if p.Sysroot != "" {
		if !filepath.IsAbs(p.Sysroot) {
			return nil, nil, fmt.Errorf("platform/linux: pkg-config: sysroot %q is not an absolute path", p.Sysroot)
		}
		if _, err := os.Stat(p.Sysroot); err != nil {
			return nil, nil, fmt.Errorf("platform/linux: pkg-config: sysroot: %w", err)
		}
		var pcDirs []string
		for _, d := range p.libDirs() {
			pcDirs = append(pcDirs, filepath.Join(d, "pkgconfig"))
			if _, err := os.Stat(d); err == nil {
				libDirs = append(libDirs, d)
			}
		}
		pcDirs = append(pcDirs, filepath.Join(p.Sysroot, "usr/share/pkgconfig"))
		env = withoutVars(env, "PKG_CONFIG_")
		env = append(env,
			// Only the sysroot's .pc files, never the build machine's.
			"PKG_CONFIG_LIBDIR="+strings.Join(pcDirs, ":"),
			"PKG_CONFIG_SYSROOT_DIR="+p.Sysroot,
			// -I$SYSROOT/usr/include and -L$SYSROOT/usr/lib are not the
			// cross compiler's system directories: keep them.
			"PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1",
			"PKG_CONFIG_ALLOW_SYSTEM_LIBS=1",
		)
	}
	run := func(what ...string) ([]string, error) {
		args := append(what, pkgs...)
		if p.Static {
			args = append([]string{"--static"}, args...)
		}
		cmd := exec.CommandContext(ctx, tool, args...)
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			where := "the build machine"
			if p.Sysroot != "" {
				where = p.Sysroot
			}
			return nil, fmt.Errorf("platform/linux: %s %s (in %s): %v: %s (is the -dev package of MIT krb5 there?)",
				tool, strings.Join(args, " "), where, err, strings.TrimSpace(stderr.String()))
		}
		return strings.Fields(string(out)), nil
	}
	if cflags, err = run("--cflags"); err != nil {
		return nil, nil, err
	}
	if p.Sysroot != "" {
		// Debian's cross compilers search the build machine's
		// /usr/include after their own directories: a header that the
		// sysroot has but the .pc files do not point at (Debian's
		// krb5.h includes <et/com_err.h>, which is in usr/include)
		// would otherwise come from the build machine, or be missing
		// where it has none. The sysroot's usr/include comes first.
		var dirs []string
		if p.Triplet != "" {
			dirs = append(dirs, filepath.Join(p.Sysroot, "usr/include", p.Triplet))
		}
		for _, d := range append(dirs, filepath.Join(p.Sysroot, "usr/include")) {
			if fi, err := os.Stat(d); err == nil && fi.IsDir() {
				cflags = append(cflags, "-isystem", d)
			}
		}
	}
	if ldflags, err = run("--libs"); err != nil {
		return nil, nil, err
	}
	if p.Static {
		ldflags = append(ldflags, "-lresolv")
	}
	// The krb5 package's own #cgo LDFLAGS name -lkrb5, -lk5crypto and
	// -lcom_err, which a shared link's .pc does not list: the linker
	// looks for them in the sysroot's library directories.
	for _, d := range libDirs {
		ldflags = append(ldflags, "-L"+d)
	}
	for _, d := range libDirs {
		ldflags = append(ldflags, "-Wl,-rpath-link,"+d)
	}
	if len(ldflags) == 0 {
		return nil, nil, errors.New("platform/linux: pkg-config gave no linker flags for " + strings.Join(pkgs, " "))
	}
	return cflags, ldflags, nil
}

// libDirs are the sysroot's library directories, in the order a Debian
// system searches them.
func (p *PkgConfig) libDirs() []string {
	var dirs []string
	if p.Triplet != "" {
		dirs = append(dirs, filepath.Join(p.Sysroot, "usr/lib", p.Triplet), filepath.Join(p.Sysroot, "lib", p.Triplet))
	}
	return append(dirs, filepath.Join(p.Sysroot, "usr/lib"), filepath.Join(p.Sysroot, "lib"))
}

// withoutVars is env without the variables whose names start with prefix.
func withoutVars(env []string, prefix string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, prefix) {
			out = append(out, kv)
		}
	}
	return out
}
