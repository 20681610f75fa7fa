// Package smb3crypto holds the cryptography of SMB 3.x (MS-SMB2 3.1.4):
// the SP800-108 key derivation, the SHA-512 preauthentication integrity
// hash, message signing with AES-128-CMAC and AES-128-GMAC, and the
// SMB2 TRANSFORM_HEADER encryption with AES-128/256 in CCM and GCM mode.
//
// It knows nothing of connections or sessions: the engine in package smb2
// hands it keys and message bytes. Every function that takes bytes from
// the network checks their length first and fails with an error; none
// panics on short or malformed input. Keys are copied in and zeroed by
// Zero; callers zero their own copies.
package smb3crypto
