package smboauth

import (
	"errors"
	"strings"
	"testing"
)

// TestExchangeError: Azure Storage's refusals become the sentinels, with
// the service's code and first message line, and say which package
// failed.
func TestExchangeError(t *testing.T) {
	body := []byte(`<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthorizationPermissionMismatch</Code><Message>This request is not authorized.
RequestId:1</Message></Error>`)
	for status, want := range map[int]error{401: ErrUnauthorized, 403: ErrForbidden} {
		err := exchangeError(status, body)
		if !errors.Is(err, want) {
			t.Errorf("HTTP %d: %v, want %v", status, err, want)
		}
		var e *Error
		if !errors.As(err, &e) || e.Status != status || e.Code != "AuthorizationPermissionMismatch" {
			t.Errorf("HTTP %d: %#v", status, err)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "smboauth: ticket exchange: ") || strings.Contains(msg, "RequestId") {
			t.Errorf("HTTP %d: %q", status, msg)
		}
	}
	if err := exchangeError(500, []byte("not xml")); err == nil || errors.Is(err, ErrForbidden) {
		t.Errorf("HTTP 500: %v", err)
	}
}

// TestAccountOf: the account is the host of a cifs/ principal, lower
// case; anything else is refused.
func TestAccountOf(t *testing.T) {
	if a, err := accountOf("cifs/Acct.file.core.windows.net@" + FilesRealm); err != nil || a != "acct.file.core.windows.net" {
		t.Errorf("accountOf: %q, %v", a, err)
	}
	for _, bad := range []string{"host/acct", "cifs/", "cifs/a/b", "cifs/a b"} {
		if _, err := accountOf(bad); err == nil {
			t.Errorf("accountOf(%q) accepted", bad)
		}
	}
}

// TestConfigAuthority: the tenant is required and checked, the authority
// must be https.
func TestConfigAuthority(t *testing.T) {
	if u, err := (&Config{Tenant: "contoso.onmicrosoft.com"}).authorityURL(); err != nil || u != DefaultAuthority+"/contoso.onmicrosoft.com" {
		t.Errorf("default authority: %q, %v", u, err)
	}
	for _, c := range []*Config{nil, {}, {Tenant: "a/b"}, {Tenant: "t", Authority: "http://login.example"}} {
		if _, err := c.ClientSecretTokens("app", "secret"); err == nil || !strings.Contains(err.Error(), "Config.") {
			t.Errorf("%+v: %v", c, err)
		}
	}
}
