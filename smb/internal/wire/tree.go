package wire

import "encoding/binary"

// Share types (MS-SMB2 2.2.10).
const (
	ShareTypeDisk  uint8 = 0x01
	ShareTypePipe  uint8 = 0x02
	ShareTypePrint uint8 = 0x03
)

// Share flags and capabilities smbkrb looks at (MS-SMB2 2.2.10).
const (
	ShareFlagEncryptData    uint32 = 0x00008000
	ShareCapDFS             uint32 = 0x00000008
	ShareCapContinuousAvail uint32 = 0x00000010
	ShareCapScaleout        uint32 = 0x00000020
	ShareCapCluster         uint32 = 0x00000040
	ShareCapAsymmetric      uint32 = 0x00000080
	ShareCapRedirectToOwner uint32 = 0x00000100
)

// TreeConnectRequest is the SMB2 TREE_CONNECT request (MS-SMB2 2.2.9) for
// a path of the form `\\server\share`.
type TreeConnectRequest struct {
	Flags uint16
	Path  string
}

// Append appends the TREE_CONNECT request body to msg, which holds exactly
// the header.
func (r *TreeConnectRequest) Append(msg []byte) []byte {
	start := len(msg)
	msg = extendZero(msg, 8)
	msg = AppendUTF16(msg, r.Path)
	b := msg[start:]
	le := binary.LittleEndian
	le.PutUint16(b[0:], 9)
	le.PutUint16(b[2:], r.Flags)
	le.PutUint16(b[4:], uint16(HeaderSize+8))
	le.PutUint16(b[6:], uint16(len(msg)-start-8))
	return msg
}

// TreeConnectResponse is the decoded TREE_CONNECT response (MS-SMB2
// 2.2.10).
type TreeConnectResponse struct {
	ShareType     uint8
	ShareFlags    uint32
	Capabilities  uint32
	MaximalAccess uint32
}

// ParseTreeConnectResponse decodes a TREE_CONNECT response message.
func ParseTreeConnectResponse(msg []byte) (*TreeConnectResponse, error) {
	b, err := bodyAt(msg, 16, 16, "TREE_CONNECT response")
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	return &TreeConnectResponse{
		ShareType:     b[2],
		ShareFlags:    le.Uint32(b[4:]),
		Capabilities:  le.Uint32(b[8:]),
		MaximalAccess: le.Uint32(b[12:]),
	}, nil
}

// AppendTreeDisconnectRequest appends the TREE_DISCONNECT request body
// (MS-SMB2 2.2.11).
func AppendTreeDisconnectRequest(msg []byte) []byte { return appendSize4(msg) }
