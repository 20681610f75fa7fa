// Package smb gives Kerberos-authenticated SMB3 sessions over package krb5:
// MIT GSS-API does the authentication, an SMB engine (currently
// github.com/cloudsoda/go-smb2, kept out of this package's API) the
// protocol. Work in progress: so far the session-setup initiator.
package smb
