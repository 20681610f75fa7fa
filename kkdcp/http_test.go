package kkdcp

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a log destination that the race detector accepts.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proxy is a Handler behind a real TLS server on loopback, and a Client that
// trusts that server's certificate through RootCAs.
type proxy struct {
	srv    *httptest.Server
	h      *Handler
	client *Client
	log    *syncBuffer
}

// startProxy starts h; wrap, if given, wraps it to look at requests.
func startProxy(t *testing.T, h *Handler, wrap ...func(http.Handler) http.Handler) *proxy {
	t.Helper()
	buf := new(syncBuffer)
	if h.ErrorLog == nil {
		h.ErrorLog = log.New(buf, "", 0)
	}
	var served http.Handler = h
	for _, w := range wrap {
		served = w(served)
	}
	srv := httptest.NewTLSServer(served)
	t.Cleanup(srv.Close)
	return &proxy{srv: srv, h: h, client: &Client{URL: srv.URL + "/KdcProxy", RootCAs: certPool(srv)}, log: buf}
}

func certPool(srv *httptest.Server) *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return pool
}

// startTLS starts a TLS server with handler f.
func startTLS(t *testing.T, f http.HandlerFunc) (*httptest.Server, *Client) {
	t.Helper()
	srv := httptest.NewUnstartedServer(f)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // failed handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, &Client{URL: srv.URL + "/KdcProxy", RootCAs: certPool(srv)}
}

func TestClientHandler(t *testing.T) {
	k := startKDC(t, echoAnswer)
	var mu sync.Mutex
	var gotUA, gotCT string
	p := startProxy(t, &Handler{Realms: map[string][]string{"EXAMPLE.COM": {k.addr}}}, func(inner http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			gotUA, gotCT = r.Header.Get("User-Agent"), r.Header.Get("Content-Type")
			mu.Unlock()
			inner.ServeHTTP(w, r)
		})
	})
	p.client.UserAgent = "smbkrb-test/1"

	for _, req := range [][]byte{{0x6a, 1, 2, 3}, {0x6c, 4, 5}, append([]byte{0x6a}, make([]byte, 60000)...)} {
		rep, err := p.client.Exchange(context.Background(), "EXAMPLE.COM", req)
		if err != nil {
			t.Fatal(err)
		}
		want := append([]byte{req[0] + 1}, req[1:]...)
		if !bytes.Equal(rep, want) {
			t.Errorf("reply = %x..., want %x...", rep[:min(len(rep), 8)], want[:min(len(want), 8)])
		}
	}
	mu.Lock()
	if gotUA != "smbkrb-test/1" || gotCT != "application/kerberos" {
		t.Errorf("User-Agent %q, Content-Type %q", gotUA, gotCT)
	}
	mu.Unlock()

	// Realm names match without regard to case.
	if _, err := p.client.Exchange(context.Background(), "example.com", []byte{0x6a}); err != nil {
		t.Errorf("lower-case realm: %v", err)
	}
	if n := k.requests.Load(); n != 4 {
		t.Errorf("KDC saw %d requests, want 4", n)
	}
}

func TestHandlerReplyFormat(t *testing.T) {
	k := startKDC(t, echoAnswer)
	h := &Handler{Realms: map[string][]string{"EXAMPLE.COM": {k.addr}}}
	body, _ := (&Message{KerbMessage: []byte{0x6a, 9}, TargetDomain: "EXAMPLE.COM"}).Marshal()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/KdcProxy", bytes.NewReader(body)))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/kerberos" {
		t.Errorf("Content-Type %q", ct)
	}
	// A reply carries only kerb-message.
	want := hx("30 0a  a0 08  04 06  00 00 00 02  6b 09")
	if !bytes.Equal(rec.Body.Bytes(), want) {
		t.Errorf("body %x, want %x", rec.Body.Bytes(), want)
	}
}

func TestHandlerRejects(t *testing.T) {
	k := startKDC(t, echoAnswer)
	h := &Handler{Realms: map[string][]string{"EXAMPLE.COM": {k.addr}}, MaxMessageSize: 1000}
	enc := func(m Message) []byte {
		b, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := enc(Message{KerbMessage: []byte{0x6a, 0}, TargetDomain: "EXAMPLE.COM"})
	for name, tc := range map[string]struct {
		method, ct string
		body       []byte
		status     int
	}{
		"GET":                {method: http.MethodGet, status: http.StatusMethodNotAllowed},
		"PUT":                {method: http.MethodPut, body: good, status: http.StatusMethodNotAllowed},
		"form content type":  {ct: "application/x-www-form-urlencoded", body: good, status: http.StatusUnsupportedMediaType},
		"text content type":  {ct: "text/plain", body: good, status: http.StatusUnsupportedMediaType},
		"bad content type":   {ct: "/;;", body: good, status: http.StatusUnsupportedMediaType},
		"too large":          {body: enc(Message{KerbMessage: append([]byte{0x6a}, make([]byte, 1000)...), TargetDomain: "EXAMPLE.COM"}), status: http.StatusRequestEntityTooLarge},
		"malformed":          {body: []byte("hello"), status: http.StatusBadRequest},
		"empty body":         {status: http.StatusBadRequest},
		"trailing bytes":     {body: append(bytes.Clone(good), 0), status: http.StatusBadRequest},
		"no target-domain":   {body: enc(Message{KerbMessage: []byte{0x6a, 0}}), status: http.StatusBadRequest},
		"AS-REP":             {body: enc(Message{KerbMessage: []byte{0x6b, 0}, TargetDomain: "EXAMPLE.COM"}), status: http.StatusBadRequest},
		"KRB-ERROR":          {body: enc(Message{KerbMessage: []byte{0x7e, 0}, TargetDomain: "EXAMPLE.COM"}), status: http.StatusBadRequest},
		"kpasswd":            {body: enc(Message{KerbMessage: []byte{0x00, 0x10, 0xff, 0x80}, TargetDomain: "EXAMPLE.COM"}), status: http.StatusBadRequest},
		"unknown realm":      {body: enc(Message{KerbMessage: []byte{0x6a, 0}, TargetDomain: "OTHER.ORG"}), status: http.StatusForbidden},
		"no content type":    {ct: "-", body: good, status: http.StatusOK},
		"octet-stream":       {ct: "application/octet-stream", body: good, status: http.StatusOK},
		"kerberos with args": {ct: "Application/Kerberos; charset=binary", body: good, status: http.StatusOK},
	} {
		method := tc.method
		if method == "" {
			method = http.MethodPost
		}
		r := httptest.NewRequest(method, "/KdcProxy", bytes.NewReader(tc.body))
		switch tc.ct {
		case "":
			r.Header.Set("Content-Type", "application/kerberos")
		case "-":
		default:
			r.Header.Set("Content-Type", tc.ct)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != tc.status {
			t.Errorf("%s: status %d (%q), want %d", name, rec.Code, rec.Body, tc.status)
		}
		if tc.status == http.StatusMethodNotAllowed && rec.Header().Get("Allow") != "POST" {
			t.Errorf("%s: Allow %q", name, rec.Header().Get("Allow"))
		}
	}
	if n := k.requests.Load(); n != 3 {
		t.Errorf("KDC saw %d requests, want 3", n)
	}
}

func TestClientUnknownRealm(t *testing.T) {
	k := startKDC(t, echoAnswer)
	p := startProxy(t, &Handler{Realms: map[string][]string{"EXAMPLE.COM": {k.addr}}})
	_, err := p.client.Exchange(context.Background(), "OTHER.ORG", []byte{0x6a})
	if err == nil || !strings.Contains(err.Error(), "403 Forbidden") || !strings.Contains(err.Error(), "realm not served") {
		t.Fatalf("err = %v", err)
	}
	if k.requests.Load() != 0 {
		t.Error("request for an unknown realm reached the KDC")
	}
}

func TestClientOversizeRequest(t *testing.T) {
	k := startKDC(t, echoAnswer)
	p := startProxy(t, &Handler{Realms: map[string][]string{"EXAMPLE.COM": {k.addr}}, MaxMessageSize: 512})
	_, err := p.client.Exchange(context.Background(), "EXAMPLE.COM", append([]byte{0x6a}, make([]byte, 600)...))
	if err == nil || !strings.Contains(err.Error(), "413") {
		t.Fatalf("err = %v", err)
	}
}

func TestClientNon200(t *testing.T) {
	junk := "Not here\x00\x1b[31m\r\nLine two\t" + strings.Repeat("x", 500)
	srv, c := startTLS(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, junk)
	})
	_, err := c.Exchange(context.Background(), "EXAMPLE.COM", []byte{0x6a})
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if want := "kkdcp: POST " + srv.URL + "/KdcProxy: server answered 404 Not Found: \"Not here [31m Line two xxx"; !strings.HasPrefix(msg, want) {
		t.Errorf("err = %q\nwant prefix %q", msg, want)
	}
	if len(msg) > 400 {
		t.Errorf("error of %d bytes quotes too much of the body", len(msg))
	}
	for _, r := range msg {
		if r < 0x20 || r > 0x7e {
			t.Errorf("error has character %q", r)
		}
	}
}

func TestClientBadReplies(t *testing.T) {
	valid, _ := (&Message{KerbMessage: append([]byte{0x6b}, make([]byte, 2000)...)}).Marshal()
	for name, tc := range map[string]struct {
		body     []byte
		maxReply int64
		want     string
	}{
		"oversize":        {body: valid, maxReply: 1000, want: "larger than the 1000 bytes allowed"},
		"malformed":       {body: []byte("<html>hello</html>"), want: "reply: kkdcp: malformed KDC-PROXY-MESSAGE"},
		"empty":           {body: nil, want: "malformed"},
		"prefix mismatch": {body: hx("30 0b  a0 09  04 07  00 00 00 04  6b 01 00"), want: "length prefix says 4 bytes, 3 follow"},
		"bare reply":      {body: hx("6b 01 00"), want: "malformed"},
	} {
		t.Run(name, func(t *testing.T) {
			srv, c := startTLS(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/kerberos")
				w.Write(tc.body)
			})
			c.MaxReplySize = tc.maxReply
			_, err := c.Exchange(context.Background(), "EXAMPLE.COM", []byte{0x6a})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "kkdcp: POST "+srv.URL) {
				t.Errorf("err = %q does not name the URL", err)
			}
		})
	}
	// Exactly at the limit is fine.
	_, c := startTLS(t, func(w http.ResponseWriter, r *http.Request) { w.Write(valid) })
	c.MaxReplySize = int64(len(valid))
	if _, err := c.Exchange(context.Background(), "EXAMPLE.COM", []byte{0x6a}); err != nil {
		t.Errorf("reply at the limit: %v", err)
	}
}

func TestClientUntrustedCertificate(t *testing.T) {
	srv, _ := startTLS(t, func(w http.ResponseWriter, r *http.Request) {
		t.Error("request reached a server the client must not trust")
	})
	// httptest's servers all share one certificate, so make another root.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "other test root"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	root, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	other := x509.NewCertPool()
	other.AddCert(root)

	for name, c := range map[string]*Client{
		"other root":   {URL: srv.URL, RootCAs: other},
		"empty pool":   {URL: srv.URL, RootCAs: x509.NewCertPool()},
		"system roots": {URL: srv.URL},
	} {
		_, err := c.Exchange(context.Background(), "EXAMPLE.COM", []byte{0x6a})
		var verr *tls.CertificateVerificationError
		if !errors.As(err, &verr) {
			t.Errorf("%s: err = %v, want a certificate verification error", name, err)
		}
	}
	// httptest's certificate is issued for example.com and 127.0.0.1; a
	// trusted root does not make a wrong name acceptable.
	c := &Client{URL: strings.Replace(srv.URL, "127.0.0.1", "localhost", 1), RootCAs: certPool(srv)}
	if _, err := c.Exchange(context.Background(), "EXAMPLE.COM", []byte{0x6a}); err == nil {
		t.Error("wrong host name accepted")
	}
}

func TestClientRefusesHTTP(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("request sent over plain HTTP")
	}))
	defer plain.Close()
	for _, u := range []string{plain.URL, "", "ftp://example.com/", "https:///path", "://bad"} {
		c := &Client{URL: u}
		_, err := c.Exchange(context.Background(), "EXAMPLE.COM", []byte{0x6a})
		if err == nil || !strings.HasPrefix(err.Error(), "kkdcp: ") {
			t.Errorf("URL %q: err = %v", u, err)
		}
	}

	// Nor does a redirect lead to plain HTTP.
	srv, c := startTLS(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL, http.StatusTemporaryRedirect)
	})
	if _, err := c.Exchange(context.Background(), "EXAMPLE.COM", []byte{0x6a}); err == nil || !strings.Contains(err.Error(), "307") {
		t.Errorf("default client and a redirect: err = %v", err)
	}
	follows := &Client{URL: srv.URL, HTTPClient: srv.Client()}
	if _, err := follows.Exchange(context.Background(), "EXAMPLE.COM", []byte{0x6a}); err == nil || !strings.Contains(err.Error(), "not https") {
		t.Errorf("redirect-following client: err = %v", err)
	}
}

func TestClientArguments(t *testing.T) {
	c := &Client{URL: "https://127.0.0.1:1/KdcProxy"}
	for name, f := range map[string]func() error{
		"no realm":      func() error { _, err := c.Exchange(context.Background(), "", []byte{0x6a}); return err },
		"empty request": func() error { _, err := c.Exchange(context.Background(), "R", nil); return err },
		"bad realm":     func() error { _, err := c.Exchange(context.Background(), "RÉALM", []byte{0x6a}); return err },
	} {
		if err := f(); err == nil || !strings.HasPrefix(err.Error(), "kkdcp: POST https://127.0.0.1:1/KdcProxy: ") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestHangingKDC(t *testing.T) {
	k := startKDC(t, hangAnswer)

	// The client's deadline comes first.
	p := startProxy(t, &Handler{Realms: map[string][]string{"EXAMPLE.COM": {k.addr}}, KDCTimeout: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := p.client.Exchange(ctx, "EXAMPLE.COM", []byte{0x6a})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want one wrapping context.DeadlineExceeded", err)
	}
	if !strings.HasPrefix(err.Error(), "kkdcp: POST "+p.srv.URL) {
		t.Errorf("err = %q does not name the URL", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Exchange returned after %v", d)
	}

	// The proxy's KDCTimeout comes first: 503.
	p = startProxy(t, &Handler{Realms: map[string][]string{"EXAMPLE.COM": {k.addr}}, KDCTimeout: 200 * time.Millisecond})
	start = time.Now()
	_, err = p.client.Exchange(context.Background(), "EXAMPLE.COM", []byte{0x6a})
	if err == nil || !strings.Contains(err.Error(), "503 Service Unavailable") {
		t.Fatalf("err = %v, want a 503", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the proxy answered after %v", d)
	}
	if l := p.log.String(); !strings.Contains(l, k.addr) || !strings.Contains(l, "deadline exceeded") {
		t.Errorf("log = %q", l)
	}
}

func TestHandlerFailover(t *testing.T) {
	k := startKDC(t, echoAnswer)
	down := downAddr(t)
	p := startProxy(t, &Handler{Realms: map[string][]string{"EXAMPLE.COM": {down, k.addr}}})
	secret := []byte("\x6aSECRET-MARKER")
	rep, err := p.client.Exchange(context.Background(), "EXAMPLE.COM", secret)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rep, []byte("\x6bSECRET-MARKER")) {
		t.Errorf("reply = %q", rep)
	}
	l := p.log.String()
	if !strings.Contains(l, down) {
		t.Errorf("log does not name the KDC that failed: %q", l)
	}
	if strings.Contains(l, "SECRET") {
		t.Errorf("log holds message bytes: %q", l)
	}
}

func TestHandlerAllKDCsDown(t *testing.T) {
	p := startProxy(t, &Handler{Realms: map[string][]string{
		"EXAMPLE.COM": {downAddr(t), downAddr(t)},
		"EMPTY.COM":   nil,
	}})
	for _, realm := range []string{"EXAMPLE.COM", "EMPTY.COM"} {
		_, err := p.client.Exchange(context.Background(), realm, []byte{0x6a})
		if err == nil || !strings.Contains(err.Error(), "503") {
			t.Errorf("%s: err = %v, want a 503", realm, err)
		}
	}
}
