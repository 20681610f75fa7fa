package krb5

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config describes the Kerberos world a Context sees, as Go values. The MIT
// profile is generated from it; /etc/krb5.conf is not read unless
// UseEnvironment is set. The zero value is valid and strict: AES-256 only,
// no DNS, no hostname canonicalization, no reverse DNS, 5 minutes of clock
// skew, 10-hour tickets. A Config must not be modified after it is passed
// to NewContext.
type Config struct {
	// Realms lists each realm with the KDCs that serve it. A realm that is
	// not listed has no KDC: requests for it fail with ErrNoKDC (unless
	// UseEnvironment lets MIT find one itself).
	Realms []Realm

	// DefaultRealm is the realm of principal names written without one.
	// Empty means a name without a realm is an error, except for service
	// names resolved through HostRealms or referrals.
	DefaultRealm string

	// HostRealms maps server host names to realms. A Host starting with a
	// dot (".file.core.windows.net") matches every name below it; any other
	// Host matches exactly. The longest match wins, so an exact host
	// overrides a suffix. Names are compared case-insensitively and never
	// resolved or canonicalized.
	HostRealms []HostRealm

	// Enctypes are the permitted encryption types, in order of preference.
	// Empty means AES-256 only: aes256-cts-hmac-sha1-96 (the only AES-256
	// type Active Directory and Entra issue) and aes256-cts-hmac-sha384-192.
	// The first is preferred because a password login derives its key with
	// PBKDF2: 4096 SHA-1 rounds instead of 32768 SHA-384 rounds, about
	// 5 ms instead of 50 ms on a small core.
	Enctypes []Enctype

	// ClockSkew is the tolerated difference between this clock and the
	// KDC's or server's; 0 means 5 minutes.
	ClockSkew time.Duration

	// TicketLifetime is the lifetime requested for initial tickets; 0 means
	// 10 hours. The KDC may grant less.
	TicketLifetime time.Duration

	// RenewLifetime is the renewable lifetime requested; 0 means none.
	RenewLifetime time.Duration

	// KDCTimeout bounds one exchange with one KDC when the caller's
	// context has no earlier deadline; 0 means 15 seconds.
	KDCTimeout time.Duration

	// DialContext opens TCP connections to KDCs; nil means a net.Dialer.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// HTTPClient carries MS-KKDCP requests to https:// KDC URLs. Nil means
	// a client that verifies TLS against RootCAs, or the system roots, and
	// goes through HTTPS_PROXY when the environment sets it.
	HTTPClient *http.Client

	// RootCAs are the roots trusted for KDC proxies when HTTPClient is nil.
	// Nil means the system roots.
	RootCAs *x509.CertPool

	// UseEnvironment layers the environment's MIT configuration
	// (KRB5_CONFIG, or /etc/krb5.conf) under the generated profile, and
	// lets MIT itself reach the KDCs of realms not listed in Realms. It
	// also lets DefaultCCache honour KRB5CCNAME.
	UseEnvironment bool

	// Concurrency is how many calls into MIT may run at once: the number
	// of MIT library contexts the Context keeps (MIT allows one thread at a
	// time in each). 0 means 4; 1 serializes every call, so one slow KDC
	// exchange stalls the rest. At most 64.
	Concurrency int

	// TempDir is where NewContext writes the generated profile (MIT reads
	// its profile from files), in a directory of its own, mode 0700,
	// named smbkrb-krb5-<pid>-*, that Close removes; "" means
	// os.TempDir() ($TMPDIR, else /tmp). On a device whose /tmp is not
	// writable, name a writable directory such as /run/smbkrb. The files
	// hold no secrets. A process that ends without Close leaves its
	// directory behind; the next NewContext over the same TempDir removes
	// those of processes that no longer run.
	TempDir string
}

// Realm is one Kerberos realm and its KDCs.
type Realm struct {
	// Name is the realm, usually upper case: LAB.TEST,
	// KERBEROS.MICROSOFTONLINE.COM.
	Name string

	// KDCs are tried in order. Each is a TCP "host:port" (port 88 if
	// omitted) or an MS-KKDCP proxy URL "https://host[:port]/path".
	KDCs []string
}

// HostRealm maps a host name, or with a leading dot a domain suffix, to a
// realm.
type HostRealm struct {
	Host  string
	Realm string
}

// Enctype is a Kerberos encryption type number (RFC 3961, RFC 8009).
type Enctype int32

// Encryption types smbkrb names. Others may appear in caches and are shown
// by number.
const (
	AES128SHA1   Enctype = 17 // aes128-cts-hmac-sha1-96
	AES256SHA1   Enctype = 18 // aes256-cts-hmac-sha1-96
	AES128SHA256 Enctype = 19 // aes128-cts-hmac-sha256-128
	AES256SHA384 Enctype = 20 // aes256-cts-hmac-sha384-192
	RC4HMAC      Enctype = 23 // arcfour-hmac (weak)
)

var enctypeNames = map[Enctype]string{
	AES128SHA1:   "aes128-cts-hmac-sha1-96",
	AES256SHA1:   "aes256-cts-hmac-sha1-96",
	AES128SHA256: "aes128-cts-hmac-sha256-128",
	AES256SHA384: "aes256-cts-hmac-sha384-192",
	RC4HMAC:      "arcfour-hmac",
}

// String returns MIT's name for e, or "enctype-N".
func (e Enctype) String() string {
	if s, ok := enctypeNames[e]; ok {
		return s
	}
	return "enctype-" + strconv.Itoa(int(e))
}

// KeySize is the length in bytes of a key of type e, or 0 if unknown.
func (e Enctype) KeySize() int {
	switch e {
	case AES128SHA1, AES128SHA256, RC4HMAC:
		return 16
	case AES256SHA1, AES256SHA384:
		return 32
	}
	return 0
}

// defaultEnctypes is the strict default: AES-256 only.
var defaultEnctypes = []Enctype{AES256SHA1, AES256SHA384}

func (c *Config) enctypes() []Enctype {
	if len(c.Enctypes) == 0 {
		return defaultEnctypes
	}
	return c.Enctypes
}

func (c *Config) clockSkew() time.Duration {
	if c.ClockSkew <= 0 {
		return 5 * time.Minute
	}
	return c.ClockSkew
}

func (c *Config) ticketLifetime() time.Duration {
	if c.TicketLifetime <= 0 {
		return 10 * time.Hour
	}
	return c.TicketLifetime
}

func (c *Config) kdcTimeout() time.Duration {
	if c.KDCTimeout <= 0 {
		return 15 * time.Second
	}
	return c.KDCTimeout
}

// RealmForHost returns the realm HostRealms maps host to, or "".
func (c *Config) RealmForHost(host string) string {
	hr, _ := c.HostRealmFor(host)
	return hr.Realm
}

// HostRealmFor returns the entry of HostRealms that maps host: the
// longest match, an exact host beating a suffix of the same length; ok is
// false when none does.
func (c *Config) HostRealmFor(host string) (hr HostRealm, ok bool) {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	bestLen := -1
	for _, m := range c.HostRealms {
		h := strings.ToLower(m.Host)
		match := false
		if strings.HasPrefix(h, ".") {
			match = strings.HasSuffix(host, h) || host == h[1:]
		} else {
			match = host == h
		}
		// An exact host beats any suffix of the same length.
		l := len(h)
		if !strings.HasPrefix(h, ".") {
			l++
		}
		if match && l > bestLen {
			hr, bestLen, ok = m, l, true
		}
	}
	return hr, ok
}

// validToken reports whether s can stand in a profile without changing its
// structure: no spaces, braces, '=', quotes, '#', ';' or control characters.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || strings.ContainsRune("{}=\"'#;\\", r) {
			return false
		}
	}
	return true
}

// Validate checks the configuration and says what is wrong.
func (c *Config) Validate() error {
	if c.Concurrency < 0 || c.Concurrency > 64 {
		return fmt.Errorf("krb5: config: Concurrency %d: give 1 to 64, or 0 for the default", c.Concurrency)
	}
	seen := map[string]bool{}
	for _, r := range c.Realms {
		if !validToken(r.Name) {
			return fmt.Errorf("krb5: config: realm name %q is empty or has characters a realm cannot have", r.Name)
		}
		if seen[r.Name] {
			return fmt.Errorf("krb5: config: realm %s is listed twice", r.Name)
		}
		seen[r.Name] = true
		if len(r.KDCs) == 0 {
			return fmt.Errorf("krb5: config: realm %s has no KDC: give a host:port or an https:// KDC proxy URL", r.Name)
		}
		for _, k := range r.KDCs {
			if _, err := parseKDC(k); err != nil {
				return fmt.Errorf("krb5: config: realm %s: %w", r.Name, err)
			}
		}
	}
	if c.DefaultRealm != "" && !validToken(c.DefaultRealm) {
		return fmt.Errorf("krb5: config: default realm %q is not a valid realm name", c.DefaultRealm)
	}
	for _, hr := range c.HostRealms {
		if !validToken(hr.Host) || hr.Host == "." {
			return fmt.Errorf("krb5: config: host-to-realm entry %q is not a host name or .domain suffix", hr.Host)
		}
		if !validToken(hr.Realm) {
			return fmt.Errorf("krb5: config: host %s maps to invalid realm %q", hr.Host, hr.Realm)
		}
	}
	for _, e := range c.Enctypes {
		if _, ok := enctypeNames[e]; !ok {
			return fmt.Errorf("krb5: config: unsupported enctype %d", int32(e))
		}
	}
	if c.ClockSkew < 0 || c.TicketLifetime < 0 || c.RenewLifetime < 0 || c.KDCTimeout < 0 {
		return errors.New("krb5: config: durations must not be negative")
	}
	return nil
}

// kdcEndpoint is one parsed KDC entry.
type kdcEndpoint struct {
	tcp string // host:port, or "" for a proxy
	url string // https URL, or ""
}

func parseKDC(s string) (kdcEndpoint, error) {
	if !validToken(s) {
		return kdcEndpoint{}, fmt.Errorf("KDC %q has spaces or characters a KDC address cannot have", s)
	}
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return kdcEndpoint{}, fmt.Errorf("KDC proxy URL %q: %v", s, err)
		}
		if u.Scheme != "https" {
			return kdcEndpoint{}, fmt.Errorf("KDC proxy URL %q: only https:// is allowed (Kerberos messages must not cross the network in plain HTTP)", s)
		}
		if u.Host == "" {
			return kdcEndpoint{}, fmt.Errorf("KDC proxy URL %q has no host", s)
		}
		return kdcEndpoint{url: s}, nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		// No port: Kerberos' 88.
		host, port = strings.Trim(s, "[]"), "88"
	}
	if host == "" {
		return kdcEndpoint{}, fmt.Errorf("KDC %q has no host", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return kdcEndpoint{}, fmt.Errorf("KDC %q: port must be 1-65535", s)
	}
	return kdcEndpoint{tcp: net.JoinHostPort(host, port)}, nil
}

// Profile returns the MIT profile (krb5.conf syntax) generated from c. It
// is what the Context's library reads; MIT's own tools accept it too.
func (c *Config) Profile() (string, error) {
	if err := c.Validate(); err != nil {
		return "", err
	}
	var b strings.Builder
	var names []string
	for _, e := range c.enctypes() {
		names = append(names, e.String())
	}
	ets := strings.Join(names, " ")
	b.WriteString("[libdefaults]\n")
	if c.DefaultRealm != "" {
		fmt.Fprintf(&b, " default_realm = %s\n", c.DefaultRealm)
	}
	fmt.Fprintf(&b, ` dns_lookup_kdc = false
 dns_lookup_realm = false
 dns_canonicalize_hostname = false
 rdns = false
 qualify_shortname = ""
 udp_preference_limit = 1
 allow_weak_crypto = false
 permitted_enctypes = %[1]s
 default_tkt_enctypes = %[1]s
 default_tgs_enctypes = %[1]s
 clockskew = %[2]d
 ticket_lifetime = %[3]d
 forwardable = true
`, ets, int64(c.clockSkew()/time.Second), int64(c.ticketLifetime()/time.Second))
	if c.RenewLifetime > 0 {
		fmt.Fprintf(&b, " renew_lifetime = %d\n", int64(c.RenewLifetime/time.Second))
	}
	b.WriteString("[realms]\n")
	for _, r := range c.Realms {
		fmt.Fprintf(&b, " %s = {\n", r.Name)
		for _, k := range r.KDCs {
			// MIT never sends to these itself (the send hook answers), but
			// its tools can use the same profile.
			fmt.Fprintf(&b, "  kdc = %s\n", k)
		}
		b.WriteString(" }\n")
	}
	b.WriteString("[domain_realm]\n")
	for _, hr := range c.HostRealms {
		fmt.Fprintf(&b, " %s = %s\n", strings.ToLower(hr.Host), hr.Realm)
	}
	return b.String(), nil
}

// envProfilePath is the colon-separated list MIT reads for the environment:
// KRB5_CONFIG, or the built-in default.
func envProfilePath() string {
	if p := os.Getenv("KRB5_CONFIG"); p != "" {
		return p
	}
	return "/etc/krb5.conf"
}
