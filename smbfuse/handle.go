//go:build !(arm || 386 || mips || mipsle)

package smbfuse

import (
	"context"
	"io"
	"strings"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/smbkrb/smbkrb/smb"
)

// handle is one open of a file: reads from the server (read ahead when
// sequential), or, while the node is open for writing, from and to its
// staging file.
type handle struct {
	n     *node
	write bool
	stg   *staging   // for a write open: the node's staging, one reference
	ra    *readAhead // for a read open of a file not staged
}

var (
	_ gofs.FileReader   = (*handle)(nil)
	_ gofs.FileWriter   = (*handle)(nil)
	_ gofs.FileFlusher  = (*handle)(nil)
	_ gofs.FileFsyncer  = (*handle)(nil)
	_ gofs.FileReleaser = (*handle)(nil)
)

func (n *node) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	if n.IsDir() {
		return nil, 0, syscall.EISDIR
	}
	p, e := n.path()
	if e != 0 {
		return nil, 0, e
	}
	acc := int(flags) & syscall.O_ACCMODE
	if acc == syscall.O_RDONLY {
		h := &handle{n: n}
		if n.staging() == nil {
			// The open lives as long as the handle (its reads use its
			// context); only the CREATE is bounded by the timeout and
			// by the request.
			fctx, fcancel := context.WithCancel(n.fsys.ctx)
			timer := time.AfterFunc(n.fsys.o.Timeout, fcancel)
			stop := context.AfterFunc(ctx, fcancel)
			f, err := n.fsys.sh.Open(fctx, p)
			stop()
			if !timer.Stop() && err == nil {
				f.Close()
				err = context.DeadlineExceeded
			}
			if err != nil {
				fcancel()
				return nil, 0, n.fsys.fail("open", p, err)
			}
			h.ra = newReadAhead(n.fsys, f, fcancel)
		}
		return h, 0, 0
	}
	if n.fsys.o.ReadOnly {
		return nil, 0, syscall.EROFS
	}
	trunc := flags&syscall.O_TRUNC != 0
	s, errno := n.openStaging(ctx, p, trunc, false)
	if errno != 0 {
		return nil, 0, errno
	}
	// The kernel's page cache would hide what the staging file holds
	// from a later read open; direct I/O keeps every write ours too.
	return &handle{n: n, write: true, stg: s}, fuse.FOPEN_DIRECT_IO, 0
}

func (n *node) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	if n.fsys.o.ReadOnly {
		return nil, nil, 0, syscall.EROFS
	}
	p, e := n.child(name)
	if e != 0 {
		return nil, nil, 0, e
	}
	// The file exists on the share (empty) from now on, as after
	// creat(2): other clients see it, and a share the user may not
	// write refuses here rather than at close.
	octx, cancel := n.fsys.op(ctx)
	_, err := n.fsys.sh.Put(octx, p, strings.NewReader(""), &smb.PutOptions{InPlace: true})
	cancel()
	if err != nil {
		return nil, nil, 0, n.fsys.fail("create", p, err)
	}
	n.fsys.dirs.drop(parentKey(p))
	child := &node{fsys: n.fsys}
	in := n.NewInode(ctx, child, gofs.StableAttr{Mode: syscall.S_IFREG})
	s, errno := child.openStaging(ctx, p, true, true)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	n.fsys.fill(&out.Attr, s.info(nil))
	return in, &handle{n: child, write: true, stg: s}, fuse.FOPEN_DIRECT_IO, 0
}

// openStaging gives the node's staging file, one more reference to it:
// the one already open, or a new one holding the file's content (none
// with trunc). fresh is for a file just created empty.
func (n *node) openStaging(ctx context.Context, p string, trunc, fresh bool) (*staging, syscall.Errno) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if s := n.stg; s != nil {
		s.ref()
		if trunc {
			if err := s.truncate(0); err != nil {
				s.unref()
				return nil, n.fsys.fail("truncate", p, err)
			}
		}
		return s, 0
	}
	if !fresh {
		// Refused writes are refused now, not at close.
		octx, cancel := n.fsys.op(ctx)
		err := n.fsys.sh.CheckWrite(octx, p)
		cancel()
		if err != nil {
			return nil, n.fsys.fail("open", p, err)
		}
	}
	s, err := newStaging(n)
	if err != nil {
		return nil, n.fsys.fail("open", p, err)
	}
	switch {
	case fresh:
		s.stream = true
	case trunc:
		s.stream, s.dirty = true, true
	default:
		// The content first: a write may go anywhere in it.
		if err := s.load(ctx, p); err != nil {
			s.close()
			return nil, n.fsys.fail("open", p, err)
		}
	}
	n.stg = s
	n.fsys.mu.Lock()
	n.fsys.staged[s] = struct{}{}
	n.fsys.mu.Unlock()
	return s, 0
}

func (h *handle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	s := h.stg
	if s == nil {
		s = h.n.staging() // another open is writing it: what it wrote
	}
	if s != nil {
		n, err := s.readAt(dest, off)
		if err != nil && err != io.EOF {
			return nil, h.n.fsys.fail("read", "(staged) "+h.name(), err)
		}
		return fuse.ReadResultData(dest[:n]), 0
	}
	n, err := h.ra.read(ctx, dest, off)
	if err != nil && err != io.EOF {
		return nil, h.n.fsys.fail("read", h.name(), err)
	}
	return fuse.ReadResultData(dest[:n]), 0
}

func (h *handle) name() string {
	p, _ := h.n.rel()
	return h.n.fsys.remote(p)
}

func (h *handle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	if h.stg == nil {
		return 0, syscall.EBADF
	}
	if err := h.stg.writeAt(data, off); err != nil {
		return 0, h.n.fsys.fail("write", "(staged) "+h.name(), err)
	}
	return uint32(len(data)), 0
}

// Flush is close(2) of one descriptor: what was written is uploaded, and
// the upload's failure is close's.
func (h *handle) Flush(ctx context.Context) syscall.Errno {
	if h.stg == nil {
		return 0
	}
	return h.stg.flushErrno(ctx)
}

func (h *handle) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	return h.Flush(ctx)
}

// Release is the last close of an open: the program has its answer
// already (the kernel does not wait for this one), so what it needs from
// the server (the CLOSE, an upload a failed close left) runs in the
// background, and Unmount waits for it.
func (h *handle) Release(ctx context.Context) syscall.Errno {
	f := h.n.fsys
	f.bg.Add(1)
	go func() {
		defer f.bg.Done()
		if h.ra != nil {
			h.ra.close()
		}
		if h.stg != nil {
			h.stg.unref()
		}
	}()
	return 0
}

// Setattr on an open handle (ftruncate, futimens) is the node's.
func (h *handle) Setattr(ctx context.Context, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return h.n.Setattr(ctx, h, in, out)
}
