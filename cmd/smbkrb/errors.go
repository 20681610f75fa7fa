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

// Exit codes; doc.go lists them for users and scripts. They are the
// error classes of internal/errclass.
const (
	exitOK          = int(errclass.OK)
	exitFailure     = int(errclass.Failure)
	exitUsage       = int(errclass.Usage)
	exitAuth        = int(errclass.Auth)
	exitNotFound    = int(errclass.NotFound)
	exitPermission  = int(errclass.Permission)
	exitPolicy      = int(errclass.Policy)
	exitNetwork     = int(errclass.Network)
	exitInterrupted = int(errclass.Canceled)
)

// exitCode classifies err for scripts: a usage error, else its class
// (internal/errclass, whose numbers are these exit codes).
func exitCode(err error) int {
	var ue *usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return int(errclass.Of(err))
}

// isNetwork and isTLSTrust are errclass's, for the hints.
var (
	isNetwork  = errclass.IsNetwork
	isTLSTrust = errclass.IsTLSTrust
)

// hintInfo is what a hint may mention.
type hintInfo struct {
	cmd       string
	principal string // --user, or the cache's principal
	keytab    string
	cache     string
	server    string // server name
	path      string // //server/share/path of the command, if any
	encrypt   bool
}

// hint says what to do about err, or "" when there is nothing to add to
// what the error already says.
func hint(err error, h hintInfo) string {
	var ue *usageError
	if errors.As(err, &ue) {
		return ue.hint
	}
	var df *doctorFailed
	if errors.As(err, &df) {
		return "" // each failed check was shown with its remedy
	}
	var se *smb.Error
	op := ""
	if errors.As(err, &se) {
		op = se.Op
	}
	who := h.principal
	if who == "" {
		who = "the user"
	}
	switch {
	case errors.Is(err, context.Canceled):
		return ""
	case errors.Is(err, entra.ErrNotRegistered):
		return "register this device first: smbkrb entra register"
	case errors.Is(err, entra.ErrNoSignIn):
		return "sign in first: smbkrb entra login USER@DOMAIN (or --device-code)"
	case errors.Is(err, entra.ErrMFARequired) && h.cmd == "entra":
		return "smbkrb entra login --device-code signs in through a browser, where MFA works"
	case isTLSTrust(err) && !errors.Is(err, krb5.ErrNoKDC):
		return "the server's certificate is not trusted: give its CA's certificate with --ca FILE (PEM)"
	case errors.Is(err, smb.ErrPolicy):
		if h.encrypt {
			return "encryption is a server-side setting of the share: have it required there, or leave out --encrypt if signing is enough"
		}
		return "the server must support SMB 3 with signing: this is a server-side setting"
	case errors.Is(err, krb5.ErrNoKDC) && isTLSTrust(err):
		return "the KDC proxy's certificate is not trusted: give its CA's certificate with --ca FILE (PEM)"
	case errors.Is(err, krb5.ErrNoKDC) && isNetwork(err):
		return "check that the KDC given with --kdc (or in the configuration file) is the right address and reachable from here"
	case errors.Is(err, krb5.ErrNoKDC) && looksLikeUPN(h.principal):
		return "if " + h.principal + " is a user principal name (UPN), add --enterprise; otherwise tell smbkrb where its realm's KDC is with --kdc REALM=host:port"
	case errors.Is(err, krb5.ErrNoKDC):
		return "tell smbkrb where the realm's KDC is: --kdc REALM=host:port or --kdc REALM=https://proxy/KdcProxy (or a kdc line in the configuration file)"
	case errors.Is(err, krb5.ErrPreauthFailed):
		if h.keytab != "" {
			return "export a current keytab for " + who + " (the account's key has changed since " + h.keytab + " was made)"
		}
		return "check the password of " + who + " (is Caps Lock on?) and try again"
	case errors.Is(err, krb5.ErrPrincipalUnknown) && op == "service ticket":
		var ke *krb5.Error
		if errors.As(err, &ke) && strings.Contains(ke.KDCText, "AADSTS700016") {
			return "" // the error says what Entra needs, in no API's terms
		}
		return "use the name the server is registered under (setspn -Q cifs/NAME shows it on Windows), with --addr NAME=ADDRESS if it must be reached at another address, or name the registered service principal with --spn cifs/NAME"
	case errors.Is(err, krb5.ErrPrincipalUnknown):
		return "check the user name and its realm: --user alice@EXAMPLE.COM (realms are usually upper case)"
	case errors.Is(err, krb5.ErrClockSkew):
		return "set this machine's clock (NTP), or tolerate more difference with --clock-skew"
	case errors.Is(err, krb5.ErrWrongRealm):
		return "check the realm in --user and --realm, and the --kdc entries"
	case errors.Is(err, krb5.ErrNoCredentials), errors.Is(err, krb5.ErrTicketExpired):
		if h.keytab != "" {
			return "check that " + h.keytab + " holds a key for " + who + " (klist -k " + h.keytab + ")"
		}
		if h.cmd == "klist" {
			return "log in with smbkrb kinit PRINCIPAL"
		}
		return "log in first with smbkrb kinit PRINCIPAL, or pass --user PRINCIPAL"
	case errors.Is(err, smb.ErrSessionExpired):
		return "run the command again; if it keeps happening, log in again (smbkrb kinit)"
	case errors.Is(err, smb.ErrNoShare):
		return "check the share name: //SERVER/SHARE/path"
	case errors.Is(err, fs.ErrNotExist):
		if strings.HasPrefix(h.path, "//") && (op == "stat" || op == "open" || op == "list" || op == "remove" || op == "rename" || op == "write" || op == "mkdir") {
			return "smbkrb ls " + h.path[:strings.LastIndexByte(h.path, '/')] + " shows what is there"
		}
		return ""
	case errors.Is(err, fs.ErrPermission), errors.Is(err, smb.ErrAccessDenied):
		if op == "" {
			return "" // a local file
		}
		switch op {
		case "write", "mkdir", "remove", "rename":
			return who + " may not change this (or the share is read-only): ask the server's administrator for access, or use a share or directory " + who + " may write to"
		}
		return who + " lacks the permission on the server: check the share's and the file's permissions with the server's administrator"
	case errors.Is(err, context.DeadlineExceeded):
		return "check that the server and the KDC are reachable, or allow more time with --timeout"
	case op == "connect" && isNetwork(err):
		return "check the server's address (--addr " + h.server + "=ADDRESS) and that its port 445 is reachable"
	case isNetwork(err):
		return "check the network between this machine and the server"
	}
	return ""
}

// looksLikeUPN reports a principal whose realm part is not upper case,
// as in alice@example.com: more likely a user principal name than a
// principal of realm example.com.
func looksLikeUPN(principal string) bool {
	i := strings.LastIndexByte(principal, '@')
	return i >= 0 && strings.ToUpper(principal[i+1:]) != principal[i+1:]
}
