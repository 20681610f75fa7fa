package smb

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/samba"
	"github.com/smbkrb/smbkrb/krb5"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
)

// putGet writes random data to name and reads it back byte-exact.
func putGet(t *testing.T, sh *Share, name string, size int) {
	t.Helper()
	data := randomBytes(size)
	if _, err := sh.Put(t.Context(), name, bytes.NewReader(data), nil); err != nil {
		t.Fatal(err)
	}
	got, err := sh.ReadFile(t.Context(), name)
	if err != nil || sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("read back: %d bytes, %v", len(got), err)
	}
	if err := sh.Remove(t.Context(), name); err != nil {
		t.Fatal(err)
	}
}

// TestProxyOnly runs the client in a network namespace whose packets to
// port 88 are rejected: a direct login fails, and the same login through
// the KDC proxy over HTTPS works, as do the service ticket and the SMB
// session to the DC's address on the namespace's link.
func TestProxyOnly(t *testing.T) {
	labtest.Need(t)
	ns := lab.ns
	httpClient := &http.Client{Transport: &http.Transport{
		DialContext:     ns.DialContext,
		TLSClientConfig: &tls.Config{RootCAs: lab.proxy.RootCAs},
	}}
	principal := lab.user + "@" + lab.dc.Realm

	direct, err := krb5.NewContext(&krb5.Config{
		Realms:      []krb5.Realm{{Name: lab.dc.Realm, KDCs: []string{net.JoinHostPort(ns.HostAddr, "88")}}},
		DialContext: ns.DialContext,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	cc, err := direct.NewMemoryCCache()
	if err != nil {
		t.Fatal(err)
	}
	_, err = direct.GetInitCredsPassword(t.Context(), cc, principal, []byte(lab.pw), nil)
	cc.Destroy()
	if !errors.Is(err, krb5.ErrNoKDC) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("direct login from the namespace: %v, want the KDC unreachable (connection refused)", err)
	}

	k, err := krb5.NewContext(&krb5.Config{
		Realms:      []krb5.Realm{{Name: lab.dc.Realm, KDCs: []string{lab.proxy.URL}}},
		HostRealms:  []krb5.HostRealm{{Host: ".lab.test", Realm: lab.dc.Realm}},
		DialContext: ns.DialContext,
		HTTPClient:  httpClient,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	cc, err = k.NewMemoryCCache()
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Destroy()
	before := lab.proxy.Requests()
	d := &Dialer{Kerberos: k, CCache: cc, Credentials: Password(principal, []byte(lab.pw)), DialContext: ns.DialContext}
	s := dial(t, d, Server{Name: lab.dc.FQDN, Addr: ns.HostAddr})
	if n := lab.proxy.Requests() - before; n < 2 {
		t.Fatalf("%d requests through the proxy, want the AS and TGS exchanges", n)
	}
	putGet(t, mount(t, s, samba.ShareEncrypted), "proxied.bin", 3<<20+5)
}

// TestTwoRealms uses the AD DS realm and the Entra Domain Services realm
// from one Kerberos context: host-to-realm mappings pick each server's
// realm, and each user's tickets live in a cache of its own.
func TestTwoRealms(t *testing.T) {
	labtest.Need(t)
	k, err := krb5.NewContext(&krb5.Config{
		Realms: []krb5.Realm{
			{Name: lab.dc.Realm, KDCs: []string{net.JoinHostPort(lab.dc.Addr, "88")}},
			{Name: lab.aadds.Realm, KDCs: []string{net.JoinHostPort(lab.aadds.Addr, "88")}},
		},
		HostRealms: []krb5.HostRealm{{Host: ".lab.test", Realm: lab.dc.Realm}, {Host: ".aadds.test", Realm: lab.aadds.Realm}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	for _, dc := range []*samba.DC{lab.dc, lab.aadds} {
		t.Run(dc.Realm, func(t *testing.T) {
			cc, err := k.NewMemoryCCache()
			if err != nil {
				t.Fatal(err)
			}
			defer cc.Destroy()
			d := &Dialer{Kerberos: k, CCache: cc, Credentials: Password(lab.user+"@"+dc.Realm, []byte(lab.pw))}
			s := dial(t, d, Server{Name: dc.FQDN, Addr: dc.Addr})
			if info := s.Info(); info.Client != lab.user+"@"+dc.Realm || info.SPN != "cifs/"+dc.FQDN+"@"+dc.Realm {
				t.Errorf("client %q, service %q", info.Client, info.SPN)
			}
			putGet(t, mount(t, s, samba.ShareEncrypted), "realm.bin", 1<<20+3)
		})
	}
}

// TestCredentialsByRealm dials both realms with one Dialer: the AD DS
// account is the default, the Entra Domain Services account serves its
// realm's servers from a cache of its own, and neither login disturbs the
// other's tickets.
func TestCredentialsByRealm(t *testing.T) {
	labtest.Need(t)
	k, err := krb5.NewContext(&krb5.Config{
		Realms: []krb5.Realm{
			{Name: lab.dc.Realm, KDCs: []string{net.JoinHostPort(lab.dc.Addr, "88")}},
			{Name: lab.aadds.Realm, KDCs: []string{net.JoinHostPort(lab.aadds.Addr, "88")}},
		},
		HostRealms: []krb5.HostRealm{{Host: ".lab.test", Realm: lab.dc.Realm}, {Host: ".aadds.test", Realm: lab.aadds.Realm}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	adCC, err := k.NewMemoryCCache()
	if err != nil {
		t.Fatal(err)
	}
	defer adCC.Destroy()
	dsCC, err := k.NewMemoryCCache()
	if err != nil {
		t.Fatal(err)
	}
	defer dsCC.Destroy()
	d := &Dialer{
		Kerberos: k, CCache: adCC,
		Credentials: Password(lab.user+"@"+lab.dc.Realm, []byte(lab.pw)),
		Realms: []RealmCredentials{{
			Realm:       strings.ToLower(lab.aadds.Realm), // realms match without regard to case
			Credentials: Password(lab.user+"@"+lab.aadds.Realm, []byte(lab.pw)),
			CCache:      dsCC,
		}},
	}
	for _, dc := range []*samba.DC{lab.dc, lab.aadds, lab.dc} {
		s := dial(t, d, Server{Name: dc.FQDN, Addr: dc.Addr})
		want := adCC
		if dc == lab.aadds {
			want = dsCC
		}
		if _, cc := d.CredentialsFor(Server{Name: dc.FQDN}); cc != want {
			t.Errorf("%s: CredentialsFor chooses cache %s", dc.Realm, cc.Name())
		}
		if info := s.Info(); info.Client != lab.user+"@"+dc.Realm || info.SPN != "cifs/"+dc.FQDN+"@"+dc.Realm || info.CCache != want.Name() {
			t.Errorf("%s: client %q, service %q, cache %s", dc.Realm, info.Client, info.SPN, info.CCache)
		}
		putGet(t, mount(t, s, samba.ShareSigned), "byrealm.bin", 256<<10+1)
		s.Close()
	}
	for cc, realm := range map[*krb5.CCache]string{adCC: lab.dc.Realm, dsCC: lab.aadds.Realm} {
		if p, _ := cc.Principal(); p != lab.user+"@"+realm || !cc.HasTGT(realm, time.Now()) {
			t.Errorf("cache %s: principal %q, want %s's TGT", cc.Name(), p, realm)
		}
	}

	// An SPN that names its realm is chosen by it too; an entry without
	// a realm is refused.
	s := dial(t, d, Server{Name: lab.aadds.FQDN, Addr: lab.aadds.Addr, SPN: "cifs/" + lab.aadds.FQDN + "@" + lab.aadds.Realm})
	if got := s.Info().Client; got != lab.user+"@"+lab.aadds.Realm {
		t.Errorf("SPN with a realm: client %q", got)
	}
	bad := &Dialer{Kerberos: k, CCache: adCC, Realms: []RealmCredentials{{Credentials: Cache()}}}
	if _, err := bad.Dial(t.Context(), Server{Name: lab.dc.FQDN, Addr: lab.dc.Addr}); err == nil || !strings.Contains(err.Error(), "no Realm") {
		t.Errorf("an entry without a realm: %v", err)
	}
}

// TestFirstOf: a source that fails gives way to the next; when all fail,
// the error names each one and errors.Is still finds the KDC's answer.
func TestFirstOf(t *testing.T) {
	labtest.Need(t)
	k, _ := labKerberos(t)
	principal := lab.user + "@" + lab.dc.Realm
	missing := filepath.Join(t.TempDir(), "missing.keytab")
	d := &Dialer{Kerberos: k, Credentials: FirstOf(Keytab(principal, missing), Password(principal, []byte(lab.pw)))}
	s := dial(t, d, labServer())
	if got := s.Info().Client; got != principal {
		t.Errorf("client %q", got)
	}
	s.Close()

	d = &Dialer{Kerberos: k, Credentials: FirstOf(Keytab(principal, missing), Password(principal, []byte("not the password")))}
	_, err := d.Dial(t.Context(), labServer())
	if !errors.Is(err, krb5.ErrPreauthFailed) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("every source failing: %v, want the missing keytab and the wrong password", err)
	}
	msg := err.Error()
	if strings.Count(msg, missing) != 1 || strings.Count(msg, "log in as "+principal) != 2 {
		t.Errorf("the error should name each source once: %s", msg)
	}
	t.Logf("error: %s", msg)
}

// TestKeytabLogin logs in with the user's keys exported from the DC.
func TestKeytabLogin(t *testing.T) {
	labtest.Need(t)
	keytab := filepath.Join(t.TempDir(), "user.keytab")
	principal := lab.user + "@" + lab.dc.Realm
	if err := lab.dc.ExportKeytab(keytab, principal); err != nil {
		t.Fatal(err)
	}
	k, cc := labKerberos(t)
	d := &Dialer{Kerberos: k, CCache: cc, Credentials: Keytab(principal, keytab)}
	s := dial(t, d, labServer())
	putGet(t, mount(t, s, samba.ShareSigned), "keytab.bin", 1<<20)
	// A second dial finds the service ticket in the cache: no new login.
	creds, _ := cc.Credentials()
	s2 := dial(t, d, labServer())
	if again, _ := cc.Credentials(); len(again) != len(creds) || s2.Info().Client != principal {
		t.Errorf("second dial changed the cache: %d -> %d tickets", len(creds), len(again))
	}
}

// TestClockSkew: the SMB server's clock is ten minutes ahead of the
// client's and the KDC's (a copy of the lab DC, same keys, under
// faketime); it rejects the authenticator and the error says so.
func TestClockSkew(t *testing.T) {
	labtest.Need(t)
	skewed, err := samba.Start(filepath.Join(t.TempDir(), "skewed"), samba.Options{Realm: "LAB.TEST", Domain: "LAB", HostName: "dc1", Addr: skewAddr, ClockOffset: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer skewed.Close()
	d := labDialer(t)
	_, err = d.Dial(t.Context(), Server{Name: lab.dc.FQDN, Addr: skewed.Addr})
	var e *Error
	if !errors.As(err, &e) || e.Op != "session setup" || !errors.Is(err, krb5.ErrClockSkew) || !strings.Contains(err.Error(), "clock") {
		t.Fatalf("dial to a server ten minutes ahead: %v", err)
	}
	t.Log(err)
}

// TestUnknownSPN: a server name the directory does not know fails with
// ErrPrincipalUnknown, names the principal once and gives one remedy, in
// the Go API's terms (Error.Remedy).
func TestUnknownSPN(t *testing.T) {
	labtest.Need(t)
	d := labDialer(t)
	_, err := d.Dial(t.Context(), Server{Name: "nosuch.lab.test", Addr: lab.dc.Addr})
	var se *Error
	if !errors.Is(err, krb5.ErrPrincipalUnknown) || !errors.As(err, &se) || se.Op != "service ticket" {
		t.Fatalf("unknown server name: %v", err)
	}
	msg := err.Error()
	if strings.Count(msg, "cifs/nosuch.lab.test") != 1 || strings.Count(msg, "Server.SPN") != 1 || !strings.Contains(se.Remedy, "Server.SPN") {
		t.Errorf("the principal or the remedy more than once: %s", msg)
	}
}
