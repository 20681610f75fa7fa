package main

/*
#include "capi.h"
*/
import "C"

import (
	"context"
	"sync"
	"time"
	"unsafe"
)

// call is an smbkrb_call: a cancellable context shared by the calls made
// with it, a timeout and a progress callback.
type call struct {
	mu       sync.Mutex
	ctx      context.Context
	cancel   context.CancelFunc
	timeout  time.Duration
	progress C.smbkrb_progress_fn
	user     unsafe.Pointer
}

func newCall() *call {
	c := &call{}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c
}

// defaultCall serves the calls made with a NULL smbkrb_call.
var defaultCall = newCall()

// callOf is the call behind p, or defaultCall for NULL.
func callOf(p *C.smbkrb_call) (*call, error) {
	if p == nil {
		return defaultCall, nil
	}
	return lookup[*call](unsafe.Pointer(p), magicCall)
}

// context is what one blocking call runs under: the call's context,
// bounded by its timeout, else by def (0: unbounded).
func (c *call) context(def time.Duration) (context.Context, context.CancelFunc) {
	c.mu.Lock()
	ctx, t := c.ctx, c.timeout
	c.mu.Unlock()
	if t == 0 {
		t = def
	}
	if t > 0 {
		return context.WithTimeout(ctx, t)
	}
	return context.WithCancel(ctx)
}

// progressFunc is the progress callback as a Go function, or nil.
func (c *call) progressFunc() func(done, total int64) {
	c.mu.Lock()
	fn, user := c.progress, c.user
	c.mu.Unlock()
	if fn == nil {
		return nil
	}
	return func(done, total int64) {
		C.smbkrb_progress_cb_(fn, user, C.uint64_t(done), C.int64_t(total))
	}
}

//export smbkrb_call_new
func smbkrb_call_new(out **C.smbkrb_call) (rc C.int) {
	begin()
	defer recoverTo("smbkrb_call_new", &rc)
	if out == nil {
		return status("smbkrb_call_new", usagef("out is NULL"))
	}
	*out = (*C.smbkrb_call)(newHandle(magicCall, newCall()))
	return C.SMBKRB_OK
}

//export smbkrb_call_free
func smbkrb_call_free(p *C.smbkrb_call) {
	begin()
	if c, ok := freeHandle[*call](unsafe.Pointer(p), magicCall); ok {
		c.cancel()
	}
}

//export smbkrb_call_set_timeout_ms
func smbkrb_call_set_timeout_ms(p *C.smbkrb_call, ms C.int64_t) (rc C.int) {
	begin()
	defer recoverTo("smbkrb_call_set_timeout_ms", &rc)
	c, err := lookup[*call](unsafe.Pointer(p), magicCall)
	if err == nil && ms < 0 {
		err = usagef("the timeout is negative (%d ms): 0 means the default", int64(ms))
	}
	if err != nil {
		return status("smbkrb_call_set_timeout_ms", err)
	}
	c.mu.Lock()
	c.timeout = time.Duration(ms) * time.Millisecond
	c.mu.Unlock()
	return C.SMBKRB_OK
}

//export smbkrb_call_set_progress
func smbkrb_call_set_progress(p *C.smbkrb_call, fn C.smbkrb_progress_fn, user unsafe.Pointer) (rc C.int) {
	begin()
	defer recoverTo("smbkrb_call_set_progress", &rc)
	c, err := lookup[*call](unsafe.Pointer(p), magicCall)
	if err != nil {
		return status("smbkrb_call_set_progress", err)
	}
	c.mu.Lock()
	c.progress, c.user = fn, user
	c.mu.Unlock()
	return C.SMBKRB_OK
}

//export smbkrb_call_cancel
func smbkrb_call_cancel(p *C.smbkrb_call) {
	begin()
	c, err := lookup[*call](unsafe.Pointer(p), magicCall)
	if err != nil {
		setError("smbkrb_call_cancel: " + err.Error())
		return
	}
	c.mu.Lock()
	c.cancel()
	c.mu.Unlock()
}

//export smbkrb_call_reset
func smbkrb_call_reset(p *C.smbkrb_call) (rc C.int) {
	begin()
	defer recoverTo("smbkrb_call_reset", &rc)
	c, err := lookup[*call](unsafe.Pointer(p), magicCall)
	if err != nil {
		return status("smbkrb_call_reset", err)
	}
	c.mu.Lock()
	c.cancel()
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.mu.Unlock()
	return C.SMBKRB_OK
}
