package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/samba"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
)

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// noTempFiles fails the test if dir holds a temporary file of get or put.
func noTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".smbkrb-") {
			t.Errorf("temporary file left in %s: %s", dir, e.Name())
		}
	}
}

// TestKinitAndFiles: kinit writes a TGT into the default FILE: cache
// (mode 0600, read by MIT klist too); the file commands then work from
// that cache without --user, on the signed and the encrypted share: a
// random multi-MiB file goes up and comes back byte-exact, ls, stat, mkdir
// -p, mv and rm do what they say, as the server's disk confirms.
func TestKinitAndFiles(t *testing.T) {
	labtest.Need(t)
	c := newClient(t)
	c.kinit(t)

	fi, err := os.Stat(strings.TrimPrefix(c.ccache, "FILE:"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("cache file mode %v, want 0600", fi.Mode().Perm())
	}
	var kl klistJSON
	if err := json.Unmarshal([]byte(c.ok(t, nil, "klist", "--json").stdout), &kl); err != nil {
		t.Fatal(err)
	}
	if kl.Cache != c.ccache || kl.Principal != lab.user || len(kl.Tickets) != 1 {
		t.Fatalf("klist --json: %+v", kl)
	}
	tgt := kl.Tickets[0]
	end, err := time.Parse(time.RFC3339, tgt.End)
	if tgt.Server != "krbtgt/LAB.TEST@LAB.TEST" || tgt.Client != lab.user || tgt.KeyEnctype != "aes256-cts-hmac-sha1-96" ||
		!strings.Contains(tgt.Flags, "I") || tgt.Expired || err != nil || time.Until(end) < 9*time.Hour {
		t.Errorf("TGT: %+v (end %v)", tgt, err)
	}
	if out := c.ok(t, nil, "klist").stdout; !strings.Contains(out, "Default principal: "+lab.user) || !strings.Contains(out, "krbtgt/LAB.TEST@LAB.TEST") {
		t.Errorf("klist:\n%s", out)
	}
	mitKlist := exec.Command("klist", "-c", c.ccache)
	mitKlist.Env = c.env()
	if out, err := mitKlist.CombinedOutput(); err != nil || !strings.Contains(string(out), lab.user) {
		t.Errorf("MIT klist of smbkrb's cache: %v: %s", err, out)
	}

	for _, share := range []string{samba.ShareSigned, samba.ShareEncrypted} {
		t.Run(share, func(t *testing.T) {
			disk := lab.dc.ShareDir(share)
			dir := "files-" + share
			cf := []string{"--config", lab.config}
			// Flags before the command work too.
			c.ok(t, nil, append(cf, "mkdir", "-p", remote(share, dir+"/sub/deeper"))...)
			if fi, err := os.Stat(filepath.Join(disk, dir, "sub", "deeper")); err != nil || !fi.IsDir() {
				t.Fatalf("mkdir -p: %v", err)
			}
			c.fails(t, exitFailure, nil, nil, "mkdir", "--config", lab.config, remote(share, dir+"/sub"))

			data := randomBytes(t, 5<<20+12345)
			local := filepath.Join(c.dir, "up.bin")
			if err := os.WriteFile(local, data, 0o644); err != nil {
				t.Fatal(err)
			}
			// Into a directory: the local base name.
			r := c.ok(t, nil, "put", "-v", "--config", lab.config, "--parallel", "8", "--chunk", "256KiB", local, remote(share, dir+"/sub/"))
			if !strings.Contains(r.stderr, "sha256 "+sha(data)) {
				t.Errorf("put -v does not report the data's sha256")
			}
			wantProt := "share " + share + ": signed, not encrypted"
			if share == samba.ShareEncrypted {
				wantProt = "share " + share + ": encrypted"
			}
			for _, want := range []string{wantProt, "principal " + lab.user, "SMB 3.1.1", "signing AES-128-GMAC", "cifs/" + lab.dc.FQDN + "@LAB.TEST"} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("put -v does not say %q", want)
				}
			}
			if strings.Contains(r.stderr, "\r") {
				t.Error("a progress bar on a stderr that is not a terminal")
			}
			got, err := os.ReadFile(filepath.Join(disk, dir, "sub", "up.bin"))
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("the server's copy differs (%v)", err)
			}
			noTempFiles(t, filepath.Join(disk, dir, "sub"))

			var list []fileJSON
			if err := json.Unmarshal([]byte(c.ok(t, nil, "ls", "--json", "--config", lab.config, remote(share, dir+"/sub")).stdout), &list); err != nil {
				t.Fatal(err)
			}
			if len(list) != 2 || list[0].Name != "deeper" || !list[0].Dir || list[1].Name != "up.bin" || list[1].Dir || list[1].Size != int64(len(data)) {
				t.Fatalf("ls --json: %+v", list)
			}
			if mt, err := time.Parse(time.RFC3339, list[1].MTime); err != nil || time.Since(mt).Abs() > 10*time.Minute {
				t.Errorf("mtime %q: %v", list[1].MTime, err)
			}
			if out := c.ok(t, nil, "ls", "--config", lab.config, remote(share, dir+"/sub")).stdout; out != "deeper/\nup.bin\n" {
				t.Errorf("ls: %q", out)
			}
			if out := c.ok(t, nil, "ls", "-l", "--config", lab.config, remote(share, dir+"/sub/up.bin")).stdout; !strings.Contains(out, fmt.Sprintf(" %d ", len(data))) || !strings.HasSuffix(out, " up.bin\n") {
				t.Errorf("ls -l of a file: %q", out)
			}

			// get to a named file, into a directory, and to stdout.
			down := filepath.Join(c.dir, "down.bin")
			r = c.ok(t, nil, "get", "-v", "--config", lab.config, remote(share, dir+"/sub/up.bin"), down)
			if got, err := os.ReadFile(down); err != nil || sha(got) != sha(data) {
				t.Fatalf("get: the local copy differs (%v)", err)
			}
			if !strings.Contains(r.stderr, "sha256 "+sha(data)) {
				t.Errorf("get -v does not report the data's sha256")
			}
			into := filepath.Join(c.dir, "into-"+share)
			if err := os.Mkdir(into, 0o755); err != nil {
				t.Fatal(err)
			}
			c.ok(t, nil, "get", "--config", lab.config, remote(share, dir+"/sub/up.bin"), into)
			if got, err := os.ReadFile(filepath.Join(into, "up.bin")); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("get into a directory: %v", err)
			}
			if fi, err := os.Stat(filepath.Join(into, "up.bin")); err != nil || fi.Mode().Perm()&0o600 != 0o600 {
				t.Errorf("the local copy's mode: %v %v", fi.Mode(), err)
			}
			r = c.ok(t, nil, "get", "--config", lab.config, remote(share, dir+"/sub/up.bin"), "-")
			if sha([]byte(r.stdout)) != sha(data) {
				t.Fatal("get to stdout: the bytes differ")
			}
			noTempFiles(t, c.dir)
			noTempFiles(t, into)
			os.Remove(down)

			// put from stdin, then stat it.
			small := randomBytes(t, 300_001)
			c.ok(t, bytes.NewReader(small), "put", "--in-place", "--config", lab.config, "-", remote(share, dir+"/stdin.bin"))
			if got, err := os.ReadFile(filepath.Join(disk, dir, "stdin.bin")); err != nil || !bytes.Equal(got, small) {
				t.Fatalf("put from stdin: %v", err)
			}
			var st fileJSON
			if err := json.Unmarshal([]byte(c.ok(t, nil, "stat", "--json", "--config", lab.config, remote(share, dir+"/stdin.bin")).stdout), &st); err != nil {
				t.Fatal(err)
			}
			if st.Name != "stdin.bin" || st.Path != remote(share, dir+"/stdin.bin") || st.Size != int64(len(small)) || st.Dir || st.Mode == "" {
				t.Errorf("stat --json: %+v", st)
			}

			// mv to a new name, then into a directory.
			c.ok(t, nil, "mv", "--config", lab.config, remote(share, dir+"/sub/up.bin"), remote(share, dir+"/moved.bin"))
			c.fails(t, exitNotFound, []string{"no such file", "smbkrb ls " + remote(share, dir+"/sub")}, nil,
				"stat", "--config", lab.config, remote(share, dir+"/sub/up.bin"))
			c.ok(t, nil, "mv", "--config", lab.config, remote(share, dir+"/moved.bin"), remote(share, dir+"/sub"))
			if got, err := os.ReadFile(filepath.Join(disk, dir, "sub", "moved.bin")); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("mv into a directory: %v", err)
			}

			// rm: a non-empty directory is refused; files, then directories.
			c.fails(t, exitFailure, []string{"not empty"}, nil, "rm", "--config", lab.config, remote(share, dir+"/sub"))
			for _, p := range []string{"/sub/moved.bin", "/stdin.bin", "/sub/deeper", "/sub", ""} {
				c.ok(t, nil, "rm", "--config", lab.config, remote(share, dir+p))
			}
			c.fails(t, exitNotFound, nil, nil, "rm", "--config", lab.config, remote(share, dir))
			if _, err := os.Stat(filepath.Join(disk, dir)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the directory is still on the server: %v", err)
			}
		})
	}

	// The service tickets went into the same cache.
	if err := json.Unmarshal([]byte(c.ok(t, nil, "klist", "--json").stdout), &kl); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(kl.Tickets, func(tk ticketJSON) bool { return tk.Server == "cifs/"+lab.dc.FQDN+"@LAB.TEST" }) {
		t.Errorf("no cifs ticket in the cache: %+v", kl.Tickets)
	}
	c.ok(t, nil, "kdestroy")
	if _, err := os.Stat(strings.TrimPrefix(c.ccache, "FILE:")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("kdestroy left the cache: %v", err)
	}
	c.ok(t, nil, "kdestroy") // nothing to destroy is fine
	c.fails(t, exitAuth, []string{"kinit"}, nil, "ls", "--config", lab.config, remote(samba.ShareSigned, ""))
}

// TestReadOnlyShare: put and mkdir on the read-only share fail with exit
// code 5, and nothing appears in the share's directory, not even a
// temporary file.
func TestReadOnlyShare(t *testing.T) {
	labtest.Need(t)
	c := newClient(t)
	c.kinit(t)
	dir := lab.dc.ShareDir(samba.ShareReadOnly)
	names := func() []string {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var n []string
		for _, e := range entries {
			n = append(n, e.Name())
		}
		return n
	}
	before := names()
	local := filepath.Join(c.dir, "nope.bin")
	if err := os.WriteFile(local, randomBytes(t, 2<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	c.fails(t, exitPermission, []string{"put ", "try: "}, nil, "put", "--config", lab.config, local, remote(samba.ShareReadOnly, "nope.bin"))
	c.fails(t, exitPermission, nil, nil, "put", "--in-place", "--config", lab.config, local, remote(samba.ShareReadOnly, "nope.bin"))
	c.fails(t, exitPermission, nil, nil, "mkdir", "--config", lab.config, remote(samba.ShareReadOnly, "nodir"))
	if after := names(); !slices.Equal(before, after) {
		t.Fatalf("the read-only share changed: %v -> %v", before, after)
	}
	c.ok(t, nil, "ls", "--config", lab.config, remote(samba.ShareReadOnly, ""))
}

// TestEncryptPolicy: --encrypt encrypts the whole session, so the share
// the server only signs is used encrypted too; without it that share is
// signed.
func TestEncryptPolicy(t *testing.T) {
	labtest.Need(t)
	c := newClient(t)
	c.kinit(t)
	for _, share := range []string{samba.ShareSigned, samba.ShareEncrypted} {
		r := c.ok(t, nil, "ls", "--encrypt", "-v", "--config", lab.config, remote(share, ""))
		if !strings.Contains(r.stderr, "session encrypted true") || !strings.Contains(r.stderr, "share "+share+": encrypted") {
			t.Errorf("ls -v --encrypt on %s: %s", share, r.stderr)
		}
	}
	r := c.ok(t, nil, "ls", "-v", "--config", lab.config, remote(samba.ShareSigned, ""))
	if !strings.Contains(r.stderr, "session encrypted false") || !strings.Contains(r.stderr, "share "+samba.ShareSigned+": signed, not encrypted") {
		t.Errorf("ls -v on %s: %s", samba.ShareSigned, r.stderr)
	}
}
