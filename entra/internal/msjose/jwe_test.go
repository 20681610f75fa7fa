package msjose

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// stream is a reproducible reader for tests: an endless repetition of seed.
type stream struct {
	seed []byte
	off  int
}

func (s *stream) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = s.seed[s.off%len(s.seed)] ^ byte(s.off/len(s.seed))
		s.off++
	}
	return len(p), nil
}

func fixedRand(seed string) *stream { return &stream{seed: []byte(seed)} }

var (
	testSessionKey  = bytes.Repeat([]byte{0x5a}, 32)
	otherSessionKey = bytes.Repeat([]byte{0xa5}, 32)
)

// openEmptyGCM checks that a JWE's content is an empty plaintext sealed
// with AES-256-GCM under cek (as in session_key_jwe).
func openEmptyGCM(cek []byte, j *JWE) error {
	block, err := aes.NewCipher(cek)
	if err != nil {
		return err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return err
	}
	if len(j.IV) != aead.NonceSize() {
		return errors.New("IV size")
	}
	pt, err := aead.Open(nil, j.IV, append(append([]byte(nil), j.Ciphertext...), j.Tag...), []byte(j.Protected))
	if err != nil {
		return err
	}
	if len(pt) != 0 {
		return errors.New("plaintext not empty")
	}
	return nil
}

func TestJWERoundTrip(t *testing.T) {
	for _, c := range []Cipher{AES256GCM, AES256CBC} {
		for _, urlCtx := range []bool{false, true} {
			for _, n := range []int{0, 1, 15, 16, 17, 32, 1000} {
				pt := bytes.Repeat([]byte{byte(n)}, n)
				s, err := EncryptJWE(pt, testSessionKey, &EncryptOptions{Cipher: c, URLSafeCtx: urlCtx})
				if err != nil {
					t.Fatal(err)
				}
				got, h, err := DecryptJWE(s, testSessionKey)
				if err != nil {
					t.Fatalf("%v, %d bytes: %v", c, n, err)
				}
				if !bytes.Equal(got, pt) {
					t.Fatalf("%v, %d bytes: plaintext differs", c, n)
				}
				if h.Alg != "dir" || h.Kid != "session" || len(h.Ctx) != 24 {
					t.Fatalf("header %+v", h)
				}
				// GCM's tag refuses another key. Microsoft's CBC variant has
				// no tag: a wrong key gives valid padding about one time in
				// 256, so all that can be asked is that it never gives the
				// plaintext (the clientKey it would carry then fails MIT's
				// integrity check of the AS-REP).
				wrong, _, err := DecryptJWE(s, otherSessionKey)
				if c == AES256GCM && err == nil {
					t.Fatalf("%v, %d bytes: decrypted under another session key", c, n)
				}
				if err == nil && n > 0 && bytes.Equal(wrong, pt) {
					t.Fatalf("%v, %d bytes: another session key gave the plaintext", c, n)
				}
			}
		}
	}
}

func TestJWEEncryptReproducible(t *testing.T) {
	a, err := EncryptJWE([]byte("x"), testSessionKey, &EncryptOptions{Rand: fixedRand("seed")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := EncryptJWE([]byte("x"), testSessionKey, &EncryptOptions{Rand: fixedRand("seed")})
	c, _ := EncryptJWE([]byte("x"), testSessionKey, nil)
	if a != b || a == c {
		t.Error("Rand does not decide ctx and IV")
	}
	// A reader that runs dry is an error, not a weak ctx.
	if _, err := EncryptJWE([]byte("x"), testSessionKey, &EncryptOptions{Rand: bytes.NewReader(make([]byte, 10))}); err == nil {
		t.Error("short Rand accepted")
	}
	if _, err := EncryptJWE([]byte("x"), testSessionKey[:16], nil); err == nil {
		t.Error("16-byte session key accepted")
	}
	if _, err := EncryptJWE([]byte("x"), testSessionKey, &EncryptOptions{Cipher: 7}); err == nil {
		t.Error("unknown cipher accepted")
	}
}

// b64j encodes a JSON header for hand-made JWEs.
func b64j(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestJWEMalformed(t *testing.T) {
	good, err := EncryptJWE([]byte("the plaintext"), testSessionKey, &EncryptOptions{Rand: fixedRand("m")})
	if err != nil {
		t.Fatal(err)
	}
	goodCBC, err := EncryptJWE([]byte("the plaintext"), testSessionKey, &EncryptOptions{Cipher: AES256CBC, Rand: fixedRand("m")})
	if err != nil {
		t.Fatal(err)
	}
	p := strings.Split(good, ".")
	pc := strings.Split(goodCBC, ".")
	flip := func(part string) string {
		b, _ := base64.RawURLEncoding.DecodeString(part)
		b[len(b)/2] ^= 1
		return base64.RawURLEncoding.EncodeToString(b)
	}
	join := func(parts ...string) string { return strings.Join(parts, ".") }
	ctx := `"ctx":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"`
	cases := []struct {
		name, jwe, want string
		key             []byte
	}{
		{"4 parts", join(p[0], p[1], p[2], p[3]), "4 parts", nil},
		{"6 parts", good + ".", "6 parts", nil},
		{"empty", "", "1 parts", nil},
		{"empty header", join("", p[1], p[2], p[3], p[4]), "header is empty", nil},
		{"header not base64", join("!!", p[1], p[2], p[3], p[4]), "protected header: malformed base64", nil},
		{"IV not base64", join(p[0], p[1], "a=b", p[3], p[4]), "IV", nil},
		{"ciphertext mixed alphabets", join(p[0], p[1], p[2], "ab+-", p[4]), "ciphertext: malformed base64", nil},
		{"tag with 3 padding chars", join(p[0], p[1], p[2], p[3], p[4]+"==="), "padding", nil},
		{"header not JSON", join(b64j("{nope"), p[1], p[2], p[3], p[4]), "not a JSON object", nil},
		{"header JSON array", join(b64j("[]"), p[1], p[2], p[3], p[4]), "not a JSON object", nil},
		{"header JSON null", join(b64j("null"), p[1], p[2], p[3], p[4]), "not a JSON object", nil},
		{"header with trailing data", join(b64j(`{"alg":"dir",`+ctx+`}}`), p[1], p[2], p[3], p[4]), "data after the JSON object", nil},
		{"header with a repeated member", join(b64j(`{"alg":"dir",`+ctx+`,`+ctx+`}`), p[1], p[2], p[3], p[4]), `member "ctx" appears twice`, nil},
		{"ctx a number", join(b64j(`{"alg":"dir","ctx":5}`), p[1], p[2], p[3], p[4]), "ctx must be strings", nil},
		{"ctx not base64", join(b64j(`{"alg":"dir","ctx":"@@@@"}`), p[1], p[2], p[3], p[4]), "ctx: malformed base64", nil},
		{"ctx empty", join(b64j(`{"alg":"dir","ctx":""}`), p[1], p[2], p[3], p[4]), "ctx is empty", nil},
		{"kdf_ver a string", join(b64j(`{"alg":"dir",`+ctx+`,"kdf_ver":"2"}`), p[1], p[2], p[3], p[4]), "kdf_ver an integer", nil},
		{"no ctx", join(b64j(`{"alg":"dir","enc":"A256GCM"}`), p[1], p[2], p[3], p[4]), "no ctx", nil},
		{"alg none", join(b64j(`{"alg":"none",`+ctx+`}`), p[1], p[2], p[3], p[4]), `alg "none"`, nil},
		{"alg RSA-OAEP", join(b64j(`{"alg":"RSA-OAEP",`+ctx+`}`), p[1], p[2], p[3], p[4]), `alg "RSA-OAEP"`, nil},
		{"long alg is clipped", join(b64j(`{"alg":"`+strings.Repeat("x", 500)+`",`+ctx+`}`), p[1], p[2], p[3], p[4]), "xxx...", nil},
		{"header altered (AAD)", join(b64j(`{"alg":"dir","enc":"A256GCM",`+ctx+`}`), p[1], p[2], p[3], p[4]), "authentication failed", nil},
		{"tag altered", join(p[0], p[1], p[2], p[3], flip(p[4])), "authentication failed", nil},
		{"ciphertext altered", join(p[0], p[1], p[2], flip(p[3]), p[4]), "authentication failed", nil},
		{"IV altered", join(p[0], p[1], flip(p[2]), p[3], p[4]), "authentication failed", nil},
		{"tag truncated", join(p[0], p[1], p[2], p[3], p[4][:20]), "tag is 15 bytes", nil},
		{"tag missing", join(p[0], p[1], p[2], p[3], ""), "tag is 0 bytes", nil},
		{"IV of 8 bytes", join(p[0], p[1], "AAAAAAAAAAA", p[3], p[4]), "IV is 8 bytes", nil},
		{"IV empty", join(p[0], p[1], "", p[3], p[4]), "IV is 0 bytes", nil},
		{"wrong session key", good, "authentication failed", otherSessionKey},
		{"short session key", good, "session key is 16 bytes", testSessionKey[:16]},
		{"CBC ciphertext not whole blocks", join(pc[0], pc[1], pc[2], pc[3][:20], ""), "not a positive multiple", nil},
		{"CBC ciphertext empty", join(pc[0], pc[1], pc[2], "", ""), "not a positive multiple", nil},
		{"CBC under another key", goodCBC, "padding is invalid", otherSessionKey},
		{"CBC last block altered", join(pc[0], pc[1], pc[2], pc[3][:len(pc[3])-2]+"AA", ""), "padding is invalid", nil},
	}
	for _, c := range cases {
		key := c.key
		if key == nil {
			key = testSessionKey
		}
		_, _, err := DecryptJWE(c.jwe, key)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "msjose: JWE: ") {
			t.Errorf("%s: err = %v, want msjose: JWE: ...%s...", c.name, err, c.want)
		}
		mustNotLeak(t, err, testSessionKey, otherSessionKey, []byte("the plaintext"), DeriveKey(testSessionKey, make([]byte, 24)))
	}
	// Surrounding white space is ignored, as in an HTTP body.
	if _, _, err := DecryptJWE(" "+good+"\r\n", testSessionKey); err != nil {
		t.Errorf("trailing newline: %v", err)
	}
	// The header part is the AAD as it appeared, whatever base64 it used:
	// a padded header that is otherwise the same does not authenticate.
	j, err := ParseJWE(good)
	if err != nil {
		t.Fatal(err)
	}
	if j.Protected != p[0] {
		t.Error("Protected is not the header part")
	}
}

func TestPKCS7UnpadExhaustive(t *testing.T) {
	// Every last byte and every position of one wrong byte.
	for p := 0; p < 256; p++ {
		for wrong := -1; wrong < aes.BlockSize; wrong++ {
			b := make([]byte, 2*aes.BlockSize)
			for i := range b {
				b[i] = 0xee
			}
			valid := p >= 1 && p <= aes.BlockSize
			for i := 1; i <= aes.BlockSize && i <= p; i++ {
				b[len(b)-i] = byte(p)
			}
			if wrong >= 1 && valid && wrong < p {
				b[len(b)-1-wrong] ^= 0x01
				valid = false
			}
			n, ok := pkcs7Unpad(b)
			if ok != valid || (ok && n != len(b)-p) {
				t.Fatalf("p=%d wrong=%d: got (%d, %v), want valid=%v", p, wrong, n, ok, valid)
			}
		}
	}
}

func TestDecodeB64(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"", "", true},
		{"-_8", "fbff", true},
		{"+/8", "fbff", true},
		{"+/8=", "fbff", true},
		{"-_8=", "fbff", true},
		{"AA==", "00", true},
		{"AA", "00", true},
		{"AA=", "", false},   // half padding
		{"AAA==", "", false}, // too much padding
		{"A===", "", false},
		{"A", "", false},
		{"+_8", "", false}, // mixed alphabets
		{"AB", "", false},  // stray bits
		{"AA AA", "", false},
		{"AA\nAA", "", false},
	} {
		got, err := decodeB64(c.in)
		if (err == nil) != c.ok {
			t.Errorf("%q: err = %v, want ok=%v", c.in, err, c.ok)
			continue
		}
		if c.ok && c.want != "" && (len(got) == 0 || string(got) != string(unhex(t, c.want))) {
			t.Errorf("%q: got %x, want %s", c.in, got, c.want)
		}
	}
	// The error names the offset, not the byte.
	_, err := decodeB64("AAAA#AAA")
	if err == nil || strings.Contains(err.Error(), "#") {
		t.Errorf("err = %v", err)
	}
}

func TestSessionKeyJWERoundTrip(t *testing.T) {
	tk := testKey(t, "test_transport_key.pem")
	dk := testKey(t, "test_device_key.pem")
	s, err := EncryptSessionKeyJWE(testSessionKey, &tk.PublicKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s, b64j(`{"enc":"A256GCM","alg":"RSA-OAEP"}`)+".") {
		t.Errorf("header part of %q", s)
	}
	k, err := DecryptSessionKeyJWE(s, tk)
	if err != nil || !bytes.Equal(k, testSessionKey) {
		t.Fatalf("round trip: %v", err)
	}
	// A well-formed RFC 7516 JWE: the content opens under the session key.
	j, err := ParseJWE(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := openEmptyGCM(testSessionKey, j); err != nil {
		t.Errorf("content: %v", err)
	}
	_, err = DecryptSessionKeyJWE(s, dk)
	if err == nil || !strings.Contains(err.Error(), "transport key") {
		t.Errorf("device key instead of transport key: %v", err)
	}
	mustNotLeak(t, err, testSessionKey)
	p := strings.Split(s, ".")
	for _, c := range []struct{ name, jwe, want string }{
		{"4 parts", strings.Join(p[:4], "."), "4 parts"},
		{"no encrypted key", strings.Join([]string{p[0], "", p[2], p[3], p[4]}, "."), "encrypted key is empty"},
		{"encrypted key too long", strings.Join([]string{p[0], p[1] + "AAAA", p[2], p[3], p[4]}, "."), "longer than"},
		{"encrypted key not base64", strings.Join([]string{p[0], "**", p[2], p[3], p[4]}, "."), "encrypted key: malformed"},
		{"header not JSON", strings.Join([]string{b64j("x"), p[1], p[2], p[3], p[4]}, "."), "JSON"},
		{"alg dir", strings.Join([]string{b64j(`{"alg":"dir"}`), p[1], p[2], p[3], p[4]}, "."), `alg "dir"`},
	} {
		_, err := DecryptSessionKeyJWE(c.jwe, tk)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "msjose: session_key_jwe: ") {
			t.Errorf("%s: err = %v, want ...%s...", c.name, err, c.want)
		}
	}
	if _, err := DecryptSessionKeyJWE(s, nil); err == nil {
		t.Error("nil transport key accepted")
	}
	if _, err := EncryptSessionKeyJWE(testSessionKey[:31], &tk.PublicKey, nil); err == nil {
		t.Error("31-byte session key encrypted")
	}
	if _, err := EncryptSessionKeyJWE(testSessionKey, nil, nil); err == nil {
		t.Error("nil transport key accepted")
	}
}

// An RSA ciphertext whose first byte is zero, written without it, is the
// same number: DecryptSessionKeyJWE restores the byte.
func TestSessionKeyJWEShortCiphertext(t *testing.T) {
	tk := testKey(t, "test_transport_key.pem")
	var ek []byte
	// About one ciphertext in 256 starts with a zero byte: 100,000 tries
	// find one with a certainty beyond doubt, in well under a second.
	for i := 0; i < 100000; i++ {
		c, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, &tk.PublicKey, testSessionKey, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c[0] == 0 {
			ek = c[1:]
			break
		}
	}
	if ek == nil {
		t.Fatal("no ciphertext with a leading zero in 100,000 tries")
	}
	s := strings.Join([]string{b64j(`{"alg":"RSA-OAEP"}`), b64url(ek), "", "", ""}, ".")
	k, err := DecryptSessionKeyJWE(s, tk)
	if err != nil || !bytes.Equal(k, testSessionKey) {
		t.Errorf("shortened ciphertext: %v", err)
	}
}
