package smb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/smbkrb/smbkrb/smb/internal/smb2"
	"github.com/smbkrb/smbkrb/smb/internal/wire"
)

// Share is a connected share of a Session. Paths are relative to the
// share root and use "/" (a "\" is taken as "/" too); "" and "." are the
// root. Every method takes a context that bounds its network calls. A
// Share may be used by several goroutines at once.
type Share struct {
	sess *Session
	name string

	mu  sync.Mutex
	t   *smb2.Tree // on the session's connection of generation gen
	gen int
}

// ShareInfo describes a connected share.
type ShareInfo struct {
	// Name is the share name.
	Name string
	// Encrypted reports that all traffic on the share is encrypted (the
	// server requires it for the share or the whole session); otherwise it
	// is signed.
	Encrypted bool
}

// Session is the session the share was mounted on.
func (sh *Share) Session() *Session { return sh.sess }

// Info describes the share.
func (sh *Share) Info() ShareInfo {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return ShareInfo{Name: sh.name, Encrypted: sh.t != nil && sh.t.Encrypt}
}

// Close disconnects from the share. The Session stays open.
func (sh *Share) Close() error {
	sh.mu.Lock()
	t, gen := sh.t, sh.gen
	sh.t = nil
	sh.mu.Unlock()
	if t == nil {
		return nil
	}
	if _, cur, err := sh.sess.current(); err != nil || cur != gen {
		return nil // its connection is gone
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := t.Disconnect(ctx); err != nil && !expired(err) && !errors.Is(err, smb2.ErrConnectionLost) {
		return sh.fail("unmount", "", err)
	}
	return nil
}

// engine is the share's tree on the session's current connection,
// mounted again if the session dialed again since, and that connection's
// generation.
func (sh *Share) engine(ctx context.Context) (*smb2.Tree, int, error) {
	sh.sess.maybeReauth(ctx)
	c, gen, err := sh.sess.current()
	if err != nil {
		return nil, 0, &Error{Op: "mount", Server: sh.sess.srv.Name, Path: sh.name, Err: err}
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.t != nil && sh.gen == gen {
		return sh.t, gen, nil
	}
	t, gen, err := sh.sess.mount(ctx, c, gen, sh.name)
	if err != nil {
		return nil, 0, err
	}
	sh.t, sh.gen = t, gen
	return t, gen, nil
}

// do runs fn on the share's tree; if the server expired the session or
// the connection was lost, it renews the session and runs fn once more.
func (sh *Share) do(ctx context.Context, fn func(t *smb2.Tree) error) error {
	t, gen, err := sh.engine(ctx)
	if err != nil {
		return err
	}
	err = fn(t)
	if !sh.sess.retryable(err, gen) || ctx.Err() != nil {
		return err
	}
	if rerr := sh.sess.renew(ctx, gen, err); rerr != nil {
		return rerr
	}
	if t, _, err = sh.engine(ctx); err != nil {
		return err
	}
	return fn(t)
}

// fail wraps an engine error with the step, server and path.
func (sh *Share) fail(op, name string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	p := sh.name
	if name != "" {
		p += "/" + name
	}
	return &Error{Op: op, Server: sh.sess.srv.Name, Path: p, Err: engineError(err)}
}

// clean turns a caller's path into a share-relative one: "/" separated,
// no leading "/", no "." or ".." elements (".." cannot climb above the
// root), "" for the root.
func clean(name string) string {
	name = strings.ReplaceAll(name, `\`, "/")
	name = path.Clean("/" + name)
	return strings.TrimPrefix(name, "/")
}

// Stat describes a file or directory.
func (sh *Share) Stat(ctx context.Context, name string) (fs.FileInfo, error) {
	name = clean(name)
	var fi *info
	err := sh.do(ctx, func(t *smb2.Tree) (err error) { fi, err = stat(ctx, t, name); return })
	if err != nil {
		return nil, sh.fail("stat", name, err)
	}
	return fi, nil
}

// ReadDir lists a directory, sorted by name.
func (sh *Share) ReadDir(ctx context.Context, name string) ([]fs.FileInfo, error) {
	name = clean(name)
	var out []fs.FileInfo
	err := sh.do(ctx, func(t *smb2.Tree) (err error) { out, err = readDir(ctx, t, name); return })
	if err != nil {
		return nil, sh.fail("list", name, err)
	}
	slices.SortFunc(out, func(a, b fs.FileInfo) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

// Mkdir makes one directory; its parent must exist.
func (sh *Share) Mkdir(ctx context.Context, name string) error {
	name = clean(name)
	if name == "" {
		return sh.fail("mkdir", name, fs.ErrExist)
	}
	return sh.fail("mkdir", name, sh.do(ctx, func(t *smb2.Tree) error { return mkdir(ctx, t, name) }))
}

// MkdirAll makes a directory and any missing parents; an existing
// directory is not an error.
func (sh *Share) MkdirAll(ctx context.Context, name string) error {
	name = clean(name)
	if name == "" {
		return nil
	}
	var fi *info
	if err := sh.do(ctx, func(t *smb2.Tree) (err error) { fi, err = stat(ctx, t, name); return }); err == nil {
		if fi.IsDir() {
			return nil
		}
		return sh.fail("mkdir", name, errors.New("a file of that name exists"))
	}
	if dir := path.Dir(name); dir != "." {
		if err := sh.MkdirAll(ctx, dir); err != nil {
			return err
		}
	}
	err := sh.do(ctx, func(t *smb2.Tree) error { return mkdir(ctx, t, name) })
	if err != nil && errors.Is(engineError(err), fs.ErrExist) {
		return nil // made by someone else meanwhile
	}
	return sh.fail("mkdir", name, err)
}

// Remove removes a file or an empty directory.
func (sh *Share) Remove(ctx context.Context, name string) error {
	name = clean(name)
	if name == "" {
		return sh.fail("remove", name, errors.New("the share root cannot be removed"))
	}
	return sh.fail("remove", name, sh.do(ctx, func(t *smb2.Tree) error { return remove(ctx, t, name) }))
}

// Rename moves oldname to newname within the share, replacing a file at
// newname.
func (sh *Share) Rename(ctx context.Context, oldname, newname string) error {
	oldname, newname = clean(oldname), clean(newname)
	if oldname == "" || newname == "" {
		return sh.fail("rename", oldname, errors.New("the share root cannot be renamed or replaced"))
	}
	return sh.fail("rename", oldname+" -> "+newname, sh.do(ctx, func(t *smb2.Tree) error { return rename(ctx, t, oldname, newname) }))
}

// Chtimes sets the last write time of name to mtime, and its last access
// time to atime unless atime is zero, as os.Chtimes does locally. The
// server keeps 100-nanosecond units.
func (sh *Share) Chtimes(ctx context.Context, name string, atime, mtime time.Time) error {
	name = clean(name)
	if mtime.IsZero() {
		return sh.fail("chtimes", name, errors.New("no modification time given"))
	}
	return sh.fail("chtimes", name, sh.do(ctx, func(t *smb2.Tree) error { return chtimes(ctx, t, name, atime, mtime) }))
}

// Truncate sets the size of the file name: it is cut at size, or grows
// with zero bytes to it, in place.
func (sh *Share) Truncate(ctx context.Context, name string, size int64) error {
	name = clean(name)
	if size < 0 {
		return sh.fail("truncate", name, fmt.Errorf("negative size %d", size))
	}
	return sh.fail("truncate", name, sh.do(ctx, func(t *smb2.Tree) error { return truncate(ctx, t, name, size) }))
}

// CheckWrite reports whether the caller may write the existing file
// name: it opens the file for writing and closes it again, changing
// nothing. The error is what a write would meet (errors.Is
// fs.ErrPermission, fs.ErrNotExist, ...).
func (sh *Share) CheckWrite(ctx context.Context, name string) error {
	name = clean(name)
	return sh.fail("open", name, sh.do(ctx, func(t *smb2.Tree) error {
		r, err := open(ctx, t, name, wire.FileWriteData|wire.FileReadAttributes, wire.FileOpen, wire.OptNonDirectoryFile)
		if err != nil {
			return err
		}
		return t.Close(ctx, r.FileID)
	}))
}

// FSStat is the size of the volume that holds a share, as the server
// reports it for the caller (MS-FSCC FileFsFullSizeInformation).
type FSStat struct {
	// BlockSize is the size of an allocation unit in bytes.
	BlockSize int64
	// Blocks is the volume's size in units; BlocksFree the units free on
	// it, and BlocksAvail those the caller may use (less, under a quota).
	Blocks, BlocksFree, BlocksAvail uint64
}

// StatFS reports the size and free space of the share's volume. Azure
// Files reports the share's quota as its size.
func (sh *Share) StatFS(ctx context.Context) (FSStat, error) {
	var st FSStat
	err := sh.do(ctx, func(t *smb2.Tree) (err error) { st, err = fsFullSize(ctx, t); return })
	return st, sh.fail("statfs", "", err)
}

// Open opens a file for reading. The file's reads use ctx; cancel it to
// abort them.
func (sh *Share) Open(ctx context.Context, name string) (*File, error) {
	name = clean(name)
	f := &File{sh: sh, name: name, ctx: ctx, flag: os.O_RDONLY}
	if err := f.open(); err != nil {
		return nil, sh.fail("open", name, err)
	}
	return f, nil
}

// ReadFile reads a whole file, with Get's parallel requests.
func (sh *Share) ReadFile(ctx context.Context, name string) ([]byte, error) {
	var b bytesWriter
	_, err := sh.Get(ctx, name, &b, nil)
	return b, err
}

// WriteFile writes data to name the way Put does: through a temporary
// file renamed into place.
func (sh *Share) WriteFile(ctx context.Context, name string, data []byte) error {
	_, err := sh.Put(ctx, name, bytes.NewReader(data), nil)
	return err
}

type bytesWriter []byte

func (b *bytesWriter) Write(p []byte) (int, error) { *b = append(*b, p...); return len(p), nil }

// File is a file opened for reading. It is an io.Reader, io.ReaderAt,
// io.Seeker and io.WriterTo; WriteTo keeps several requests in flight.
// If the server expires the session, the file is opened again on the
// renewed session and the read retried.
type File struct {
	sh   *Share
	name string
	ctx  context.Context
	flag int
	// access is added to what flag asks for: Put's temporary file asks
	// for DELETE, to be renamed into place through its own open.
	access uint32

	mu     sync.Mutex
	t      *smb2.Tree  // the tree of the open, on the connection of generation gen
	fid    wire.FileID // the open
	gen    int
	pos    int64        // the offset of the next Read
	dur    durableState // how to resume the open after a lost connection
	reopen sync.Mutex   // one reopening at a time
}

// open opens the file on the share's current connection.
func (f *File) open() error {
	var tree *smb2.Tree
	var fid wire.FileID
	err := f.sh.do(f.ctx, func(t *smb2.Tree) error {
		r, err := f.create(f.ctx, t)
		if err != nil {
			return err
		}
		fid, tree = r.FileID, t
		return nil
	})
	if err != nil {
		return err
	}
	f.sh.mu.Lock()
	gen := f.sh.gen
	f.sh.mu.Unlock()
	f.mu.Lock()
	f.t, f.fid, f.gen = tree, fid, gen
	f.mu.Unlock()
	return nil
}

// handle is the engine's tree, the open and its generation.
func (f *File) handle() (*smb2.Tree, wire.FileID, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t, f.fid, f.gen
}

// retry runs fn on the file; if the server expired the session, it
// renews the session, opens the file again (once, whichever goroutine
// comes first) and runs fn again.
func (f *File) retry(fn func(t *smb2.Tree, fid wire.FileID) error) error {
	return f.retryCtx(f.ctx, fn)
}

// retryCtx is retry for an operation bounded by ctx as well as by the
// file's context.
func (f *File) retryCtx(ctx context.Context, fn func(t *smb2.Tree, fid wire.FileID) error) error {
	f.sh.sess.maybeReauth(ctx)
	t, fid, gen := f.handle()
	err := fn(t, fid)
	if !f.sh.sess.retryable(err, gen) || f.ctx.Err() != nil || ctx.Err() != nil {
		return err
	}
	if rerr := f.sh.sess.renew(ctx, gen, err); rerr != nil {
		return rerr
	}
	if _, cur, cerr := f.sh.sess.current(); cerr == nil && cur == gen {
		// Authenticated again on the same connection: the open is still
		// good.
		return fn(t, fid)
	}
	f.reopen.Lock()
	f.mu.Lock()
	stale := f.gen == gen
	f.mu.Unlock()
	if stale {
		// Reopen without O_CREATE/O_EXCL/O_TRUNC: the file exists now,
		// and what was written stays.
		f.flag &^= os.O_CREATE | os.O_EXCL | os.O_TRUNC
		if err := f.open(); err != nil {
			f.reopen.Unlock()
			return err
		}
	}
	f.reopen.Unlock()
	t, fid, _ = f.handle()
	return fn(t, fid)
}

// Read reads the next bytes.
func (f *File) Read(p []byte) (int, error) {
	f.mu.Lock()
	pos := f.pos
	f.mu.Unlock()
	n, err := f.ReadAt(p, pos)
	f.mu.Lock()
	f.pos = pos + int64(n)
	f.mu.Unlock()
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// ReadAt reads len(p) bytes at off; it may be called concurrently.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	var n int
	err := f.retry(func(t *smb2.Tree, fid wire.FileID) (err error) { n, err = readFull(f.ctx, t, fid, p, off); return })
	if err == io.EOF {
		return n, err
	}
	if err == nil && n < len(p) {
		return n, io.EOF
	}
	return n, f.sh.fail("read", f.name, err)
}

// ReadAtContext is ReadAt bounded by ctx as well as by the context the
// file was opened with.
func (f *File) ReadAtContext(ctx context.Context, p []byte, off int64) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(f.ctx, cancel)
	defer stop()
	var n int
	err := f.retryCtx(ctx, func(t *smb2.Tree, fid wire.FileID) (err error) { n, err = readFull(ctx, t, fid, p, off); return })
	if err == io.EOF {
		return n, err
	}
	if err == nil && n < len(p) {
		return n, io.EOF
	}
	return n, f.sh.fail("read", f.name, err)
}

// readOwned reads up to n bytes at off (n at most the connection's
// MaxRead) in one READ whose bytes stay in the engine's receive buffer;
// the caller releases them. It retries once across a renewal like ReadAt.
func (f *File) readOwned(off int64, n int) (smb2.Data, error) {
	var d smb2.Data
	err := f.retry(func(t *smb2.Tree, fid wire.FileID) (err error) {
		d, err = t.ReadOwned(f.ctx, fid, off, min(n, t.Session().Conn().MaxRead(n)))
		return
	})
	return d, err
}

// writeFrameCtx writes w's data at off, retrying once across a renewal,
// bounded by ctx as well as by the file's context. The frame is sent as
// it is unless a new connection allows smaller writes.
func (f *File) writeFrameCtx(ctx context.Context, w *smb2.WriteFrame, off int64) error {
	return f.retryCtx(ctx, func(t *smb2.Tree, fid wire.FileID) error {
		p := w.Data()
		done := 0
		if t.Session().Conn().MaxWrite(len(p)) == len(p) {
			n, err := t.WriteFrame(ctx, fid, off, w)
			if err != nil {
				return err
			}
			done = n
		}
		if done < len(p) {
			// A short write, or a frame too large: the rest as WRITEs of
			// their own.
			_, err := writeFull(ctx, t, fid, p[done:], off+int64(done))
			return err
		}
		return nil
	})
}

// Seek sets the offset of the next Read.
func (f *File) Seek(offset int64, whence int) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var pos int64
	switch whence {
	case io.SeekStart:
		pos = offset
	case io.SeekCurrent:
		pos = f.pos + offset
	case io.SeekEnd:
		f.mu.Unlock()
		fi, err := f.Stat()
		f.mu.Lock()
		if err != nil {
			return f.pos, err
		}
		pos = fi.Size() + offset
	default:
		return f.pos, f.sh.fail("seek", f.name, fs.ErrInvalid)
	}
	if pos < 0 {
		return f.pos, f.sh.fail("seek", f.name, errors.New("negative position"))
	}
	f.pos = pos
	return pos, nil
}

// Stat describes the file.
func (f *File) Stat() (fs.FileInfo, error) {
	var fi *info
	err := f.retry(func(t *smb2.Tree, fid wire.FileID) (err error) { fi, err = fileStat(f.ctx, t, fid, f.name); return })
	if err != nil {
		return nil, f.sh.fail("stat", f.name, err)
	}
	return fi, nil
}

// WriteTo copies the file from its current offset to w with the share's
// parallel requests.
func (f *File) WriteTo(w io.Writer) (int64, error) {
	f.mu.Lock()
	off := f.pos
	f.mu.Unlock()
	n, err := f.sh.copyOut(f, off, w, f.sh.sess.xfer)
	f.mu.Lock()
	f.pos = off + n
	f.mu.Unlock()
	return n, err
}

// Close closes the file. If the file's context has ended, Close returns
// at once and the CLOSE goes on in the background (Session.Close waits
// for it, at most cleanupGrace), so a cancelled transfer does not wait for
// a server that stopped answering.
func (f *File) Close() error {
	if f.ctx.Err() != nil {
		f.sh.sess.bg.Go(func() {
			f.closeWithin(cleanupGrace)
		})
		return nil
	}
	return f.closeWithin(30 * time.Second)
}

// closeWithin closes the file, waiting at most d (and at most 5 s once
// the file's context ends).
func (f *File) closeWithin(d time.Duration) error {
	t, fid, gen := f.handle()
	f.mu.Lock()
	lease := f.dur.leaseKey
	f.dur = durableState{}
	f.mu.Unlock()
	f.sh.sess.forgetLease(lease)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(f.ctx), d)
	defer cancel()
	if f.ctx.Err() == nil {
		stop := context.AfterFunc(f.ctx, func() { time.AfterFunc(5*time.Second, cancel) })
		defer stop()
	}
	err := t.Close(ctx, fid)
	if expired(err) {
		if rerr := f.sh.sess.renew(ctx, gen, err); rerr == nil {
			if _, cur, cerr := f.sh.sess.current(); cerr == nil && cur == gen {
				err = t.Close(ctx, fid)
			}
		}
	}
	if _, cur, cerr := f.sh.sess.current(); cerr == nil && cur != gen {
		return nil // its connection is gone: nothing to close on the server
	}
	return f.sh.fail("close", f.name, err)
}

// FileAttributes are a file's FILE_ATTRIBUTE_* flags (MS-FSCC 2.6):
// the Sys() of the fs.FileInfo values this package returns.
type FileAttributes uint32

// info is a fs.FileInfo of the package's own.
type info struct {
	name  string
	size  int64
	mode  fs.FileMode
	mtime time.Time
	attrs FileAttributes
}

func (i *info) Name() string       { return i.name }
func (i *info) Size() int64        { return i.size }
func (i *info) Mode() fs.FileMode  { return i.mode }
func (i *info) ModTime() time.Time { return i.mtime }
func (i *info) IsDir() bool        { return i.mode.IsDir() }

// Sys returns the file's FileAttributes.
func (i *info) Sys() any { return i.attrs }
