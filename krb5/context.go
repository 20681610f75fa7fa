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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// Context is a set of MIT krb5 library contexts (krb5_context) built from
// one Config, with every KDC exchange answered by Go transports.
//
// A Context is safe for use by several goroutines. MIT allows one thread at
// a time in a library context, so a Context keeps a small pool of them
// (Config.Concurrency) and each call takes a free one: a KDC exchange that waits on
// the network holds only the context it runs in, and other calls (cached
// tickets, other caches, crypto) go on in the others. Close releases it.
type Context struct {
	cfg  *Config
	dir  string // holds the generated profile until Close
	gss  gssEnv // what GSS-API calls read
	mits []*mit
	next atomic.Uint32 // where the search for a free context starts

	transports map[string]*realmTransport
}

// defaultConcurrency is how many MIT library contexts a Context keeps
// when Config.Concurrency is 0: calls beyond that many at once wait for
// one to be free.
const defaultConcurrency = 4

// mit is one MIT library context and what its send hook needs during a
// call; mu is held for the whole call.
type mit struct {
	mu     sync.Mutex
	i      int // index in Context.mits, and of a CCache's handle for it
	c      C.krb5_context
	handle cgo.Handle
	k      *Context

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
	tmp := cfg.TempDir
	if tmp == "" {
		tmp = os.TempDir()
	}
	sweepProfileDirs(tmp)
	dir, err := os.MkdirTemp(tmp, profileDirPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, fmt.Errorf("krb5: create the profile directory in %s (set Config.TempDir to a writable directory): %w", tmp, err)
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
	k := &Context{cfg: cfg, dir: dir, gss: gssEnv{profile: files}}
	if !cfg.UseEnvironment {
		// No mechanism modules but the built-in ones.
		k.gss.mech = filepath.Join(dir, "gss-mech")
		if err := os.WriteFile(k.gss.mech, nil, 0o600); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("krb5: write profile: %w", err)
		}
	}
	if k.transports, err = newTransports(cfg); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cfiles := C.CString(files)
	defer C.free(unsafe.Pointer(cfiles))
	n := cfg.Concurrency
	if n == 0 {
		n = defaultConcurrency
	}
	for i := 0; i < n; i++ {
		m := &mit{i: i, k: k}
		m.handle = cgo.NewHandle(m)
		var errmsg *C.char
		code := C.smbkrb_init_context(cfiles, C.uintptr_t(m.handle), &m.c, &errmsg)
		if code != 0 {
			m.handle.Delete()
			k.Close()
			return nil, newError("create library context", code, errmsg)
		}
		k.mits = append(k.mits, m)
	}
	return k, nil
}

// profileDirPrefix starts the name of each Context's profile directory,
// followed by the pid of the process that made it.
const profileDirPrefix = "smbkrb-krb5-"

// sweepProfileDirs removes, from tmp, the profile directories that
// processes of this user left behind when they ended without Close (a
// crash, os.Exit): the backstop for Close. A directory whose process still
// runs, or whose name carries no pid, is left alone.
func sweepProfileDirs(tmp string) {
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return
	}
	uid := os.Getuid()
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), profileDirPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidText, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		if st, ok := info.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != uid {
			continue
		}
		if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
			os.RemoveAll(filepath.Join(tmp, e.Name()))
		}
	}
}

// Config returns the configuration the context was made from. It must not
// be modified.
func (k *Context) Config() *Config { return k.cfg }

// Close releases the library context. Caches opened from it must be closed
// first.
func (k *Context) Close() error {
	for _, m := range k.mits {
		m.mu.Lock()
		if m.c != nil {
			C.krb5_free_context(m.c)
			m.c = nil
			m.handle.Delete()
		}
		m.mu.Unlock()
	}
	return os.RemoveAll(k.dir)
}

// acquire returns a free MIT context, locked, or waits for one.
func (k *Context) acquire() *mit {
	start := int(k.next.Add(1))
	for j := range k.mits {
		if m := k.mits[(start+j)%len(k.mits)]; m.mu.TryLock() {
			return m
		}
	}
	m := k.mits[start%len(k.mits)]
	m.mu.Lock()
	return m
}

var errClosed = errors.New("krb5: context is closed")

// call runs fn in a free MIT context, with ctx available to the send hook.
// fn returns MIT's code and message; call turns them into an *Error for op.
func (k *Context) call(ctx context.Context, op string, fn func(m *mit) (C.krb5_error_code, *C.char)) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if len(k.mits) == 0 {
		return errClosed
	}
	m := k.acquire()
	defer m.mu.Unlock()
	if m.c == nil {
		return errClosed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("krb5: %s: %w", op, err)
	}
	m.callCtx, m.sendErr, m.kdcText = ctx, nil, ""
	code, errmsg := fn(m)
	sendErr, kdcText := m.sendErr, m.kdcText
	m.callCtx, m.sendErr, m.kdcText = nil, nil, ""
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
	if errors.Is(e.Err, errRealmNotConfigured) {
		e.Remedy = "add the realm to Config.Realms with a KDC address or https:// proxy URL"
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
	m, ok := cgo.Handle(handle).Value().(*mit)
	if !ok {
		return C.KRB5_KDC_UNREACH
	}
	// The calling goroutine holds m.mu: callCtx and sendErr are ours.
	k := m.k
	ctx := m.callCtx
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
		m.sendErr = fmt.Errorf("%w: %s", errRealmNotConfigured, r)
		// KDC_UNREACH rather than REALM_CANT_RESOLVE: MIT retries other
		// codes with the "primary KDC" and replaces the message.
		return C.KRB5_KDC_UNREACH
	}
	resp, err := t.exchange(ctx, req)
	if err != nil {
		m.sendErr = err
		return C.KRB5_KDC_UNREACH
	}
	m.sendErr = nil
	// MIT drops a KRB-ERROR's e-text from its messages; Entra puts the
	// reason there (AADSTS700016 ...), so keep it for the error.
	if text := kdcErrorText(resp); text != "" {
		m.kdcText = text
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
