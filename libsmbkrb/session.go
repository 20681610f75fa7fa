package main

/*
#include "capi.h"
*/
import "C"

import (
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/smbkrb/smbkrb/smb"
	"github.com/smbkrb/smbkrb/smboauth"
)

// session is an smbkrb_session: the SMB session and the references it
// holds on its configuration and credential.
type session struct {
	cfg  *config
	cred *cred
	sess *smb.Session
	once sync.Once
	// closed is set by smbkrb_session_close: the session's shares refuse
	// every call from then on.
	closed atomic.Bool
}

func (s *session) close() {
	s.closed.Store(true)
	s.once.Do(func() {
		s.sess.Close()
		s.cred.unbind(s.cfg)
		s.cfg.release()
	})
}

// share is an smbkrb_share.
type share struct {
	s  *session
	sh *smb.Share
}

//export smbkrb_connect
func smbkrb_connect(pcfg *C.smbkrb_config, pcred *C.smbkrb_cred, server, addr *C.smbkrb_cchar, pcall *C.smbkrb_call, out **C.smbkrb_session) (rc C.int) {
	begin()
	const what = "smbkrb_connect"
	defer recoverTo(what, &rc)
	if out == nil {
		return status(what, usagef("out is NULL"))
	}
	*out = nil
	cfg, err := lookup[*config](unsafe.Pointer(pcfg), magicConfig)
	if err != nil {
		return status(what, err)
	}
	cr, err := lookup[*cred](unsafe.Pointer(pcred), magicCred)
	if err != nil {
		return status(what, err)
	}
	c, err := callOf(pcall)
	if err != nil {
		return status(what, err)
	}
	name := goString(server)
	if err := need("server", name); err != nil {
		return status(what, err)
	}
	srv := smb.Server{Name: name, Addr: goString(addr)}
	if cr.kind == credOAuth || cr.kind == credManagedIdentity {
		// SMB OAuth tickets are of the storage service's own realm,
		// whatever the host-to-realm mappings say.
		srv.Realm = smboauth.FilesRealm
	}
	ctx, cancel := c.context(cfg.opTimeout())
	defer cancel()
	k, err := cfg.open(ctx)
	if err != nil {
		return status(what, fmt.Errorf("//%s: %w", name, err))
	}
	b, err := cr.bind(cfg, k)
	if err != nil {
		cfg.release()
		return status(what, fmt.Errorf("//%s: %w", name, err))
	}
	cfg.mu.Lock()
	d := &smb.Dialer{Kerberos: k, CCache: b.cc, Credentials: b.creds, Encrypt: cfg.encrypt, Ciphers: cfg.ciphers}
	cfg.mu.Unlock()
	sess, err := d.Dial(ctx, srv)
	if err != nil {
		cr.unbind(cfg)
		cfg.release()
		return status(what, err)
	}
	*out = (*C.smbkrb_session)(newHandle(magicSession, &session{cfg: cfg, cred: cr, sess: sess}))
	return C.SMBKRB_OK
}

//export smbkrb_session_describe
func smbkrb_session_describe(p *C.smbkrb_session, out **C.char) (rc C.int) {
	begin()
	const what = "smbkrb_session_describe"
	defer recoverTo(what, &rc)
	s, err := lookup[*session](unsafe.Pointer(p), magicSession)
	if err != nil {
		return status(what, err)
	}
	if out == nil {
		return status(what, usagef("out is NULL"))
	}
	in := s.sess.Info()
	cipher := in.Cipher
	if cipher == "" {
		cipher = "none"
	}
	*out = C.CString(fmt.Sprintf("%s as %s at %s (SPN %s): SMB %s, signing %s, cipher %s, session encrypted %v",
		in.Server, in.Client, in.Addr, in.SPN, in.Dialect, in.Signing, cipher, in.Encrypted))
	return C.SMBKRB_OK
}

//export smbkrb_session_close
func smbkrb_session_close(p *C.smbkrb_session) {
	begin()
	if s, ok := freeHandle[*session](unsafe.Pointer(p), magicSession); ok {
		s.close()
	}
}

//export smbkrb_mount
func smbkrb_mount(p *C.smbkrb_session, name *C.smbkrb_cchar, pcall *C.smbkrb_call, out **C.smbkrb_share) (rc C.int) {
	begin()
	const what = "smbkrb_mount"
	defer recoverTo(what, &rc)
	if out == nil {
		return status(what, usagef("out is NULL"))
	}
	*out = nil
	s, err := lookup[*session](unsafe.Pointer(p), magicSession)
	if err != nil {
		return status(what, err)
	}
	c, err := callOf(pcall)
	if err != nil {
		return status(what, err)
	}
	n := goString(name)
	if err := need("share", n); err != nil {
		return status(what, err)
	}
	ctx, cancel := c.context(s.cfg.opTimeout())
	defer cancel()
	sh, err := s.sess.Mount(ctx, n)
	if err != nil {
		return status(what, err)
	}
	*out = (*C.smbkrb_share)(newHandle(magicShare, &share{s: s, sh: sh}))
	return C.SMBKRB_OK
}

//export smbkrb_share_close
func smbkrb_share_close(p *C.smbkrb_share) {
	begin()
	if sh, ok := freeHandle[*share](unsafe.Pointer(p), magicShare); ok {
		sh.sh.Close()
	}
}
