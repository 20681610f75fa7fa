package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/entra"
	"github.com/smbkrb/smbkrb/internal/lab/kdcproxy"
	"github.com/smbkrb/smbkrb/internal/lab/labtest"
	"github.com/smbkrb/smbkrb/internal/lab/labtool"
	"github.com/smbkrb/smbkrb/internal/lab/samba"
)

// mounted is a running `smbkrb mount`.
type mounted struct {
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
	code int

	mu     sync.Mutex
	stderr bytes.Buffer
}

func (m *mounted) log() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stderr.String()
}

// mount starts `smbkrb mount ARGS... MOUNTPOINT` (made in the test's
// directory) through wrap (nil: directly) and waits until it serves the
// mount point. The test's cleanup ends it.
func (c *client) mount(t *testing.T, wrap func(ctx context.Context, args ...string) *exec.Cmd, stdin io.Reader, args ...string) *mounted {
	t.Helper()
	mp, err := os.MkdirTemp(c.dir, "mnt-")
	if err != nil {
		t.Fatal(err)
	}
	args = append(append([]string{"mount"}, args...), mp)
	var cmd *exec.Cmd
	if wrap != nil {
		cmd = wrap(context.Background(), append([]string{lab.bin}, args...)...)
	} else {
		cmd = exec.Command(lab.bin, args...)
	}
	cmd.Env = c.env()
	cmd.Dir = c.dir
	cmd.Stdin = stdin
	m := &mounted{dir: mp, cmd: cmd, done: make(chan struct{})}
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			m.mu.Lock()
			m.stderr.WriteString(sc.Text() + "\n")
			m.mu.Unlock()
		}
		io.Copy(io.Discard, pr)
	}()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := cmd.Wait()
		pw.Close()
		m.code = cmd.ProcessState.ExitCode()
		_ = err
		close(m.done)
	}()
	t.Cleanup(func() {
		m.stop(t)
		if labtool.SmbkrbMounted(mp) {
			exec.Command("fusermount3", "-u", "-z", mp).Run()
		}
		if strings.Contains(m.log(), "DATA RACE") {
			t.Errorf("smbkrb mount: the race detector found a race:\n%s", m.log())
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for !labtool.SmbkrbMounted(mp) {
		select {
		case <-m.done:
			t.Fatalf("smbkrb %s: exit %d before mounting:\n%s", strings.Join(args, " "), m.code, m.log())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("smbkrb %s: not mounted after 90 s:\n%s", strings.Join(args, " "), m.log())
		}
	}
	t.Logf("smbkrb %s: mounted", strings.Join(args, " "))
	return m
}

// stop sends SIGTERM and waits for the exit; after 12 s it fails the
// test with the command's goroutines (SIGQUIT).
func (m *mounted) stop(t *testing.T) int {
	t.Helper()
	select {
	case <-m.done:
		return m.code
	default:
	}
	m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(12 * time.Second):
		// Before the command's own 15 s limit: its goroutines, for
		// whoever reads the failure.
		m.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-m.done:
		case <-time.After(10 * time.Second):
			m.cmd.Process.Kill()
			<-m.done
		}
		t.Errorf("smbkrb mount did not end within 12 s of SIGTERM:\n%s", m.log())
	}
	return m.code
}

// sh runs a shell command line in dir, failing the test unless it
// exits 0; it returns the output.
func sh(t *testing.T, dir, script string) string {
	t.Helper()
	out, err := shell(dir, script)
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	return out
}

func shell(dir, script string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", script)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return string(out), fmt.Errorf("%s: still running after 2 minutes (hung)", script)
	}
	return string(out), err
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestMount: a mount of the signed share with the cache's tickets, and
// ordinary tools on it, each result checked on the server's disk: cp,
// cat, sha256sum, mkdir -p, mv, rm, find, ls -l, append, truncate, touch
// -d, df, and a tree through tar in and out with its modification times;
// a file another client writes is seen; the read-only share refuses
// writes with EACCES and a --read-only mount with EROFS; a full disk on
// the server and a directory the user may not write fail the program's
// write promptly, and the old content stays; SIGTERM with files open
// unmounts, uploading what was written; fusermount3 -u ends a mount.
func TestMount(t *testing.T) {
	labtest.Need(t)
	c := newClient(t)
	c.kinit(t)
	share := samba.ShareSigned
	disk := filepath.Join(lab.dc.ShareDir(share), "mnt")
	os.RemoveAll(disk)
	if err := os.MkdirAll(disk, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(disk, 0o777) // beyond the umask: the lab user writes here
	m := c.mount(t, nil, nil, "--config", lab.config, remote(share, "mnt"))
	mp := m.dir
	onServer := func(rel string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(disk, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatalf("the server's %s: %v", rel, err)
		}
		return b
	}

	// cp in, cat and sha256sum back, byte-exact.
	big := randomBytes(t, 9<<20+12345)
	src := filepath.Join(c.dir, "big.bin")
	os.WriteFile(src, big, 0o644)
	sh(t, mp, "cp "+src+" big.bin")
	if !bytes.Equal(onServer("big.bin"), big) {
		t.Fatal("cp: the server's copy differs")
	}
	if out := sh(t, mp, "cat big.bin | sha256sum"); !strings.HasPrefix(out, sha256hex(big)) {
		t.Fatalf("cat | sha256sum: %s, want %s", out, sha256hex(big))
	}
	if out := sh(t, mp, "sha256sum big.bin"); !strings.HasPrefix(out, sha256hex(big)) {
		t.Fatalf("sha256sum: %s", out)
	}
	if out := sh(t, mp, "stat -c '%s %U %a' big.bin"); strings.TrimSpace(out) != fmt.Sprintf("%d root 644", len(big)) {
		t.Errorf("stat: %q", out)
	}

	// mkdir -p, mv, rm, find, ls -l.
	sh(t, mp, "mkdir -p a/b/c && mv big.bin a/b/c/moved.bin && echo hello > a/b/hello.txt")
	if !bytes.Equal(onServer("a/b/c/moved.bin"), big) || string(onServer("a/b/hello.txt")) != "hello\n" {
		t.Fatal("mv or echo: the server differs")
	}
	if _, err := os.Stat(filepath.Join(disk, "big.bin")); !os.IsNotExist(err) {
		t.Fatal("mv left the old name on the server")
	}
	if out := sh(t, mp, "find . | sort"); out != ".\n./a\n./a/b\n./a/b/c\n./a/b/c/moved.bin\n./a/b/hello.txt\n" {
		t.Fatalf("find: %q", out)
	}
	if out := sh(t, mp, "ls -l a/b"); !strings.Contains(out, " 6 ") || !strings.Contains(out, "hello.txt") || !strings.Contains(out, "drwxr-xr-x") {
		t.Errorf("ls -l: %s", out)
	}
	// Append (open without O_TRUNC), truncate, touch -d.
	sh(t, mp, "echo world >> a/b/hello.txt")
	if got := string(onServer("a/b/hello.txt")); got != "hello\nworld\n" {
		t.Fatalf("append: the server has %q", got)
	}
	sh(t, mp, "truncate -s 3 a/b/hello.txt")
	if got := string(onServer("a/b/hello.txt")); got != "hel" {
		t.Fatalf("truncate: the server has %q", got)
	}
	sh(t, mp, "touch -d '2021-03-04 05:06:07 UTC' a/b/hello.txt")
	if st, err := os.Stat(filepath.Join(disk, "a/b/hello.txt")); err != nil || st.ModTime().UTC().Format(time.DateTime) != "2021-03-04 05:06:07" {
		t.Fatalf("touch -d: the server's time is %v (%v)", st.ModTime().UTC(), err)
	}
	sh(t, mp, "rm a/b/c/moved.bin && rmdir a/b/c")
	if _, err := os.Stat(filepath.Join(disk, "a/b/c")); !os.IsNotExist(err) {
		t.Fatal("rm/rmdir: still on the server")
	}
	if out, err := shell(mp, "rmdir a"); err == nil || !strings.Contains(out, "not empty") {
		t.Errorf("rmdir of a full directory: %v %s", err, out)
	}
	if out := sh(t, mp, "df -P ."); !strings.Contains(out, "//dc1.lab.test/"+share+"/mnt") {
		t.Errorf("df: %s", out)
	}

	// A tree in and out through tar, with the modification times.
	tree := filepath.Join(c.dir, "tree")
	files := map[string][]byte{}
	for i := range 120 {
		rel := fmt.Sprintf("d%d/f%03d.txt", i%5, i)
		files[rel] = randomBytes(t, 50+i*91)
	}
	files["d0/large.bin"] = randomBytes(t, 3<<20+7)
	for rel, b := range files {
		p := filepath.Join(tree, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, b, 0o644)
		os.Chtimes(p, time.Time{}, time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC))
	}
	sh(t, mp, "mkdir t && tar -C "+tree+" -cf - . | tar -C t -xf -")
	for rel, b := range files {
		if !bytes.Equal(onServer("t/"+rel), b) {
			t.Fatalf("tar in: %s differs on the server", rel)
		}
		st, _ := os.Stat(filepath.Join(disk, "t", rel))
		if st.ModTime().Unix() != time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC).Unix() {
			t.Fatalf("tar in: %s has the time %v on the server", rel, st.ModTime())
		}
	}
	back := filepath.Join(c.dir, "back")
	os.MkdirAll(back, 0o755)
	sh(t, mp, "tar -C t -cf - . | tar -C "+back+" -xf -")
	if out := sh(t, c.dir, "diff -r tree back && echo same"); out != "same\n" {
		t.Fatalf("tar out: %s", out)
	}

	// Another client's write is seen (after the attribute lifetime).
	c.ok(t, strings.NewReader("from elsewhere"), "put", "--config", lab.config, "-", remote(share, "mnt/other.txt"))
	time.Sleep(1100 * time.Millisecond)
	if out := sh(t, mp, "cat other.txt"); out != "from elsewhere" {
		t.Errorf("another client's file reads %q", out)
	}

	// A directory the user may not write: EACCES at once, nothing made.
	os.MkdirAll(filepath.Join(disk, "locked"), 0o755)
	os.WriteFile(filepath.Join(disk, "locked", "keep.txt"), []byte("old"), 0o644)
	if out, err := shell(mp, "cp "+src+" locked/new.bin"); err == nil || !strings.Contains(out, "Permission denied") {
		t.Errorf("cp into a directory the user may not write: %v %s", err, out)
	}
	if out, err := shell(mp, "echo new > locked/keep.txt"); err == nil || !strings.Contains(out, "Permission denied") {
		t.Errorf("overwriting a file the user may not write: %v %s", err, out)
	}
	if got := string(onServer("locked/keep.txt")); got != "old" {
		t.Errorf("the refused write changed the file: %q", got)
	}

	// A full disk on the server: the write fails (ENOSPC) at close, the
	// program is told, and the file keeps its old content.
	// (The tmpfs is mounted in the DC's own mount namespace, where samba
	// sees it.)
	full := filepath.Join(disk, "full")
	os.MkdirAll(full, 0o777)
	inDC := func(script string) string {
		t.Helper()
		out, err := lab.dc.InNamespace("sh", "-c", script)
		if err != nil {
			t.Fatalf("in the DC's namespace: %s: %v", script, err)
		}
		return out
	}
	inDC(fmt.Sprintf("mount -t tmpfs -o size=2m,mode=0777 tmpfs %[1]s && printf 'old content' > %[1]s/f.bin && chmod 666 %[1]s/f.bin", full))
	t.Cleanup(func() { lab.dc.InNamespace("umount", "-l", full) })
	start := time.Now()
	out, err := shell(mp, "cp "+src+" full/f.bin")
	if err == nil || !(strings.Contains(out, "No space left") || strings.Contains(out, "Input/output error")) {
		t.Errorf("cp to a full share: %v %s\n%s", err, out, m.log())
	}
	t.Logf("cp to a full share failed after %v: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(out))
	if got := inDC("cat " + full + "/f.bin"); got != "old content" {
		t.Errorf("the failed upload changed the file: %q", got)
	}
	// The upload's cleanup removes its temporary file (at most a few
	// seconds late under the race detector).
	left := ""
	for range 50 {
		if left = inDC("ls -A " + full); left == "f.bin\n" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if left != "f.bin\n" {
		t.Errorf("the failed upload left files behind: %q", left)
	}

	// SIGTERM with a file open for reading and one written but not
	// closed: the mount ends (exit 0), the written data is on the server,
	// the holders' next reads fail rather than hang.
	holder := exec.Command("sh", "-c", "exec 3<other.txt 4>pending.txt; echo pending >&4; echo ready; sleep 20; cat <&3")
	holder.Dir = mp
	hout, _ := holder.StdoutPipe()
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	bufio.NewReader(hout).ReadString('\n')
	if code := m.stop(t); code != 0 {
		t.Errorf("SIGTERM with open files: exit %d\n%s", code, m.log())
	}
	if labtool.SmbkrbMounted(mp) {
		t.Error("still mounted after SIGTERM")
	}
	if got := string(onServer("pending.txt")); got != "pending\n" {
		t.Errorf("the open file's data on the server after the unmount: %q", got)
	}
	holder.Process.Kill()
	holder.Wait()
	if !strings.Contains(m.log(), "files are still open") {
		t.Errorf("the unmount does not say files were open:\n%s", m.log())
	}

	// The read-only share: EACCES. A --read-only mount: EROFS.
	ro := c.mount(t, nil, nil, "--config", lab.config, remote(samba.ShareReadOnly, ""))
	if out, err := shell(ro.dir, "echo x > new.txt"); err == nil || !strings.Contains(out, "Permission denied") {
		t.Errorf("writing on the read-only share: %v %s", err, out)
	}
	rom := c.mount(t, nil, nil, "--config", lab.config, "--read-only", remote(share, "mnt"))
	if out, err := shell(rom.dir, "touch x; mkdir y"); err == nil || strings.Count(out, "Read-only file system") != 2 {
		t.Errorf("changes on a --read-only mount: %v %s", err, out)
	}
	if out := sh(t, rom.dir, "cat a/b/hello.txt"); out != "hel" {
		t.Errorf("reading on a --read-only mount: %q", out)
	}
	// fusermount3 -u ends it cleanly.
	if out, err := exec.Command("fusermount3", "-u", rom.dir).CombinedOutput(); err != nil {
		t.Fatalf("fusermount3 -u: %v %s", err, out)
	}
	select {
	case <-rom.done:
		if rom.code != 0 {
			t.Errorf("after fusermount3 -u: exit %d\n%s", rom.code, rom.log())
		}
	case <-time.After(20 * time.Second):
		t.Error("fusermount3 -u did not end the mount")
	}
}

// checkMountIO copies a file in through the mount with cp and reads it
// back with sha256sum, and checks the server's disk (dir, the directory
// on disk behind the mounted one).
func checkMountIO(t *testing.T, c *client, mp, dir, name string, size int) {
	t.Helper()
	data := randomBytes(t, size)
	src := filepath.Join(c.dir, name)
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sh(t, mp, "cp "+src+" "+name)
	if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("%s: the server's copy differs (%v)", name, err)
	}
	if out := sh(t, mp, "sha256sum "+name); !strings.HasPrefix(out, sha256hex(data)) {
		t.Fatalf("sha256sum %s through the mount: %s, want %s", name, out, sha256hex(data))
	}
	if out := sh(t, mp, "ls"); !strings.Contains(out, name) {
		t.Fatalf("ls does not list %s: %s", name, out)
	}
}

// TestMountRealms: a mount with each credential path, every Kerberos
// message of the first two through an HTTPS KDC proxy from a namespace
// whose port 88 is rejected: a password login through smbkrb's KDC proxy
// (the Entra lab's Samba AD DC, as an AD DS domain), the saved Entra
// Kerberos sign-in through the emulator, and SMB OAuth with an
// application's certificate. The password mount asks for 5½-minute
// tickets and still reads and writes after they have ended: the session
// authenticated again under the mount.
func TestMountRealms(t *testing.T) {
	labtest.Need(t)
	t.Parallel() // minutes of waiting for the tickets to end
	startEntraLab(t)
	l := &entraLab
	inNS := func(ctx context.Context, args ...string) *exec.Cmd {
		return l.ns.CommandNetOnly(ctx, args[0], args[1:]...)
	}
	disk := l.dc.ShareDir(samba.ShareEncrypted)

	// AD DS through the KDC proxy, with a password.
	p, err := kdcproxy.Start(net.JoinHostPort(l.ns.HostAddr, "0"), map[string][]string{entra.KerberosRealm: {net.JoinHostPort(entraAddr, "88")}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := newClient(t)
	sam := strings.SplitN(l.alice.UPN, "@", 2)[0] + "@" + entra.KerberosRealm
	lifetime := 5*time.Minute + 30*time.Second
	started := time.Now()
	ad := c.mount(t, inNS, strings.NewReader(l.alice.Password+"\n"),
		"--kdc", entra.KerberosRealm+"="+p.URL, "--ca", p.CAFile, "--map", entraAccount+"="+entra.KerberosRealm,
		"--addr", entraAccount+"="+l.ns.HostAddr, "-u", sam, "--password-stdin", "--lifetime", lifetime.String(),
		"//"+entraAccount+"/"+samba.ShareEncrypted)
	if p.Requests() < 2 {
		t.Errorf("%d requests through the KDC proxy, want an AS and a TGS exchange", p.Requests())
	}
	checkMountIO(t, c, ad.dir, disk, "mount-adds.bin", 5<<20+3)

	// Entra Kerberos: the saved sign-in.
	ce := newClient(t)
	conf := ce.entraConfig(t)
	if err := l.emu.SaveSignIn(t.Context(), filepath.Join(ce.dir, "device"), l.alice.UPN, l.alice.Password); err != nil {
		t.Fatal(err)
	}
	em := ce.mount(t, inNS, nil, "--config", conf, "//"+entraAccount+"/"+samba.ShareEncrypted)
	checkMountIO(t, ce, em.dir, disk, "mount-entra.bin", 3<<20+1)
	em.stop(t)

	// SMB OAuth: an application's certificate.
	startOAuthLab(t)
	ol := &oauthLab
	co := newClient(t)
	oconf := co.oauthConfig(t)
	cert := filepath.Join(co.dir, "app.pem")
	if err := os.WriteFile(cert, ol.appPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	om := co.mount(t, nil, nil, "--config", oconf, "--oauth-client-id", ol.app.ClientID, "--oauth-cert", cert, "//"+oauthAccount+"/"+samba.ShareEncrypted)
	checkMountIO(t, co, om.dir, ol.dc.ShareDir(samba.ShareEncrypted), "mount-oauth.bin", 2<<20+9)
	om.stop(t)

	// The password mount after its first tickets have ended.
	wait := time.Until(started.Add(lifetime + 30*time.Second))
	t.Logf("waiting %v for the mount's first tickets to end", wait.Round(time.Second))
	select {
	case <-time.After(wait):
	case <-t.Context().Done():
		t.Fatal(t.Context().Err())
	}
	checkMountIO(t, c, ad.dir, disk, "mount-renewed.bin", 1<<20+5)
	if out := sh(t, ad.dir, "cat mount-adds.bin | sha256sum"); !strings.HasPrefix(out, sha256hex(mustRead(t, filepath.Join(disk, "mount-adds.bin")))) {
		t.Errorf("reading after the renewal: %s", out)
	}
	if code := ad.stop(t); code != 0 {
		t.Errorf("the renewed mount's exit: %d\n%s", code, ad.log())
	}
	if strings.Contains(ad.log(), "failed") {
		t.Errorf("the renewed mount logged a failure:\n%s", ad.log())
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
