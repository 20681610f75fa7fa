package msjose

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The vectors are computed (at the start of every run, by TestMain) by testdata/gen_vectors.py
// with python3-cryptography, independently of this package.
type vectors struct {
	KDF []struct {
		Name       string
		SessionKey string `json:"session_key"`
		Context    string
		Derived    string
	} `json:"kdf"`
	KDFv2 []struct {
		SessionKey string `json:"session_key"`
		Ctx        string
		Payload    string
		Context    string
		Derived    string
	} `json:"kdf_v2"`
	JWEGCM []struct {
		Name       string
		SessionKey string `json:"session_key"`
		JWE        string
		Plaintext  string
		Ctx        string
	} `json:"jwe_gcm"`
	JWECBC []struct {
		Name       string
		SessionKey string `json:"session_key"`
		JWE        string
		Plaintext  string
	} `json:"jwe_cbc"`
	JWEBad []struct {
		Name       string
		SessionKey string `json:"session_key"`
		JWE        string
		Want       string
	} `json:"jwe_bad"`
	SessionKeyJWE []struct {
		Name       string
		JWE        string
		SessionKey string `json:"session_key"`
	} `json:"session_key_jwe"`
	SessionKeyJWEBad []struct {
		Name, JWE, Want string
	} `json:"session_key_jwe_bad"`
	HS256 []struct {
		Name       string
		SessionKey string `json:"session_key"`
		JWT        string
		Payload    string
		KDFVer     int `json:"kdf_ver"`
	} `json:"hs256"`
	HS256Bad []struct {
		Name, JWT string
	} `json:"hs256_bad"`
	RS256 struct {
		VerifyTime time.Time `json:"verify_time"`
		DeviceCN   string    `json:"device_cn"`
		Payload    string
		Good       string
		Bad        []struct{ Name, JWS string }
	} `json:"rs256"`
	RSABlob []struct {
		Name, Blob, N string
		E             int
	} `json:"rsa_blob"`
	RSABlobBad []struct {
		Name, Blob, Want string
	} `json:"rsa_blob_bad"`
}

// vectorDir holds what testdata/gen_vectors.py wrote for this run: the
// vectors and the test keys and certificates they use. TestMain fills it.
var vectorDir string

// TestMain computes the vectors with python3-cryptography into a fresh
// directory, so that no key is kept in the repository and the Go code is
// checked against an independent implementation on every run.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "msjose-vectors-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cmd := exec.Command("/usr/bin/python3", filepath.Join("testdata", "gen_vectors.py"), dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		fmt.Fprintf(os.Stderr, "msjose: computing the test vectors with python3-cryptography (.ci/install-deps installs it): %v\n%s", err, out)
		os.Exit(1)
	}
	vectorDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func loadVectors(t testing.TB) *vectors {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectorDir, "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	v := new(vectors)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
	return v
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readPEM(t testing.TB, name string) *pem.Block {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectorDir, name))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM block", name)
	}
	return blk
}

func testKey(t testing.TB, name string) *rsa.PrivateKey {
	t.Helper()
	k, err := x509.ParsePKCS8PrivateKey(readPEM(t, name).Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PrivateKey)
}

func testCert(t testing.TB, name string) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(readPEM(t, name).Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mustNotLeak fails if an error text contains any of the secrets, in hex or
// as raw bytes.
func mustNotLeak(t testing.TB, err error, secrets ...[]byte) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	for _, s := range secrets {
		if len(s) < 4 {
			continue
		}
		if strings.Contains(msg, hex.EncodeToString(s)) || strings.Contains(msg, string(s)) || strings.Contains(msg, b64url(s)) {
			t.Errorf("error text %q contains secret material", msg)
		}
	}
}

func TestVectorsKDF(t *testing.T) {
	v := loadVectors(t)
	if len(v.KDF) == 0 || len(v.KDFv2) == 0 {
		t.Fatal("no KDF vectors")
	}
	for _, c := range v.KDF {
		got := DeriveKey(unhex(t, c.SessionKey), unhex(t, c.Context))
		if !bytes.Equal(got, unhex(t, c.Derived)) {
			t.Errorf("%s: DeriveKey = %x, want %s", c.Name, got, c.Derived)
		}
	}
	for _, c := range v.KDFv2 {
		ctx, payload := unhex(t, c.Ctx), unhex(t, c.Payload)
		if got := KDFv2Context(ctx, payload); !bytes.Equal(got, unhex(t, c.Context)) {
			t.Errorf("KDFv2Context = %x, want %s", got, c.Context)
		}
		if got := DeriveKeyV2(unhex(t, c.SessionKey), ctx, payload); !bytes.Equal(got, unhex(t, c.Derived)) {
			t.Errorf("DeriveKeyV2 = %x, want %s", got, c.Derived)
		}
	}
}

func TestVectorsJWE(t *testing.T) {
	v := loadVectors(t)
	if len(v.JWEGCM) == 0 || len(v.JWECBC) == 0 || len(v.JWEBad) == 0 {
		t.Fatal("no JWE vectors")
	}
	for _, c := range v.JWEGCM {
		pt, h, err := DecryptJWE(c.JWE, unhex(t, c.SessionKey))
		if err != nil {
			t.Errorf("GCM %s: %v", c.Name, err)
			continue
		}
		if !bytes.Equal(pt, unhex(t, c.Plaintext)) {
			t.Errorf("GCM %s: plaintext %x, want %s", c.Name, pt, c.Plaintext)
		}
		if !bytes.Equal(h.Ctx, unhex(t, c.Ctx)) {
			t.Errorf("GCM %s: ctx %x, want %s", c.Name, h.Ctx, c.Ctx)
		}
	}
	for _, c := range v.JWECBC {
		pt, _, err := DecryptJWE(c.JWE, unhex(t, c.SessionKey))
		if err != nil {
			t.Errorf("CBC %s: %v", c.Name, err)
			continue
		}
		if !bytes.Equal(pt, unhex(t, c.Plaintext)) {
			t.Errorf("CBC %s: plaintext %x, want %s", c.Name, pt, c.Plaintext)
		}
	}
	for _, c := range v.JWEBad {
		sk := unhex(t, c.SessionKey)
		_, _, err := DecryptJWE(c.JWE, sk)
		if err == nil || !strings.Contains(err.Error(), c.Want) {
			t.Errorf("bad %s: err = %v, want one mentioning %q", c.Name, err, c.Want)
		}
		mustNotLeak(t, err, sk)
	}
}

func TestVectorsSessionKeyJWE(t *testing.T) {
	v := loadVectors(t)
	tk := testKey(t, "test_transport_key.pem")
	if len(v.SessionKeyJWE) == 0 || len(v.SessionKeyJWEBad) == 0 {
		t.Fatal("no session_key_jwe vectors")
	}
	for _, c := range v.SessionKeyJWE {
		k, err := DecryptSessionKeyJWE(c.JWE, tk)
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		if !bytes.Equal(k, unhex(t, c.SessionKey)) {
			t.Errorf("%s: key %x, want %s", c.Name, k, c.SessionKey)
		}
	}
	for _, c := range v.SessionKeyJWEBad {
		_, err := DecryptSessionKeyJWE(c.JWE, tk)
		if err == nil || !strings.Contains(err.Error(), c.Want) {
			t.Errorf("bad %s: err = %v, want one mentioning %q", c.Name, err, c.Want)
		}
	}
	// The first vector is a complete RFC 7516 JWE: its content part
	// decrypts (empty plaintext) under the session key as CEK, which is
	// what EncryptSessionKeyJWE produces too.
	good := v.SessionKeyJWE[0]
	j, err := ParseJWE(good.JWE)
	if err != nil {
		t.Fatal(err)
	}
	if j.Header.Alg != "RSA-OAEP" || j.Header.Enc != "A256GCM" {
		t.Errorf("header %+v", j.Header)
	}
	if err := openEmptyGCM(unhex(t, good.SessionKey), j); err != nil {
		t.Errorf("content of the Python session_key_jwe: %v", err)
	}
}

func TestVectorsHS256(t *testing.T) {
	v := loadVectors(t)
	if len(v.HS256) == 0 || len(v.HS256Bad) == 0 {
		t.Fatal("no HS256 vectors")
	}
	var sk []byte
	for _, c := range v.HS256 {
		sk = unhex(t, c.SessionKey)
		payload, ver, err := VerifyHS256(c.JWT, sk)
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		if ver != c.KDFVer {
			t.Errorf("%s: kdf_ver %d, want %d", c.Name, ver, c.KDFVer)
		}
		if !bytes.Equal(payload, unhex(t, c.Payload)) {
			t.Errorf("%s: payload differs", c.Name)
		}
	}
	for _, c := range v.HS256Bad {
		_, _, err := VerifyHS256(c.JWT, sk)
		if err == nil {
			t.Errorf("bad %s: verified", c.Name)
		}
		mustNotLeak(t, err, sk, []byte("NOT-A-REAL-PRT"))
	}
}

func TestVectorsRS256(t *testing.T) {
	v := loadVectors(t)
	roots := x509.NewCertPool()
	roots.AddCert(testCert(t, "test_ca_cert.pem"))
	opts := x509.VerifyOptions{Roots: roots, CurrentTime: v.RS256.VerifyTime}
	payload, leaf, err := VerifyRS256(v.RS256.Good, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(payload, unhex(t, v.RS256.Payload)) {
		t.Error("payload differs")
	}
	if leaf.Subject.CommonName != v.RS256.DeviceCN {
		t.Errorf("leaf CN %q, want %q", leaf.Subject.CommonName, v.RS256.DeviceCN)
	}
	if len(v.RS256.Bad) == 0 {
		t.Fatal("no bad RS256 vectors")
	}
	for _, c := range v.RS256.Bad {
		_, _, err := VerifyRS256(c.JWS, opts)
		if err == nil {
			t.Errorf("bad %s: verified", c.Name)
		}
		mustNotLeak(t, err, []byte("NOT-A-REAL-PASSWORD"))
	}
	// The certificate has expired by 2126, and is not yet valid in 2024.
	for _, at := range []time.Time{time.Date(2126, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)} {
		o := opts
		o.CurrentTime = at
		if _, _, err := VerifyRS256(v.RS256.Good, o); err == nil {
			t.Errorf("verified at %v, outside the certificate's validity", at)
		}
	}
	// Another CA does not do.
	other := x509.NewCertPool()
	other.AddCert(selfSigned(t, testKey(t, "test_transport_key.pem")))
	if _, _, err := VerifyRS256(v.RS256.Good, x509.VerifyOptions{Roots: other, CurrentTime: v.RS256.VerifyTime}); err == nil {
		t.Error("verified against a pool without the CA")
	}
	// A device certificate without the client-auth usage a caller asks
	// for does not do either.
	o := opts
	o.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}
	if _, _, err := VerifyRS256(v.RS256.Good, o); err == nil {
		t.Error("verified for code signing")
	}
}

func TestVectorsRSABlob(t *testing.T) {
	v := loadVectors(t)
	if len(v.RSABlob) == 0 || len(v.RSABlobBad) == 0 {
		t.Fatal("no blob vectors")
	}
	for _, c := range v.RSABlob {
		blob := unhex(t, c.Blob)
		pub, err := ParseRSAPublicBlob(blob)
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		n, _ := new(big.Int).SetString(c.N, 16)
		if pub.N.Cmp(n) != 0 || pub.E != c.E {
			t.Errorf("%s: key differs", c.Name)
		}
		again, err := MarshalRSAPublicBlob(pub)
		if err != nil || !bytes.Equal(again, blob) {
			t.Errorf("%s: MarshalRSAPublicBlob does not give Python's bytes back (%v)", c.Name, err)
		}
	}
	for _, c := range v.RSABlobBad {
		_, err := ParseRSAPublicBlob(unhex(t, c.Blob))
		if err == nil || !strings.Contains(err.Error(), c.Want) {
			t.Errorf("bad %s: err = %v, want one mentioning %q", c.Name, err, c.Want)
		}
	}
	// The blob of the key in the PEM is the one Python made.
	tk := testKey(t, "test_transport_key.pem")
	b, err := MarshalRSAPublicBlob(&tk.PublicKey)
	if err != nil || !bytes.Equal(b, unhex(t, v.RSABlob[0].Blob)) {
		t.Errorf("transport key blob differs from Python's (%v)", err)
	}
}
