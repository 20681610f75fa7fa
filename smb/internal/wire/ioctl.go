package wire

import "encoding/binary"

// IoctlIsFsctl is SMB2_0_IOCTL_IS_FSCTL (MS-SMB2 2.2.31).
const IoctlIsFsctl uint32 = 0x00000001

// FSCTL codes smbkrb sends.
const (
	FsctlValidateNegotiateInfo uint32 = 0x00140204
)

// IoctlRequest is the SMB2 IOCTL request (MS-SMB2 2.2.31).
type IoctlRequest struct {
	CtlCode           uint32
	FileID            FileID
	Input             []byte
	MaxInputResponse  uint32
	MaxOutputResponse uint32
	Flags             uint32
}

// Append appends the IOCTL request body to msg, which holds exactly the
// header.
func (r *IoctlRequest) Append(msg []byte) []byte {
	start := len(msg)
	msg = extendZero(msg, 56)
	b := msg[start:]
	le := binary.LittleEndian
	le.PutUint16(b[0:], 57)
	le.PutUint32(b[4:], r.CtlCode)
	r.FileID.put(b[8:])
	in := uint32(HeaderSize + 56)
	if len(r.Input) > 0 {
		le.PutUint32(b[24:], in)
	}
	le.PutUint32(b[28:], uint32(len(r.Input)))
	le.PutUint32(b[32:], r.MaxInputResponse)
	le.PutUint32(b[36:], in+uint32(len(r.Input))) // OutputOffset; no output
	le.PutUint32(b[44:], r.MaxOutputResponse)
	le.PutUint32(b[48:], r.Flags)
	return append(msg, r.Input...)
}

// IoctlResponse is the decoded IOCTL response (MS-SMB2 2.2.32); the
// buffers alias the message.
type IoctlResponse struct {
	CtlCode uint32
	FileID  FileID
	Input   []byte
	Output  []byte
	Flags   uint32
}

// ParseIoctlResponse decodes an IOCTL response message.
func ParseIoctlResponse(msg []byte) (*IoctlResponse, error) {
	b, err := bodyAt(msg, 49, 48, "IOCTL response")
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	r := &IoctlResponse{CtlCode: le.Uint32(b[4:]), FileID: getFileID(b[8:]), Flags: le.Uint32(b[40:])}
	if r.Input, err = field(msg, le.Uint32(b[24:]), le.Uint32(b[28:]), "IOCTL input"); err != nil {
		return nil, err
	}
	if r.Output, err = field(msg, le.Uint32(b[32:]), le.Uint32(b[36:]), "IOCTL output"); err != nil {
		return nil, err
	}
	return r, nil
}

// ValidateNegotiateInfo is the VALIDATE_NEGOTIATE_INFO request (MS-SMB2
// 2.2.31.4): what the client sent in its NEGOTIATE.
type ValidateNegotiateInfo struct {
	Capabilities uint32
	GUID         [16]byte
	SecurityMode uint16
	Dialects     []uint16
}

// Marshal encodes the request's input buffer.
func (v *ValidateNegotiateInfo) Marshal() []byte {
	b := make([]byte, 24, 24+2*len(v.Dialects))
	le := binary.LittleEndian
	le.PutUint32(b[0:], v.Capabilities)
	copy(b[4:20], v.GUID[:])
	le.PutUint16(b[20:], v.SecurityMode)
	le.PutUint16(b[22:], uint16(len(v.Dialects)))
	for _, d := range v.Dialects {
		b = le.AppendUint16(b, d)
	}
	return b
}

// ParseValidateNegotiateInfoResponse decodes the output of
// FSCTL_VALIDATE_NEGOTIATE_INFO (MS-SMB2 2.2.32.6).
func ParseValidateNegotiateInfoResponse(out []byte) (caps uint32, guid [16]byte, mode uint16, dialect uint16, err error) {
	if len(out) < 24 {
		return 0, guid, 0, 0, malformed("VALIDATE_NEGOTIATE_INFO response of %d bytes", len(out))
	}
	le := binary.LittleEndian
	copy(guid[:], out[4:20])
	return le.Uint32(out), guid, le.Uint16(out[20:]), le.Uint16(out[22:]), nil
}
