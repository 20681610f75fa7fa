package krb5_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/smbkrb/smbkrb/krb5"
)

// TestProfileDir: the generated profile goes to Config.TempDir in a
// directory of its own (mode 0700, named with the pid) that Close removes;
// a directory left by a process that no longer runs is swept by the next
// NewContext, one of a running process is not; an unusable TempDir says
// which setting to change.
func TestProfileDir(t *testing.T) {
	tmp := t.TempDir()
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(tmp, "smbkrb-krb5-"+strconv.Itoa(gone.Process.Pid)+"-1")
	live := filepath.Join(tmp, "smbkrb-krb5-"+strconv.Itoa(os.Getppid())+"-1")
	other := filepath.Join(tmp, "smbkrb-krb5-test-1")
	for _, d := range []string{stale, live, other} {
		if err := os.MkdirAll(filepath.Join(d, "x"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	k, err := krb5.NewContext(&krb5.Config{TempDir: tmp})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the directory of an ended process survived: %v", err)
	}
	for _, d := range []string{live, other} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s was removed: %v", d, err)
		}
	}
	mine, _ := filepath.Glob(filepath.Join(tmp, "smbkrb-krb5-"+strconv.Itoa(os.Getpid())+"-*"))
	if len(mine) != 1 {
		t.Fatalf("profile directories of this process: %v", mine)
	}
	if fi, err := os.Stat(mine[0]); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("profile directory mode %v, %v", fi.Mode(), err)
	}
	if b, err := os.ReadFile(filepath.Join(mine[0], "krb5.conf")); err != nil || !strings.Contains(string(b), "[libdefaults]") {
		t.Errorf("generated profile: %v", err)
	}
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(mine[0]); !os.IsNotExist(err) {
		t.Errorf("Close left the profile directory: %v", err)
	}

	file := filepath.Join(tmp, "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := krb5.NewContext(&krb5.Config{TempDir: file}); err == nil || !strings.Contains(err.Error(), "Config.TempDir") {
		t.Errorf("a TempDir that is a file: %v", err)
	}
}
