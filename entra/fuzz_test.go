package entra

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/smbkrb/smbkrb/krb5"
)

// fuzzKerberos is a krb5 context for the decoders' MIT decryption.
func fuzzKerberos(t testing.TB) *krb5.Context {
	k, err := krb5.NewContext(&krb5.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

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
		`{"keyType":23,"clientKey":"` + b64(key) + `","messageBuffer":"` + b64(make([]byte, 300)) + `"}`,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	k := fuzzKerberos(f)
	f.Fuzz(func(t *testing.T, field string) {
		cred, err := decodeTGT(k, field, key)
		if err == nil && (cred == nil || cred.Client == "" || len(cred.Ticket) == 0) {
			t.Fatalf("no error and no usable credential: %+v", cred)
		}
		if err != nil && strings.Contains(err.Error(), b64(key)) {
			t.Fatal("the error shows the key")
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
	k := fuzzKerberos(f)
	key := make([]byte, 32)
	f.Fuzz(func(t *testing.T, body string) {
		var r tokenReply
		if json.Unmarshal([]byte(body), &r) == nil {
			s := &Session{sessionKey: append([]byte(nil), key...)}
			s.apply(k, "fuzz", &r)
		}
		// The refresh reply is a compact JWE; decoding junk must fail
		// cleanly.
		clientKey(body, key)
	})
}

// FuzzExchange feeds the SMB OAuth exchange's decoders (the JSON reply,
// then MIT's import of the KRB-CRED into a cache, and the XML error body)
// arbitrary input: an error or a ticket, never a panic.
func FuzzExchange(f *testing.F) {
	for _, s := range []string{
		`{"kerberosServiceTicket":"dgMwAQA=","sessionKey":"","expirationTime":"2026-12-01T10:00:00Z"}`,
		`{"kerberosServiceTicket":"%%"}`, `{"kerberosServiceTicket":""}`, `{}`, `[`,
		`<?xml version="1.0"?><Error><Code>AuthorizationFailure</Code><Message>no</Message></Error>`,
		`<Error><Code>` + strings.Repeat("x", 500) + `</Code></Error>`,
	} {
		f.Add(s)
	}
	k := fuzzKerberos(f)
	cc, err := k.NewMemoryCCache()
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { cc.Destroy() })
	f.Fuzz(func(t *testing.T, body string) {
		if der, _, err := decodeExchange([]byte(body)); err == nil {
			cc.ImportKRBCred(der)
		}
		for _, status := range []int{401, 403, 500} {
			if err := exchangeError(status, []byte(body)); err == nil {
				t.Fatal("no error for a refusal")
			}
		}
	})
}
