package krb5

/*
#cgo LDFLAGS: -lgssapi_krb5 -lkrb5 -lk5crypto -lcom_err
#include <errno.h>
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/cgo"
	"sync"
	"unsafe"
)

// Context is an MIT krb5 library context (krb5_context) built from a
// Config, with every KDC exchange answered by Go transports.
//
// A Context is safe for use by several goroutines; its calls into MIT are
// serialized. Close releases it.
type Context struct {
	mu     sync.Mutex
	c      C.krb5_context
	cfg    *Config
	handle cgo.Handle
	dir    string // holds the generated profile until Close

	transports map[string]*realmTransport

	// Set while mu is held, for the send hook.
	callCtx context.Context
	sendErr error
	kdcText string // e-text of the last KRB-ERROR a KDC sent during the call
}

// NewContext creates a library context from cfg. A nil cfg is the zero
// Config.
func NewContext(cfg *Config) (*Context, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	profile, err := cfg.Profile()
	if err != nil {
		return nil, err
	}
	// MIT reads profiles from files and re-reads them when they change, so
	// the generated one lives in a private directory until Close. It holds
	// no secrets.
	dir, err := os.MkdirTemp("", "smbkrb-krb5-")
	if err != nil {
		return nil, fmt.Errorf("krb5: create profile directory: %w", err)
	}
	path := filepath.Join(dir, "krb5.conf")
	if err := os.WriteFile(path, []byte(profile), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("krb5: write profile: %w", err)
	}
	files := path
	if cfg.UseEnvironment {
		files += ":" + envProfilePath()
	}
	k := &Context{cfg: cfg, dir: dir}
	if k.transports, err = newTransports(cfg); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	k.handle = cgo.NewHandle(k)
	cfiles := C.CString(files)
	defer C.free(unsafe.Pointer(cfiles))
	var errmsg *C.char
	code := C.smbkrb_init_context(cfiles, C.uintptr_t(k.handle), &k.c, &errmsg)
	if code != 0 {
		k.handle.Delete()
		os.RemoveAll(dir)
		return nil, newError("create library context", code, errmsg)
	}
	return k, nil
}

// Config returns the configuration the context was made from. It must not
// be modified.
func (k *Context) Config() *Config { return k.cfg }

// Close releases the library context. Caches opened from it must be closed
// first.
func (k *Context) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.c == nil {
		return nil
	}
	C.krb5_free_context(k.c)
	k.c = nil
	k.handle.Delete()
	return os.RemoveAll(k.dir)
}

var errClosed = errors.New("krb5: context is closed")

// call runs fn with the context locked and ctx available to the send hook.
// fn returns MIT's code and message; call turns them into an *Error for op.
func (k *Context) call(ctx context.Context, op string, fn func() (C.krb5_error_code, *C.char)) error {
	if ctx == nil {
		ctx = context.Background()
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.c == nil {
		return errClosed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("krb5: %s: %w", op, err)
	}
	k.callCtx, k.sendErr, k.kdcText = ctx, nil, ""
	code, errmsg := fn()
	sendErr, kdcText := k.sendErr, k.kdcText
	k.callCtx, k.sendErr, k.kdcText = nil, nil, ""
	if code == 0 {
		if errmsg != nil {
			C.free(unsafe.Pointer(errmsg))
		}
		return nil
	}
	e := newError(op, code, errmsg)
	e.Err = sendErr
	e.KDCText = kdcText
	if sendErr == nil && !k.cfg.UseEnvironment && (code == C.KRB5_KDC_UNREACH || code == C.KRB5_REALM_CANT_RESOLVE || code == C.KRB5_REALM_UNKNOWN) {
		// Every configured realm's exchanges go through the send hook,
		// which records its failures; none recorded means MIT found no
		// KDC for the realm in the generated profile.
		e.Err = errRealmNotConfigured
	}
	return e
}

// newError builds an *Error and frees errmsg (allocated by the shim).
func newError(op string, code C.krb5_error_code, errmsg *C.char) *Error {
	e := &Error{Op: op, Code: int32(code)}
	if errmsg != nil {
		e.Message = C.GoString(errmsg)
		C.free(unsafe.Pointer(errmsg))
	}
	return e
}

// goString copies a malloc'd C string and frees it.
func goString(s *C.char) string {
	if s == nil {
		return ""
	}
	defer C.free(unsafe.Pointer(s))
	return C.GoString(s)
}

//export smbkrbGoSend
func smbkrbGoSend(handle C.uintptr_t, realm *C.char, realmLen C.int, msg *C.char, msgLen C.int, reply **C.char, replyLen *C.int) C.int {
	k, ok := cgo.Handle(handle).Value().(*Context)
	if !ok {
		return C.KRB5_KDC_UNREACH
	}
	// The calling goroutine holds k.mu: callCtx and sendErr are ours.
	ctx := k.callCtx
	if ctx == nil {
		ctx = context.Background()
	}
	r := C.GoStringN(realm, realmLen)
	req := C.GoBytes(unsafe.Pointer(msg), msgLen)
	t := k.transports[r]
	if t == nil {
		if k.cfg.UseEnvironment {
			return C.SMBKRB_SEND_PASS
		}
		k.sendErr = fmt.Errorf("no KDC is configured for realm %q (add it to Config.Realms)", r)
		// KDC_UNREACH rather than REALM_CANT_RESOLVE: MIT retries other
		// codes with the "primary KDC" and replaces the message.
		return C.KRB5_KDC_UNREACH
	}
	resp, err := t.exchange(ctx, req)
	if err != nil {
		k.sendErr = err
		return C.KRB5_KDC_UNREACH
	}
	k.sendErr = nil
	// MIT drops a KRB-ERROR's e-text from its messages; Entra puts the
	// reason there (AADSTS700016 ...), so keep it for the error.
	if text := kdcErrorText(resp); text != "" {
		k.kdcText = text
	}
	// Ownership passes to MIT, which frees it with the reply.
	p := C.malloc(C.size_t(len(resp)))
	if p == nil {
		return C.ENOMEM
	}
	copy(unsafe.Slice((*byte)(p), len(resp)), resp)
	*reply = (*C.char)(p)
	*replyLen = C.int(len(resp))
	return 0
}
