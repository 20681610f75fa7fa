//go:build !(arm || 386 || mips || mipsle)

package smbfuse

import (
	"context"
	"io"
	"sync"

	"github.com/smbkrb/smbkrb/smb"
)

// Read-ahead: once a file is read sequentially, it is fetched in chunks
// of raChunk with raAhead of them in flight beyond the one being read
// (the kernel alone would ask for 128 KiB at a time, one round trip each).
const (
	raChunk = 2 << 20
	raAhead = 4
	// raAfter sequential reads start the read-ahead: a small file read
	// in one or two requests never pays for it.
	raAfter = 2
)

// readAhead reads one open file for the kernel.
type readAhead struct {
	fsys   *fileSystem
	f      *smb.File
	cancel context.CancelFunc // ends the open's context, and the fetches

	mu     sync.Mutex
	next   int64 // where the last read ended
	seq    int   // reads in a row near next
	chunks map[int64]*chunk
}

// chunk is one read-ahead request, by index (offset / raChunk).
type chunk struct {
	done chan struct{}
	data []byte // data[:n] is the file's, from the chunk's offset
	n    int
	err  error // io.EOF when the file ends in the chunk
}

func newReadAhead(fsys *fileSystem, f *smb.File, cancel context.CancelFunc) *readAhead {
	return &readAhead{fsys: fsys, f: f, cancel: cancel, chunks: map[int64]*chunk{}}
}

func (r *readAhead) read(ctx context.Context, dest []byte, off int64) (int, error) {
	if len(dest) == 0 {
		return 0, nil
	}
	r.mu.Lock()
	// The kernel's own read-ahead may deliver neighbouring reads out of
	// order: near the last is sequential enough.
	if d := off - r.next; d >= -raChunk && d <= raChunk {
		r.seq++
	} else {
		r.seq = 0
		clear(r.chunks)
	}
	r.next = off + int64(len(dest))
	first, last := off/raChunk, (off+int64(len(dest))-1)/raChunk
	if r.seq < raAfter && r.chunks[first] == nil {
		r.mu.Unlock()
		octx, cancel := r.fsys.op(ctx)
		defer cancel()
		return r.f.ReadAtContext(octx, dest, off)
	}
	for i := first; i <= last+raAhead; i++ {
		if r.chunks[i] == nil {
			r.chunks[i] = r.fetch(i)
		}
	}
	for i := range r.chunks {
		if i < first-1 {
			delete(r.chunks, i)
		}
	}
	want := make([]*chunk, 0, last-first+1)
	for i := first; i <= last; i++ {
		want = append(want, r.chunks[i])
	}
	r.mu.Unlock()

	done := 0
	for k, c := range want {
		select {
		case <-c.done:
		case <-ctx.Done():
			return done, ctx.Err()
		}
		if c.err != nil && c.err != io.EOF {
			r.mu.Lock()
			if r.chunks[first+int64(k)] == c {
				delete(r.chunks, first+int64(k)) // fetched again next time
			}
			r.mu.Unlock()
			return done, c.err
		}
		start := int64(0)
		if k == 0 {
			start = off - first*raChunk
		}
		if start < int64(c.n) {
			done += copy(dest[done:], c.data[start:c.n])
		}
		if c.n < raChunk {
			return done, io.EOF // the file ends here
		}
	}
	return done, nil
}

// fetch starts reading chunk i.
func (r *readAhead) fetch(i int64) *chunk {
	c := &chunk{done: make(chan struct{})}
	go func() {
		defer close(c.done)
		ctx, cancel := context.WithTimeout(r.fsys.ctx, r.fsys.o.Timeout)
		defer cancel()
		c.data = make([]byte, raChunk)
		c.n, c.err = r.f.ReadAtContext(ctx, c.data, i*raChunk)
	}()
	return c
}

// close ends the fetches and closes the open.
func (r *readAhead) close() {
	r.mu.Lock()
	clear(r.chunks)
	r.mu.Unlock()
	r.f.Close()
	r.cancel()
}
