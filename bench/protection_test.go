package bench

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/samba"
	"github.com/smbkrb/smbkrb/internal/lab/testmain"
	"github.com/smbkrb/smbkrb/smb"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
)

// TestProtection checks from the server's side what the benchmarks
// assume: both clients sign on the signed share and encrypt on the
// encrypted one. With one client's session open at a time, smbstatus on
// the DC shows the tree connect's encryption and signing, and the
// session's dialect and algorithms, which the test logs.
func TestProtection(t *testing.T) {
	labtest.Need(t)
	for _, share := range shares {
		t.Run("smbkrb/"+share, func(t *testing.T) {
			k := kerberos(t)
			cc := testmain.MemoryCache(t, k)
			d := &smb.Dialer{Kerberos: k, CCache: cc, Credentials: smb.Password(lab.principal, []byte(lab.pw))}
			if share == shareAES256 {
				d.Ciphers = []smb.Cipher{smb.AES256GCM}
			}
			s, err := d.Dial(t.Context(), labServer())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			sh, err := s.Mount(t.Context(), realShare(share))
			if err != nil {
				t.Fatal(err)
			}
			defer sh.Close()
			t.Logf("smbkrb: %+v, share encrypted %v", s.Info(), sh.Info().Encrypted)
			checkProtection(t, share)
		})
		t.Run("smbclient/"+share, func(t *testing.T) {
			ccache := filepath.Join(t.TempDir(), "ccache")
			if err := kinit(ccache); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, lab.smbclient, smbclientArgs(share, ccache)...)
			cmd.Env = lab.peer.Env("FILE:" + ccache)
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				stdin.Close()
				cmd.Wait()
				t.Logf("smbclient said: %s", strings.TrimSpace(out.String()))
			}()
			checkProtection(t, share)
		})
	}
}

// checkProtection waits until smbstatus shows exactly one tree connect to
// share (the test's client's; the previous subtest's has gone), then
// checks that its session is signed and that it is encrypted if and only
// if share is the encrypted one.
func checkProtection(t *testing.T, bshare string) {
	t.Helper()
	share := realShare(bshare)
	var sessions, trees string
	var rows []string
	deadline := time.Now().Add(30 * time.Second)
	for {
		var err error
		trees, err = lab.dc.InNamespace("smbstatus", "-S")
		if err != nil {
			t.Fatal(err)
		}
		rows = rows[:0]
		for _, line := range strings.Split(trees, "\n") {
			if f := strings.Fields(line); len(f) > 0 && f[0] == share {
				rows = append(rows, line)
			}
		}
		if len(rows) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("want one tree connect to %s, smbstatus -S shows:\n%s", share, trees)
		}
		time.Sleep(50 * time.Millisecond)
	}
	sessions, err := lab.dc.InNamespace("smbstatus", "-b")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("smbstatus -b:\n%s\nsmbstatus -S:\n%s", sessions, trees)
	// In both tables the last two columns are Encryption and Signing ("-"
	// when off); smbstatus shows signing per session, encryption per tree
	// connect (and per session when the whole session is encrypted).
	tree := strings.Fields(rows[0])
	enc := tree[len(tree)-2]
	var sign, session string
	for _, line := range strings.Split(sessions, "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[0] == tree[1] {
			sign, session = f[len(f)-1], line
		}
	}
	// Samba 4.17 names no AES-256 cipher on a tree connect ("???"), and
	// the session's row names the cipher only when the whole session is
	// encrypted: an AES-128 cipher would be named on the tree.
	if bshare == shareAES256 && !strings.Contains(session, "AES-256-GCM") && tree[len(tree)-2] != "???" {
		t.Errorf("the session (smbd pid %s) is not encrypted with AES-256-GCM: %q, tree %q", tree[1], session, rows[0])
	}
	if !strings.HasPrefix(sign, "AES-") {
		t.Errorf("the session (smbd pid %s) is not signed (signing %q)", tree[1], sign)
	}
	if got, want := strings.HasPrefix(enc, "AES-") || enc == "???", share == samba.ShareEncrypted; got != want {
		t.Errorf("the tree connect to %s: encryption %q, want encrypted = %v", share, enc, want)
	}
	t.Logf("%s: session signing %s, tree encryption %s", share, sign, enc)
}
