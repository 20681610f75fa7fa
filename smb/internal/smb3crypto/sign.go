package smb3crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"sync"
)

// Offsets in the 64-byte SMB2 header (MS-SMB2 2.2.1).
const (
	hdrSize      = 64
	offCommand   = 12
	offFlags     = 16
	offMessageID = 24
	offSignature = 48
	cmdCancel    = 0x000C
	flagResponse = 0x00000001
)

// A Signer signs and verifies whole SMB2 messages (a header and its
// body; one message of a compound at a time). Sign and Verify may be
// called from several goroutines at once.
type Signer interface {
	// Sign writes the message's signature into its header. The header's
	// SMB2_FLAGS_SIGNED flag must already be set: it is covered by the
	// signature. A message shorter than a header is left alone.
	Sign(msg []byte)
	// Verify reports whether the signature in the message's header is
	// the message's signature. It changes the message only while it
	// computes, and gives it back as it was.
	Verify(msg []byte) bool
	// Zero overwrites the key; the signer must not be used afterwards.
	Zero()
}

// NewSigner returns the signer of algorithm alg (SigningAESCMAC or
// SigningAESGMAC) with a 16-byte key.
func NewSigner(alg uint16, key []byte) (Signer, error) {
	if len(key) != 16 {
		return nil, fmt.Errorf("smb3crypto: %s signing key of %d bytes, want 16", SigningName(alg), len(key))
	}
	k := append([]byte(nil), key...)
	b, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	switch alg {
	case SigningAESCMAC:
		return newCMAC(b, k), nil
	case SigningAESGMAC:
		g, err := cipher.NewGCM(b)
		if err != nil {
			return nil, err
		}
		return &gmacSigner{key: k, gcm: g}, nil
	}
	clear(k)
	return nil, fmt.Errorf("smb3crypto: %s is not a signing algorithm of SMB 3", SigningName(alg))
}

// verify is the shared body of Verify: it zeroes the signature field,
// lets mac compute the expected signature, restores the field and
// compares in constant time.
func verify(msg []byte, mac func(msg []byte, out *[16]byte)) bool {
	if len(msg) < hdrSize {
		return false
	}
	var got, want [16]byte
	sig := msg[offSignature : offSignature+16]
	copy(got[:], sig)
	clear(sig)
	mac(msg, &want)
	copy(sig, got[:])
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// cmacSigner is AES-128-CMAC (RFC 4493), the signing of SMB 3.0 and
// 3.0.2 and of 3.1.1 without a signing capabilities context.
type cmacSigner struct {
	key    []byte
	block  cipher.Block
	k1, k2 [16]byte
	// scratch holds CBC output blocks; the CBC encrypter of crypto/aes
	// runs the whole chain in assembly, far faster than block by block.
	scratch sync.Pool
}

const cmacChunk = 16 << 10

func newCMAC(b cipher.Block, key []byte) *cmacSigner {
	s := &cmacSigner{key: key, block: b}
	var l [16]byte
	b.Encrypt(l[:], l[:])
	dbl(&s.k1, &l)
	dbl(&s.k2, &s.k1)
	clear(l[:])
	s.scratch.New = func() any { p := make([]byte, cmacChunk); return &p }
	return s
}

// dbl is the doubling in GF(2^128) of RFC 4493's subkey generation.
func dbl(dst, src *[16]byte) {
	carry := src[0] >> 7
	for i := 0; i < 15; i++ {
		dst[i] = src[i]<<1 | src[i+1]>>7
	}
	dst[15] = src[15]<<1 ^ (0x87 * carry)
}

// mac computes the CMAC of msg into out.
func (s *cmacSigner) mac(msg []byte, out *[16]byte) {
	var iv, last [16]byte
	// All complete blocks but the last go through CBC with a zero IV.
	n := len(msg)
	full := 0
	if n > 0 {
		full = (n - 1) / 16 * 16
	}
	if full > 0 {
		bp := s.scratch.Get().(*[]byte)
		buf := *bp
		cbc := cipher.NewCBCEncrypter(s.block, iv[:])
		for off := 0; off < full; {
			c := min(full-off, len(buf))
			cbc.CryptBlocks(buf[:c], msg[off:off+c])
			off += c
			if off == full {
				copy(iv[:], buf[c-16:c])
			}
		}
		s.scratch.Put(bp)
	}
	rest := msg[full:]
	if len(rest) == 16 {
		subtle.XORBytes(last[:], rest, s.k1[:])
	} else {
		copy(last[:], rest)
		last[len(rest)] = 0x80
		subtle.XORBytes(last[:], last[:], s.k2[:])
	}
	subtle.XORBytes(last[:], last[:], iv[:])
	s.block.Encrypt(out[:], last[:])
}

func (s *cmacSigner) Sign(msg []byte) {
	if len(msg) < hdrSize {
		return
	}
	clear(msg[offSignature : offSignature+16])
	var out [16]byte
	s.mac(msg, &out)
	copy(msg[offSignature:], out[:])
}

func (s *cmacSigner) Verify(msg []byte) bool { return verify(msg, s.mac) }

func (s *cmacSigner) Zero() {
	clear(s.key)
	clear(s.k1[:])
	clear(s.k2[:])
}

// gmacSigner is AES-128-GMAC (MS-SMB2 3.1.4.1): GCM over an empty
// plaintext with the message as additional data; the nonce is the
// message id followed by the sender's role and a CANCEL flag.
type gmacSigner struct {
	key []byte
	gcm cipher.AEAD
}

// gmacNonce builds the 12-byte nonce of a message.
func gmacNonce(msg []byte) [12]byte {
	var n [12]byte
	copy(n[:8], msg[offMessageID:offMessageID+8])
	var f uint32
	if binary.LittleEndian.Uint32(msg[offFlags:])&flagResponse != 0 {
		f |= 1
	}
	if binary.LittleEndian.Uint16(msg[offCommand:]) == cmdCancel {
		f |= 2
	}
	binary.LittleEndian.PutUint32(n[8:], f)
	return n
}

func (s *gmacSigner) mac(msg []byte, out *[16]byte) {
	n := gmacNonce(msg)
	var tag [16]byte
	s.gcm.Seal(tag[:0], n[:], nil, msg)
	*out = tag
}

func (s *gmacSigner) Sign(msg []byte) {
	if len(msg) < hdrSize {
		return
	}
	clear(msg[offSignature : offSignature+16])
	var out [16]byte
	s.mac(msg, &out)
	copy(msg[offSignature:], out[:])
}

func (s *gmacSigner) Verify(msg []byte) bool { return verify(msg, s.mac) }

func (s *gmacSigner) Zero() { clear(s.key) }
