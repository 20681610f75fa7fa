package msjose

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"
)

// signRawHS256 makes a compact JWS with any header JSON, HMAC-SHA256 over
// the signing input, for tokens go-jose would not make.
func signRawHS256(header string, payload, key []byte) (string, error) {
	si := b64j(header) + "." + b64url(payload)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(si))
	return si + "." + b64url(m.Sum(nil)), nil
}

// signRawRS256 signs protected.payload with key, whatever the header says.
func signRawRS256(protected string, payload []byte, key *rsa.PrivateKey) (string, error) {
	si := protected + "." + b64url(payload)
	h := sha256.Sum256([]byte(si))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, h[:])
	if err != nil {
		return "", err
	}
	return si + "." + b64url(sig), nil
}

func selfSigned(t *testing.T, k *rsa.PrivateKey) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(9),
		Subject:      pkix.Name{CommonName: "self-signed test device"},
		NotBefore:    time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2125, 1, 1, 0, 0, 0, 0, time.UTC),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
