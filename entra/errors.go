package entra

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Error is the error of every step of the Entra flows: which step, the
// HTTP status and the service's error, and what it means. Err is one of
// this package's sentinels when the cause is known (errors.Is(err,
// ErrWrongPassword)), a network or context error, or a decoding error.
// Error strings never contain tokens, passwords or keys.
type Error struct {
	// Op is the step: "discover", "register device", "unregister device",
	// "device-code sign-in", "nonce", "sign in", "refresh", "decode".
	Op string
	// Status is the HTTP status of the reply, 0 if there was none.
	Status int
	// Code is the OAuth error ("invalid_grant", "interaction_required"),
	// if the reply carried one.
	Code string
	// AADSTS is the first AADSTS error number of the reply, 0 if none.
	AADSTS int
	// Description is the first line of the service's error_description.
	Description string
	// Err is the cause.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("entra: ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	hint := ""
	if e.Err != nil {
		b.WriteString(e.Err.Error())
		var s *sentinel
		if errors.As(e.Err, &s) {
			hint = s.hint
		}
	}
	switch {
	case e.Description != "":
		fmt.Fprintf(&b, " (%s)", e.Description)
	case e.Code != "":
		fmt.Fprintf(&b, " (%s)", e.Code)
	case e.Status != 0 && e.Err == nil:
		fmt.Fprintf(&b, "HTTP %d", e.Status)
	}
	if hint != "" {
		b.WriteString(": ")
		b.WriteString(hint)
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// sentinel is a known cause, with what a user can do about it.
type sentinel struct {
	text, hint string
}

func (s *sentinel) Error() string { return s.text }

// Known causes. Match them with errors.Is.
var (
	// ErrWrongPassword: the user name or password is wrong (AADSTS50126).
	ErrWrongPassword error = &sentinel{"the user name or password is wrong", "check both; a user synced from AD DS signs in with the on-premises password only when password hash sync is on"}
	// ErrUnknownUser: the tenant has no such user (AADSTS50034).
	ErrUnknownUser error = &sentinel{"the tenant has no such user", "check the user principal name (alice@contoso.com) and the tenant"}
	// ErrMFARequired: a Conditional Access policy demands multi-factor
	// authentication (AADSTS50076, AADSTS50079, interaction_required).
	ErrMFARequired error = &sentinel{"multi-factor authentication is required", "a Conditional Access policy requires MFA for this sign-in: exclude the storage account's application from that policy, or sign in with the device code flow (smbkrb entra login --device-code), which can do MFA"}
	// ErrAssignmentRequired: the application requires assignment and the
	// user is not assigned (AADSTS50105).
	ErrAssignmentRequired error = &sentinel{"the user is not assigned to the application", "the storage account's Entra application has \"Assignment required\" set: assign the user (or a group of theirs) to it, or turn assignment off"}
	// ErrNonce: the request nonce expired or was already used.
	ErrNonce error = &sentinel{"the request nonce expired or was already used", "smbkrb already retried once with a new nonce; if it keeps failing, check the device clock (NTP)"}
	// ErrDeviceDisabled: the device is disabled in the directory
	// (AADSTS135011).
	ErrDeviceDisabled error = &sentinel{"the device is disabled in the directory", "an administrator must enable it again (Entra admin center, Devices), or register the device anew"}
	// ErrDeviceNotFound: the directory has no such device (AADSTS700003):
	// it was deleted.
	ErrDeviceNotFound error = &sentinel{"the directory has no such device (it was deleted)", "register the device again (smbkrb entra register)"}
	// ErrSignInExpired: the PRT or refresh token expired or was revoked
	// (AADSTS700082, AADSTS70043, AADSTS50173, AADSTS50133).
	ErrSignInExpired error = &sentinel{"the sign-in expired or was revoked", "sign in again (smbkrb entra login)"}
	// ErrNoTGT: the sign-in worked but Entra returned no cloud TGT
	// (keyType 0 in tgt_cloud).
	ErrNoTGT error = &sentinel{"Entra returned no Kerberos ticket-granting ticket", "Microsoft Entra Kerberos must be enabled for the storage account (and the tenant allows cloud Kerberos tickets); a guest or an account without a cloud identity gets none"}
	// ErrClockSkew: the device clock is too far from Entra's.
	ErrClockSkew error = &sentinel{"the device clock is too far off", "set the clock (NTP); Kerberos tolerates 5 minutes"}
	// ErrDeclined: the user declined the device-code sign-in, or it
	// expired before they completed it.
	ErrDeclined error = &sentinel{"the device-code sign-in was declined or expired", "start it again and complete it at the address shown"}
	// ErrBadResponse: a reply could not be decoded.
	ErrBadResponse error = &sentinel{"the reply could not be decoded", "the service's format may have changed; report it with the smbkrb version"}
	// ErrClientCredentials: the token endpoint refused the application's
	// secret or certificate (invalid_client: AADSTS7000215, AADSTS700027,
	// AADSTS7000222).
	ErrClientCredentials error = &sentinel{"the application's credentials were refused", "check the client (application) ID and its secret or certificate: the secret's value, not its ID; a certificate registered on the application and not expired"}
	// ErrUnauthorized: the access token was refused (HTTP 401).
	ErrUnauthorized error = &sentinel{"the access token was refused", "get a new token: it may be expired, or for another audience or tenant"}
)

// aadsts maps AADSTS numbers to causes.
var aadsts = map[int]error{
	50126:  ErrWrongPassword,
	50034:  ErrUnknownUser,
	50076:  ErrMFARequired,
	50079:  ErrMFARequired,
	50158:  ErrMFARequired,
	50105:  ErrAssignmentRequired,
	135011: ErrDeviceDisabled,
	700003: ErrDeviceNotFound,
	700082: ErrSignInExpired,
	70043:  ErrSignInExpired,
	50173:  ErrSignInExpired,
	50133:  ErrSignInExpired,
	70008:  ErrSignInExpired,
	50058:  ErrMFARequired,
	70020:  ErrDeclined,
	70019:  ErrDeclined,
}

var aadstsRE = regexp.MustCompile(`AADSTS(\d{4,7})`)

// oauthError is the JSON error body of the token endpoint.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	Codes       []int  `json:"error_codes"`
}

// classify turns an OAuth error body into an *Error for op.
func classify(op string, status int, body oauthError) *Error {
	e := &Error{Op: op, Status: status, Code: body.Error}
	desc := body.Description
	if i := strings.IndexAny(desc, "\r\n"); i >= 0 {
		desc = desc[:i]
	}
	e.Description = strings.TrimSpace(desc)
	if len(body.Codes) > 0 {
		e.AADSTS = body.Codes[0]
	} else if m := aadstsRE.FindStringSubmatch(body.Description); m != nil {
		e.AADSTS, _ = strconv.Atoi(m[1])
	}
	if cause, ok := aadsts[e.AADSTS]; ok {
		e.Err = cause
	}
	switch {
	case e.Err != nil:
	case body.Error == "invalid_client":
		e.Err = ErrClientCredentials
	case body.Error == "interaction_required":
		e.Err = ErrMFARequired
	case strings.Contains(strings.ToLower(body.Description), "nonce"):
		e.Err = ErrNonce
	case body.Error == "expired_token" || body.Error == "access_denied" || body.Error == "authorization_declined":
		e.Err = ErrDeclined
	case status == 401:
		e.Err = ErrUnauthorized
	default:
		e.Err = fmt.Errorf("HTTP %d, %s", status, body.Error)
	}
	return e
}

// decodeError is an *Error for a reply that could not be decoded; what
// says which part, never its contents.
func decodeError(op, what string, err error) *Error {
	cause := fmt.Errorf("%w: %s", ErrBadResponse, what)
	if err != nil {
		cause = fmt.Errorf("%w: %s: %v", ErrBadResponse, what, err)
	}
	return &Error{Op: op, Err: cause}
}
