package bench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
	"github.com/smbkrb/smbkrb/internal/lab/labtool"
	"github.com/smbkrb/smbkrb/internal/lab/samba"
)

// BenchmarkMount is sequential I/O through `smbkrb mount` beside the
// smbkrb command's own get and put of the same file in the same run:
// "read" is `cat MOUNT/get.bin > /dev/null` against `smbkrb get
// //server/share/get.bin -`, "write" is `cp FILE MOUNT/put-mount.bin` (the
// close waits for the upload) against `smbkrb put FILE ...`. The mount
// is started outside the timer, as a device keeps its mount; each run of
// the command logs in anew from the TGT, which its figure includes (a
// few milliseconds). The kernel's page cache is dropped before each read.
func BenchmarkMount(b *testing.B) {
	labtest.Need(b)
	size, data, local := files(b)
	bin, config := cli(b)
	for _, share := range []string{samba.ShareSigned, samba.ShareEncrypted} {
		mp := startMount(b, bin, config, share)
		remote := "//" + lab.dc.FQDN + "/" + share + "/"
		run := func(name string, put bool, fn func()) {
			b.Run(name, func(b *testing.B) {
				if put {
					warmUp(fn)
				}
				b.SetBytes(size)
				cpu := startCPU(b)
				n := 0
				for b.Loop() {
					fn()
					n++
				}
				_, server := cpu.since(b)
				reportTransfer(b, n, size, 0, server)
			})
		}
		run("read/"+share+"/mount", false, func() {
			dropCaches()
			shellB(b, "cat "+filepath.Join(mp, getName)+" > /dev/null")
		})
		run("read/"+share+"/cli", false, func() { runCLI(b, "get", remote+getName, "-") })
		run("write/"+share+"/mount", true, func() {
			shellB(b, "cp "+local+" "+filepath.Join(mp, "put-mount.bin"))
		})
		checkServerCopy(b, share, "put-mount.bin", data)
		run("write/"+share+"/cli", true, func() { runCLI(b, "put", local, remote+"put-cli.bin") })
	}
}

// dropCaches empties the page cache, so that a read through the mount
// reaches the server (the mount does not keep pages across opens, but
// the file on tmpfs or disk behind the server would be cached anyway).
func dropCaches() { os.WriteFile("/proc/sys/vm/drop_caches", []byte("1"), 0) }

func shellB(b *testing.B, script string) {
	b.Helper()
	out, err := exec.Command("sh", "-c", script).CombinedOutput()
	if err != nil {
		b.Fatalf("%s: %v: %s", script, err, out)
	}
}

// startMount mounts share with the user's TGT until the benchmark ends.
func startMount(b *testing.B, bin, config, share string) string {
	b.Helper()
	mp, err := os.MkdirTemp(lab.dir, "mnt-")
	if err != nil {
		b.Fatal(err)
	}
	ccache := filepath.Join(b.TempDir(), "ccache")
	copyFile(b, lab.tgtCache, ccache)
	cmd := exec.Command(bin, "mount", "--config", config, "--cache", "FILE:"+ccache, "//"+lab.dc.FQDN+"/"+share, mp)
	cmd.Env = append(os.Environ(), "KRB5_CONFIG="+os.DevNull)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	b.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
		}
	})
	ctx, cancel := context.WithTimeout(b.Context(), time.Minute)
	defer cancel()
	for {
		if labtool.SmbkrbMounted(mp) {
			return mp
		}
		select {
		case err := <-done:
			b.Fatalf("smbkrb mount: %v: %s", err, stderr.String())
		case <-ctx.Done():
			b.Fatalf("smbkrb mount: not mounted after a minute: %s", stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
