package krb5

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"context"
	"encoding/asn1"
	"time"
	"unsafe"
)

// CCache is an MIT credential cache (krb5_ccache): MEMORY:, FILE:, DIR:,
// KEYRING: or KCM:. Close releases the handle and keeps the contents;
// Destroy removes them.
type CCache struct {
	k    *Context
	c    C.krb5_ccache
	name string
}

// NewMemoryCCache creates a new, uniquely named MEMORY: cache. Its
// contents never touch the disk and vanish when it is destroyed or the
// process exits. This is the default cache of smbkrb.
func (k *Context) NewMemoryCCache() (*CCache, error) {
	cc := &CCache{k: k}
	err := k.call(context.Background(), "create memory credential cache", func() (C.krb5_error_code, *C.char) {
		var name, errmsg *C.char
		code := C.smbkrb_cc_new_memory(k.c, &cc.c, &name, &errmsg)
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
	cc := &CCache{k: k}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	err := k.call(context.Background(), "open credential cache "+name, func() (C.krb5_error_code, *C.char) {
		var full, errmsg *C.char
		code := C.smbkrb_cc_resolve(k.c, cname, &cc.c, &full, &errmsg)
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
	cc := &CCache{k: k}
	err := k.call(context.Background(), "open default credential cache", func() (C.krb5_error_code, *C.char) {
		var full, errmsg *C.char
		code := C.smbkrb_cc_default(k.c, &cc.c, &full, &errmsg)
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
	return cc.call(context.Background(), "initialize cache "+cc.name+" for "+principal, func() (C.krb5_error_code, *C.char) {
		var errmsg *C.char
		return C.smbkrb_cc_initialize(cc.k.c, cc.c, cp, &errmsg), errmsg
	})
}

// Principal returns the cache's default (client) principal.
func (cc *CCache) Principal() (string, error) {
	var name string
	err := cc.call(context.Background(), "read principal of cache "+cc.name, func() (C.krb5_error_code, *C.char) {
		var n, errmsg *C.char
		code := C.smbkrb_cc_principal(cc.k.c, cc.c, &n, &errmsg)
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
	err := cc.call(context.Background(), "list cache "+cc.name, func() (C.krb5_error_code, *C.char) {
		var infos *C.smbkrb_cred_info
		var n C.int
		var errmsg *C.char
		code := C.smbkrb_cc_list(cc.k.c, cc.c, &infos, &n, &errmsg)
		if code == 0 {
			out = credInfos(infos, n)
			C.smbkrb_free_cred_infos(infos, n)
		}
		return code, errmsg
	})
	return out, err
}

// Destroy removes the cache's contents (for FILE:, the file) and releases
// the handle.
func (cc *CCache) Destroy() error {
	err := cc.k.call(context.Background(), "destroy cache "+cc.name, func() (C.krb5_error_code, *C.char) {
		if cc.c == nil {
			return 0, nil
		}
		var errmsg *C.char
		code := C.smbkrb_cc_destroy(cc.k.c, cc.c, &errmsg)
		cc.c = nil // krb5_cc_destroy releases the handle even on failure
		return code, errmsg
	})
	return err
}

// Close releases the handle; the contents stay (a MEMORY: cache lives on
// until destroyed).
func (cc *CCache) Close() error {
	return cc.k.call(context.Background(), "close cache "+cc.name, func() (C.krb5_error_code, *C.char) {
		if cc.c == nil {
			return 0, nil
		}
		code := C.krb5_cc_close(cc.k.c, cc.c)
		cc.c = nil
		return code, nil
	})
}

// call is Context.call for an operation on the open cache: once the cache
// is closed or destroyed it fails instead of reaching MIT.
func (cc *CCache) call(ctx context.Context, op string, fn func() (C.krb5_error_code, *C.char)) error {
	return cc.k.call(ctx, op, func() (C.krb5_error_code, *C.char) {
		if cc.c == nil {
			return C.KRB5_FCC_INTERNAL, C.CString("cache is closed")
		}
		return fn()
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
	var t struct {
		VNO     int           `asn1:"explicit,tag:0"`
		Realm   asn1.RawValue `asn1:"explicit,tag:1"`
		SName   asn1.RawValue `asn1:"explicit,tag:2"`
		EncPart struct {
			Etype  int32  `asn1:"explicit,tag:0"`
			KVNO   int    `asn1:"optional,explicit,tag:1"`
			Cipher []byte `asn1:"explicit,tag:2"`
		} `asn1:"explicit,tag:3"`
	}
	if _, err := asn1.UnmarshalWithParams(der, &t, "application,explicit,tag:1"); err != nil {
		return 0
	}
	return Enctype(t.EncPart.Etype)
}
