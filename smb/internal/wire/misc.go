package wire

import "encoding/binary"

// AppendEchoRequest appends the ECHO request body (MS-SMB2 2.2.28).
func AppendEchoRequest(msg []byte) []byte { return appendSize4(msg) }

// AppendCancelRequest appends the CANCEL request body (MS-SMB2 2.2.30).
func AppendCancelRequest(msg []byte) []byte { return appendSize4(msg) }

// ErrorContext is one SMB2 ERROR Context (MS-SMB2 2.2.2.1).
type ErrorContext struct {
	ID   uint32
	Data []byte
}

// ErrorResponse is the decoded SMB2 ERROR response (MS-SMB2 2.2.2). Data
// holds the ErrorData of a response without contexts; Contexts those of a
// 3.1.1 response with ErrorContextCount > 0. Both alias the message.
type ErrorResponse struct {
	Data     []byte
	Contexts []ErrorContext
}

// maxErrorContexts bounds the contexts of one error response.
const maxErrorContexts = 16

// ParseErrorResponse decodes an ERROR response message. Servers send a
// body of 8 bytes or 9 (with one byte of ErrorData padding); both pass.
func ParseErrorResponse(msg []byte) (*ErrorResponse, error) {
	b, err := bodyAt(msg, 9, 8, "ERROR response")
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	count := int(b[2])
	n := le.Uint32(b[4:])
	if uint64(n) > uint64(len(b)-8) {
		return nil, malformed("ERROR response with %d bytes of data in %d", n, len(b)-8)
	}
	data := b[8 : 8+n]
	r := &ErrorResponse{}
	if count == 0 {
		r.Data = data
		return r, nil
	}
	if count > maxErrorContexts {
		return nil, malformed("ERROR response with %d contexts", count)
	}
	for i := range count {
		if i > 0 {
			pad := (8 - (int(n)-len(data))%8) % 8
			if pad > len(data) {
				return nil, malformed("ERROR context %d: truncated padding", i)
			}
			data = data[pad:]
		}
		if len(data) < 8 {
			return nil, malformed("ERROR context %d: truncated header", i)
		}
		l := le.Uint32(data)
		if uint64(l) > uint64(len(data)-8) {
			return nil, malformed("ERROR context %d of %d bytes overruns the response", i, l)
		}
		r.Contexts = append(r.Contexts, ErrorContext{ID: le.Uint32(data[4:]), Data: data[8 : 8+l]})
		data = data[8+l:]
	}
	return r, nil
}

// Oplock levels (MS-SMB2 2.2.13).
const (
	OplockLevelNone  uint8 = 0x00
	OplockLevelII    uint8 = 0x01
	OplockLevelBatch uint8 = 0x09
	OplockLevelLease uint8 = 0xFF
)

// OplockBreak is a decoded OPLOCK_BREAK notification: an oplock break
// (MS-SMB2 2.2.23.1) when IsLease is false, else a lease break (2.2.23.2).
type OplockBreak struct {
	IsLease     bool
	OplockLevel uint8
	FileID      FileID
	// Lease break fields.
	Flags             uint32
	LeaseKey          [16]byte
	CurrentLeaseState uint32
	NewLeaseState     uint32
}

// LeaseBreakAckRequired is SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED.
const LeaseBreakAckRequired uint32 = 0x01

// ParseOplockBreak decodes an oplock or lease break notification message.
func ParseOplockBreak(msg []byte) (*OplockBreak, error) {
	if len(msg) < HeaderSize+2 {
		return nil, malformed("OPLOCK_BREAK of %d bytes", len(msg))
	}
	le := binary.LittleEndian
	switch le.Uint16(msg[HeaderSize:]) {
	case 24:
		b, err := bodyAt(msg, 24, 24, "oplock break")
		if err != nil {
			return nil, err
		}
		return &OplockBreak{OplockLevel: b[2], FileID: getFileID(b[8:])}, nil
	case 44:
		b, err := bodyAt(msg, 44, 44, "lease break")
		if err != nil {
			return nil, err
		}
		r := &OplockBreak{IsLease: true, Flags: le.Uint32(b[4:]), CurrentLeaseState: le.Uint32(b[24:]), NewLeaseState: le.Uint32(b[28:])}
		copy(r.LeaseKey[:], b[8:24])
		return r, nil
	}
	return nil, malformed("OPLOCK_BREAK structure size %d", le.Uint16(msg[HeaderSize:]))
}

// AppendOplockBreakAck appends an oplock break acknowledgment body
// (MS-SMB2 2.2.24.1).
func AppendOplockBreakAck(msg []byte, fid FileID, level uint8) []byte {
	start := len(msg)
	msg = extendZero(msg, 24)
	b := msg[start:]
	binary.LittleEndian.PutUint16(b, 24)
	b[2] = level
	fid.put(b[8:])
	return msg
}

// AppendLeaseBreakAck appends a lease break acknowledgment body (MS-SMB2
// 2.2.24.2).
func AppendLeaseBreakAck(msg []byte, key [16]byte, state uint32) []byte {
	start := len(msg)
	msg = extendZero(msg, 36)
	b := msg[start:]
	binary.LittleEndian.PutUint16(b, 36)
	copy(b[8:24], key[:])
	binary.LittleEndian.PutUint32(b[24:], state)
	return msg
}
