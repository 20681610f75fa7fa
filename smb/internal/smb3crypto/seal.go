package smb3crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"
)

// TransformHeaderSize is the size of the SMB2 TRANSFORM_HEADER
// (MS-SMB2 2.2.41).
const TransformHeaderSize = 52

// Offsets in the transform header.
const (
	tfSignature = 4
	tfNonce     = 20
	tfSize      = 36
	tfFlags     = 42
	tfSessionID = 44
	tfEncrypted = 0x0001
)

var protocolTransform = [4]byte{0xFD, 'S', 'M', 'B'}

// TransformHeader is a parsed SMB2 TRANSFORM_HEADER.
type TransformHeader struct {
	Signature           [16]byte
	Nonce               [16]byte
	OriginalMessageSize uint32
	Flags               uint16
	SessionID           uint64
}

// ParseTransformHeader parses the transform header at the front of frame
// (a transport frame without its 4-byte length) and checks it against
// the frame: the protocol id, the encrypted flag, and an original size
// that is the rest of the frame and at least one SMB2 header.
func ParseTransformHeader(frame []byte) (TransformHeader, error) {
	var h TransformHeader
	if len(frame) < TransformHeaderSize {
		return h, fmt.Errorf("smb3crypto: transform header truncated: %d bytes", len(frame))
	}
	if [4]byte(frame[:4]) != protocolTransform {
		return h, fmt.Errorf("smb3crypto: not a transform header (protocol id % x)", frame[:4])
	}
	copy(h.Signature[:], frame[tfSignature:])
	copy(h.Nonce[:], frame[tfNonce:])
	h.OriginalMessageSize = binary.LittleEndian.Uint32(frame[tfSize:])
	h.Flags = binary.LittleEndian.Uint16(frame[tfFlags:])
	h.SessionID = binary.LittleEndian.Uint64(frame[tfSessionID:])
	if h.Flags != tfEncrypted {
		return h, fmt.Errorf("smb3crypto: transform header flags %#x, want %#x (encrypted)", h.Flags, tfEncrypted)
	}
	if rest := len(frame) - TransformHeaderSize; uint64(h.OriginalMessageSize) != uint64(rest) {
		return h, fmt.Errorf("smb3crypto: transform header says %d bytes follow, %d do", h.OriginalMessageSize, rest)
	}
	if h.OriginalMessageSize < hdrSize {
		return h, fmt.Errorf("smb3crypto: encrypted message of %d bytes is shorter than an SMB2 header", h.OriginalMessageSize)
	}
	return h, nil
}

// NonceOf returns the nonce field of the transform header at the front of
// frame, and false if frame is too short to hold one.
func NonceOf(frame []byte) ([16]byte, bool) {
	var n [16]byte
	if len(frame) < TransformHeaderSize {
		return n, false
	}
	copy(n[:], frame[tfNonce:])
	return n, true
}

// newAEAD returns the AEAD of a cipher id and its nonce size.
func newAEAD(id uint16, key []byte) (cipher.AEAD, error) {
	if bits := keyBits(id); bits == 0 {
		return nil, fmt.Errorf("smb3crypto: unknown %s", CipherName(id))
	} else if len(key)*8 != bits {
		return nil, fmt.Errorf("smb3crypto: %s key of %d bytes, want %d", CipherName(id), len(key), bits/8)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	if isGCM(id) {
		return cipher.NewGCM(b)
	}
	return newCCM(b, 11, 16)
}

// A Sealer encrypts messages to the server. Seal may be called from
// several goroutines at once.
type Sealer interface {
	// Seal encrypts msg (one SMB2 message or a whole compound) for the
	// session sessionID. It writes the transform header into the 52
	// bytes after dst (within dst's capacity), encrypts msg in place and
	// returns dst extended over the header and the ciphertext. When msg
	// is not the memory right after that header, msg is left as it is and
	// the ciphertext is written after the header, within dst's capacity if
	// it has 16 bytes to spare past the end, else in a new buffer. In
	// place, msg needs 16 bytes of spare capacity for the tag to be
	// computed without a copy.
	Seal(dst, msg []byte, sessionID uint64) ([]byte, error)
	// Zero overwrites the key; the sealer must not be used afterwards.
	Zero()
}

// An Opener decrypts messages from the server.
type Opener interface {
	// Open checks and decrypts the frame (a transform header and its
	// ciphertext, without the 4-byte transport length) in place, and
	// returns the plaintext (a slice of frame) and the header's session
	// id. On failure the frame's contents are undefined.
	Open(frame []byte) (plain []byte, sessionID uint64, err error)
	// Zero overwrites the key; the opener must not be used afterwards.
	Zero()
}

type sealer struct {
	key    []byte
	aead   cipher.AEAD
	prefix [4]byte // random, so two sealers are unlikely to share a nonce stream
	ctr    atomic.Uint64
}

// NewSealer returns the sealer of cipher id with the session's
// encryption (client to server) key.
//
// A nonce is a 64-bit counter that starts at a random value, followed
// by a random per-sealer suffix (4 bytes for GCM, 3 for CCM); within one
// sealer nonces never repeat (the counter would need 2^64 messages to
// wrap).
func NewSealer(id uint16, key []byte) (Sealer, error) {
	k := append([]byte(nil), key...)
	a, err := newAEAD(id, k)
	if err != nil {
		clear(k)
		return nil, err
	}
	s := &sealer{key: k, aead: a}
	var seed [12]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, err
	}
	copy(s.prefix[:], seed[:4])
	s.ctr.Store(binary.LittleEndian.Uint64(seed[4:]))
	return s, nil
}

func (s *sealer) Seal(dst, msg []byte, sessionID uint64) ([]byte, error) {
	if len(msg) < hdrSize {
		return nil, errors.New("smb3crypto: nothing to encrypt")
	}
	if uint64(len(msg)) > 0xffffffff {
		return nil, errors.New("smb3crypto: message too large to encrypt")
	}
	need := len(dst) + TransformHeaderSize + len(msg)
	var out []byte
	if cap(dst) >= need {
		out = dst[:need]
		inPlace := unsafe.SliceData(out[len(dst)+TransformHeaderSize:]) == unsafe.SliceData(msg)
		if !inPlace && cap(dst) < need+16 {
			out = nil
		}
	}
	if out == nil {
		// No room: build the result in a new buffer, with room for the
		// tag after it.
		out = make([]byte, need, need+16)
		copy(out, dst)
	}
	h := out[len(dst) : len(dst)+TransformHeaderSize]
	copy(h, protocolTransform[:])
	clear(h[tfSignature:tfSize])
	n := s.aead.NonceSize()
	binary.LittleEndian.PutUint64(h[tfNonce:], s.ctr.Add(1))
	copy(h[tfNonce+8:tfNonce+n], s.prefix[:n-8])
	binary.LittleEndian.PutUint32(h[tfSize:], uint32(len(msg)))
	binary.LittleEndian.PutUint16(h[40:], 0)
	binary.LittleEndian.PutUint16(h[tfFlags:], tfEncrypted)
	binary.LittleEndian.PutUint64(h[tfSessionID:], sessionID)

	body := out[len(dst)+TransformHeaderSize:]
	// In place, or from msg into body, which does not overlap it.
	ct := s.aead.Seal(body[:0], h[tfNonce:tfNonce+n], msg, h[tfNonce:])
	if unsafe.SliceData(ct) != unsafe.SliceData(body) {
		// Seal had no room for the tag and allocated.
		copy(body, ct[:len(msg)])
	}
	copy(h[tfSignature:tfNonce], ct[len(msg):])
	return out, nil
}

func (s *sealer) Zero() { clear(s.key) }

type opener struct {
	key  []byte
	aead cipher.AEAD
}

// NewOpener returns the opener of cipher id with the session's
// decryption (server to client) key.
func NewOpener(id uint16, key []byte) (Opener, error) {
	k := append([]byte(nil), key...)
	a, err := newAEAD(id, k)
	if err != nil {
		clear(k)
		return nil, err
	}
	return &opener{key: k, aead: a}, nil
}

func (o *opener) Open(frame []byte) ([]byte, uint64, error) {
	h, err := ParseTransformHeader(frame)
	if err != nil {
		return nil, 0, err
	}
	n := o.aead.NonceSize()
	for _, b := range h.Nonce[n:] {
		if b != 0 {
			return nil, 0, errors.New("smb3crypto: transform nonce has non-zero padding")
		}
	}
	// The AEADs want ciphertext||tag in one slice, but SMB carries the
	// tag in the header. The tag is appended after the body when the
	// frame has 16 bytes of spare capacity (the engine's receive
	// buffers do); otherwise the body is copied once.
	body := frame[TransformHeaderSize:]
	var ct []byte
	if cap(body)-len(body) >= 16 {
		ct = body[:len(body)+16]
		copy(ct[len(body):], h.Signature[:])
	} else {
		ct = make([]byte, len(body)+16)
		copy(ct, body)
		copy(ct[len(body):], h.Signature[:])
	}
	plain, err := o.aead.Open(ct[:0], h.Nonce[:n], ct, frame[tfNonce:TransformHeaderSize])
	if err != nil {
		return nil, 0, fmt.Errorf("smb3crypto: the encrypted message does not authenticate (wrong key, or altered on the way)")
	}
	if unsafe.SliceData(plain) != unsafe.SliceData(body) {
		copy(body, plain)
	}
	return body, h.SessionID, nil
}

func (o *opener) Zero() { clear(o.key) }
