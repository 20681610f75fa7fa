package wire

import "encoding/binary"

// SESSION_SETUP request flags (MS-SMB2 2.2.5).
const SessionSetupBinding uint8 = 0x01

// SessionFlags of the SESSION_SETUP response (MS-SMB2 2.2.6).
const (
	SessionFlagIsGuest     uint16 = 0x0001
	SessionFlagIsNull      uint16 = 0x0002
	SessionFlagEncryptData uint16 = 0x0004
)

// SessionSetupRequest is the SMB2 SESSION_SETUP request (MS-SMB2 2.2.5).
type SessionSetupRequest struct {
	Flags             uint8
	SecurityMode      uint16 // NegotiateSigningXxx; sent in one byte
	Capabilities      uint32
	PreviousSessionID uint64
	SecurityBuffer    []byte
}

// Append appends the SESSION_SETUP request body to msg, which holds
// exactly the header.
func (r *SessionSetupRequest) Append(msg []byte) []byte {
	start := len(msg)
	msg = extendZero(msg, 24)
	b := msg[start:]
	le := binary.LittleEndian
	le.PutUint16(b[0:], 25)
	b[2] = r.Flags
	b[3] = byte(r.SecurityMode)
	le.PutUint32(b[4:], r.Capabilities)
	// b[8:12] Channel, zero.
	le.PutUint16(b[12:], uint16(HeaderSize+24))
	le.PutUint16(b[14:], uint16(len(r.SecurityBuffer)))
	le.PutUint64(b[16:], r.PreviousSessionID)
	return append(msg, r.SecurityBuffer...)
}

// SessionSetupResponse is the decoded SESSION_SETUP response (MS-SMB2
// 2.2.6).
type SessionSetupResponse struct {
	SessionFlags uint16
	// SecurityBuffer is the server's SPNEGO token; it aliases the message.
	SecurityBuffer []byte
}

// ParseSessionSetupResponse decodes a SESSION_SETUP response message.
func ParseSessionSetupResponse(msg []byte) (*SessionSetupResponse, error) {
	b, err := bodyAt(msg, 9, 8, "SESSION_SETUP response")
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	sb, err := field(msg, uint32(le.Uint16(b[4:])), uint32(le.Uint16(b[6:])), "SESSION_SETUP security buffer")
	if err != nil {
		return nil, err
	}
	return &SessionSetupResponse{SessionFlags: le.Uint16(b[2:]), SecurityBuffer: sb}, nil
}

// AppendLogoffRequest appends the LOGOFF request body (MS-SMB2 2.2.7).
func AppendLogoffRequest(msg []byte) []byte { return appendSize4(msg) }

// appendSize4 appends the 4-byte body shared by LOGOFF, TREE_DISCONNECT,
// ECHO and CANCEL requests: StructureSize 4 and two reserved bytes.
func appendSize4(msg []byte) []byte {
	return append(msg, 4, 0, 0, 0)
}
