package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/labtool"
	"github.com/smbkrb/smbkrb/internal/lab/netns"
)

// lockedBuffer is an io.Writer several goroutines may write.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// mountEntra serves the storage account's encrypted share at ~/azfiles
// through the saved Entra sign-in (from the namespace with port 88
// rejected), tars a folder of telemetry into it with the system's tar,
// checks every file on the server's disk, and unmounts with SIGTERM.
func (d *demo) mountEntra(ctx context.Context, act string, ns *netns.NS, cfg []string) (files int, err error) {
	note("the same share as a local file system: smbkrb mount (FUSE, no cifs module, no system Kerberos), then an ordinary tar into it")
	mp := filepath.Join(d.lab.home, "azfiles")
	if err := os.MkdirAll(mp, 0o755); err != nil {
		return 0, fail(act+": mount point", "%v", err)
	}
	args := append(append([]string{"mount"}, cfg...), "//"+entraAccount+"/encrypted", mp)
	fmt.Printf("$ %s &\n", d.sh.show("nsenter --net=/run/netns/"+ns.Name+" smbkrb "+strings.Join(args, " ")))
	x := ns.CommandNetOnly(context.WithoutCancel(ctx), d.sh.bin, args...)
	x.Env, x.Dir = d.sh.env, d.sh.home
	var log lockedBuffer
	x.Stdout, x.Stderr = &log, &log
	if err := x.Start(); err != nil {
		return 0, fail(act+": mount", "cannot run smbkrb: %v", err)
	}
	done := make(chan struct{})
	go func() { x.Wait(); close(done) }()
	stop := func() error {
		x.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			x.Process.Kill()
			<-done
			return fail(act+": unmount", "smbkrb mount did not end within 20 s of SIGTERM:\n%s", log.String())
		}
		return nil
	}
	defer func() {
		select {
		case <-done:
		default:
			stop()
			exec.Command("fusermount3", "-u", "-z", mp).Run()
		}
	}()
	for deadline := time.Now().Add(time.Minute); !labtool.SmbkrbMounted(mp); {
		select {
		case <-done:
			return 0, fail(act+": mount", "smbkrb mount ended before mounting:\n%s", log.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return 0, fail(act+": mount", "not mounted after a minute:\n%s", log.String())
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		d.sh.printLine(line)
	}

	// A device's folder of telemetry: 40 small files and one of 2 MiB.
	var names []string
	for i := range 40 {
		names = append(names, fmt.Sprintf("day%d/sensor-%02d.csv", i%4, i))
	}
	names = append(names, "raw/capture.bin")
	for i, rel := range names {
		size := 200 + i*37
		if rel == "raw/capture.bin" {
			size = 2 << 20
		}
		p := filepath.Join("telemetry", rel)
		os.MkdirAll(filepath.Join(d.lab.home, filepath.Dir(p)), 0o755)
		if err := d.makeFile(p, size); err != nil {
			return 0, fail(act+": make the folder", "%v", err)
		}
	}
	script := "mkdir -p azfiles/telemetry && tar -C telemetry -cf - . | tar -C azfiles/telemetry -xf - && find azfiles/telemetry -type f | wc -l"
	fmt.Printf("$ %s\n", script)
	sh := exec.CommandContext(ctx, "sh", "-c", script)
	sh.Dir = d.lab.home
	out, err := sh.CombinedOutput()
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		d.sh.printLine(line)
	}
	if err != nil {
		return 0, fail(act+": tar into the mount", "%v: %s", err, out)
	}
	disk := filepath.Join(d.lab.entra.ShareDir("encrypted"), "telemetry")
	for _, rel := range names {
		b, _ := os.ReadFile(filepath.Join(d.lab.home, "telemetry", rel))
		got, err := os.ReadFile(filepath.Join(disk, rel))
		if err != nil || !bytes.Equal(got, b) {
			return 0, fail(act+": tar into the mount", "the server's %s differs (%v)", rel, err)
		}
	}
	fmt.Println("$ kill -TERM %1    # unmounts")
	if err := stop(); err != nil {
		return 0, err
	}
	if labtool.SmbkrbMounted(mp) {
		return 0, fail(act+": unmount", "still mounted after SIGTERM")
	}
	return len(names), nil
}
