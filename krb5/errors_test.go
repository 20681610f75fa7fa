package krb5

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestErrorKinds checks the code-to-kind table, including codes the lab's
// MIT KDC cannot be made to send (WRONG_REALM comes from Active Directory
// client referrals; the Samba tests meet it).
func TestErrorKinds(t *testing.T) {
	for _, c := range []struct {
		code int32
		kind error
		word string
	}{
		{-1765328347, ErrClockSkew, "clock"},
		{-1765328378, ErrPrincipalUnknown, "principal"},
		{-1765328377, ErrPrincipalUnknown, "principal"},
		{-1765328360, ErrPreauthFailed, "password"},
		{-1765328353, ErrPreauthFailed, "password"},
		{-1765328316, ErrWrongRealm, "realm"},
		{-1765328228, ErrNoKDC, "KDC"},
		{-1765328352, ErrTicketExpired, "expired"},
		{-1765328361, ErrPasswordExpired, "change it"},
	} {
		e := &Error{Op: "log in as a@B", Code: c.code, Message: "MIT text"}
		wrapped := fmt.Errorf("outer: %w", e)
		if !errors.Is(wrapped, c.kind) {
			t.Errorf("code %d is not %v", c.code, c.kind)
		}
		for _, other := range sentinels {
			if other != c.kind && errors.Is(e, other) {
				t.Errorf("code %d also matches %v", c.code, other)
			}
		}
		msg := e.Error()
		if !strings.HasPrefix(msg, "krb5: log in as a@B: ") || !strings.Contains(msg, c.word) || !strings.Contains(msg, "(MIT text)") {
			t.Errorf("code %d: message %q", c.code, msg)
		}
	}
	e := &Error{Op: "x", Code: -1765328228, Message: "m", Err: context.DeadlineExceeded}
	if !errors.Is(e, context.DeadlineExceeded) || !errors.Is(e, ErrNoKDC) {
		t.Error("transport error not reachable through Unwrap")
	}
}

// TestKDCErrorText reads e-text from KRB-ERRORs built by hand (the MIT
// KDC sends none; the Entra emulator's, tested in entra/, does), and
// ignores what is not one.
func TestKDCErrorText(t *testing.T) {
	// [APPLICATION 30] SEQUENCE { [0] 5, [1] 30, [6] 7, [11] GeneralString }
	krbErr := func(text []byte) []byte {
		et := append([]byte{0x1b, byte(len(text))}, text...)
		body := []byte{0xa0, 3, 2, 1, 5, 0xa1, 3, 2, 1, 30, 0xa6, 3, 2, 1, 7}
		body = append(body, 0xab, byte(len(et)))
		body = append(body, et...)
		seq := append([]byte{0x30, byte(len(body))}, body...)
		return append([]byte{0x7e, byte(len(seq))}, seq...)
	}
	for _, c := range []struct {
		msg  []byte
		want string
	}{
		{krbErr([]byte("AADSTS700016: no app")), "AADSTS700016: no app"},
		{krbErr([]byte("line1\r\nline2\x00\x07")), "line1  line2"},
		{krbErr(nil), ""},
		{[]byte{0x6b, 0x03, 0x30, 0x01, 0x00}, ""}, // an AS-REP
		{[]byte{0x7e, 0x80}, ""},                   // truncated
		{nil, ""},
	} {
		if got := kdcErrorText(c.msg); got != c.want {
			t.Errorf("kdcErrorText(%x) = %q, want %q", c.msg, got, c.want)
		}
	}
	long := kdcErrorText(krbErr([]byte(strings.Repeat("x", 100))))
	if len(long) != 100 {
		t.Errorf("a 100-byte text came back as %d bytes", len(long))
	}
	e := &Error{Op: "get service ticket", Code: -1765328377, Message: "Server not found", KDCText: "AADSTS700016: no app"}
	if !strings.Contains(e.Error(), "the KDC says: AADSTS700016: no app") {
		t.Errorf("Error() = %q", e.Error())
	}
}
