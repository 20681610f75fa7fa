package kkdcp

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/smbkrb/smbkrb/internal/der"
)

// hx decodes hex with spaces, for DER written out by hand.
func hx(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func i64(v int64) *int64 { return &v }

// goodVector is a message and its DER, built by hand from MS-KKDCP 2.2.2.
type goodVector struct {
	name string
	msg  Message
	der  []byte
}

func goodVectors() []goodVector {
	long200 := append([]byte{0x6b}, make([]byte, 199)...)
	long300 := append([]byte{0x6d}, make([]byte, 299)...)
	return []goodVector{
		{
			name: "request with realm and hint",
			msg:  Message{KerbMessage: hx("6a 01 00"), TargetDomain: "EXAMPLE.COM", DCLocatorHint: i64(5)},
			der: cat(
				hx("30 1f"),
				hx("a0 09  04 07  00 00 00 03  6a 01 00"),
				hx("a1 0d  1b 0b"), []byte("EXAMPLE.COM"),
				hx("a2 03  02 01 05"),
			),
		},
		{
			name: "request with realm",
			msg:  Message{KerbMessage: hx("6c 01 00"), TargetDomain: "EXAMPLE.COM"},
			der: cat(
				hx("30 1a"),
				hx("a0 09  04 07  00 00 00 03  6c 01 00"),
				hx("a1 0d  1b 0b"), []byte("EXAMPLE.COM"),
			),
		},
		{
			name: "reply",
			msg:  Message{KerbMessage: hx("6b 01 00")},
			der:  hx("30 0b  a0 09  04 07  00 00 00 03  6b 01 00"),
		},
		{
			name: "hint without realm",
			msg:  Message{KerbMessage: hx("6a 00"), DCLocatorHint: i64(-1)},
			der:  hx("30 0f  a0 08  04 06  00 00 00 02  6a 00  a2 03  02 01 ff"),
		},
		{
			name: "hint 0x80000000 unsigned",
			msg:  Message{KerbMessage: hx("6a 00"), DCLocatorHint: i64(0x80000000)},
			der:  hx("30 13  a0 08  04 06  00 00 00 02  6a 00  a2 07  02 05 00 80 00 00 00"),
		},
		{
			name: "one-byte long-form lengths",
			msg:  Message{KerbMessage: long200},
			der:  cat(hx("30 81 d2  a0 81 cf  04 81 cc  00 00 00 c8"), long200),
		},
		{
			name: "two-byte long-form lengths",
			msg:  Message{KerbMessage: long300, TargetDomain: "R"},
			der:  cat(hx("30 82 01 3d  a0 82 01 34  04 82 01 30  00 00 01 2c"), long300, hx("a1 03 1b 01 52")),
		},
	}
}

func TestMarshalKnownVectors(t *testing.T) {
	for _, v := range goodVectors() {
		got, err := v.msg.Marshal()
		if err != nil {
			t.Errorf("%s: Marshal: %v", v.name, err)
			continue
		}
		if !bytes.Equal(got, v.der) {
			t.Errorf("%s: Marshal\n got  %x\n want %x", v.name, got, v.der)
		}
	}
}

func TestUnmarshalKnownVectors(t *testing.T) {
	for _, v := range goodVectors() {
		m, err := Unmarshal(v.der)
		if err != nil {
			t.Errorf("%s: Unmarshal: %v", v.name, err)
			continue
		}
		if !bytes.Equal(m.KerbMessage, v.msg.KerbMessage) || m.TargetDomain != v.msg.TargetDomain ||
			(m.DCLocatorHint == nil) != (v.msg.DCLocatorHint == nil) ||
			(m.DCLocatorHint != nil && *m.DCLocatorHint != *v.msg.DCLocatorHint) {
			t.Errorf("%s: Unmarshal = %+v, want %+v", v.name, m, v.msg)
		}
		// The result must not alias the input.
		der := bytes.Clone(v.der)
		m, _ = Unmarshal(der)
		clear(der)
		if !bytes.Equal(m.KerbMessage, v.msg.KerbMessage) {
			t.Errorf("%s: KerbMessage shares memory with the input", v.name)
		}
	}
}

func TestIntegerEncoding(t *testing.T) {
	for _, tc := range []struct {
		v   int64
		der string
	}{
		{0, "00"},
		{1, "01"},
		{127, "7f"},
		{128, "00 80"},
		{255, "00 ff"},
		{256, "01 00"},
		{-1, "ff"},
		{-128, "80"},
		{-129, "ff 7f"},
		{0x7fffffff, "7f ff ff ff"},
		{0xffffffff, "00 ff ff ff ff"},
		{-0x80000000, "80 00 00 00"},
		{1<<63 - 1, "7f ff ff ff ff ff ff ff"},
		{-1 << 63, "80 00 00 00 00 00 00 00"},
	} {
		want := hx(tc.der)
		if got := der.AppendInt(nil, tc.v); !bytes.Equal(got, want) {
			t.Errorf("appendInteger(%d) = %x, want %x", tc.v, got, want)
		}
		if got, err := der.ParseInt(want); err != nil || got != tc.v {
			t.Errorf("parseInteger(%x) = %d, %v; want %d", want, got, err, tc.v)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	msgs := []Message{
		{KerbMessage: []byte{0x6a}},
		{KerbMessage: bytes.Repeat([]byte{0x6c}, 127), TargetDomain: "A"},
		{KerbMessage: bytes.Repeat([]byte{0x6c}, 128), TargetDomain: strings.Repeat("R", maxRealmLen)},
		{KerbMessage: bytes.Repeat([]byte{0x6b}, 70000), DCLocatorHint: i64(1 << 40)},
		{KerbMessage: bytes.Repeat([]byte{0x7e}, 1<<20), TargetDomain: "KERBEROS.MICROSOFTONLINE.COM", DCLocatorHint: i64(-1 << 63)},
	}
	for i, m := range msgs {
		der, err := m.Marshal()
		if err != nil {
			t.Fatalf("%d: Marshal: %v", i, err)
		}
		got, err := Unmarshal(der)
		if err != nil {
			t.Fatalf("%d: Unmarshal: %v", i, err)
		}
		again, err := got.Marshal()
		if err != nil || !bytes.Equal(again, der) {
			t.Errorf("%d: Marshal(Unmarshal(b)) != b (err %v)", i, err)
		}
		if !bytes.Equal(got.KerbMessage, m.KerbMessage) || got.TargetDomain != m.TargetDomain {
			t.Errorf("%d: round trip changed the message", i)
		}
	}
}

func TestMarshalErrors(t *testing.T) {
	for name, m := range map[string]*Message{
		"nil message":         nil,
		"empty kerb-message":  {},
		"non-IA5 realm":       {KerbMessage: []byte{0x6a}, TargetDomain: "EXAMPLE.CÖM"},
		"realm too long":      {KerbMessage: []byte{0x6a}, TargetDomain: strings.Repeat("R", maxRealmLen+1)},
		"message too large":   {KerbMessage: make([]byte, maxEncodedLen+1)},
		"encoding too large":  {KerbMessage: make([]byte, maxEncodedLen-4), TargetDomain: "R"},
		"zero-length message": {KerbMessage: []byte{}},
	} {
		if b, err := m.Marshal(); err == nil {
			t.Errorf("%s: Marshal succeeded with %d bytes", name, len(b))
		} else if !strings.HasPrefix(err.Error(), "kkdcp: ") {
			t.Errorf("%s: error %q lacks the kkdcp: prefix", name, err)
		}
	}
}

// malformed lists encodings that Unmarshal must refuse, one per class.
func malformed() map[string][]byte {
	good := goodVectors()[0].der
	realm := cat(hx("a1 0d  1b 0b"), []byte("EXAMPLE.COM"))
	kerb := hx("a0 09  04 07  00 00 00 03  6a 01 00")
	hint := hx("a2 03  02 01 05")
	seq := func(parts ...[]byte) []byte {
		body := cat(parts...)
		return appendTLV(nil, tagSequence, body)
	}
	oversize := make([]byte, maxEncodedLen+1)
	copy(oversize, hx("30 84 01 00 00 00"))
	return map[string][]byte{
		"empty":                       {},
		"only a tag":                  hx("30"),
		"trailing byte":               cat(good, hx("00")),
		"two messages":                cat(good, good),
		"wrong outer tag SET":         cat(hx("31"), good[1:]),
		"primitive SEQUENCE tag":      cat(hx("10"), good[1:]),
		"high tag number form":        cat(hx("3f 10"), good[1:]),
		"indefinite length":           cat(hx("30 80"), good[2:], hx("00 00")),
		"non-minimal long form":       cat(hx("30 81 1f"), good[2:]),
		"length with leading zero":    cat(hx("30 82 00 1f"), good[2:]),
		"length of 5 bytes":           cat(hx("30 85 00 00 00 00 1f"), good[2:]),
		"reserved length byte":        cat(hx("30 ff"), good[2:]),
		"length beyond input":         cat(hx("30 20"), good[2:]),
		"inner non-minimal length":    seq(hx("a0 81 09  04 07  00 00 00 03  6a 01 00"), realm),
		"implicit kerb-message":       seq(hx("80 07  00 00 00 03  6a 01 00"), realm),
		"constructed OCTET STRING":    seq(hx("a0 0b  24 09  04 07  00 00 00 03  6a 01 00"), realm),
		"kerb-message wrong tag":      seq(hx("a1 09  04 07  00 00 00 03  6a 01 00")),
		"kerb-message missing":        seq(realm),
		"empty SEQUENCE":              seq(),
		"trailing bytes in [0]":       seq(hx("a0 0b  04 07  00 00 00 03  6a 01 00  05 00"), realm),
		"empty [0]":                   seq(hx("a0 00"), realm),
		"prefix length too big":       seq(hx("a0 09  04 07  00 00 00 04  6a 01 00"), realm),
		"prefix length too small":     seq(hx("a0 09  04 07  00 00 00 02  6a 01 00"), realm),
		"prefix high bit":             seq(hx("a0 09  04 07  80 00 00 03  6a 01 00"), realm),
		"prefix all ones":             seq(hx("a0 09  04 07  ff ff ff ff  6a 01 00"), realm),
		"empty kerb-message":          seq(hx("a0 06  04 04  00 00 00 00"), realm),
		"kerb-message shorter than 4": seq(hx("a0 05  04 03  00 00 00"), realm),
		"empty OCTET STRING":          seq(hx("a0 02  04 00"), realm),
		"realm as UTF8String":         seq(kerb, cat(hx("a1 0d  0c 0b"), []byte("EXAMPLE.COM"))),
		"realm as IA5String":          seq(kerb, cat(hx("a1 0d  16 0b"), []byte("EXAMPLE.COM"))),
		"realm as PrintableString":    seq(kerb, cat(hx("a1 0d  13 0b"), []byte("EXAMPLE.COM"))),
		"implicit realm":              seq(kerb, cat(hx("81 0b"), []byte("EXAMPLE.COM"))),
		"constructed GeneralString":   seq(kerb, cat(hx("a1 0f  3b 0d  1b 0b"), []byte("EXAMPLE.COM"))),
		"empty realm":                 seq(kerb, hx("a1 02  1b 00")),
		"non-IA5 realm":               seq(kerb, hx("a1 04  1b 02  41 c3")),
		"realm too long":              seq(kerb, appendTLV(nil, tagTargetDomain, appendTLV(nil, tagGeneralString, bytes.Repeat([]byte("R"), maxRealmLen+1)))),
		"trailing bytes in [1]":       seq(kerb, cat(hx("a1 0f  1b 0b"), []byte("EXAMPLE.COM"), hx("05 00"))),
		"hint as ENUMERATED":          seq(kerb, realm, hx("a2 03  0a 01 05")),
		"implicit hint":               seq(kerb, realm, hx("82 01 05")),
		"empty INTEGER":               seq(kerb, realm, hx("a2 02  02 00")),
		"INTEGER leading zero":        seq(kerb, realm, hx("a2 04  02 02 00 05")),
		"INTEGER leading ones":        seq(kerb, realm, hx("a2 04  02 02 ff ff")),
		"INTEGER of 9 bytes":          seq(kerb, realm, hx("a2 0b  02 09 01 00 00 00 00 00 00 00 00")),
		"trailing bytes in [2]":       seq(kerb, realm, hx("a2 05  02 01 05 05 00")),
		"hint before realm":           seq(kerb, hint, realm),
		"realm before kerb-message":   seq(realm, kerb),
		"duplicate realm":             seq(kerb, realm, realm),
		"duplicate kerb-message":      seq(kerb, kerb),
		"duplicate hint":              seq(kerb, hint, hint),
		"unknown field [3]":           seq(kerb, realm, hint, hx("a3 03  02 01 00")),
		"NULL after fields":           seq(kerb, realm, hx("05 00")),
		"oversize":                    oversize,
	}
}

func TestUnmarshalMalformed(t *testing.T) {
	for name, b := range malformed() {
		m, err := Unmarshal(b)
		if err == nil {
			t.Errorf("%s: Unmarshal(%x) succeeded: %+v", name, b[:min(len(b), 64)], m)
			continue
		}
		if !strings.HasPrefix(err.Error(), "kkdcp: malformed KDC-PROXY-MESSAGE: ") {
			t.Errorf("%s: error %q lacks the prefix", name, err)
		}
	}
}

func TestUnmarshalTruncated(t *testing.T) {
	for _, v := range goodVectors() {
		for n := range len(v.der) {
			if _, err := Unmarshal(v.der[:n]); err == nil {
				t.Errorf("%s: Unmarshal of the first %d of %d bytes succeeded", v.name, n, len(v.der))
			}
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	for _, v := range goodVectors() {
		f.Add(v.der)
	}
	for _, b := range malformed() {
		if len(b) < 4096 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Unmarshal(b)
		if err != nil {
			if m != nil {
				t.Fatalf("Unmarshal returned a message and an error")
			}
			return
		}
		again, err := m.Marshal()
		if err != nil {
			t.Fatalf("Marshal of an Unmarshal result: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("Marshal(Unmarshal(b)) != b\n b     %x\n again %x", b, again)
		}
	})
}
