package entra

import "github.com/smbkrb/smbkrb/internal/aad"

// Error is the error of every step of the Entra flows: Op names the step
// ("discover", "register device", "unregister device", "device-code
// sign-in", "nonce", "sign in", "refresh", "decode"), Status the HTTP
// status of the reply (0 if there was none), Code the OAuth error
// ("invalid_grant"), AADSTS the first AADSTS error number, Description the
// first line of the service's error_description, and Err the cause: one
// of this package's sentinels when it is known (errors.Is(err,
// ErrWrongPassword)), a network or context error, or a decoding error.
// Error strings never contain tokens, passwords or keys. It is the type
// smboauth.Error is too.
type Error = aad.Error

// Known causes. Match them with errors.Is; each one's text ends with what
// to do.
var (
	// ErrWrongPassword: the user name or password is wrong (AADSTS50126).
	ErrWrongPassword = aad.ErrWrongPassword
	// ErrUnknownUser: the tenant has no such user (AADSTS50034).
	ErrUnknownUser = aad.ErrUnknownUser
	// ErrMFARequired: a Conditional Access policy demands multi-factor
	// authentication (AADSTS50076, AADSTS50079, interaction_required).
	ErrMFARequired = aad.ErrMFARequired
	// ErrAssignmentRequired: the application requires assignment and the
	// user is not assigned (AADSTS50105).
	ErrAssignmentRequired = aad.ErrAssignmentRequired
	// ErrNonce: the request nonce expired or was already used.
	ErrNonce = aad.ErrNonce
	// ErrDeviceDisabled: the device is disabled in the directory
	// (AADSTS135011).
	ErrDeviceDisabled = aad.ErrDeviceDisabled
	// ErrDeviceNotFound: the directory has no such device (AADSTS700003):
	// it was deleted.
	ErrDeviceNotFound = aad.ErrDeviceNotFound
	// ErrSignInExpired: the PRT or refresh token expired or was revoked
	// (AADSTS700082, AADSTS70043, AADSTS50173, AADSTS50133).
	ErrSignInExpired = aad.ErrSignInExpired
	// ErrNoTGT: the sign-in worked but Entra returned no cloud TGT
	// (keyType 0 in tgt_cloud).
	ErrNoTGT = aad.ErrNoTGT
	// ErrDeclined: the user declined the device-code sign-in, or it
	// expired before they completed it.
	ErrDeclined = aad.ErrDeclined
	// ErrBadResponse: a reply could not be decoded.
	ErrBadResponse = aad.ErrBadResponse
	// ErrUnauthorized: an access token was refused (HTTP 401).
	ErrUnauthorized = aad.ErrUnauthorized
)
