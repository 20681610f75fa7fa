package msjose

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/binary"
	"math/big"
	"strings"
	"testing"
)

func TestRSABlobRoundTrip(t *testing.T) {
	keys := []*rsa.PublicKey{&testKey(t, "test_transport_key.pem").PublicKey, &testKey(t, "test_device_key.pem").PublicKey}
	k3072, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		t.Fatal(err)
	}
	keys = append(keys, &k3072.PublicKey, &rsa.PublicKey{N: keys[0].N, E: 3}, &rsa.PublicKey{N: keys[0].N, E: 1<<31 - 1})
	for _, pub := range keys {
		b, err := MarshalRSAPublicBlob(pub)
		if err != nil {
			t.Fatal(err)
		}
		if string(b[:4]) != "RSA1" {
			t.Errorf("magic bytes %q", b[:4])
		}
		if got := binary.LittleEndian.Uint32(b[4:]); got != uint32(pub.N.BitLen()) {
			t.Errorf("BitLength %d", got)
		}
		back, err := ParseRSAPublicBlob(b)
		if err != nil {
			t.Fatal(err)
		}
		if !back.Equal(pub) {
			t.Error("round trip changed the key")
		}
	}
}

func TestRSABlobRefused(t *testing.T) {
	pub := &testKey(t, "test_transport_key.pem").PublicKey
	good, _ := MarshalRSAPublicBlob(pub)
	// Every truncation fails, as does every extension.
	for n := 0; n < len(good); n++ {
		if _, err := ParseRSAPublicBlob(good[:n]); err == nil {
			t.Fatalf("truncated to %d bytes: accepted", n)
		}
	}
	if _, err := ParseRSAPublicBlob(append(good, 0)); err == nil {
		t.Error("trailing byte accepted")
	}
	// An exponent written with a leading zero byte is the same exponent.
	padded := append([]byte(nil), good[:rsaBlobHeader]...)
	binary.LittleEndian.PutUint32(padded[8:], 4)
	padded = append(append(padded, 0), good[rsaBlobHeader:]...)
	if back, err := ParseRSAPublicBlob(padded); err != nil || !back.Equal(pub) {
		t.Errorf("exponent with a leading zero: %v", err)
	}
	set := func(field int, v uint32) []byte {
		b := append([]byte(nil), good...)
		binary.LittleEndian.PutUint32(b[4*field:], v)
		return b
	}
	for _, c := range []struct {
		name string
		blob []byte
		want string
	}{
		{"cbPublicExp huge", set(2, 0xffffffff), "exponent of"},
		{"cbPublicExp zero", set(2, 0), "exponent of"},
		{"cbModulus huge", set(3, 0xfffffff0), "cbModulus"},
		{"BitLength huge", set(1, 0xffffffff), "longer than"},
		{"BitLength zero", set(1, 0), "shorter than"},
		{"cbPrime2 set", set(5, 1), "cbPrime"},
		{"magic RSA3", set(0, 0x33415352), "magic"},
	} {
		_, err := ParseRSAPublicBlob(c.blob)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "msjose: RSA key blob: ") {
			t.Errorf("%s: err = %v, want ...%s...", c.name, err, c.want)
		}
	}
	even := append([]byte(nil), good...)
	even[len(even)-1] &^= 1
	if _, err := ParseRSAPublicBlob(even); err == nil || !strings.Contains(err.Error(), "even") {
		t.Errorf("even modulus: %v", err)
	}
	for _, c := range []*rsa.PublicKey{
		nil,
		{N: nil, E: 65537},
		{N: new(big.Int).Rsh(pub.N, 1100), E: 65537},
		{N: pub.N, E: 1},
		{N: pub.N, E: 65536},
		{N: pub.N, E: 1 << 31},
	} {
		if _, err := MarshalRSAPublicBlob(c); err == nil {
			t.Errorf("marshalled %v", c)
		}
	}
	// BitLength must be the modulus's own, even where cbModulus agrees.
	k3072, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		t.Fatal(err)
	}
	b3072, _ := MarshalRSAPublicBlob(&k3072.PublicKey)
	binary.LittleEndian.PutUint32(b3072[4:], 3071)
	if _, err := ParseRSAPublicBlob(b3072); err == nil || !strings.Contains(err.Error(), "BitLength says") {
		t.Errorf("BitLength 3071 for a 3072-bit modulus: %v", err)
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err == nil {
		b, _ := MarshalRSAPublicBlob(&small.PublicKey)
		if b != nil {
			t.Error("1024-bit key marshalled")
		}
	}
}
