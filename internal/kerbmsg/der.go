package kerbmsg

import (
	"fmt"
	"time"

	"github.com/smbkrb/smbkrb/internal/der"
)

// DER identifiers used by the messages here. Every Kerberos tag number is
// below 31, so every identifier is one byte.
const (
	tagInteger       = 0x02
	tagBitString     = 0x03
	tagOctetString   = 0x04
	tagSequence      = 0x30
	tagGeneralString = 0x1b
	tagGeneralized   = 0x18

	classApplication = 0x60 // constructed, application class
	classContext     = 0xa0 // constructed, context-specific class
)

const (
	// maxMessageLen bounds any input. A KDC reply is a few KiB, tens with
	// a large PAC; the krb5 package reads at most 1 MiB from a KDC.
	maxMessageLen = 1 << 20
	// maxStringLen bounds a realm or name component.
	maxStringLen = 4096
	// maxComponents bounds the components of a principal name; real ones
	// have one to three.
	maxComponents = 32
	// maxSeqItems bounds SEQUENCE OF lists (last-req, caddr, padata).
	maxSeqItems = 256
)

func app(n byte) byte { return classApplication | n }
func ctx(n byte) byte { return classContext | n }

// decoder reads DER elements from the front of a byte slice. Only definite,
// minimal lengths are accepted, so a decoded value has one encoding and
// re-encoding gives the input back.
type decoder struct {
	b []byte
}

func (d *decoder) empty() bool { return len(d.b) == 0 }

// peek reports whether the next element has identifier tag.
func (d *decoder) peek(tag byte) bool { return len(d.b) > 0 && d.b[0] == tag }

// next reads one element of identifier tag and returns its content.
func (d *decoder) next(tag byte, what string) ([]byte, error) {
	_, content, err := d.nextRaw(tag, what)
	return content, err
}

// nextRaw reads one element of identifier tag and returns it whole (for
// fields kept as raw DER) and its content. Three length bytes reach
// 16 MiB, past maxMessageLen: a longer length is refused.
func (d *decoder) nextRaw(tag byte, what string) (whole, content []byte, err error) {
	whole, content, rest, err := der.Read(d.b, tag, 3, what)
	if err != nil {
		return nil, nil, err
	}
	d.b = rest
	return whole, content, nil
}

// explicit reads an EXPLICIT [n] field, which holds exactly one element of
// identifier inner, and returns that element's content.
func (d *decoder) explicit(n byte, inner byte, what string) ([]byte, error) {
	_, content, err := d.explicitRaw(n, inner, what)
	return content, err
}

func (d *decoder) explicitRaw(n byte, inner byte, what string) (whole, content []byte, err error) {
	field, err := d.next(ctx(n), what)
	if err != nil {
		return nil, nil, err
	}
	fd := decoder{field}
	whole, content, err = fd.nextRaw(inner, what)
	if err != nil {
		return nil, nil, err
	}
	if !fd.empty() {
		return nil, nil, fmt.Errorf("%s: %d bytes after the value", what, len(fd.b))
	}
	return whole, content, nil
}

// end fails if anything is left, which in a SEQUENCE is an unknown or
// out-of-order field.
func (d *decoder) end(what string) error {
	if len(d.b) != 0 {
		return fmt.Errorf("%s: unexpected tag 0x%02x or trailing bytes", what, d.b[0])
	}
	return nil
}

// readInt32 reads an EXPLICIT [n] Int32.
func (d *decoder) readInt32(n byte, what string) (int32, error) {
	c, err := d.explicit(n, tagInteger, what)
	if err != nil {
		return 0, err
	}
	v, err := der.ParseInt(c)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	if v < -1<<31 || v > 1<<31-1 {
		return 0, fmt.Errorf("%s: %d does not fit in 32 bits", what, v)
	}
	return int32(v), nil
}

// readUInt32 reads an EXPLICIT [n] UInt32. Windows has been seen writing
// such values (nonces, kvnos) as negative 32-bit numbers; those are taken as
// the same 32 bits, as MIT does.
func (d *decoder) readUInt32(n byte, what string) (uint32, error) {
	c, err := d.explicit(n, tagInteger, what)
	if err != nil {
		return 0, err
	}
	v, err := der.ParseInt(c)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	if v < -1<<31 || v > 1<<32-1 {
		return 0, fmt.Errorf("%s: %d does not fit in 32 bits", what, v)
	}
	return uint32(v), nil
}

// readString reads an EXPLICIT [n] KerberosString (GeneralString).
func (d *decoder) readString(n byte, what string) (string, error) {
	c, err := d.explicit(n, tagGeneralString, what)
	if err != nil {
		return "", err
	}
	if len(c) > maxStringLen {
		return "", fmt.Errorf("%s: %d bytes, more than the %d allowed", what, len(c), maxStringLen)
	}
	return string(c), nil
}

// readRealm reads a Realm, which must not be empty.
func (d *decoder) readRealm(n byte, what string) (string, error) {
	s, err := d.readString(n, what)
	if err == nil && s == "" {
		err = fmt.Errorf("%s: empty realm", what)
	}
	return s, err
}

// readOctets reads an EXPLICIT [n] OCTET STRING.
func (d *decoder) readOctets(n byte, what string) ([]byte, error) {
	c, err := d.explicit(n, tagOctetString, what)
	if err != nil {
		return nil, err
	}
	return append([]byte{}, c...), nil
}

// kerberosTimeLayout is RFC 4120 section 5.2.3: GeneralizedTime in UTC
// without fractions, "YYYYMMDDHHMMSSZ".
const kerberosTimeLayout = "20060102150405Z"

// readTime reads an EXPLICIT [n] KerberosTime.
func (d *decoder) readTime(n byte, what string) (time.Time, error) {
	c, err := d.explicit(n, tagGeneralized, what)
	if err != nil {
		return time.Time{}, err
	}
	if len(c) != len(kerberosTimeLayout) || c[len(c)-1] != 'Z' {
		return time.Time{}, fmt.Errorf("%s: not a KerberosTime (YYYYMMDDHHMMSSZ)", what)
	}
	for _, ch := range c[:len(c)-1] {
		if ch < '0' || ch > '9' {
			return time.Time{}, fmt.Errorf("%s: not a KerberosTime (YYYYMMDDHHMMSSZ)", what)
		}
	}
	t, err := time.Parse(kerberosTimeLayout, string(c))
	if err != nil || t.Format(kerberosTimeLayout) != string(c) {
		return time.Time{}, fmt.Errorf("%s: not a valid date and time", what)
	}
	if t.IsZero() {
		// The zero time.Time stands for an absent optional time.
		return time.Time{}, fmt.Errorf("%s: 00010101000000Z is not accepted", what)
	}
	return t, nil
}

// readFlags reads an EXPLICIT [n] KerberosFlags: a BIT STRING of exactly
// 32 bits, as MIT and Windows write it. Bit 0 is the most significant bit
// of the result.
func (d *decoder) readFlags(n byte, what string) (uint32, error) {
	c, err := d.explicit(n, tagBitString, what)
	if err != nil {
		return 0, err
	}
	if len(c) != 5 || c[0] != 0 {
		return 0, fmt.Errorf("%s: not a 32-bit BIT STRING", what)
	}
	return uint32(c[1])<<24 | uint32(c[2])<<16 | uint32(c[3])<<8 | uint32(c[4]), nil
}

// Encoding. The builders return whole elements; they cannot fail, so the
// checks that can are in the Marshal methods.

func tlv(tag byte, parts ...[]byte) []byte { return der.Append(nil, tag, parts...) }

func explicitField(n byte, element []byte) []byte { return tlv(ctx(n), element) }

func intElement(v int64) []byte { return tlv(tagInteger, der.AppendInt(nil, v)) }

func stringElement(s string) []byte { return tlv(tagGeneralString, []byte(s)) }

func octetsElement(b []byte) []byte { return tlv(tagOctetString, b) }

func timeElement(t time.Time) []byte {
	return tlv(tagGeneralized, []byte(t.UTC().Format(kerberosTimeLayout)))
}

func flagsElement(f uint32) []byte {
	return tlv(tagBitString, []byte{0, byte(f >> 24), byte(f >> 16), byte(f >> 8), byte(f)})
}

// checkTime refuses times KerberosTime cannot hold, and fractions that
// encoding would silently drop.
func checkTime(t time.Time, what string) error {
	u := t.UTC()
	if u.Year() < 0 || u.Year() > 9999 {
		return fmt.Errorf("%s: year %d is outside 0000-9999", what, u.Year())
	}
	if u.Nanosecond() != 0 {
		return fmt.Errorf("%s: KerberosTime has no fractions of a second (use Truncate(time.Second))", what)
	}
	return nil
}

// checkSize refuses an encoding the decoders would refuse.
func checkSize(b []byte) ([]byte, error) {
	if len(b) > maxMessageLen {
		return nil, fmt.Errorf("%d bytes, more than the %d a decoder accepts", len(b), maxMessageLen)
	}
	return b, nil
}

func checkString(s, what string) error {
	if len(s) > maxStringLen {
		return fmt.Errorf("%s: %d bytes, more than the %d allowed", what, len(s), maxStringLen)
	}
	return nil
}

func checkRealm(s, what string) error {
	if s == "" {
		return fmt.Errorf("%s: empty realm", what)
	}
	return checkString(s, what)
}
