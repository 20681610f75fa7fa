package smb2

import (
	"errors"
	"fmt"

	"github.com/smbkrb/smbkrb/smb/internal/wire"
)

// ErrPolicy means the server cannot meet, or broke, the security policy:
// a response unsigned or with a bad signature, an unencrypted response to
// an encrypted request, no common cipher when encryption is required, a
// guest session, an SMB 2.x dialect. The connection is closed.
var ErrPolicy = errors.New("the server does not meet the security policy")

// ErrConnectionLost wraps the network error that ended a connection.
var ErrConnectionLost = errors.New("connection lost")

// ResponseError is a server's refusal: the NTSTATUS of a response and the
// command it answered.
type ResponseError struct {
	Status  uint32
	Command wire.Command
}

func (e *ResponseError) Error() string {
	return fmt.Sprintf("%s: NTSTATUS 0x%08X", e.Command, e.Status)
}

// NTSTATUS values the engine acts on (MS-ERREF 2.3).
const (
	StatusSuccess                 uint32 = 0x00000000
	StatusPending                 uint32 = 0x00000103
	StatusBufferOverflow          uint32 = 0x80000005
	StatusNoMoreFiles             uint32 = 0x80000006
	StatusMoreProcessingRequired  uint32 = 0xC0000016
	StatusEndOfFile               uint32 = 0xC0000011
	StatusCancelled               uint32 = 0xC0000120
	StatusNetworkSessionExpired   uint32 = 0xC000035C
	StatusUserSessionDeleted      uint32 = 0xC0000203
	StatusFileClosed              uint32 = 0xC0000128
	StatusInsufficientResources   uint32 = 0xC000009A
	StatusNotSupported            uint32 = 0xC00000BB
	StatusInvalidParameter        uint32 = 0xC000000D
	StatusObjectNameNotFound      uint32 = 0xC0000034
	StatusAccessDenied            uint32 = 0xC0000022
	StatusNetworkNameDeleted      uint32 = 0xC00000C9
	StatusInvalidDeviceRequest    uint32 = 0xC0000010
	StatusFSDriverRequired        uint32 = 0xC000019C
	StatusObjectNameNotFoundAlias uint32 = StatusObjectNameNotFound
)

// policyError wraps ErrPolicy with what happened.
func policyError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrPolicy, fmt.Sprintf(format, args...))
}

// statusOf returns the NTSTATUS of a *ResponseError in err's chain.
func statusOf(err error) (uint32, bool) {
	var re *ResponseError
	if errors.As(err, &re) {
		return re.Status, true
	}
	return 0, false
}

// IsStatus reports whether err is a server's answer with status s.
func IsStatus(err error, s uint32) bool {
	st, ok := statusOf(err)
	return ok && st == s
}
