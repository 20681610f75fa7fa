package msjose

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"strings"
)

// DecryptSessionKeyJWE returns the PRT session key carried by the
// session_key_jwe field of a PRT response: the JWE's encrypted-key part,
// decrypted with RSA-OAEP (SHA-1, MGF1 with SHA-1, no label) under the
// device's transport key.
//
// Only the protected header and the encrypted key are decoded: the key is
// what the field is for ([MS-OAPXBC] section 3.2.5.1.2.2), and other
// clients read Microsoft's responses the same way, so the IV, ciphertext and
// tag parts are not required to be valid. The header's alg, if present,
// must be "RSA-OAEP". The decrypted key must be exactly 32 bytes.
func DecryptSessionKeyJWE(compact string, transportKey *rsa.PrivateKey) ([]byte, error) {
	k, err := decryptSessionKeyJWE(compact, transportKey)
	if err != nil {
		return nil, fmt.Errorf("msjose: session_key_jwe: %w", err)
	}
	return k, nil
}

func decryptSessionKeyJWE(compact string, priv *rsa.PrivateKey) ([]byte, error) {
	if priv == nil {
		return nil, errors.New("no transport key")
	}
	compact = strings.TrimSpace(compact)
	if len(compact) > maxCompactLen {
		return nil, fmt.Errorf("%d bytes, more than the %d allowed", len(compact), maxCompactLen)
	}
	parts := strings.Split(compact, ".")
	if len(parts) != 5 {
		return nil, fmt.Errorf("compact serialization has %d parts, want 5", len(parts))
	}
	hb, err := decodeB64(parts[0])
	if err != nil {
		return nil, fmt.Errorf("protected header: %w", err)
	}
	h, err := parseJWEHeader(hb)
	if err != nil {
		return nil, err
	}
	if h.Alg != "" && h.Alg != "RSA-OAEP" {
		return nil, fmt.Errorf("alg %q, want \"RSA-OAEP\"", clip(h.Alg))
	}
	ek, err := decodeB64(parts[1])
	if err != nil {
		return nil, fmt.Errorf("encrypted key: %w", err)
	}
	k := priv.Size()
	switch {
	case len(ek) == 0:
		return nil, errors.New("encrypted key is empty")
	case len(ek) > k:
		return nil, fmt.Errorf("encrypted key is %d bytes, longer than the %d-byte transport key modulus", len(ek), k)
	case len(ek) < k:
		// An encoder that dropped leading zero bytes of the RSA output:
		// restore them, as the value is the same.
		ek = append(make([]byte, k-len(ek), k), ek...)
	}
	key, err := rsa.DecryptOAEP(sha1.New(), nil, priv, ek, nil)
	if err != nil {
		return nil, errors.New("RSA-OAEP decryption of the encrypted key failed (is this the device's transport key?)")
	}
	if len(key) != SessionKeySize {
		n := len(key)
		clear(key)
		return nil, fmt.Errorf("session key is %d bytes, want %d", n, SessionKeySize)
	}
	return key, nil
}

// EncryptSessionKeyJWE produces a session_key_jwe for sessionKey under the
// transport key pub, as Entra does: header {"enc":"A256GCM","alg":"RSA-OAEP"},
// the session key under RSA-OAEP with SHA-1 as the encrypted key, and, so
// that the result is a well-formed RFC 7516 JWE, an empty plaintext
// encrypted with AES-256-GCM under the session key. random supplies the IV;
// nil means crypto/rand.Reader. (Go's RSA-OAEP draws its own randomness
// from crypto/rand since Go 1.26.)
func EncryptSessionKeyJWE(sessionKey []byte, pub *rsa.PublicKey, random io.Reader) (string, error) {
	s, err := encryptSessionKeyJWE(sessionKey, pub, random)
	if err != nil {
		return "", fmt.Errorf("msjose: session_key_jwe: encrypt: %w", err)
	}
	return s, nil
}

// sessionKeyHeader is written verbatim: Entra's member order.
const sessionKeyHeader = `{"enc":"A256GCM","alg":"RSA-OAEP"}`

func encryptSessionKeyJWE(sessionKey []byte, pub *rsa.PublicKey, random io.Reader) (string, error) {
	if len(sessionKey) != SessionKeySize {
		return "", fmt.Errorf("session key is %d bytes, want %d", len(sessionKey), SessionKeySize)
	}
	if pub == nil {
		return "", errors.New("no transport key")
	}
	if random == nil {
		random = rand.Reader
	}
	ek, err := rsa.EncryptOAEP(sha1.New(), random, pub, sessionKey, nil)
	if err != nil {
		return "", fmt.Errorf("RSA-OAEP: %w", err)
	}
	iv := make([]byte, gcmIVSize)
	if _, err := io.ReadFull(random, iv); err != nil {
		return "", fmt.Errorf("random IV: %w", err)
	}
	protected := b64url([]byte(sessionKeyHeader))
	block, err := aes.NewCipher(sessionKey)
	if err != nil {
		return "", err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return "", err
	}
	tag := aead.Seal(nil, iv, nil, []byte(protected))
	return strings.Join([]string{protected, b64url(ek), b64url(iv), "", b64url(tag)}, "."), nil
}
