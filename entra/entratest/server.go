package entratest

import (
	"crypto/rand"
	"crypto/rsa"
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
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smbkrb/smbkrb/entra"
	"github.com/smbkrb/smbkrb/internal/lab/mitkdc"
	"github.com/smbkrb/smbkrb/internal/lab/testca"
	"github.com/smbkrb/smbkrb/kkdcp"
	"github.com/smbkrb/smbkrb/krb5"
	"github.com/smbkrb/smbkrb/smboauth"
)

// DefaultTenant is the tenant ID of an emulator whose Options name none.
const DefaultTenant = "6f1c9a52-3d4e-4b8a-9c21-5e7f0a1b2c3d"

// Options configure an emulator. KDCs and Users are required.
type Options struct {
	// Tenant is the tenant ID; "" means DefaultTenant.
	Tenant string
	// Domain is the tenant's domain, the one devices register in; ""
	// means "contoso.onmicrosoft.com".
	Domain string
	// Addr is the address to listen on, "127.0.0.1:0" by default; a test
	// whose client lives in a network namespace gives the namespace's
	// host address.
	Addr string
	// KDCs are the TCP addresses ("host:port") of the real KDC of
	// entra.KerberosRealm (a lab Samba DC provisioned with that realm):
	// the cloud TGTs come from it, and the KDC proxy forwards to it.
	KDCs []string
	// Users is the directory.
	Users []User
	// SPNs are the service principals that have an application in the
	// tenant (cifs/acct.file.core.windows.net); a service ticket for any
	// other cifs/ name fails with AADSTS700016, as Entra answers for a
	// storage account without Entra Kerberos. Empty means every SPN the
	// KDC knows.
	SPNs []string
	// TGTLifetime is the lifetime the emulator asks the KDC for when it
	// makes a cloud TGT; 0 means the KDC's default (10 hours on Samba).
	TGTLifetime time.Duration
	// NonceLifetime is how long a nonce can be used; 0 means 5 minutes.
	NonceLifetime time.Duration
	// ADRealm, if set, is an on-premises realm (cloud Kerberos trust):
	// for users with an ADPrincipal the PRT response carries tgt_ad too.
	// Entra's is a partial TGT that only an on-premises DC can exchange;
	// the emulator's is a full TGT from that realm's real KDC, wrapped
	// the same way.
	ADRealm *ADRealm
	// Apps are the tenant's applications (client credentials).
	Apps []App
	// ManagedIdentities are the identities of the emulated Azure host;
	// with any, the emulator also serves an App Service style identity
	// endpoint (Server.IdentityEndpoint, over plain HTTP on loopback).
	ManagedIdentities []Identity
	// SMBOAuth, if set, makes the file endpoints' ticket exchange work.
	SMBOAuth *SMBOAuth
	// Log receives one line per request (method, path, status) when set.
	Log io.Writer
}

// ADRealm is an on-premises Kerberos realm and its KDCs.
type ADRealm struct {
	Realm string
	KDCs  []string
}

// User is a user of the emulated directory.
type User struct {
	// UPN is the user principal name the user signs in with
	// ("alice@contoso.onmicrosoft.com").
	UPN string
	// Password is the user's password, in Entra and at the KDC.
	Password string
	// Principal is the user's name at the KDC; "" means the UPN as an
	// enterprise name (the KDC must know the UPN, see samba.DC.SetUPN).
	Principal string
	// MFA means a Conditional Access policy demands multi-factor
	// authentication: password PRT requests fail with AADSTS50076; a
	// device-code sign-in (which can do MFA) works.
	MFA bool
	// NotAssigned means the storage account's application requires
	// assignment and the user is not assigned: PRT requests fail with
	// AADSTS50105.
	NotAssigned bool
	// ADPrincipal is the user's account in Options.ADRealm
	// ("alice@CORP.TEST"), for tgt_ad.
	ADPrincipal string
	// NoCloudTGT makes the PRT response carry no cloud TGT (keyType 0),
	// as for a user Entra Kerberos does not serve.
	NoCloudTGT bool
}

// ClientKeyFormat is how the emulator writes tgt_cloud's clientKey.
type ClientKeyFormat int

// The clientKey encodings Entra has been seen to use.
const (
	// ClientKeyJWEGCM is a compact JWE under the PRT session key's
	// derived key, AES-256-GCM (the default).
	ClientKeyJWEGCM ClientKeyFormat = iota
	// ClientKeyJWECBC is the same with AES-256-CBC.
	ClientKeyJWECBC
	// ClientKeyPlain is the raw key in base64.
	ClientKeyPlain
)

// Server is a running emulator: HTTPS on loopback with its own CA.
type Server struct {
	// URL is the base URL, https://127.0.0.1:port; the authority, the
	// device registration service (URL+"/drs") and the KDC proxy
	// (URL+"/<tenant>/kerberos") live under it.
	URL string
	// Tenant and Domain are the tenant's ID and domain.
	Tenant, Domain string
	// RootCAs trusts the emulator's TLS certificate; CAFile is that CA in
	// a PEM file (for command-line tools).
	RootCAs *x509.CertPool
	CAFile  string
	// IdentityEndpoint and IdentityHeader are what App Service puts in
	// IDENTITY_ENDPOINT and IDENTITY_HEADER, when Options has managed
	// identities.
	IdentityEndpoint, IdentityHeader string

	opts     Options
	srv      *http.Server
	served   chan struct{}
	dir      string
	tlsCA    *testca.CA
	deviceCA *testca.CA
	signKey  *rsa.PrivateKey // signs access and ID tokens
	kerberos *krb5.Context
	proxy    *kkdcp.Handler // the KDC proxy to the real KDC
	fileK    *krb5.Context  // smboauth.FilesRealm, made on first use
	kdc      *mitkdc.KDC    // the KDC Start made, closed by Close
	miSrv    *http.Server
	miServed chan struct{}

	mu          sync.Mutex
	users       map[string]*User // by lower-case UPN
	devices     map[string]*device
	prts        map[string]*prtRecord
	nonces      map[string]time.Time
	deviceCodes map[string]*deviceCode // by device_code
	refresh     map[string]string      // MSAL refresh tokens → UPN
	clientKey   ClientKeyFormat
	offset      time.Duration
	nonceLife   time.Duration
	ticketLife  time.Duration
	requests    map[string]*atomic.Int64
	closeOnce   sync.Once
}

// NewServer starts an emulator. The caller must Close it.
func NewServer(opts Options) (*Server, error) {
	if len(opts.KDCs) == 0 {
		return nil, errors.New("entratest: Options.KDCs is required: the cloud TGTs come from a real KDC of " + entra.KerberosRealm)
	}
	if opts.Tenant == "" {
		opts.Tenant = DefaultTenant
	}
	if opts.Domain == "" {
		opts.Domain = "contoso.onmicrosoft.com"
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.NonceLifetime <= 0 {
		opts.NonceLifetime = 5 * time.Minute
	}
	s := &Server{
		Tenant: opts.Tenant, Domain: opts.Domain, opts: opts, served: make(chan struct{}),
		users: map[string]*User{}, devices: map[string]*device{}, prts: map[string]*prtRecord{},
		nonces: map[string]time.Time{}, deviceCodes: map[string]*deviceCode{}, refresh: map[string]string{},
		requests: map[string]*atomic.Int64{},
	}
	for i := range opts.Users {
		u := opts.Users[i]
		s.users[strings.ToLower(u.UPN)] = &u
	}
	var err error
	fail := func(err error) (*Server, error) {
		s.Close()
		return nil, fmt.Errorf("entratest: %w", err)
	}
	if s.tlsCA, err = testca.New("smbkrb Entra emulator TLS CA"); err != nil {
		return fail(err)
	}
	if s.deviceCA, err = testca.New("MS-Organization-Access (smbkrb emulator)"); err != nil {
		return fail(err)
	}
	if s.signKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return fail(err)
	}
	realms := []krb5.Realm{{Name: entra.KerberosRealm, KDCs: opts.KDCs}}
	if opts.ADRealm != nil {
		realms = append(realms, krb5.Realm{Name: opts.ADRealm.Realm, KDCs: opts.ADRealm.KDCs})
	}
	s.kerberos, err = krb5.NewContext(&krb5.Config{Realms: realms, DefaultRealm: entra.KerberosRealm})
	if err != nil {
		return fail(err)
	}

	l, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return fail(err)
	}
	tcp := l.Addr().(*net.TCPAddr)
	ip := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		ip = "127.0.0.1"
	}
	s.URL = "https://" + net.JoinHostPort(ip, strconv.Itoa(tcp.Port))
	leaf, err := s.tlsCA.Issue(ip)
	if err != nil {
		l.Close()
		return fail(err)
	}
	s.RootCAs = s.tlsCA.Pool()
	if s.dir, err = os.MkdirTemp("", "smbkrb-entratest-"); err != nil {
		l.Close()
		return fail(err)
	}
	s.CAFile = filepath.Join(s.dir, "ca.pem")
	if err = os.Chmod(s.dir, 0o755); err == nil {
		err = os.WriteFile(s.CAFile, s.tlsCA.PEM, 0o644)
	}
	if err != nil {
		l.Close()
		return fail(err)
	}
	s.proxy = &kkdcp.Handler{
		Realms:   map[string][]string{entra.KerberosRealm: opts.KDCs},
		ErrorLog: log.New(io.Discard, "", 0),
	}
	s.srv = &http.Server{
		Handler: s.routes(),
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{leaf.TLS},
			MinVersion:   tls.VersionTLS12,
			// Device certificates authenticate DELETE of a device; other
			// requests need none.
			ClientAuth: tls.RequestClientCert,
		},
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go func() {
		defer close(s.served)
		s.srv.ServeTLS(l, "", "")
	}()
	if len(opts.ManagedIdentities) > 0 {
		ml, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			return fail(err)
		}
		s.IdentityEndpoint = "http://" + ml.Addr().String() + "/msi/token"
		s.IdentityHeader = randomString(24)
		mux := http.NewServeMux()
		mux.HandleFunc("GET /msi/token", s.managedIdentity)
		s.miSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
		s.miServed = make(chan struct{})
		go func() {
			defer close(s.miServed)
			s.miSrv.Serve(ml)
		}()
	}
	return s, nil
}

// Close stops the emulator and removes its files; a Server made by Start
// stops its KDC too (whose files stay in the caller's directory).
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		if s.srv != nil {
			s.srv.Close()
			<-s.served
		}
		if s.miSrv != nil {
			s.miSrv.Close()
			<-s.miServed
		}
		if s.kerberos != nil {
			s.kerberos.Close()
		}
		s.mu.Lock()
		if s.fileK != nil {
			s.fileK.Close()
		}
		s.mu.Unlock()
		if s.dir != "" {
			os.RemoveAll(s.dir)
		}
		s.mu.Lock()
		for _, p := range s.prts {
			clear(p.sessionKey)
		}
		s.mu.Unlock()
		if s.kdc != nil {
			s.kdc.Close()
		}
	})
	return nil
}

// Config is an entra.Config for this emulator: the same client code as
// for the real service, with the emulator's URLs and CA.
func (s *Server) Config() *entra.Config {
	return &entra.Config{
		Tenant:             s.Tenant,
		Domain:             s.Domain,
		Authority:          s.URL,
		DeviceRegistration: s.URL + "/drs",
		RootCAs:            s.RootCAs,
	}
}

// SMBOAuthConfig is a smboauth.Config for the emulated tenant: an
// application's tokens from the emulator, its roots trusted. Exchanges
// made from it still need Endpoint set to FileEndpoint.
func (s *Server) SMBOAuthConfig() *smboauth.Config {
	return &smboauth.Config{Tenant: s.Tenant, Authority: s.URL, RootCAs: s.RootCAs}
}

// KDCProxyURL is the emulated tenant's KDC proxy.
func (s *Server) KDCProxyURL() string { return s.URL + "/" + s.Tenant + "/kerberos" }

// Client is an HTTP client that trusts the emulator.
func (s *Server) Client() *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.RootCAs}}}
}

// now is the emulator's clock (the real one, moved by SetClockOffset).
func (s *Server) now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Now().Add(s.offset)
}

// SetClockOffset moves the emulator's clock (nonces, token lifetimes,
// the times it checks in requests) by d.
func (s *Server) SetClockOffset(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset = d
}

// SetClientKeyFormat chooses how later PRT responses write clientKey.
func (s *Server) SetClientKeyFormat(f ClientKeyFormat) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clientKey = f
}

// SetDeviceEnabled enables or disables a registered device, as an
// administrator does in the admin center; a disabled device's PRT
// requests fail with AADSTS135011.
func (s *Server) SetDeviceEnabled(id string, enabled bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.devices[strings.ToLower(id)]
	if !ok {
		return fmt.Errorf("entratest: no device %s", id)
	}
	d.disabled = !enabled
	return nil
}

// DeleteDevice removes a device from the directory; its PRT requests then
// fail with AADSTS700003.
func (s *Server) DeleteDevice(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.devices, strings.ToLower(id))
}

// Devices lists the registered device IDs.
func (s *Server) Devices() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, d := range s.devices {
		out = append(out, d.id)
	}
	return out
}

// Requests is the number of requests the emulator answered on an
// endpoint: "openid-configuration", "devicecode", "token" (v2),
// "srv_challenge", "prt", "prt-refresh", "drs-discover", "drs-join",
// "drs-delete", "kdcproxy"; "" is the total.
func (s *Server) Requests(endpoint string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if endpoint == "" {
		var n int64
		for _, c := range s.requests {
			n += c.Load()
		}
		return n
	}
	if c, ok := s.requests[endpoint]; ok {
		return c.Load()
	}
	return 0
}

func (s *Server) count(endpoint string) {
	s.mu.Lock()
	c, ok := s.requests[endpoint]
	if !ok {
		c = &atomic.Int64{}
		s.requests[endpoint] = c
	}
	s.mu.Unlock()
	c.Add(1)
}
