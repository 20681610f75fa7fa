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
	if err != nil || !samePrincipal(have, principal) {
		return false
	}
	realm := have[strings.LastIndexByte(have, '@')+1:]
	creds, err := cc.Credentials()
	if err != nil {
		return false
	}
	soon := time.Now().Add(renewMargin)
	for _, c := range creds {
		if strings.HasPrefix(c.Server, "krbtgt/"+realm+"@") && c.EndTime.After(soon) {
			return true
		}
	}
	return false
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
