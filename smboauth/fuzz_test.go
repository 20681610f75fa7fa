package smboauth

import (
	"strings"
	"testing"

	"github.com/smbkrb/smbkrb/krb5"
)

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
	k, err := krb5.NewContext(&krb5.Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { k.Close() })
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
