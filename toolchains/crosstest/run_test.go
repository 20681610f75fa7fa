//go:build crosstest

package crosstest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/labtool"
	"github.com/smbkrb/smbkrb/internal/lab/netns"
)

// commandTimeout bounds one run of a binary; emulation makes runs slower
// than native ones, but a minute or more means something hangs.
const commandTimeout = 3 * time.Minute

// runner runs one binary the way a device would, inside a flow's network
// namespace: a dynamic one under qemu with QEMU_LD_PREFIX set to its
// sysroot, a static one chrooted into a directory that holds nothing but
// the binary, its home directory and /tmp.
type runner struct {
	b   binary
	ns  *netns.NS
	bin string // the binary as the runner starts it (inside root for a chroot)
	// root is the chroot of a static binary, "" for a dynamic one.
	root string
	// home is the user's home directory and tmp its TMPDIR, on the
	// host's side.
	home, tmp string
	sysroot   string
	// secrets must never appear on a command line or in any output.
	secrets []string
	// watch, when set, sees each line of the binary's standard error as
	// it comes, while the binary runs: a flow that must act on what the
	// binary prints (the Entra flow approving a device code at the
	// emulator) sets it around the run. It runs on another goroutine:
	// it reports failures by other means than t.Fatal.
	watch func(line string)
}

// newRunner prepares b's environment under a fresh temporary directory.
func newRunner(t *testing.T, dir string, b binary, ns *netns.NS) *runner {
	t.Helper()
	if b.binfmt != "" {
		checkBinfmt(t, b.binfmt, b.static)
	}
	src := b.path(t, dir)
	r := &runner{b: b, ns: ns}
	base := t.TempDir()
	if b.static {
		r.root = filepath.Join(base, "root")
		r.home = filepath.Join(r.root, "home")
		r.tmp = filepath.Join(r.root, "tmp")
		r.bin = filepath.Join(r.root, "smbkrb")
	} else {
		r.home = filepath.Join(base, "home")
		r.tmp = filepath.Join(base, "tmp")
		r.bin = src
		r.sysroot = b.sysroot(t, dir)
	}
	for _, d := range []string{r.home, r.tmp, r.stateDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if r.root != "" {
		copyFile(t, src, r.bin, 0o755)
	}
	// An empty MIT profile: nothing of the machine's /etc/krb5.conf can
	// help (smbkrb does not read it anyway).
	if err := os.WriteFile(filepath.Join(r.home, "empty-krb5.conf"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return r
}

// checkBinfmt fails the test unless the kernel runs the target's
// binaries through qemu: the entry must be enabled, and for a binary
// that runs in a chroot it must have flag F (the interpreter was opened
// when the entry was registered, so it need not exist inside the chroot).
func checkBinfmt(t *testing.T, entry string, inChroot bool) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("/proc/sys/fs/binfmt_misc", entry))
	if err != nil {
		t.Fatalf("binfmt_misc has no %s entry (%v): run toolchains/binfmt.sh as root (make cross-test does)", entry, err)
	}
	s := string(data)
	if !strings.HasPrefix(s, "enabled") {
		t.Fatalf("binfmt_misc entry %s is disabled: run toolchains/binfmt.sh", entry)
	}
	if inChroot {
		for _, line := range strings.Split(s, "\n") {
			if f, ok := strings.CutPrefix(line, "flags: "); ok && !strings.Contains(f, "F") {
				t.Fatalf("binfmt_misc entry %s lacks flag F (%s): qemu cannot be found inside a chroot", entry, f)
			}
		}
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, mode); err != nil {
		t.Fatal(err)
	}
}

// path is the host path p as the binary sees it (inside the chroot).
func (r *runner) path(p string) string {
	if r.root == "" {
		return p
	}
	rel, err := filepath.Rel(r.root, p)
	if err != nil || strings.HasPrefix(rel, "..") {
		panic(fmt.Sprintf("crosstest: %s is outside the chroot %s", p, r.root))
	}
	return "/" + rel
}

// stateDir is the binary's state directory (STATE_DIRECTORY, as systemd
// sets it for a service with StateDirectory=), in its home: a binary
// running as root would otherwise keep its state in the machine's
// /var/lib/smbkrb.
func (r *runner) stateDir() string { return filepath.Join(r.home, ".local", "state", "smbkrb") }

// env is the binary's whole environment: nothing of the test process's
// (no KRB5*, no proxies), only what a device's service would set.
func (r *runner) env() []string {
	env := []string{
		"HOME=" + r.path(r.home),
		"STATE_DIRECTORY=" + r.path(r.stateDir()),
		"KRB5CCNAME=FILE:" + r.path(filepath.Join(r.home, "krb5cc")),
		"KRB5_CONFIG=" + r.path(filepath.Join(r.home, "empty-krb5.conf")),
		"TMPDIR=" + r.path(r.tmp),
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	}
	if r.sysroot != "" {
		env = append(env, "QEMU_LD_PREFIX="+r.sysroot)
	}
	return env
}

// command is the binary with args inside the namespace: ip netns exec,
// then chroot for a static binary.
func (r *runner) command(ctx context.Context, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	if r.root != "" {
		chroot, err := labtool.Find("chroot", "coreutils")
		if err != nil {
			panic(err)
		}
		cmd = r.ns.Command(ctx, chroot, append([]string{r.root, r.path(r.bin)}, args...)...)
	} else {
		cmd = r.ns.Command(ctx, r.bin, args...)
		cmd.Dir = r.home
	}
	cmd.Env = r.env()
	return cmd
}

// result is what a run gave.
type result struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

func (res result) String() string {
	return fmt.Sprintf("exit %d after %v\nstdout:\n%s\nstderr:\n%s", res.code, res.took.Round(time.Millisecond), res.stdout, res.stderr)
}

// run runs the binary with args and stdin (nil for none).
func (r *runner) run(t *testing.T, stdin io.Reader, args ...string) result {
	t.Helper()
	for _, a := range args {
		for _, s := range r.secrets {
			if strings.Contains(a, s) {
				t.Fatal("a secret is on the command line")
			}
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), commandTimeout)
	defer cancel()
	cmd := r.command(ctx, args...)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	var watched chan struct{}
	if r.watch != nil {
		pr, pw := io.Pipe()
		cmd.Stderr = pw
		watched = make(chan struct{})
		go func() {
			defer close(watched)
			sc := bufio.NewScanner(pr)
			for sc.Scan() {
				stderr.WriteString(sc.Text() + "\n")
				r.watch(sc.Text())
			}
			io.Copy(io.Discard, pr)
		}()
	}
	begin := time.Now()
	err := cmd.Run()
	if watched != nil {
		// Run has copied all of stderr into the pipe: end it, and wait
		// until every line was seen.
		cmd.Stderr.(*io.PipeWriter).Close()
		<-watched
	}
	res := result{stdout: stdout.String(), stderr: stderr.String(), took: time.Since(begin)}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("smbkrb %s: no answer within %v: %v\n%s", strings.Join(args, " "), commandTimeout, ctx.Err(), res)
	case err == nil:
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	default:
		t.Fatalf("smbkrb %s: %v", strings.Join(args, " "), err)
	}
	for _, s := range r.secrets {
		if strings.Contains(res.stdout, s) || strings.Contains(res.stderr, s) {
			t.Fatalf("smbkrb %s printed a secret", strings.Join(args, " "))
		}
	}
	t.Logf("smbkrb %s: exit %d, %v%s", strings.Join(args, " "), res.code, res.took.Round(time.Millisecond), indent(res.stderr))
	return res
}

// ok runs the binary and fails the test unless it exits 0.
func (r *runner) ok(t *testing.T, stdin io.Reader, args ...string) result {
	t.Helper()
	res := r.run(t, stdin, args...)
	if res.code != 0 {
		t.Fatalf("smbkrb %s: %v", strings.Join(args, " "), res)
	}
	return res
}

// listRoot lists every file in the chroot, for the log: the proof that
// no shared library is there.
func (r *runner) listRoot(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(r.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == r.root {
			return nil
		}
		s := r.path(p)
		if d.IsDir() {
			s += "/"
		}
		files = append(files, s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return ""
	}
	return "\n\t" + strings.ReplaceAll(s, "\n", "\n\t")
}

// randomFile writes size random bytes to path and returns their sha256.
func randomFile(t *testing.T, path string, size int) string {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.Reader, int64(size)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// fileSum is the size and sha256 of a file.
func fileSum(t *testing.T, path string) (int64, string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		t.Fatal(err)
	}
	return n, hex.EncodeToString(h.Sum(nil))
}
