package smb

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/samba"
	"github.com/smbkrb/smbkrb/krb5"
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
	ns := lab.ns
	httpClient := &http.Client{Transport: &http.Transport{
		DialContext:     ns.DialContext,
		TLSClientConfig: &tls.Config{RootCAs: lab.proxy.RootCAs},
	}}
	principal := lab.user + "@" + lab.dc.Realm

	direct, err := krb5.NewContext(&krb5.Config{
		Realms: []krb5.Realm{{Name: lab.dc.Realm, KDCs: []string{net.JoinHostPort(ns.HostAddr, "88")}}},
		Dial:   ns.DialContext,
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
		Realms:     []krb5.Realm{{Name: lab.dc.Realm, KDCs: []string{lab.proxy.URL}}},
		HostRealms: []krb5.HostRealm{{Host: ".lab.test", Realm: lab.dc.Realm}},
		Dial:       ns.DialContext,
		HTTPClient: httpClient,
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
	d := &Dialer{Kerberos: k, CCache: cc, Credentials: Password(principal, []byte(lab.pw)), NetDial: ns.DialContext}
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

// TestKeytabLogin logs in with the user's keys exported from the DC.
func TestKeytabLogin(t *testing.T) {
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
