package smb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
	"github.com/smbkrb/smbkrb/internal/lab/samba"
)

// makeTree writes a local tree: n small files over a few directories,
// some empty files, a few large ones, and an empty directory; each file's
// modification time is set to a fixed past time plus its index.
func makeTree(t *testing.T, root string, n int) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	base := time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	add := func(rel string, data []byte) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		mt := base.Add(time.Duration(len(files)) * time.Second)
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
		files[rel] = data
	}
	for i := range n {
		add(fmt.Sprintf("d%d/sub%d/f%04d.log", i%7, i%3, i), randomBytes(i%5*4096+i%97))
	}
	for i := range 3 {
		add(fmt.Sprintf("big/b%d.bin", i), randomBytes(5<<20+i*777))
	}
	if err := os.MkdirAll(filepath.Join(root, "empty", "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	return files
}

// checkTree compares a local tree with what it should hold, contents and
// modification times.
func checkTree(t *testing.T, root string, want map[string][]byte, mtimes map[string]time.Time) {
	t.Helper()
	got := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		data, ok := want[rel]
		if !ok {
			return fmt.Errorf("%s should not be there", rel)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if !bytes.Equal(b, data) {
			return fmt.Errorf("%s differs: %d bytes, want %d", rel, len(b), len(data))
		}
		if mt, ok := mtimes[rel]; ok {
			fi, _ := d.Info()
			if fi.ModTime().Unix() != mt.Unix() {
				return fmt.Errorf("%s: modification time %v, want %v", rel, fi.ModTime(), mt)
			}
		}
		got++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got != len(want) {
		t.Fatalf("%d files, want %d", got, len(want))
	}
}

// TestTree copies a tree of 1,000 small files and three large ones up
// with PutTree and back down with GetTree, byte-exact, modification times
// kept; then an interrupted upload is resumed with Update, which moves
// only what is missing; DryRun copies nothing; a file that cannot be
// written fails alone.
func TestTree(t *testing.T) {
	labtest.Need(t)
	d := labDialer(t)
	s := dial(t, d, labServer())
	sh := mount(t, s, samba.ShareSigned)
	src := t.TempDir()
	files := makeTree(t, src, 1000)
	mtimes := map[string]time.Time{}
	for rel := range files {
		fi, err := os.Stat(filepath.Join(src, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		mtimes[rel] = fi.ModTime()
	}
	var total int64
	for _, b := range files {
		total += int64(len(b))
	}

	var mu sync.Mutex
	seen := map[string]TreeAction{}
	onFile := func(f TreeFile) {
		mu.Lock()
		defer mu.Unlock()
		seen[f.Path] = f.Action
	}
	sum, err := sh.PutTree(t.Context(), src, "tree/up", &TreeOptions{OnFile: onFile})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Files != len(files) || sum.Bytes != total || sum.Failed != 0 || sum.Skipped != 0 {
		t.Fatalf("PutTree summary %+v, want %d files, %d bytes", sum, len(files), total)
	}
	if len(seen) != len(files) {
		t.Fatalf("OnFile saw %d files, want %d", len(seen), len(files))
	}
	t.Logf("PutTree: %d files, %d bytes, %d directories in %v", sum.Files, sum.Bytes, sum.Dirs, sum.Elapsed.Round(time.Millisecond))
	// The server's own copy, with the modification times.
	checkTree(t, filepath.Join(lab.dc.ShareDir(samba.ShareSigned), "tree", "up"), files, mtimes)
	if fi, err := os.Stat(filepath.Join(lab.dc.ShareDir(samba.ShareSigned), "tree", "up", "empty", "dir")); err != nil || !fi.IsDir() {
		t.Errorf("the empty directory was not made: %v", err)
	}

	dst := t.TempDir()
	sum, err = sh.GetTree(t.Context(), "tree/up", dst, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Files != len(files) || sum.Bytes != total {
		t.Fatalf("GetTree summary %+v", sum)
	}
	t.Logf("GetTree: %d files, %d bytes in %v", sum.Files, sum.Bytes, sum.Elapsed.Round(time.Millisecond))
	checkTree(t, dst, files, mtimes)

	// Chtimes sets a modification time; GetTree with Update then copies
	// that file only.
	when := time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC)
	if err := sh.Chtimes(t.Context(), "tree/up/big/b1.bin", time.Time{}, when); err != nil {
		t.Fatal(err)
	}
	if fi, err := sh.Stat(t.Context(), "tree/up/big/b1.bin"); err != nil || !fi.ModTime().Equal(when) {
		t.Fatalf("after Chtimes: %v, %v; want %v", fi.ModTime(), err, when)
	}
	sum, err = sh.GetTree(t.Context(), "tree/up", dst, &TreeOptions{Update: true})
	if err != nil || sum.Files != 1 || sum.Skipped != len(files)-1 {
		t.Fatalf("GetTree with Update after one Chtimes: %+v, %v", sum, err)
	}
	changed := maps.Clone(mtimes)
	changed["big/b1.bin"] = when
	checkTree(t, dst, files, changed)

	// Again with Update: nothing moves.
	sum, err = sh.GetTree(t.Context(), "tree/up", dst, &TreeOptions{Update: true})
	if err != nil || sum.Files != 0 || sum.Skipped != len(files) {
		t.Fatalf("GetTree with Update over a complete copy: %+v, %v", sum, err)
	}

	// An interrupted upload: cancelled after 300 files, then resumed.
	ctx, cancel := context.WithCancel(t.Context())
	var done int
	sum, err = sh.PutTree(ctx, src, "tree/resumed", &TreeOptions{OnFile: func(f TreeFile) {
		if f.Action == Copied {
			done++
			if done == 300 {
				cancel()
			}
		}
	}})
	cancel()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled PutTree: %+v, %v", sum, err)
	}
	// The files copied are there whole; a few in flight at the cancel
	// may have been completed too, though reported failed (their last
	// step saw the cancelled context).
	first := sum.Files
	dry, err := sh.PutTree(t.Context(), src, "tree/resumed", &TreeOptions{Update: true, DryRun: true})
	if err != nil || dry.Files+dry.Skipped != len(files) || dry.Skipped < first || dry.Skipped > first+8 {
		t.Fatalf("dry run after %d files: %+v, %v; want about %d to copy, %d skipped", first, dry, err, len(files)-first, first)
	}
	sum, err = sh.PutTree(t.Context(), src, "tree/resumed", &TreeOptions{Update: true})
	if err != nil || sum.Files != dry.Files || sum.Skipped != dry.Skipped {
		t.Fatalf("resumed PutTree after %d files: %+v, %v; the dry run said %+v", first, sum, err, dry)
	}
	t.Logf("interrupted after %d files; resumed: %d copied, %d skipped", first, sum.Files, sum.Skipped)
	checkTree(t, filepath.Join(lab.dc.ShareDir(samba.ShareSigned), "tree", "resumed"), files, mtimes)

	// A file that fails alone: a local file that cannot be read, and a
	// symbolic link, which is skipped.
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "ok.txt"), []byte("fine"), 0o644)
	os.WriteFile(filepath.Join(bad, "locked.txt"), []byte("no"), 0o000)
	os.Symlink("ok.txt", filepath.Join(bad, "link"))
	sum, err = sh.PutTree(t.Context(), bad, "tree/bad", nil)
	var te *TreeError
	if os.Geteuid() == 0 {
		// root reads mode-0000 files: only the link is left out.
		if err != nil || sum.Files != 2 || sum.Skipped != 1 {
			t.Fatalf("PutTree with a link: %+v, %v", sum, err)
		}
	} else if !errors.As(err, &te) || te.Failed != 1 || sum.Files != 1 || sum.Skipped != 1 {
		t.Fatalf("PutTree with an unreadable file: %+v, %v", sum, err)
	}

	// GetTree into a file that is in the way fails for that file only.
	dst2 := t.TempDir()
	if err := os.WriteFile(filepath.Join(dst2, "big"), []byte("a file where a directory goes"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err = sh.GetTree(t.Context(), "tree/up", dst2, nil)
	if !errors.As(err, &te) || sum.Files != len(files)-3 || te.Failed < 1 {
		t.Fatalf("GetTree with a file in a directory's way: %+v, %v", sum, err)
	}
	t.Logf("a failed part: %v", err)
	if _, err := sh.GetTree(t.Context(), "tree/up/big/b0.bin", dst2, nil); err == nil {
		t.Fatal("GetTree of a file succeeded")
	}
}
