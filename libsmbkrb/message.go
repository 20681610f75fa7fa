package main

import (
	"context"
	"errors"
	"io/fs"
	"strings"

	"github.com/smbkrb/smbkrb/entra"
	"github.com/smbkrb/smbkrb/internal/errclass"
	"github.com/smbkrb/smbkrb/krb5"
	"github.com/smbkrb/smbkrb/smb"
)

// message is what smbkrb_last_error says for err: the error, and what to
// do about it in this API's terms (the CLI says the same in flags).
func message(err error, class errclass.Class) string {
	r := remedy(err, class)
	if r == "" {
		return err.Error()
	}
	// One remedy per failure, in this API's terms.
	errclass.ClearRemedies(err)
	return err.Error() + " (" + r + ")"
}

// remedy says what to do about err, or "" when the error says enough.
func remedy(err error, class errclass.Class) string {
	var se *smb.Error
	op := ""
	if errors.As(err, &se) {
		op = se.Op
	}
	switch {
	case class == errclass.Usage:
		return ""
	case errors.Is(err, context.Canceled):
		return "cancelled by smbkrb_call_cancel"
	case errors.Is(err, entra.ErrNotRegistered):
		return "register the device into the state directory first: smbkrb entra register"
	case errors.Is(err, entra.ErrNoSignIn), errors.Is(err, entra.ErrSignInExpired):
		return "sign in into the state directory first: smbkrb entra login USER@DOMAIN"
	case errors.Is(err, smb.ErrPolicy):
		return "the server must offer SMB 3 with signing, and a cipher of smbkrb_config_set_ciphers where encryption is required: a server-side setting"
	case errors.Is(err, krb5.ErrNoKDC) && errclass.IsTLSTrust(err):
		return "the KDC proxy's certificate is not trusted: add its CA with smbkrb_config_add_ca_file"
	case errclass.IsTLSTrust(err):
		return "the server's certificate is not trusted: add its CA with smbkrb_config_add_ca_file"
	case errors.Is(err, krb5.ErrNoKDC) && errclass.IsNetwork(err):
		return "check that the KDC given to smbkrb_config_add_kdc is the right address and reachable from here"
	case errors.Is(err, krb5.ErrNoKDC):
		return `tell the library where the realm's KDC is: smbkrb_config_add_kdc(cfg, "REALM", "host:port" or "https://proxy/KdcProxy")`
	case errors.Is(err, krb5.ErrPreauthFailed):
		return "" // krb5 says it: check the password, or the keytab
	case errors.Is(err, krb5.ErrPrincipalUnknown) && op == "service ticket":
		var ke *krb5.Error
		if errors.As(err, &ke) && strings.Contains(ke.KDCText, "AADSTS700016") {
			return ""
		}
		return "give smbkrb_connect the name the server is registered under (its cifs/NAME service principal) as server, and where to reach it as addr"
	case errors.Is(err, krb5.ErrPrincipalUnknown):
		return "check the user name and its realm: alice@EXAMPLE.COM (realms are usually upper case)"
	case errors.Is(err, krb5.ErrClockSkew):
		return "set this device's clock (NTP)"
	case errors.Is(err, krb5.ErrNoCredentials), errors.Is(err, krb5.ErrTicketExpired):
		return "the cache has no valid ticket: log in again, or use smbkrb_cred_password or smbkrb_cred_keytab"
	case errors.Is(err, smb.ErrNoShare):
		return "check the share name given to smbkrb_mount"
	case errors.Is(err, fs.ErrNotExist):
		return ""
	case class == errclass.Permission && op != "":
		return "the user lacks the permission on the server (or the share is read-only): check with the server's administrator"
	case errors.Is(err, context.DeadlineExceeded):
		return "check that the server and the KDC are reachable, or allow more time: smbkrb_call_set_timeout_ms, smbkrb_config_set_timeout_ms"
	case op == "connect" && errclass.IsNetwork(err):
		return "check the server's address (smbkrb_connect's addr) and that its port 445 is reachable"
	case errclass.IsNetwork(err):
		return "check the network between this device and the server"
	}
	return ""
}
