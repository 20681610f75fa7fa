package entra

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzDecodeTGT feeds tgt_cloud decoding (the JSON in a string, clientKey
// as JWE or base64, the AS-REP, MIT's decryption) arbitrary input: it
// must return an error or a credential, never panic.
func FuzzDecodeTGT(f *testing.F) {
	key := make([]byte, 32)
	b64 := base64.StdEncoding.EncodeToString
	seeds := []string{
		``, `{}`, `null`, `"x"`, `{"keyType":0,"error":"none"}`,
		`{"keyType":18,"clientKey":"` + b64(key) + `","messageBuffer":"` + b64([]byte{0x6b, 0x03, 0x30, 0x01, 0x00}) + `"}`,
		`{"keyType":18,"clientKey":"a.b.c.d.e","messageBuffer":"AAAA"}`,
		`{"keyType":"18","clientKey":"` + b64(key[:16]) + `","messageBuffer":"%%%"}`,
		`{"keyType":0,"error":"` + b64(key) + `"}`,
		`{"keyType":"` + b64(key) + `","clientKey":"x"}`,
		`{"keyType":23,"clientKey":"` + b64(key) + `","messageBuffer":"` + b64(make([]byte, 300)) + `"}`,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, field string) {
		cred, err := decodeTGT(field, key)
		if err == nil && (cred == nil || cred.Client == "" || len(cred.Ticket) == 0) {
			t.Fatalf("no error and no usable credential: %+v", cred)
		}
		if err == nil {
			return
		}
		// The secrets are the session key and the reply's clientKey.
		// Entra's own "error" text is quoted on purpose, so a key the
		// input itself put there is not a leak.
		var parsed tgtJSON
		_ = jsonString(field, &parsed)
		msg := err.Error()
		for _, secret := range []string{b64(key), parsed.ClientKey} {
			if len(secret) >= 16 && strings.Contains(msg, secret) && !strings.Contains(parsed.Error, secret) {
				t.Fatalf("the error shows a key: %s", msg)
			}
		}
	})
}

// FuzzTokenReply feeds the PRT reply decoding arbitrary JSON, and the
// refresh reply path arbitrary bodies.
func FuzzTokenReply(f *testing.F) {
	for _, s := range []string{
		`{"refresh_token":"x","tgt_cloud":"{}","expires_in":"12"}`,
		`{"refresh_token":"x","refresh_token_expires_in":"nan"}`,
		`{"refresh_token":1}`, `[]`, `{"tgt_cloud":"{\"keyType\":18}"}`,
		`eyJhbGciOiJkaXIifQ..AAAA.BBBB.CCCC`, `a.b.c.d.e`,
	} {
		f.Add(s)
	}
	key := make([]byte, 32)
	f.Fuzz(func(t *testing.T, body string) {
		var r tokenReply
		if json.Unmarshal([]byte(body), &r) == nil {
			s := &SignIn{sessionKey: append([]byte(nil), key...)}
			s.apply("fuzz", &r)
		}
		// The refresh reply is a compact JWE; decoding junk must fail
		// cleanly.
		clientKey(body, key)
	})
}
