package aad

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Error is the error of every step of the Entra flows and of the SMB
// OAuth exchange: which step, the HTTP status and the service's error,
// and what it means (entra.Error and smboauth.Error are this type). Err is one of
// this package's sentinels when the cause is known (errors.Is(err,
// ErrWrongPassword)), a network or context error, or a decoding error.
// Error strings never contain tokens, passwords or keys.
type Error struct {
	// Op is the step: "discover", "register device", "unregister device",
	// "device-code sign-in", "nonce", "sign in", "refresh", "decode" (the
	// entra package); "client credentials", "managed identity", "ticket
	// exchange" (the smboauth package).
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
	if smboauthOps[e.Op] {
		b.WriteString("smboauth: ")
	} else {
		b.WriteString("entra: ")
	}
	b.WriteString(e.Op)
	b.WriteString(": ")
	hint := ""
	if e.Err != nil {
		b.WriteString(e.Err.Error())
		var s *Sentinel
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

// smboauthOps are the steps of package smboauth, whose errors say so.
var smboauthOps = map[string]bool{"client credentials": true, "managed identity": true, "ticket exchange": true}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Sentinel is a known cause, with what a user can do about it (shown
// after the cause by Error.Error).
type Sentinel struct {
	text, hint string
}

// NewSentinel is a known cause with its remedy.
func NewSentinel(text, hint string) *Sentinel { return &Sentinel{text, hint} }

func (s *Sentinel) Error() string { return s.text }

// Known causes. Match them with errors.Is.
var (
	// ErrWrongPassword: the user name or password is wrong (AADSTS50126).
	ErrWrongPassword error = &Sentinel{"the user name or password is wrong", "check both; a user synced from AD DS signs in with the on-premises password only when password hash sync is on"}
	// ErrUnknownUser: the tenant has no such user (AADSTS50034).
	ErrUnknownUser error = &Sentinel{"the tenant has no such user", "check the user principal name (alice@contoso.com) and the tenant"}
	// ErrMFARequired: a Conditional Access policy demands multi-factor
	// authentication (AADSTS50076, AADSTS50079, interaction_required).
	ErrMFARequired error = &Sentinel{"multi-factor authentication is required", "a Conditional Access policy requires MFA for this sign-in: exclude the storage account's application from that policy, or sign in with the device code flow (smbkrb entra login --device-code), which can do MFA"}
	// ErrAssignmentRequired: the application requires assignment and the
	// user is not assigned (AADSTS50105).
	ErrAssignmentRequired error = &Sentinel{"the user is not assigned to the application", "the storage account's Entra application has \"Assignment required\" set: assign the user (or a group of theirs) to it, or turn assignment off"}
	// ErrNonce: the request nonce expired or was already used.
	ErrNonce error = &Sentinel{"the request nonce expired or was already used", "smbkrb already retried once with a new nonce; if it keeps failing, check the device clock (NTP)"}
	// ErrDeviceDisabled: the device is disabled in the directory
	// (AADSTS135011).
	ErrDeviceDisabled error = &Sentinel{"the device is disabled in the directory", "an administrator must enable it again (Entra admin center, Devices), or register the device anew"}
	// ErrDeviceNotFound: the directory has no such device (AADSTS700003):
	// it was deleted.
	ErrDeviceNotFound error = &Sentinel{"the directory has no such device (it was deleted)", "register the device again (smbkrb entra register)"}
	// ErrSignInExpired: the PRT or refresh token expired or was revoked
	// (AADSTS700082, AADSTS70043, AADSTS50173, AADSTS50133).
	ErrSignInExpired error = &Sentinel{"the sign-in expired or was revoked", "sign in again (smbkrb entra login)"}
	// ErrNoTGT: the sign-in worked but Entra returned no cloud TGT
	// (keyType 0 in tgt_cloud).
	ErrNoTGT error = &Sentinel{"Entra returned no Kerberos ticket-granting ticket", "Microsoft Entra Kerberos must be enabled for the storage account (and the tenant allows cloud Kerberos tickets); a guest or an account without a cloud identity gets none"}
	// ErrDeclined: the user declined the device-code sign-in, or it
	// expired before they completed it.
	ErrDeclined error = &Sentinel{"the device-code sign-in was declined or expired", "start it again and complete it at the address shown"}
	// ErrBadResponse: a reply could not be decoded.
	ErrBadResponse error = &Sentinel{"the reply could not be decoded", "the service's format may have changed; report it with the smbkrb version"}
	// ErrClientCredentials: the token endpoint refused the application's
	// secret or certificate (invalid_client: AADSTS7000215, AADSTS700027,
	// AADSTS7000222).
	ErrClientCredentials error = &Sentinel{"the application's credentials were refused", "check the client (application) ID and its secret or certificate: the secret's value, not its ID; a certificate registered on the application and not expired"}
	// ErrForbidden: the storage account refused the exchange (HTTP 403).
	ErrForbidden error = &Sentinel{"the storage account refused the ticket exchange", "SMB OAuth must be enabled on the storage account, and the identity needs the \"Storage File Data SMB MI Admin\" role (or a narrower SMB data role) on it"}
	// ErrNoAccount: the file endpoint knows no such storage account
	// (HTTP 404).
	ErrNoAccount error = &Sentinel{"the file endpoint has no such storage account", "check the storage account's name (ACCOUNT.file.core.windows.net) and, for a private endpoint, the endpoint URL"}
	// ErrUnauthorized: the access token was refused (HTTP 401).
	ErrUnauthorized error = &Sentinel{"the access token was refused", "get a new token: it may be expired, or for another audience or tenant"}
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

// OAuthError is the JSON error body of the token endpoint.
type OAuthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	Codes       []int  `json:"error_codes"`
}

// Classify turns an OAuth error body into an *Error for op.
func Classify(op string, status int, body OAuthError) *Error {
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

// DecodeError is an *Error for a reply that could not be decoded; what
// says which part, never its contents.
func DecodeError(op, what string, err error) *Error {
	cause := fmt.Errorf("%w: %s", ErrBadResponse, what)
	if err != nil {
		cause = fmt.Errorf("%w: %s: %v", ErrBadResponse, what, err)
	}
	return &Error{Op: op, Err: cause}
}
