package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/labtool"
)

// smbclientShell is one smbclient process holding a session open and
// taking commands on its stdin, so that transfers can be timed without
// its start and session setup. Its output is line-buffered (stdbuf), so
// each command's result line arrives when the command ends.
type smbclientShell struct {
	b     *testing.B
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
}

// startSmbclientShell starts smbclient on share with the cache ccache and
// waits for its session; b's cleanup ends it.
func startSmbclientShell(b *testing.B, share, ccache string) *smbclientShell {
	b.Helper()
	stdbuf, err := labtool.Find("stdbuf", "coreutils")
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(stdbuf, append([]string{"-oL", "-eL", lab.smbclient}, smbclientArgs(share, ccache)...)...)
	cmd.Env = lab.peer.Env("FILE:" + ccache)
	cmd.Dir = lab.dir
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	pw.Close()
	s := &smbclientShell{b: b, cmd: cmd, stdin: stdin, lines: make(chan string, 64)}
	go func() {
		defer close(s.lines)
		defer pr.Close()
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
	}()
	b.Cleanup(func() {
		stdin.Close() // smbclient logs off and exits at the end of its input
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		for range s.lines {
		}
	})
	s.expect("", `Try "help"`, time.Minute) // printed once the session is up
	return s
}

// do runs one command and returns the output line that contains want,
// the sign that the command finished. An NT_STATUS in the output fails b.
func (s *smbclientShell) do(command, want string) string {
	s.b.Helper()
	if _, err := fmt.Fprintln(s.stdin, command); err != nil {
		s.b.Fatalf("smbclient %q: %v", command, err)
	}
	return s.expect(command, want, 30*time.Minute)
}

func (s *smbclientShell) expect(command, want string, timeout time.Duration) string {
	s.b.Helper()
	var seen []string
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case l, ok := <-s.lines:
			if !ok {
				s.b.Fatalf("smbclient exited during %q: %s", command, strings.Join(seen, "\n"))
			}
			seen = append(seen, l)
			if strings.Contains(l, "NT_STATUS_") {
				s.b.Fatalf("smbclient %q: %s", command, strings.Join(seen, "\n"))
			}
			if strings.Contains(l, want) {
				return l
			}
		case <-timer.C:
			s.b.Fatalf("smbclient %q: no %q within %v: %s", command, want, timeout, strings.Join(seen, "\n"))
		}
	}
}

// cpu is the CPU time (user+system) the smbclient process has used so far.
func (s *smbclientShell) cpu() time.Duration {
	s.b.Helper()
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(s.cmd.Process.Pid), "stat"))
	if err != nil {
		s.b.Fatal(err)
	}
	f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
	utime, _ := strconv.ParseInt(f[14-3], 10, 64)
	stime, _ := strconv.ParseInt(f[15-3], 10, 64)
	return time.Duration(utime+stime) * clockTick
}
