package msjose

import (
	"crypto/rsa"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
)

// The BCRYPT_RSAKEY_BLOB header: six little-endian uint32s, Magic,
// BitLength, cbPublicExp, cbModulus, cbPrime1, cbPrime2, followed by the
// public exponent and the modulus, each big-endian. For a public key
// (BCRYPT_RSAPUBLIC_MAGIC) the primes are absent.
const (
	rsaPublicMagic = 0x31415352 // "RSA1" as little-endian bytes
	rsaBlobHeader  = 24

	// minRSABits refuses keys too weak for a transport key; Entra asks
	// for RSA-2048.
	minRSABits = 2048
	// maxRSABits bounds the work a hostile blob can cause.
	maxRSABits = 16384
	// maxRSAExp keeps E within what crypto/rsa accepts on every target,
	// 32-bit ARM included.
	maxRSAExp = 1<<31 - 1
)

// MarshalRSAPublicBlob encodes pub as a BCRYPT_RSAKEY_BLOB with the magic
// BCRYPT_RSAPUBLIC_MAGIC ("RSA1"): the TransportKey form device
// registration sends (the Device Registration Service takes it in base64).
// The exponent and modulus take their minimal big-endian sizes.
func MarshalRSAPublicBlob(pub *rsa.PublicKey) ([]byte, error) {
	if err := checkRSAPublic(pub); err != nil {
		return nil, fmt.Errorf("msjose: RSA key blob: %w", err)
	}
	e := big.NewInt(int64(pub.E)).Bytes()
	n := pub.N.Bytes()
	b := make([]byte, rsaBlobHeader, rsaBlobHeader+len(e)+len(n))
	for i, v := range []uint32{rsaPublicMagic, uint32(pub.N.BitLen()), uint32(len(e)), uint32(len(n)), 0, 0} {
		binary.LittleEndian.PutUint32(b[4*i:], v)
	}
	return append(append(b, e...), n...), nil
}

// ParseRSAPublicBlob decodes a BCRYPT_RSAKEY_BLOB holding an RSA public key.
// It refuses any magic but "RSA1", prime sizes other than zero, sizes that
// do not add up to the blob's length, a BitLength other than the modulus's,
// moduli under 2048 or over 16384 bits, even moduli, and exponents that are
// even, below 3, or above 2^31-1.
func ParseRSAPublicBlob(b []byte) (*rsa.PublicKey, error) {
	pub, err := parseRSAPublicBlob(b)
	if err != nil {
		return nil, fmt.Errorf("msjose: RSA key blob: %w", err)
	}
	return pub, nil
}

func parseRSAPublicBlob(b []byte) (*rsa.PublicKey, error) {
	if len(b) < rsaBlobHeader {
		return nil, fmt.Errorf("%d bytes, shorter than the %d-byte header", len(b), rsaBlobHeader)
	}
	var h [6]uint32
	for i := range h {
		h[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	magic, bitLen, cbExp, cbMod, cbP1, cbP2 := h[0], h[1], h[2], h[3], h[4], h[5]
	switch {
	case magic != rsaPublicMagic:
		return nil, fmt.Errorf("magic 0x%08x is not BCRYPT_RSAPUBLIC_MAGIC (\"RSA1\")", magic)
	case cbP1 != 0 || cbP2 != 0:
		return nil, errors.New("a public key blob has no primes, but cbPrime1 or cbPrime2 is not zero")
	case cbExp == 0 || cbExp > 8:
		return nil, fmt.Errorf("public exponent of %d bytes: want 1 to 8", cbExp)
	case bitLen < minRSABits:
		return nil, fmt.Errorf("modulus of %d bits is shorter than the %d required", bitLen, minRSABits)
	case bitLen > maxRSABits:
		return nil, fmt.Errorf("modulus of %d bits is longer than the %d allowed", bitLen, maxRSABits)
	case cbMod != (bitLen+7)/8:
		return nil, fmt.Errorf("cbModulus %d does not match BitLength %d", cbMod, bitLen)
	}
	// Both sizes are small now: no overflow.
	if want := rsaBlobHeader + int(cbExp) + int(cbMod); len(b) != want {
		return nil, fmt.Errorf("blob is %d bytes, the header says %d", len(b), want)
	}
	eb := b[rsaBlobHeader : rsaBlobHeader+cbExp]
	nb := b[rsaBlobHeader+cbExp:]
	var e uint64
	for _, c := range eb {
		e = e<<8 | uint64(c)
	}
	n := new(big.Int).SetBytes(nb)
	if n.BitLen() != int(bitLen) {
		return nil, fmt.Errorf("modulus has %d significant bits, BitLength says %d", n.BitLen(), bitLen)
	}
	if e > maxRSAExp {
		return nil, errors.New("public exponent is larger than 2^31-1")
	}
	pub := &rsa.PublicKey{N: n, E: int(e)}
	if err := checkRSAPublic(pub); err != nil {
		return nil, err
	}
	return pub, nil
}

// checkRSAPublic holds the rules both directions share.
func checkRSAPublic(pub *rsa.PublicKey) error {
	switch {
	case pub == nil || pub.N == nil:
		return errors.New("no public key")
	case pub.N.BitLen() < minRSABits:
		return fmt.Errorf("modulus of %d bits is shorter than the %d required", pub.N.BitLen(), minRSABits)
	case pub.N.BitLen() > maxRSABits:
		return fmt.Errorf("modulus of %d bits is longer than the %d allowed", pub.N.BitLen(), maxRSABits)
	case pub.N.Bit(0) == 0:
		return errors.New("modulus is even")
	case pub.E < 3 || pub.E > maxRSAExp || pub.E%2 == 0:
		return fmt.Errorf("public exponent %d: want an odd number from 3 to 2^31-1", pub.E)
	}
	return nil
}
