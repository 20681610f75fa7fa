package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/samba"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
)

// waitFor polls cond until it holds, failing the test after a while.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// partFile returns the size of the temporary file of get or put in dir, or
// -1 if there is none.
func partFile(dir string) int64 {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".smbkrb-") && strings.HasSuffix(e.Name(), ".part") {
			if fi, err := e.Info(); err == nil {
				return fi.Size()
			}
		}
	}
	return -1
}

func exitCodeOf(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	if err == nil {
		return 0
	}
	if !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return ee.ExitCode()
}

// TestInterruptedGet: Ctrl-C in the middle of a download exits 130 and
// leaves no file, partial or temporary, where the copy was to go.
func TestInterruptedGet(t *testing.T) {
	labtest.Need(t)
	c := newClient(t)
	c.kinit(t)
	// A sparse 1 GiB file, fetched in small sequential requests: slow
	// enough to be interrupted.
	big := filepath.Join(lab.dc.ShareDir(samba.ShareSigned), "interrupted-get.bin")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(big)
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out := filepath.Join(c.dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(lab.bin, "get", "--config", lab.config, "--parallel", "1", "--chunk", "16KiB",
		remote(samba.ShareSigned, "interrupted-get.bin"), filepath.Join(out, "copy.bin"))
	cmd.Env = c.env()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the download to start", func() bool { return partFile(out) > 1<<20 })
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	code := exitCodeOf(t, cmd.Wait())
	t.Logf("exit %d: %s", code, stderr.String())
	if code != exitInterrupted || !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("exit %d, stderr %q; want %d and a word about the interruption", code, stderr.String(), exitInterrupted)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("an interrupted get left %v", entries)
	}
}

// TestInterruptedPut: SIGTERM while put waits for more data on stdin exits
// 130, and the server is left with neither the target nor a temporary
// file (the temporary file is removed before smbkrb exits).
func TestInterruptedPut(t *testing.T) {
	labtest.Need(t)
	c := newClient(t)
	c.kinit(t)
	disk := lab.dc.ShareDir(samba.ShareSigned)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	cmd := exec.Command(lab.bin, "put", "--config", lab.config, "-", remote(samba.ShareSigned, "interrupted-put.bin"))
	cmd.Env = c.env()
	cmd.Stdin = pr
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pr.Close()
	// Nine MiB (two 4 MiB requests and some), then nothing: put has
	// written some and waits for more.
	go pw.Write(randomBytes(t, 9<<20))
	waitFor(t, "the upload to start", func() bool { return partFile(disk) >= 1<<20 })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code := exitCodeOf(t, cmd.Wait())
	t.Logf("exit %d: %s", code, stderr.String())
	if code != exitInterrupted {
		t.Errorf("exit %d, want %d", code, exitInterrupted)
	}
	if n := partFile(disk); n >= 0 {
		t.Errorf("a temporary file of %d bytes is left on the server", n)
	}
	if _, err := os.Stat(filepath.Join(disk, "interrupted-put.bin")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the target exists after an interrupted put: %v", err)
	}
}
