// Package errclass sorts smbkrb's errors into the classes a caller acts
// on: authentication, not found, permission, policy, network, cancelled.
// The CLI's exit codes and the C library's status codes are these
// classes, with the same numbers, so a script and a firmware program
// read one failure the same way.
package errclass

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io/fs"
	"net"
	"syscall"

	"github.com/smbkrb/smbkrb/entra"
	"github.com/smbkrb/smbkrb/krb5"
	"github.com/smbkrb/smbkrb/smb"
	"github.com/smbkrb/smbkrb/smboauth"
)

// Class is what kind of failure an error is. Its values are the CLI's
// exit codes.
type Class int

// The classes. Usage is never returned by Of: only the caller knows that
// its input was wrong before anything ran.
const (
	OK         Class = 0
	Failure    Class = 1 // anything not below
	Usage      Class = 2 // a wrong argument or setting
	Auth       Class = 3 // Kerberos, Entra or the server refused the login
	NotFound   Class = 4 // no such file, directory or share
	Permission Class = 5 // the server (or the local system) denied access
	Policy     Class = 6 // signing or encryption cannot be had as required
	Network    Class = 7 // a peer cannot be reached or stopped answering, or a deadline passed
	Canceled   Class = 130
)

// authErrors are the Kerberos and logon failures of class Auth.
var authErrors = []error{
	krb5.ErrPreauthFailed, krb5.ErrPrincipalUnknown, krb5.ErrClockSkew,
	krb5.ErrTicketExpired, krb5.ErrNoCredentials, krb5.ErrPasswordExpired,
	krb5.ErrClientRevoked, krb5.ErrEnctype, krb5.ErrWrongRealm,
	smb.ErrLogonFailure, smb.ErrSessionExpired,
	entra.ErrWrongPassword, entra.ErrUnknownUser, entra.ErrMFARequired,
	entra.ErrAssignmentRequired, entra.ErrNonce, entra.ErrDeviceDisabled,
	entra.ErrDeviceNotFound, entra.ErrSignInExpired, entra.ErrNoTGT,
	entra.ErrDeclined, entra.ErrUnauthorized,
	entra.ErrNotRegistered, entra.ErrNoSignIn, smboauth.ErrClientCredentials,
}

// Of classifies err; nil is OK.
func Of(err error) Class {
	if err == nil {
		return OK
	}
	switch {
	case errors.Is(err, context.Canceled):
		return Canceled
	case errors.Is(err, smb.ErrPolicy):
		return Policy
	case errors.Is(err, krb5.ErrNoKDC) && (IsNetwork(err) || IsTLSTrust(err)):
		return Network
	case errors.Is(err, krb5.ErrNoKDC):
		return Auth // no KDC known for the realm: a Kerberos setting
	case IsTLSTrust(err):
		return Network
	}
	for _, e := range authErrors {
		if errors.Is(err, e) {
			return Auth
		}
	}
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, smb.ErrNoShare), errors.Is(err, smboauth.ErrNoAccount):
		return NotFound
	case errors.Is(err, fs.ErrPermission), errors.Is(err, smb.ErrAccessDenied), errors.Is(err, smboauth.ErrForbidden):
		return Permission
	case IsNetwork(err):
		return Network
	}
	var ke *krb5.Error
	if errors.As(err, &ke) {
		return Auth
	}
	return Failure
}

// ClearRemedies removes the remedies the Go packages put in err's chain
// (smb.Error.Remedy, krb5.Error.Remedy, worded in Go API terms), for a
// caller that gives its own, worded for its users (flags in the CLI,
// functions in the C library): one remedy per failure.
func ClearRemedies(err error) {
	var se *smb.Error
	if errors.As(err, &se) {
		se.Remedy = ""
	}
	var ke *krb5.Error
	if errors.As(err, &ke) {
		ke.Remedy = ""
	}
}

// IsNetwork reports a failure to reach or keep talking to a peer, or a
// deadline that passed.
func IsNetwork(err error) bool {
	for _, e := range []error{
		context.DeadlineExceeded, syscall.ECONNREFUSED, syscall.ECONNRESET,
		syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.ETIMEDOUT,
		syscall.EPIPE, syscall.ECONNABORTED, net.ErrClosed,
	} {
		if errors.Is(err, e) {
			return true
		}
	}
	var dnsErr *net.DNSError
	var opErr *net.OpError
	if errors.As(err, &dnsErr) || errors.As(err, &opErr) {
		return true
	}
	// Every syscall.Errno is a net.Error (it has Timeout and Temporary):
	// a local ENOTDIR or ENOSPC is not a network failure; the network's
	// errnos are listed above.
	var ne net.Error
	if errors.As(err, &ne) {
		_, errno := ne.(syscall.Errno)
		return !errno
	}
	return false
}

// IsTLSTrust reports a peer certificate that failed verification.
func IsTLSTrust(err error) bool {
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	var he x509.HostnameError
	var ve *tls.CertificateVerificationError
	return errors.As(err, &ua) || errors.As(err, &ci) || errors.As(err, &he) || errors.As(err, &ve)
}
