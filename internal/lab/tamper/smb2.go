package tamper

import "encoding/binary"

// SMB2 commands (MS-SMB2 2.2.1.2), for IsSignedResponse.
const (
	CmdNegotiate      uint16 = 0x0000
	CmdSessionSetup   uint16 = 0x0001
	CmdLogoff         uint16 = 0x0002
	CmdTreeConnect    uint16 = 0x0003
	CmdTreeDisconnect uint16 = 0x0004
	CmdCreate         uint16 = 0x0005
	CmdClose          uint16 = 0x0006
	CmdFlush          uint16 = 0x0007
	CmdRead           uint16 = 0x0008
	CmdWrite          uint16 = 0x0009
	CmdLock           uint16 = 0x000A
	CmdIoctl          uint16 = 0x000B
	CmdCancel         uint16 = 0x000C
	CmdEcho           uint16 = 0x000D
	CmdQueryDirectory uint16 = 0x000E
	CmdChangeNotify   uint16 = 0x000F
	CmdQueryInfo      uint16 = 0x0010
	CmdSetInfo        uint16 = 0x0011
	CmdOplockBreak    uint16 = 0x0012
)

// Header layouts (MS-SMB2 2.2.1 and 2.2.41), offsets from the frame start.
const (
	// HeaderSize is the size of the SMB2 header.
	HeaderSize = 64
	// TransformHeaderSize is the size of the SMB2 TRANSFORM_HEADER.
	TransformHeaderSize = 52

	offCommand = 12
	offFlags   = 16
	offTree    = 36
	offSession = 40

	offTransformNonce   = 20
	offTransformSession = 44

	flagResponse = 0x00000001 // SMB2_FLAGS_SERVER_TO_REDIR
	flagAsync    = 0x00000002 // SMB2_FLAGS_ASYNC_COMMAND
	flagSigned   = 0x00000008 // SMB2_FLAGS_SIGNED
)

// IsTransform reports whether frame is an encrypted message: a transform
// header, protocol id 0xFD 'S' 'M' 'B', of full size.
func IsTransform(frame []byte) bool {
	return len(frame) >= TransformHeaderSize && frame[0] == 0xFD && frame[1] == 'S' && frame[2] == 'M' && frame[3] == 'B'
}

// IsSMB2 reports whether frame is a plain SMB2 message: protocol id 0xFE
// 'S' 'M' 'B' and a full header.
func IsSMB2(frame []byte) bool {
	return len(frame) >= HeaderSize && frame[0] == 0xFE && frame[1] == 'S' && frame[2] == 'M' && frame[3] == 'B'
}

// IsSignedResponse returns a predicate matching plain (not encrypted)
// SMB2 responses to command cmd whose first header has the SIGNED and
// SERVER_TO_REDIR flags. With a compound, only the first header counts.
func IsSignedResponse(cmd uint16) func(frame []byte) bool {
	return func(frame []byte) bool {
		if !IsSMB2(frame) {
			return false
		}
		flags := binary.LittleEndian.Uint32(frame[offFlags:])
		return binary.LittleEndian.Uint16(frame[offCommand:]) == cmd &&
			flags&(flagResponse|flagSigned) == flagResponse|flagSigned
	}
}

// Command returns the command of a plain SMB2 frame's first header.
func Command(frame []byte) (uint16, bool) {
	if !IsSMB2(frame) {
		return 0, false
	}
	return binary.LittleEndian.Uint16(frame[offCommand:]), true
}

// TransformNonce returns the 16-byte Nonce field of a transform frame (the
// AES-GCM ciphers use its first 12 bytes, AES-CCM its first 11; the rest
// is zero).
func TransformNonce(frame []byte) ([16]byte, bool) {
	var n [16]byte
	if !IsTransform(frame) {
		return n, false
	}
	copy(n[:], frame[offTransformNonce:])
	return n, true
}

// SessionID returns the SessionId of a transform frame or of a plain SMB2
// frame's first header.
func SessionID(frame []byte) (uint64, bool) {
	switch {
	case IsTransform(frame):
		return binary.LittleEndian.Uint64(frame[offTransformSession:]), true
	case IsSMB2(frame):
		return binary.LittleEndian.Uint64(frame[offSession:]), true
	}
	return 0, false
}

// TreeID returns the TreeId of a plain SMB2 frame's first header; an
// asynchronous header has none (its AsyncId takes the place).
func TreeID(frame []byte) (uint32, bool) {
	if !IsSMB2(frame) || binary.LittleEndian.Uint32(frame[offFlags:])&flagAsync != 0 {
		return 0, false
	}
	return binary.LittleEndian.Uint32(frame[offTree:]), true
}
