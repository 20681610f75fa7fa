package smb

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/fstest"

	"github.com/smbkrb/smbkrb/internal/lab/samba"
	"github.com/smbkrb/smbkrb/krb5"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
)

// TestLoginErrors: each failure is an *Error naming the step, matching the
// krb5 sentinel, in words a user can act on.
func TestLoginErrors(t *testing.T) {
	labtest.Need(t)
	cases := []struct {
		name   string
		creds  Credentials
		srv    Server
		op     string
		is     error
		phrase string
	}{
		{"wrong password", Password(lab.user+"@"+lab.dc.Realm, []byte("not-"+lab.pw)), labServer(), "login", krb5.ErrPreauthFailed, "password"},
		{"unknown user", Password("nosuchuser@"+lab.dc.Realm, []byte(lab.pw)), labServer(), "login", krb5.ErrPrincipalUnknown, "nosuchuser"},
		{"unknown SPN", Password(lab.user+"@"+lab.dc.Realm, []byte(lab.pw)), Server{Name: "nosuch.lab.test", Addr: lab.dc.Addr}, "service ticket", krb5.ErrPrincipalUnknown, "cifs/nosuch.lab.test"},
		{"empty cache", nil, labServer(), "login", krb5.ErrNoCredentials, "kinit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k, cc := labKerberos(t)
			d := &Dialer{Kerberos: k, CCache: cc, Credentials: c.creds}
			_, err := d.Dial(t.Context(), c.srv)
			var e *Error
			if !errors.As(err, &e) || e.Op != c.op || !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.phrase) {
				t.Fatalf("err = %v (op %q), want op %q, errors.Is %v, mentioning %q", err, opOf(e), c.op, c.is, c.phrase)
			}
			if strings.Contains(err.Error(), lab.pw) {
				t.Fatal("the password leaked into the error")
			}
			t.Log(err)
		})
	}
	t.Run("server not listening", func(t *testing.T) {
		d := labDialer(t)
		_, err := d.Dial(t.Context(), Server{Name: lab.dc.FQDN, Addr: lab.dc.Addr + ":1"})
		var e *Error
		if !errors.As(err, &e) || e.Op != "connect" || !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("address as name", func(t *testing.T) {
		d := labDialer(t)
		_, err := d.Dial(t.Context(), Server{Name: lab.dc.Addr})
		if err == nil || !strings.Contains(err.Error(), "Server.Name") {
			t.Fatalf("err = %v", err)
		}
	})
}

func opOf(e *Error) string {
	if e == nil {
		return ""
	}
	return e.Op
}

// TestEncryptionPolicy: with Encrypt, the whole session is encrypted,
// also on a share the server would only sign; the traffic really is sealed
// on the wire, and the server says so.
func TestEncryptionPolicy(t *testing.T) {
	labtest.Need(t)
	d := labDialer(t)
	d.Encrypt = true
	s := dial(t, d, labServer())
	if !s.Info().Encrypted {
		t.Error("SessionInfo.Encrypted is false with Dialer.Encrypt")
	}
	for _, share := range []string{samba.ShareSigned, samba.ShareEncrypted} {
		sh := mount(t, s, share)
		if !sh.Info().Encrypted {
			t.Errorf("%s: ShareInfo.Encrypted is false", share)
		}
		before := s.c.conn.Stats()
		if err := sh.WriteFile(t.Context(), "sealed.txt", []byte("secret")); err != nil {
			t.Fatal(err)
		}
		after := s.c.conn.Stats()
		if after.SealedOut-before.SealedOut < 4 || after.SealedIn-before.SealedIn < 4 ||
			after.SignedOut != before.SignedOut || after.PlainOut != before.PlainOut || after.SignedIn != before.SignedIn {
			t.Errorf("%s: frames on the wire during the write: before %+v, after %+v", share, before, after)
		}
		sh.Remove(t.Context(), "sealed.txt")
	}
	if _, err := s.Mount(t.Context(), "nosuchshare"); !errors.Is(err, ErrNoShare) {
		t.Errorf("missing share: %v", err)
	}
}

// TestReadOnlyShare: a write fails with a permission error and nothing
// appears on the share, not even a temporary file.
func TestReadOnlyShare(t *testing.T) {
	labtest.Need(t)
	s := dial(t, labDialer(t), labServer())
	sh := mount(t, s, samba.ShareReadOnly)
	dir := lab.dc.ShareDir(samba.ShareReadOnly)
	before, _ := os.ReadDir(dir)
	_, err := sh.Put(t.Context(), "nope.bin", bytes.NewReader(randomBytes(1<<20)), nil)
	if !errors.Is(err, fs.ErrPermission) || !errors.Is(err, ErrAccessDenied) {
		t.Fatalf("put on the read-only share: %v", err)
	}
	if err := sh.Mkdir(t.Context(), "nodir"); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("mkdir on the read-only share: %v", err)
	}
	after, _ := os.ReadDir(dir)
	if !slices.EqualFunc(before, after, func(a, b os.DirEntry) bool { return a.Name() == b.Name() }) {
		t.Fatalf("the read-only share changed: %v -> %v", before, after)
	}
	t.Log(err)
}

// cutReader gives n bytes, then closes the connection under the session
// and blocks until the transfer has failed.
type cutReader struct {
	r    io.Reader
	n    int
	conn func() net.Conn
	once sync.Once
}

func (c *cutReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.once.Do(func() { c.conn().Close() })
		return 0, errors.New("the source broke")
	}
	p = p[:min(len(p), c.n)]
	n, err := c.r.Read(p)
	c.n -= n
	return n, err
}

// TestInterruptedUpload: the connection dies in the middle of an upload;
// the target keeps its old content (or stays absent), and nothing partial
// appears under its name.
func TestInterruptedUpload(t *testing.T) {
	labtest.Need(t)
	for _, target := range []string{"fresh.bin", "existing.bin"} {
		t.Run(target, func(t *testing.T) {
			d := labDialer(t)
			var mu sync.Mutex
			var conn net.Conn
			d.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
				mu.Lock()
				conn = c
				mu.Unlock()
				return c, err
			}
			old := []byte("the old content\n")
			s := dial(t, d, labServer())
			sh := mount(t, s, samba.ShareSigned)
			if target == "existing.bin" {
				if err := sh.WriteFile(t.Context(), target, old); err != nil {
					t.Fatal(err)
				}
			}
			r := &cutReader{r: bytes.NewReader(randomBytes(16 << 20)), n: 5<<20 + 3, conn: func() net.Conn { mu.Lock(); defer mu.Unlock(); return conn }}
			n, err := sh.Put(t.Context(), target, r, nil)
			if err == nil {
				t.Fatalf("put survived a dead connection (%d bytes)", n)
			}
			t.Logf("put after %d bytes: %v", n, err)
			disk := filepath.Join(lab.dc.ShareDir(samba.ShareSigned), target)
			got, rerr := os.ReadFile(disk)
			switch target {
			case "fresh.bin":
				if !errors.Is(rerr, fs.ErrNotExist) {
					t.Fatalf("a file appeared under the target name (%d bytes, %v)", len(got), rerr)
				}
			default:
				if !bytes.Equal(got, old) {
					t.Fatalf("the old file changed: %d bytes, %v", len(got), rerr)
				}
			}
			// A new session sees the same.
			s2 := dial(t, labDialer(t), labServer())
			sh2 := mount(t, s2, samba.ShareSigned)
			fi, err := sh2.Stat(t.Context(), target)
			if target == "fresh.bin" && !errors.Is(err, fs.ErrNotExist) || target == "existing.bin" && (err != nil || fi.Size() != int64(len(old))) {
				t.Fatalf("stat from a new session: %v %v", fi, err)
			}
			sh2.Remove(t.Context(), target)
		})
	}
}

// TestFS runs io/fs's own conformance test on a share.
func TestFS(t *testing.T) {
	labtest.Need(t)
	s := dial(t, labDialer(t), labServer())
	sh := mount(t, s, samba.ShareEncrypted)
	ctx := t.Context()
	if err := sh.MkdirAll(ctx, "fstest/d/e"); err != nil {
		t.Fatal(err)
	}
	// fstest reads every file a byte at a time too: keep them small.
	files := map[string][]byte{"fstest/a.txt": []byte("alpha\n"), "fstest/d/b.bin": randomBytes(20<<10 + 1), "fstest/d/e/c.txt": nil}
	for name, data := range files {
		if err := sh.WriteFile(ctx, name, data); err != nil {
			t.Fatal(err)
		}
	}
	fsys, err := fs.Sub(sh.FS(ctx), "fstest")
	if err != nil {
		t.Fatal(err)
	}
	if err := fstest.TestFS(fsys, "a.txt", "d/b.bin", "d/e/c.txt"); err != nil {
		t.Fatal(err)
	}
	got, err := fs.ReadFile(fsys, "d/b.bin")
	if err != nil || !bytes.Equal(got, files["fstest/d/b.bin"]) {
		t.Fatalf("fs.ReadFile: %v", err)
	}
	for _, p := range []string{"fstest/a.txt", "fstest/d/b.bin", "fstest/d/e/c.txt", "fstest/d/e", "fstest/d", "fstest"} {
		if err := sh.Remove(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
}

// cancelReader cancels the transfer's context after n bytes.
type cancelReader struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.cancel()
	}
	p = p[:min(len(p), max(c.n, 1))]
	n, err := c.r.Read(p)
	c.n -= n
	return n, err
}

// TestCancelledUpload: a cancelled Put returns the context's error and
// removes its temporary file in the background (the connection is alive,
// so once that ends nothing at all may remain).
func TestCancelledUpload(t *testing.T) {
	labtest.Need(t)
	s := dial(t, labDialer(t), labServer())
	sh := mount(t, s, samba.ShareSigned)
	dir := lab.dc.ShareDir(samba.ShareSigned)
	before, _ := os.ReadDir(dir)
	ctx, cancel := context.WithCancel(t.Context())
	_, err := sh.Put(ctx, "cancelled.bin", &cancelReader{r: bytes.NewReader(randomBytes(12 << 20)), n: 3 << 20, cancel: cancel}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("put: %v, want context.Canceled", err)
	}
	// The removal goes on in the background after Put returns; the
	// session waits for it.
	s.bg.Wait()
	after, _ := os.ReadDir(dir)
	if !slices.EqualFunc(before, after, func(a, b os.DirEntry) bool { return a.Name() == b.Name() }) {
		t.Fatalf("the share changed: %v -> %v", before, after)
	}
}
