package smboauth

import "github.com/smbkrb/smbkrb/internal/aad"

// Error is the error of every step: Op is "client credentials", "managed
// identity" or "ticket exchange"; Status the HTTP status of the reply (0
// if there was none); Code the OAuth error or Azure Storage's error code;
// AADSTS the first AADSTS error number of a token endpoint's reply;
// Description the first line of the service's message; Err the cause,
// one of the sentinels below when it is known. Error strings never
// contain tokens, secrets or keys. It is the type entra.Error is too.
type Error = aad.Error

// Known causes. Match them with errors.Is; each one's text ends with what
// to do.
var (
	// ErrForbidden: the storage account refused the exchange (HTTP 403).
	ErrForbidden = aad.ErrForbidden
	// ErrNoAccount: the file endpoint knows no such storage account
	// (HTTP 404).
	ErrNoAccount = aad.ErrNoAccount
	// ErrUnauthorized: the storage account refused the access token
	// (HTTP 401).
	ErrUnauthorized = aad.ErrUnauthorized
	// ErrClientCredentials: the token endpoint refused the application's
	// secret or certificate (invalid_client: AADSTS7000215, AADSTS700027,
	// AADSTS7000222).
	ErrClientCredentials = aad.ErrClientCredentials
	// ErrBadResponse: a reply could not be decoded.
	ErrBadResponse = aad.ErrBadResponse
)
