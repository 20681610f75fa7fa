package msjose

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestHS256RoundTrip(t *testing.T) {
	payload := []byte(`{"grant_type":"refresh_token","refresh_token":"NOT-A-REAL-PRT","request_nonce":"n"}`)
	for _, ver := range []int{1, 2} {
		s, err := SignHS256(payload, testSessionKey, ver, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, gotVer, err := VerifyHS256(s, testSessionKey)
		if err != nil || gotVer != ver || !bytes.Equal(got, payload) {
			t.Fatalf("v%d: (%q, %d, %v)", ver, got, gotVer, err)
		}
		// The header is what MS-OAPXBC 3.2.5.1.3.1 asks for.
		var h map[string]any
		hb, _ := base64.RawURLEncoding.DecodeString(strings.Split(s, ".")[0])
		if err := json.Unmarshal(hb, &h); err != nil {
			t.Fatal(err)
		}
		ctx, _ := base64.StdEncoding.DecodeString(h["ctx"].(string))
		if h["alg"] != "HS256" || len(ctx) != 24 {
			t.Errorf("v%d header %v", ver, h)
		}
		if kv, present := h["kdf_ver"]; (ver == 2) != present || (present && kv != 2.0) {
			t.Errorf("v%d header kdf_ver %v", ver, kv)
		}
		// The key is the derived one, not the session key itself.
		want := DeriveKey(testSessionKey, ctx)
		if ver == 2 {
			want = DeriveKeyV2(testSessionKey, ctx, payload)
		}
		if _, _, err := VerifyHS256(s, otherSessionKey); err == nil {
			t.Errorf("v%d: verified under another session key", ver)
		}
		// Another payload under the same header and signature fails; for
		// v2 the key itself changes with the payload.
		parts := strings.Split(s, ".")
		forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"grant_type":"x"}`)) + "." + parts[2]
		_, _, err = VerifyHS256(forged, testSessionKey)
		if err == nil {
			t.Errorf("v%d: forged payload verified", ver)
		}
		mustNotLeak(t, err, testSessionKey, want, []byte("NOT-A-REAL-PRT"))
	}
	a, _ := SignHS256(payload, testSessionKey, 2, fixedRand("c"))
	b, _ := SignHS256(payload, testSessionKey, 2, fixedRand("c"))
	if a != b {
		t.Error("random does not decide ctx")
	}
	for _, ver := range []int{0, 3, -1} {
		if _, err := SignHS256(payload, testSessionKey, ver, nil); err == nil {
			t.Errorf("kdf_ver %d signed", ver)
		}
	}
	if _, err := SignHS256(payload, testSessionKey[:16], 1, nil); err == nil {
		t.Error("short session key signed")
	}
	if _, _, err := VerifyHS256(a, testSessionKey[:16]); err == nil {
		t.Error("short session key verified")
	}
}

// hsToken builds an HS256-shaped token with any header, signed under key.
func hsToken(t *testing.T, header string, payload []byte, key []byte) string {
	t.Helper()
	s, err := signRawHS256(header, payload, key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestHS256Strict(t *testing.T) {
	payload := []byte(`{"x":1}`)
	ctx := make([]byte, 24)
	ctxB64 := base64.StdEncoding.EncodeToString(ctx)
	k1 := DeriveKey(testSessionKey, ctx)
	good := hsToken(t, `{"alg":"HS256","ctx":"`+ctxB64+`"}`, payload, k1)
	if _, _, err := VerifyHS256(good, testSessionKey); err != nil {
		t.Fatalf("hand-made token: %v", err)
	}
	for _, c := range []struct{ name, tok string }{
		{"alg none", b64j(`{"alg":"none","ctx":"`+ctxB64+`"}`) + "." + b64url(payload) + "."},
		{"alg HS384", hsToken(t, `{"alg":"HS384","ctx":"`+ctxB64+`"}`, payload, k1)},
		{"alg hs256", hsToken(t, `{"alg":"hs256","ctx":"`+ctxB64+`"}`, payload, k1)},
		{"alg RS256", hsToken(t, `{"alg":"RS256","ctx":"`+ctxB64+`"}`, payload, k1)},
		{"no alg", hsToken(t, `{"ctx":"`+ctxB64+`"}`, payload, k1)},
		{"no ctx", hsToken(t, `{"alg":"HS256"}`, payload, DeriveKey(testSessionKey, nil))},
		{"ctx a number", hsToken(t, `{"alg":"HS256","ctx":5}`, payload, k1)},
		{"ctx empty", hsToken(t, `{"alg":"HS256","ctx":""}`, payload, DeriveKey(testSessionKey, nil))},
		{"kdf_ver 1", hsToken(t, `{"alg":"HS256","ctx":"`+ctxB64+`","kdf_ver":1}`, payload, k1)},
		{"kdf_ver 2.5", hsToken(t, `{"alg":"HS256","ctx":"`+ctxB64+`","kdf_ver":2.5}`, payload, DeriveKeyV2(testSessionKey, ctx, payload))},
		{"kdf_ver null", hsToken(t, `{"alg":"HS256","ctx":"`+ctxB64+`","kdf_ver":null}`, payload, k1)},
		{"kdf_ver 2 as 2.0", hsToken(t, `{"alg":"HS256","ctx":"`+ctxB64+`","kdf_ver":2.0}`, payload, DeriveKeyV2(testSessionKey, ctx, payload))},
		{"ctx twice", hsToken(t, `{"alg":"HS256","ctx":"`+ctxB64+`","ctx":"`+ctxB64+`"}`, payload, k1)},
		{"signed with the session key", hsToken(t, `{"alg":"HS256","ctx":"`+ctxB64+`"}`, payload, testSessionKey)},
		{"two parts", strings.Join(strings.Split(good, ".")[:2], ".")},
		{"four parts", good + ".x"},
		{"JSON serialization", `{"payload":"` + b64url(payload) + `","signatures":[]}`},
	} {
		_, _, err := VerifyHS256(c.tok, testSessionKey)
		if err == nil {
			t.Errorf("%s: verified", c.name)
			continue
		}
		if !strings.HasPrefix(err.Error(), "msjose: JWS: verify HS256: ") {
			t.Errorf("%s: err = %v", c.name, err)
		}
		mustNotLeak(t, err, testSessionKey, k1)
	}
}

func TestRS256RoundTrip(t *testing.T) {
	dk := testKey(t, "test_device_key.pem")
	tk := testKey(t, "test_transport_key.pem")
	cert := testCert(t, "test_device_cert.pem")
	ca := testCert(t, "test_ca_cert.pem")
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	opts := x509.VerifyOptions{Roots: roots, CurrentTime: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	payload := []byte(`{"grant_type":"password","password":"NOT-A-REAL-PASSWORD"}`)
	s, err := SignRS256(payload, dk, cert.Raw)
	if err != nil {
		t.Fatal(err)
	}
	got, leaf, err := VerifyRS256(s, opts)
	if err != nil || !bytes.Equal(got, payload) || !leaf.Equal(cert) {
		t.Fatalf("round trip: %v", err)
	}
	var h map[string]any
	hb, _ := base64.RawURLEncoding.DecodeString(strings.Split(s, ".")[0])
	if err := json.Unmarshal(hb, &h); err != nil {
		t.Fatal(err)
	}
	x5c, _ := h["x5c"].([]any)
	if h["alg"] != "RS256" || h["typ"] != "JWT" || len(x5c) != 1 {
		t.Fatalf("header %v", h)
	}
	if der, err := base64.StdEncoding.DecodeString(x5c[0].(string)); err != nil || !bytes.Equal(der, cert.Raw) {
		t.Error("x5c is not the certificate in standard base64")
	}
	// The chain may carry the CA too.
	s2, err := SignRS256(payload, dk, cert.Raw, ca.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := VerifyRS256(s2, opts); err != nil {
		t.Errorf("with the CA in x5c: %v", err)
	}
	// The transport key is not the device key.
	if _, err := SignRS256(payload, tk, cert.Raw); err == nil || !strings.Contains(err.Error(), "public key") {
		t.Errorf("transport key with the device certificate: %v", err)
	}
	if _, err := SignRS256(payload, dk); err == nil {
		t.Error("signed without a certificate")
	}
	if _, err := SignRS256(payload, dk, []byte("not DER")); err == nil {
		t.Error("signed with a broken certificate")
	}
	if _, err := SignRS256(payload, nil, cert.Raw); err == nil {
		t.Error("signed without a key")
	}
	if _, _, err := VerifyRS256(s, x509.VerifyOptions{}); err == nil || !strings.Contains(err.Error(), "Roots") {
		t.Errorf("nil Roots: %v", err)
	}
	// A signature by a key the certificate does not hold: same header,
	// transport key signature.
	other, err := signRawRS256(strings.Split(s, ".")[0], payload, tk)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := VerifyRS256(other, opts); err == nil {
		t.Error("signature by another key verified")
	}
	// A header with a repeated member is refused even when signed.
	x5cJSON, _ := json.Marshal(x5c)
	dup, err := signRawRS256(b64j(`{"alg":"RS256","alg":"RS256","x5c":`+string(x5cJSON)+`}`), payload, dk)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := VerifyRS256(dup, opts); err == nil {
		t.Errorf("repeated alg: %v", err)
	}
	// A self-signed certificate for a fresh key is not trusted.
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	self := selfSigned(t, k)
	s3, err := SignRS256(payload, k, self.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := VerifyRS256(s3, opts); err == nil {
		t.Error("self-signed certificate verified")
	}
}
