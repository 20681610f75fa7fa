package krb5

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
	"unsafe"
)

// InitCredsOptions tunes a login (an AS exchange). The zero value asks
// for the Config's lifetimes and a forwardable ticket.
type InitCredsOptions struct {
	// Enterprise sends the client as an NT-ENTERPRISE name: a user
	// principal name such as "alice@contoso.com" that the KDC of Realm
	// resolves and canonicalizes (Active Directory UPNs, Entra users).
	Enterprise bool
	// Realm is the realm to ask for an enterprise name; "" means
	// Config.DefaultRealm. Ignored for ordinary names, which carry their
	// realm ("alice@LAB.TEST").
	Realm string
	// Lifetime overrides Config.TicketLifetime for this login.
	Lifetime time.Duration
	// RenewLifetime overrides Config.RenewLifetime for this login.
	RenewLifetime time.Duration
	// NotForwardable asks for a ticket that cannot be forwarded.
	NotForwardable bool
}

// GetInitCredsPassword logs client in with a password (an AS exchange with
// encrypted-timestamp pre-authentication) and stores the TGT in cc, which
// is first initialized with the canonical client name. It returns that
// name. The caller should zero password after the call; smbkrb zeroes its
// own copy.
func (k *Context) GetInitCredsPassword(ctx context.Context, cc *CCache, client string, password []byte, opts *InitCredsOptions) (string, error) {
	if len(password) == 0 {
		return "", &Error{Op: "log in as " + client, Message: "empty password"}
	}
	if bytes.IndexByte(password, 0) >= 0 {
		return "", &Error{Op: "log in as " + client, Message: "password contains a NUL byte"}
	}
	// A C copy, zeroed and freed below.
	pw := C.malloc(C.size_t(len(password) + 1))
	if pw == nil {
		return "", errors.New("krb5: out of memory")
	}
	buf := unsafe.Slice((*byte)(pw), len(password)+1)
	copy(buf, password)
	buf[len(password)] = 0
	defer C.smbkrb_free_secret(pw, C.size_t(len(password)+1))
	return k.initCreds(ctx, cc, client, (*C.char)(pw), "", opts)
}

// GetInitCredsKeytab logs client in with its key from keytab (a name such
// as "FILE:/etc/smbkrb/host.keytab" or a path) and stores the TGT in cc.
func (k *Context) GetInitCredsKeytab(ctx context.Context, cc *CCache, client, keytab string, opts *InitCredsOptions) (string, error) {
	if keytab == "" {
		return "", &Error{Op: "log in as " + client, Message: "no keytab given"}
	}
	return k.initCreds(ctx, cc, client, nil, keytab, opts)
}

func (k *Context) initCreds(ctx context.Context, cc *CCache, client string, password *C.char, keytab string, opts *InitCredsOptions) (string, error) {
	if opts == nil {
		opts = &InitCredsOptions{}
	}
	name := client
	op := "log in as " + client
	if opts.Enterprise {
		realm := opts.Realm
		if realm == "" {
			realm = k.cfg.DefaultRealm
		}
		if realm == "" {
			return "", &Error{Op: op, Message: "an enterprise name needs a realm to ask: set InitCredsOptions.Realm or Config.DefaultRealm"}
		}
		if !hasRealm(client) {
			return "", &Error{Op: op, Message: "an enterprise name is a user principal name such as alice@contoso.com"}
		}
		// With the enterprise flag MIT keeps the first '@' in the name.
		name = client + "@" + realm
		op = "log in as " + client + " (enterprise name, realm " + realm + ")"
	} else if !hasRealm(client) && k.cfg.DefaultRealm == "" {
		return "", &Error{Op: op, Message: "the name has no realm and Config.DefaultRealm is empty: write it as user@REALM"}
	}
	if keytab != "" {
		op += " with keytab " + keytab
		// MIT reports a missing keytab file as a pre-authentication
		// failure, which reads like a wrong key.
		if p := keytabFile(keytab); p != "" {
			if _, err := os.Stat(p); err != nil {
				var pe *os.PathError
				if errors.As(err, &pe) {
					err = pe.Err // the path is in op already
				}
				return "", &Error{Op: op, Message: "cannot read the keytab file: check the path", Err: err}
			}
		}
	}
	life := opts.Lifetime
	if life <= 0 {
		life = k.cfg.ticketLifetime()
	}
	renew := opts.RenewLifetime
	if renew <= 0 {
		renew = k.cfg.RenewLifetime
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var ckt *C.char
	if keytab != "" {
		ckt = C.CString(keytab)
		defer C.free(unsafe.Pointer(ckt))
	}
	enterprise, forwardable := C.int(0), C.int(1)
	if opts.Enterprise {
		enterprise = 1
	}
	if opts.NotForwardable {
		forwardable = 0
	}
	var out string
	err := cc.call(ctx, op, func(kc C.krb5_context, h C.krb5_ccache) (C.krb5_error_code, *C.char) {
		var canon, errmsg *C.char
		code := C.smbkrb_init_creds(kc, h, cname, enterprise, password, ckt,
			C.int32_t(life/time.Second), C.int32_t(renew/time.Second), forwardable, &canon, &errmsg)
		out = goString(canon)
		return code, errmsg
	})
	return out, err
}

// keytabFile is the path of a FILE: (or WRFILE:) keytab or of a bare
// path, which MIT takes as FILE:; "" for other types.
func keytabFile(name string) string {
	for _, prefix := range []string{"FILE:", "WRFILE:"} {
		if p, ok := strings.CutPrefix(name, prefix); ok {
			return p
		}
	}
	if strings.HasPrefix(name, "/") || !strings.Contains(name, ":") {
		return name
	}
	return ""
}

// hasRealm reports whether a principal name has an unescaped '@'.
func hasRealm(name string) bool {
	for i := 0; i < len(name); i++ {
		switch name[i] {
		case '\\':
			i++
		case '@':
			return true
		}
	}
	return false
}

// splitService splits "service/host[@REALM]" into its host and realm.
func splitService(spn string) (host, realm string) {
	rest := spn
	for i := 0; i < len(spn); i++ {
		if spn[i] == '\\' {
			i++
			continue
		}
		if spn[i] == '@' {
			rest, realm = spn[:i], spn[i+1:]
			break
		}
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		host = rest[i+1:]
		if j := strings.IndexByte(host, '/'); j >= 0 {
			host = host[:j]
		}
	}
	return host, realm
}

// ServerPrincipal resolves a service name to the principal smbkrb asks
// for: a name with a realm is kept; otherwise the realm comes from
// Config.HostRealms for the host part; otherwise it is "" and MIT follows
// the KDC's referrals from the client's realm. The host is never resolved
// or canonicalized.
func (k *Context) ServerPrincipal(spn string) (name string, referral bool) {
	host, realm := splitService(spn)
	if realm != "" {
		return spn, false
	}
	if r := k.cfg.RealmForHost(host); r != "" {
		return spn + "@" + r, false
	}
	return spn, true
}

// GetCredentials returns a service ticket for server (such as
// "cifs/fs1.lab.test" or "cifs/acct.file.core.windows.net@REALM") for the
// client of cc: from cc if a valid one is there, otherwise from the KDC
// (TGS exchange through the Go transports, following referrals and
// cross-realm paths as MIT does), stored in cc. Server is the name the
// ticket was stored under, with its realm.
func (k *Context) GetCredentials(ctx context.Context, cc *CCache, server string) (CredentialInfo, error) {
	return k.getCredentials(ctx, cc, server, false)
}

// CachedCredentials is GetCredentials without a KDC: it fails with
// ErrNoCredentials if cc holds no valid ticket for server.
func (k *Context) CachedCredentials(cc *CCache, server string) (CredentialInfo, error) {
	return k.getCredentials(context.Background(), cc, server, true)
}

func (k *Context) getCredentials(ctx context.Context, cc *CCache, server string, cacheOnly bool) (CredentialInfo, error) {
	name, referral := k.ServerPrincipal(server)
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	ref, only := C.int(0), C.int(0)
	if referral {
		ref = 1
	}
	if cacheOnly {
		only = 1
	}
	var info CredentialInfo
	err := cc.call(ctx, "get service ticket for "+name, func(kc C.krb5_context, h C.krb5_ccache) (C.krb5_error_code, *C.char) {
		var ci C.smbkrb_cred_info
		var errmsg *C.char
		code := C.smbkrb_get_service(kc, h, cs, ref, only, &ci, &errmsg)
		if code == 0 {
			info = credInfo(&ci)
			C.smbkrb_clear_cred_info(&ci)
		}
		return code, errmsg
	})
	return info, err
}

// Credential is a ticket with its session key, as decoded from a source
// other than a KDC exchange of this library (for example the cloud TGT
// Microsoft Entra returns over HTTPS). Call Zero when done with it.
type Credential struct {
	// Client and Server are principal names with realms, in MIT's string
	// form (an enterprise client is written "user\@contoso.com@REALM").
	Client, Server string
	// SessionKey is the ticket's session key, of type Enctype.
	SessionKey []byte
	Enctype    Enctype
	// Times of the ticket. StartTime zero means AuthTime; RenewTill zero
	// means not renewable.
	AuthTime, StartTime, EndTime, RenewTill time.Time
	Flags                                   TicketFlags
	// Ticket is the DER of the Ticket (RFC 4120 5.3), as the KDC sent it.
	Ticket []byte
}

// Zero overwrites the session key.
func (c *Credential) Zero() {
	clear(c.SessionKey)
}

func (c *Credential) validate() error {
	switch {
	case c.Client == "" || c.Server == "":
		return errors.New("client and server names are required")
	case !hasRealm(c.Client) || !hasRealm(c.Server):
		return errors.New("client and server names must carry a realm")
	case len(c.Ticket) == 0 || c.Ticket[0] != 0x61:
		return errors.New("the ticket is missing or is not a DER Ticket ([APPLICATION 1])")
	case len(c.SessionKey) == 0:
		return errors.New("the session key is missing")
	case c.Enctype.KeySize() != 0 && len(c.SessionKey) != c.Enctype.KeySize():
		return fmt.Errorf("a %s key is %d bytes, not %d", c.Enctype, c.Enctype.KeySize(), len(c.SessionKey))
	case c.EndTime.IsZero():
		return errors.New("the end time is missing")
	case c.AuthTime.IsZero():
		return errors.New("the auth time is missing")
	}
	return nil
}

func cTime(t time.Time) C.int64_t {
	if t.IsZero() {
		return 0
	}
	return C.int64_t(t.Unix())
}

// Store adds cred to the cache. If the cache has no default principal yet
// it is initialized with cred.Client; to replace what a cache holds, call
// Initialize first.
func (cc *CCache) Store(cred *Credential) error {
	op := "store ticket for " + cred.Server + " in " + cc.name
	if err := cred.validate(); err != nil {
		return &Error{Op: op, Message: err.Error()}
	}
	cclient := C.CString(cred.Client)
	defer C.free(unsafe.Pointer(cclient))
	cserver := C.CString(cred.Server)
	defer C.free(unsafe.Pointer(cserver))
	// C copies of the key (zeroed) and ticket, freed below.
	key := C.CBytes(cred.SessionKey)
	defer C.smbkrb_free_secret(key, C.size_t(len(cred.SessionKey)))
	tkt := C.CBytes(cred.Ticket)
	defer C.free(tkt)
	return cc.call(context.Background(), op, func(kc C.krb5_context, h C.krb5_ccache) (C.krb5_error_code, *C.char) {
		var errmsg *C.char
		code := C.smbkrb_store_cred(kc, h, 2, cclient, cserver, C.int32_t(cred.Enctype),
			(*C.uint8_t)(key), C.size_t(len(cred.SessionKey)),
			cTime(cred.AuthTime), cTime(cred.StartTime), cTime(cred.EndTime), cTime(cred.RenewTill),
			C.uint32_t(cred.Flags), (*C.uint8_t)(tkt), C.size_t(len(cred.Ticket)), &errmsg)
		return code, errmsg
	})
}

// ImportKRBCred stores the tickets of a KRB-CRED message (RFC 4120 5.8)
// whose enc-part is unencrypted, as the Azure Files SMB OAuth exchange and
// MIT's keyless krb5_mk_ncred produce. If the cache has no default
// principal yet it is initialized with the first ticket's client.
func (cc *CCache) ImportKRBCred(der []byte) ([]CredentialInfo, error) {
	op := "import KRB-CRED into " + cc.name
	if len(der) == 0 || der[0] != 0x76 {
		return nil, &Error{Op: op, Message: "not a KRB-CRED message (expected [APPLICATION 22])"}
	}
	// The enc-part holds session keys in the clear: the C copy is zeroed.
	p := C.CBytes(der)
	defer C.smbkrb_free_secret(p, C.size_t(len(der)))
	var out []CredentialInfo
	err := cc.call(context.Background(), op, func(kc C.krb5_context, h C.krb5_ccache) (C.krb5_error_code, *C.char) {
		var infos *C.smbkrb_cred_info
		var n C.int
		var errmsg *C.char
		code := C.smbkrb_rd_cred(kc, h, 2, (*C.uint8_t)(p), C.size_t(len(der)), &infos, &n, &errmsg)
		if code == 0 {
			out = credInfos(infos, n)
			C.smbkrb_free_cred_infos(infos, n)
		}
		return code, errmsg
	})
	return out, err
}

// ExportKRBCred returns the ticket for server (a full principal name with
// realm) from the cache as a KRB-CRED message with an unencrypted
// enc-part, the form ImportKRBCred reads and Azure Files' SMB OAuth
// exchange hands out. It is public for what gives tickets to others: the
// emulator's exchange (entra/entratest), or a program passing a ticket to
// another Kerberos stack. The message contains the session key in the
// clear: treat it as a secret.
func (cc *CCache) ExportKRBCred(server string) ([]byte, error) {
	cs := C.CString(server)
	defer C.free(unsafe.Pointer(cs))
	var out []byte
	err := cc.call(context.Background(), "export ticket for "+server+" from "+cc.name, func(kc C.krb5_context, h C.krb5_ccache) (C.krb5_error_code, *C.char) {
		var p *C.uint8_t
		var n C.size_t
		var errmsg *C.char
		code := C.smbkrb_mk_cred(kc, h, cs, &p, &n, &errmsg)
		if code == 0 {
			out = C.GoBytes(unsafe.Pointer(p), C.int(n))
			C.smbkrb_free_secret(unsafe.Pointer(p), n)
		}
		return code, errmsg
	})
	return out, err
}

// RetrieveCredential returns the credential for server (a full principal
// name with realm, such as "krbtgt/LAB.TEST@LAB.TEST") of the cache's
// principal, with its session key, without asking a KDC. Call Zero on the
// result when done with it.
func (cc *CCache) RetrieveCredential(server string) (*Credential, error) {
	cs := C.CString(server)
	defer C.free(unsafe.Pointer(cs))
	var out *Credential
	err := cc.call(context.Background(), "retrieve ticket for "+server+" from "+cc.name, func(kc C.krb5_context, h C.krb5_ccache) (C.krb5_error_code, *C.char) {
		var info C.smbkrb_cred_info
		var key *C.uint8_t
		var keyLen C.size_t
		var errmsg *C.char
		code := C.smbkrb_cc_retrieve(kc, h, cs, &info, &key, &keyLen, &errmsg)
		if code != 0 {
			return code, errmsg
		}
		ci := credInfo(&info)
		out = &Credential{
			Client: ci.Client, Server: ci.Server, Enctype: ci.KeyEnctype,
			AuthTime: ci.AuthTime, StartTime: ci.StartTime, EndTime: ci.EndTime, RenewTill: ci.RenewTill,
			Flags: ci.Flags,
		}
		if info.ticket != nil {
			out.Ticket = C.GoBytes(unsafe.Pointer(info.ticket), C.int(info.ticket_len))
		}
		out.SessionKey = C.GoBytes(unsafe.Pointer(key), C.int(keyLen))
		C.smbkrb_free_secret(unsafe.Pointer(key), keyLen)
		C.smbkrb_clear_cred_info(&info)
		return 0, errmsg
	})
	return out, err
}
