package entra_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/entra"
	"github.com/smbkrb/smbkrb/entra/entratest"
	"github.com/smbkrb/smbkrb/internal/lab/kdcproxy"
	"github.com/smbkrb/smbkrb/internal/lab/samba"
	"github.com/smbkrb/smbkrb/internal/lab/testmain"
	"github.com/smbkrb/smbkrb/krb5"
	"github.com/smbkrb/smbkrb/smb"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
)

// putGet writes size random bytes to name on share and reads them back
// byte-exact.
func putGet(t *testing.T, s *smb.Session, share, name string, size int) {
	t.Helper()
	sh, err := s.Mount(t.Context(), share)
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	data := make([]byte, size)
	rand.Read(data)
	if _, err := sh.Put(t.Context(), name, bytes.NewReader(data), nil); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if _, err := sh.Get(t.Context(), name, &got, nil); err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got.Bytes()) != sha256.Sum256(data) {
		t.Fatalf("%s came back different: %d bytes", name, got.Len())
	}
	if err := sh.Remove(t.Context(), name); err != nil {
		t.Fatal(err)
	}
}

// signIn signs alice in with her password on the shared device.
func signIn(t *testing.T, c *entra.Client, k *krb5.Context, name string) *entra.SignIn {
	t.Helper()
	u := lab.users[name]
	s, err := c.SignInPassword(t.Context(), device(t), u.upn, []byte(u.pw))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// TestRegisterSignInPutGet is the whole flow with port 88 rejected:
// device-code sign-in for the registration token, registration, a password
// PRT request with tgt=true, the cloud TGT into a cache, a service ticket
// through the emulated Entra KDC proxy from the real KDC, and a
// byte-exact put/get on the encrypted share of the "storage account".
func TestRegisterSignInPutGet(t *testing.T) {
	labtest.Need(t)
	c := client(t, lab.emu)
	d := register(t, lab.emu, c)
	if d.ID == "" || d.Certificate == nil {
		t.Fatalf("device %+v", d)
	}
	k := kerberos(t, lab.emu, c, nil)
	u := lab.users["alice"]
	before := lab.emu.Requests("kdcproxy")
	s, err := c.SignInPassword(t.Context(), d, u.upn, []byte(u.pw))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	in := s.Info()
	if in.User != u.upn || in.DeviceID != d.ID {
		t.Errorf("session of %q on %q", in.User, in.DeviceID)
	}
	if !strings.HasSuffix(in.Client, "@"+entra.KerberosRealm) || in.TGTEnd.Before(time.Now().Add(time.Hour)) {
		t.Errorf("cloud TGT %s until %v", in.Client, in.TGTEnd)
	}
	// alice is synced from CORP.TEST: Entra sent the partial TGT of that
	// realm too (cloud Kerberos trust), and the session keeps it.
	if ad := s.PartialADTGT(); ad == nil || ad.Server != "krbtgt/CORP.TEST@CORP.TEST" || in.ADRealm != "CORP.TEST" {
		t.Errorf("tgt_ad: %+v (realm %q)", ad, in.ADRealm)
	} else {
		ad.Zero()
	}
	cc := testmain.MemoryCache(t, k)
	if err := s.StoreTGT(cc); err != nil {
		t.Fatal(err)
	}
	sess, err := dialer(k, cc, c.Credentials(s, "")).Dial(t.Context(), storage())
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	info := sess.Info()
	if info.SPN != "cifs/"+account+"@"+entra.KerberosRealm || info.Client != in.Client {
		t.Errorf("session as %s for %s", info.Client, info.SPN)
	}
	if lab.emu.Requests("kdcproxy") <= before {
		t.Error("the service ticket did not come through the emulated KDC proxy")
	}
	putGet(t, sess, samba.ShareEncrypted, "entra.bin", 3<<20+11)
}

// TestDeviceCodeSignIn signs in a user whose Conditional Access demands
// MFA: the password PRT request fails with ErrMFARequired, the
// device-code path (where MFA happens in the browser) works.
func TestDeviceCodeSignIn(t *testing.T) {
	labtest.Need(t)
	c := client(t, lab.emu)
	k := kerberos(t, lab.emu, c, nil)
	d := device(t)
	bob := lab.users["bob"]
	_, err := c.SignInPassword(t.Context(), d, bob.upn, []byte(bob.pw))
	if !errors.Is(err, entra.ErrMFARequired) {
		t.Fatalf("password sign-in of an MFA user: %v, want ErrMFARequired", err)
	}
	if !strings.Contains(err.Error(), "AADSTS50076") || !strings.Contains(err.Error(), "exclude") {
		t.Errorf("the error does not name the code and the remedy: %v", err)
	}
	tok := deviceCode(t, lab.emu, c, bob.upn)
	if tok.RefreshToken == "" || tok.User != bob.upn {
		t.Fatalf("device-code result for %q, refresh token %v", tok.User, tok.RefreshToken != "")
	}
	s, err := c.SignInRefreshToken(t.Context(), d, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Info().User != bob.upn {
		t.Errorf("signed in as %q", s.Info().User)
	}
	cc := testmain.MemoryCache(t, k)
	if err := s.StoreTGT(cc); err != nil {
		t.Fatal(err)
	}
	sess, err := dialer(k, cc, nil).Dial(t.Context(), storage())
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	putGet(t, sess, samba.ShareEncrypted, "bob.bin", 1<<20+3)
}

// TestResume saves the device and the sign-in, then works from them with
// new objects, as a restarted process does: no sign-in request reaches
// the emulator, and the files on disk are private.
func TestResume(t *testing.T) {
	labtest.Need(t)
	dir := filepath.Join(t.TempDir(), "state")
	{
		c := client(t, lab.emu)
		k := kerberos(t, lab.emu, c, nil)
		d := device(t)
		if err := d.Save(dir); err != nil {
			t.Fatal(err)
		}
		s := signIn(t, c, k, "alice")
		if err := s.Save(dir); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		fi, _ := e.Info()
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", e.Name(), fi.Mode().Perm())
		}
	}
	prts := lab.emu.Requests("prt")
	c := client(t, lab.emu)
	k := kerberos(t, lab.emu, c, nil)
	d, err := entra.LoadDevice(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := entra.LoadSignIn(dir, d)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Info().ADRealm != "CORP.TEST" {
		t.Errorf("the resumed session lost tgt_ad: %+v", s.Info())
	}
	cc := testmain.MemoryCache(t, k)
	sess, err := dialer(k, cc, c.Credentials(s, dir)).Dial(t.Context(), storage())
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if n := lab.emu.Requests("prt"); n != prts {
		t.Errorf("the resumed session made %d PRT requests", n-prts)
	}
	putGet(t, sess, samba.ShareEncrypted, "resumed.bin", 256<<10)

	// A world-readable key file is refused.
	if err := os.Chmod(filepath.Join(dir, "device-key.pem"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := entra.LoadDevice(dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("loading a readable key: %v", err)
	}
	if err := entra.RemoveDevice(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("RemoveDevice left %s: %v", dir, err)
	}
}

// TestRefresh lets the cloud TGT come within Config.RefreshBefore of its
// end: the next dial refreshes the PRT (a request signed with the session
// key, its reply encrypted under it) for a new TGT, and both the new
// session and the one opened before keep working.
func TestRefresh(t *testing.T) {
	labtest.Need(t)
	cfg := lab.emu.Config()
	cfg.HTTPClient = nsHTTP(lab.emu)
	c, err := entra.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	k := kerberos(t, lab.emu, c, nil)
	s := signIn(t, c, k, "alice")
	first := s.Info()
	life := time.Until(first.TGTEnd)
	// Refresh when less than the TGT's whole life minus 2 s is left.
	cfg.RefreshBefore = life - 2*time.Second
	c2, err := entra.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	creds := c2.Credentials(s, "")
	var refreshed []entra.Info
	creds.OnRefresh = func(in entra.Info) { refreshed = append(refreshed, in) }
	cc := testmain.MemoryCache(t, k)
	d := dialer(k, cc, creds)
	s1, err := d.Dial(t.Context(), storage())
	if err != nil {
		t.Fatal(err)
	}
	defer s1.Close()
	if len(refreshed) != 0 {
		t.Fatalf("refreshed at once: %+v", refreshed)
	}
	time.Sleep(3 * time.Second)
	// The service ticket is cached: drop it so that the dial asks for
	// credentials again, as it does once the ticket nears its end.
	if err := cc.Initialize(first.Client); err != nil {
		t.Fatal(err)
	}
	before := lab.emu.Requests("prt-refresh")
	s2, err := d.Dial(t.Context(), storage())
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if len(refreshed) != 1 || lab.emu.Requests("prt-refresh") != before+1 {
		t.Fatalf("%d refreshes seen, %d by the emulator", len(refreshed), lab.emu.Requests("prt-refresh")-before)
	}
	if !refreshed[0].TGTStart.After(first.TGTStart) && refreshed[0].TGTEnd.Equal(first.TGTEnd) {
		t.Errorf("the refreshed TGT is the old one: %v–%v", refreshed[0].TGTStart, refreshed[0].TGTEnd)
	}
	putGet(t, s2, samba.ShareEncrypted, "after-refresh.bin", 512<<10)
	putGet(t, s1, samba.ShareEncrypted, "before-refresh.bin", 512<<10)
}

// TestCoexistence serves an AD DS storage account (realm CORP.TEST, its
// KDC behind an on-premises KDC proxy) and an Entra one from one process
// and one krb5 context: the per-host override keeps adacct in its realm
// although .file.core.windows.net maps to Entra.
func TestCoexistence(t *testing.T) {
	labtest.Need(t)
	proxy, err := kdcproxy.Start(net.JoinHostPort(lab.ns.HostAddr, "0"), map[string][]string{"CORP.TEST": {net.JoinHostPort(corpAddr, "88")}})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	roots := lab.emu.RootCAs.Clone()
	roots.AppendCertsFromPEM(mustRead(t, proxy.CAFile))
	hc := &http.Client{Transport: &http.Transport{DialContext: lab.ns.DialContext, TLSClientConfig: &tls.Config{RootCAs: roots}}}
	cfg := lab.emu.Config()
	cfg.HTTPClient = hc
	c, err := entra.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	realm, err := c.Realm(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	k, err := krb5.NewContext(&krb5.Config{
		Realms:      []krb5.Realm{realm, {Name: "CORP.TEST", KDCs: []string{proxy.URL}}},
		HostRealms:  entra.HostRealms(nil, krb5.HostRealm{Host: adAcct, Realm: "CORP.TEST"}),
		HTTPClient:  hc,
		DialContext: lab.ns.DialContext,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	for host, want := range map[string]string{adAcct: "CORP.TEST", account: entra.KerberosRealm, "x.file.core.windows.net": entra.KerberosRealm} {
		if got := k.Config().RealmForHost(host); got != want {
			t.Errorf("%s maps to %q, want %q", host, got, want)
		}
	}

	s := signIn(t, c, k, "alice")
	es, err := dialer(k, testmain.MemoryCache(t, k), c.Credentials(s, "")).Dial(t.Context(), storage())
	if err != nil {
		t.Fatal(err)
	}
	defer es.Close()
	ad := dialer(k, testmain.MemoryCache(t, k), smb.Password(lab.corpU.upn, []byte(lab.corpU.pw)))
	ad.DialContext = nil // SMB to this account over the root namespace
	as, err := ad.Dial(t.Context(), smb.Server{Name: adAcct, Addr: corpAddr})
	if err != nil {
		t.Fatal(err)
	}
	defer as.Close()
	if as.Info().SPN != "cifs/"+adAcct+"@CORP.TEST" || es.Info().SPN != "cifs/"+account+"@"+entra.KerberosRealm {
		t.Errorf("SPNs %s and %s", as.Info().SPN, es.Info().SPN)
	}
	if proxy.Requests() == 0 {
		t.Error("the AD DS login did not go through its KDC proxy")
	}
	putGet(t, es, samba.ShareEncrypted, "entra-side.bin", 1<<20)
	putGet(t, as, samba.ShareEncrypted, "ad-side.bin", 1<<20)
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestErrors checks each failure users meet for its words and its
// sentinel.
func TestErrors(t *testing.T) {
	labtest.Need(t)
	c := client(t, lab.emu)
	k := kerberos(t, lab.emu, c, nil)
	d := device(t)
	alice := lab.users["alice"]

	t.Run("wrong password", func(t *testing.T) {
		_, err := c.SignInPassword(t.Context(), d, alice.upn, []byte("not-it"))
		wantErr(t, err, entra.ErrWrongPassword, "AADSTS50126", "check")
		if strings.Contains(err.Error(), "not-it") {
			t.Error("the error shows the password")
		}
	})
	t.Run("unknown user", func(t *testing.T) {
		_, err := c.SignInPassword(t.Context(), d, "nobody@"+tenantDN, []byte("x"))
		wantErr(t, err, entra.ErrUnknownUser, "AADSTS50034")
	})
	t.Run("assignment required", func(t *testing.T) {
		u := lab.users["carol"]
		_, err := c.SignInPassword(t.Context(), d, u.upn, []byte(u.pw))
		wantErr(t, err, entra.ErrAssignmentRequired, "AADSTS50105", "assign")
	})
	t.Run("no TGT", func(t *testing.T) {
		u := lab.users["dave"]
		_, err := c.SignInPassword(t.Context(), d, u.upn, []byte(u.pw))
		wantErr(t, err, entra.ErrNoTGT, "Entra Kerberos")
	})
	t.Run("unknown SPN", func(t *testing.T) {
		s := signIn(t, c, k, "alice")
		cc := testmain.MemoryCache(t, k)
		if err := s.StoreTGT(cc); err != nil {
			t.Fatal(err)
		}
		_, err := dialer(k, cc, nil).Dial(t.Context(), smb.Server{Name: "other.file.core.windows.net", Addr: lab.ns.HostAddr})
		wantErr(t, err, krb5.ErrPrincipalUnknown, "AADSTS700016", "enable Microsoft Entra Kerberos")
		_, err = dialer(k, cc, nil).Dial(t.Context(), smb.Server{Name: account, Addr: lab.ns.HostAddr, SPN: "CIFS/" + account})
		wantErr(t, err, krb5.ErrPrincipalUnknown, "AADSTS700016", "case-sensitively: use cifs/"+account)
	})
	t.Run("nonce expired", func(t *testing.T) {
		lab.emu.SetNonceLifetime(-time.Second)
		defer lab.emu.SetNonceLifetime(0)
		_, err := c.SignInPassword(t.Context(), d, alice.upn, []byte(alice.pw))
		wantErr(t, err, entra.ErrNonce, "nonce")
	})
	t.Run("device disabled", func(t *testing.T) {
		dd := register(t, lab.emu, c)
		if err := lab.emu.SetDeviceEnabled(dd.ID, false); err != nil {
			t.Fatal(err)
		}
		_, err := c.SignInPassword(t.Context(), dd, alice.upn, []byte(alice.pw))
		wantErr(t, err, entra.ErrDeviceDisabled, "AADSTS135011")
	})
	t.Run("device deleted", func(t *testing.T) {
		dd := register(t, lab.emu, c)
		if err := c.Unregister(t.Context(), dd); err != nil {
			t.Fatal(err)
		}
		_, err := c.SignInPassword(t.Context(), dd, alice.upn, []byte(alice.pw))
		wantErr(t, err, entra.ErrDeviceNotFound, "AADSTS700003", "register")
		if err := c.Unregister(t.Context(), dd); !errors.Is(err, entra.ErrDeviceNotFound) {
			t.Errorf("unregistering twice: %v", err)
		}
	})
	t.Run("clock skew", func(t *testing.T) {
		sc := client(t, lab.skewE)
		sk := kerberos(t, lab.skewE, sc, nil)
		sd := register(t, lab.skewE, sc)
		s, err := sc.SignInPassword(t.Context(), sd, alice.upn, []byte(alice.pw))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		cc := testmain.MemoryCache(t, sk)
		if err := s.StoreTGT(cc); err != nil {
			t.Fatal(err)
		}
		_, err = sk.GetCredentials(t.Context(), cc, "cifs/"+account+"@"+entra.KerberosRealm)
		wantErr(t, err, krb5.ErrClockSkew, "clock")
	})
}

func wantErr(t *testing.T, err, target error, words ...string) {
	t.Helper()
	t.Log(err)
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("the error does not say %q: %v", w, err)
		}
	}
}

var _ = entratest.ClientKeyPlain

// TestClientKeyFormats takes the cloud TGT in each clientKey encoding
// Entra has used (JWE with AES-256-GCM or AES-256-CBC, plain base64), in
// the first response and in an encrypted refresh response (signed with
// KDF version 2, and 1), and gets a service ticket with each: the key
// decoded is the right one.
func TestClientKeyFormats(t *testing.T) {
	labtest.Need(t)
	defer lab.emu.SetClientKeyFormat(entratest.ClientKeyJWEGCM)
	for _, f := range []struct {
		name   string
		format entratest.ClientKeyFormat
		kdf    int
	}{{"gcm", entratest.ClientKeyJWEGCM, 2}, {"cbc", entratest.ClientKeyJWECBC, 2}, {"plain", entratest.ClientKeyPlain, 2}, {"kdf-v1", entratest.ClientKeyJWEGCM, 1}} {
		t.Run(f.name, func(t *testing.T) {
			cfg := lab.emu.Config()
			cfg.HTTPClient = nsHTTP(lab.emu)
			cfg.RefreshKDF = f.kdf
			c, err := entra.NewClient(cfg)
			if err != nil {
				t.Fatal(err)
			}
			k := kerberos(t, lab.emu, c, nil)
			lab.emu.SetClientKeyFormat(f.format)
			s := signIn(t, c, k, "alice")
			for _, step := range []string{"sign-in", "refresh"} {
				if step == "refresh" {
					if err := c.Refresh(t.Context(), s); err != nil {
						t.Fatal(err)
					}
				}
				cc := testmain.MemoryCache(t, k)
				if err := s.StoreTGT(cc); err != nil {
					t.Fatal(err)
				}
				if _, err := k.GetCredentials(t.Context(), cc, "cifs/"+account+"@"+entra.KerberosRealm); err != nil {
					t.Fatalf("%s: service ticket with the decoded TGT: %v", step, err)
				}
			}
		})
	}
}
