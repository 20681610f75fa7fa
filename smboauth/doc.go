// Package smboauth gets Kerberos service tickets for Azure Files from OAuth
// access tokens: the Azure Files SMB OAuth path of applications and
// managed identities, which have no user, no device and no TGT.
//
// A TokenSource gives access tokens for Azure Storage (StorageResource):
// an application's, by the client-credentials flow with a certificate or
// a secret (Config.ClientCertificateTokens, Config.ClientSecretTokens), a
// managed identity's (ManagedIdentityTokens), or the caller's own
// (TokenFunc). An Exchange posts a token to the storage account's file
// endpoint (https://<account>/?restype=service&comp=kerbticket) and gets
// a KRB-CRED holding the ticket for cifs/<account>@FilesRealm; as an
// smb.Credentials it puts that ticket into the dialer's credential cache
// and exchanges again before the ticket ends, so the smb package opens the
// share with no KDC at all:
//
//	tokens, _ := smboauth.ManagedIdentityTokens("", nil)
//	d := &smb.Dialer{Kerberos: k, Credentials: &smboauth.Exchange{Tokens: tokens}, Encrypt: true}
//	s, err := d.Dial(ctx, smb.Server{Name: "acct.file.core.windows.net", Realm: smboauth.FilesRealm})
//
// Tokens come from MSAL for Go. Errors are *Error values naming the step,
// the service's code and what to do, matchable with errors.Is against
// ErrForbidden, ErrUnauthorized, ErrClientCredentials and ErrBadResponse.
// Microsoft Entra Kerberos, the path of users and devices, is package
// entra; entra/entratest emulates both.
package smboauth
