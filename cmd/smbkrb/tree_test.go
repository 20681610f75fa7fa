package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
	"github.com/smbkrb/smbkrb/internal/lab/samba"
)

// TestTrees: put -r of a tree of 200 files, get -r back byte-exact with
// the modification times, ls -R listing it, --update moving nothing the
// second time, --dry-run moving nothing, a failed file making the exit
// code non-zero while the others are copied, and --json's summary.
func TestTrees(t *testing.T) {
	labtest.Need(t)
	c := newClient(t)
	c.kinit(t)
	share := samba.ShareSigned
	src := filepath.Join(c.dir, "tree")
	want := map[string][]byte{}
	for i := range 200 {
		rel := fmt.Sprintf("logs/%d/app-%03d.log", i%4, i)
		want[rel] = randomBytes(t, 100+i*37)
		p := filepath.Join(src, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, want[rel], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want["big.bin"] = randomBytes(t, 3<<20+1)
	os.WriteFile(filepath.Join(src, "big.bin"), want["big.bin"], 0o644)
	cf := []string{"--config", lab.config}
	var sum treeSummaryJSON
	out := c.ok(t, nil, append(cf, "put", "-r", "--json", src, remote(share, "trees/up"))...).stdout
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("put -r --json: %v\n%s", err, out)
	}
	if sum.Files != len(want) || sum.Failed != 0 || sum.Skipped != 0 || sum.Bytes == 0 || sum.Rate <= 0 || len(sum.Failures) != 0 {
		t.Fatalf("put -r summary: %+v", sum)
	}
	disk := filepath.Join(lab.dc.ShareDir(share), "trees", "up")
	for rel, data := range want {
		if got, err := os.ReadFile(filepath.Join(disk, filepath.FromSlash(rel))); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("the server's %s differs (%v)", rel, err)
		}
	}

	// ls -R lists every path.
	ls := c.ok(t, nil, append(cf, "ls", "-R", remote(share, "trees/up"))...).stdout
	for _, p := range []string{"logs/", "logs/3/", "logs/2/app-002.log", "big.bin"} {
		if !strings.Contains(ls, "\n"+p+"\n") && !strings.HasPrefix(ls, p+"\n") {
			t.Errorf("ls -R does not list %s:\n%s", p, ls)
		}
	}

	// get -r back, then --update: nothing moves.
	dst := filepath.Join(c.dir, "back")
	r := c.ok(t, nil, append(cf, "get", "-r", remote(share, "trees/up"), dst)...)
	if !strings.Contains(r.stderr, fmt.Sprintf("copied %d files", len(want))) || !strings.Contains(r.stderr, "0 skipped, 0 failed") {
		t.Errorf("get -r summary: %s", r.stderr)
	}
	for rel, data := range want {
		p := filepath.Join(dst, filepath.FromSlash(rel))
		got, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s came back different (%v)", rel, err)
		}
		srcInfo, _ := os.Stat(filepath.Join(src, filepath.FromSlash(rel)))
		dstInfo, _ := os.Stat(p)
		if srcInfo.ModTime().Unix() != dstInfo.ModTime().Unix() {
			t.Fatalf("%s: modification time %v, the source's %v", rel, dstInfo.ModTime(), srcInfo.ModTime())
		}
	}
	noTempFiles(t, dst)
	r = c.ok(t, nil, append(cf, "get", "-r", "--update", remote(share, "trees/up"), dst)...)
	if !strings.Contains(r.stderr, "copied 0 files") || !strings.Contains(r.stderr, fmt.Sprintf("%d skipped", len(want))) {
		t.Errorf("get -r --update over a complete copy: %s", r.stderr)
	}

	// A changed local file: --dry-run names it, --update copies only it.
	os.WriteFile(filepath.Join(src, "big.bin"), []byte("changed"), 0o644)
	r = c.ok(t, nil, append(cf, "put", "-r", "--update", "--dry-run", src, remote(share, "trees/up"))...)
	if strings.TrimSpace(r.stdout) != "would copy big.bin (7 B)" {
		t.Errorf("--dry-run: %q", r.stdout)
	}
	r = c.ok(t, nil, append(cf, "put", "-r", "--update", src, remote(share, "trees/up"))...)
	if !strings.Contains(r.stderr, "copied 1 file (7 B)") {
		t.Errorf("put -r --update after one change: %s", r.stderr)
	}

	// A file in a directory's way locally: that part fails, the rest
	// is copied, the exit code says so.
	dst2 := filepath.Join(c.dir, "back2")
	os.MkdirAll(filepath.Join(dst2, "logs"), 0o755)
	os.WriteFile(filepath.Join(dst2, "logs", "1"), []byte("in the way"), 0o644)
	r = c.fails(t, exitFailure, []string{"failed logs/1/", "1 failed"}, nil, append(cf, "get", "-r", remote(share, "trees/up"), dst2)...)
	if _, err := os.Stat(filepath.Join(dst2, "logs", "2", "app-002.log")); err != nil {
		t.Errorf("the other files were not copied: %v", err)
	}
	c.fails(t, exitUsage, []string{"go with -r"}, nil, append(cf, "get", "--update", remote(share, "trees/up/big.bin"), dst2)...)
	c.fails(t, exitUsage, []string{"not a directory"}, nil, append(cf, "put", "-r", filepath.Join(src, "big.bin"), remote(share, "trees/x"))...)
}
