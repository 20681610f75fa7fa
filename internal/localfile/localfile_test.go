package localfile

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCommitAbort: the target appears only on Commit, whole; Abort
// leaves the old target and no temporary file.
func TestCommitAbort(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "f.bin")
	if err := os.WriteFile(target, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := Create(target)
	if err != nil {
		t.Fatal(err)
	}
	a.Write([]byte("half"))
	a.Abort()
	a.Abort()
	if b, _ := os.ReadFile(target); string(b) != "old" {
		t.Fatalf("after Abort the target holds %q", b)
	}
	if err := a.Commit(); err == nil {
		t.Fatal("Commit after Abort succeeded")
	}
	a, err = Create(target)
	if err != nil {
		t.Fatal(err)
	}
	a.Write([]byte("new data"))
	if b, _ := os.ReadFile(target); string(b) != "old" {
		t.Fatalf("before Commit the target holds %q", b)
	}
	if err := a.Commit(); err != nil {
		t.Fatal(err)
	}
	a.Abort() // deferred after a Commit: nothing
	if b, _ := os.ReadFile(target); string(b) != "new data" {
		t.Fatalf("after Commit the target holds %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("the directory holds %d entries, want only the target", len(ents))
	}
	if _, err := Create(filepath.Join(dir, "no-such-dir", "x")); err == nil {
		t.Fatal("Create in a missing directory succeeded")
	}
}
