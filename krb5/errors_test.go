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
