// Package msjose holds the JOSE variants and the key derivation that
// Microsoft Entra ID uses around the Primary Refresh Token (PRT), in one
// place, so that the Entra client (package entra) and its emulator
// (package entra/entratest) encode and decode them the same way, and a
// change on Microsoft's side is one edit here.
//
// Microsoft documents part of this in [MS-OAPXBC]; the rest is what real
// responses look like (see ENTRA.md in the project's shared notes):
//
//   - [DeriveKey]: the SP 800-108 counter-mode KDF with HMAC-SHA256 and the
//     label "AzureAD-SecureConversation", and [KDFv2Context] for the
//     "kdf_ver 2" variant, whose context is SHA-256(ctx ‖ payload).
//   - [ParseJWE], [JWE.Decrypt], [DecryptJWE] and [EncryptJWE]: compact JWEs
//     under a key derived from the PRT session key and the header's ctx:
//     AES-256-GCM for a 12-byte IV, AES-256-CBC with PKCS#7 padding for a
//     16-byte IV.
//   - [DecryptSessionKeyJWE] and [EncryptSessionKeyJWE]: the session_key_jwe
//     field, whose encrypted-key part is the 32-byte session key under
//     RSA-OAEP (SHA-1) with the device's transport key.
//   - [SignRS256] and [VerifyRS256]: JWSs signed by the device key with the
//     device certificate in x5c (PRT requests); [SignHS256] and
//     [VerifyHS256]: JWTs signed with a session-key-derived key (PRT
//     refresh).
//   - [MarshalRSAPublicBlob] and [ParseRSAPublicBlob]: the
//     BCRYPT_RSAKEY_BLOB in which device registration carries the transport
//     key.
//
// Decoders are strict where the format is Microsoft's own and lenient only
// where real responses vary (base64 alphabets, the content part of
// session_key_jwe). Every decoder returns an error on malformed input and
// never panics. Error texts name the step that failed and never contain keys,
// tokens or plaintext.
//
// The package is internal: its API follows what the client and the emulator
// need, not a general JOSE library (that is github.com/go-jose/go-jose,
// which this package uses for the JWS parts).
//
// [MS-OAPXBC]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-oapxbc/
package msjose
