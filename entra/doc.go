// Package entra gets Kerberos tickets for Azure Files from Microsoft Entra
// ID over HTTPS, on a device that has no domain controller in reach and
// perhaps no port 88 at all.
//
// Microsoft Entra Kerberos (user identities) works like this: the device
// registers once with the Device Registration Service (Client.Register,
// authorized by a token from Client.DeviceCodeSignIn), which gives it a
// certificate; the device key signs a Primary Refresh Token (PRT) request
// for a user (Client.SignInPassword, or Client.SignInRefreshToken after a
// device-code sign-in that can do multi-factor authentication), and the
// reply carries the PRT, its session key (for the device's transport key)
// and a cloud TGT for realm KERBEROS.MICROSOFTONLINE.COM. SignIn.StoreTGT
// puts that TGT into a krb5 credential cache; service tickets for
// cifs/<account>.file.core.windows.net then come by TGS through the
// tenant's KDC proxy (Client.Realm gives the krb5.Realm), and the smb
// package opens the share. Entra does not renew TGTs: Client.Refresh
// renews the PRT and gets a new TGT, and Client.Credentials does that by
// itself for an smb.Dialer before the TGT ends. Device.Save and
// SignIn.Save keep the identity and the sign-in (mode 0600 files), so a
// restarted process needs no new sign-in.
//
// MIT krb5 (package krb5) decrypts the cloud TGT's AS-REP; the Microsoft
// specific key derivation and JOSE variants are in this module, standard
// JOSE comes from go-jose and the device-code flow from MSAL for Go. The
// same code talks to the real service and to the emulator in
// entra/entratest; only the base URLs and the trust roots differ.
//
// Errors are *Error values naming the step, with the service's AADSTS code
// and what to do, matchable with errors.Is against ErrWrongPassword,
// ErrMFARequired, ErrAssignmentRequired, ErrDeviceDisabled, ErrNoTGT and
// the others. Secrets (passwords, tokens, keys) never appear in errors.
//
// Azure Files SMB OAuth, the path of applications and managed identities,
// which have no device and no TGT, is package smboauth.
package entra
