package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/samba"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
)

// cliBin is the smbkrb command, built once per run, and its configuration
// file for the lab.
var cliBin struct {
	once         sync.Once
	path, config string
	err          error
}

// cli builds cmd/smbkrb into a temporary directory and writes a
// configuration naming the lab's DC.
func cli(b *testing.B) (bin, config string) {
	b.Helper()
	c := &cliBin
	c.once.Do(func() {
		dir, err := os.MkdirTemp(lab.dir, "cli-")
		if err != nil {
			c.err = err
			return
		}
		c.path = filepath.Join(dir, "smbkrb")
		out, err := exec.Command("go", "build", "-o", c.path, "github.com/smbkrb/smbkrb/cmd/smbkrb").CombinedOutput()
		if err != nil {
			c.err = fmt.Errorf("go build ./cmd/smbkrb: %v: %s", err, out)
			return
		}
		c.config = filepath.Join(dir, "config")
		conf := fmt.Sprintf("realm %[1]s\nkdc %[1]s=%[2]s:88\nmap .%[3]s=%[1]s\naddr %[4]s=%[2]s\n",
			lab.dc.Realm, lab.dc.Addr, strings.ToLower(lab.dc.Realm), lab.dc.FQDN)
		c.err = os.WriteFile(c.config, []byte(conf), 0o600)
	})
	if c.err != nil {
		b.Fatal(c.err)
	}
	return c.path, c.config
}

// runCLI runs the smbkrb command once with the user's TGT cache (a fresh
// copy, so every run gets its service ticket as a new process would) and
// its standard output to /dev/null.
func runCLI(b *testing.B, args ...string) proc {
	b.Helper()
	bin, config := cli(b)
	ccache := filepath.Join(b.TempDir(), "ccache")
	copyFile(b, lab.tgtCache, ccache)
	ctx, cancel := context.WithTimeout(b.Context(), 30*time.Minute)
	defer cancel()
	args = append([]string{args[0], "--config", config, "--cache", "FILE:" + ccache}, args[1:]...)
	cmd := exec.CommandContext(ctx, bin, args...)
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devNull.Close()
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = devNull, &stderr
	cmd.Env = append(os.Environ(), "KRB5_CONFIG="+os.DevNull)
	p, err := runWatched(cmd)
	if err != nil {
		b.Fatalf("smbkrb %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	p.out = stderr.String()
	return p
}

// BenchmarkCLI runs the smbkrb command, one process per transfer, as a
// device would: "get //server/share/get.bin -" to /dev/null and "put FILE
// //server/share/put-cli.bin" from the file on tmpfs smbclient's put reads,
// with its defaults (4 requests of 4 MiB in flight). Its peers are
// BenchmarkSmbclientGet and BenchmarkSmbclientPut, processes too. Besides
// the rate and the CPU it reports the process's peak resident set.
func BenchmarkCLI(b *testing.B) {
	labtest.Need(b)
	size, data, local := files(b)
	cli(b) // built outside the timer
	for _, dir := range []string{"get", "put"} {
		b.Run(dir, func(b *testing.B) {
			for _, share := range []string{samba.ShareSigned, samba.ShareEncrypted} {
				b.Run(share, func(b *testing.B) {
					remote := "//" + lab.dc.FQDN + "/" + share + "/"
					args := []string{"get", remote + getName, "-"}
					if dir == "put" {
						args = []string{"put", local, remote + "put-cli.bin"}
					}
					if dir == "put" {
						warmUp(func() { runCLI(b, args...) })
					}
					b.SetBytes(size)
					var client time.Duration
					var rss float64
					n := 0
					cpu := startCPU(b)
					for b.Loop() {
						r := runCLI(b, args...)
						client += r.cpu
						rss = max(rss, r.rssMiB)
						n++
					}
					_, server := cpu.since(b)
					reportTransfer(b, n, size, client, server)
					reportRSS(b, rss)
					if dir == "put" {
						checkServerCopy(b, share, "put-cli.bin", data)
					}
				})
			}
		})
	}
}
