//go:build linux

package linux

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestStateDir(t *testing.T) {
	home := func() (string, error) { return "/home/alice", nil }
	noHome := func() (string, error) { return "", errors.New("$HOME is not defined") }
	for _, c := range []struct {
		name string
		env  map[string]string
		euid int
		home func() (string, error)
		want string
	}{
		{"systemd service", map[string]string{"STATE_DIRECTORY": "/var/lib/smbkrb-agent"}, 0, home, "/var/lib/smbkrb-agent"},
		{"systemd, several directories", map[string]string{"STATE_DIRECTORY": "/var/lib/a:/var/lib/b"}, 1000, home, "/var/lib/a"},
		{"relative STATE_DIRECTORY is ignored", map[string]string{"STATE_DIRECTORY": "state"}, 0, home, "/var/lib/smbkrb"},
		{"root", nil, 0, home, "/var/lib/smbkrb"},
		{"root ignores XDG", map[string]string{"XDG_STATE_HOME": "/x"}, 0, home, "/var/lib/smbkrb"},
		{"user with XDG_STATE_HOME", map[string]string{"XDG_STATE_HOME": "/home/alice/st"}, 1000, home, "/home/alice/st/smbkrb"},
		{"relative XDG_STATE_HOME is ignored", map[string]string{"XDG_STATE_HOME": "st"}, 1000, home, "/home/alice/.local/state/smbkrb"},
		{"user", nil, 1000, home, "/home/alice/.local/state/smbkrb"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := stateDir(func(k string) string { return c.env[k] }, c.euid, c.home)
			if err != nil || got != c.want {
				t.Errorf("stateDir = %q, %v; want %q", got, err, c.want)
			}
		})
	}
	if _, err := stateDir(func(string) string { return "" }, 1000, noHome); err == nil || !strings.Contains(err.Error(), "HOME") {
		t.Errorf("no home: err = %v, want one naming HOME", err)
	}
}

func TestStateDirFromEnvironment(t *testing.T) {
	t.Setenv("STATE_DIRECTORY", "/run/test-state")
	for _, f := range []struct {
		fn   func() (string, error)
		want string
	}{{StateDir, "/run/test-state"}, {DeviceDir, "/run/test-state/device"}, {CCacheDir, "/run/test-state/ccache"}} {
		if got, err := f.fn(); err != nil || got != f.want {
			t.Errorf("got %q, %v; want %q", got, err, f.want)
		}
	}
}

func TestKeyringError(t *testing.T) {
	if err := keyringError(nil); err != nil {
		t.Errorf("nil: %v", err)
	}
	for errno, phrase := range map[syscall.Errno]string{
		syscall.ENOSYS: "CONFIG_KEYS",
		syscall.EPERM:  "seccomp",
		syscall.EACCES: "seccomp",
		syscall.EINVAL: "keyctl",
	} {
		err := keyringError(errno)
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), phrase) {
			t.Errorf("%v: %v, want ErrUnavailable naming %q", errno, err, phrase)
		}
	}
}

// TestKeyringAvailable asks this machine's kernel; either answer is
// right, but an unavailable keyring must say why.
func TestKeyringAvailable(t *testing.T) {
	err := KeyringAvailable()
	if err != nil && !errors.Is(err, ErrUnavailable) {
		t.Fatalf("KeyringAvailable: %v does not match ErrUnavailable", err)
	}
	t.Logf("KEYRING: caches on this machine: %v", errOrOK(err))
}

func errOrOK(err error) string {
	if err == nil {
		return "available"
	}
	return err.Error()
}

func TestKCMAvailable(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "kcm.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if err := KCMAvailable(sock, 5*time.Second); err != nil {
		t.Errorf("a listening socket: %v", err)
	}
	// A daemon that died leaves its socket behind.
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()

	regular := filepath.Join(dir, "file")
	if err := os.WriteFile(regular, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for path, phrase := range map[string]string{
		filepath.Join(dir, "missing"): "does not exist",
		regular:                       "not a socket",
		sock:                          "no KCM daemon answers", // closed: nobody listens
	} {
		err := KCMAvailable(path, 5*time.Second)
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), phrase) {
			t.Errorf("%s: %v, want ErrUnavailable saying %q", path, err, phrase)
		}
	}
	t.Logf("KCM: caches on this machine (%s): %v", DefaultKCMSocket, errOrOK(KCMAvailable("", time.Second)))
}

// writePC writes a .pc file into dir.
func writePC(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".pc"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A sysroot laid out as Debian's packages unpack: the .pc files and
// libraries under usr/lib/TRIPLET, with absolute paths inside them that
// pkg-config must rebase onto the sysroot.
func TestPkgConfigSysroot(t *testing.T) {
	if _, err := exec.LookPath("pkg-config"); err != nil {
		t.Fatal("pkg-config not found: install the Debian package pkg-config (.ci/install-deps does)")
	}
	root := t.TempDir()
	pc := filepath.Join(root, "usr/lib/aarch64-linux-gnu/pkgconfig")
	writePC(t, pc, "krb5-gssapi", `prefix=/usr
libdir=${prefix}/lib/aarch64-linux-gnu
includedir=${prefix}/include
Name: krb5-gssapi
Description: test
Version: 1.20.1
Requires: mit-krb5-gssapi
`)
	writePC(t, pc, "mit-krb5-gssapi", `prefix=/usr
libdir=${prefix}/lib/aarch64-linux-gnu/mit-krb5
includedir=${prefix}/include/mit-krb5
Name: mit-krb5-gssapi
Description: test
Version: 1.20.1
Requires.private: mit-krb5
Cflags: -isystem ${includedir}
Libs: -L${libdir} -lgssapi_krb5
`)
	writePC(t, pc, "mit-krb5", `prefix=/usr
libdir=${prefix}/lib/aarch64-linux-gnu/mit-krb5
includedir=${prefix}/include/mit-krb5
Name: mit-krb5
Description: test
Version: 1.20.1
Cflags: -isystem ${includedir}
Libs: -L${libdir} -lkrb5 -lk5crypto -lcom_err
Libs.private: -lkrb5support
`)
	for _, d := range []string{"lib/aarch64-linux-gnu", "usr/include/mit-krb5"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A developer's PKG_CONFIG_PATH must not leak the build machine in.
	t.Setenv("PKG_CONFIG_PATH", "/usr/lib/x86_64-linux-gnu/pkgconfig")

	p := &PkgConfig{Sysroot: root, Triplet: "aarch64-linux-gnu"}
	cflags, ldflags, err := p.CgoFlags(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The sysroot's usr/include comes after the .pc's directory, before
	// the cross compiler's fallback to the build machine's /usr/include.
	if want := "-isystem " + root + "/usr/include/mit-krb5 -isystem " + root + "/usr/include"; strings.Join(cflags, " ") != want {
		t.Errorf("cflags %q, want %q", cflags, want)
	}
	for _, want := range []string{
		"-L" + root + "/usr/lib/aarch64-linux-gnu/mit-krb5", "-lgssapi_krb5",
		"-L" + root + "/usr/lib/aarch64-linux-gnu", "-L" + root + "/lib/aarch64-linux-gnu",
		"-Wl,-rpath-link," + root + "/usr/lib/aarch64-linux-gnu", "-Wl,-rpath-link," + root + "/lib/aarch64-linux-gnu",
	} {
		if !slices.Contains(ldflags, want) {
			t.Errorf("ldflags %q lack %q", ldflags, want)
		}
	}
	if slices.Contains(ldflags, "-lkrb5support") || slices.Contains(ldflags, "-lresolv") {
		t.Errorf("a shared link got static flags: %q", ldflags)
	}

	p.Static = true
	_, ldflags, err = p.CgoFlags(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.Index(ldflags, "-lgssapi_krb5")
	j := slices.Index(ldflags, "-lkrb5support")
	if i < 0 || j < i || !slices.Contains(ldflags, "-lresolv") {
		t.Errorf("static ldflags %q: want -lgssapi_krb5 before -lkrb5support, and -lresolv", ldflags)
	}

	p = &PkgConfig{Sysroot: root, Packages: []string{"no-such-package"}}
	if _, _, err := p.CgoFlags(context.Background()); err == nil || !strings.Contains(err.Error(), "no-such-package") {
		t.Errorf("a missing package: err = %v", err)
	}
	if _, _, err := (&PkgConfig{Sysroot: "relative/dir"}).CgoFlags(context.Background()); err == nil {
		t.Error("a relative sysroot was accepted")
	}
}

// The build machine's own MIT libraries (libkrb5-dev), as package krb5
// links them.
func TestPkgConfigBuildMachine(t *testing.T) {
	cflags, ldflags, err := (&PkgConfig{}).CgoFlags(context.Background())
	if err != nil {
		t.Fatalf("%v (libkrb5-dev is in .ci/install-deps)", err)
	}
	if !slices.Contains(ldflags, "-lgssapi_krb5") {
		t.Errorf("ldflags %q lack -lgssapi_krb5", ldflags)
	}
	t.Logf("CGO_CFLAGS=%q CGO_LDFLAGS=%q", strings.Join(cflags, " "), strings.Join(ldflags, " "))
}
