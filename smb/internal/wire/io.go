package wire

import "encoding/binary"

// CloseFlagPostQueryAttrib is SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB (MS-SMB2
// 2.2.15): the response carries the file's attributes and times.
const CloseFlagPostQueryAttrib uint16 = 0x0001

// CloseRequest is the SMB2 CLOSE request (MS-SMB2 2.2.15).
type CloseRequest struct {
	Flags  uint16
	FileID FileID
}

// Append appends the 24-byte CLOSE request body to msg, which holds
// exactly the header.
func (r *CloseRequest) Append(msg []byte) []byte {
	start := len(msg)
	msg = extendZero(msg, 24)
	b := msg[start:]
	binary.LittleEndian.PutUint16(b[0:], 24)
	binary.LittleEndian.PutUint16(b[2:], r.Flags)
	// b[4:8] Reserved.
	r.FileID.put(b[8:])
	return msg
}

// CloseResponse is the SMB2 CLOSE response (MS-SMB2 2.2.16). The times,
// sizes and attributes are zero unless the request had
// CloseFlagPostQueryAttrib and Flags echoes it.
type CloseResponse struct {
	Flags                                                   uint16
	CreationTime, LastAccessTime, LastWriteTime, ChangeTime uint64
	AllocationSize, EndOfFile                               uint64
	FileAttributes                                          uint32
}

// ParseCloseResponse decodes a CLOSE response message.
func ParseCloseResponse(msg []byte) (CloseResponse, error) {
	b, err := bodyAt(msg, 60, 60, "CLOSE response")
	if err != nil {
		return CloseResponse{}, err
	}
	le := binary.LittleEndian
	return CloseResponse{
		Flags:          le.Uint16(b[2:]),
		CreationTime:   le.Uint64(b[8:]),
		LastAccessTime: le.Uint64(b[16:]),
		LastWriteTime:  le.Uint64(b[24:]),
		ChangeTime:     le.Uint64(b[32:]),
		AllocationSize: le.Uint64(b[40:]),
		EndOfFile:      le.Uint64(b[48:]),
		FileAttributes: le.Uint32(b[56:]),
	}, nil
}

// AppendFlushRequest appends the 24-byte FLUSH request body (MS-SMB2
// 2.2.17) for fid to msg, which holds exactly the header.
func AppendFlushRequest(msg []byte, fid FileID) []byte {
	start := len(msg)
	msg = extendZero(msg, 24)
	b := msg[start:]
	binary.LittleEndian.PutUint16(b[0:], 24)
	// b[2:4] Reserved1, b[4:8] Reserved2.
	fid.put(b[8:])
	return msg
}

// ParseFlushResponse checks a FLUSH response message (MS-SMB2 2.2.18).
func ParseFlushResponse(msg []byte) error {
	_, err := bodyAt(msg, 4, 4, "FLUSH response")
	return err
}

// READ request flags (MS-SMB2 2.2.19).
const (
	ReadFlagUnbuffered        uint8 = 0x01 // SMB2_READFLAG_READ_UNBUFFERED (3.0.2+)
	ReadFlagRequestCompressed uint8 = 0x02 // SMB2_READFLAG_REQUEST_COMPRESSED (3.1.1)
)

// readRequestSize is the READ request body with its one Buffer byte.
const readRequestSize = 49

// ReadRequest is the SMB2 READ request (MS-SMB2 2.2.19). Channel is
// always SMB2_CHANNEL_NONE: smbkrb does not use RDMA.
type ReadRequest struct {
	// Padding asks the server to place the data this many bytes from the
	// start of the response header; 0x50 puts it right after the fixed
	// response body, as Windows asks. 0 lets the server choose.
	Padding uint8
	// Flags are ReadFlagXxx bits.
	Flags uint8
	// Length is the number of bytes to read.
	Length uint32
	// Offset is the file offset.
	Offset uint64
	FileID FileID
	// MinimumCount is the least the server may return without failing.
	MinimumCount uint32
	// RemainingBytes hints how much more the client will read.
	RemainingBytes uint32
}

// Append appends the READ request body to msg, which holds exactly the
// header: 48 fixed bytes and the one-byte Buffer that 2.2.19 requires
// when there is no channel information (Samba rejects a READ without it).
func (r *ReadRequest) Append(msg []byte) []byte {
	start := len(msg)
	msg = extendZero(msg, readRequestSize)
	b := msg[start:]
	le := binary.LittleEndian
	le.PutUint16(b[0:], 49)
	b[2] = r.Padding
	b[3] = r.Flags
	le.PutUint32(b[4:], r.Length)
	le.PutUint64(b[8:], r.Offset)
	r.FileID.put(b[16:])
	le.PutUint32(b[32:], r.MinimumCount)
	// b[36:40] Channel, b[44:48] ReadChannelInfoOffset/Length, b[48] Buffer: 0.
	le.PutUint32(b[40:], r.RemainingBytes)
	return msg
}

// readResponseBodySize is the fixed part of a READ response; StructureSize 17.
const readResponseBodySize = 16

// ParseReadResponse decodes a READ response message (MS-SMB2 2.2.20).
// data aliases msg and lies after the fixed part; remaining is
// DataRemaining. It does not allocate.
func ParseReadResponse(msg []byte) (data []byte, remaining uint32, err error) {
	b, err := bodyAt(msg, 17, readResponseBodySize, "READ response")
	if err != nil {
		return nil, 0, err
	}
	off := uint32(b[2])
	n := binary.LittleEndian.Uint32(b[4:])
	remaining = binary.LittleEndian.Uint32(b[8:])
	if n == 0 {
		return nil, remaining, nil
	}
	if off < HeaderSize+readResponseBodySize {
		return nil, 0, malformed("READ response data at offset %d overlaps the fixed part", off)
	}
	data, err = field(msg, off, n, "READ response data")
	if err != nil {
		return nil, 0, err
	}
	return data, remaining, nil
}

// WRITE request flags (MS-SMB2 2.2.21).
const (
	WriteFlagWriteThrough     uint32 = 0x00000001 // SMB2_WRITEFLAG_WRITE_THROUGH
	WriteFlagWriteUnbuffered  uint32 = 0x00000002 // SMB2_WRITEFLAG_WRITE_UNBUFFERED (3.0.2+)
	writeRequestStructureSize        = 49
)

// WriteRequestBodySize is the fixed part of a WRITE request body; its
// data starts right after, at offset HeaderSize+WriteRequestBodySize.
const WriteRequestBodySize = 48

// AppendWriteRequest appends a WRITE request body (MS-SMB2 2.2.21) that
// writes data at offset of fid, followed by data, to msg, which holds
// exactly the header. Channel, RemainingBytes, the channel information and
// Flags are 0. It does not allocate if msg has the capacity.
func AppendWriteRequest(msg []byte, fid FileID, offset uint64, data []byte) []byte {
	msg = AppendWriteRequestHeader(msg, fid, offset, uint32(len(data)))
	return append(msg, data...)
}

// AppendWriteRequestHeader appends the 48-byte WRITE request body for
// length bytes at offset of fid, with DataOffset just past it, but not
// the data: the caller appends or sends the length bytes of data right
// after (zero-copy). For length 0 it appends one zero byte, because 2.2.21
// has an odd StructureSize whose Buffer must not be empty. It does not
// allocate if msg has the capacity.
func AppendWriteRequestHeader(msg []byte, fid FileID, offset uint64, length uint32) []byte {
	start := len(msg)
	msg = extendZero(msg, WriteRequestBodySize)
	b := msg[start : start+WriteRequestBodySize]
	le := binary.LittleEndian
	le.PutUint16(b[0:], writeRequestStructureSize)
	le.PutUint16(b[2:], uint16(start+WriteRequestBodySize))
	le.PutUint32(b[4:], length)
	le.PutUint64(b[8:], offset)
	fid.put(b[16:])
	// b[32:36] Channel, b[36:40] RemainingBytes, b[40:44] channel info,
	// b[44:48] Flags: 0.
	if length == 0 {
		msg = append(msg, 0)
	}
	return msg
}

// ParseWriteResponse decodes a WRITE response message (MS-SMB2 2.2.22)
// and returns Count, the number of bytes written.
func ParseWriteResponse(msg []byte) (count uint32, err error) {
	b, err := bodyAt(msg, 17, 16, "WRITE response")
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b[4:]), nil
}
