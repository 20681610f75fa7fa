package samba

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/labtool"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
)

// TestRestart stops and starts a DC under a held SMB session, and checks
// that the restarted DC serves with its options (an SMB3_00-only server
// here), has forgotten the old sessions, and that the lifecycle methods
// refuse what they should. The DC uses 127.0.0.62.
func TestRestart(t *testing.T) {
	labtest.Need(t)
	needLab(t)
	dc := startDC(t, Options{Addr: "127.0.0.62", Global: []string{"server max protocol = SMB3_00"}})
	const user = "erin"
	pw := labtool.Password()
	if err := dc.AddUser(user, pw); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, dc)
	c.kinit(t, user+"@"+dc.Realm, pw)
	h := holdSession(t, dc, c, user, ShareSigned)
	if h.status.Dialect != "SMB3_00" || h.status.Signing != "AES-128-CMAC" {
		t.Errorf("before the restart: dialect %q signing %q, want SMB3_00 and AES-128-CMAC", h.status.Dialect, h.status.Signing)
	}
	// A raw TCP connection to 445 breaks at the stop.
	conn, err := net.Dial("tcp", dc.Addr+":445")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	const down = 500 * time.Millisecond
	begin := time.Now()
	if err := dc.Restart(down); err != nil {
		t.Fatal(err)
	}
	took := time.Since(begin)
	t.Logf("Restart(%v): %v", down, took)
	if took < down {
		t.Errorf("Restart(%v) returned after %v", down, took)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("a connection from before the restart still reads: %v", err)
	}

	list, err := dc.Sessions()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		if s.ID == h.status.ID {
			t.Errorf("session %d survived the restart", s.ID)
		}
	}
	h.close()
	h2 := holdSession(t, dc, c, user, ShareSigned)
	if h2.status.Dialect != "SMB3_00" {
		t.Errorf("after the restart: dialect %q, want SMB3_00 (the options were lost)", h2.status.Dialect)
	}
	h2.close()

	// Stop, then a stopped DC: nothing listens, no namespace, no
	// process of the DC is left (smbd's children included).
	if err := dc.Stop(); err != nil {
		t.Fatal(err)
	}
	if ps := processesOf(dc); len(ps) > 0 {
		t.Errorf("processes left after Stop: %v", ps)
	}
	if err := dc.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if c, err := net.DialTimeout("tcp", dc.Addr+":445", time.Second); err == nil {
		c.Close()
		t.Error("port 445 accepts while the DC is stopped")
	}
	if _, err := dc.Sessions(); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Errorf("Sessions on a stopped DC: %v", err)
	}
	if err := dc.StartAgain(); err != nil {
		t.Fatal(err)
	}
	if err := dc.StartAgain(); err == nil {
		t.Error("StartAgain on a running DC succeeded")
	}
	if out, err := c.run(t, "", "smbclient", c.smbclient(dc, ShareSigned,
		"--use-kerberos=required", "--use-krb5-ccache="+c.ccache, "-c", "ls")...); err != nil {
		t.Errorf("smbclient after StartAgain: %v: %s", err, out)
	}

	if err := dc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := dc.Stop(); !errors.Is(err, errClosed) {
		t.Errorf("Stop after Close: %v", err)
	}
	if err := dc.StartAgain(); !errors.Is(err, errClosed) {
		t.Errorf("StartAgain after Close: %v", err)
	}
	if err := dc.Restart(0); !errors.Is(err, errClosed) {
		t.Errorf("Restart after Close: %v", err)
	}
}

// processesOf lists the running processes whose command line names the
// DC's directory (samba, smbd and its children, winbindd).
func processesOf(dc *DC) []string {
	var ps []string
	dirs, _ := os.ReadDir("/proc")
	for _, e := range dirs {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(b, []byte(dc.Dir)) {
			continue
		}
		ps = append(ps, e.Name()+": "+strings.ReplaceAll(string(bytes.TrimRight(b, "\x00")), "\x00", " "))
	}
	return ps
}

// TestRestartDuringTransfer restarts a DC while smbclient uploads 128 MiB
// (the lead's scenario): the stop is quick despite the transfer, the
// transfer fails, and the DC serves again. The DC uses 127.0.0.62.
func TestRestartDuringTransfer(t *testing.T) {
	labtest.Need(t)
	needLab(t)
	dc := startDC(t, Options{Addr: "127.0.0.62"})
	const user = "frank"
	pw := labtool.Password()
	if err := dc.AddUser(user, pw); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, dc)
	c.kinit(t, user+"@"+dc.Realm, pw)
	f, err := os.Create(filepath.Join(c.dir, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(128 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Encrypted, so that the transfer is slow enough to be cut.
	cmd := exec.CommandContext(ctx, "smbclient", c.smbclient(dc, ShareEncrypted,
		"--use-kerberos=required", "--use-krb5-ccache="+c.ccache, "-c", "put big.bin big.bin")...)
	cmd.Env, cmd.Dir = c.env(), c.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// Wait until the file grows on the share.
	target := filepath.Join(dc.ShareDir(ShareEncrypted), "big.bin")
	for {
		if fi, err := os.Stat(target); err == nil && fi.Size() > 0 {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("smbclient ended before the restart: %v: %s", err, out.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	begin := time.Now()
	if err := dc.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Stop during a transfer: %v", time.Since(begin))
	if err := <-exited; err == nil {
		t.Logf("smbclient finished before the stop: %s", out.String())
	} else {
		t.Logf("smbclient: %v: %s", err, strings.TrimSpace(out.String()))
	}
	begin = time.Now()
	if err := dc.StartAgain(); err != nil {
		t.Fatal(err)
	}
	t.Logf("StartAgain: %v", time.Since(begin))
	if out, err := c.run(t, "", "smbclient", c.smbclient(dc, ShareEncrypted,
		"--use-kerberos=required", "--use-krb5-ccache="+c.ccache, "-c", "ls")...); err != nil {
		t.Errorf("smbclient after the restart: %v: %s", err, out)
	}
}
