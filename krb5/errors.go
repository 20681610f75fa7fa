package krb5

/*
#include <krb5/krb5.h>
*/
import "C"

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/smbkrb/smbkrb/internal/kerbmsg"
)

// Error is a failure reported by MIT krb5 or GSS-API.
//
// Error() reads "krb5: <operation>: <what it means> (<MIT's message>)".
// Match kinds of failure with errors.Is against the Err* values of this
// package: errors.Is(err, krb5.ErrPreauthFailed). When a KDC exchange
// failed in the Go transport (no answer, refused, deadline), Unwrap returns
// that error, so errors.Is(err, context.DeadlineExceeded) works too.
type Error struct {
	// Op says what was being done, with the principals involved.
	Op string
	// Code is the MIT error code (a krb5_error_code; for GSS-API calls the
	// Kerberos mechanism's minor status).
	Code int32
	// Major is the GSS-API major status, or 0 for krb5 calls.
	Major uint32
	// Message is MIT's own text for the failure.
	Message string
	// KDCText is the e-text of the KRB-ERROR the KDC answered with, if it
	// sent one with text (Entra explains its refusals there: "AADSTS700016:
	// Application with identifier 'cifs/...' was not found ...").
	KDCText string
	// Err is the transport error behind the failure, if any.
	Err error
	// Remedy says what to do, in the terms of this package's API
	// (Config fields), where the failure comes from the configuration;
	// "" otherwise. Error appends it. A program with remedies of its own,
	// worded for its users, clears it before printing.
	Remedy string
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("krb5: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	hint := ""
	for _, s := range append([]*sentinel{errServiceUnknown}, sentinels...) {
		if s.matches(e.Code) {
			hint = s.explain
			break
		}
	}
	if errors.Is(e.Err, errRealmNotConfigured) {
		hint = e.Err.Error()
	}
	msg := e.Message
	if msg == "" {
		msg = "error " + strconv.FormatInt(int64(e.Code), 10)
	}
	if hint != "" {
		b.WriteString(hint)
		b.WriteString(" (")
		b.WriteString(msg)
		b.WriteString(")")
	} else {
		b.WriteString(msg)
	}
	if e.KDCText != "" {
		b.WriteString("; the KDC says: ")
		b.WriteString(e.KDCText)
	}
	if e.Err != nil && !errors.Is(e.Err, errRealmNotConfigured) {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.Remedy != "" {
		b.WriteString("; ")
		b.WriteString(e.Remedy)
	}
	return b.String()
}

// maxKDCText bounds the e-text kept from a KDC's error.
const maxKDCText = 512

// kdcErrorText returns the e-text of a KRB-ERROR (RFC 4120 5.9.1), cleaned
// for an error message, or "" if msg is not a KRB-ERROR or has none.
func kdcErrorText(msg []byte) string {
	text, err := kerbmsg.ErrorText(msg)
	if err != nil {
		return ""
	}
	return cleanText([]byte(text))
}

// cleanText keeps printable characters of a server's text, bounded.
func cleanText(b []byte) string {
	var out strings.Builder
	for _, r := range string(b) {
		if out.Len() >= maxKDCText {
			out.WriteString("...")
			break
		}
		switch {
		case r == '\r' || r == '\n' || r == '\t':
			out.WriteByte(' ')
		case r >= 0x20 && r != 0x7f && r != utf8.RuneError:
			out.WriteRune(r)
		}
	}
	return strings.TrimSpace(out.String())
}

// Unwrap returns the transport error behind e, if any.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether e is of the kind target names (one of the Err*
// values of this package).
func (e *Error) Is(target error) bool {
	s, ok := target.(*sentinel)
	return ok && s.matches(e.Code)
}

// errRealmNotConfigured explains a KDC failure in which MIT found no KDC
// for the realm in the profile, so no Go transport was ever asked.
var errRealmNotConfigured = errors.New("no KDC is configured for the realm")

// sentinel is a kind of failure covering one or more MIT codes.
type sentinel struct {
	name    string
	explain string
	codes   []int32
}

func (s *sentinel) Error() string { return "krb5: " + s.name }

func (s *sentinel) matches(code int32) bool {
	for _, c := range s.codes {
		if c == code {
			return true
		}
	}
	return false
}

// Kinds of failure, for errors.Is.
var (
	// ErrClockSkew: this clock and the KDC's or server's differ by more
	// than the allowed skew (also when a ticket is "not yet valid").
	ErrClockSkew error = &sentinel{"clock skew too great",
		"this machine's clock differs from the KDC's or the server's by more than the allowed skew (5 minutes unless configured): set the clocks right (NTP)",
		[]int32{C.KRB5KRB_AP_ERR_SKEW, C.KRB5KRB_AP_ERR_TKT_NYV}}
	// ErrPrincipalUnknown: the KDC has no such client or service principal.
	ErrPrincipalUnknown error = &sentinel{"principal unknown",
		"the KDC does not know this principal: check the spelling, the realm and the case (principal names are case-sensitive)",
		[]int32{C.KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN, C.KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN}}
	// A service principal the KDC does not know is explained without a
	// remedy: the caller knows where the name came from (smb says).
	errServiceUnknown = &sentinel{"service principal unknown",
		"the KDC has no account with this service principal",
		[]int32{C.KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN}}
	// ErrPreauthFailed: wrong password, or an out-of-date key in a keytab.
	ErrPreauthFailed error = &sentinel{"pre-authentication failed",
		"the KDC rejected the password or key: check the password, or re-export the keytab if the key changed",
		[]int32{C.KRB5KDC_ERR_PREAUTH_FAILED, C.KRB5KRB_AP_ERR_BAD_INTEGRITY}}
	// ErrWrongRealm: the KDC does not serve the realm asked for.
	ErrWrongRealm error = &sentinel{"wrong realm",
		"the KDC does not serve this realm: check the realm name (usually upper case) and its KDC list",
		[]int32{C.KRB5KDC_ERR_WRONG_REALM}}
	// ErrNoKDC: no KDC could be reached for the realm.
	ErrNoKDC error = &sentinel{"no KDC reachable",
		"no KDC answered for this realm: check the KDC address or proxy URL, and that the network lets it through",
		[]int32{C.KRB5_KDC_UNREACH, C.KRB5_REALM_CANT_RESOLVE, C.KRB5_REALM_UNKNOWN}}
	// ErrTicketExpired: a ticket in use has expired.
	ErrTicketExpired error = &sentinel{"ticket expired",
		"the ticket has expired: log in again to get new tickets",
		[]int32{C.KRB5KRB_AP_ERR_TKT_EXPIRED}}
	// ErrPasswordExpired: the password must be changed before login.
	ErrPasswordExpired error = &sentinel{"password expired",
		"the password has expired: change it, then log in again",
		[]int32{C.KRB5KDC_ERR_KEY_EXP}}
	// ErrClientRevoked: the account is disabled or locked out.
	ErrClientRevoked error = &sentinel{"client revoked",
		"the account is disabled, locked out or expired: ask the domain administrator",
		[]int32{C.KRB5KDC_ERR_CLIENT_REVOKED}}
	// ErrEnctype: no common encryption type.
	ErrEnctype error = &sentinel{"no common encryption type",
		"the KDC and this client share no permitted encryption type: smbkrb allows AES-256 by default; check the account's keys (msDS-SupportedEncryptionTypes) or the permitted encryption types",
		[]int32{C.KRB5KDC_ERR_ETYPE_NOSUPP, C.KRB5_CONFIG_ETYPE_NOSUPP}}
	// ErrNoCredentials: the cache or keytab lacks what was asked for.
	ErrNoCredentials error = &sentinel{"no credentials",
		"no matching credentials were found: log in first (or check the cache or keytab name)",
		[]int32{C.KRB5_CC_NOTFOUND, C.KRB5_FCC_NOFILE, C.KRB5_KT_NOTFOUND}}
)

var sentinels = []*sentinel{
	ErrClockSkew.(*sentinel), ErrPrincipalUnknown.(*sentinel), ErrPreauthFailed.(*sentinel),
	ErrWrongRealm.(*sentinel), ErrNoKDC.(*sentinel), ErrTicketExpired.(*sentinel),
	ErrPasswordExpired.(*sentinel), ErrClientRevoked.(*sentinel), ErrEnctype.(*sentinel),
	ErrNoCredentials.(*sentinel),
}
