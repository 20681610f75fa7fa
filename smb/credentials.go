package smb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/smbkrb/smbkrb/krb5"
)

// Credentials is a source of Kerberos credentials: it puts into a cache
// what the Dialer needs to get a service ticket (a TGT, or the service
// ticket itself). Password, Keytab and Cache are the sources of this
// package; other packages add their own (Entra device sign-in, SMB OAuth).
type Credentials interface {
	// Acquire makes cc hold a valid TGT or a valid ticket for spn,
	// logging in if it must. It is called before every dial (and every
	// renewal of an expired session), so it should return quickly when cc
	// already holds what is needed, and replace what is about to end.
	Acquire(ctx context.Context, k *krb5.Context, cc *krb5.CCache, spn string) error
	// String describes the source without secrets, for errors and logs:
	// "password for alice@LAB.TEST".
	String() string
}

// renewMargin: a TGT that ends sooner than this is replaced.
const renewMargin = 2 * time.Minute

// Password logs principal in with a password when the cache holds no
// valid TGT for it. The password is copied (the caller may zero its own
// slice); Forget zeroes the copy.
func Password(principal string, password []byte) *PasswordCredentials {
	return &PasswordCredentials{principal: principal, password: append([]byte(nil), password...)}
}

// PasswordCredentials is the Credentials of Password.
type PasswordCredentials struct {
	// Options tune the login, for example Enterprise for a user principal
	// name (alice@contoso.example) the KDC maps to the account.
	Options *krb5.InitCredsOptions

	principal string
	mu        sync.Mutex
	password  []byte
}

// Acquire logs in unless cc already holds a valid TGT for the principal,
// or a ticket for spn that is good for a while.
func (p *PasswordCredentials) Acquire(ctx context.Context, k *krb5.Context, cc *krb5.CCache, spn string) error {
	if hasTGT(cc, p.principal) || hasTicket(k, cc, spn) {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.password == nil {
		return errors.New("the password was forgotten (Forget was called)")
	}
	_, err := k.GetInitCredsPassword(ctx, cc, p.principal, p.password, p.Options)
	return err
}

// Forget zeroes the password; later logins fail.
func (p *PasswordCredentials) Forget() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.password)
	p.password = nil
}

func (p *PasswordCredentials) String() string { return "password for " + p.principal }

// Keytab logs principal in with its key from a keytab (a path or a name
// such as "FILE:/etc/smbkrb/host.keytab") when the cache holds no valid
// TGT for it.
func Keytab(principal, keytab string) Credentials {
	return keytabCredentials{principal, keytab}
}

type keytabCredentials struct{ principal, keytab string }

func (kt keytabCredentials) Acquire(ctx context.Context, k *krb5.Context, cc *krb5.CCache, spn string) error {
	if hasTGT(cc, kt.principal) || hasTicket(k, cc, spn) {
		return nil
	}
	_, err := k.GetInitCredsKeytab(ctx, cc, kt.principal, kt.keytab, nil)
	return err
}

func (kt keytabCredentials) String() string {
	return "keytab " + kt.keytab + " for " + kt.principal
}

// Cache uses the tickets already in the Dialer's cache (from an earlier
// login, MIT kinit or smbkrb kinit) and never logs in.
func Cache() Credentials { return cacheCredentials{} }

type cacheCredentials struct{}

func (cacheCredentials) Acquire(ctx context.Context, k *krb5.Context, cc *krb5.CCache, spn string) error {
	if _, err := k.CachedCredentials(cc, spn); err == nil {
		return nil
	}
	princ, err := cc.Principal()
	if err != nil {
		return fmt.Errorf("the credential cache %s holds no tickets (log in first, e.g. smbkrb kinit): %w", cc.Name(), krb5.ErrNoCredentials)
	}
	if !hasTGT(cc, princ) {
		return fmt.Errorf("the credential cache %s holds no valid ticket-granting ticket for %s (expired? log in again, e.g. smbkrb kinit): %w", cc.Name(), princ, krb5.ErrNoCredentials)
	}
	return nil
}

func (cacheCredentials) String() string { return "the tickets in the credential cache" }

// FirstOf tries sources in order, as an SSH client tries its
// authentication methods: the first whose Acquire succeeds serves the
// dial, and when every one fails the error names each source and its
// failure (errors.Is matches any of them). FirstOf(Keytab(p, kt),
// Password(p, pw)) falls back to the password when the keytab is missing
// or out of date. All sources share the Dialer's cache, so they should be
// logins of the same client.
func FirstOf(sources ...Credentials) Credentials { return firstOf(sources) }

type firstOf []Credentials

func (f firstOf) Acquire(ctx context.Context, k *krb5.Context, cc *krb5.CCache, spn string) error {
	if len(f) == 0 {
		return errors.New("FirstOf was given no credential sources")
	}
	var errs []error
	for _, c := range f {
		err := c.Acquire(ctx, k, cc, spn)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err // cancelled: the sources after it would fail alike
		}
		errs = append(errs, credentialsError(c, err))
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return fmt.Errorf("every credential source failed: %w", errors.Join(errs...))
}

func (f firstOf) String() string {
	names := make([]string, len(f))
	for i, c := range f {
		names[i] = c.String()
	}
	return "the first that works of: " + strings.Join(names, "; ")
}

// RealmCredentials is the credential source, and the cache, for the
// servers of one realm: an entry of Dialer.Realms.
type RealmCredentials struct {
	// Realm is the realm of the servers' service principals, such as
	// "CONTOSO.EXAMPLE" or "KERBEROS.MICROSOFTONLINE.COM". Required.
	Realm string
	// Credentials fill CCache for these servers; nil means Cache().
	Credentials Credentials
	// CCache holds this realm's tickets; nil means the Dialer's CCache
	// (or, if that is nil too, a fresh MEMORY: cache per Session). A cache
	// holds the tickets of one client: an account of another realm than
	// the Dialer's default needs a cache of its own.
	CCache *krb5.CCache
}

// CredentialsFor returns the credential source and the cache a dial to
// srv uses: those of the Realms entry for srv's realm, else Credentials
// (Cache() when nil) and CCache. A nil cache means the session will make
// its own. Diagnostics use it to say which account a server gets.
func (d *Dialer) CredentialsFor(srv Server) (Credentials, *krb5.CCache) {
	dd, err := d.forRealm(srv)
	if err != nil {
		dd = d
	}
	return dd.credentials(), dd.CCache
}

// forRealm returns a copy of d whose Credentials and CCache are those of
// the Realms entry for srv's realm, or d itself when none matches.
func (d *Dialer) forRealm(srv Server) (*Dialer, error) {
	if len(d.Realms) == 0 {
		return d, nil
	}
	if d.Kerberos == nil {
		return d, nil // dial says what is missing
	}
	realm := ""
	if name, referral := d.Kerberos.ServerPrincipal(srv.spn()); !referral {
		realm = name[strings.LastIndexByte(name, '@')+1:]
	}
	for _, r := range d.Realms {
		if r.Realm == "" {
			return nil, errors.New("Dialer.Realms: an entry has no Realm")
		}
		if realm != "" && strings.EqualFold(r.Realm, realm) {
			dd := *d
			dd.Credentials, dd.Realms = r.Credentials, nil
			if r.CCache != nil {
				dd.CCache = r.CCache
			}
			return &dd, nil
		}
	}
	return d, nil
}

// hasTicket reports whether cc holds a ticket for spn valid for
// renewMargin more.
func hasTicket(k *krb5.Context, cc *krb5.CCache, spn string) bool {
	t, err := k.CachedCredentials(cc, spn)
	return err == nil && time.Until(t.EndTime) > renewMargin
}

// hasTGT reports whether cc's principal is principal (a bare name matches
// any realm) and cc holds a TGT of its realm valid for renewMargin more.
func hasTGT(cc *krb5.CCache, principal string) bool {
	have, err := cc.Principal()
	return err == nil && samePrincipal(have, principal) && cc.HasTGT("", time.Now().Add(renewMargin))
}

// samePrincipal compares a full principal name with a name as a user
// gave it, which may lack the realm. Enterprise names
// (alice@contoso.example) are never equal to the canonical name the KDC
// returns, so they log in again; that is only a cost, not an error.
func samePrincipal(full, given string) bool {
	if strings.EqualFold(full, given) {
		return true
	}
	if !strings.Contains(given, "@") {
		i := strings.LastIndexByte(full, '@')
		return i >= 0 && full[:i] == given
	}
	return false
}
