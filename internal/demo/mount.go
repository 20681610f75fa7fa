package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

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
	for deadline := time.Now().Add(time.Minute); !isMounted(mp); {
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
		fmt.Println("  " + d.sh.show(line))
	}

	// A device's folder of telemetry: 40 small files and one of 2 MiB.
	src := filepath.Join(d.lab.home, "telemetry")
	want := map[string][]byte{}
	rng := rand.New(rand.NewPCG(7, 11))
	for i := range 40 {
		want[fmt.Sprintf("day%d/sensor-%02d.csv", i%4, i)] = randomText(rng, 200+i*37)
	}
	want["raw/capture.bin"] = randomText(rng, 2<<20)
	for rel, b := range want {
		p := filepath.Join(src, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return 0, fail(act+": make the folder", "%v", err)
		}
	}
	script := "mkdir -p azfiles/telemetry && tar -C telemetry -cf - . | tar -C azfiles/telemetry -xf - && find azfiles/telemetry -type f | wc -l"
	fmt.Printf("$ %s\n", script)
	sh := exec.CommandContext(ctx, "sh", "-c", script)
	sh.Dir = d.lab.home
	out, err := sh.CombinedOutput()
	fmt.Print(indentLines(string(out)))
	if err != nil {
		return 0, fail(act+": tar into the mount", "%v: %s", err, out)
	}
	disk := filepath.Join(d.lab.entra.ShareDir("encrypted"), "telemetry")
	for rel, b := range want {
		got, err := os.ReadFile(filepath.Join(disk, rel))
		if err != nil || !bytes.Equal(got, b) {
			return 0, fail(act+": tar into the mount", "the server's %s differs (%v)", rel, err)
		}
	}
	fmt.Println("$ kill -TERM %1    # unmounts")
	if err := stop(); err != nil {
		return 0, err
	}
	if isMounted(mp) {
		return 0, fail(act+": unmount", "still mounted after SIGTERM")
	}
	return len(want), nil
}

// randomText is n bytes of printable random text.
func randomText(rng *rand.Rand, n int) []byte {
	const chars = "abcdefghijklmnopqrstuvwxyz0123456789,.;\n"
	b := make([]byte, n)
	for i := range b {
		b[i] = chars[rng.IntN(len(chars))]
	}
	return b
}

func indentLines(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if l != "" {
			b.WriteString("  " + l + "\n")
		}
	}
	return b.String()
}

// isMounted reports whether dir is the mount point of an smbkrb FUSE
// file system here.
func isMounted(dir string) bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && f[4] == dir && strings.Contains(line, " - fuse.smbkrb ") {
			return true
		}
	}
	return false
}
