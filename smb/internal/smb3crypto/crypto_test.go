package smb3crypto

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// vectors reads testdata/vectors.txt, made by testdata/vectors.py with
// an independent implementation (python3-cryptography).
func vectors(t *testing.T) [][]string {
	f, err := os.Open("testdata/vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, strings.Fields(sc.Text()))
	}
	return out
}

// vectorMessage is the message testdata/vectors.py signs and encrypts:
// 1000 bytes counting up, signature field zeroed.
func vectorMessage() []byte {
	m := make([]byte, 1000)
	for i := range m {
		m[i] = byte(i)
	}
	clear(m[48:64])
	return m
}

var (
	key16 = func() []byte {
		k := make([]byte, 16)
		for i := range k {
			k[i] = byte(0x10 + i)
		}
		return k
	}()
	key32 = func() []byte {
		k := make([]byte, 32)
		for i := range k {
			k[i] = byte(0x40 + i)
		}
		return k
	}()
)

func TestKDFVectors(t *testing.T) {
	n := 0
	for _, v := range vectors(t) {
		if v[0] != "kdf" {
			continue
		}
		n++
		bits, _ := strconv.Atoi(v[4])
		got := KDF(unhex(t, v[1]), unhex(t, v[2]), unhex(t, v[3]), bits)
		if want := unhex(t, v[5]); !bytes.Equal(got, want) {
			t.Errorf("KDF(%s, L=%d) = %x, want %x", v[2], bits, got, want)
		}
	}
	if n != 3 {
		t.Fatalf("%d KDF vectors", n)
	}
}

// TestCMACRFC4493 runs the test vectors of RFC 4493 section 4.
func TestCMACRFC4493(t *testing.T) {
	key := unhex(t, "2b7e151628aed2a6abf7158809cf4f3c")
	msg := unhex(t, "6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51 30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710")
	b, _ := aes.NewCipher(key)
	s := newCMAC(b, key)
	for _, tc := range []struct {
		n    int
		want string
	}{
		{0, "bb1d6929e95937287fa37d129b756746"},
		{16, "070a16b46b4d4144f79bdd9dd04a287c"},
		{40, "dfa66747de9ae63030ca32611497c827"},
		{64, "51f0bebf7e3b9d92fc49741779363cfe"},
	} {
		var out [16]byte
		s.mac(msg[:tc.n], &out)
		if hex.EncodeToString(out[:]) != tc.want {
			t.Errorf("CMAC of %d bytes = %x, want %s", tc.n, out, tc.want)
		}
	}
}

// TestCMACLong checks a message longer than the CBC scratch chunk against
// the block-by-block definition.
func TestCMACLong(t *testing.T) {
	b, _ := aes.NewCipher(key16)
	s := newCMAC(b, key16)
	for _, n := range []int{cmacChunk - 1, cmacChunk, cmacChunk + 1, 3*cmacChunk + 17} {
		msg := make([]byte, n)
		for i := range msg {
			msg[i] = byte(i * 7)
		}
		var got, want [16]byte
		s.mac(msg, &got)
		slowCMAC(s, msg, &want)
		if got != want {
			t.Errorf("%d bytes: %x, want %x", n, got, want)
		}
	}
}

func slowCMAC(s *cmacSigner, m []byte, out *[16]byte) {
	var x [16]byte
	for len(m) > 16 {
		for i := range x {
			x[i] ^= m[i]
		}
		s.block.Encrypt(x[:], x[:])
		m = m[16:]
	}
	var last [16]byte
	copy(last[:], m)
	k := s.k1
	if len(m) < 16 {
		last[len(m)] = 0x80
		k = s.k2
	}
	for i := range x {
		x[i] ^= last[i] ^ k[i]
	}
	s.block.Encrypt(out[:], x[:])
}

func TestSignVectors(t *testing.T) {
	for _, v := range vectors(t) {
		var alg uint16
		switch v[0] {
		case "cmac":
			alg = SigningAESCMAC
		case "gmac":
			alg = SigningAESGMAC
		default:
			continue
		}
		s, err := NewSigner(alg, key16)
		if err != nil {
			t.Fatal(err)
		}
		msg := vectorMessage()
		s.Sign(msg)
		if got := hex.EncodeToString(msg[48:64]); got != v[1] {
			t.Errorf("%s signature %s, want %s", SigningName(alg), got, v[1])
		}
		before := bytes.Clone(msg)
		if !s.Verify(msg) {
			t.Errorf("%s: a signed message does not verify", SigningName(alg))
		}
		if !bytes.Equal(msg, before) {
			t.Errorf("%s: Verify changed the message", SigningName(alg))
		}
		for _, off := range []int{0, 20, 48, 63, 64, 999} {
			msg[off] ^= 1
			if s.Verify(msg) {
				t.Errorf("%s: a message with byte %d flipped verifies", SigningName(alg), off)
			}
			msg[off] ^= 1
		}
		if s.Verify(msg[:63]) {
			t.Errorf("%s: a short message verifies", SigningName(alg))
		}
	}
}

// TestGMACNonce checks the role and CANCEL bits of the GMAC nonce: the
// same bytes signed as a request, a response and a CANCEL give three
// different signatures.
func TestGMACNonce(t *testing.T) {
	s, _ := NewSigner(SigningAESGMAC, key16)
	sig := func(flags uint32, cmd uint16) [16]byte {
		m := vectorMessage()
		binary.LittleEndian.PutUint32(m[16:], flags)
		binary.LittleEndian.PutUint16(m[12:], cmd)
		s.Sign(m)
		n := gmacNonce(m)
		if binary.LittleEndian.Uint64(n[:]) != binary.LittleEndian.Uint64(m[24:]) {
			t.Errorf("nonce %x does not start with the message id", n)
		}
		return [16]byte(m[48:64])
	}
	req, resp, cancel := sig(8, 5), sig(9, 5), sig(8, 0x0C)
	if req == resp || req == cancel || resp == cancel {
		t.Errorf("signatures %x %x %x are not all different", req, resp, cancel)
	}
	if n := gmacNonce(func() []byte { m := vectorMessage(); m[16] = 1; m[12], m[13] = 0x0C, 0; return m }()); n[8] != 3 {
		t.Errorf("a CANCEL response's nonce has flags %#x, want 3", n[8])
	}
}

func TestSignerErrors(t *testing.T) {
	if _, err := NewSigner(SigningAESGMAC, key32); err == nil {
		t.Error("a 32-byte signing key is accepted")
	}
	if _, err := NewSigner(SigningHMACSHA256, key16); err == nil {
		t.Error("HMAC-SHA256 (SMB 2.x signing) is accepted")
	}
	if _, err := NewSigner(7, key16); err == nil || !strings.Contains(err.Error(), "0x7") {
		t.Errorf("unknown algorithm: %v", err)
	}
}

// TestCCMRFC3610 runs packet vectors 1 and 2 of RFC 3610 (8-byte tags,
// 13-byte nonces).
func TestCCMRFC3610(t *testing.T) {
	key := unhex(t, "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf")
	b, _ := aes.NewCipher(key)
	c, err := newCCM(b, 13, 8)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ nonce, packet, want string }{
		{"00000003020100a0a1a2a3a4a5",
			"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e",
			"588c979a61c663d2f066d0c2c0f989806d5f6b61dac38417e8d12cfdf926e0"},
		{"00000004030201a0a1a2a3a4a5",
			"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
			"72c91a36e135f8cf291ca894085c87e3cc15c439c9e43a3ba091d56e10400916"},
	} {
		nonce, packet := unhex(t, tc.nonce), unhex(t, tc.packet)
		aad, plain := packet[:8], packet[8:]
		got := c.Seal(nil, nonce, plain, aad)
		if hex.EncodeToString(got) != tc.want {
			t.Errorf("nonce %s: %x, want %s", tc.nonce, got, tc.want)
			continue
		}
		back, err := c.Open(nil, nonce, got, aad)
		if err != nil || !bytes.Equal(back, plain) {
			t.Errorf("nonce %s: open gives %x, %v", tc.nonce, back, err)
		}
		got[3] ^= 0x40
		if _, err := c.Open(nil, nonce, got, aad); err == nil {
			t.Errorf("nonce %s: a changed ciphertext opens", tc.nonce)
		}
	}
}

var vectorCiphers = map[string]uint16{
	"ccm128": CipherAES128CCM, "gcm128": CipherAES128GCM,
	"ccm256": CipherAES256CCM, "gcm256": CipherAES256GCM,
}

// TestOpenVectors opens transform frames made by an independent
// implementation, and re-seals the plaintext with the same nonce.
func TestOpenVectors(t *testing.T) {
	n := 0
	for _, v := range vectors(t) {
		if v[0] != "frame" {
			continue
		}
		n++
		id := vectorCiphers[v[1]]
		key := key16
		if keyBits(id) == 256 {
			key = key32
		}
		frame := unhex(t, v[2])
		o, err := NewOpener(id, key)
		if err != nil {
			t.Fatal(err)
		}
		// Without spare capacity, and with it.
		for _, f := range [][]byte{bytes.Clone(frame), append(make([]byte, 0, len(frame)+16), frame...)} {
			plain, sid, err := o.Open(f)
			if err != nil {
				t.Fatalf("%s: %v", CipherName(id), err)
			}
			if sid != 0x1122334455667788 || !bytes.Equal(plain, vectorMessage()) {
				t.Errorf("%s: session %#x, plaintext %x...", CipherName(id), sid, plain[:16])
			}
		}
		for _, off := range []int{4, 20, 36, 44, 52, len(frame) - 1} {
			f := bytes.Clone(frame)
			f[off] ^= 0x80
			if _, _, err := o.Open(f); err == nil {
				t.Errorf("%s: a frame with byte %d flipped opens", CipherName(id), off)
			}
		}
		// A key cut to 16 bytes must not open an AES-256 frame (the
		// classic truncation bug).
		if keyBits(id) == 256 {
			if _, err := NewOpener(id, key[:16]); err == nil {
				t.Errorf("%s accepts a 16-byte key", CipherName(id))
			}
			other := id - 2 // the AES-128 cipher of the same mode
			o16, _ := NewOpener(other, key[:16])
			if _, _, err := o16.Open(bytes.Clone(frame)); err == nil {
				t.Errorf("%s frame opens with the first 16 bytes of its key", CipherName(id))
			}
		}
		// Seal with the vector's nonce: the same frame.
		s, _ := NewSealer(id, key)
		ss := s.(*sealer)
		nl := ss.aead.NonceSize()
		ss.ctr.Store(binary.LittleEndian.Uint64(frame[20:]) - 1)
		copy(ss.prefix[:], frame[28:20+nl])
		buf := make([]byte, 4+TransformHeaderSize, 4+len(frame)+16)
		buf = append(buf, vectorMessage()...)
		out, err := s.Seal(buf[:4], buf[4+TransformHeaderSize:], 0x1122334455667788)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out[4:], frame) {
			t.Errorf("%s: sealed frame differs from the vector", CipherName(id))
		}
		if &out[0] != &buf[0] {
			t.Errorf("%s: Seal did not work in place", CipherName(id))
		}
	}
	if n != 4 {
		t.Fatalf("%d frame vectors", n)
	}
}

func TestSealOpenRoundTrip(t *testing.T) {
	for _, id := range []uint16{CipherAES128CCM, CipherAES128GCM, CipherAES256CCM, CipherAES256GCM} {
		key := key16
		if keyBits(id) == 256 {
			key = key32
		}
		s, _ := NewSealer(id, key)
		o, _ := NewOpener(id, key)
		for _, n := range []int{64, 65, 4096, 1 << 20} {
			msg := make([]byte, n)
			for i := range msg {
				msg[i] = byte(i)
			}
			// msg not in place: Seal copies.
			out, err := s.Seal([]byte{0, 0, 0, 0}, msg, 42)
			if err != nil {
				t.Fatal(err)
			}
			plain, sid, err := o.Open(out[4:])
			if err != nil || sid != 42 || len(plain) != n || plain[n-1] != byte(n-1) {
				t.Fatalf("%s %d bytes: %v, session %d", CipherName(id), n, err, sid)
			}
			// Out of place into a buffer with room: msg is left intact
			// (a WRITE frame is sent again after a re-authentication).
			dst := make([]byte, 4, 4+TransformHeaderSize+n+16)
			out, err = s.Seal(dst, msg, 43)
			if err != nil {
				t.Fatal(err)
			}
			if &out[0] != &dst[0] {
				t.Fatalf("%s %d bytes: Seal allocated although dst had room", CipherName(id), n)
			}
			for i := range msg {
				if msg[i] != byte(i) {
					t.Fatalf("%s %d bytes: Seal changed msg at %d", CipherName(id), n, i)
				}
			}
			plain, sid, err = o.Open(out[4:])
			if err != nil || sid != 43 || len(plain) != n || plain[n-1] != byte(n-1) {
				t.Fatalf("%s %d bytes out of place: %v, session %d", CipherName(id), n, err, sid)
			}
		}
	}
}

// TestNonceUnique seals from many goroutines and checks no nonce repeats.
func TestNonceUnique(t *testing.T) {
	s, _ := NewSealer(CipherAES256GCM, key32)
	const workers, each = 8, 2000
	var mu sync.Mutex
	seen := map[[16]byte]bool{}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				out, err := s.Seal(nil, make([]byte, 64), 1)
				if err != nil {
					t.Error(err)
					return
				}
				n, _ := NonceOf(out)
				mu.Lock()
				seen[n] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != workers*each {
		t.Fatalf("%d distinct nonces in %d messages", len(seen), workers*each)
	}
	// Two sealers with the same key start at different points.
	s2, _ := NewSealer(CipherAES256GCM, key32)
	out, _ := s2.Seal(nil, make([]byte, 64), 1)
	if n, _ := NonceOf(out); seen[n] {
		t.Fatal("a second sealer repeats a nonce of the first")
	}
}

func TestParseTransformHeader(t *testing.T) {
	s, _ := NewSealer(CipherAES128GCM, key16)
	good, _ := s.Seal(nil, make([]byte, 64), 7)
	if h, err := ParseTransformHeader(good); err != nil || h.SessionID != 7 || h.OriginalMessageSize != 64 {
		t.Fatalf("%+v %v", h, err)
	}
	for name, f := range map[string]func([]byte) []byte{
		"short":     func(b []byte) []byte { return b[:51] },
		"protocol":  func(b []byte) []byte { b[0] = 0xFE; return b },
		"flags":     func(b []byte) []byte { b[42] = 0; return b },
		"size":      func(b []byte) []byte { b[36]++; return b },
		"truncated": func(b []byte) []byte { return b[:len(b)-1] },
		"tiny": func(b []byte) []byte {
			b = b[:52+10]
			binary.LittleEndian.PutUint32(b[36:], 10)
			return b
		},
	} {
		if _, err := ParseTransformHeader(f(bytes.Clone(good))); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestDeriveKeys(t *testing.T) {
	preauth := make([]byte, 64)
	for i := range preauth {
		preauth[i] = byte(i)
	}
	// The vector file's 3.1.1 signing key and AES-256 C2S key.
	k, err := DeriveKeys(0x0311, key16, preauth, CipherAES128GCM)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, v := range vectors(t) {
		if v[0] == "kdf" {
			want[v[1]+v[2]] = v[5]
		}
	}
	if got := hex.EncodeToString(k.Signing); got != want[hex.EncodeToString(key16)+hex.EncodeToString([]byte("SMBSigningKey\x00"))] {
		t.Errorf("3.1.1 signing key %s", got)
	}
	k256, err := DeriveKeys(0x0311, key32, preauth, CipherAES256GCM)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(k256.Encryption); got != want[hex.EncodeToString(key32)+hex.EncodeToString([]byte("SMBC2SCipherKey\x00"))] {
		t.Errorf("3.1.1 AES-256 encryption key %s", got)
	}
	if len(k256.Encryption) != 32 || len(k256.Decryption) != 32 || len(k256.Signing) != 16 {
		t.Errorf("AES-256 key sizes %d %d %d", len(k256.Encryption), len(k256.Decryption), len(k256.Signing))
	}
	// With AES-128 only the first 16 bytes of the session key count.
	a, _ := DeriveKeys(0x0311, key32, preauth, CipherAES128GCM)
	b, _ := DeriveKeys(0x0311, key32[:16], preauth, CipherAES128GCM)
	if !bytes.Equal(a.Encryption, b.Encryption) || !bytes.Equal(a.Signing, b.Signing) {
		t.Error("AES-128 keys depend on bytes past the 16th of the session key")
	}
	// With AES-256 all 32 bytes count for the cipher keys; the signing
	// and application keys still come from Session.SessionKey, the first
	// 16 (Samba signs the final SESSION_SETUP response so, and
	// smb/engine_e2e_test.go's AES-256 cases verify it).
	c, _ := DeriveKeys(0x0311, append(key32[:16:16], make([]byte, 16)...), preauth, CipherAES256GCM)
	if bytes.Equal(c.Encryption, k256.Encryption) || bytes.Equal(c.Decryption, k256.Decryption) {
		t.Error("AES-256 cipher keys ignore the last 16 bytes of the session key")
	}
	if !bytes.Equal(c.Signing, k256.Signing) || !bytes.Equal(c.Application, k256.Application) {
		t.Error("AES-256 signing or application key depends on bytes past the 16th of the session key")
	}
	if !bytes.Equal(k256.Signing, a.Signing) {
		t.Error("the signing key depends on the cipher")
	}
	d, _ := DeriveKeys(0x0300, key16, nil, CipherAES128CCM)
	if got := hex.EncodeToString(d.Signing); got != want[hex.EncodeToString(key16)+hex.EncodeToString([]byte("SMB2AESCMAC\x00"))] {
		t.Errorf("3.0 signing key %s", got)
	}
	if bytes.Equal(d.Encryption, d.Decryption) || bytes.Equal(k.Encryption, k.Decryption) {
		t.Error("the two directions share a key")
	}
	for name, f := range map[string]func() error{
		"no key":         func() error { _, err := DeriveKeys(0x0311, nil, preauth, 0); return err },
		"short preauth":  func() error { _, err := DeriveKeys(0x0311, key16, preauth[:10], 0); return err },
		"2.1":            func() error { _, err := DeriveKeys(0x0210, key16, nil, 0); return err },
		"AES-256 on 3.0": func() error { _, err := DeriveKeys(0x0300, key32, nil, CipherAES256GCM); return err },
		"cipher 9":       func() error { _, err := DeriveKeys(0x0311, key16, preauth, 9); return err },
	} {
		if f() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	k.Zero()
	if !bytes.Equal(k.Signing, make([]byte, 16)) || !bytes.Equal(k.Encryption, make([]byte, 16)) {
		t.Error("Zero left key bytes")
	}
}

func TestPreauthHash(t *testing.T) {
	var h PreauthHash
	h.Update([]byte("negotiate request"))
	h.Update([]byte("negotiate response"))
	// The definition: H1 = SHA-512(64 zero bytes || m1), H2 = SHA-512(H1 || m2).
	h1 := sha512.Sum512(append(make([]byte, 64), "negotiate request"...))
	h2 := sha512.Sum512(append(h1[:], "negotiate response"...))
	if h != PreauthHash(h2) {
		t.Fatalf("%x, want %x", h, h2)
	}
}

func TestNames(t *testing.T) {
	if CipherName(CipherAES256GCM) != "AES-256-GCM" || SigningName(SigningAESGMAC) != "AES-128-GMAC" || CipherName(0) != "none" {
		t.Fatal(CipherName(CipherAES256GCM), SigningName(SigningAESGMAC))
	}
}
