// Package kdcproxy runs smbkrb's own KDC proxy ([kkdcp.Handler]) over
// HTTPS for tests and the demo, with a certificate from a throwaway CA
// (internal/lab/testca) and a count of the requests it received, so that a
// test can prove its Kerberos traffic went through the proxy.
package kdcproxy

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/testca"
	"github.com/smbkrb/smbkrb/kkdcp"
)

// Path is the URL path the proxy serves, as Windows clients use it.
const Path = "/KdcProxy"

// Proxy is a running KDC proxy.
type Proxy struct {
	// URL is the proxy's address for a realm's KDC list, such as
	// "https://127.0.0.1:40123/KdcProxy".
	URL string
	// Addr is the address the proxy listens on, such as "127.0.0.1:40123".
	Addr string
	// RootCAs holds only the CA that issued the proxy's certificate.
	RootCAs *x509.CertPool
	// CAFile is that CA's certificate in a PEM file (mode 0644) for
	// command-line tools, such as MIT's http_anchors = FILE:CAFile. Close
	// removes it.
	CAFile string

	srv      *http.Server
	served   chan struct{}
	dir      string
	requests atomic.Int64
	once     sync.Once
	closeErr error
}

// Start listens on addr (such as "127.0.0.1:0", or a network namespace's
// HostAddr with port 0) and serves a [kkdcp.Handler] for realms (a realm
// to its KDCs' TCP addresses, as in [kkdcp.Handler.Realms]) at [Path]
// over TLS. The certificate names the host of addr (and the address the
// listener got, for an IP). The caller must Close the proxy.
func Start(addr string, realms map[string][]string) (*Proxy, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("kdcproxy: listen address %q: %w", addr, err)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("kdcproxy: %w", err)
	}
	tcp := l.Addr().(*net.TCPAddr)
	ip := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		// Listening on every address: clients use loopback.
		ip = "127.0.0.1"
	}
	names := []string{ip}
	if host != "" && net.ParseIP(host) == nil {
		names = append([]string{host}, names...)
	}
	urlHost := ip
	if len(names) > 1 {
		urlHost = host
	}

	p := &Proxy{
		Addr:   net.JoinHostPort(ip, strconv.Itoa(tcp.Port)),
		served: make(chan struct{}),
	}
	p.URL = "https://" + net.JoinHostPort(urlHost, strconv.Itoa(tcp.Port)) + Path
	ca, err := testca.New("smbkrb lab KDC proxy CA")
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("kdcproxy: %w", err)
	}
	leaf, err := ca.Issue(names...)
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("kdcproxy: %w", err)
	}
	p.RootCAs = ca.Pool()
	if p.dir, err = os.MkdirTemp("", "smbkrb-kdcproxy-"); err != nil {
		l.Close()
		return nil, fmt.Errorf("kdcproxy: %w", err)
	}
	p.CAFile = filepath.Join(p.dir, "ca.pem")
	// The CA certificate is public: tools running as another user may
	// read it.
	err = os.Chmod(p.dir, 0o755)
	if err == nil {
		err = os.WriteFile(p.CAFile, ca.PEM, 0o644)
	}
	if err != nil {
		l.Close()
		os.RemoveAll(p.dir)
		return nil, fmt.Errorf("kdcproxy: %w", err)
	}

	h := &kkdcp.Handler{Realms: realms}
	mux := http.NewServeMux()
	mux.Handle(Path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		h.ServeHTTP(w, r)
	}))
	p.srv = &http.Server{
		Handler:           mux,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{leaf.TLS}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
		// Failed handshakes (tests with an untrusted CA) are expected;
		// the handler still logs KDCs that do not answer.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func() {
		defer close(p.served)
		p.srv.ServeTLS(l, "", "")
	}()
	return p, nil
}

// Requests is the number of requests posted to [Path] so far, whatever
// the proxy answered.
func (p *Proxy) Requests() int64 {
	return p.requests.Load()
}

// Close stops the server, closing its connections, and removes CAFile.
// It may be called more than once.
func (p *Proxy) Close() error {
	p.once.Do(func() {
		err := p.srv.Close()
		<-p.served
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		p.closeErr = errors.Join(err, os.RemoveAll(p.dir))
	})
	return p.closeErr
}
