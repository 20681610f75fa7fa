// Package aad holds what the packages that talk to Microsoft Entra ID
// (entra, for Microsoft Entra Kerberos, and smboauth, for Azure Files SMB
// OAuth) share about its replies: the error type they return, the known
// causes with their remedies, the AADSTS classification, MSAL's errors,
// and a bounded HTTPS round trip whose errors name the host but never
// the query.
package aad
