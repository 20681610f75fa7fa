package krb5

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"context"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/smbkrb/smbkrb/internal/kerbmsg"
)

// CCache is an MIT credential cache (krb5_ccache): MEMORY:, FILE:, DIR:,
// KEYRING: or KCM:. Close releases the handle and keeps the contents;
// Destroy removes them.
type CCache struct {
	k      *Context
	name   string
	closed atomic.Bool
	// hs are the cache's handles, one per MIT context of k, each resolved
	// by name on first use in that context; hs[i] is used only with
	// k.mits[i].mu held.
	hs []C.krb5_ccache
}

// NewMemoryCCache creates a new, uniquely named MEMORY: cache. Its
// contents never touch the disk and vanish when it is destroyed or the
// process exits. This is the default cache of smbkrb.
func (k *Context) NewMemoryCCache() (*CCache, error) {
	cc := &CCache{k: k, hs: make([]C.krb5_ccache, len(k.mits))}
	err := k.call(context.Background(), "create memory credential cache", func(m *mit) (C.krb5_error_code, *C.char) {
		var name, errmsg *C.char
		code := C.smbkrb_cc_new_memory(m.c, &cc.hs[m.i], &name, &errmsg)
		cc.name = goString(name)
		return code, errmsg
	})
	if err != nil {
		return nil, err
	}
	return cc, nil
}

// OpenCCache opens the cache with a full name such as
// "FILE:/run/smbkrb/cc", "DIR:/var/lib/smbkrb/ccs", "KEYRING:persistent:0",
// "KCM:" or "MEMORY:name". A FILE: cache is created with mode 0600 when
// first written. The cache is not initialized: a fresh one is empty.
func (k *Context) OpenCCache(name string) (*CCache, error) {
	cc := &CCache{k: k, hs: make([]C.krb5_ccache, len(k.mits))}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	err := k.call(context.Background(), "open credential cache "+name, func(m *mit) (C.krb5_error_code, *C.char) {
		var full, errmsg *C.char
		code := C.smbkrb_cc_resolve(m.c, cname, &cc.hs[m.i], &full, &errmsg)
		cc.name = goString(full)
		return code, errmsg
	})
	if err != nil {
		return nil, err
	}
	return cc, nil
}

// DefaultCCache opens the environment's default cache: KRB5CCNAME, or
// MIT's default for this user. It is only available with
// Config.UseEnvironment, so that a library user's process environment
// never picks a cache by surprise.
func (k *Context) DefaultCCache() (*CCache, error) {
	if !k.cfg.UseEnvironment {
		return nil, &Error{Op: "open default credential cache", Message: "the environment's default cache is only used with Config.UseEnvironment"}
	}
	cc := &CCache{k: k, hs: make([]C.krb5_ccache, len(k.mits))}
	err := k.call(context.Background(), "open default credential cache", func(m *mit) (C.krb5_error_code, *C.char) {
		var full, errmsg *C.char
		code := C.smbkrb_cc_default(m.c, &cc.hs[m.i], &full, &errmsg)
		cc.name = goString(full)
		return code, errmsg
	})
	if err != nil {
		return nil, err
	}
	return cc, nil
}

// Name is the full name of the cache ("MEMORY:abc", "FILE:/tmp/cc"). Other
// programs (MIT klist, smbclient) can open the same cache by this name when
// it is not a MEMORY: cache.
func (cc *CCache) Name() string { return cc.name }

// Initialize empties the cache and sets its default principal.
func (cc *CCache) Initialize(principal string) error {
	cp := C.CString(principal)
	defer C.free(unsafe.Pointer(cp))
	return cc.call(context.Background(), "initialize cache "+cc.name+" for "+principal, func(kc C.krb5_context, h C.krb5_ccache) (C.krb5_error_code, *C.char) {
		var errmsg *C.char
		return C.smbkrb_cc_initialize(kc, h, cp, &errmsg), errmsg
	})
}

// Principal returns the cache's default (client) principal.
func (cc *CCache) Principal() (string, error) {
	var name string
	err := cc.call(context.Background(), "read principal of cache "+cc.name, func(kc C.krb5_context, h C.krb5_ccache) (C.krb5_error_code, *C.char) {
		var n, errmsg *C.char
		code := C.smbkrb_cc_principal(kc, h, &n, &errmsg)
		name = goString(n)
		return code, errmsg
	})
	return name, err
}

// TicketFlags are the flags of a ticket (RFC 4120 5.3), bit 0 being the
// most significant bit as on the wire.
type TicketFlags uint32

// Ticket flags.
const (
	FlagForwardable      TicketFlags = 0x40000000
	FlagForwarded        TicketFlags = 0x20000000
	FlagProxiable        TicketFlags = 0x10000000
	FlagRenewable        TicketFlags = 0x00800000
	FlagInitial          TicketFlags = 0x00400000
	FlagPreAuthent       TicketFlags = 0x00200000
	FlagOKAsDelegate     TicketFlags = 0x00040000
	FlagEncPARep         TicketFlags = 0x00010000
	FlagTransitedChecked TicketFlags = 0x00080000
)

// String returns the flags in klist's letters (F forwardable, f forwarded,
// P proxiable, R renewable, I initial, A pre-authenticated, O ok-as-delegate,
// T transited-checked).
func (f TicketFlags) String() string {
	var s []byte
	for _, x := range []struct {
		f TicketFlags
		c byte
	}{{FlagForwardable, 'F'}, {FlagForwarded, 'f'}, {FlagProxiable, 'P'}, {FlagRenewable, 'R'}, {FlagInitial, 'I'}, {FlagPreAuthent, 'A'}, {FlagTransitedChecked, 'T'}, {FlagOKAsDelegate, 'O'}} {
		if f&x.f != 0 {
			s = append(s, x.c)
		}
	}
	return string(s)
}

// CredentialInfo describes one ticket in a cache, without its key.
type CredentialInfo struct {
	Client, Server string
	// KeyEnctype is the session key's type; TicketEnctype the type of the
	// key the ticket is encrypted in (the service's key), or 0 if the
	// ticket could not be parsed.
	KeyEnctype, TicketEnctype               Enctype
	AuthTime, StartTime, EndTime, RenewTill time.Time
	Flags                                   TicketFlags
}

// Expired reports whether the ticket has expired at now.
func (ci *CredentialInfo) Expired(now time.Time) bool { return !now.Before(ci.EndTime) }

// Credentials lists the tickets in the cache (configuration entries are
// left out).
func (cc *CCache) Credentials() ([]CredentialInfo, error) {
	var out []CredentialInfo
	err := cc.call(context.Background(), "list cache "+cc.name, func(kc C.krb5_context, h C.krb5_ccache) (C.krb5_error_code, *C.char) {
		var infos *C.smbkrb_cred_info
		var n C.int
		var errmsg *C.char
		code := C.smbkrb_cc_list(kc, h, &infos, &n, &errmsg)
		if code == 0 {
			out = credInfos(infos, n)
			C.smbkrb_free_cred_infos(infos, n)
		}
		return code, errmsg
	})
	return out, err
}

// HasTGT reports whether the cache holds a ticket-granting ticket of
// realm (krbtgt/REALM@REALM) that is still valid at until; realm "" means
// the realm of the cache's principal. An unreadable or empty cache holds
// none. Credential sources use it to decide whether to log in again.
func (cc *CCache) HasTGT(realm string, until time.Time) bool {
	if realm == "" {
		p, err := cc.Principal()
		if err != nil {
			return false
		}
		realm = principalRealm(p)
	}
	creds, err := cc.Credentials()
	if err != nil {
		return false
	}
	want := "krbtgt/" + realm + "@" + realm
	for _, c := range creds {
		if c.Server == want && c.EndTime.After(until) {
			return true
		}
	}
	return false
}

// principalRealm is the realm of a principal name in MIT's form: the part
// after the last '@' that no backslash escapes.
func principalRealm(name string) string {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '@' && (i == 0 || name[i-1] != '\\') {
			return name[i+1:]
		}
	}
	return ""
}

// Destroy removes the cache's contents (for FILE:, the file) and releases
// the handles.
func (cc *CCache) Destroy() error { return cc.release(true) }

// Close releases the handles; the contents stay (a MEMORY: cache lives on
// until destroyed).
func (cc *CCache) Close() error { return cc.release(false) }

// release closes every handle of the cache, destroying its contents
// through the first one when destroy is set.
func (cc *CCache) release(destroy bool) error {
	if cc.closed.Swap(true) {
		return nil
	}
	var err error
	for _, m := range cc.k.mits {
		m.mu.Lock()
		if h := cc.hs[m.i]; h != nil && m.c != nil {
			if destroy {
				var errmsg *C.char
				if code := C.smbkrb_cc_destroy(m.c, h, &errmsg); code != 0 {
					err = newError("destroy cache "+cc.name, code, errmsg)
				} else if errmsg != nil {
					C.free(unsafe.Pointer(errmsg))
				}
				destroy = false // krb5_cc_destroy releases the handle even on failure
			} else {
				C.krb5_cc_close(m.c, h)
			}
		}
		cc.hs[m.i] = nil
		m.mu.Unlock()
	}
	return err
}

// call is Context.call for an operation on the open cache, given the MIT
// context and the cache's handle in it (resolved by name there first if
// need be). Once the cache is closed or destroyed it fails instead of
// reaching MIT.
func (cc *CCache) call(ctx context.Context, op string, fn func(kc C.krb5_context, h C.krb5_ccache) (C.krb5_error_code, *C.char)) error {
	return cc.k.call(ctx, op, func(m *mit) (C.krb5_error_code, *C.char) {
		if cc.closed.Load() {
			return C.KRB5_FCC_INTERNAL, C.CString("cache is closed")
		}
		if cc.hs[m.i] == nil {
			cname := C.CString(cc.name)
			defer C.free(unsafe.Pointer(cname))
			var full, errmsg *C.char
			code := C.smbkrb_cc_resolve(m.c, cname, &cc.hs[m.i], &full, &errmsg)
			C.free(unsafe.Pointer(full)) // the same as cc.name
			if code != 0 {
				return code, errmsg
			}
			if errmsg != nil {
				C.free(unsafe.Pointer(errmsg))
			}
		}
		return fn(m.c, cc.hs[m.i])
	})
}

func unixTime(v C.int64_t) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(int64(v), 0)
}

func credInfo(ci *C.smbkrb_cred_info) CredentialInfo {
	info := CredentialInfo{
		Client:     C.GoString(ci.client),
		Server:     C.GoString(ci.server),
		KeyEnctype: Enctype(ci.key_enctype),
		AuthTime:   unixTime(ci.authtime),
		StartTime:  unixTime(ci.starttime),
		EndTime:    unixTime(ci.endtime),
		RenewTill:  unixTime(ci.renew_till),
		Flags:      TicketFlags(ci.flags),
	}
	if info.StartTime.IsZero() {
		info.StartTime = info.AuthTime
	}
	if ci.ticket != nil {
		info.TicketEnctype = ticketEnctype(C.GoBytes(unsafe.Pointer(ci.ticket), C.int(ci.ticket_len)))
	}
	return info
}

func credInfos(infos *C.smbkrb_cred_info, n C.int) []CredentialInfo {
	if n == 0 || infos == nil {
		return nil
	}
	s := unsafe.Slice(infos, int(n))
	out := make([]CredentialInfo, 0, len(s))
	for i := range s {
		out = append(out, credInfo(&s[i]))
	}
	return out
}

// ticketEnctype reads the enc-part etype of a DER Ticket (RFC 4120 5.3),
// or returns 0.
func ticketEnctype(der []byte) Enctype {
	t, err := kerbmsg.ParseTicket(der)
	if err != nil {
		return 0
	}
	return Enctype(t.EncPart.EType)
}
