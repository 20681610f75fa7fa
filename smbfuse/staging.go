//go:build !(arm || 386 || mips || mipsle)

package smbfuse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/smbkrb/smbkrb/smb"
)

// staging is a file open for writing: its content in a local file
// (unlinked from StagingDir at once, mode 0600), uploaded with Put when
// flushed. Every open of the node for writing shares it.
type staging struct {
	n    *node
	fsys *fileSystem
	f    *os.File

	flushMu sync.Mutex // one flush at a time

	mu      sync.Mutex
	cond    *sync.Cond // data written, or an upload voided
	refs    int
	size    int64
	dirty   bool      // changes not yet uploaded
	gone    bool      // unlinked or replaced: nothing to upload
	modTime time.Time // set through the mount since the last write
	written time.Time // the last write
	failed  error     // the last flush's failure, until the next change
	stream  bool      // a write at offset 0 starts uploading as it writes
	up      *upload   // the upload running while the file is written
}

func newStaging(n *node) (*staging, error) {
	f, err := os.CreateTemp(n.fsys.o.StagingDir, ".smbkrb-mount-*")
	if err != nil {
		return nil, fmt.Errorf("staging the file for writing: %w", err)
	}
	// Nothing is left behind, whatever happens to the process.
	os.Remove(f.Name())
	s := &staging{n: n, fsys: n.fsys, f: f, refs: 1, written: time.Now()}
	s.cond = sync.NewCond(&s.mu)
	return s, nil
}

func (s *staging) ref() {
	s.mu.Lock()
	s.refs++
	s.mu.Unlock()
}

// unref drops a reference; the last uploads what is left (a close
// uploaded it already unless that failed) and closes the staging file.
func (s *staging) unref() {
	s.mu.Lock()
	s.refs--
	last := s.refs == 0
	s.mu.Unlock()
	if !last {
		return
	}
	// What a close has not uploaded goes up now, unless the close was
	// told that its upload failed: the program knows, and a later retry
	// would change the file after it was told otherwise.
	s.mu.Lock()
	failed := s.failed
	s.mu.Unlock()
	if failed != nil {
		p, _ := s.n.rel()
		s.fsys.o.Logf("/%s: not uploaded (its close was told: %v); the changes are dropped", s.fsys.remote(p), failed)
	} else if err := s.flush(); err != nil {
		p, _ := s.n.rel()
		s.fsys.o.Logf("upload of /%s failed after its last close, and its changes are lost: %v", s.fsys.remote(p), err)
	}
	s.n.mu.Lock()
	s.mu.Lock()
	detach := s.refs == 0 && s.n.stg == s
	if detach {
		s.n.stg = nil
	}
	s.mu.Unlock()
	s.n.mu.Unlock()
	if detach {
		s.close()
	}
}

// close releases the staging file.
func (s *staging) close() {
	s.mu.Lock()
	if s.up != nil {
		s.voidLocked()
	}
	s.mu.Unlock()
	s.fsys.mu.Lock()
	delete(s.fsys.staged, s)
	s.fsys.mu.Unlock()
	s.f.Close()
}

// load copies the file's content from the server.
func (s *staging) load(ctx context.Context, p string) error {
	err := s.watch(func(ctx context.Context, progress func(done, total int64)) error {
		if _, err := s.f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if err := s.f.Truncate(0); err != nil {
			return err
		}
		_, err := s.fsys.sh.Get(ctx, p, s.f, &smb.TransferOptions{Progress: progress})
		return err
	})
	if err != nil {
		return err
	}
	st, err := s.f.Stat()
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.size = st.Size()
	s.mu.Unlock()
	return nil
}

func (s *staging) readAt(p []byte, off int64) (int, error) {
	s.mu.Lock()
	size := s.size
	s.mu.Unlock()
	if off >= size {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), size-off)]
	n, err := s.f.ReadAt(p, off)
	if err == io.EOF && n == len(p) {
		err = nil
	}
	return n, err
}

func (s *staging) writeAt(p []byte, off int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.up != nil && off < s.up.pos {
		s.voidLocked() // rewrites what went up already: upload it all at the flush
	}
	n, err := s.f.WriteAt(p, off)
	if n > 0 {
		s.size = max(s.size, off+int64(n))
		s.dirty, s.failed = true, nil
		s.modTime, s.written = time.Time{}, time.Now()
		if s.stream && s.up == nil && off == 0 && !s.gone {
			s.startUploadLocked()
		}
		s.cond.Broadcast()
	}
	return err
}

func (s *staging) truncate(size int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.up != nil && size < s.up.pos {
		s.voidLocked()
	}
	if err := s.f.Truncate(size); err != nil {
		return err
	}
	if size == 0 && !s.gone {
		// Written again from the start (O_TRUNC of a file still
		// staged): upload while it is written, as for a new one.
		if s.up != nil {
			s.voidLocked()
		}
		s.stream = true
	}
	s.size = size
	s.dirty, s.failed = true, nil
	s.modTime, s.written = time.Time{}, time.Now()
	s.cond.Broadcast()
	return nil
}

// setModTime records a modification time set through the mount; it
// reports whether the server's file should get it now too (nothing is
// waiting to be uploaded, which would stamp it).
func (s *staging) setModTime(t time.Time) (now bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.modTime = t
	return !s.dirty && !s.gone
}

// unlinked is called when the file was removed or replaced on the share.
func (s *staging) unlinked() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gone, s.dirty = true, false
	if s.up != nil {
		s.voidLocked()
	}
}

// info describes the staged file; fi (when known) gives the name.
func (s *staging) info(fi fs.FileInfo) fs.FileInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	si := &stagedInfo{size: s.size, mtime: s.modTime}
	if si.mtime.IsZero() {
		si.mtime = s.written
		if fi != nil && !s.dirty {
			si.mtime = fi.ModTime()
		}
	}
	if fi != nil {
		si.name = fi.Name()
	}
	return si
}

// stagedInfo is a FileInfo of a staged file.
type stagedInfo struct {
	name  string
	size  int64
	mtime time.Time
}

func (i *stagedInfo) Name() string       { return i.name }
func (i *stagedInfo) Size() int64        { return i.size }
func (i *stagedInfo) Mode() fs.FileMode  { return 0o644 }
func (i *stagedInfo) ModTime() time.Time { return i.mtime }
func (i *stagedInfo) IsDir() bool        { return false }
func (i *stagedInfo) Sys() any           { return nil }

// flushErrno is flush for a FUSE request.
func (s *staging) flushErrno(context.Context) syscall.Errno {
	err := s.flush()
	if err == nil {
		return 0
	}
	p, _ := s.n.rel()
	return s.fsys.fail("upload", s.fsys.remote(p), err)
}

// flush uploads the staged file if it changed since the last upload. It
// does not take the request's context: an interrupted close must not
// leave a half-done upload behind; a stalled one ends after Timeout.
func (s *staging) flush() error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	if s.gone || !s.dirty {
		s.mu.Unlock()
		return nil
	}
	p, e := s.n.path()
	if e != 0 {
		s.gone = true
		s.mu.Unlock()
		return nil // unlinked meanwhile
	}
	size, mt := s.size, s.modTime
	up := s.up
	s.up, s.stream, s.dirty = nil, false, false
	if up != nil && !up.void && up.target == p {
		up.end = size // the upload reads to here, and completes
		s.cond.Broadcast()
	} else if up != nil {
		s.upVoidLocked(up)
	}
	s.mu.Unlock()

	var err error
	if up != nil {
		err = up.wait(s.fsys.o.Timeout)
		if err == nil && !mt.IsZero() {
			ctx, cancel := s.fsys.op(s.fsys.ctx)
			err = s.fsys.sh.Chtimes(ctx, p, time.Time{}, mt)
			cancel()
		}
	}
	if up == nil || errors.Is(err, errVoided) {
		err = s.watch(func(ctx context.Context, progress func(done, total int64)) error {
			_, err := s.fsys.sh.Put(ctx, p, io.NewSectionReader(s.f, 0, size),
				&smb.PutOptions{ModTime: mt, TransferOptions: smb.TransferOptions{Progress: progress}})
			return err
		})
	}
	s.fsys.dirs.drop(parentKey(p), "/"+p)
	s.mu.Lock()
	if err != nil {
		s.dirty = !s.gone
	}
	s.failed = err
	s.mu.Unlock()
	return err
}

// watch runs a transfer on the mount's context, cancelled when its
// progress stalls for Timeout.
func (s *staging) watch(run func(ctx context.Context, progress func(done, total int64)) error) error {
	ctx, cancel := context.WithCancel(s.fsys.ctx)
	defer cancel()
	var done atomic.Int64
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, func(d, _ int64) { done.Store(d) }) }()
	return watchdog(errc, &done, s.fsys.o.Timeout, cancel)
}

// watchdog waits for errc, cancelling the work when done has not moved
// for a whole timeout.
func watchdog(errc <-chan error, done *atomic.Int64, timeout time.Duration, cancel func()) error {
	tick := time.NewTicker(timeout)
	defer tick.Stop()
	last := done.Load()
	for {
		select {
		case err := <-errc:
			return err
		case <-tick.C:
			cur := done.Load()
			if cur == last {
				cancel()
				err := <-errc
				return fmt.Errorf("the transfer made no progress for %v (%w): %v", timeout, context.DeadlineExceeded, err)
			}
			last = cur
		}
	}
}

// errVoided ends an upload whose data was rewritten below what it had
// read: the flush uploads the whole file instead.
var errVoided = errors.New("smbfuse: upload superseded")

// upload sends the staged file to the server while it is written: an
// io.Reader over the staging file that waits for more data until the
// flush gives its end.
type upload struct {
	s      *staging
	target string
	pos    int64 // under s.mu: what the upload has read
	end    int64 // under s.mu: -1 until the flush sets the size to read to
	void   bool  // under s.mu: the reader fails from now on
	// superseded (under s.mu): voided because the data changed below
	// pos or the file moved, rather than cancelled.
	superseded bool
	cancel     context.CancelFunc
	done       chan struct{}
	err        error
	sent       atomic.Int64
}

func (s *staging) startUploadLocked() {
	p, e := s.n.path()
	if e != 0 {
		s.stream = false
		return
	}
	ctx, cancel := context.WithCancel(s.fsys.ctx)
	u := &upload{s: s, target: p, end: -1, cancel: cancel, done: make(chan struct{})}
	s.up = u
	context.AfterFunc(ctx, func() {
		s.mu.Lock()
		u.void = true
		s.cond.Broadcast()
		s.mu.Unlock()
	})
	go func() {
		defer close(u.done)
		defer cancel()
		_, err := s.fsys.sh.Put(ctx, p, u, &smb.PutOptions{TransferOptions: smb.TransferOptions{Progress: func(d, _ int64) { u.sent.Store(d) }}})
		s.mu.Lock()
		if u.superseded && err != nil {
			err = errVoided
		}
		s.mu.Unlock()
		u.err = err
	}()
}

// voidLocked voids the running upload; no other starts for this staging.
func (s *staging) voidLocked() {
	s.upVoidLocked(s.up)
	s.up, s.stream = nil, false
}

func (s *staging) upVoidLocked(u *upload) {
	if !u.void {
		u.void, u.superseded = true, true
		u.cancel()
		s.cond.Broadcast()
	}
}

func (u *upload) Read(p []byte) (int, error) {
	s := u.s
	s.mu.Lock()
	for !u.void && u.end < 0 && u.pos >= s.size {
		s.cond.Wait()
	}
	if u.void {
		s.mu.Unlock()
		return 0, errVoided
	}
	limit := s.size
	if u.end >= 0 {
		limit = min(limit, u.end)
	}
	if u.pos >= limit {
		s.mu.Unlock()
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), limit-u.pos))
	off := u.pos
	u.pos += int64(n)
	s.mu.Unlock()
	m, err := s.f.ReadAt(p[:n], off)
	if err == io.EOF && m == n {
		err = nil
	}
	return m, err
}

// wait waits for the upload to complete, voiding it when it makes no
// progress for timeout.
func (u *upload) wait(timeout time.Duration) error {
	errc := make(chan error, 1)
	go func() { <-u.done; errc <- u.err }()
	return watchdog(errc, &u.sent, timeout, u.cancel)
}

// flushAll flushes every staged file; it returns the first failure and
// logs the others.
func (f *fileSystem) flushAll(context.Context) error {
	f.mu.Lock()
	list := make([]*staging, 0, len(f.staged))
	for s := range f.staged {
		list = append(list, s)
	}
	f.mu.Unlock()
	var first error
	for _, s := range list {
		s.mu.Lock()
		told := s.failed != nil // its close or fsync was told already
		s.mu.Unlock()
		if told {
			continue
		}
		if err := s.flush(); err != nil {
			p, _ := s.n.rel()
			err = fmt.Errorf("uploading %s: %w", path.Join("/", f.remote(p)), err)
			f.o.Logf("%v", err)
			if first == nil {
				first = err
			}
		}
	}
	return first
}
