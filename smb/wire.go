package smb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
)

// wireConn sits between the SMB engine and the TCP connection. It reads
// the SMB2 headers that cross it, in both directions, to learn what the
// engine does not tell (dialect, cipher, session and share flags, the
// final status of SESSION_SETUP) and to check the security policy
// independently of the engine: once the session is established, every
// message must be signed or encrypted, and every message on a share that
// requires encryption must be encrypted. A violation closes the
// connection, so no data moves on a weaker channel.
//
// It also writes each frame's 4-byte length together with the frame (the
// engine writes them separately, which with TCP_NODELAY costs a segment).
//
// Reads come from the engine's one receiver goroutine and writes from its
// one sender goroutine; the two directions share only the mutex-guarded
// state.
type wireConn struct {
	net.Conn

	in, out frameScanner
	pending []byte // a frame length held back to be written with its frame

	mu    sync.Mutex
	st    wireState
	fault error
}

// wireState is what the headers told so far.
type wireState struct {
	dialect      uint16
	cipher       uint16
	sessionID    uint64
	sessionFlags uint16
	setupStatus  uint32 // status of the last SESSION_SETUP response
	armed        bool   // session established: enforce signing
	encTrees     map[uint32]bool
	lastTree     uint32 // tree id of the last TREE_CONNECT response seen in clear
	lastTreeFlag uint32 // its share flags
	plainFrames  int    // signed, unencrypted frames after arming (both directions)
	sealedFrames int    // encrypted frames (both directions)
}

// SMB2 wire constants (MS-SMB2 2.2).
const (
	protoSMB2      = 0x424d53fe // 0xFE 'S' 'M' 'B', little-endian
	protoTransform = 0x424d53fd
	protoCompress  = 0x424d53fc

	cmdNegotiate    = 0x0000
	cmdSessionSetup = 0x0001
	cmdTreeConnect  = 0x0003
	cmdOplockBreak  = 0x0012

	flagResponse = 0x00000001
	flagAsync    = 0x00000002
	flagSigned   = 0x00000008

	sessionFlagGuest   = 0x0001
	sessionFlagNull    = 0x0002
	sessionFlagEncrypt = 0x0004

	shareFlagEncrypt = 0x00008000

	statusPending = 0x00000103

	ctxEncryption = 0x0002
)

// errPolicyViolation is the fault recorded when a message breaks the policy.
var errPolicyViolation = errors.New("security policy violated on the wire")

// frameScanner follows the NetBIOS-framed stream in one direction and
// keeps the first bytes of each frame.
type frameScanner struct {
	lenBuf [4]byte
	lenN   int    // bytes of the length read so far
	left   int    // bytes of the current frame still to come
	head   []byte // the frame's first bytes, up to headKeep
	size   int    // the current frame's length
}

// headKeep bytes of each frame are kept: enough for the SMB2 header and
// the bodies read here (NEGOTIATE with its contexts, SESSION_SETUP and
// TREE_CONNECT responses).
const headKeep = 2048

// scan feeds b through the scanner and calls done for every frame whose
// head is complete (the whole frame, or headKeep bytes of it).
func (s *frameScanner) scan(b []byte, done func(head []byte, size int)) {
	for len(b) > 0 {
		if s.left == 0 {
			n := copy(s.lenBuf[s.lenN:], b)
			s.lenN += n
			b = b[n:]
			if s.lenN < 4 {
				return
			}
			s.lenN = 0
			s.size = int(binary.BigEndian.Uint32(s.lenBuf[:]) & 0xffffff)
			s.left = s.size
			s.head = s.head[:0]
			if s.left == 0 {
				continue
			}
		}
		n := min(len(b), s.left)
		if keep := min(headKeep, s.size) - len(s.head); keep > 0 {
			s.head = append(s.head, b[:min(n, keep)]...)
			if len(s.head) == min(headKeep, s.size) {
				done(s.head, s.size)
			}
		}
		s.left -= n
		b = b[n:]
	}
}

func (w *wireConn) Read(b []byte) (int, error) {
	n, err := w.Conn.Read(b)
	if n > 0 {
		w.in.scan(b[:n], func(h []byte, size int) { w.inspect(h, true) })
		if f := w.failure(); f != nil {
			w.Conn.Close()
			return 0, f
		}
	}
	return n, err
}

func (w *wireConn) Write(b []byte) (int, error) {
	if f := w.failure(); f != nil {
		return 0, f
	}
	// The engine writes a frame's length, then the frame: hold the
	// length back and send both in one writev.
	if len(b) == 4 && w.out.left == 0 && w.pending == nil && b[0] == 0 {
		w.pending = append(w.pending[:0:0], b...)
		return 4, nil
	}
	w.out.scan(w.pending, func([]byte, int) {})
	w.out.scan(b, func(h []byte, size int) { w.inspect(h, false) })
	if f := w.failure(); f != nil {
		w.Conn.Close()
		return 0, f
	}
	if w.pending != nil {
		bufs := net.Buffers{w.pending, b}
		w.pending = nil
		n, err := bufs.WriteTo(w.Conn)
		return max(int(n)-4, 0), err
	}
	return w.Conn.Write(b)
}

func (w *wireConn) failure() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.fault
}

func (w *wireConn) violate(format string, args ...any) {
	if w.fault == nil {
		w.fault = fmt.Errorf("%w: %s", errPolicyViolation, fmt.Sprintf(format, args...))
	}
}

// inspect reads one frame head. inbound is true for server→client.
func (w *wireConn) inspect(h []byte, inbound bool) {
	if len(h) < 4 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	switch binary.LittleEndian.Uint32(h) {
	case protoTransform:
		if w.st.armed {
			w.st.sealedFrames++
		}
		return
	case protoCompress:
		w.violate("a compressed message arrived, which was never negotiated")
		return
	case protoSMB2:
	default:
		w.violate("a frame that is not SMB2 (protocol id %x)", h[:4])
		return
	}
	for off := 0; off+64 <= len(h); {
		next := w.header(h[off:], inbound)
		if next == 0 {
			break
		}
		off += next
	}
}

// header inspects one (possibly compounded) SMB2 header and returns the
// offset of the next one, or 0.
func (w *wireConn) header(h []byte, inbound bool) int {
	le := binary.LittleEndian
	status := le.Uint32(h[8:])
	cmd := le.Uint16(h[12:])
	flags := le.Uint32(h[16:])
	next := int(le.Uint32(h[20:]))
	msgID := le.Uint64(h[24:])
	treeID := le.Uint32(h[36:])
	sessID := le.Uint64(h[40:])
	body := h[64:]

	// The policy is checked before the header updates the state: a
	// TREE_CONNECT response that marks its share for encryption is itself
	// only signed.
	if w.st.armed {
		exempt := inbound && (msgID == ^uint64(0) || cmd == cmdOplockBreak ||
			(flags&flagAsync != 0 && status == statusPending))
		switch {
		case exempt:
		case flags&flagSigned == 0 && (!inbound || sessID == w.st.sessionID) && sessID != 0:
			w.violate("an unsigned %s on a session that requires signing", direction(inbound))
		case w.st.encTrees[treeID] || w.st.sessionFlags&sessionFlagEncrypt != 0:
			w.violate("an unencrypted %s on a share that requires encryption", direction(inbound))
		default:
			w.st.plainFrames++
		}
	}
	if inbound && flags&flagResponse != 0 {
		switch cmd {
		case cmdNegotiate:
			w.negotiateResponse(body)
		case cmdSessionSetup:
			w.st.setupStatus = status
			if status == 0 && len(body) >= 4 {
				w.st.sessionID = sessID
				w.st.sessionFlags = le.Uint16(body[2:])
			}
		case cmdTreeConnect:
			if status == 0 && len(body) >= 8 {
				w.st.lastTree = treeID
				w.st.lastTreeFlag = le.Uint32(body[4:])
				if w.st.lastTreeFlag&shareFlagEncrypt != 0 {
					if w.st.encTrees == nil {
						w.st.encTrees = map[uint32]bool{}
					}
					w.st.encTrees[treeID] = true
				}
			}
		}
	}
	if next < 64 || next > len(h) {
		return 0
	}
	return next
}

func direction(inbound bool) string {
	if inbound {
		return "message from the server"
	}
	return "message to the server"
}

// negotiateResponse reads the dialect and, for SMB 3.1.1, the cipher from
// the negotiate contexts (MS-SMB2 2.2.4).
func (w *wireConn) negotiateResponse(b []byte) {
	le := binary.LittleEndian
	if len(b) < 64 {
		return
	}
	w.st.dialect = le.Uint16(b[4:])
	if w.st.dialect != 0x0311 {
		if w.st.dialect >= 0x0300 && le.Uint32(b[24:])&0x40 != 0 { // CAP_ENCRYPTION
			w.st.cipher = 0x0001 // AES-128-CCM, the only 3.0 cipher
		}
		return
	}
	count := int(le.Uint16(b[6:]))
	off := int(le.Uint32(b[60:])) - 64 // offsets count from the header
	for i := 0; i < count && off >= 0 && off+8 <= len(b); i++ {
		typ := le.Uint16(b[off:])
		n := int(le.Uint16(b[off+2:]))
		data := b[off+8:]
		if n > len(data) {
			return
		}
		if typ == ctxEncryption && n >= 4 && le.Uint16(data) == 1 {
			w.st.cipher = le.Uint16(data[2:])
		}
		off += 8 + n
		off = (off + 7) &^ 7
	}
}

// arm starts enforcing the signing policy: the session is established.
func (w *wireConn) arm() {
	w.mu.Lock()
	w.st.armed = true
	w.mu.Unlock()
}

func (w *wireConn) state() wireState {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.st
	st.encTrees = nil
	return st
}

// treeEncrypted reports whether the share last connected requires
// encryption, either by its own flag or by the session's.
func (w *wireConn) treeEncrypted(treeID uint32) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.st.encTrees[treeID] || w.st.sessionFlags&sessionFlagEncrypt != 0
}

func dialectName(d uint16) string {
	switch d {
	case 0x0202:
		return "2.0.2"
	case 0x0210:
		return "2.1"
	case 0x0300:
		return "3.0"
	case 0x0302:
		return "3.0.2"
	case 0x0311:
		return "3.1.1"
	case 0:
		return ""
	}
	return fmt.Sprintf("0x%04x", d)
}

func cipherName(c uint16) string {
	switch c {
	case 0:
		return ""
	case 1:
		return "AES-128-CCM"
	case 2:
		return "AES-128-GCM"
	case 3:
		return "AES-256-CCM"
	case 4:
		return "AES-256-GCM"
	}
	return fmt.Sprintf("cipher 0x%04x", c)
}

// signingName is the signing algorithm of a dialect when no signing
// capabilities are negotiated (the engine sends none).
func signingName(d uint16) string {
	switch {
	case d == 0:
		return ""
	case d >= 0x0300:
		return "AES-128-CMAC"
	}
	return "HMAC-SHA256"
}
