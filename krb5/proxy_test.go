package krb5_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/testca"
	"github.com/smbkrb/smbkrb/internal/lab/testmain"
	"github.com/smbkrb/smbkrb/kkdcp"
	"github.com/smbkrb/smbkrb/krb5"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
)

// proxyConfig is a Config whose only way to the lab KDC is the proxy URL.
func proxyConfig(url string, ca *testca.CA) *krb5.Config {
	return &krb5.Config{
		Realms:     []krb5.Realm{{Name: lab.realm, KDCs: []string{url}}},
		HostRealms: []krb5.HostRealm{{Host: ".mitlab.test", Realm: lab.realm}},
		RootCAs:    ca.Pool(),
	}
}

// startProxy runs our kkdcp.Handler over TLS on loopback and counts the
// requests it forwards.
func startProxy(t testing.TB) (url string, ca *testca.CA, count *atomic.Int64) {
	t.Helper()
	ca, err := testca.New("smbkrb test CA")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue("127.0.0.1", "kdcproxy.test")
	if err != nil {
		t.Fatal(err)
	}
	count = new(atomic.Int64)
	h := &kkdcp.Handler{Realms: map[string][]string{lab.realm: {lab.kdc.Addr}}}
	mux := http.NewServeMux()
	mux.Handle("/KdcProxy", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		count.Add(1)
		h.ServeHTTP(w, r)
	}))
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL + "/KdcProxy", ca, count
}

func TestLoginThroughOurProxy(t *testing.T) {
	labtest.Need(t)
	url, ca, count := startProxy(t)
	k := testmain.Context(t, proxyConfig(url, ca))
	cc := testmain.MemoryCache(t, k)
	loginAlice(t, k, cc)
	if _, err := k.GetInitCredsKeytab(t.Context(), testmain.MemoryCache(t, k), svcLogin, "FILE:"+lab.svcKeytab, nil); err != nil {
		t.Fatal(err)
	}
	info, err := k.GetCredentials(t.Context(), cc, cifsSPN)
	if err != nil {
		t.Fatal(err)
	}
	if info.Server != cifsSPN+"@MITLAB.TEST" {
		t.Errorf("server %q", info.Server)
	}
	// AS (unauthenticated, then pre-authenticated), keytab AS, TGS: all
	// through the proxy.
	if n := count.Load(); n < 4 {
		t.Errorf("proxy saw %d requests, want at least 4", n)
	}
	acc := acceptor(t, lab.cifsKeytab)
	ini, err := k.NewInitiator(t.Context(), cc, cifsSPN, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ini.Close()
	handshake(t, ini, acc)

	// Errors keep their kind through the proxy.
	_, err = k.GetInitCredsPassword(t.Context(), testmain.MemoryCache(t, k), alice, []byte("wrong"), nil)
	if !errors.Is(err, krb5.ErrPreauthFailed) {
		t.Errorf("wrong password through the proxy: %v", err)
	}
}

func TestProxyTLSIsVerified(t *testing.T) {
	labtest.Need(t)
	url, _, count := startProxy(t)
	other, err := testca.New("some other CA")
	if err != nil {
		t.Fatal(err)
	}
	k := testmain.Context(t, proxyConfig(url, other))
	_, err = k.GetInitCredsPassword(t.Context(), testmain.MemoryCache(t, k), alice, []byte(lab.alicePW), nil)
	if !errors.Is(err, krb5.ErrNoKDC) || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted proxy: err = %v, want ErrNoKDC about the certificate", err)
	}
	if count.Load() != 0 {
		t.Error("a request reached a proxy whose certificate is not trusted")
	}
}

func TestProxyUnknownRealm(t *testing.T) {
	labtest.Need(t)
	url, ca, _ := startProxy(t)
	cfg := proxyConfig(url, ca)
	cfg.Realms = append(cfg.Realms, krb5.Realm{Name: "OTHER.TEST", KDCs: []string{url}})
	k := testmain.Context(t, cfg)
	_, err := k.GetInitCredsPassword(t.Context(), testmain.MemoryCache(t, k), "carol@OTHER.TEST", []byte("x"), nil)
	if !errors.Is(err, krb5.ErrNoKDC) || !strings.Contains(err.Error(), "403") {
		t.Fatalf("realm the proxy does not serve: %v", err)
	}
}

// TestLoginThroughPythonKdcproxy uses python3-kdcproxy (the proxy FreeIPA
// ships) under gunicorn with TLS as an independent MS-KKDCP peer.
func TestLoginThroughPythonKdcproxy(t *testing.T) {
	labtest.Need(t)
	gunicorn, err := exec.LookPath("gunicorn")
	if err != nil {
		t.Fatal("gunicorn not found: install the Debian packages gunicorn and python3-kdcproxy")
	}
	dir := t.TempDir()
	ca, err := testca.New("smbkrb test CA")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, err := leaf.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "kdcproxy.conf")
	// use_dns = false: the proxy must not look for KDCs in DNS.
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("[global]\nuse_dns = false\n\n[%s]\nkerberos = kerberos+tcp://%s\n", lab.realm, lab.kdc.Addr)), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(gunicorn, "--bind", addr, "--workers", "1", "--certfile", certFile, "--keyfile", keyFile,
		"--chdir", "/usr/lib/python3/dist-packages", "kdcproxy:application")
	cmd.Env = append(os.Environ(), "KDCPROXY_CONFIG="+conf, "KRB5_CONFIG=/dev/null")
	logFile, err := os.Create(filepath.Join(dir, "kdcproxy.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group, so that stopping it stops the worker too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	proxyLog := func() string { b, _ := os.ReadFile(logFile.Name()); return string(b) }
	// Debian's Python modules: /usr/bin/python3 must run gunicorn even if
	// another python3 is first on PATH.
	cmd.Path, cmd.Args = "/usr/bin/python3", append([]string{"/usr/bin/python3", gunicorn}, cmd.Args[1:]...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("kdcproxy did not start:\n%s", proxyLog())
		}
		time.Sleep(50 * time.Millisecond)
	}
	url := "https://" + addr + "/KdcProxy"
	k := testmain.Context(t, proxyConfig(url, ca))
	cc := testmain.MemoryCache(t, k)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if _, err := k.GetInitCredsPassword(ctx, cc, alice, []byte(lab.alicePW), nil); err != nil {
		t.Fatalf("login through python3-kdcproxy: %v\n%s", err, proxyLog())
	}
	if _, err := k.GetCredentials(ctx, cc, cifsSPN); err != nil {
		t.Fatalf("service ticket through python3-kdcproxy: %v\n%s", err, proxyLog())
	}
	if _, err := k.GetInitCredsPassword(ctx, testmain.MemoryCache(t, k), alice, []byte("wrong"), nil); !errors.Is(err, krb5.ErrPreauthFailed) {
		t.Errorf("wrong password through python3-kdcproxy: %v", err)
	}
}
