package msjose

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

const (
	// maxCompactLen bounds a compact JWE or JWS. The largest Entra sends is
	// the PRT refresh response (tokens and one or two TGTs with PACs):
	// tens of KiB.
	maxCompactLen = 4 << 20
	// maxHeaderLen bounds a decoded protected header.
	maxHeaderLen = 16 << 10
	// maxCtxLen bounds a decoded ctx. Entra's are 24 bytes.
	maxCtxLen = 1024
	// ctxSize is the size of the ctx this package generates, as Windows does.
	ctxSize = 24

	gcmIVSize  = 12
	gcmTagSize = 16
	cbcIVSize  = aes.BlockSize
)

// Cipher is the content encryption of a session-key-derived JWE.
type Cipher int

const (
	// AES256GCM is AES-256-GCM with a 12-byte IV, a 16-byte tag and the
	// base64url protected header as additional data: what [MS-OAPXBC]
	// section 3.2.5.1.3.2 specifies ("enc": "A256GCM"). It is the zero value.
	AES256GCM Cipher = iota
	// AES256CBC is AES-256-CBC with a 16-byte IV and PKCS#7 padding, which
	// Entra also sends. It has no tag: the tag part is empty.
	AES256CBC
)

// String names the cipher.
func (c Cipher) String() string {
	switch c {
	case AES256GCM:
		return "AES-256-GCM"
	case AES256CBC:
		return "AES-256-CBC"
	}
	return fmt.Sprintf("Cipher(%d)", int(c))
}

// JWEHeader is the decoded protected header of a JWE.
type JWEHeader struct {
	// Alg is the "alg" value: "dir" for a session-key-derived JWE,
	// "RSA-OAEP" for session_key_jwe; "" when absent.
	Alg string
	// Enc is the "enc" value; "" when absent. Decryption does not rely on
	// it: the IV size says which cipher was used.
	Enc string
	// Kid is the "kid" value ("session" in Entra's responses); "" when
	// absent.
	Kid string
	// Ctx is the decoded "ctx" value, the KDF context; nil when absent.
	Ctx []byte
	// KDFVer is the "kdf_ver" value; 0 when absent.
	KDFVer int
	// JSON is the header as decoded, for fields this type does not name.
	JSON []byte
}

// rawJWEHeader is the JSON form. Pointers tell absent from empty.
type rawJWEHeader struct {
	Alg    *string `json:"alg"`
	Enc    *string `json:"enc"`
	Kid    *string `json:"kid"`
	Ctx    *string `json:"ctx"`
	KDFVer *int    `json:"kdf_ver"`
}

// parseJWEHeader decodes a protected header. Errors do not quote it.
func parseJWEHeader(b []byte) (JWEHeader, error) {
	if len(b) > maxHeaderLen {
		return JWEHeader{}, fmt.Errorf("protected header of %d bytes is larger than the %d allowed", len(b), maxHeaderLen)
	}
	if err := checkJSONObject(b); err != nil {
		return JWEHeader{}, fmt.Errorf("protected header: %w", err)
	}
	var raw rawJWEHeader
	if err := json.Unmarshal(b, &raw); err != nil {
		return JWEHeader{}, errors.New("protected header: alg, enc, kid and ctx must be strings and kdf_ver an integer")
	}
	h := JWEHeader{JSON: append([]byte(nil), b...)}
	if raw.Alg != nil {
		h.Alg = *raw.Alg
	}
	if raw.Enc != nil {
		h.Enc = *raw.Enc
	}
	if raw.Kid != nil {
		h.Kid = *raw.Kid
	}
	if raw.KDFVer != nil {
		h.KDFVer = *raw.KDFVer
	}
	if raw.Ctx != nil {
		ctx, err := decodeB64(*raw.Ctx)
		if err != nil {
			return JWEHeader{}, fmt.Errorf("ctx: %w", err)
		}
		if len(ctx) > maxCtxLen {
			return JWEHeader{}, fmt.Errorf("ctx of %d bytes is longer than the %d allowed", len(ctx), maxCtxLen)
		}
		if len(ctx) == 0 {
			return JWEHeader{}, errors.New("ctx is empty")
		}
		h.Ctx = ctx
	}
	return h, nil
}

// JWE is a compact JWE split into its five parts (RFC 7516 section 7.1).
type JWE struct {
	// Header is the decoded protected header.
	Header JWEHeader
	// Protected is the protected header as it appeared, base64url: the
	// additional authenticated data of AES-GCM.
	Protected string
	// EncryptedKey, IV, Ciphertext and Tag are the other four parts, decoded.
	EncryptedKey, IV, Ciphertext, Tag []byte
}

// ParseJWE splits a compact JWE into its parts and decodes them. Each part
// may be base64url or standard base64, with or without padding; the
// protected header must be one JSON object whose alg, enc and kid, if
// present, are strings, whose ctx is base64 and whose kdf_ver is an
// integer. Surrounding white space (a trailing newline in an HTTP body) is
// ignored. ParseJWE checks structure only; [JWE.Decrypt] checks the rest.
func ParseJWE(compact string) (*JWE, error) {
	j, err := parseJWE(compact)
	if err != nil {
		return nil, fmt.Errorf("msjose: JWE: %w", err)
	}
	return j, nil
}

func parseJWE(compact string) (*JWE, error) {
	compact = strings.TrimSpace(compact)
	if len(compact) > maxCompactLen {
		return nil, fmt.Errorf("%d bytes, more than the %d allowed", len(compact), maxCompactLen)
	}
	parts := strings.Split(compact, ".")
	if len(parts) != 5 {
		return nil, fmt.Errorf("compact serialization has %d parts, want 5", len(parts))
	}
	if parts[0] == "" {
		return nil, errors.New("protected header is empty")
	}
	hb, err := decodeB64(parts[0])
	if err != nil {
		return nil, fmt.Errorf("protected header: %w", err)
	}
	h, err := parseJWEHeader(hb)
	if err != nil {
		return nil, err
	}
	j := &JWE{Header: h, Protected: parts[0]}
	for i, dst := range []*[]byte{&j.EncryptedKey, &j.IV, &j.Ciphertext, &j.Tag} {
		b, err := decodeB64(parts[i+1])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", partNames[i+1], err)
		}
		*dst = b
	}
	return j, nil
}

var partNames = [5]string{"protected header", "encrypted key", "IV", "ciphertext", "authentication tag"}

// Decrypt decrypts a JWE under the key derived from sessionKey and the
// header's ctx with [DeriveKey]. The header's alg must be "dir" or absent
// (any other key management, "none" included, is refused) and ctx must be
// present. The IV size picks the cipher: 12 bytes AES-256-GCM (the tag
// must be 16 bytes and is checked, with the protected header as additional
// data), 16 bytes AES-256-CBC with PKCS#7 padding, checked strictly (the
// tag part is not used).
//
// The derivation context is ctx itself even when the header carries
// kdf_ver: the kdf_ver 2 context hashes a signed payload, and a JWE has
// none before it is decrypted. Entra's responses to kdf_ver 2 requests are
// decrypted this way by other clients.
func (j *JWE) Decrypt(sessionKey []byte) ([]byte, error) {
	pt, err := j.decrypt(sessionKey)
	if err != nil {
		return nil, fmt.Errorf("msjose: JWE: %w", err)
	}
	return pt, nil
}

func (j *JWE) decrypt(sessionKey []byte) ([]byte, error) {
	if len(sessionKey) != SessionKeySize {
		return nil, fmt.Errorf("session key is %d bytes, want %d", len(sessionKey), SessionKeySize)
	}
	switch j.Header.Alg {
	case "", "dir":
	default:
		return nil, fmt.Errorf("alg %q is not a session-key-derived JWE (want \"dir\")", clip(j.Header.Alg))
	}
	if j.Header.Ctx == nil {
		return nil, errors.New("protected header has no ctx to derive the key from")
	}
	key := DeriveKey(sessionKey, j.Header.Ctx)
	defer clear(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err // not reached: the key is 32 bytes
	}
	switch len(j.IV) {
	case gcmIVSize:
		if len(j.Tag) != gcmTagSize {
			return nil, fmt.Errorf("AES-GCM tag is %d bytes, want %d", len(j.Tag), gcmTagSize)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		sealed := make([]byte, 0, len(j.Ciphertext)+len(j.Tag))
		sealed = append(append(sealed, j.Ciphertext...), j.Tag...)
		pt, err := aead.Open(sealed[:0], j.IV, sealed, []byte(j.Protected))
		if err != nil {
			return nil, errors.New("AES-GCM authentication failed (wrong session key, or the JWE was altered)")
		}
		return pt, nil
	case cbcIVSize:
		if len(j.Ciphertext) == 0 || len(j.Ciphertext)%aes.BlockSize != 0 {
			return nil, fmt.Errorf("AES-CBC ciphertext of %d bytes is not a positive multiple of %d", len(j.Ciphertext), aes.BlockSize)
		}
		pt := make([]byte, len(j.Ciphertext))
		cipher.NewCBCDecrypter(block, j.IV).CryptBlocks(pt, j.Ciphertext)
		n, ok := pkcs7Unpad(pt)
		if !ok {
			clear(pt)
			return nil, errors.New("AES-CBC padding is invalid (wrong session key, or the JWE was altered)")
		}
		return pt[:n], nil
	default:
		return nil, fmt.Errorf("IV is %d bytes: want %d (AES-GCM) or %d (AES-CBC)", len(j.IV), gcmIVSize, cbcIVSize)
	}
}

// pkcs7Unpad checks PKCS#7 padding of a non-empty multiple of the block
// size and returns the unpadded length. The last block is examined in
// constant time, so the time taken does not say how the padding failed.
func pkcs7Unpad(b []byte) (int, bool) {
	n := len(b)
	p := int(b[n-1])
	good := subtle.ConstantTimeLessOrEq(1, p) & subtle.ConstantTimeLessOrEq(p, aes.BlockSize)
	for i := 1; i <= aes.BlockSize; i++ {
		inPad := subtle.ConstantTimeLessOrEq(i, p)
		eq := subtle.ConstantTimeByteEq(b[n-i], byte(p))
		good &= subtle.ConstantTimeSelect(inPad, eq, 1)
	}
	return n - p, good == 1
}

// DecryptJWE is [ParseJWE] followed by [JWE.Decrypt]: it returns the
// plaintext and the decoded header.
func DecryptJWE(compact string, sessionKey []byte) ([]byte, *JWEHeader, error) {
	j, err := ParseJWE(compact)
	if err != nil {
		return nil, nil, err
	}
	pt, err := j.Decrypt(sessionKey)
	if err != nil {
		return nil, nil, err
	}
	return pt, &j.Header, nil
}

// EncryptOptions tunes [EncryptJWE]. The zero value (or nil) gives what
// [MS-OAPXBC] specifies: AES-256-GCM, a random 24-byte ctx in standard
// base64, randomness from crypto/rand.
type EncryptOptions struct {
	// Cipher is the content encryption; the zero value is AES256GCM.
	Cipher Cipher
	// Rand is the source of ctx and IV; nil means crypto/rand.Reader.
	// Tests pass a fixed reader for reproducible output.
	Rand io.Reader
	// URLSafeCtx writes ctx in base64url instead of standard base64 (a
	// variant decoders must accept).
	URLSafeCtx bool
}

// jweOutHeader fixes the member order of the headers this package writes.
type jweOutHeader struct {
	Alg string `json:"alg"`
	Enc string `json:"enc"`
	Ctx string `json:"ctx"`
	Kid string `json:"kid"`
}

// EncryptJWE encrypts plaintext into a compact JWE under the key derived
// from sessionKey and a fresh random ctx: the form of Entra's PRT refresh
// responses and of tgt_cloud's clientKey. The header is
// {"alg":"dir","enc":...,"ctx":...,"kid":"session"}, enc being "A256GCM" or,
// for AES-256-CBC, "A256CBC" (decoders go by the IV size, not by enc).
func EncryptJWE(plaintext, sessionKey []byte, opts *EncryptOptions) (string, error) {
	s, err := encryptJWE(plaintext, sessionKey, opts)
	if err != nil {
		return "", fmt.Errorf("msjose: JWE: encrypt: %w", err)
	}
	return s, nil
}

func encryptJWE(plaintext, sessionKey []byte, opts *EncryptOptions) (string, error) {
	if opts == nil {
		opts = &EncryptOptions{}
	}
	if len(sessionKey) != SessionKeySize {
		return "", fmt.Errorf("session key is %d bytes, want %d", len(sessionKey), SessionKeySize)
	}
	if len(plaintext) > maxCompactLen/2 {
		return "", fmt.Errorf("plaintext of %d bytes is larger than decoders accept", len(plaintext))
	}
	r := opts.Rand
	if r == nil {
		r = rand.Reader
	}
	ctx := make([]byte, ctxSize)
	if _, err := io.ReadFull(r, ctx); err != nil {
		return "", fmt.Errorf("random ctx: %w", err)
	}
	h := jweOutHeader{Alg: "dir", Kid: "session", Ctx: base64.StdEncoding.EncodeToString(ctx)}
	if opts.URLSafeCtx {
		h.Ctx = base64.RawURLEncoding.EncodeToString(ctx)
	}
	var iv []byte
	switch opts.Cipher {
	case AES256GCM:
		h.Enc, iv = "A256GCM", make([]byte, gcmIVSize)
	case AES256CBC:
		h.Enc, iv = "A256CBC", make([]byte, cbcIVSize)
	default:
		return "", fmt.Errorf("unknown %v", opts.Cipher)
	}
	if _, err := io.ReadFull(r, iv); err != nil {
		return "", fmt.Errorf("random IV: %w", err)
	}
	hj, err := json.Marshal(h)
	if err != nil {
		return "", err
	}
	protected := b64url(hj)
	key := DeriveKey(sessionKey, ctx)
	defer clear(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", err
	}
	var ct, tag []byte
	if opts.Cipher == AES256GCM {
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return "", err
		}
		sealed := aead.Seal(nil, iv, plaintext, []byte(protected))
		ct, tag = sealed[:len(sealed)-gcmTagSize], sealed[len(sealed)-gcmTagSize:]
	} else {
		p := aes.BlockSize - len(plaintext)%aes.BlockSize
		ct = make([]byte, len(plaintext)+p)
		copy(ct, plaintext)
		for i := len(plaintext); i < len(ct); i++ {
			ct[i] = byte(p)
		}
		cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, ct)
	}
	return strings.Join([]string{protected, "", b64url(iv), b64url(ct), b64url(tag)}, "."), nil
}

// clip shortens a header value quoted in an error. Header values are not
// secret, but an error must stay readable whatever a peer sends.
func clip(s string) string {
	const max = 40
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
