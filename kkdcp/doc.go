// Package kkdcp carries Kerberos KDC exchanges over HTTPS, as the Kerberos KDC
// Proxy Protocol [MS-KKDCP] defines, and over plain TCP to a KDC.
//
// In smbkrb, MIT krb5 does Kerberos and Go does the network: MIT builds each
// AS-REQ and TGS-REQ, and its KDC send hook hands the bytes to Go. For a realm
// whose KDC is an https:// URL (an on-premises KDC proxy, or Entra Kerberos at
// https://login.microsoftonline.com/<tenant-id>/kerberos) the krb5 package
// calls [Client.Exchange]; for a host:port KDC it calls [ExchangeTCP]. Both
// take their deadline from a [context.Context], verify TLS certificates and
// bound every size they read, so no exchange hangs or reads without limit, and
// neither OpenSSL nor MIT's k5tls plugin is needed.
//
// The package has three parts:
//
//   - [Message], [Message.Marshal] and [Unmarshal]: the KDC-PROXY-MESSAGE codec
//     (MS-KKDCP section 2.2.2), strict DER in both directions.
//   - [Client]: posts one Kerberos message to a proxy URL and returns the reply.
//   - [Handler]: a [net/http.Handler] that is a KDC proxy. It forwards
//     AS-REQ and TGS-REQ messages for the realms it is configured with to
//     their KDCs over TCP. It is deployable on its own behind
//     [net/http.ListenAndServeTLS], and it is the proxy the tests use.
//
// [MS-KKDCP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-kkdcp/
package kkdcp
