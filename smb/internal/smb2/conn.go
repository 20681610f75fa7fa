package smb2

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smbkrb/smbkrb/smb/internal/smb3crypto"
	"github.com/smbkrb/smbkrb/smb/internal/wire"
)

// Config is what the client offers and demands. The zero value offers
// SMB 3.1.1, 3.0.2 and 3.0, AES-128-GMAC then AES-128-CMAC signing, and
// the four ciphers with GCM first.
type Config struct {
	// Dialects offered, a subset of 3.0, 3.0.2, 3.1.1; nil means all three.
	Dialects []uint16
	// Ciphers in preference order, a subset of the smb3crypto.CipherXxx;
	// nil means AES-128-GCM, AES-256-GCM, AES-128-CCM, AES-256-CCM. A
	// server that picks none of them cannot encrypt this session.
	Ciphers []uint16
	// SigningAlgorithms in preference order; nil means AES-128-GMAC, then
	// AES-128-CMAC.
	SigningAlgorithms []uint16
	// RequireEncryption encrypts every request after session setup and
	// demands encrypted responses; a server with no common cipher fails
	// session setup with ErrPolicy.
	RequireEncryption bool
	// Credits is the number of credits the client keeps asking for, to
	// keep large pipelined transfers going; 0 means 2048.
	Credits int
	// WriteTimeout bounds one write to the socket when the request's
	// context has no deadline; 0 means 60 s.
	WriteTimeout time.Duration
	// ClientGUID identifies the client to the server; zero means a random
	// one. Durable handles and leases belong to it, so the connections
	// that resume a session's opens must give the same one.
	ClientGUID [16]byte
}

func (c *Config) dialects() []uint16 {
	if len(c.Dialects) == 0 {
		return []uint16{wire.Dialect311, wire.Dialect302, wire.Dialect300}
	}
	return c.Dialects
}

func (c *Config) ciphers() []uint16 {
	if len(c.Ciphers) == 0 {
		return []uint16{smb3crypto.CipherAES128GCM, smb3crypto.CipherAES256GCM, smb3crypto.CipherAES128CCM, smb3crypto.CipherAES256CCM}
	}
	return c.Ciphers
}

func (c *Config) signing() []uint16 {
	if len(c.SigningAlgorithms) == 0 {
		return []uint16{smb3crypto.SigningAESGMAC, smb3crypto.SigningAESCMAC}
	}
	return c.SigningAlgorithms
}

func (c *Config) credits() int {
	if c.Credits <= 0 {
		return 2048
	}
	return c.Credits
}

// Conn is one TCP connection to an SMB server, after NEGOTIATE. It is
// safe for concurrent use: requests from many goroutines are pipelined
// within the credits the server grants.
type Conn struct {
	nc  net.Conn
	cfg Config

	// Negotiated, fixed after Negotiate.
	Dialect         uint16
	ServerGUID      [16]byte
	ServerCaps      uint32
	ServerSecMode   uint16
	MaxReadSize     uint32
	MaxWriteSize    uint32
	MaxTransactSize uint32
	Cipher          uint16 // 0: none in common
	SigningAlg      uint16
	clientGUID      [16]byte
	preauth         smb3crypto.PreauthHash
	serverName      string
	negReq          []byte // for VALIDATE_NEGOTIATE_INFO (3.0.x)
	validated       atomic.Bool

	credits creditWindow
	stats   counters

	wmu sync.Mutex // one writer on the socket

	// leaseBreak, if set, is called (in a goroutine of its own) for each
	// lease break notification.
	leaseBreak atomic.Pointer[func(*wire.OplockBreak)]

	mu       sync.Mutex
	pending  map[uint64]*call
	sessions map[uint64]*Session
	err      error // why the connection ended
	done     chan struct{}
}

// Stats counts the frames of a connection by protection, in both
// directions: tests prove with it what crossed the wire.
type Stats struct {
	// SealedOut and SealedIn are encrypted frames sent and received.
	SealedOut, SealedIn int64
	// SignedOut and SignedIn are signed messages sent and received.
	SignedOut, SignedIn int64
	// PlainOut and PlainIn are messages neither signed nor encrypted
	// (NEGOTIATE, the first SESSION_SETUP legs, interim responses).
	PlainOut, PlainIn int64
}

type counters struct {
	sealedOut, sealedIn, signedOut, signedIn, plainOut, plainIn atomic.Int64
}

// Stats returns the connection's frame counts so far.
func (c *Conn) Stats() Stats {
	s := &c.stats
	return Stats{s.sealedOut.Load(), s.sealedIn.Load(), s.signedOut.Load(), s.signedIn.Load(), s.plainOut.Load(), s.plainIn.Load()}
}

// call is one request awaiting its response.
type call struct {
	msgID    uint64
	charge   uint16
	cmd      wire.Command
	sess     *Session // nil before session setup
	sealed   bool     // the request was encrypted: the response must be
	verify   bool     // the response must carry a valid signature
	readDst  []byte   // READ: the receiver copies the data here
	ready    chan struct{}
	asyncID  atomic.Uint64
	finished atomic.Bool
	// interimSeen: an interim response came (receiver only).
	interimSeen bool

	// Set by the receiver before ready is closed.
	resp   []byte  // the response message
	buf    *[]byte // pooled backing of resp, or nil
	readN  int
	err    error
	signed bool // the response was signed and verified
	wasEnc bool // the response arrived encrypted
	status uint32
	hdr    wire.Header

	mu        sync.Mutex // guards readDst against an abandoning caller
	abandoned bool
}

// release returns the call's buffer to the pool.
func (c *call) release() {
	if c.buf != nil {
		putBuf(c.buf)
		c.buf, c.resp = nil, nil
	}
}

// Dial takes an established TCP connection and negotiates SMB 3.x on it
// with serverName (for the 3.1.1 netname context). ctx bounds the
// negotiation. On error nc is closed.
func Dial(ctx context.Context, nc net.Conn, serverName string, cfg *Config) (*Conn, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	c := &Conn{
		nc: nc, cfg: *cfg, serverName: serverName,
		pending:  map[uint64]*call{},
		sessions: map[uint64]*Session{},
		done:     make(chan struct{}),
	}
	c.credits.init(1)
	go c.receive()
	if err := c.negotiate(ctx); err != nil {
		c.fail(err)
		c.nc.Close()
		return nil, err
	}
	return c, nil
}

// Close ends the connection; pending requests fail.
func (c *Conn) Close() error {
	c.fail(net.ErrClosed)
	return nil
}

// Err is why the connection ended, or nil while it is up.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Done is closed when the connection ends.
func (c *Conn) Done() <-chan struct{} { return c.done }

// fail ends the connection with err (the first error wins), closes the
// socket and fails every pending call.
func (c *Conn) fail(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	pend := c.pending
	c.pending = map[uint64]*call{}
	close(c.done)
	c.mu.Unlock()
	c.nc.Close()
	c.credits.close()
	for _, cl := range pend {
		c.finish(cl, err)
	}
}

// finish completes a call with an error, once.
func (c *Conn) finish(cl *call, err error) {
	if cl.finished.CompareAndSwap(false, true) {
		cl.err = err
		close(cl.ready)
	}
}

// --- sending ---

// outMsg is one request of a (possibly compounded) send.
type outMsg struct {
	cmd     wire.Command
	charge  uint16 // credits; 0 means 1
	treeID  uint32
	related bool
	// body appends the request body to msg (which holds the header).
	body func(msg []byte) []byte
	// size is about how many bytes body appends (a WRITE's data), so that
	// the frame buffer is taken from the right pool at once.
	size    int
	readDst []byte
	// frame, when set, is a caller-owned buffer the request is built in
	// (WriteFrame): header and body go at prefix and body extends msg
	// over data already in place. send neither releases it nor encrypts
	// it in place, so it can be sent again. Only for a single message.
	frame *[]byte
}

// sendOpts say how a send is protected.
type sendOpts struct {
	sess *Session
	// seal encrypts the request (and demands an encrypted response).
	seal bool
	// sign signs the request and demands signed responses.
	sign bool
	// preauth, when set, receives a copy of the request message (3.1.1
	// session setup hashes every request).
	preauth func(msg []byte)
}

// prefix is room kept before a request for the 4-byte frame length and a
// TRANSFORM_HEADER, so sealing works in place.
const prefix = 4 + smb3crypto.TransformHeaderSize

// send builds, protects and writes msgs as one frame, and returns a call
// per message. The caller waits on each (wait) and releases them.
func (c *Conn) send(ctx context.Context, o sendOpts, msgs ...outMsg) ([]*call, error) {
	total := 0
	for i := range msgs {
		if msgs[i].charge == 0 {
			msgs[i].charge = 1
		}
		total += int(msgs[i].charge)
	}
	first, err := c.credits.acquire(ctx, total)
	if err != nil {
		return nil, err
	}
	ask := c.credits.request(total, c.cfg.credits())

	// Build: header, body, 8-byte padding between compounded messages.
	need := prefix
	for _, m := range msgs {
		need += wire.HeaderSize + m.size + 256
	}
	owned := len(msgs) == 1 && msgs[0].frame != nil // bp is the caller's
	var bp, sealBuf *[]byte
	if owned {
		bp = msgs[0].frame
	} else {
		bp = getBuf(need)
	}
	release := func() {
		if !owned {
			putBuf(bp)
		}
		putBuf(sealBuf)
	}
	b := (*bp)[:prefix]
	calls := make([]*call, len(msgs))
	starts := make([]int, len(msgs))
	id := first
	var sessID uint64
	if o.sess != nil {
		sessID = o.sess.id.Load()
	}
	for i, m := range msgs {
		if i > 0 {
			for (len(b)-prefix)%8 != 0 {
				b = append(b, 0)
			}
			binary.LittleEndian.PutUint32(b[starts[i-1]+20:], uint32(len(b)-starts[i-1]))
		}
		starts[i] = len(b)
		h := wire.Header{
			CreditCharge: m.charge, Command: m.cmd, MessageID: id,
			TreeID: m.treeID, SessionID: sessID,
		}
		if i == len(msgs)-1 {
			h.Credits = uint16(max(ask-(len(msgs)-1), 1))
		} else {
			h.Credits = 1
		}
		if m.related {
			h.Flags |= wire.FlagRelated
		}
		b = append(b, make([]byte, wire.HeaderSize)...)
		h.Encode(b[starts[i]:])
		msg := m.body(b[starts[i]:])
		if &msg[0] != &b[starts[i]] {
			// The body outgrew the buffer (a wrong size hint): move to a
			// larger one.
			nb := getBuf(starts[i] + len(msg) + need)
			copy(*nb, b[:starts[i]])
			copy((*nb)[starts[i]:], msg)
			release()
			bp, owned = nb, false
			b = (*nb)[:starts[i]+len(msg)]
		} else {
			b = b[:starts[i]+len(msg)]
		}
		calls[i] = &call{
			msgID: id, charge: m.charge, cmd: m.cmd, sess: o.sess, sealed: o.seal,
			verify: o.sign || o.seal, readDst: m.readDst, ready: make(chan struct{}),
		}
		id += uint64(m.charge)
	}
	payload := b[prefix:]
	if o.preauth != nil {
		o.preauth(payload)
	}
	locked := false // c.wmu is held
	unlock := func() {
		if locked {
			c.wmu.Unlock()
			locked = false
		}
	}
	var frame []byte
	switch {
	case o.seal:
		dst := b[:4]
		if owned {
			// Out of place, so that the caller's data stays plain for a
			// resend; under the write lock, so that one sealed copy at a
			// time exists however many writers wait.
			c.wmu.Lock()
			locked = true
			sealBuf = getBuf(prefix + len(payload) + 16)
			dst = (*sealBuf)[:4]
		}
		sealed, err := o.sess.sealer().Seal(dst, payload, sessID)
		if err != nil {
			unlock()
			release()
			c.credits.release(total)
			return nil, err
		}
		// Seal wrote the transform header and the ciphertext in place
		// after the length.
		frame = sealed
		c.stats.sealedOut.Add(1)
	case o.sign:
		signer := o.sess.signer()
		for i := range starts {
			end := len(b)
			if i+1 < len(starts) {
				end = starts[i+1]
			}
			m := b[starts[i]:end]
			binary.LittleEndian.PutUint32(m[16:], binary.LittleEndian.Uint32(m[16:])|wire.FlagSigned)
			signer.Sign(m)
		}
		frame = b[prefix-4:]
		c.stats.signedOut.Add(int64(len(starts)))
	default:
		frame = b[prefix-4:]
		c.stats.plainOut.Add(int64(len(starts)))
	}
	n := len(frame) - 4
	frame[0] = 0
	frame[1], frame[2], frame[3] = byte(n>>16), byte(n>>8), byte(n)

	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		unlock()
		release()
		return nil, err
	}
	for _, cl := range calls {
		c.pending[cl.msgID] = cl
	}
	c.mu.Unlock()

	if locked {
		err = c.writeLocked(ctx, frame)
		unlock()
	} else {
		err = c.write(ctx, frame)
	}
	release()
	if err != nil {
		// A frame half written is the end of the connection for every
		// caller; for this one, a write cut at its own deadline is the
		// deadline's doing.
		c.fail(fmt.Errorf("%w: %w", ErrConnectionLost, err))
		if _, own := ctx.Deadline(); own && errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, context.DeadlineExceeded
		}
		return nil, c.Err()
	}
	return calls, nil
}

// write writes one frame under the write lock with a deadline.
func (c *Conn) write(ctx context.Context, frame []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeLocked(ctx, frame)
}

// writeLocked is write with c.wmu held.
func (c *Conn) writeLocked(ctx context.Context, frame []byte) error {
	dl, ok := ctx.Deadline()
	if !ok {
		wt := c.cfg.WriteTimeout
		if wt <= 0 {
			wt = 60 * time.Second
		}
		dl = time.Now().Add(wt)
	}
	c.nc.SetWriteDeadline(dl)
	_, err := c.nc.Write(frame)
	return err
}

// wait waits for cl's response. If ctx ends first it sends CANCEL for
// the request, abandons it and returns ctx's error at once; the response,
// when it comes, is dropped.
func (c *Conn) wait(ctx context.Context, cl *call) error {
	select {
	case <-cl.ready:
		return cl.err
	case <-ctx.Done():
	}
	cl.mu.Lock()
	cl.abandoned = true
	cl.mu.Unlock()
	select {
	case <-cl.ready: // raced: it finished
		if cl.err == nil {
			cl.release()
		}
	default:
		c.cancel(cl)
	}
	return ctx.Err()
}

// cancel sends SMB2 CANCEL for cl (MS-SMB2 3.2.4.24): no credits, the
// request's MessageId (or its AsyncId), signed like the request.
func (c *Conn) cancel(cl *call) {
	h := wire.Header{Command: wire.CmdCancel, MessageID: cl.msgID}
	if a := cl.asyncID.Load(); a != 0 {
		h.Flags |= wire.FlagAsync
		h.AsyncID = a
	}
	if cl.sess != nil {
		h.SessionID = cl.sess.id.Load()
	}
	hb := make([]byte, wire.HeaderSize, wire.HeaderSize+8)
	h.Encode(hb)
	msg := wire.AppendCancelRequest(hb)
	b := append(make([]byte, prefix, prefix+len(msg)+16), msg...)
	var frame []byte
	switch {
	case cl.sealed && cl.sess != nil:
		f, err := cl.sess.sealer().Seal(b[:4], b[prefix:], h.SessionID)
		if err != nil {
			return
		}
		frame = f
	case cl.verify && cl.sess != nil:
		m := b[prefix:]
		binary.LittleEndian.PutUint32(m[16:], binary.LittleEndian.Uint32(m[16:])|wire.FlagSigned)
		cl.sess.signer().Sign(m)
		frame = b[prefix-4:]
	default:
		frame = b[prefix-4:]
	}
	n := len(frame) - 4
	frame[0], frame[1], frame[2], frame[3] = 0, byte(n>>16), byte(n>>8), byte(n)
	ctx, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	if err := c.write(ctx, frame); err != nil {
		c.fail(fmt.Errorf("%w: %w", ErrConnectionLost, err))
	}
}

// roundTrip sends msgs and waits for all their responses. On success the
// caller must release every call.
func (c *Conn) roundTrip(ctx context.Context, o sendOpts, msgs ...outMsg) ([]*call, error) {
	calls, err := c.send(ctx, o, msgs...)
	if err != nil {
		return nil, err
	}
	var first error
	for i, cl := range calls {
		if err := c.wait(ctx, cl); err != nil {
			if first == nil {
				first = err
			}
			// Abandon the rest too.
			for _, rest := range calls[i+1:] {
				rest.mu.Lock()
				rest.abandoned = true
				rest.mu.Unlock()
			}
			break
		}
	}
	if first != nil {
		for _, cl := range calls {
			select {
			case <-cl.ready:
				cl.release()
			default:
			}
		}
		return nil, first
	}
	return calls, nil
}

// --- receiving ---

// receive is the connection's one receiver: it reads frames, decrypts
// or verifies them, grants credits and hands each response to its call.
func (c *Conn) receive() {
	var lenBuf [4]byte
	for {
		if _, err := io.ReadFull(c.nc, lenBuf[:]); err != nil {
			c.fail(readError(err))
			return
		}
		n := int(lenBuf[1])<<16 | int(lenBuf[2])<<8 | int(lenBuf[3])
		if lenBuf[0] != 0 {
			c.fail(fmt.Errorf("%w: the server sent a frame that is not a Direct TCP SMB frame (first byte %#x)", ErrPolicy, lenBuf[0]))
			return
		}
		if n < 4 || n > maxFrame {
			c.fail(fmt.Errorf("%w: the server sent a frame of %d bytes", ErrPolicy, n))
			return
		}
		// 16 bytes of spare capacity let an encrypted frame be opened
		// in place (smb3crypto.Opener).
		bp := getBuf(n + 16)
		*bp = (*bp)[:n]
		if _, err := io.ReadFull(c.nc, *bp); err != nil {
			putBuf(bp)
			c.fail(readError(err))
			return
		}
		if err := c.dispatch(bp); err != nil {
			c.fail(err)
			return
		}
	}
}

// readError says how the connection ended.
func readError(err error) error {
	if errors.Is(err, net.ErrClosed) {
		return net.ErrClosed
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: the server closed the connection", ErrConnectionLost)
	}
	return fmt.Errorf("%w: %w", ErrConnectionLost, err)
}

// dispatch handles one frame. An error ends the connection.
func (c *Conn) dispatch(bp *[]byte) error {
	frame := *bp
	proto := binary.LittleEndian.Uint32(frame)
	var sealedBy *Session
	switch proto {
	case wire.ProtocolSMB2:
	case wire.ProtocolTransform:
		th, err := smb3crypto.ParseTransformHeader(frame)
		if err != nil {
			putBuf(bp)
			return fmt.Errorf("%w: %v", ErrPolicy, err)
		}
		c.mu.Lock()
		s := c.sessions[th.SessionID]
		c.mu.Unlock()
		if s == nil || s.opener() == nil {
			putBuf(bp)
			return policyError("an encrypted message for an unknown session %#x", th.SessionID)
		}
		plain, _, err := s.opener().Open(frame)
		if err != nil {
			putBuf(bp)
			return policyError("an encrypted message failed to decrypt: %v", err)
		}
		frame = plain
		sealedBy = s
		c.stats.sealedIn.Add(1)
	case wire.ProtocolCompression:
		putBuf(bp)
		return policyError("a compressed message, which was never negotiated")
	default:
		putBuf(bp)
		return policyError("a message that is not SMB2 (protocol id %08x)", proto)
	}
	msgs, err := wire.SplitCompound(frame)
	if err != nil {
		putBuf(bp)
		return fmt.Errorf("%w: %v", ErrPolicy, err)
	}
	owned := false // bp handed to a call
	for _, m := range msgs {
		give, err := c.deliver(m, sealedBy, len(msgs) == 1 && !owned, bp)
		if err != nil {
			if !owned && !give {
				putBuf(bp)
			}
			return err
		}
		owned = owned || give
	}
	if !owned {
		putBuf(bp)
	}
	return nil
}

// deliver handles one response message. mayGive allows handing bp to the
// call (a frame of one message); it reports whether it did.
func (c *Conn) deliver(m []byte, sealedBy *Session, mayGive bool, bp *[]byte) (bool, error) {
	h, err := wire.ParseHeader(m)
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrPolicy, err)
	}
	if h.Flags&wire.FlagResponse == 0 {
		return false, policyError("the server sent a request (%s)", h.Command)
	}
	if sealedBy != nil && h.SessionID != sealedBy.id.Load() {
		return false, policyError("an encrypted message of session %#x carries session %#x", sealedBy.id.Load(), h.SessionID)
	}
	if h.MessageID == wire.MessageIDUnsolicited {
		// An oplock or lease break notification. smbkrb requests no
		// oplocks; the leases that make handles durable are acknowledged
		// by the handler, away from the receiver.
		if h.Command != wire.CmdOplockBreak {
			return false, policyError("an unsolicited %s", h.Command)
		}
		b, err := wire.ParseOplockBreak(m)
		if err != nil {
			return false, fmt.Errorf("%w: %v", ErrPolicy, err)
		}
		if f := c.leaseBreak.Load(); f != nil && b.IsLease {
			go (*f)(b)
		}
		return false, nil
	}
	c.mu.Lock()
	cl := c.pending[h.MessageID]
	interim := h.Flags&wire.FlagAsync != 0 && h.Status == StatusPending
	if cl != nil && !interim {
		delete(c.pending, h.MessageID)
	}
	c.mu.Unlock()
	c.credits.grant(int(h.Credits))
	if cl == nil {
		return false, policyError("a %s response (status %#08x) to message %d, which is not outstanding", h.Command, h.Status, h.MessageID)
	}
	gave, err := c.complete(cl, m, h, interim, sealedBy, mayGive, bp)
	if err != nil && !interim {
		// cl has left pending, so fail (which ends the rest) cannot
		// reach it: its waiter learns the error here.
		c.finish(cl, err)
	}
	return gave, err
}

// complete checks the response m to cl against the session's policy and
// hands it to cl's waiter. An error ends the connection.
func (c *Conn) complete(cl *call, m []byte, h wire.Header, interim bool, sealedBy *Session, mayGive bool, bp *[]byte) (bool, error) {
	if h.Command != cl.cmd {
		return false, policyError("a %s response to a %s request", h.Command, cl.cmd)
	}
	if !cl.interimSeen {
		c.credits.release(int(cl.charge))
	}
	if interim {
		cl.interimSeen = true
		// MS-SMB2 3.2.5.1.5: the request goes on asynchronously; the
		// interim response is not signed.
		cl.asyncID.Store(h.AsyncID)
		c.stats.plainIn.Add(1)
		return false, nil
	}
	// The policy: a response to a protected request is protected alike.
	switch {
	case sealedBy != nil:
	case cl.sealed:
		return false, policyError("an unencrypted %s response on an encrypted session or share", h.Command)
	case cl.verify:
		if h.Flags&wire.FlagSigned == 0 {
			return false, policyError("an unsigned %s response (status %#08x) on a session that requires signing", h.Command, h.Status)
		}
		if h.SessionID != cl.sess.id.Load() {
			return false, policyError("a %s response for session %#x on session %#x", h.Command, h.SessionID, cl.sess.id.Load())
		}
		if !cl.sess.signer().Verify(m) {
			return false, policyError("a %s response with a bad signature", h.Command)
		}
		c.stats.signedIn.Add(1)
	default:
		c.stats.plainIn.Add(1)
	}
	cl.hdr = h
	cl.status = h.Status
	cl.wasEnc = sealedBy != nil
	cl.signed = cl.verify && sealedBy == nil
	gave := false
	cl.mu.Lock()
	switch {
	case cl.abandoned:
	case cl.readDst != nil && h.Status == StatusSuccess:
		data, _, err := wire.ParseReadResponse(m)
		if err != nil {
			cl.err = err
		} else if len(data) > len(cl.readDst) {
			cl.err = fmt.Errorf("%w: READ returned %d bytes for %d asked", wire.ErrMalformed, len(data), len(cl.readDst))
		} else {
			cl.readN = copy(cl.readDst, data)
		}
	case mayGive:
		cl.resp, cl.buf = m, bp
		gave = true
	default:
		cl.resp = append([]byte(nil), m...)
	}
	abandoned := cl.abandoned
	cl.mu.Unlock()
	if abandoned && gave {
		gave = false
	}
	if cl.finished.CompareAndSwap(false, true) {
		close(cl.ready)
	} else if gave {
		cl.buf, cl.resp = nil, nil
		gave = false
	}
	return gave, nil
}
