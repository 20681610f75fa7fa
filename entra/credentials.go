package entra

import (
	"context"
	"sync"
	"time"

	"github.com/smbkrb/smbkrb/krb5"
)

// SignInCredentials is a source of Kerberos credentials for smb.Dialer (it
// implements smb.Credentials): it puts the session's cloud TGT into the
// dialer's cache and, when the TGT is within Config.RefreshBefore of its
// end, refreshes the PRT for a new one first, so a long-running process
// keeps getting service tickets. Entra does not renew TGTs; this is the
// only way to a new one without signing in again.
type SignInCredentials struct {
	c   *Client
	s   *SignIn
	dir string

	mu sync.Mutex
	// OnRefresh, if set, is called after each refresh with the new state
	// (for logs: it carries no secrets).
	OnRefresh func(Info)
}

// Credentials returns the credential source of sign-in s. With dir set,
// each refreshed session is saved there (SignIn.Save), so that a restart
// resumes it.
func (c *Client) Credentials(s *SignIn, dir string) *SignInCredentials {
	return &SignInCredentials{c: c, s: s, dir: dir}
}

// Acquire makes cc hold a cloud TGT valid for Config.RefreshBefore more,
// refreshing the session if its TGT is older. spn is not used: every
// Azure Files service ticket comes from that TGT.
func (cr *SignInCredentials) Acquire(ctx context.Context, k *krb5.Context, cc *krb5.CCache, spn string) error {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	margin := cr.c.cfg.refreshBefore()
	soon := time.Now().Add(margin)
	info := cr.s.Info()
	if info.Client != "" && info.TGTEnd.After(soon) && cacheHasTGT(cc, info.Client, soon) {
		return nil
	}
	if info.Client == "" || !info.TGTEnd.After(soon) {
		if err := cr.c.Refresh(ctx, cr.s); err != nil {
			return err
		}
		if cr.dir != "" {
			if err := cr.s.Save(cr.dir); err != nil {
				return err
			}
		}
		if cr.OnRefresh != nil {
			cr.OnRefresh(cr.s.Info())
		}
	}
	return cr.s.StoreTGT(cc)
}

func (cr *SignInCredentials) String() string {
	in := cr.s.Info()
	return "Entra sign-in of " + in.User + " on device " + in.DeviceID
}

// cacheHasTGT reports whether cc belongs to client and holds its realm's
// TGT valid until after soon.
func cacheHasTGT(cc *krb5.CCache, client string, soon time.Time) bool {
	p, err := cc.Principal()
	return err == nil && p == client && cc.HasTGT(realmOf(client), soon)
}

// realmOf is the realm of a principal name in MIT's form (the part after
// the last unescaped '@').
func realmOf(name string) string {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '@' && (i == 0 || name[i-1] != '\\') {
			return name[i+1:]
		}
	}
	return ""
}
