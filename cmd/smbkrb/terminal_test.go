package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
	"github.com/smbkrb/smbkrb/internal/lab/samba"
)

// pty is a pseudo-terminal: the test holds the master, the child gets the
// slave as its stdin or stderr.
type pty struct {
	master, slave *os.File

	mu  sync.Mutex
	out bytes.Buffer
	eof chan struct{}
}

func openPTY(t *testing.T) *pty {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		t.Fatalf("unlock pty: %v", err)
	}
	fd, _, errno := unix.Syscall(unix.SYS_IOCTL, m.Fd(), unix.TIOCGPTPEER, uintptr(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
	if errno != 0 {
		m.Close()
		t.Fatalf("open pty slave: %v", errno)
	}
	p := &pty{master: m, slave: os.NewFile(fd, "pty-slave"), eof: make(chan struct{})}
	go func() {
		defer close(p.eof)
		buf := make([]byte, 4096)
		for {
			n, err := m.Read(buf)
			p.mu.Lock()
			p.out.Write(buf[:n])
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { p.slave.Close(); m.Close() })
	return p
}

// output is what the child wrote to the terminal so far.
func (p *pty) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// done closes the test's copy of the slave after the child exited and
// waits for the child's last output.
func (p *pty) done() string {
	p.slave.Close()
	select {
	case <-p.eof:
	case <-time.After(10 * time.Second):
	}
	return p.output()
}

// echoOff reports whether the terminal no longer echoes input.
func (p *pty) echoOff() bool {
	tio, err := unix.IoctlGetTermios(int(p.master.Fd()), unix.TCGETS)
	return err == nil && tio.Lflag&unix.ECHO == 0
}

// TestPasswordPrompt: in a terminal, kinit asks for the password without
// echoing it.
func TestPasswordPrompt(t *testing.T) {
	labtest.Need(t)
	c := newClient(t)
	p := openPTY(t)
	cmd := exec.Command(lab.bin, "kinit", "--config", lab.config, lab.user)
	cmd.Env = c.env()
	cmd.Stdin, cmd.Stderr = p.slave, p.slave
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the prompt", func() bool { return strings.Contains(p.output(), "Password for "+lab.user+": ") })
	// Type only once echo is off, as a person would after the prompt.
	waitFor(t, "echo to be turned off", p.echoOff)
	if _, err := io.WriteString(p.master, lab.pw+"\n"); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	out := p.done()
	t.Logf("terminal: %q", out)
	if err != nil {
		t.Fatalf("kinit at a prompt: %v: %s", err, out)
	}
	if strings.Contains(out, lab.pw) || strings.Contains(stdout.String(), lab.pw) {
		t.Fatal("the password was echoed")
	}
	var kl klistJSON
	if err := json.Unmarshal([]byte(c.ok(t, nil, "klist", "--json").stdout), &kl); err != nil || kl.Principal != lab.user {
		t.Fatalf("klist after the prompt: %+v %v", kl, err)
	}
}

// TestProgressBar: get and put draw a progress bar when stderr is a
// terminal, and not with -q.
func TestProgressBar(t *testing.T) {
	labtest.Need(t)
	c := newClient(t)
	c.kinit(t)
	data := randomBytes(t, 6<<20)
	local := filepath.Join(c.dir, "bar.bin")
	if err := os.WriteFile(local, data, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		p := openPTY(t)
		cmd := exec.Command(lab.bin, args...)
		cmd.Env = c.env()
		cmd.Stderr = p.slave
		if err := cmd.Run(); err != nil {
			t.Fatalf("smbkrb %s: %v: %s", strings.Join(args, " "), err, p.done())
		}
		out := p.done()
		t.Logf("smbkrb %s: terminal %q", strings.Join(args, " "), out)
		return out
	}
	out := run("put", "--config", lab.config, "--chunk", "256KiB", local, remote(samba.ShareSigned, "bar.bin"))
	if !strings.Contains(out, "\r") || !strings.Contains(out, "6.0 MiB / 6.0 MiB  100%") || !strings.Contains(out, "/s") {
		t.Errorf("put: no progress bar on the terminal: %q", out)
	}
	out = run("get", "--config", lab.config, remote(samba.ShareSigned, "bar.bin"), filepath.Join(c.dir, "bar-back.bin"))
	if !strings.Contains(out, "6.0 MiB / 6.0 MiB  100%") {
		t.Errorf("get: no progress bar on the terminal: %q", out)
	}
	if got, err := os.ReadFile(filepath.Join(c.dir, "bar-back.bin")); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("get with a progress bar: %v", err)
	}
	if out := run("get", "-q", "--config", lab.config, remote(samba.ShareSigned, "bar.bin"), filepath.Join(c.dir, "quiet.bin")); out != "" {
		t.Errorf("get -q wrote to the terminal: %q", out)
	}
	c.ok(t, nil, "rm", "--config", lab.config, remote(samba.ShareSigned, "bar.bin"))
}

// TestPromptInterrupted: Ctrl-C at the password prompt ends smbkrb with
// exit code 130 and the terminal's echo back on.
func TestPromptInterrupted(t *testing.T) {
	labtest.Need(t)
	c := newClient(t)
	p := openPTY(t)
	cmd := exec.Command(lab.bin, "kinit", "--config", lab.config, lab.user)
	cmd.Env = c.env()
	cmd.Stdin, cmd.Stderr = p.slave, p.slave
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the prompt", func() bool { return strings.Contains(p.output(), "Password for ") })
	waitFor(t, "echo to be turned off", p.echoOff)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	code := exitCodeOf(t, cmd.Wait())
	out := p.done()
	t.Logf("terminal: %q", out)
	if code != exitInterrupted || !strings.Contains(out, "interrupted") {
		t.Errorf("exit %d, want %d", code, exitInterrupted)
	}
	if p.echoOff() {
		t.Error("the terminal's echo is still off")
	}
}
