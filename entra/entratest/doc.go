// Package entratest is an emulator of the Microsoft Entra ID endpoints
// that package entra talks to, in the style of net/http/httptest: a real
// HTTPS server on loopback with its own CA, which the same client code
// uses as it uses the real service (only the base URLs and the trust
// roots differ; entra has no test-only branches).
//
// What it needs is a real KDC of KERBEROS.MICROSOFTONLINE.COM, which
// issues the cloud TGTs and the service tickets. Start makes one, in one
// call: a throwaway MIT KDC (the Debian packages krb5-kdc and
// krb5-admin-server, unprivileged, on loopback, about 75 ms to start)
// holding the users and SPNs the Options name, and Server.Keytab gives an
// SMB server of the caller's the SPNs' keys. NewServer takes a KDC of the
// caller's (Options.KDCs): this project's own tests use a Samba AD DC
// provisioned with that realm, which also serves the share.
//
// It serves, under one base URL:
//
//   - /<tenant>/v2.0/.well-known/openid-configuration, with a
//     kerberos_endpoint;
//   - the device-code and v2 token endpoints MSAL for Go uses
//     (/<tenant>/oauth2/v2.0/devicecode and .../token): the test plays the
//     user at the browser with ApproveDeviceCode or DeclineDeviceCode;
//   - the Device Registration Service under /drs: discovery, join (the
//     CSR signed by the emulator's device CA, the transport key read from
//     its BCRYPT blob) and delete (authenticated by the device certificate
//     over TLS);
//   - the v1 token endpoint (/<tenant>/oauth2/token): srv_challenge with
//     single-use expiring nonces; PRT requests signed by a registered,
//     enabled device, with a password or a Broker refresh token, checked
//     against the directory (Options.Users) and its Conditional Access
//     knobs; PRT refreshes signed with the session key, answered with a
//     JWE under it;
//   - /<tenant>/kerberos, a strict MS-KKDCP proxy (kkdcp.Handler) to the
//     real KDC, which answers like Entra (AADSTS700016 in the KRB-ERROR's
//     e-text) for a cifs/ name without an application, and for CIFS/;
//   - for package smboauth (Options.Apps, Options.ManagedIdentities,
//     Options.SMBOAuth): the client-credentials grant with a secret or a
//     certificate, an App Service style managed identity endpoint, and the
//     storage account's file endpoint (FileEndpoint), whose kerbticket
//     exchange returns a real ticket from the KDC of
//     FILES.AZURE.STORAGE.MICROSOFT.COM as a KRB-CRED (SMBOAuthConfig gives
//     the smboauth.Config).
//
// The cloud TGT is a real ticket: for each PRT response the emulator logs
// the user in at the real KDC of KERBEROS.MICROSOFTONLINE.COM and hands
// the ticket over the way Entra does: in an AS-REP whose enc-part is
// encrypted (by MIT) under a fresh clientKey, which travels in tgt_cloud encrypted
// under the PRT session key. Knobs: SetClientKeyFormat (JWE with GCM or
// CBC, or plain base64), SetNonceLifetime and ExpireNonces,
// SetDeviceEnabled and DeleteDevice, SetClockOffset, per-user MFA,
// NotAssigned and NoCloudTGT, Options.TGTLifetime, Options.ADRealm (a
// tgt_ad beside tgt_cloud). Requests counts the requests per endpoint, so
// a test can count round trips or prove that a step made none.
//
// The emulator's JOSE and key derivation are those of entra's internal
// msjose package, whose tests check them against vectors computed with
// python3-cryptography, not only against the client.
package entratest
