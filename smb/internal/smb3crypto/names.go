package smb3crypto

import "fmt"

// Signing algorithm ids of the SMB2_SIGNING_CAPABILITIES negotiate
// context (MS-SMB2 2.2.3.1.7).
const (
	SigningHMACSHA256 uint16 = 0
	SigningAESCMAC    uint16 = 1
	SigningAESGMAC    uint16 = 2
)

// Cipher ids of the SMB2_ENCRYPTION_CAPABILITIES negotiate context
// (MS-SMB2 2.2.3.1.2).
const (
	CipherAES128CCM uint16 = 1
	CipherAES128GCM uint16 = 2
	CipherAES256CCM uint16 = 3
	CipherAES256GCM uint16 = 4
)

// SigningName is the usual name of a signing algorithm id, as smbstatus
// prints it ("AES-128-GMAC").
func SigningName(id uint16) string {
	switch id {
	case SigningHMACSHA256:
		return "HMAC-SHA256"
	case SigningAESCMAC:
		return "AES-128-CMAC"
	case SigningAESGMAC:
		return "AES-128-GMAC"
	}
	return fmt.Sprintf("signing algorithm %#x", id)
}

// CipherName is the usual name of a cipher id ("AES-256-GCM").
func CipherName(id uint16) string {
	switch id {
	case CipherAES128CCM:
		return "AES-128-CCM"
	case CipherAES128GCM:
		return "AES-128-GCM"
	case CipherAES256CCM:
		return "AES-256-CCM"
	case CipherAES256GCM:
		return "AES-256-GCM"
	case 0:
		return "none"
	}
	return fmt.Sprintf("cipher %#x", id)
}

// keyBits is the key size of a cipher in bits, 0 if unknown.
func keyBits(cipher uint16) int {
	switch cipher {
	case CipherAES128CCM, CipherAES128GCM:
		return 128
	case CipherAES256CCM, CipherAES256GCM:
		return 256
	}
	return 0
}

func isGCM(cipher uint16) bool { return cipher == CipherAES128GCM || cipher == CipherAES256GCM }
