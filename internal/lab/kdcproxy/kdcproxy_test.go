package kdcproxy

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/smbkrb/smbkrb/internal/lab/labtool"
	"github.com/smbkrb/smbkrb/internal/lab/mitkdc"
	"github.com/smbkrb/smbkrb/internal/lab/netns"
	"github.com/smbkrb/smbkrb/internal/lab/testmain"
	"github.com/smbkrb/smbkrb/krb5"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
)

const (
	realm = "MITLAB.TEST"
	alice = "alice@" + realm
	cifs  = "cifs/fs1.mitlab.test"
)

// startKDC starts an MIT KDC with alice (pre-authentication required) and
// a cifs service, and returns it and alice's password.
func startKDC(t *testing.T) (*mitkdc.KDC, string) {
	t.Helper()
	kdc, err := mitkdc.Start(filepath.Join(t.TempDir(), "kdc"), mitkdc.Options{Realm: realm})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kdc.Close() })
	pw := labtool.Password()
	if err := kdc.AddPrincipal("alice", pw); err != nil {
		t.Fatal(err)
	}
	if _, err := kdc.Kadmin("modprinc +requires_preauth alice"); err != nil {
		t.Fatal(err)
	}
	if err := kdc.AddRandomKey(cifs); err != nil {
		t.Fatal(err)
	}
	return kdc, pw
}

func startProxy(t *testing.T, addr string, realms map[string][]string) *Proxy {
	t.Helper()
	p, err := Start(addr, realms)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	})
	t.Logf("proxy at %s", p.URL)
	return p
}

// login logs alice in and fetches a cifs ticket with cfg.
func login(t *testing.T, cfg *krb5.Config, pw string) {
	t.Helper()
	k := testmain.Context(t, cfg)
	cc := testmain.MemoryCache(t, k)
	if _, err := k.GetInitCredsPassword(t.Context(), cc, alice, []byte(pw), nil); err != nil {
		t.Fatal(err)
	}
	info, err := k.GetCredentials(t.Context(), cc, cifs)
	if err != nil {
		t.Fatal(err)
	}
	if info.Server != cifs+"@"+realm {
		t.Errorf("service ticket for %q", info.Server)
	}
}

func TestLoginThroughProxy(t *testing.T) {
	labtest.Need(t)
	kdc, pw := startKDC(t)
	p := startProxy(t, "127.0.0.1:0", map[string][]string{realm: {kdc.Addr}})
	if !strings.HasPrefix(p.URL, "https://127.0.0.1:") || !strings.HasSuffix(p.URL, Path) {
		t.Errorf("URL %q", p.URL)
	}
	login(t, &krb5.Config{
		Realms:     []krb5.Realm{{Name: realm, KDCs: []string{p.URL}}},
		HostRealms: []krb5.HostRealm{{Host: ".mitlab.test", Realm: realm}},
		RootCAs:    p.RootCAs,
	}, pw)
	// AS-REQ without and with pre-authentication, then a TGS-REQ.
	if n := p.Requests(); n < 3 {
		t.Errorf("the proxy saw %d requests, want at least 3", n)
	}
}

// TestCAFile checks the PEM file a command-line tool would use: it
// verifies the proxy's certificate, and the proxy answers there.
func TestCAFile(t *testing.T) {
	labtest.Need(t)
	p := startProxy(t, "127.0.0.1:0", map[string][]string{realm: {"127.0.0.1:1"}})
	fi, err := os.Stat(p.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("CAFile mode %v, want 0644", fi.Mode().Perm())
	}
	b, err := os.ReadFile(p.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("CAFile holds no PEM certificate:\n%s", b)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer c.CloseIdleConnections()
	// Not a KDC-PROXY-MESSAGE: the handler answers 400, and counts it.
	resp, err := c.Post(p.URL, "application/kerberos", bytes.NewReader([]byte("junk")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want 400", resp.StatusCode)
	}
	if p.Requests() != 1 {
		t.Errorf("Requests() = %d, want 1", p.Requests())
	}
	// Other paths are not the proxy.
	resp, err = c.Post(strings.TrimSuffix(p.URL, Path)+"/other", "application/kerberos", bytes.NewReader(nil))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("status %d at another path, want 404", resp.StatusCode)
	}

	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p.CAFile); !os.IsNotExist(err) {
		t.Errorf("CAFile still there after Close: %v", err)
	}
	if conn, err := net.Dial("tcp", p.Addr); err == nil {
		conn.Close()
		t.Errorf("%s still accepts after Close", p.Addr)
	}
}

// TestLoginFromNamespace is the set-up the SMB tests use: a client in a
// network namespace that may not use port 88 and cannot reach the KDC's
// loopback address reaches the realm only through the proxy, which listens
// on the namespace's HostAddr.
func TestLoginFromNamespace(t *testing.T) {
	labtest.Need(t)
	if os.Geteuid() != 0 {
		t.Fatal("network namespaces need root: run the tests as root (CI does)")
	}
	kdc, pw := startKDC(t)
	ns, err := netns.New(netns.Options{BlockPorts: []int{88}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	p := startProxy(t, net.JoinHostPort(ns.HostAddr, "0"), map[string][]string{realm: {kdc.Addr}})
	if !strings.HasPrefix(p.URL, "https://"+ns.HostAddr+":") {
		t.Errorf("URL %q", p.URL)
	}
	tr := &http.Transport{
		DialContext:     ns.DialContext,
		TLSClientConfig: &tls.Config{RootCAs: p.RootCAs},
	}
	defer tr.CloseIdleConnections()
	// The direct KDC address comes first: from inside it fails, and the
	// login falls back to the proxy.
	login(t, &krb5.Config{
		Realms:      []krb5.Realm{{Name: realm, KDCs: []string{kdc.Addr, p.URL}}},
		HostRealms:  []krb5.HostRealm{{Host: ".mitlab.test", Realm: realm}},
		DialContext: ns.DialContext,
		HTTPClient:  &http.Client{Transport: tr},
	}, pw)
	if p.Requests() < 3 {
		t.Errorf("the proxy saw %d requests, want at least 3", p.Requests())
	}
	// Without the proxy, the namespace has no way to the KDC.
	k := testmain.Context(t, &krb5.Config{
		Realms:      []krb5.Realm{{Name: realm, KDCs: []string{kdc.Addr}}},
		DialContext: ns.DialContext,
	})
	cc := testmain.MemoryCache(t, k)
	_, err = k.GetInitCredsPassword(t.Context(), cc, alice, []byte(pw), nil)
	if !errors.Is(err, krb5.ErrNoKDC) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("direct login from the namespace: %v, want ErrNoKDC, connection refused", err)
	}
}
