package krb5

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"unsafe"
)

// MechKerberos is the object identifier of the raw Kerberos V5 GSS-API
// mechanism, 1.2.840.113554.1.2.2 (RFC 1964, RFC 4121).
var MechKerberos = []int{1, 2, 840, 113554, 1, 2, 2}

// GSS context flags (RFC 2744).
const (
	gssDeleg    = 1
	gssMutual   = 2
	gssReplay   = 4
	gssSequence = 8
	gssConf     = 16
	gssInteg    = 32
)

// SecContext is a GSS-API security context on the raw Kerberos mechanism,
// as an initiator (client) or an acceptor (server). It is safe for use by
// several goroutines; calls are serialized. Close deletes it and lets MIT
// zero its keys.
type SecContext struct {
	mu        sync.Mutex
	h         *gssHandles
	env       gssEnv // the profile its GSS-API calls read
	initiator bool
	complete  bool
	target    string
	peer      string
	flags     uint32
	cleanup   runtime.Cleanup
}

// InitiatorOptions tunes an initiator. The zero value asks for mutual
// authentication, integrity, replay and sequence detection.
type InitiatorOptions struct {
	// Confidentiality also asks for the confidentiality (wrap) flag.
	Confidentiality bool
	// Delegate asks to forward the TGT to the server.
	Delegate bool
}

// NewInitiator prepares a client security context for target, a service
// principal such as "cifs/fs1.lab.test" (the realm is resolved as in
// ServerPrincipal). The service ticket is fetched into cc first, through
// this Context's transports, so GSS-API itself never contacts a KDC. The
// target is imported as a Kerberos principal name: never canonicalized.
func (k *Context) NewInitiator(ctx context.Context, cc *CCache, target string, opts *InitiatorOptions) (*SecContext, error) {
	if opts == nil {
		opts = &InitiatorOptions{}
	}
	info, err := k.GetCredentials(ctx, cc, target)
	if err != nil {
		return nil, err
	}
	s := &SecContext{h: &gssHandles{}, env: k.gss, initiator: true, target: info.Server}
	s.flags = gssMutual | gssInteg | gssReplay | gssSequence
	if opts.Confidentiality {
		s.flags |= gssConf
	}
	if opts.Delegate {
		s.flags |= gssDeleg
	}
	ccname := C.CString(cc.Name())
	defer C.free(unsafe.Pointer(ccname))
	ctarget := C.CString(info.Server)
	defer C.free(unsafe.Pointer(ctarget))
	var minor C.OM_uint32
	var errmsg *C.char
	var major C.OM_uint32
	s.env.run(func() {
		major = C.smbkrb_gss_initiator_cred(ccname, ctarget, &s.h.cred, &s.h.name, &minor, &errmsg)
	})
	if gssError(major) {
		return nil, gssErr("acquire initiator credentials from "+cc.Name()+" for "+info.Server, major, minor, errmsg)
	}
	s.arm()
	return s, nil
}

// AcceptorOptions tunes an acceptor.
type AcceptorOptions struct {
	// ReplayCache names MIT's replay cache ("dfl:", "file2:/path", or
	// "none:" to turn replay detection off). "" means MIT's default.
	ReplayCache string
}

// NewAcceptor prepares a server security context that accepts AP-REQs for
// any service principal whose key is in keytab (a name such as
// "FILE:/etc/krb5.keytab"). It reads this Context's profile (the
// permitted enctypes, the clock skew), as the initiators do.
func (k *Context) NewAcceptor(keytab string, opts *AcceptorOptions) (*SecContext, error) {
	if opts == nil {
		opts = &AcceptorOptions{}
	}
	ckt := C.CString(keytab)
	defer C.free(unsafe.Pointer(ckt))
	var crc *C.char
	if opts.ReplayCache != "" {
		crc = C.CString(opts.ReplayCache)
		defer C.free(unsafe.Pointer(crc))
	}
	s := &SecContext{h: &gssHandles{}, env: k.gss}
	var minor C.OM_uint32
	var errmsg *C.char
	var major C.OM_uint32
	s.env.run(func() {
		major = C.smbkrb_gss_acceptor_cred(ckt, crc, &s.h.cred, &minor, &errmsg)
	})
	if gssError(major) {
		return nil, gssErr("acquire acceptor credentials from "+keytab, major, minor, errmsg)
	}
	s.arm()
	return s, nil
}

// arm registers a backstop that releases the C state if Close is never
// called.
func (s *SecContext) arm() {
	s.cleanup = runtime.AddCleanup(s, func(h *gssHandles) {
		C.smbkrb_gss_release(&h.ctx, &h.cred, &h.name)
	}, s.h)
}

// gssHandles are the C handles of a SecContext, kept apart from it so the
// cleanup backstop can release them after the SecContext is unreachable.
type gssHandles struct {
	ctx  C.gss_ctx_id_t
	cred C.gss_cred_id_t
	name C.gss_name_t
}

func gssError(major C.OM_uint32) bool { return major&0xffff0000 != 0 }

// stepOp names what Step does, for its errors.
func (s *SecContext) stepOp() string {
	if s.initiator {
		return "establish security context with " + s.target
	}
	return "accept security context"
}

// gssEnv is the profile GSS-API reads. MIT's GSS-API makes library
// contexts of its own (acquiring credentials, each step of a handshake),
// which read KRB5_CONFIG or /etc/krb5.conf and take no profile from the
// caller; GSS_MECH_CONFIG (else /etc/gss/mech) names the mechanism
// modules it may load. So while those calls run, KRB5_CONFIG names the
// Context's profile files and GSS_MECH_CONFIG an empty file, and the
// calls are serialized across the process. Calls on an established
// context (MICs, the session key) use the context MIT made then.
type gssEnv struct {
	profile string // KRB5_CONFIG: the Context's profile files
	mech    string // GSS_MECH_CONFIG, or "" to leave it alone
}

// gssEnvMu serializes the GSS-API calls that read the environment.
var gssEnvMu sync.Mutex

// run calls fn with the environment set to e and puts it back after.
func (e gssEnv) run(fn func()) {
	if e.profile == "" {
		fn()
		return
	}
	gssEnvMu.Lock()
	defer gssEnvMu.Unlock()
	defer setCEnv("KRB5_CONFIG", e.profile)()
	if e.mech != "" {
		defer setCEnv("GSS_MECH_CONFIG", e.mech)()
	}
	fn()
}

// setCEnv sets a variable in the C environment (what MIT's getenv sees)
// and returns the function that restores it.
func setCEnv(name, value string) (restore func()) {
	cname := C.CString(name)
	cvalue := C.CString(value)
	defer C.free(unsafe.Pointer(cvalue))
	old := C.getenv(cname)
	had := old != nil
	var oldValue *C.char
	if had {
		oldValue = C.CString(C.GoString(old))
	}
	C.setenv(cname, cvalue, 1)
	return func() {
		if had {
			C.setenv(cname, oldValue, 1)
			C.free(unsafe.Pointer(oldValue))
		} else {
			C.unsetenv(cname)
		}
		C.free(unsafe.Pointer(cname))
	}
}

func gssErr(op string, major, minor C.OM_uint32, errmsg *C.char) *Error {
	e := &Error{Op: op, Code: int32(minor), Major: uint32(major)}
	if errmsg != nil {
		e.Message = C.GoString(errmsg)
		C.free(unsafe.Pointer(errmsg))
	}
	return e
}

var errNotEstablished = errors.New("krb5: the security context is not established")

// Step runs one round of context establishment. An initiator passes nil
// first and gets the AP-REQ; it then passes the AP-REP and gets nil, and
// the context must be Established. An acceptor passes the AP-REQ and gets
// the AP-REP. The GSS tokens are raw Kerberos tokens (no SPNEGO).
func (s *SecContext) Step(input []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.h.cred == nil {
		return nil, &Error{Op: s.stepOp(), Message: "the security context is closed"}
	}
	if s.complete {
		return nil, &Error{Op: s.stepOp(), Message: "the security context is already established"}
	}
	var in unsafe.Pointer
	if len(input) > 0 {
		in = C.CBytes(input)
		defer C.free(in)
	}
	var out unsafe.Pointer
	var outlen C.size_t
	var flags C.uint32_t
	var complete C.int
	var minor C.OM_uint32
	var errmsg *C.char
	var major C.OM_uint32
	if s.initiator {
		ctarget := s.target
		s.env.run(func() {
			major = C.smbkrb_gss_init(s.h.cred, &s.h.ctx, s.h.name, C.uint32_t(s.flags), in, C.size_t(len(input)),
				&out, &outlen, &flags, &complete, &minor, &errmsg)
		})
		if gssError(major) {
			return nil, gssErr("establish security context with "+ctarget, major, minor, errmsg)
		}
	} else {
		if len(input) == 0 {
			return nil, &Error{Op: "accept security context", Message: "no token from the initiator"}
		}
		var peer *C.char
		s.env.run(func() {
			major = C.smbkrb_gss_accept(s.h.cred, &s.h.ctx, in, C.size_t(len(input)), &out, &outlen, &peer,
				&flags, &complete, &minor, &errmsg)
		})
		if peer != nil {
			s.peer = goString(peer)
		}
		if gssError(major) {
			return nil, gssErr("accept security context", major, minor, errmsg)
		}
	}
	var token []byte
	if out != nil {
		token = C.GoBytes(out, C.int(outlen))
		C.smbkrb_gss_free_buffer(out, outlen)
	}
	if complete != 0 {
		s.complete = true
		got := uint32(flags)
		if s.initiator {
			if need := uint32(gssMutual | gssInteg); got&need != need {
				return nil, &Error{Op: s.stepOp(), Message: "the server did not grant mutual authentication and integrity"}
			}
			if len(token) != 0 {
				return nil, &Error{Op: s.stepOp(), Message: "unexpected token after completion"}
			}
		}
		s.flags = got
	}
	return token, nil
}

// Established reports whether the context is complete.
func (s *SecContext) Established() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.complete
}

// Peer is the initiator's principal name, for an established acceptor.
func (s *SecContext) Peer() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peer
}

// Target is the service principal of an initiator.
func (s *SecContext) Target() string { return s.target }

// GetMIC returns a message integrity code for msg (gss_get_mic).
func (s *SecContext) GetMIC(msg []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.complete || s.h.ctx == nil {
		return nil, errNotEstablished
	}
	var m unsafe.Pointer
	if len(msg) > 0 {
		m = C.CBytes(msg)
		defer C.free(m)
	}
	var out unsafe.Pointer
	var outlen C.size_t
	var minor C.OM_uint32
	var errmsg *C.char
	major := C.smbkrb_gss_get_mic(s.h.ctx, m, C.size_t(len(msg)), &out, &outlen, &minor, &errmsg)
	if gssError(major) {
		return nil, gssErr("compute MIC", major, minor, errmsg)
	}
	mic := C.GoBytes(out, C.int(outlen))
	C.smbkrb_gss_free_buffer(out, outlen)
	return mic, nil
}

// VerifyMIC checks a message integrity code (gss_verify_mic); a tampered
// message or MIC gives an error.
func (s *SecContext) VerifyMIC(msg, mic []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.complete || s.h.ctx == nil {
		return errNotEstablished
	}
	var m, t unsafe.Pointer
	if len(msg) > 0 {
		m = C.CBytes(msg)
		defer C.free(m)
	}
	if len(mic) == 0 {
		return errors.New("krb5: verify MIC: empty MIC")
	}
	t = C.CBytes(mic)
	defer C.free(t)
	var minor C.OM_uint32
	var errmsg *C.char
	major := C.smbkrb_gss_verify_mic(s.h.ctx, m, C.size_t(len(msg)), t, C.size_t(len(mic)), &minor, &errmsg)
	if gssError(major) {
		return gssErr("verify MIC", major, minor, errmsg)
	}
	return nil
}

// SessionKey is a context's session key and its type. Zero it when done.
type SessionKey struct {
	Key     []byte
	Enctype Enctype
}

// Zero overwrites the key.
func (k *SessionKey) Zero() { clear(k.Key) }

// SessionKey returns the context's session key as SSPI reports it
// (GSS_C_INQ_SSPI_SESSION_KEY): the acceptor subkey when there is one,
// else the initiator subkey or ticket session key; 32 bytes for AES-256.
// SMB uses its first 16 bytes (MS-SMB2 3.2.5.3).
func (s *SecContext) SessionKey() (SessionKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.complete || s.h.ctx == nil {
		return SessionKey{}, errNotEstablished
	}
	var key *C.uint8_t
	var n C.size_t
	var et C.int32_t
	var minor C.OM_uint32
	var errmsg *C.char
	major := C.smbkrb_gss_session_key(s.h.ctx, &key, &n, &et, &minor, &errmsg)
	if gssError(major) {
		return SessionKey{}, gssErr("read session key", major, minor, errmsg)
	}
	k := SessionKey{Key: C.GoBytes(unsafe.Pointer(key), C.int(n)), Enctype: Enctype(et)}
	C.smbkrb_free_secret(unsafe.Pointer(key), n)
	return k, nil
}

// Close deletes the context (MIT zeroes its keys) and releases the
// credentials.
func (s *SecContext) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.h.cred == nil && s.h.ctx == nil {
		return nil
	}
	s.cleanup.Stop()
	C.smbkrb_gss_release(&s.h.ctx, &s.h.cred, &s.h.name)
	s.h.ctx, s.h.cred, s.h.name = nil, nil, nil
	return nil
}
