package smb3crypto

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"sync"
)

// ccm is AES in CCM mode (RFC 3610, NIST SP 800-38C) with a 16-byte tag,
// as SMB 3 uses it with an 11-byte nonce. The standard library has no
// CCM and no well-kept module offers one here, so it is built on
// crypto/cipher's CBC (for the CBC-MAC) and CTR, which run in assembly.
type ccm struct {
	block    cipher.Block
	nonceLen int
	tagLen   int // 16 for SMB; other sizes for the RFC 3610 vectors
	scratch  sync.Pool
}

// newCCM returns CCM over b with nonces of nonceLen bytes (7 to 13) and
// tags of tagLen bytes (an even number from 4 to 16).
func newCCM(b cipher.Block, nonceLen, tagLen int) (*ccm, error) {
	if b.BlockSize() != 16 || nonceLen < 7 || nonceLen > 13 || tagLen < 4 || tagLen > 16 || tagLen%2 != 0 {
		return nil, errors.New("smb3crypto: bad CCM parameters")
	}
	c := &ccm{block: b, nonceLen: nonceLen, tagLen: tagLen}
	c.scratch.New = func() any { p := make([]byte, cmacChunk); return &p }
	return c, nil
}

func (c *ccm) NonceSize() int { return c.nonceLen }
func (c *ccm) Overhead() int  { return c.tagLen }

// lenBytes is RFC 3610's L: the size of the length field.
func (c *ccm) lenBytes() int { return 15 - c.nonceLen }

// maxLen is the largest message the length field can hold.
func (c *ccm) maxLen() uint64 {
	l := c.lenBytes()
	if l >= 8 {
		return 1<<63 - 1
	}
	return 1<<(8*uint(l)) - 1
}

// cbcmac computes the unencrypted tag T over the nonce, the additional
// data and the plaintext.
func (c *ccm) cbcmac(nonce, plain, aad []byte) [16]byte {
	L := c.lenBytes()
	var b0 [16]byte
	b0[0] = byte((c.tagLen-2)/2)<<3 | byte(L-1)
	if len(aad) > 0 {
		b0[0] |= 0x40
	}
	copy(b0[1:], nonce)
	n := uint64(len(plain))
	for i := 15; i > 15-L; i-- {
		b0[i] = byte(n)
		n >>= 8
	}
	var x [16]byte
	c.block.Encrypt(x[:], b0[:])

	// The additional data, prefixed with its length, in whole blocks.
	if len(aad) > 0 {
		var hdr []byte
		switch {
		case len(aad) < 0xff00:
			hdr = binary.BigEndian.AppendUint16(nil, uint16(len(aad)))
		case uint64(len(aad)) <= 0xffffffff:
			hdr = binary.BigEndian.AppendUint32([]byte{0xff, 0xfe}, uint32(len(aad)))
		default:
			hdr = binary.BigEndian.AppendUint64([]byte{0xff, 0xff}, uint64(len(aad)))
		}
		a := append(hdr, aad...)
		c.absorb(&x, a)
	}
	c.absorb(&x, plain)
	return x
}

// absorb runs the CBC-MAC state x over data padded with zeros to a
// whole number of blocks.
func (c *ccm) absorb(x *[16]byte, data []byte) {
	full := len(data) / 16 * 16
	if full > 0 {
		bp := c.scratch.Get().(*[]byte)
		buf := *bp
		cbc := cipher.NewCBCEncrypter(c.block, x[:])
		for off := 0; off < full; {
			n := min(full-off, len(buf))
			cbc.CryptBlocks(buf[:n], data[off:off+n])
			off += n
			if off == full {
				copy(x[:], buf[n-16:n])
			}
		}
		c.scratch.Put(bp)
	}
	if rest := data[full:]; len(rest) > 0 {
		var last [16]byte
		copy(last[:], rest)
		subtle.XORBytes(last[:], last[:], x[:])
		c.block.Encrypt(x[:], last[:])
	}
}

// ctr returns the counter block A_i.
func (c *ccm) ctr(nonce []byte, i uint64) [16]byte {
	var a [16]byte
	a[0] = byte(c.lenBytes() - 1)
	copy(a[1:], nonce)
	for j := 15; j > c.nonceLen; j-- {
		a[j] = byte(i)
		i >>= 8
	}
	return a
}

// grow returns dst extended by n bytes and the new tail.
func grow(dst []byte, n int) (whole, tail []byte) {
	if total := len(dst) + n; cap(dst) >= total {
		whole = dst[:total]
	} else {
		whole = make([]byte, total)
		copy(whole, dst)
	}
	return whole, whole[len(dst):]
}

// Seal encrypts and authenticates plaintext (cipher.AEAD). dst may be
// plaintext[:0] to encrypt in place.
func (c *ccm) Seal(dst, nonce, plaintext, aad []byte) []byte {
	if len(nonce) != c.nonceLen {
		panic("smb3crypto: CCM nonce of the wrong size")
	}
	if uint64(len(plaintext)) > c.maxLen() {
		panic("smb3crypto: CCM message too long")
	}
	t := c.cbcmac(nonce, plaintext, aad)
	whole, out := grow(dst, len(plaintext)+c.tagLen)
	a1 := c.ctr(nonce, 1)
	cipher.NewCTR(c.block, a1[:]).XORKeyStream(out[:len(plaintext)], plaintext)
	a0 := c.ctr(nonce, 0)
	var s0 [16]byte
	c.block.Encrypt(s0[:], a0[:])
	subtle.XORBytes(out[len(plaintext):], t[:c.tagLen], s0[:c.tagLen])
	return whole
}

var errOpen = errors.New("smb3crypto: message authentication failed")

// Open decrypts and checks ciphertext (cipher.AEAD). dst may be
// ciphertext[:0] to decrypt in place; on failure the output is zeroed.
func (c *ccm) Open(dst, nonce, ciphertext, aad []byte) ([]byte, error) {
	if len(nonce) != c.nonceLen || len(ciphertext) < c.tagLen {
		return nil, errOpen
	}
	body, tag := ciphertext[:len(ciphertext)-c.tagLen], ciphertext[len(ciphertext)-c.tagLen:]
	if uint64(len(body)) > c.maxLen() {
		return nil, errOpen
	}
	var want [16]byte
	copy(want[:], tag)
	whole, out := grow(dst, len(body))
	a1 := c.ctr(nonce, 1)
	cipher.NewCTR(c.block, a1[:]).XORKeyStream(out, body)
	t := c.cbcmac(nonce, out, aad)
	a0 := c.ctr(nonce, 0)
	var s0 [16]byte
	c.block.Encrypt(s0[:], a0[:])
	subtle.XORBytes(t[:], t[:], s0[:])
	if subtle.ConstantTimeCompare(t[:c.tagLen], want[:c.tagLen]) != 1 {
		clear(out)
		return nil, errOpen
	}
	return whole, nil
}
