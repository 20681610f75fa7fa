// Package krb5 is a thin cgo layer over MIT krb5 and its GSS-API library,
// with every KDC exchange carried by Go.
//
// MIT does the Kerberos: ticket requests, credential caches, AP-REQ and
// AP-REP, MICs, key derivation. No Kerberos cryptography is written in Go.
// Go does the network: MIT's krb5_set_kdc_send_hook hands each KDC message
// to a Go transport chosen per realm — TCP with 4-byte length framing, or
// an MS-KKDCP proxy over HTTPS (package kkdcp) — bounded by the caller's
// context.Context. An embedded build therefore needs neither OpenSSL nor
// MIT's k5tls plugin, and a KDC that never answers ends in a deadline
// error, not a hang.
//
// Configuration is Go values (Config): realms with their KDCs or proxy
// URLs, host-to-realm mappings, enctypes (AES-256 only by default). The MIT
// profile is generated from them; /etc/krb5.conf, KRB5_CONFIG and
// KRB5CCNAME are read only when Config.UseEnvironment asks for them. No DNS
// lookups, no hostname canonicalization, no reverse DNS.
//
// The pieces, in MIT's vocabulary:
//
//   - Context: krb5_contexts built from a Config, a small pool of them
//     (Config.Concurrency, 4 by default) so that a call waiting on a slow
//     KDC holds one while other calls (cached tickets, other caches)
//     run in the others; MIT's rule of one thread per context is kept.
//   - CCache: MEMORY: (the default: no secrets on disk), FILE:, DIR:,
//     KEYRING: and KCM: caches; list, store, import, destroy. FILE: caches
//     written here are read by MIT klist and smbclient, and the reverse.
//   - GetInitCredsPassword, GetInitCredsKeytab: the AS exchange, with
//     enterprise (UPN) names.
//   - GetCredentials: service tickets by TGS, following referrals and
//     cross-realm paths as MIT does.
//   - CCache.Store and CCache.ImportKRBCred: credentials obtained elsewhere
//     (the Entra cloud TGT, the Azure Files SMB OAuth KRB-CRED).
//   - SecContext: a GSS-API context on the raw Kerberos mechanism, as
//     initiator (the service ticket is fetched through Go first, so GSS-API
//     never contacts a KDC) or acceptor (over a keytab), with GetMIC,
//     VerifyMIC and the SSPI session key.
//
// Failures are *Error values carrying MIT's code and message, explained in
// words, and matchable with errors.Is against ErrPreauthFailed,
// ErrClockSkew, ErrPrincipalUnknown, ErrNoKDC and the other Err* kinds.
//
// GSS-API makes MIT library contexts of its own, which take no profile
// from the caller: they read KRB5_CONFIG, else /etc/krb5.conf, and load
// the mechanism modules GSS_MECH_CONFIG (else /etc/gss/mech) names. So the
// GSS-API calls that make them (acquiring credentials, each step of a
// handshake) run with KRB5_CONFIG naming the Context's own profile and
// GSS_MECH_CONFIG an empty file, serialized across the process; with
// UseEnvironment, the environment's profile is layered under the
// generated one there too. A hostile /etc/krb5.conf changes nothing (a
// test proves it in a private mount namespace). Since the ticket is always
// in the cache before gss_init_sec_context, GSS-API never needs a KDC.
//
// The generated profile is a file in a directory of its own under
// Config.TempDir (os.TempDir() by default), removed by Close; directories
// left by processes that ended without Close are removed by the next
// NewContext.
package krb5
