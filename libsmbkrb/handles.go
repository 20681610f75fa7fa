package main

/*
#include "capi.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"github.com/smbkrb/smbkrb/internal/errclass"
)

// The magic numbers of the handle kinds ("sk" and a letter).
const (
	magicCall    = 0x736b0063 // c
	magicConfig  = 0x736b0066 // f
	magicCred    = 0x736b006b // k
	magicSession = 0x736b0073 // s
	magicShare   = 0x736b0068 // h
	magicDir     = 0x736b0064 // d
)

// kindName names a magic for messages.
var kindName = map[uint32]string{
	magicCall: "smbkrb_call", magicConfig: "smbkrb_config", magicCred: "smbkrb_cred",
	magicSession: "smbkrb_session", magicShare: "smbkrb_share", magicDir: "smbkrb_dir",
}

// handles is the table of live objects by id.
var handles struct {
	sync.Mutex
	next uintptr
	objs map[uintptr]any
}

// newHandle registers v and returns its C handle.
func newHandle(magic uint32, v any) unsafe.Pointer {
	handles.Lock()
	defer handles.Unlock()
	if handles.objs == nil {
		handles.objs = make(map[uintptr]any)
	}
	handles.next++
	id := handles.next
	handles.objs[id] = v
	h := (*C.struct_smbkrb_handle_)(C.malloc(C.size_t(unsafe.Sizeof(C.struct_smbkrb_handle_{}))))
	h.magic = C.uint32_t(magic)
	h.id = C.uintptr_t(id)
	return unsafe.Pointer(h)
}

// usageError is a caller's mistake: a NULL or wrong handle, a bad
// argument. Its class is SMBKRB_ERR_USAGE.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// usagef is a usageError.
func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// lookup returns the object behind handle p, which must be of kind magic.
func lookup[T any](p unsafe.Pointer, magic uint32) (T, error) {
	var zero T
	if p == nil {
		return zero, usagef("the %s is NULL", kindName[magic])
	}
	h := (*C.struct_smbkrb_handle_)(p)
	if uint32(h.magic) != magic {
		return zero, usagef("this is not a live %s (freed already, or another kind of handle)", kindName[magic])
	}
	handles.Lock()
	v, ok := handles.objs[uintptr(h.id)]
	handles.Unlock()
	t, isT := v.(T)
	if !ok || !isT {
		return zero, usagef("this is not a live %s", kindName[magic])
	}
	return t, nil
}

// freeHandle removes p from the table, frees it and returns its object
// (ok false for NULL or a handle that is not live of that kind).
func freeHandle[T any](p unsafe.Pointer, magic uint32) (T, bool) {
	var zero T
	if p == nil {
		return zero, false
	}
	h := (*C.struct_smbkrb_handle_)(p)
	if uint32(h.magic) != magic {
		return zero, false
	}
	handles.Lock()
	v, ok := handles.objs[uintptr(h.id)]
	delete(handles.objs, uintptr(h.id))
	handles.Unlock()
	h.magic = 0
	C.free(p)
	t, isT := v.(T)
	return t, ok && isT
}

// status ends an exported call: it records err as this thread's last
// error (what: the function's name) and returns its class.
func status(what string, err error) C.int {
	if err == nil {
		return C.SMBKRB_OK
	}
	class := errclass.Of(err)
	var ue *usageError
	if errors.As(err, &ue) {
		class = errclass.Usage
	}
	setError(what + ": " + message(err, class))
	return C.int(class)
}

// setError records msg as this thread's last error.
func setError(msg string) {
	if msg == "" {
		C.smbkrb_clear_error_()
		return
	}
	C.smbkrb_set_error_((*C.char)(unsafe.Pointer(unsafe.StringData(msg))), C.size_t(len(msg)))
}

// begin starts an exported call: it clears this thread's last error.
// Deferred, its result recovers a panic into SMBKRB_ERR_FAILURE, so that
// a bug in the library fails the call instead of the firmware process.
func begin() { C.smbkrb_clear_error_() }

// recoverTo turns a panic into a failure of the call whose status *rc is.
func recoverTo(what string, rc *C.int) {
	if r := recover(); r != nil {
		setError(fmt.Sprintf("%s: internal error (a bug in libsmbkrb; please report it with this text): %v", what, r))
		*rc = C.SMBKRB_ERR_FAILURE
	}
}

// goString copies a C string; NULL is "".
func goString(s *C.smbkrb_cchar) string {
	if s == nil {
		return ""
	}
	return C.GoString((*C.char)(unsafe.Pointer(s)))
}
