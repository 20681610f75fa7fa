package smb3crypto

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
)

// KDF is the key derivation of MS-SMB2 3.1.4.2: SP800-108 in counter
// mode with HMAC-SHA256 as the PRF, a 32-bit counter and a 32-bit L of
// bits output bits. label and context are used as given (the SMB labels
// carry their terminating NUL). bits must be a positive multiple of 8.
func KDF(key, label, context []byte, bits int) []byte {
	n := bits / 8
	out := make([]byte, 0, n+sha256.Size)
	var ctr, l [4]byte
	binary.BigEndian.PutUint32(l[:], uint32(bits))
	for i := uint32(1); len(out) < n; i++ {
		binary.BigEndian.PutUint32(ctr[:], i)
		m := hmac.New(sha256.New, key)
		m.Write(ctr[:])
		m.Write(label)
		m.Write([]byte{0})
		m.Write(context)
		m.Write(l[:])
		out = m.Sum(out)
	}
	clear(out[n:cap(out)])
	return out[:n]
}

// PreauthHash is the SHA-512 preauthentication integrity hash value of
// SMB 3.1.1 (MS-SMB2 3.2.5.2, 3.2.5.3.1). The zero value is the initial
// value of 64 zero bytes.
type PreauthHash [sha512.Size]byte

// Update folds one whole message (an SMB2 header and its body, without
// the transport length) into the hash: h = SHA-512(h || msg).
func (h *PreauthHash) Update(msg []byte) {
	d := sha512.New()
	d.Write(h[:])
	d.Write(msg)
	d.Sum(h[:0])
}

// Keys are the keys of one SMB 3.x session.
type Keys struct {
	Signing     []byte // signs messages in both directions
	Encryption  []byte // client to server (the server's decryption key)
	Decryption  []byte // server to client
	Application []byte // for the application layer (MS-SMB2 3.2.1.3)
}

// Zero overwrites the keys.
func (k *Keys) Zero() {
	clear(k.Signing)
	clear(k.Encryption)
	clear(k.Decryption)
	clear(k.Application)
}

// Dialect revisions DeriveKeys knows.
const (
	dialect300 = 0x0300
	dialect302 = 0x0302
	dialect311 = 0x0311
)

// DeriveKeys derives a session's keys from the session key that the
// authentication produced (MS-SMB2 3.2.5.3.1, 3.1.4.2). preauth is the
// session's preauthentication hash for dialect 3.1.1 and ignored
// otherwise; cipher is the negotiated cipher, 0 for none.
//
// The signing and application keys are derived from Session.SessionKey,
// the first 16 bytes of the session key, with L=128, whatever the cipher.
// So are the cipher keys with AES-128 (or no cipher). With AES-256-CCM or
// AES-256-GCM the cipher keys come from Session.FullSessionKey, the whole
// session key (32 bytes for an AES-256 Kerberos key), with L=256: cutting
// that key to 16 bytes, or deriving the signing key from all 32, are the
// two classic interoperability bugs here.
func DeriveKeys(dialect uint16, sessionKey, preauth []byte, cipher uint16) (Keys, error) {
	if len(sessionKey) == 0 {
		return Keys{}, errors.New("smb3crypto: empty session key")
	}
	if cipher != 0 && keyBits(cipher) == 0 {
		return Keys{}, fmt.Errorf("smb3crypto: unknown %s", CipherName(cipher))
	}
	ki := make([]byte, 16)
	defer clear(ki)
	copy(ki, sessionKey)
	encBits := 128
	full := ki
	if keyBits(cipher) == 256 {
		if dialect != dialect311 {
			return Keys{}, fmt.Errorf("smb3crypto: %s needs dialect 3.1.1", CipherName(cipher))
		}
		encBits = 256
		full = append([]byte(nil), sessionKey...)
		defer clear(full)
	}
	var k Keys
	switch dialect {
	case dialect300, dialect302:
		k.Signing = KDF(ki, []byte("SMB2AESCMAC\x00"), []byte("SmbSign\x00"), 128)
		k.Encryption = KDF(ki, []byte("SMB2AESCCM\x00"), []byte("ServerIn \x00"), 128)
		k.Decryption = KDF(ki, []byte("SMB2AESCCM\x00"), []byte("ServerOut\x00"), 128)
		k.Application = KDF(ki, []byte("SMB2APP\x00"), []byte("SmbRpc\x00"), 128)
	case dialect311:
		if len(preauth) != sha512.Size {
			return Keys{}, fmt.Errorf("smb3crypto: preauthentication hash of %d bytes, want %d", len(preauth), sha512.Size)
		}
		k.Signing = KDF(ki, []byte("SMBSigningKey\x00"), preauth, 128)
		k.Encryption = KDF(full, []byte("SMBC2SCipherKey\x00"), preauth, encBits)
		k.Decryption = KDF(full, []byte("SMBS2CCipherKey\x00"), preauth, encBits)
		k.Application = KDF(ki, []byte("SMBAppKey\x00"), preauth, 128)
	default:
		return Keys{}, fmt.Errorf("smb3crypto: no SMB 3 keys for dialect %#04x", dialect)
	}
	return k, nil
}
