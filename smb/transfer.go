package smb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sync"
	"time"

	"github.com/smbkrb/smbkrb/smb/internal/smb2"
	"github.com/smbkrb/smbkrb/smb/internal/wire"
)

// TransferOptions tune Get and Put. The zero value keeps up to four 4 MiB
// requests in flight: at most max(Parallel, 2)×ChunkSize bytes are
// buffered (at depth 1 the next chunk overlaps the one in flight).
type TransferOptions struct {
	// Parallel is the most read or write requests in flight on the
	// session for one transfer (see Fixed); 0 means 4, 1 means one at a
	// time.
	Parallel int
	// ChunkSize is the size of each request; 0 means 4 MiB. The engine
	// splits larger chunks to the server's maximum (MaxReadSize,
	// MaxWriteSize: 8 MiB on Samba, 1 MiB on Azure Files) and to the
	// credits it holds.
	ChunkSize int
	// Progress, if set, is called after each chunk with the bytes done so
	// far and the total (-1 when unknown). Calls never overlap.
	Progress func(done, total int64)
	// Fixed keeps Parallel requests in flight for the whole transfer.
	// Otherwise a transfer of 16 chunks or more first times a few chunks
	// one at a time against a few at Parallel, and keeps one at a time
	// when that was at least 10% faster (some servers serve one large
	// request at a time with far less work). The session's transfers in
	// the next minute, and its shorter ones after that, keep the choice
	// without measuring; SessionInfo.ReadDepth and WriteDepth give it.
	Fixed bool
}

func (o TransferOptions) withDefaults() TransferOptions {
	if o.Parallel <= 0 {
		o.Parallel = 4
	}
	if o.ChunkSize <= 0 {
		o.ChunkSize = 4 << 20
	}
	return o
}

// merged is o with unset fields taken from d.
func (o *TransferOptions) merged(d TransferOptions) TransferOptions {
	if o == nil {
		return d
	}
	m := *o
	if m.Parallel <= 0 {
		m.Parallel = d.Parallel
	}
	if m.ChunkSize <= 0 {
		m.ChunkSize = d.ChunkSize
	}
	if m.Progress == nil {
		m.Progress = d.Progress
	}
	m.Fixed = m.Fixed || d.Fixed
	return m
}

// PutOptions tune Put.
type PutOptions struct {
	TransferOptions
	// InPlace writes straight into name instead of a temporary file
	// renamed into place. A failed upload then leaves a partial file.
	InPlace bool
	// Size is the number of bytes r will give, for Progress; 0 means ask
	// r (a Len method, or Stat of a regular file), else unknown.
	Size int64
	// ModTime, if set, is the modification time name is given (the zero
	// value leaves it to the server: the time of the last write).
	ModTime time.Time
}

// progress serializes Progress calls and counts bytes.
type progress struct {
	mu    sync.Mutex
	done  int64
	total int64
	fn    func(done, total int64)
}

func (p *progress) add(n int) {
	if p.fn == nil || n == 0 {
		return
	}
	p.mu.Lock()
	p.done += int64(n)
	p.fn(p.done, p.total)
	p.mu.Unlock()
}

// Get copies the file name to w, keeping several read requests in flight
// and writing to w in order. It returns the bytes written.
//
// A file of up to 64 KiB takes one round trip (open, read and close
// compounded); a larger one is then read from a new open.
func (sh *Share) Get(ctx context.Context, name string, w io.Writer, opts *TransferOptions) (int64, error) {
	o := opts.merged(sh.sess.xfer)
	var r *wire.CreateResponse
	var data []byte
	err := sh.do(ctx, func(t *smb2.Tree) (err error) {
		r, data, err = t.ReadSmall(ctx, createRequest(clean(name), wire.FileReadData|wire.FileReadAttributes, wire.FileOpen, 0), t.Session().Conn().MaxRead(smallFile))
		return
	})
	if err != nil {
		return 0, sh.fail("open", clean(name), err)
	}
	if r.FileAttributes&wire.AttrDirectory != 0 {
		return 0, sh.fail("read", clean(name), errors.New("it is a directory"))
	}
	if r.EndOfFile == uint64(len(data)) {
		prog := &progress{total: int64(len(data)), fn: o.Progress}
		n, err := w.Write(data)
		prog.add(n)
		if err != nil {
			return int64(n), fmt.Errorf("writing the local copy of %s: %w", clean(name), err)
		}
		return int64(n), nil
	}
	// Larger: the bytes read are dropped rather than joined to a second
	// open's, which may see another version of the file.
	f, err := sh.Open(ctx, name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n, err := sh.copyOut(f, 0, w, o)
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return n, sh.fail("read", clean(name), ctx.Err()) // as in Put
	}
	return n, err
}

// smallFile is the size up to which Get reads a file in one round trip.
const smallFile = 64 << 10

// copyOut reads f from off to its current end with up to o.Parallel
// requests in flight (see gate) and writes the bytes to w in order.
func (sh *Share) copyOut(f *File, off int64, w io.Writer, o TransferOptions) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if fi.IsDir() {
		return 0, sh.fail("read", f.name, errors.New("it is a directory"))
	}
	size := fi.Size()
	prog := &progress{total: size - off, fn: o.Progress}

	// Each chunk is read in pieces of at most the connection's MaxRead,
	// each piece left in the buffer it arrived in and written to w from
	// there: the data is copied once, by the kernel.
	type chunk struct {
		want   int
		pieces []smb2.Data
		err    error
		done   chan struct{}
	}
	g := sh.sess.transferGate(dirRead, size-off, o)
	queue := make(chan *chunk, max(o.Parallel, 2))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	go func() {
		defer close(queue)
		for pos := off; pos < size; pos += int64(o.ChunkSize) {
			if !g.reserve(stop) || !g.send(stop) {
				return
			}
			c := &chunk{want: int(min(int64(o.ChunkSize), size-pos)), done: make(chan struct{})}
			queue <- c // never blocks: at most max(Parallel, 2) chunks are alive
			wg.Add(1)
			go func(pos int64) {
				defer wg.Done()
				defer close(c.done)
				defer g.answered()
				for got := 0; got < c.want; {
					d, err := f.readOwned(pos+int64(got), c.want-got)
					if err != nil {
						c.err = err
						return
					}
					n := len(d.Bytes())
					c.pieces = append(c.pieces, d)
					if n == 0 {
						return
					}
					got += n
				}
			}(pos)
		}
	}()

	var written int64
	var werr error
	for c := range queue {
		<-c.done
		got := 0
		for i := range c.pieces {
			d := &c.pieces[i]
			if werr == nil {
				m, err := w.Write(d.Bytes())
				written += int64(m)
				got += m
				prog.add(m)
				if err != nil {
					werr = fmt.Errorf("writing the local copy of %s: %w", f.name, err)
				}
			}
			d.Release()
		}
		if werr == nil {
			switch {
			case c.err != nil && c.err != io.EOF:
				werr = f.sh.fail("read", f.name, c.err)
			case got < c.want:
				werr = errShrunk
			}
		}
		if werr != nil {
			select {
			case <-stop:
			default:
				close(stop)
			}
		}
		g.finished(got)
	}
	wg.Wait()
	if werr == errShrunk {
		werr = nil // the file got shorter while we read: we read what there was
	}
	return written, werr
}

var errShrunk = errors.New("file shrank")

// cleanupGrace is how long a failed Put may take to remove its temporary
// file after its context ended.
const cleanupGrace = 10 * time.Second

// Put writes everything r gives to name, keeping several write requests
// in flight. Unless opts.InPlace, it writes to a temporary file in the
// same directory (".<name>.smbkrb-<random>.part") and renames it over name
// only when all bytes are written, so name never holds a partial file; on
// failure the temporary file is removed if the connection still allows.
// It returns the bytes written.
func (sh *Share) Put(ctx context.Context, name string, r io.Reader, opts *PutOptions) (int64, error) {
	name = clean(name)
	if name == "" {
		return 0, sh.fail("write", name, errors.New("no file name"))
	}
	var o PutOptions
	if opts != nil {
		o = *opts
	}
	xo := o.TransferOptions.merged(sh.sess.xfer)

	target := name
	if !o.InPlace {
		var rnd [6]byte
		rand.Read(rnd[:])
		target = path.Join(path.Dir(name), "."+path.Base(name)+".smbkrb-"+hex.EncodeToString(rnd[:])+".part")
		target = clean(target)
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if !o.InPlace {
		flags = os.O_WRONLY | os.O_CREATE | os.O_EXCL
	}
	// The file lives on a context that outlasts a cancelled ctx by a
	// grace period, so that the cleanup can still close and remove it.
	fctx, fcancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(cleanupGrace, fcancel) })
	background := false // a background cleanup owns fctx, which ends cleanupGrace after ctx
	defer func() {
		if !background {
			stop()
			fcancel()
		}
	}()
	ef := &File{sh: sh, name: target, ctx: fctx, flag: flags}
	if !o.InPlace {
		ef.access = wire.AccessDelete // renamed into place through this open
	}
	if err := ef.open(); err != nil {
		return 0, sh.fail("write", name, err)
	}
	cleanup := func() {
		ef.Close()
		if !o.InPlace {
			sh.do(fctx, func(t *smb2.Tree) error { return remove(fctx, t, target) })
		}
	}

	total := o.Size
	if total <= 0 {
		total = sizeOf(r)
	}
	prog := &progress{total: total, fn: xo.Progress}
	n, err := copyIn(ctx, r, ef, xo, prog)
	if err != nil {
		if ctx.Err() != nil {
			// Cancelled: return now; the temporary file is closed and
			// removed in the background within cleanupGrace
			// (Session.Close waits for it).
			background = true
			sh.sess.bg.Go(func() {
				defer fcancel()
				cleanup()
			})
		} else {
			cleanup()
		}
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			// The deadline or the cancellation is the cause, also for a
			// request in flight beside the one whose write the deadline
			// cut: it sees the lost connection.
			return n, sh.fail("write", name, ctx.Err())
		}
		var e *Error
		if errors.As(err, &e) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return n, err
		}
		return n, sh.fail("write", name, err)
	}
	// The modification time and the rename go through the open itself,
	// before its close: no second open, and the server keeps a write time
	// set explicitly on the handle (MS-FSA 2.1.5.14.2).
	if !o.ModTime.IsZero() {
		info := wire.FileBasicInfo{LastWriteTime: wire.TimeToFiletime(o.ModTime)}
		if err := ef.setInfo(ctx, wire.FileBasicInformation, info.Marshal()); err != nil {
			cleanup()
			return n, sh.fail("write", name, err)
		}
	}
	if !o.InPlace {
		buf := wire.MarshalRenameInfo(true, wireName(name))
		if err := ef.setInfo(ctx, wire.FileRenameInformation, buf); err != nil {
			cleanup()
			return n, sh.fail("rename", target+" -> "+name, err)
		}
		ef.mu.Lock()
		ef.name = name // a reopen after a lost connection finds it there
		ef.mu.Unlock()
	}
	if err := ef.Close(); err != nil {
		// Every byte is in name already; only the close failed.
		return n, sh.fail("write", name, err)
	}
	return n, nil
}

// setInfo sets a FileInformation class on the open.
func (f *File) setInfo(ctx context.Context, class uint8, buf []byte) error {
	return f.retryCtx(ctx, func(t *smb2.Tree, fid wire.FileID) error {
		return t.SetInfo(ctx, fid, wire.InfoTypeFile, class, buf)
	})
}

// copyIn reads r in chunks and writes them at their offsets of f with up
// to o.Parallel writes in flight (see gate). Each chunk is read straight
// into the WRITE request that carries it (smb2.WriteFrame), so the data is
// copied once, and at most max(Parallel, 2) chunks are buffered.
func copyIn(ctx context.Context, r io.Reader, f *File, o TransferOptions, prog *progress) (int64, error) {
	g := f.sh.sess.transferGate(dirWrite, prog.total, o)
	done := ctx.Done()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		werr error
	)
	failed := func() error {
		mu.Lock()
		defer mu.Unlock()
		return werr
	}
	var off int64
	for {
		if !g.reserve(done) {
			wg.Wait()
			return off, ctx.Err()
		}
		if err := failed(); err != nil {
			wg.Wait()
			return off, err
		}
		// As large as the server and the credit window allow now (the
		// window grows over the first responses).
		t, _, _ := f.handle()
		w := smb2.NewWriteFrame(t.Session().Conn().MaxWrite(o.ChunkSize))
		n, rerr := io.ReadFull(r, w.Data())
		if n > 0 {
			w.Truncate(n)
			if !g.send(done) {
				w.Release()
				wg.Wait()
				return off, ctx.Err()
			}
			wg.Add(1)
			go func(at int64) {
				defer wg.Done()
				err := f.writeFrameCtx(ctx, &w, at)
				w.Release()
				g.answered()
				if err != nil {
					mu.Lock()
					if werr == nil {
						werr = err
					}
					mu.Unlock()
					g.finished(0)
					return
				}
				prog.add(n)
				g.finished(n)
			}(off)
			off += int64(n)
		} else {
			w.Release()
			g.finished(0)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			wg.Wait()
			return off, fmt.Errorf("reading the data to upload: %w", rerr)
		}
	}
	wg.Wait()
	if err := failed(); err != nil {
		return off, err
	}
	return off, ctx.Err()
}

// sizeOf is the number of bytes r will give if it can tell, else -1.
func sizeOf(r io.Reader) int64 {
	switch v := r.(type) {
	case interface{ Len() int }:
		return int64(v.Len())
	case interface{ Stat() (fs.FileInfo, error) }:
		if fi, err := v.Stat(); err == nil && fi.Mode().IsRegular() {
			if s, ok := r.(io.Seeker); ok {
				if cur, err := s.Seek(0, io.SeekCurrent); err == nil {
					return fi.Size() - cur
				}
			}
			return fi.Size()
		}
	}
	return -1
}
