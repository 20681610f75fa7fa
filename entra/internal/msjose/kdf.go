package msjose

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
)

// KDFLabel is the SP 800-108 label Entra uses for every key it derives from
// a PRT session key ([MS-OAPXBC] section 3.1.5.1.3.3).
const KDFLabel = "AzureAD-SecureConversation"

// DerivedKeySize is the size of a derived key: an AES-256 or HS256 key.
const DerivedKeySize = 32

// SessionKeySize is the size of a PRT session key.
const SessionKeySize = 32

// DeriveKey derives a 32-byte key from a PRT session key and a context with
// the SP 800-108 KDF in counter mode, HMAC-SHA256 as the PRF, the label
// [KDFLabel] and a 32-bit big-endian counter and output length:
//
//	K(i) = HMAC-SHA256(sessionKey, [i]32 ‖ label ‖ 0x00 ‖ context ‖ [256]32)
//
// with i from 1. One block gives the 32 bytes. For kdf_ver 2, pass
// [KDFv2Context] as context.
func DeriveKey(sessionKey, context []byte) []byte {
	return counterKDF(sessionKey, []byte(KDFLabel), context, DerivedKeySize)
}

// KDFv2Context returns the context of the "kdf_ver 2" derivation:
// SHA-256(ctx ‖ payload), where ctx is the decoded ctx header value and
// payload the JWT payload bytes exactly as signed (before base64url).
// Binding the payload into the key means a captured signing key is good for
// one request only.
func KDFv2Context(ctx, payload []byte) []byte {
	h := sha256.New()
	h.Write(ctx)
	h.Write(payload)
	return h.Sum(nil)
}

// DeriveKeyV2 is DeriveKey(sessionKey, KDFv2Context(ctx, payload)).
func DeriveKeyV2(sessionKey, ctx, payload []byte) []byte {
	return DeriveKey(sessionKey, KDFv2Context(ctx, payload))
}

// counterKDF is SP 800-108 section 4.1 (counter mode) with HMAC-SHA256, r = 32
// and L encoded in 32 bits, producing n bytes. DeriveKey uses one block; the
// loop keeps the construction recognisable.
func counterKDF(key, label, context []byte, n int) []byte {
	var ctr, bits [4]byte
	binary.BigEndian.PutUint32(bits[:], uint32(n)*8)
	out := make([]byte, 0, n+sha256.Size)
	mac := hmac.New(sha256.New, key)
	for i := uint32(1); len(out) < n; i++ {
		binary.BigEndian.PutUint32(ctr[:], i)
		mac.Reset()
		mac.Write(ctr[:])
		mac.Write(label)
		mac.Write([]byte{0})
		mac.Write(context)
		mac.Write(bits[:])
		out = mac.Sum(out)
	}
	return out[:n]
}
