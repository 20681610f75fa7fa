package bench

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
	"github.com/smbkrb/smbkrb/internal/lab/samba"
)

// treeFiles is the tree of the tree benchmarks: 1,000 files of 16 KiB in
// ten directories, on tmpfs, made once.
var treeFiles struct {
	once sync.Once
	dir  string
	err  error
}

const (
	treeCount = 1000
	treeSize  = 16 << 10
)

func benchTree(b *testing.B) string {
	b.Helper()
	t := &treeFiles
	t.once.Do(func() {
		parent := "/dev/shm"
		if fi, err := os.Stat(parent); err != nil || !fi.IsDir() {
			parent = lab.dir
		}
		if t.dir, t.err = os.MkdirTemp(parent, "smbkrb-bench-tree-"); t.err != nil {
			return
		}
		data := make([]byte, treeSize)
		for i := range treeCount {
			p := filepath.Join(t.dir, "tree", fmt.Sprintf("d%d", i%10), fmt.Sprintf("f%04d.bin", i))
			if t.err = os.MkdirAll(filepath.Dir(p), 0o755); t.err != nil {
				return
			}
			data[0], data[1] = byte(i), byte(i>>8)
			if t.err = os.WriteFile(p, data, 0o644); t.err != nil {
				return
			}
		}
	})
	if t.err != nil {
		b.Fatal(t.err)
	}
	return filepath.Join(t.dir, "tree")
}

// BenchmarkTree copies a tree of 1,000 files of 16 KiB to the signed
// share, one process per copy: the smbkrb command (put -r, 8 files in
// flight) beside smbclient -c 'prompt; recurse; mput *' (one file at a
// time), each into a fresh directory. It reports files/s and MiB/s.
func BenchmarkTree(b *testing.B) {
	labtest.Need(b)
	src := benchTree(b)
	cli(b)
	share := samba.ShareSigned
	disk := lab.dc.ShareDir(share)
	for _, peer := range []string{"smbkrb", "smbclient"} {
		b.Run("put/"+peer, func(b *testing.B) {
			var client time.Duration
			n := 0
			cpu := startCPU(b)
			for b.Loop() {
				b.StopTimer()
				dir := fmt.Sprintf("tree-%s-%d", peer, n)
				os.RemoveAll(filepath.Join(disk, dir))
				b.StartTimer()
				var p proc
				if peer == "smbkrb" {
					p = runCLI(b, "put", "-r", "-q", src, "//"+lab.dc.FQDN+"/"+share+"/"+dir)
				} else {
					p = runSmbclient(b, lab.tgtCache, smbclientArgs(share, lab.tgtCache,
						"-c", "prompt; recurse; lcd "+src+"; mkdir "+dir+"; cd "+dir+"; mput *")...)
				}
				client += p.cpu
				n++
				b.StopTimer()
				checkTreeCopy(b, filepath.Join(disk, dir))
				os.RemoveAll(filepath.Join(disk, dir))
				b.StartTimer()
			}
			_, server := cpu.since(b)
			reportTransfer(b, n, treeCount*treeSize, client, server)
			b.ReportMetric(float64(n*treeCount)/b.Elapsed().Seconds(), "files/s")
		})
	}
}

// BenchmarkTreeGet copies the same tree down from the signed share: the
// smbkrb command (get -r) beside smbclient -c 'prompt; recurse; mget *',
// each into a fresh local directory on tmpfs.
func BenchmarkTreeGet(b *testing.B) {
	labtest.Need(b)
	src := benchTree(b)
	cli(b)
	share := samba.ShareSigned
	remote := filepath.Join(lab.dc.ShareDir(share), "tree-src")
	if err := os.CopyFS(remote, os.DirFS(src)); err != nil && !errors.Is(err, fs.ErrExist) {
		b.Fatal(err)
	}
	for _, peer := range []string{"smbkrb", "smbclient"} {
		b.Run(peer, func(b *testing.B) {
			var client time.Duration
			n := 0
			cpu := startCPU(b)
			for b.Loop() {
				b.StopTimer()
				dst := filepath.Join(filepath.Dir(src), fmt.Sprintf("get-%s-%d", peer, n))
				os.RemoveAll(dst)
				if err := os.MkdirAll(dst, 0o755); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				var p proc
				if peer == "smbkrb" {
					p = runCLI(b, "get", "-r", "-q", "//"+lab.dc.FQDN+"/"+share+"/tree-src", dst)
				} else {
					p = runSmbclient(b, lab.tgtCache, smbclientArgs(share, lab.tgtCache,
						"-c", "prompt; recurse; lcd "+dst+"; cd tree-src; mget *")...)
				}
				client += p.cpu
				n++
				b.StopTimer()
				checkTreeCopy(b, dst)
				os.RemoveAll(dst)
				b.StartTimer()
			}
			_, server := cpu.since(b)
			reportTransfer(b, n, treeCount*treeSize, client, server)
			b.ReportMetric(float64(n*treeCount)/b.Elapsed().Seconds(), "files/s")
		})
	}
}

// checkTreeCopy fails b unless dir holds the whole tree.
func checkTreeCopy(b *testing.B, dir string) {
	b.Helper()
	n := 0
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil && fi.Size() == treeSize {
				n++
			}
		}
		return nil
	})
	if n != treeCount {
		b.Fatalf("%s holds %d of the %d files", dir, n, treeCount)
	}
}
