package main

/*
#include "capi.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"unsafe"

	"github.com/smbkrb/smbkrb/internal/localfile"
	"github.com/smbkrb/smbkrb/smb"
)

// onShare runs one operation on a share: it looks up the handles, makes
// the call's context (bounded by def(config's timeout) when transfer is
// false) and records the outcome.
func onShare(what string, p *C.smbkrb_share, pcall *C.smbkrb_call, transfer bool, f func(ctx context.Context, sh *share, c *call) error) (rc C.int) {
	defer recoverTo(what, &rc)
	sh, err := lookup[*share](unsafe.Pointer(p), magicShare)
	if err != nil {
		return status(what, err)
	}
	c, err := callOf(pcall)
	if err != nil {
		return status(what, err)
	}
	if sh.s.closed.Load() {
		return status(what, usagef("the share's session is closed (smbkrb_session_close): close the share too"))
	}
	def := sh.s.cfg.opTimeout()
	if transfer {
		def = 0
	}
	ctx, cancel := c.context(def)
	defer cancel()
	return status(what, f(ctx, sh, c))
}

// fillStat copies fi into st.
func fillStat(st *C.smbkrb_stat, fi fs.FileInfo) {
	st.size = C.uint64_t(fi.Size())
	st.mtime_ns = C.int64_t(fi.ModTime().UnixNano())
	st.attributes = 0
	if a, ok := fi.Sys().(smb.FileAttributes); ok {
		st.attributes = C.uint32_t(a)
	}
	st.is_dir = 0
	if fi.IsDir() {
		st.is_dir = 1
	}
}

//export smbkrb_stat_path
func smbkrb_stat_path(p *C.smbkrb_share, path *C.smbkrb_cchar, pcall *C.smbkrb_call, st *C.smbkrb_stat) C.int {
	begin()
	name := goString(path)
	return onShare("smbkrb_stat_path", p, pcall, false, func(ctx context.Context, sh *share, _ *call) error {
		if st == nil {
			return usagef("st is NULL")
		}
		fi, err := sh.sh.Stat(ctx, name)
		if err != nil {
			return err
		}
		fillStat(st, fi)
		return nil
	})
}

// dir is an smbkrb_dir: a listing read whole, and the C copy of the
// name last handed out.
type dir struct {
	entries []fs.FileInfo
	next    int
	name    *C.char
}

func (d *dir) freeName() {
	if d.name != nil {
		C.free(unsafe.Pointer(d.name))
		d.name = nil
	}
}

//export smbkrb_dir_open
func smbkrb_dir_open(p *C.smbkrb_share, path *C.smbkrb_cchar, pcall *C.smbkrb_call, out **C.smbkrb_dir) C.int {
	begin()
	name := goString(path)
	return onShare("smbkrb_dir_open", p, pcall, false, func(ctx context.Context, sh *share, _ *call) error {
		if out == nil {
			return usagef("out is NULL")
		}
		*out = nil
		list, err := sh.sh.ReadDir(ctx, name)
		if err != nil {
			return err
		}
		*out = (*C.smbkrb_dir)(newHandle(magicDir, &dir{entries: list}))
		return nil
	})
}

//export smbkrb_dir_next
func smbkrb_dir_next(p *C.smbkrb_dir, name **C.smbkrb_cchar, st *C.smbkrb_stat) (rc C.int) {
	begin()
	const what = "smbkrb_dir_next"
	defer recoverTo(what, &rc)
	d, err := lookup[*dir](unsafe.Pointer(p), magicDir)
	if err == nil && name == nil {
		err = usagef("name is NULL")
	}
	if err != nil {
		return status(what, err)
	}
	d.freeName()
	*name = nil
	if d.next == len(d.entries) {
		return C.SMBKRB_OK
	}
	fi := d.entries[d.next]
	d.next++
	d.name = C.CString(fi.Name())
	*name = (*C.smbkrb_cchar)(unsafe.Pointer(d.name))
	if st != nil {
		fillStat(st, fi)
	}
	return C.SMBKRB_OK
}

//export smbkrb_dir_free
func smbkrb_dir_free(p *C.smbkrb_dir) {
	begin()
	if d, ok := freeHandle[*dir](unsafe.Pointer(p), magicDir); ok {
		d.freeName()
	}
}

//export smbkrb_mkdir_all
func smbkrb_mkdir_all(p *C.smbkrb_share, path *C.smbkrb_cchar, pcall *C.smbkrb_call) C.int {
	begin()
	name := goString(path)
	return onShare("smbkrb_mkdir_all", p, pcall, false, func(ctx context.Context, sh *share, _ *call) error {
		if err := need("path", name); err != nil {
			return err
		}
		return sh.sh.MkdirAll(ctx, name)
	})
}

//export smbkrb_remove
func smbkrb_remove(p *C.smbkrb_share, path *C.smbkrb_cchar, pcall *C.smbkrb_call) C.int {
	begin()
	name := goString(path)
	return onShare("smbkrb_remove", p, pcall, false, func(ctx context.Context, sh *share, _ *call) error {
		if err := need("path", name); err != nil {
			return err
		}
		return sh.sh.Remove(ctx, name)
	})
}

//export smbkrb_rename
func smbkrb_rename(p *C.smbkrb_share, from, to *C.smbkrb_cchar, pcall *C.smbkrb_call) C.int {
	begin()
	f, t := goString(from), goString(to)
	return onShare("smbkrb_rename", p, pcall, false, func(ctx context.Context, sh *share, _ *call) error {
		if err := errors.Join(need("from", f), need("to", t)); err != nil {
			return err
		}
		return sh.sh.Rename(ctx, f, t)
	})
}

// setBytes stores n in *out if out is not NULL.
func setBytes(out *C.uint64_t, n int64) {
	if out != nil {
		*out = C.uint64_t(n)
	}
}

//export smbkrb_get
func smbkrb_get(p *C.smbkrb_share, remote, local *C.smbkrb_cchar, pcall *C.smbkrb_call, bytes *C.uint64_t) C.int {
	begin()
	r, l := goString(remote), goString(local)
	setBytes(bytes, 0)
	return onShare("smbkrb_get", p, pcall, true, func(ctx context.Context, sh *share, c *call) error {
		if err := errors.Join(need("remote", r), need("local_path", l)); err != nil {
			return err
		}
		tmp, err := localfile.Create(l)
		if err != nil {
			return err
		}
		defer tmp.Abort()
		n, err := sh.sh.Get(ctx, r, tmp, &smb.TransferOptions{Progress: c.progressFunc()})
		if err != nil {
			return err
		}
		if err := tmp.Commit(); err != nil {
			return fmt.Errorf("%s: %w", l, err)
		}
		setBytes(bytes, n)
		return nil
	})
}

//export smbkrb_put
func smbkrb_put(p *C.smbkrb_share, local, remote *C.smbkrb_cchar, pcall *C.smbkrb_call, bytes *C.uint64_t) C.int {
	begin()
	l, r := goString(local), goString(remote)
	setBytes(bytes, 0)
	return onShare("smbkrb_put", p, pcall, true, func(ctx context.Context, sh *share, c *call) error {
		if err := errors.Join(need("local_path", l), need("remote", r)); err != nil {
			return err
		}
		f, err := os.Open(l)
		if err != nil {
			return err
		}
		defer f.Close()
		n, err := sh.sh.Put(ctx, r, f, &smb.PutOptions{TransferOptions: smb.TransferOptions{Progress: c.progressFunc()}})
		if err != nil {
			return err
		}
		setBytes(bytes, n)
		return nil
	})
}

// errStopped is a callback's request to stop a transfer.
var errStopped = errors.New("the callback returned non-zero: transfer stopped")

// cWriter is an io.Writer over an smbkrb_write_fn.
type cWriter struct {
	fn   C.smbkrb_write_fn
	user unsafe.Pointer
}

func (w cWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if C.smbkrb_write_cb_(w.fn, w.user, unsafe.Pointer(&p[0]), C.size_t(len(p))) != 0 {
		return 0, errStopped
	}
	return len(p), nil
}

// cReader is an io.Reader over an smbkrb_read_fn.
type cReader struct {
	fn   C.smbkrb_read_fn
	user unsafe.Pointer
}

func (r cReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n C.size_t
	if C.smbkrb_read_cb_(r.fn, r.user, unsafe.Pointer(&p[0]), C.size_t(len(p)), &n) != 0 {
		return 0, errStopped
	}
	if int(n) > len(p) {
		return 0, fmt.Errorf("the read callback (smbkrb_read_fn) reported %d bytes into a buffer of %d", int(n), len(p))
	}
	if n == 0 {
		return 0, io.EOF
	}
	return int(n), nil
}

//export smbkrb_read_to
func smbkrb_read_to(p *C.smbkrb_share, remote *C.smbkrb_cchar, fn C.smbkrb_write_fn, user unsafe.Pointer, pcall *C.smbkrb_call, bytes *C.uint64_t) C.int {
	begin()
	r := goString(remote)
	setBytes(bytes, 0)
	return onShare("smbkrb_read_to", p, pcall, true, func(ctx context.Context, sh *share, c *call) error {
		if err := need("remote", r); err != nil {
			return err
		}
		if fn == nil {
			return usagef("fn is NULL")
		}
		n, err := sh.sh.Get(ctx, r, cWriter{fn, user}, &smb.TransferOptions{Progress: c.progressFunc()})
		setBytes(bytes, n)
		return err
	})
}

//export smbkrb_write_from
func smbkrb_write_from(p *C.smbkrb_share, remote *C.smbkrb_cchar, fn C.smbkrb_read_fn, user unsafe.Pointer, pcall *C.smbkrb_call, bytes *C.uint64_t) C.int {
	begin()
	r := goString(remote)
	setBytes(bytes, 0)
	return onShare("smbkrb_write_from", p, pcall, true, func(ctx context.Context, sh *share, c *call) error {
		if err := need("remote", r); err != nil {
			return err
		}
		if fn == nil {
			return usagef("fn is NULL")
		}
		n, err := sh.sh.Put(ctx, r, cReader{fn, user}, &smb.PutOptions{TransferOptions: smb.TransferOptions{Progress: c.progressFunc()}})
		if err != nil {
			return err
		}
		setBytes(bytes, n)
		return nil
	})
}
