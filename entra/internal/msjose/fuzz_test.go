package msjose

import (
	"bytes"
	"crypto/x509"
	"testing"
	"time"
)

// The fuzz targets check that no input makes a decoder panic, and that
// what decodes is self-consistent.

func FuzzDecryptJWE(f *testing.F) {
	v := loadVectors(f)
	for _, c := range v.JWEGCM {
		f.Add(c.JWE)
	}
	for _, c := range v.JWECBC {
		f.Add(c.JWE)
	}
	for _, c := range v.JWEBad {
		f.Add(c.JWE)
	}
	for _, c := range []Cipher{AES256GCM, AES256CBC} {
		s, _ := EncryptJWE([]byte("seed"), testSessionKey, &EncryptOptions{Cipher: c, Rand: fixedRand("f")})
		f.Add(s)
	}
	f.Add("....")
	f.Add("e30....")
	sk := unhex(f, v.JWEGCM[0].SessionKey)
	f.Fuzz(func(t *testing.T, s string) {
		j, err := ParseJWE(s)
		if err != nil {
			if j != nil {
				t.Fatal("error with a result")
			}
			return
		}
		for _, key := range [][]byte{sk, testSessionKey} {
			pt, err := j.Decrypt(key)
			if err != nil {
				continue
			}
			// What decrypts re-encrypts and decrypts to the same.
			again, err := EncryptJWE(pt, key, nil)
			if err != nil {
				t.Fatal(err)
			}
			pt2, _, err := DecryptJWE(again, key)
			if err != nil || !bytes.Equal(pt, pt2) {
				t.Fatalf("re-encryption: %v", err)
			}
		}
	})
}

func FuzzDecryptSessionKeyJWE(f *testing.F) {
	v := loadVectors(f)
	for _, c := range v.SessionKeyJWE {
		f.Add(c.JWE)
	}
	for _, c := range v.SessionKeyJWEBad {
		f.Add(c.JWE)
	}
	tk := testKey(f, "test_transport_key.pem")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := DecryptSessionKeyJWE(s, tk)
		if err == nil && len(k) != SessionKeySize {
			t.Fatalf("key of %d bytes", len(k))
		}
	})
}

func FuzzVerifyHS256(f *testing.F) {
	v := loadVectors(f)
	for _, c := range v.HS256 {
		f.Add(c.JWT)
	}
	for _, c := range v.HS256Bad {
		f.Add(c.JWT)
	}
	sk := unhex(f, v.HS256[0].SessionKey)
	f.Fuzz(func(t *testing.T, s string) {
		p, ver, err := VerifyHS256(s, sk)
		if err == nil && ver != 1 && ver != 2 {
			t.Fatalf("kdf_ver %d", ver)
		}
		if err != nil && p != nil {
			t.Fatal("payload with an error")
		}
	})
}

func FuzzVerifyRS256(f *testing.F) {
	v := loadVectors(f)
	f.Add(v.RS256.Good)
	for _, c := range v.RS256.Bad {
		f.Add(c.JWS)
	}
	roots := x509.NewCertPool()
	roots.AddCert(testCert(f, "test_ca_cert.pem"))
	opts := x509.VerifyOptions{Roots: roots, CurrentTime: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}
	f.Fuzz(func(t *testing.T, s string) {
		_, leaf, err := VerifyRS256(s, opts)
		if err == nil && leaf == nil {
			t.Fatal("no leaf")
		}
	})
}

func FuzzParseRSAPublicBlob(f *testing.F) {
	v := loadVectors(f)
	for _, c := range v.RSABlob {
		f.Add(unhex(f, c.Blob))
	}
	for _, c := range v.RSABlobBad {
		f.Add(unhex(f, c.Blob))
	}
	f.Add([]byte("RSA1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pub, err := ParseRSAPublicBlob(b)
		if err != nil {
			return
		}
		again, err := MarshalRSAPublicBlob(pub)
		if err != nil {
			t.Fatalf("parsed key does not marshal: %v", err)
		}
		back, err := ParseRSAPublicBlob(again)
		if err != nil || !back.Equal(pub) {
			t.Fatalf("round trip: %v", err)
		}
		// Only the exponent may have had leading zeros.
		if len(again) > len(b) {
			t.Fatal("marshalled form is longer than the input")
		}
	})
}
