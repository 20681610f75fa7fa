package main

/*
#include "capi.h"
*/
import "C"

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"time"
	"unsafe"

	"github.com/smbkrb/smbkrb/entra"
	"github.com/smbkrb/smbkrb/krb5"
	"github.com/smbkrb/smbkrb/smb"
	"github.com/smbkrb/smbkrb/smboauth"
)

// credKind is where a credential's tickets come from.
type credKind int

const (
	credPassword credKind = iota
	credKeytab
	credCCache
	credEntra
	credOAuth
	credManagedIdentity
)

// cred is an smbkrb_cred: a source of tickets and, per configuration
// (per Kerberos context), the cache that holds them, shared by the
// sessions that use it.
type cred struct {
	kind      credKind
	principal string
	password  []byte // zeroed when the last reference goes
	path      string // keytab, cache name or Entra state directory
	clientID  string // managed identity
	tokenFn   C.smbkrb_token_fn
	tokenUser unsafe.Pointer

	mu    sync.Mutex
	refs  int // the handle and each session
	bound map[*config]*binding
}

// binding is a credential in one Kerberos context: the Dialer's
// credentials and cache, and what releases them.
type binding struct {
	creds   smb.Credentials
	cc      *krb5.CCache
	release func()
	users   int
}

// bind returns the credential's binding to cfg's context k, making it on
// first use, and takes a reference for a session.
func (cr *cred) bind(cfg *config, k *krb5.Context) (*binding, error) {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	if b := cr.bound[cfg]; b != nil {
		b.users++
		cr.refs++
		return b, nil
	}
	b, err := cr.newBinding(cfg, k)
	if err != nil {
		return nil, err
	}
	if cr.bound == nil {
		cr.bound = make(map[*config]*binding)
	}
	b.users = 1
	cr.bound[cfg] = b
	cr.refs++
	return b, nil
}

func (cr *cred) newBinding(cfg *config, k *krb5.Context) (*binding, error) {
	memory := func(creds smb.Credentials, forget func()) (*binding, error) {
		cc, err := k.NewMemoryCCache()
		if err != nil {
			return nil, err
		}
		return &binding{creds: creds, cc: cc, release: func() { cc.Destroy(); forget() }}, nil
	}
	switch cr.kind {
	case credPassword:
		p := smb.Password(cr.principal, cr.password)
		return memory(p, p.Forget)
	case credKeytab:
		return memory(smb.Keytab(cr.principal, cr.path), func() {})
	case credCCache:
		cc, err := k.OpenCCache(cr.path)
		if err != nil {
			return nil, err
		}
		return &binding{creds: smb.Cache(), cc: cc, release: func() { cc.Close() }}, nil
	case credEntra:
		if cfg.entra == nil {
			return nil, usagef("an Entra sign-in needs the tenant: call smbkrb_config_set_entra first")
		}
		d, err := entra.LoadDevice(cr.path)
		if err != nil {
			return nil, err
		}
		s, err := entra.LoadSignIn(cr.path, d)
		if err != nil {
			return nil, err
		}
		cc, err := k.OpenCCache("FILE:" + filepath.Join(cr.path, "krb5cc"))
		if err != nil {
			s.Close()
			return nil, err
		}
		return &binding{creds: cfg.entra.Credentials(s, cr.path), cc: cc, release: func() { cc.Close(); s.Close() }}, nil
	case credOAuth, credManagedIdentity:
		var ts smboauth.TokenSource
		if cr.kind == credOAuth {
			ts = smboauth.TokenFunc(cr.token)
		} else {
			var err error
			if ts, err = smboauth.ManagedIdentityTokens(cr.clientID, nil); err != nil {
				return nil, err
			}
		}
		cfg.mu.Lock()
		x := (&smboauth.Config{RootCAs: cfg.roots, Timeout: cfg.timeout}).Exchange(ts)
		x.Endpoint = cfg.oauthEP
		cfg.mu.Unlock()
		return memory(x, func() {})
	}
	return nil, errors.New("unknown credential kind")
}

// errNoToken is what a token callback's refusal becomes.
var errNoToken = errors.New("the access-token callback (smbkrb_token_fn) returned no token")

// token calls the caller's token callback.
func (cr *cred) token(ctx context.Context) (smboauth.AccessToken, error) {
	buf := make([]byte, C.SMBKRB_TOKEN_MAX)
	defer clear(buf)
	var n C.size_t
	var exp C.int64_t
	rc := C.smbkrb_token_cb_(cr.tokenFn, cr.tokenUser, (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)), &n, &exp)
	if rc != 0 {
		return smboauth.AccessToken{}, smbkrbAuth{errNoToken}
	}
	if n == 0 || int(n) > len(buf) {
		return smboauth.AccessToken{}, smbkrbAuth{errors.New("the access-token callback (smbkrb_token_fn) set a length of 0 or more than cap")}
	}
	return smboauth.AccessToken{Token: string(buf[:n]), ExpiresOn: time.Unix(int64(exp), 0)}, nil
}

// smbkrbAuth marks a failure of the caller's token source as an
// authentication failure.
type smbkrbAuth struct{ error }

func (e smbkrbAuth) Unwrap() []error { return []error{e.error, smboauth.ErrClientCredentials} }

// unbind drops a session's reference to cfg's binding.
func (cr *cred) unbind(cfg *config) {
	cr.mu.Lock()
	if b := cr.bound[cfg]; b != nil {
		b.users--
		if b.users == 0 {
			b.release()
			delete(cr.bound, cfg)
		}
	}
	cr.mu.Unlock()
	cr.release()
}

// release drops a reference; the last one zeroes the password.
func (cr *cred) release() {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	cr.refs--
	if cr.refs == 0 {
		clear(cr.password)
	}
}

func newCred(out **C.smbkrb_cred, what string, cr *cred) C.int {
	if out == nil {
		return status(what, usagef("out is NULL"))
	}
	cr.refs = 1
	*out = (*C.smbkrb_cred)(newHandle(magicCred, cr))
	return C.SMBKRB_OK
}

//export smbkrb_cred_password
func smbkrb_cred_password(principal *C.smbkrb_cchar, password *C.smbkrb_cchar, n C.size_t, out **C.smbkrb_cred) (rc C.int) {
	begin()
	const what = "smbkrb_cred_password"
	defer recoverTo(what, &rc)
	p := goString(principal)
	if err := need("principal", p); err != nil {
		return status(what, err)
	}
	if password == nil || n == 0 {
		return status(what, usagef("the password is NULL or empty"))
	}
	pw := make([]byte, int(n))
	copy(pw, unsafe.Slice((*byte)(unsafe.Pointer(password)), int(n)))
	return newCred(out, what, &cred{kind: credPassword, principal: p, password: pw})
}

//export smbkrb_cred_keytab
func smbkrb_cred_keytab(principal, keytab *C.smbkrb_cchar, out **C.smbkrb_cred) (rc C.int) {
	begin()
	const what = "smbkrb_cred_keytab"
	defer recoverTo(what, &rc)
	p, kt := goString(principal), goString(keytab)
	if err := errors.Join(need("principal", p), need("keytab_path", kt)); err != nil {
		return status(what, err)
	}
	return newCred(out, what, &cred{kind: credKeytab, principal: p, path: kt})
}

//export smbkrb_cred_ccache
func smbkrb_cred_ccache(name *C.smbkrb_cchar, out **C.smbkrb_cred) (rc C.int) {
	begin()
	const what = "smbkrb_cred_ccache"
	defer recoverTo(what, &rc)
	n := goString(name)
	if err := need("ccache_name", n); err != nil {
		return status(what, err)
	}
	if filepath.IsAbs(n) {
		n = "FILE:" + n
	}
	return newCred(out, what, &cred{kind: credCCache, path: n})
}

//export smbkrb_cred_entra
func smbkrb_cred_entra(dir *C.smbkrb_cchar, out **C.smbkrb_cred) (rc C.int) {
	begin()
	const what = "smbkrb_cred_entra"
	defer recoverTo(what, &rc)
	d := goString(dir)
	if err := need("state_dir", d); err != nil {
		return status(what, err)
	}
	return newCred(out, what, &cred{kind: credEntra, path: d})
}

//export smbkrb_cred_oauth
func smbkrb_cred_oauth(fn C.smbkrb_token_fn, user unsafe.Pointer, out **C.smbkrb_cred) (rc C.int) {
	begin()
	const what = "smbkrb_cred_oauth"
	defer recoverTo(what, &rc)
	if fn == nil {
		return status(what, usagef("fn is NULL"))
	}
	return newCred(out, what, &cred{kind: credOAuth, tokenFn: fn, tokenUser: user})
}

//export smbkrb_cred_managed_identity
func smbkrb_cred_managed_identity(clientID *C.smbkrb_cchar, out **C.smbkrb_cred) (rc C.int) {
	begin()
	const what = "smbkrb_cred_managed_identity"
	defer recoverTo(what, &rc)
	return newCred(out, what, &cred{kind: credManagedIdentity, clientID: goString(clientID)})
}

//export smbkrb_cred_free
func smbkrb_cred_free(p *C.smbkrb_cred) {
	begin()
	if cr, ok := freeHandle[*cred](unsafe.Pointer(p), magicCred); ok {
		cr.release()
	}
}
