package smb

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smbkrb/smbkrb/internal/lab/samba"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
)

// labServer is the lab DC as an SMB server: named by its FQDN, reached at
// its address.
func labServer() Server { return Server{Name: lab.dc.FQDN, Addr: lab.dc.Addr} }

// labDialer logs the lab user in with a password into a fresh memory cache.
func labDialer(t *testing.T) *Dialer {
	t.Helper()
	k, cc := labKerberos(t)
	return &Dialer{Kerberos: k, CCache: cc, Credentials: Password(lab.user+"@"+lab.dc.Realm, []byte(lab.pw))}
}

func dial(t *testing.T, d *Dialer, srv Server) *Session {
	t.Helper()
	s, err := d.Dial(t.Context(), srv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mount(t *testing.T, s *Session, share string) *Share {
	t.Helper()
	sh, err := s.Mount(t.Context(), share)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sh.Close() })
	return sh
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// TestPutGet uploads a random multi-MiB file with parallel writes and
// reads it back with parallel reads, on the signed and the encrypted
// share; the server's own copy on disk is compared too.
func TestPutGet(t *testing.T) {
	labtest.Need(t)
	d := labDialer(t)
	s := dial(t, d, labServer())
	info := s.Info()
	if info.Dialect != "3.1.1" || info.Signing != "AES-128-GMAC" || info.Cipher != "AES-128-GCM" || info.Client != lab.user+"@"+lab.dc.Realm {
		t.Errorf("session info %+v", info)
	}
	t.Logf("session: %+v", info)
	for _, share := range []string{samba.ShareSigned, samba.ShareEncrypted} {
		t.Run(share, func(t *testing.T) {
			sh := mount(t, s, share)
			if got, want := sh.Info().Encrypted, share == samba.ShareEncrypted; got != want {
				t.Errorf("share encrypted = %v, want %v", got, want)
			}
			data := randomBytes(7<<20 + 12345)
			var calls int
			var last int64
			n, err := sh.Put(t.Context(), "dir/put.bin", bytes.NewReader(data), &PutOptions{TransferOptions: TransferOptions{
				Progress: func(done, total int64) {
					calls++
					if total != int64(len(data)) || done < last {
						t.Errorf("progress %d/%d after %d", done, total, last)
					}
					last = done
				}}})
			if err == nil || !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("put into a missing directory: n=%d err=%v, want not-exist", n, err)
			}
			if err := sh.MkdirAll(t.Context(), "dir/sub"); err != nil {
				t.Fatal(err)
			}
			// 1 MiB chunks: at least eight progress calls.
			calls, last = 0, 0
			n, err = sh.Put(t.Context(), "dir/put.bin", bytes.NewReader(data), &PutOptions{TransferOptions: TransferOptions{
				ChunkSize: 1 << 20,
				Progress:  func(done, total int64) { calls++; last = done }}})
			if err != nil || n != int64(len(data)) {
				t.Fatalf("put: n=%d err=%v", n, err)
			}
			if calls < 8 || last != int64(len(data)) {
				t.Errorf("progress: %d calls, last %d", calls, last)
			}
			disk, err := os.ReadFile(filepath.Join(lab.dc.ShareDir(share), "dir", "put.bin"))
			if err != nil || sha256.Sum256(disk) != sha256.Sum256(data) {
				t.Fatalf("server's copy differs (err %v)", err)
			}
			var got bytes.Buffer
			n, err = sh.Get(t.Context(), "dir/put.bin", &got, nil)
			if err != nil || n != int64(len(data)) || sha256.Sum256(got.Bytes()) != sha256.Sum256(data) {
				t.Fatalf("get: n=%d err=%v equal=%v", n, err, bytes.Equal(got.Bytes(), data))
			}
			f, err := sh.Open(t.Context(), "dir/put.bin")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Seek(1<<20+7, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			rest, err := io.ReadAll(f)
			f.Close()
			if err != nil || !bytes.Equal(rest, data[1<<20+7:]) {
				t.Fatalf("streaming read from an offset: err=%v equal=%v", err, bytes.Equal(rest, data[1<<20+7:]))
			}
			list, err := sh.ReadDir(t.Context(), "dir")
			if err != nil || len(list) != 2 || list[0].Name() != "put.bin" || list[0].Size() != int64(len(data)) || !list[1].IsDir() {
				t.Fatalf("list: %v %v", list, err)
			}
			if err := sh.Rename(t.Context(), "dir/put.bin", "dir/sub/moved.bin"); err != nil {
				t.Fatal(err)
			}
			if _, err := sh.Stat(t.Context(), "dir/put.bin"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("stat after rename: %v", err)
			}
			for _, p := range []string{"dir/sub/moved.bin", "dir/sub", "dir"} {
				if err := sh.Remove(t.Context(), p); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := os.Stat(filepath.Join(lab.dc.ShareDir(share), "dir")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("dir still on the server: %v", err)
			}
		})
	}
}

// TestGetSmall checks Get's one round trip for files up to 64 KiB
// (CREATE + READ + CLOSE compounded) and its hand-over to the streamed
// read above that, byte for byte, on both shares.
func TestGetSmall(t *testing.T) {
	labtest.Need(t)
	s := dial(t, labDialer(t), labServer())
	for _, share := range []string{samba.ShareSigned, samba.ShareEncrypted} {
		t.Run(share, func(t *testing.T) {
			sh := mount(t, s, share)
			dir := lab.dc.ShareDir(share)
			for _, size := range []int{0, 1, smallFile - 1, smallFile, smallFile + 1, 200 << 10} {
				data := randomBytes(size)
				name := fmt.Sprintf("small-%d.bin", size)
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
					t.Fatal(err)
				}
				before := s.c.conn.Stats()
				var got bytes.Buffer
				n, err := sh.Get(t.Context(), name, &got, nil)
				after := s.c.conn.Stats()
				if err != nil || n != int64(size) || !bytes.Equal(got.Bytes(), data) {
					t.Fatalf("get %s: n=%d err=%v equal=%v", name, n, err, bytes.Equal(got.Bytes(), data))
				}
				if share == samba.ShareSigned && size <= smallFile {
					// Three signed requests and three signed responses.
					if out, in := after.SignedOut-before.SignedOut, after.SignedIn-before.SignedIn; out != 3 || in != 3 {
						t.Errorf("get %s: %d requests and %d responses, want the 3 of one compound", name, out, in)
					}
				}
			}
			if err := os.Mkdir(filepath.Join(dir, "small-dir"), 0o755); err != nil && !os.IsExist(err) {
				t.Fatal(err)
			}
			if _, err := sh.Get(t.Context(), "small-dir", io.Discard, nil); err == nil || !strings.Contains(err.Error(), "directory") {
				t.Errorf("get of a directory: %v, want an error saying it is a directory", err)
			}
			if _, err := sh.Get(t.Context(), "no-such-small.bin", io.Discard, nil); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("get of a missing file: %v, want fs.ErrNotExist", err)
			}
		})
	}
}

// TestDefaultCache dials with no CCache: the session logs in into a
// MEMORY: cache of its own, which Close destroys; with Cache() as the
// only credentials the dial says what is missing instead of trying.
func TestDefaultCache(t *testing.T) {
	labtest.Need(t)
	k, _ := labKerberos(t)
	d := &Dialer{Kerberos: k, Credentials: Password(lab.user+"@"+lab.dc.Realm, []byte(lab.pw))}
	s, err := d.Dial(t.Context(), labServer())
	if err != nil {
		t.Fatal(err)
	}
	if d.CCache != nil {
		t.Error("Dial changed the caller's Dialer")
	}
	if got := s.Info().Client; got != lab.user+"@"+lab.dc.Realm {
		t.Errorf("client %q", got)
	}
	name := s.d.CCache.Name()
	if !strings.HasPrefix(name, "MEMORY:") {
		t.Errorf("the default cache is %s, want a MEMORY: cache", name)
	}
	sh := mount(t, s, samba.ShareSigned)
	if _, err := sh.Stat(t.Context(), "."); err != nil {
		t.Fatal(err)
	}
	sh.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	cc, err := k.OpenCCache(name)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	if p, err := cc.Principal(); err == nil {
		t.Errorf("the session's cache outlived Close (principal %s)", p)
	}

	_, err = (&Dialer{Kerberos: k}).Dial(t.Context(), labServer())
	if err == nil || !strings.Contains(err.Error(), "Dialer.CCache is nil") {
		t.Errorf("no cache and no login: %v", err)
	}
}
