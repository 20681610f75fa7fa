package smb

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/samba"
	"github.com/smbkrb/smbkrb/internal/lab/tamper"
	"github.com/smbkrb/smbkrb/krb5"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
)

// The DCs of this file, each with its own smb.conf, use 127.0.0.50-59.

// extraDC starts a DC of the lab realm's name at addr with extra [global]
// lines, adds the lab user, and stops it when the test ends.
func extraDC(t *testing.T, name, addr string, global ...string) *samba.DC {
	t.Helper()
	dc, err := samba.Start(filepath.Join(lab.dir, name), samba.Options{Realm: "LAB.TEST", Domain: "LAB", HostName: "dc1", Addr: addr, Global: global})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dc.Close() })
	if err := dc.AddUser(lab.user, lab.pw); err != nil {
		t.Fatal(err)
	}
	return dc
}

// dcDialer logs the lab user in to dc's KDC, with cfg's other settings.
func dcDialer(t *testing.T, dc *samba.DC, cfg *krb5.Config) *Dialer {
	t.Helper()
	k, cc := dcKerberos(t, dc, cfg)
	return &Dialer{Kerberos: k, CCache: cc, Credentials: Password(lab.user+"@"+dc.Realm, []byte(lab.pw))}
}

func dcServer(dc *samba.DC) Server { return Server{Name: dc.FQDN, Addr: dc.Addr} }

// serverView is what the DC's smbstatus says of session id.
func serverView(t *testing.T, dc *samba.DC, id uint64) samba.SessionStatus {
	t.Helper()
	list, err := dc.Sessions()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("smbstatus does not list session %#x: %+v", id, list)
	return samba.SessionStatus{}
}

// roundTrip writes and reads back a file of n random bytes on sh.
func roundTrip(t *testing.T, sh *Share, name string, n int) {
	t.Helper()
	data := randomBytes(n)
	if err := sh.WriteFile(t.Context(), name, data); err != nil {
		t.Fatal(err)
	}
	got, err := sh.ReadFile(t.Context(), name)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d of %d bytes (%v)", len(got), n, err)
	}
	if err := sh.Remove(t.Context(), name); err != nil {
		t.Fatal(err)
	}
}

// TestServerAlgorithms runs sessions against DCs configured the ways
// that matter, and checks what was negotiated on both sides: the client's
// SessionInfo and the server's smbstatus.
func TestServerAlgorithms(t *testing.T) {
	labtest.Need(t)
	cases := []struct {
		name, addr string
		global     []string
		// what both sides must report
		dialect, status, signing, cipher string
		encrypted                        bool
		// the cipher smbstatus shows on the encrypted share's tree
		treeCipher string
	}{
		{
			// Azure Files "maximum security": SMB 3.1.1, AES-256-GCM only,
			// every session encrypted.
			name: "aes256-gcm-only", addr: "127.0.0.50",
			global:  []string{"server min protocol = SMB3_11", "server smb3 encryption algorithms = AES-256-GCM", "server smb encrypt = required"},
			dialect: "3.1.1", status: "SMB3_11", signing: "AES-128-GMAC", cipher: "AES-256-GCM", encrypted: true,
		},
		{
			name: "gmac", addr: "127.0.0.51",
			global:  []string{"server smb3 signing algorithms = AES-128-GMAC"},
			dialect: "3.1.1", status: "SMB3_11", signing: "AES-128-GMAC", cipher: "AES-128-GCM", treeCipher: "AES-128-GCM",
		},
		{
			name: "cmac", addr: "127.0.0.52",
			global:  []string{"server smb3 signing algorithms = AES-128-CMAC"},
			dialect: "3.1.1", status: "SMB3_11", signing: "AES-128-CMAC", cipher: "AES-128-GCM", treeCipher: "AES-128-GCM",
		},
		{
			name: "smb3_00", addr: "127.0.0.53",
			global:  []string{"server max protocol = SMB3_00"},
			dialect: "3.0", status: "SMB3_00", signing: "AES-128-CMAC", cipher: "AES-128-CCM", treeCipher: "AES-128-CCM",
		},
		{
			name: "aes256-ccm", addr: "127.0.0.54",
			global: []string{"server smb3 encryption algorithms = AES-256-CCM"},
			// Samba 4.17's smbstatus names no AES-256 cipher on a tree
			// connect ("???"); the session line names it.
			dialect: "3.1.1", status: "SMB3_11", signing: "AES-128-GMAC", cipher: "AES-256-CCM", treeCipher: "???",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dc := extraDC(t, c.name, c.addr, c.global...)
			s := dial(t, dcDialer(t, dc, nil), dcServer(dc))
			info := s.Info()
			if info.Dialect != c.dialect || info.Signing != c.signing || info.Cipher != c.cipher || info.Encrypted != c.encrypted {
				t.Errorf("client: dialect %s, signing %s, cipher %s, encrypted %v; want %s, %s, %s, %v",
					info.Dialect, info.Signing, info.Cipher, info.Encrypted, c.dialect, c.signing, c.cipher, c.encrypted)
			}
			for _, share := range []string{samba.ShareSigned, samba.ShareEncrypted} {
				sh := mount(t, s, share)
				before := s.c.conn.Stats()
				roundTrip(t, sh, "algorithms.bin", 3<<20+5)
				after := s.c.conn.Stats()
				sealed := c.encrypted || share == samba.ShareEncrypted
				if sealed && (after.SealedIn == before.SealedIn || after.SignedOut != before.SignedOut) ||
					!sealed && (after.SignedIn == before.SignedIn || after.SealedOut != before.SealedOut) {
					t.Errorf("%s: frames %+v -> %+v, want them all %s", share, before, after, map[bool]string{true: "encrypted", false: "signed"}[sealed])
				}
			}
			v := serverView(t, dc, info.SessionID)
			t.Logf("smbstatus: %+v", v)
			if v.Dialect != c.status || v.Signing != c.signing {
				t.Errorf("server: dialect %s, signing %s; want %s, %s", v.Dialect, v.Signing, c.status, c.signing)
			}
			degree := map[bool]string{true: "full", false: "partial"}[c.encrypted]
			if v.Encryption != c.cipher || v.EncryptionDegree != degree {
				t.Errorf("server: session encryption %q (%s), want %s (%s)", v.Encryption, v.EncryptionDegree, c.cipher, degree)
			}
			if !c.encrypted {
				if tr, ok := v.Tree(samba.ShareEncrypted); !ok || tr.Encryption != c.treeCipher {
					t.Errorf("server: tree connect to %s: %+v, want %s", samba.ShareEncrypted, tr, c.treeCipher)
				}
			}
		})
	}
}

// TestCipherPolicy: a client that demands AES-256-GCM against a server
// without it gets ErrPolicy with the reason, never a weaker cipher.
func TestCipherPolicy(t *testing.T) {
	labtest.Need(t)
	dc := extraDC(t, "no-aes256", "127.0.0.55", "server smb3 encryption algorithms = AES-128-GCM, AES-128-CCM")
	d := dcDialer(t, dc, nil)
	d.Ciphers = []Cipher{AES256GCM}
	d.Encrypt = true
	_, err := d.Dial(t.Context(), dcServer(dc))
	if !errors.Is(err, ErrPolicy) || !strings.Contains(err.Error(), "AES-256-GCM") {
		t.Fatalf("Encrypt with AES-256-GCM only: %v, want ErrPolicy naming AES-256-GCM", err)
	}
	t.Log(err)
	// Without Encrypt the session comes up signed, and only the share
	// that needs encryption is refused.
	d.Encrypt = false
	s := dial(t, d, dcServer(dc))
	if s.Info().Cipher != "" {
		t.Errorf("cipher %q negotiated, none was in common", s.Info().Cipher)
	}
	mount(t, s, samba.ShareSigned)
	if _, err := s.Mount(t.Context(), samba.ShareEncrypted); !errors.Is(err, ErrPolicy) {
		t.Errorf("mounting the encrypted share without a cipher: %v, want ErrPolicy", err)
	}
	// The same server with the default list: AES-128-GCM.
	s2 := dial(t, dcDialer(t, dc, nil), dcServer(dc))
	if c := s2.Info().Cipher; c != "AES-128-GCM" {
		t.Errorf("default ciphers: %q", c)
	}
	if v := serverView(t, dc, s2.Info().SessionID); v.Dialect != "SMB3_11" {
		t.Errorf("smbstatus %+v", v)
	}
}

// proxied returns a dialer whose connections to the lab DC go through a
// tamper proxy.
func proxied(t *testing.T) (*Dialer, *tamper.Proxy) {
	t.Helper()
	p, err := tamper.Start("127.0.0.1:0", net.JoinHostPort(lab.dc.Addr, "445"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	d := labDialer(t)
	d.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, p.Addr())
	}
	return d, p
}

// TestTamperedResponse flips one bit of a signed READ response and of an
// encrypted one: the read fails with ErrPolicy and returns no data.
func TestTamperedResponse(t *testing.T) {
	labtest.Need(t)
	data := randomBytes(1 << 20)
	for _, share := range []string{samba.ShareSigned, samba.ShareEncrypted} {
		t.Run(share, func(t *testing.T) {
			d, p := proxied(t)
			s := dial(t, d, labServer())
			sh := mount(t, s, share)
			if err := sh.WriteFile(t.Context(), "tamper.bin", data); err != nil {
				t.Fatal(err)
			}
			pred := tamper.IsSignedResponse(0x0008) // READ
			if share == samba.ShareEncrypted {
				pred = tamper.IsTransform
			}
			// A byte in the middle of the file's data.
			flipped := p.FlipServerFrame(pred, 64+16+len(data)/2)
			got, err := sh.ReadFile(t.Context(), "tamper.bin")
			select {
			case <-flipped:
			default:
				t.Fatalf("no frame was flipped (read: %d bytes, %v)", len(got), err)
			}
			if !errors.Is(err, ErrPolicy) || len(got) != 0 {
				t.Fatalf("read of a tampered response: %d bytes, %v; want ErrPolicy and nothing", len(got), err)
			}
			t.Log(err)
			// The session is over: nothing more is believed from it.
			if _, err := sh.Stat(t.Context(), "tamper.bin"); err == nil {
				t.Error("the tampered session still answers")
			}
			// A fresh session removes the file.
			s2 := dial(t, labDialer(t), labServer())
			if err := mount(t, s2, share).Remove(t.Context(), "tamper.bin"); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestNoncesNeverRepeat records every encrypted frame the client sends
// during a 64 MiB upload and download and checks their nonces.
func TestNoncesNeverRepeat(t *testing.T) {
	labtest.Need(t)
	d, p := proxied(t)
	d.Encrypt = true
	var mu sync.Mutex
	seen := map[[16]byte]bool{}
	frames, repeats := 0, 0
	p.RecordClientFrames(func(f []byte) {
		if n, ok := tamper.TransformNonce(f); ok {
			mu.Lock()
			frames++
			if seen[n] {
				repeats++
			}
			seen[n] = true
			mu.Unlock()
		}
	})
	s := dial(t, d, labServer())
	sh := mount(t, s, samba.ShareSigned)
	data := randomBytes(64 << 20)
	opts := TransferOptions{ChunkSize: 256 << 10, Parallel: 8}
	if _, err := sh.Put(t.Context(), "nonces.bin", bytes.NewReader(data), &PutOptions{TransferOptions: opts}); err != nil {
		t.Fatal(err)
	}
	defer sh.Remove(t.Context(), "nonces.bin")
	var back bytes.Buffer
	if _, err := sh.Get(t.Context(), "nonces.bin", &back, &opts); err != nil || !bytes.Equal(back.Bytes(), data) {
		t.Fatalf("get: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if frames < 512 || repeats != 0 {
		t.Fatalf("%d encrypted frames, %d repeated nonces", frames, repeats)
	}
	t.Logf("%d encrypted frames, all nonces distinct", frames)
}

// TestCancelMidTransfer: cancelling a Get or a Put whose server has
// stopped answering returns the context's error within a second (the
// issue's bound; the engine sends CANCEL and does not wait for the
// server), and the cancelled Put leaves no file under its name.
func TestCancelMidTransfer(t *testing.T) {
	labtest.Need(t)
	d, p := proxied(t)
	s := dial(t, d, labServer())
	sh := mount(t, s, samba.ShareSigned)
	data := randomBytes(32 << 20)
	if err := sh.WriteFile(t.Context(), "cancel.bin", data); err != nil {
		t.Fatal(err)
	}
	defer sh.Remove(context.Background(), "cancel.bin")
	// quiet, once 4 MiB have moved, makes the server go quiet for 10 s
	// and then gives up on ctx.
	quiet := func(cancel context.CancelFunc, cancelled *time.Time) func(n int64) {
		return func(n int64) {
			if n >= 4<<20 && cancelled.IsZero() {
				p.Hold(10 * time.Second)
				*cancelled = time.Now()
				cancel()
			}
		}
	}
	check := func(t *testing.T, err error, cancelled time.Time) {
		t.Helper()
		took := time.Since(cancelled)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("%v, want context.Canceled", err)
		}
		t.Logf("returned %v after the cancel", took)
		if took > time.Second {
			t.Errorf("returned %v after the cancel, want within 1s", took)
		}
	}
	t.Run("get", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var cancelled time.Time
		_, err := sh.Get(ctx, "cancel.bin", &funcWriter{fn: quiet(cancel, &cancelled)}, nil)
		check(t, err, cancelled)
	})
	p.Hold(0)
	t.Run("put", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var cancelled time.Time
		fn := quiet(cancel, &cancelled)
		_, err := sh.Put(ctx, "cancelled-put.bin", bytes.NewReader(data), &PutOptions{TransferOptions: TransferOptions{
			Progress: func(done, _ int64) { fn(done) },
		}})
		check(t, err, cancelled)
		p.Hold(0)
		if _, err := sh.Stat(t.Context(), "cancelled-put.bin"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("after a cancelled put the target: %v, want fs.ErrNotExist", err)
		}
		// The temporary file goes too, once the background cleanup ends.
		s.bg.Wait()
		ents, err := os.ReadDir(lab.dc.ShareDir(samba.ShareSigned))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if strings.Contains(e.Name(), "cancelled-put.bin") {
				t.Errorf("left on the server after a cancelled put: %s", e.Name())
			}
		}
	})
}

type funcWriter struct {
	n  int64
	fn func(n int64)
}

func (w *funcWriter) Write(b []byte) (int, error) {
	w.n += int64(len(b))
	w.fn(w.n)
	return len(b), nil
}

// TestRestartMidTransfer restarts Samba in the middle of a 128 MiB put
// and of a 128 MiB get: each finishes byte-exact or fails with a clear
// error, and a put never leaves a partial file under the target name.
func TestRestartMidTransfer(t *testing.T) {
	labtest.Need(t)
	dc := extraDC(t, "restart", "127.0.0.56")
	d := dcDialer(t, dc, nil)
	s := dial(t, d, dcServer(dc))
	sh := mount(t, s, samba.ShareSigned)
	data := randomBytes(128 << 20)
	sum := sha256.Sum256(data)
	disk := filepath.Join(dc.ShareDir(samba.ShareSigned), "restart.bin")
	restartAt := func(n int64) func(int64, int64) {
		var once sync.Once
		return func(done, _ int64) {
			if done >= n {
				once.Do(func() {
					if err := dc.Restart(500 * time.Millisecond); err != nil {
						t.Errorf("restart: %v", err)
					}
				})
			}
		}
	}
	t.Run("put", func(t *testing.T) {
		_, err := sh.Put(t.Context(), "restart.bin", bytes.NewReader(data), &PutOptions{TransferOptions: TransferOptions{Progress: restartAt(40 << 20)}})
		got, rerr := os.ReadFile(disk)
		switch {
		case err == nil:
			if rerr != nil || sha256.Sum256(got) != sum {
				t.Fatalf("put succeeded, but the server has %d bytes (%v), not the data", len(got), rerr)
			}
			t.Logf("put finished across the restart (reconnects %d)", s.Info().Reconnects)
		default:
			t.Logf("put failed across the restart: %v", err)
			var e *Error
			if !errors.As(err, &e) || !errors.Is(rerr, os.ErrNotExist) {
				t.Fatalf("put: %v; target on the server: %d bytes, %v", err, len(got), rerr)
			}
		}
	})
	if _, err := os.Stat(disk); err != nil {
		if err := sh.WriteFile(t.Context(), "restart.bin", data); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("get", func(t *testing.T) {
		var got bytes.Buffer
		_, err := sh.Get(t.Context(), "restart.bin", &got, &TransferOptions{Progress: restartAt(40 << 20)})
		if err == nil {
			if sha256.Sum256(got.Bytes()) != sum {
				t.Fatalf("get succeeded with %d bytes that differ from the file", got.Len())
			}
			t.Logf("get finished across the restart (reconnects %d)", s.Info().Reconnects)
			return
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("get: %v, not an *Error", err)
		}
		t.Logf("get failed across the restart: %v", err)
	})
	sh.Remove(t.Context(), "restart.bin")
}

// TestReauthSameSession: with tickets of a little over five minutes (the
// lab KDC's least), the session authenticates again on the same
// connection and SessionId before the ticket ends; a file opened before
// still reads, and the server's smbstatus shows one session, the same.
func TestReauthSameSession(t *testing.T) {
	labtest.Need(t)
	// Over three minutes of waiting, beside the other tests.
	t.Parallel()
	d := dcDialer(t, lab.dc, &krb5.Config{TicketLifetime: 5*time.Minute + 30*time.Second})
	s := dial(t, d, labServer())
	info := s.Info()
	sh := mount(t, s, samba.ShareEncrypted)
	data := randomBytes(2<<20 + 3)
	if err := sh.WriteFile(t.Context(), "reauth.bin", data); err != nil {
		t.Fatal(err)
	}
	defer sh.Remove(context.Background(), "reauth.bin")
	f, err := sh.Open(t.Context(), "reauth.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	before := serverView(t, lab.dc, info.SessionID)
	// Wait until the ticket is within the re-authentication margin.
	wait := time.Until(info.Ticket.EndTime.Add(-reauthMargin)) + 5*time.Second
	t.Logf("ticket ends %v; waiting %v", info.Ticket.EndTime, wait.Round(time.Second))
	select {
	case <-time.After(wait):
	case <-t.Context().Done():
		t.Fatal(t.Context().Err())
	}
	if _, err := sh.Stat(t.Context(), "reauth.bin"); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(data))
	if _, err := f.ReadAt(got, 0); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the file opened before: %v", err)
	}
	after := s.Info()
	if after.Renewals != 1 || after.Reconnects != 0 || after.SessionID != info.SessionID {
		t.Errorf("renewals %d, reconnects %d, session %#x (was %#x)", after.Renewals, after.Reconnects, after.SessionID, info.SessionID)
	}
	if !after.Ticket.EndTime.After(info.Ticket.EndTime) {
		t.Errorf("the ticket still ends %v", after.Ticket.EndTime)
	}
	v := serverView(t, lab.dc, info.SessionID)
	if v.PID != before.PID || v.RemoteAddr != before.RemoteAddr {
		t.Errorf("the server's view changed connection: %+v -> %+v", before, v)
	}
	if _, err := io.ReadAll(io.NewSectionReader(f, 0, int64(len(data)))); err != nil {
		t.Fatal(err)
	}
}
