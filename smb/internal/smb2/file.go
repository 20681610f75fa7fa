package smb2

import (
	"context"
	"fmt"
	"io"

	"github.com/smbkrb/smbkrb/smb/internal/wire"
)

// creditUnit is the payload one credit pays for (MS-SMB2 3.1.5.2).
const creditUnit = 64 << 10

// chargeFor is the CreditCharge of a request moving n bytes.
func chargeFor(n int) uint16 {
	return uint16(max(1, (n+creditUnit-1)/creditUnit))
}

// maxIO bounds one READ or WRITE by the server's maximum and by the
// credits the connection holds now.
func (c *Conn) maxIO(limit uint32, want int) int {
	n := min(want, int(limit))
	if cp := c.credits.capacity(); cp > 0 && n > cp*creditUnit {
		n = cp * creditUnit
	}
	return max(n, 1)
}

// MaxRead is the largest READ to ask for now; MaxWrite the largest WRITE.
func (c *Conn) MaxRead(want int) int  { return c.maxIO(c.MaxReadSize, want) }
func (c *Conn) MaxWrite(want int) int { return c.maxIO(c.MaxWriteSize, want) }

// one sends one request on the tree and returns its call (to release)
// after checking the status.
func (t *Tree) one(ctx context.Context, m outMsg) (*call, error) {
	return t.s.one(ctx, t, m)
}

// do is one for a request whose response carries nothing needed.
func (t *Tree) do(ctx context.Context, m outMsg) error { return t.s.do(ctx, t, m) }

// Create opens or creates a file or directory (MS-SMB2 3.2.4.3). The
// response does not alias any buffer of the engine.
func (t *Tree) Create(ctx context.Context, req *wire.CreateRequest) (*wire.CreateResponse, error) {
	cl, err := t.one(ctx, outMsg{cmd: wire.CmdCreate, body: req.Append, size: 2*len(req.Name) + 256})
	if err != nil {
		return nil, err
	}
	msg := append([]byte(nil), cl.resp...)
	cl.release()
	r, err := wire.ParseCreateResponse(msg)
	if err != nil {
		return nil, fmt.Errorf("%w: create response: %v", ErrPolicy, err)
	}
	return r, nil
}

// Stat opens req's file, reads its attributes and closes it in one
// compounded round trip (CREATE + CLOSE with the attributes asked back).
func (t *Tree) Stat(ctx context.Context, req *wire.CreateRequest) (*wire.CreateResponse, error) {
	cr := &wire.CloseRequest{FileID: wire.FileIDAny}
	calls, err := t.s.c.roundTrip(ctx, t.s.opts(t),
		outMsg{cmd: wire.CmdCreate, treeID: t.ID, body: req.Append, size: 2*len(req.Name) + 256},
		outMsg{cmd: wire.CmdClose, treeID: t.ID, related: true, body: cr.Append})
	if err != nil {
		return nil, err
	}
	defer calls[1].release()
	c0 := calls[0]
	if c0.status != StatusSuccess {
		c0.release()
		return nil, &ResponseError{Status: c0.status, Command: wire.CmdCreate}
	}
	msg := append([]byte(nil), c0.resp...)
	c0.release()
	r, err := wire.ParseCreateResponse(msg)
	if err != nil {
		return nil, fmt.Errorf("%w: create response: %v", ErrPolicy, err)
	}
	return r, nil
}

// Close closes an open (MS-SMB2 3.2.4.5).
func (t *Tree) Close(ctx context.Context, fid wire.FileID) error {
	cr := &wire.CloseRequest{FileID: fid}
	return t.do(ctx, outMsg{cmd: wire.CmdClose, body: cr.Append})
}

// OnLeaseBreak makes f the handler of the connection's lease break
// notifications; it runs in a goroutine of its own for each, and should
// acknowledge a break that asks for it (LeaseBreakAck) promptly: the
// server holds up the open that caused it until then.
func (c *Conn) OnLeaseBreak(f func(*wire.OplockBreak)) { c.leaseBreak.Store(&f) }

// LeaseBreakAck acknowledges a lease break (MS-SMB2 3.2.4.24), accepting
// state, on a tree of the session that holds the lease.
func (t *Tree) LeaseBreakAck(ctx context.Context, key [16]byte, state uint32) error {
	return t.do(ctx, outMsg{cmd: wire.CmdOplockBreak, body: func(m []byte) []byte { return wire.AppendLeaseBreakAck(m, key, state) }})
}

// Flush asks the server to write the file's data to stable storage.
func (t *Tree) Flush(ctx context.Context, fid wire.FileID) error {
	return t.do(ctx, outMsg{cmd: wire.CmdFlush, body: func(m []byte) []byte { return wire.AppendFlushRequest(m, fid) }})
}

// Read reads up to len(p) bytes at off in one READ; len(p) must not
// exceed Conn.MaxRead. It returns io.EOF at or past the end of the file.
// The data goes from the receiver straight into p.
func (t *Tree) Read(ctx context.Context, fid wire.FileID, off int64, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	req := &wire.ReadRequest{Length: uint32(len(p)), Offset: uint64(off), FileID: fid}
	calls, err := t.s.c.roundTrip(ctx, t.s.opts(t), outMsg{
		cmd: wire.CmdRead, treeID: t.ID, charge: chargeFor(len(p)), body: req.Append, readDst: p,
	})
	if err != nil {
		return 0, err
	}
	cl := calls[0]
	defer cl.release()
	switch cl.status {
	case StatusSuccess:
		return cl.readN, nil
	case StatusEndOfFile:
		return 0, io.EOF
	}
	return 0, &ResponseError{Status: cl.status, Command: wire.CmdRead}
}

// ReadSmall opens req's file, reads up to n bytes from its start and
// closes it in one compounded round trip (CREATE + READ + CLOSE, related:
// MS-SMB2 3.2.4.1.4). n must not exceed Conn.MaxRead. The create
// response's EndOfFile says whether data is the whole file; data is a
// copy. A directory gives its create response and no data.
func (t *Tree) ReadSmall(ctx context.Context, req *wire.CreateRequest, n int) (*wire.CreateResponse, []byte, error) {
	rr := &wire.ReadRequest{Length: uint32(n), FileID: wire.FileIDAny}
	cr := &wire.CloseRequest{FileID: wire.FileIDAny}
	calls, err := t.s.c.roundTrip(ctx, t.s.opts(t),
		outMsg{cmd: wire.CmdCreate, treeID: t.ID, body: req.Append, size: 2*len(req.Name) + 256},
		outMsg{cmd: wire.CmdRead, treeID: t.ID, related: true, charge: chargeFor(n), body: rr.Append},
		outMsg{cmd: wire.CmdClose, treeID: t.ID, related: true, body: cr.Append})
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		for _, cl := range calls {
			cl.release()
		}
	}()
	if st := calls[0].status; st != StatusSuccess {
		return nil, nil, &ResponseError{Status: st, Command: wire.CmdCreate}
	}
	r, err := wire.ParseCreateResponse(append([]byte(nil), calls[0].resp...))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: create response: %v", ErrPolicy, err)
	}
	if r.FileAttributes&wire.AttrDirectory != 0 {
		return r, nil, nil
	}
	switch st := calls[1].status; st {
	case StatusSuccess:
	case StatusEndOfFile:
		return r, nil, nil
	default:
		return nil, nil, &ResponseError{Status: st, Command: wire.CmdRead}
	}
	data, _, err := wire.ParseReadResponse(calls[1].resp)
	if err == nil && len(data) > n {
		err = fmt.Errorf("%w: READ returned %d bytes for %d asked", wire.ErrMalformed, len(data), n)
	}
	if err != nil {
		return nil, nil, err
	}
	return r, append([]byte(nil), data...), nil
}

// Data is the payload of one READ, lying in the receive buffer the
// response arrived in (verified or decrypted in place), so a reader that
// only passes the bytes on copies them once less. Release returns the
// buffer to the pool; Bytes must not be used after it.
type Data struct {
	b  []byte
	bp *[]byte
}

// Bytes returns the data.
func (d *Data) Bytes() []byte { return d.b }

// Release returns the data's buffer to the pool. It may be called more
// than once.
func (d *Data) Release() {
	putBuf(d.bp)
	d.b, d.bp = nil, nil
}

// ReadOwned reads up to n bytes at off in one READ, like Read, but
// returns the bytes in the buffer they arrived in instead of copying them.
// n must not exceed Conn.MaxRead. At or past the end of the file it
// returns io.EOF and an empty Data.
func (t *Tree) ReadOwned(ctx context.Context, fid wire.FileID, off int64, n int) (Data, error) {
	if n <= 0 {
		return Data{}, nil
	}
	req := &wire.ReadRequest{Length: uint32(n), Offset: uint64(off), FileID: fid}
	calls, err := t.s.c.roundTrip(ctx, t.s.opts(t), outMsg{
		cmd: wire.CmdRead, treeID: t.ID, charge: chargeFor(n), body: req.Append,
	})
	if err != nil {
		return Data{}, err
	}
	cl := calls[0]
	switch cl.status {
	case StatusSuccess:
	case StatusEndOfFile:
		cl.release()
		return Data{}, io.EOF
	default:
		cl.release()
		return Data{}, &ResponseError{Status: cl.status, Command: wire.CmdRead}
	}
	b, _, err := wire.ParseReadResponse(cl.resp)
	if err == nil && len(b) > n {
		err = fmt.Errorf("%w: READ returned %d bytes for %d asked", wire.ErrMalformed, len(b), n)
	}
	if err != nil {
		cl.release()
		return Data{}, err
	}
	d := Data{b: b, bp: cl.buf}
	cl.buf, cl.resp = nil, nil
	return d, nil
}

// Write writes p at off in one WRITE; len(p) must not exceed
// Conn.MaxWrite. It returns the bytes the server wrote.
func (t *Tree) Write(ctx context.Context, fid wire.FileID, off int64, p []byte) (int, error) {
	body := func(m []byte) []byte {
		m = wire.AppendWriteRequestHeader(m, fid, uint64(off), uint32(len(p)))
		return append(m, p...)
	}
	cl, err := t.one(ctx, outMsg{cmd: wire.CmdWrite, charge: chargeFor(len(p)), body: body, size: len(p) + wire.WriteRequestBodySize})
	if err != nil {
		return 0, err
	}
	defer cl.release()
	n, err := wire.ParseWriteResponse(cl.resp)
	if err != nil {
		return 0, fmt.Errorf("%w: write response: %v", ErrPolicy, err)
	}
	if int(n) > len(p) {
		return 0, fmt.Errorf("%w: the server says it wrote %d bytes of %d", ErrPolicy, n, len(p))
	}
	return int(n), nil
}

// writeDataAt is where a WriteFrame's data lies in its buffer: after the
// room for the frame length and a transform header, the SMB2 header and
// the fixed part of the WRITE request.
const writeDataAt = prefix + wire.HeaderSize + wire.WriteRequestBodySize

// WriteFrame is a WRITE request built around its data: the caller fills
// Data (from a file, say) and sends it with Tree.WriteFrame, so the data
// is not copied into a request. The frame can be sent again (after a
// re-authentication) until Release.
type WriteFrame struct {
	bp *[]byte
	n  int
}

// NewWriteFrame returns a frame for n bytes of data (n at most 16 MiB)
// from the buffer pools.
func NewWriteFrame(n int) WriteFrame {
	bp := getBuf(writeDataAt + n + 16)
	return WriteFrame{bp: bp, n: n}
}

// Data is the frame's data, to be filled before sending.
func (w *WriteFrame) Data() []byte { return (*w.bp)[writeDataAt : writeDataAt+w.n] }

// Truncate shortens the data to n bytes (a short last read).
func (w *WriteFrame) Truncate(n int) { w.n = min(n, w.n) }

// Release returns the frame's buffer to the pool. It may be called more
// than once.
func (w *WriteFrame) Release() {
	putBuf(w.bp)
	w.bp, w.n = nil, 0
}

// WriteFrame writes w's data at off in one WRITE, like Write; its length
// must not exceed Conn.MaxWrite. It returns the bytes the server wrote.
func (t *Tree) WriteFrame(ctx context.Context, fid wire.FileID, off int64, w *WriteFrame) (int, error) {
	n := w.n
	body := func(m []byte) []byte {
		m = wire.AppendWriteRequestHeader(m, fid, uint64(off), uint32(n))
		if n == 0 {
			return m
		}
		return m[:len(m)+n] // the data is already there
	}
	cl, err := t.one(ctx, outMsg{cmd: wire.CmdWrite, charge: chargeFor(n), body: body, frame: w.bp})
	if err != nil {
		return 0, err
	}
	defer cl.release()
	got, err := wire.ParseWriteResponse(cl.resp)
	if err != nil {
		return 0, fmt.Errorf("%w: write response: %v", ErrPolicy, err)
	}
	if int(got) > n {
		return 0, fmt.Errorf("%w: the server says it wrote %d bytes of %d", ErrPolicy, got, n)
	}
	return int(got), nil
}

// QueryInfo returns the info buffer of class (a copy); outLen bounds it.
func (t *Tree) QueryInfo(ctx context.Context, fid wire.FileID, infoType, class uint8, outLen uint32) ([]byte, error) {
	req := &wire.QueryInfoRequest{InfoType: infoType, InfoClass: class, OutputBufferLength: outLen, FileID: fid}
	cl, err := t.one(ctx, outMsg{cmd: wire.CmdQueryInfo, charge: chargeFor(int(outLen)), body: req.Append})
	if err != nil {
		return nil, err
	}
	defer cl.release()
	out, err := wire.ParseQueryInfoResponse(cl.resp)
	if err != nil {
		return nil, fmt.Errorf("%w: query info response: %v", ErrPolicy, err)
	}
	return append([]byte(nil), out...), nil
}

// SetInfo sets info of class from buf.
func (t *Tree) SetInfo(ctx context.Context, fid wire.FileID, infoType, class uint8, buf []byte) error {
	req := &wire.SetInfoRequest{InfoType: infoType, InfoClass: class, FileID: fid, Buffer: buf}
	return t.do(ctx, outMsg{cmd: wire.CmdSetInfo, body: req.Append, size: len(buf) + 64})
}

// dirBuffer is the output buffer size of one QUERY_DIRECTORY.
const dirBuffer = 256 << 10

// QueryDirectory lists the next entries of an open directory (MS-SMB2
// 3.2.4.17); restart starts over. At the end it returns io.EOF.
func (t *Tree) QueryDirectory(ctx context.Context, fid wire.FileID, pattern string, restart bool, dst []wire.DirEntry) ([]wire.DirEntry, error) {
	outLen := min(uint32(dirBuffer), t.s.c.MaxTransactSize)
	req := &wire.QueryDirectoryRequest{
		InfoClass: wire.FileIdBothDirectoryInformation, FileID: fid, Pattern: pattern, OutputBufferLength: outLen,
	}
	if restart {
		req.Flags |= wire.QueryDirRestartScans
	}
	cl, err := t.one(ctx, outMsg{cmd: wire.CmdQueryDirectory, charge: chargeFor(int(outLen)), body: req.Append, size: 2*len(pattern) + 64})
	if err != nil {
		if IsStatus(err, StatusNoMoreFiles) {
			return dst, io.EOF
		}
		return dst, err
	}
	defer cl.release()
	buf, err := wire.ParseQueryDirectoryResponse(cl.resp)
	if err != nil {
		return dst, fmt.Errorf("%w: query directory response: %v", ErrPolicy, err)
	}
	out, err := wire.ParseDirEntries(buf, wire.FileIdBothDirectoryInformation, dst)
	if err != nil {
		return dst, fmt.Errorf("%w: query directory entries: %v", ErrPolicy, err)
	}
	return out, nil
}
