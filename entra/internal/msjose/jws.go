package msjose

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
)

// SignRS256 signs payload as a compact JWS with the device key, header
// {"alg":"RS256","typ":"JWT","x5c":[...]}: the form of a PRT request
// ([MS-OAPXBC] section 3.2.5.1.2.1). certs are DER certificates, the
// device certificate first; its public key must be key's, so that a device
// key and transport key swapped by mistake fail here rather than at Entra.
func SignRS256(payload []byte, key *rsa.PrivateKey, certs ...[]byte) (string, error) {
	s, err := signRS256(payload, key, certs)
	if err != nil {
		return "", fmt.Errorf("msjose: JWS: sign RS256: %w", err)
	}
	return s, nil
}

func signRS256(payload []byte, key *rsa.PrivateKey, certs [][]byte) (string, error) {
	if key == nil {
		return "", errors.New("no device key")
	}
	if len(certs) == 0 {
		return "", errors.New("no device certificate for x5c")
	}
	leaf, err := x509.ParseCertificate(certs[0])
	if err != nil {
		return "", fmt.Errorf("device certificate: %w", err)
	}
	if pub, ok := leaf.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		return "", errors.New("the device certificate's public key is not the signing key's")
	}
	x5c := make([]string, len(certs))
	for i, c := range certs {
		x5c[i] = base64.StdEncoding.EncodeToString(c) // RFC 7515 4.1.6: standard base64
	}
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("x5c", x5c)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, opts)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// VerifyRS256 verifies a compact JWS signed with RS256 by the key of the
// certificate in its x5c header, and verifies that certificate against
// opts, as Entra checks a PRT request. It returns the payload and the leaf
// (device) certificate. opts.Roots must be set (the trust anchors are the
// device registration CA, never the system roots); opts.Intermediates, if
// nil, come from x5c; empty opts.KeyUsages means client authentication;
// opts.CurrentTime is the verification time as in [x509.Certificate.Verify].
// Any alg but RS256 is refused before anything else is read.
func VerifyRS256(compact string, opts x509.VerifyOptions) ([]byte, *x509.Certificate, error) {
	payload, leaf, err := verifyRS256(compact, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("msjose: JWS: verify RS256: %w", err)
	}
	return payload, leaf, nil
}

func verifyRS256(compact string, opts x509.VerifyOptions) ([]byte, *x509.Certificate, error) {
	if opts.Roots == nil {
		return nil, nil, errors.New("no trusted roots given (VerifyOptions.Roots)")
	}
	if len(opts.KeyUsages) == 0 {
		opts.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	jws, err := parseCompactJWS(compact, jose.RS256)
	if err != nil {
		return nil, nil, err
	}
	chains, err := jws.Signatures[0].Protected.Certificates(opts)
	if err != nil {
		return nil, nil, fmt.Errorf("x5c certificate: %w", err)
	}
	leaf := chains[0][0]
	pub, ok := leaf.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, nil, errors.New("x5c certificate does not hold an RSA key")
	}
	payload, err := jws.Verify(pub)
	if err != nil {
		return nil, nil, errors.New("signature does not verify with the x5c certificate's key")
	}
	return payload, leaf, nil
}

// parseCompactJWS parses a compact JWS whose alg must be alg, with exactly
// one signature and a header without repeated members. go-jose refuses any
// other alg (so "none" and algorithm confusion) while parsing.
func parseCompactJWS(compact string, alg jose.SignatureAlgorithm) (*jose.JSONWebSignature, error) {
	compact = strings.TrimSpace(compact)
	if len(compact) > maxCompactLen {
		return nil, fmt.Errorf("%d bytes, more than the %d allowed", len(compact), maxCompactLen)
	}
	jws, err := jose.ParseSignedCompact(compact, []jose.SignatureAlgorithm{alg})
	if err != nil {
		return nil, err
	}
	if _, err := protectedHeader(compact); err != nil {
		return nil, err
	}
	if len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("%d signatures, want 1", len(jws.Signatures))
	}
	if got := jws.Signatures[0].Protected.Algorithm; got != string(alg) {
		return nil, fmt.Errorf("alg %q, want %q", clip(got), alg)
	}
	return jws, nil
}

// SignHS256 signs payload (the JWT claims, as the exact bytes to sign) as a
// compact JWS with HS256 under a key derived from the PRT session key and a
// fresh random 24-byte ctx: the form of a PRT refresh request
// ([MS-OAPXBC] section 3.2.5.1.3.1). kdfVer 1 derives the key from ctx
// (header {"alg","ctx","typ"}); kdfVer 2 from SHA-256(ctx ‖ payload) and
// adds "kdf_ver":2. ctx is written in standard base64, as Windows does.
// random supplies ctx; nil means crypto/rand.Reader.
func SignHS256(payload, sessionKey []byte, kdfVer int, random io.Reader) (string, error) {
	s, err := signHS256(payload, sessionKey, kdfVer, random)
	if err != nil {
		return "", fmt.Errorf("msjose: JWS: sign HS256: %w", err)
	}
	return s, nil
}

func signHS256(payload, sessionKey []byte, kdfVer int, random io.Reader) (string, error) {
	if len(sessionKey) != SessionKeySize {
		return "", fmt.Errorf("session key is %d bytes, want %d", len(sessionKey), SessionKeySize)
	}
	if random == nil {
		random = rand.Reader
	}
	ctx := make([]byte, ctxSize)
	if _, err := io.ReadFull(random, ctx); err != nil {
		return "", fmt.Errorf("random ctx: %w", err)
	}
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("ctx", base64.StdEncoding.EncodeToString(ctx))
	var key []byte
	switch kdfVer {
	case 1:
		key = DeriveKey(sessionKey, ctx)
	case 2:
		key = DeriveKeyV2(sessionKey, ctx, payload)
		opts = opts.WithHeader("kdf_ver", 2)
	default:
		return "", fmt.Errorf("kdf_ver %d: want 1 or 2", kdfVer)
	}
	defer clear(key)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: key}, opts)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// VerifyHS256 verifies a compact JWS signed with HS256 under a key derived
// from sessionKey and the header's ctx (standard or URL-safe base64), as
// Entra checks a PRT refresh request. Without kdf_ver the context is ctx;
// with "kdf_ver": 2 it is SHA-256(ctx ‖ payload); any other kdf_ver is
// refused, and so is any alg but HS256. It returns the payload and the KDF
// version used (1 or 2), so a verifier can insist on version 2.
func VerifyHS256(compact string, sessionKey []byte) ([]byte, int, error) {
	payload, ver, err := verifyHS256(compact, sessionKey)
	if err != nil {
		return nil, 0, fmt.Errorf("msjose: JWS: verify HS256: %w", err)
	}
	return payload, ver, nil
}

func verifyHS256(compact string, sessionKey []byte) ([]byte, int, error) {
	if len(sessionKey) != SessionKeySize {
		return nil, 0, fmt.Errorf("session key is %d bytes, want %d", len(sessionKey), SessionKeySize)
	}
	jws, err := parseCompactJWS(compact, jose.HS256)
	if err != nil {
		return nil, 0, err
	}
	ctx, ver, err := hs256Header(compact)
	if err != nil {
		return nil, 0, err
	}
	var key []byte
	if ver == 2 {
		// The payload as signed: go-jose has decoded it from the token
		// but not verified it yet, which is what the derivation needs.
		key = DeriveKeyV2(sessionKey, ctx, jws.UnsafePayloadWithoutVerification())
	} else {
		key = DeriveKey(sessionKey, ctx)
	}
	defer clear(key)
	payload, err := jws.Verify(key)
	if err != nil {
		return nil, 0, fmt.Errorf("HMAC does not verify under the kdf_ver %d key (wrong session key, or the JWT was altered)", ver)
	}
	return payload, ver, nil
}

// hs256Header reads ctx and kdf_ver from the protected header of a compact
// JWS that go-jose has parsed already. They are read here rather than from
// go-jose's ExtraHeaders, which cannot tell "kdf_ver": null from absent.
func hs256Header(compact string) (ctx []byte, ver int, err error) {
	hb, err := protectedHeader(compact)
	if err != nil {
		return nil, 0, err
	}
	var h struct {
		Ctx    *string         `json:"ctx"`
		KDFVer json.RawMessage `json:"kdf_ver"`
	}
	if err := json.Unmarshal(hb, &h); err != nil || h.Ctx == nil {
		return nil, 0, errors.New("header has no ctx string to derive the key from")
	}
	ctx, err = decodeB64(*h.Ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("ctx: %w", err)
	}
	if len(ctx) == 0 || len(ctx) > maxCtxLen {
		return nil, 0, fmt.Errorf("ctx of %d bytes: want 1 to %d", len(ctx), maxCtxLen)
	}
	if h.KDFVer == nil {
		return ctx, 1, nil
	}
	// Only the integer 2 is a version this package knows; 2.0, "2" and
	// null are refused rather than guessed at.
	var v int
	if string(h.KDFVer) == "null" || json.Unmarshal(h.KDFVer, &v) != nil || v != 2 {
		return nil, 0, errors.New("kdf_ver is present but not the integer 2")
	}
	return ctx, 2, nil
}

// protectedHeader returns the decoded protected header of a compact JWS,
// checked to be one JSON object without repeated members.
func protectedHeader(compact string) ([]byte, error) {
	protected, _, _ := strings.Cut(strings.TrimSpace(compact), ".")
	hb, err := base64.RawURLEncoding.DecodeString(protected)
	if err != nil {
		return nil, errors.New("protected header: malformed base64url")
	}
	if err := checkJSONObject(hb); err != nil {
		return nil, fmt.Errorf("protected header: %w", err)
	}
	return hb, nil
}
