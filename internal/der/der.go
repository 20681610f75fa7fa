// Package der reads and writes the strict DER that Kerberos messages and
// MS-KKDCP use: single-byte identifiers (every tag number they use is
// below 31), definite lengths in their shortest form, minimal INTEGERs.
// A decoded value has one encoding, so re-encoding gives the input back.
// The message codecs (kkdcp, internal/kerbmsg) build on it.
package der

import (
	"errors"
	"fmt"
)

// Read reads one element with identifier tag from the front of b and
// returns the whole element, its content and the bytes after it. A long
// length of more than maxLenBytes bytes is refused as too large. what
// names the element in errors.
func Read(b []byte, tag byte, maxLenBytes int, what string) (whole, content, rest []byte, err error) {
	if len(b) == 0 {
		return nil, nil, nil, fmt.Errorf("%s: missing (truncated)", what)
	}
	if b[0] != tag {
		return nil, nil, nil, fmt.Errorf("%s: expected tag 0x%02x, found 0x%02x", what, tag, b[0])
	}
	if len(b) < 2 {
		return nil, nil, nil, fmt.Errorf("%s: truncated before its length", what)
	}
	l := int(b[1])
	hdr := 2
	switch {
	case l < 0x80:
	case l == 0x80:
		return nil, nil, nil, fmt.Errorf("%s: indefinite length is not DER", what)
	default:
		n := l & 0x7f
		if n > maxLenBytes {
			return nil, nil, nil, fmt.Errorf("%s: length of %d bytes is too large", what, n)
		}
		if len(b) < 2+n {
			return nil, nil, nil, fmt.Errorf("%s: truncated in its length", what)
		}
		if b[2] == 0 {
			return nil, nil, nil, fmt.Errorf("%s: length has a leading zero byte, not DER", what)
		}
		l = 0
		for _, c := range b[2 : 2+n] {
			l = l<<8 | int(c)
		}
		if l < 0x80 {
			return nil, nil, nil, fmt.Errorf("%s: long-form length %d, not DER", what, l)
		}
		hdr += n
	}
	if l > len(b)-hdr {
		return nil, nil, nil, fmt.Errorf("%s: truncated: says %d bytes, %d remain", what, l, len(b)-hdr)
	}
	return b[:hdr+l], b[hdr : hdr+l], b[hdr+l:], nil
}

// Append appends an element with identifier tag whose content is the
// concatenation of parts, with its length in the shortest form.
func Append(dst []byte, tag byte, parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	dst = append(dst, tag)
	switch {
	case n < 0x80:
		dst = append(dst, byte(n))
	case n <= 0xff:
		dst = append(dst, 0x81, byte(n))
	case n <= 0xffff:
		dst = append(dst, 0x82, byte(n>>8), byte(n))
	case n <= 0xffffff:
		dst = append(dst, 0x83, byte(n>>16), byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	for _, p := range parts {
		dst = append(dst, p...)
	}
	return dst
}

// AppendInt appends the minimal two's-complement content octets of v.
func AppendInt(dst []byte, v int64) []byte {
	n := 1
	for x := v; x > 127 || x < -128; x >>= 8 {
		n++
	}
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, byte(v>>(8*i)))
	}
	return dst
}

// ParseInt decodes minimal two's-complement content octets that fit in an
// int64.
func ParseInt(b []byte) (int64, error) {
	switch {
	case len(b) == 0:
		return 0, errors.New("empty INTEGER")
	case len(b) > 8:
		return 0, fmt.Errorf("INTEGER of %d bytes does not fit in 64 bits", len(b))
	case len(b) > 1 && (b[0] == 0x00 && b[1]&0x80 == 0 || b[0] == 0xff && b[1]&0x80 != 0):
		return 0, errors.New("INTEGER is not minimally encoded")
	}
	v := int64(int8(b[0])) // sign-extend the first byte
	for _, c := range b[1:] {
		v = v<<8 | int64(c)
	}
	return v, nil
}
