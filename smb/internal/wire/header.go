// Package wire encodes the SMB2/3 messages smbkrb sends and decodes, with
// strict bounds checks, the ones it receives (MS-SMB2 section 2). It holds
// no state: the engine in package smb2 keeps the connection, the session,
// the credits and the keys.
//
// Conventions: a message starts at its 64-byte header. Request encoders
// are Append methods that take a slice holding exactly the header of the
// message being built and return it with the body appended, so that
// offsets (which MS-SMB2 counts from the start of the header) are
// len(msg) at the point a field is placed. Response decoders take one
// whole message (header first; for a compound, one element of
// SplitCompound) and return slices that alias it. Every decoder checks
// every length and offset against the message and returns an error
// wrapping ErrMalformed, never panics.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unicode/utf16"
)

// HeaderSize is the size of the SMB2 sync and async header.
const HeaderSize = 64

// Protocol identifiers in the first four bytes of a message (little-endian).
const (
	ProtocolSMB2        uint32 = 0x424D53FE // 0xFE 'S' 'M' 'B'
	ProtocolTransform   uint32 = 0x424D53FD // 0xFD 'S' 'M' 'B': SMB2 TRANSFORM_HEADER
	ProtocolCompression uint32 = 0x424D53FC // 0xFC 'S' 'M' 'B': compression transform
)

// ErrMalformed is wrapped by every decoding error: the peer sent bytes
// that do not form the message they claim to be.
var ErrMalformed = errors.New("malformed SMB2 message")

// malformed returns an error wrapping ErrMalformed.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// Command is an SMB2 command code (MS-SMB2 2.2.1).
type Command uint16

// SMB2 commands.
const (
	CmdNegotiate      Command = 0x0000
	CmdSessionSetup   Command = 0x0001
	CmdLogoff         Command = 0x0002
	CmdTreeConnect    Command = 0x0003
	CmdTreeDisconnect Command = 0x0004
	CmdCreate         Command = 0x0005
	CmdClose          Command = 0x0006
	CmdFlush          Command = 0x0007
	CmdRead           Command = 0x0008
	CmdWrite          Command = 0x0009
	CmdLock           Command = 0x000A
	CmdIoctl          Command = 0x000B
	CmdCancel         Command = 0x000C
	CmdEcho           Command = 0x000D
	CmdQueryDirectory Command = 0x000E
	CmdChangeNotify   Command = 0x000F
	CmdQueryInfo      Command = 0x0010
	CmdSetInfo        Command = 0x0011
	CmdOplockBreak    Command = 0x0012
)

var commandNames = [...]string{
	"NEGOTIATE", "SESSION_SETUP", "LOGOFF", "TREE_CONNECT", "TREE_DISCONNECT",
	"CREATE", "CLOSE", "FLUSH", "READ", "WRITE", "LOCK", "IOCTL", "CANCEL",
	"ECHO", "QUERY_DIRECTORY", "CHANGE_NOTIFY", "QUERY_INFO", "SET_INFO",
	"OPLOCK_BREAK",
}

func (c Command) String() string {
	if int(c) < len(commandNames) {
		return commandNames[c]
	}
	return fmt.Sprintf("command 0x%04x", uint16(c))
}

// Header flags (MS-SMB2 2.2.1.2).
const (
	FlagResponse   uint32 = 0x00000001 // SMB2_FLAGS_SERVER_TO_REDIR
	FlagAsync      uint32 = 0x00000002 // SMB2_FLAGS_ASYNC_COMMAND
	FlagRelated    uint32 = 0x00000004 // SMB2_FLAGS_RELATED_OPERATIONS
	FlagSigned     uint32 = 0x00000008 // SMB2_FLAGS_SIGNED
	FlagPriority   uint32 = 0x00000070 // SMB2_FLAGS_PRIORITY_MASK
	FlagDFS        uint32 = 0x10000000 // SMB2_FLAGS_DFS_OPERATIONS
	FlagReplay     uint32 = 0x20000000 // SMB2_FLAGS_REPLAY_OPERATION
	signatureStart        = 48
)

// Dialects (MS-SMB2 2.2.3). smbkrb speaks only the 3.x ones; the others
// are named for messages.
const (
	Dialect202 uint16 = 0x0202
	Dialect210 uint16 = 0x0210
	Dialect300 uint16 = 0x0300
	Dialect302 uint16 = 0x0302
	Dialect311 uint16 = 0x0311
	// DialectWildcard is SMB2_WILDCARD_REVISION, the answer of a server to a
	// multi-protocol negotiate.
	DialectWildcard uint16 = 0x02FF
)

// DialectName is the usual name of a dialect, such as "3.1.1".
func DialectName(d uint16) string {
	switch d {
	case Dialect202:
		return "2.0.2"
	case Dialect210:
		return "2.1"
	case Dialect300:
		return "3.0"
	case Dialect302:
		return "3.0.2"
	case Dialect311:
		return "3.1.1"
	case 0:
		return ""
	}
	return fmt.Sprintf("0x%04x", d)
}

// MessageIDUnsolicited is the MessageId of a server's
// unsolicited message (an oplock or lease break notification).
const MessageIDUnsolicited = ^uint64(0)

// Header is the SMB2 packet header (MS-SMB2 2.2.1), sync or async.
type Header struct {
	// CreditCharge is the number of credits the request consumes.
	CreditCharge uint16
	// Status is the NTSTATUS of a response. In a 3.x request its low 16
	// bits are the ChannelSequence.
	Status uint32
	// Command is the command code.
	Command Command
	// Credits is CreditRequest in a request, CreditResponse in a response.
	Credits uint16
	// Flags are the FlagXxx bits.
	Flags uint32
	// NextCommand is the offset of the next message of a compound from
	// the start of this header, or 0.
	NextCommand uint32
	// MessageID identifies the request; a response carries its request's.
	MessageID uint64
	// AsyncID is set when Flags has FlagAsync (it replaces the sync
	// header's Reserved and TreeId).
	AsyncID uint64
	// TreeID is the tree of a sync message.
	TreeID uint32
	// SessionID is the session.
	SessionID uint64
	// Signature is the message's signature when FlagSigned is set.
	Signature [16]byte
}

// Encode writes h into b[:HeaderSize]; b must be at least that long.
func (h *Header) Encode(b []byte) {
	le := binary.LittleEndian
	_ = b[HeaderSize-1]
	le.PutUint32(b[0:], ProtocolSMB2)
	le.PutUint16(b[4:], HeaderSize)
	le.PutUint16(b[6:], h.CreditCharge)
	le.PutUint32(b[8:], h.Status)
	le.PutUint16(b[12:], uint16(h.Command))
	le.PutUint16(b[14:], h.Credits)
	le.PutUint32(b[16:], h.Flags)
	le.PutUint32(b[20:], h.NextCommand)
	le.PutUint64(b[24:], h.MessageID)
	if h.Flags&FlagAsync != 0 {
		le.PutUint64(b[32:], h.AsyncID)
	} else {
		le.PutUint32(b[32:], 0)
		le.PutUint32(b[36:], h.TreeID)
	}
	le.PutUint64(b[40:], h.SessionID)
	copy(b[48:64], h.Signature[:])
}

// ParseHeader decodes the header at the start of b.
func ParseHeader(b []byte) (Header, error) {
	var h Header
	if len(b) < HeaderSize {
		return h, malformed("%d bytes is shorter than an SMB2 header", len(b))
	}
	le := binary.LittleEndian
	if p := le.Uint32(b); p != ProtocolSMB2 {
		return h, malformed("protocol id %08x is not SMB2", p)
	}
	if n := le.Uint16(b[4:]); n != HeaderSize {
		return h, malformed("header structure size %d, want 64", n)
	}
	h.CreditCharge = le.Uint16(b[6:])
	h.Status = le.Uint32(b[8:])
	h.Command = Command(le.Uint16(b[12:]))
	h.Credits = le.Uint16(b[14:])
	h.Flags = le.Uint32(b[16:])
	h.NextCommand = le.Uint32(b[20:])
	h.MessageID = le.Uint64(b[24:])
	if h.Flags&FlagAsync != 0 {
		h.AsyncID = le.Uint64(b[32:])
	} else {
		h.TreeID = le.Uint32(b[36:])
	}
	h.SessionID = le.Uint64(b[40:])
	copy(h.Signature[:], b[48:64])
	return h, nil
}

// SplitCompound splits a (possibly compounded) chain of SMB2 messages
// into its messages. Every NextCommand must be a multiple of 8, at least
// a header long and inside b.
func SplitCompound(b []byte) ([][]byte, error) {
	var out [][]byte
	for {
		if len(b) < HeaderSize {
			return nil, malformed("compound element of %d bytes", len(b))
		}
		if p := binary.LittleEndian.Uint32(b); p != ProtocolSMB2 {
			return nil, malformed("compound element with protocol id %08x", p)
		}
		next := binary.LittleEndian.Uint32(b[20:])
		if next == 0 {
			return append(out, b), nil
		}
		if next%8 != 0 || next < HeaderSize || uint64(next) > uint64(len(b)) {
			return nil, malformed("NextCommand %d in a message of %d bytes", next, len(b))
		}
		out = append(out, b[:next])
		b = b[next:]
		if len(out) > 64 {
			return nil, malformed("more than 64 messages in a compound")
		}
	}
}

// FileID identifies an open (SMB2_FILEID, MS-SMB2 2.2.14.1).
type FileID struct {
	Persistent, Volatile uint64
}

// FileIDAny is the FileId of a related compound request that refers to
// the open created by the request before it.
var FileIDAny = FileID{^uint64(0), ^uint64(0)}

// put writes the FileID into b[:16].
func (f FileID) put(b []byte) {
	binary.LittleEndian.PutUint64(b, f.Persistent)
	binary.LittleEndian.PutUint64(b[8:], f.Volatile)
}

// getFileID reads a FileID from b[:16].
func getFileID(b []byte) FileID {
	return FileID{binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:])}
}

// AppendUTF16 appends s as UTF-16LE (the encoding of every name on the
// wire).
func AppendUTF16(b []byte, s string) []byte {
	for _, r := range s {
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			b = binary.LittleEndian.AppendUint16(b, uint16(r1))
			b = binary.LittleEndian.AppendUint16(b, uint16(r2))
			continue
		}
		b = binary.LittleEndian.AppendUint16(b, uint16(r))
	}
	return b
}

// DecodeUTF16 decodes UTF-16LE bytes; an odd length is malformed.
// Unpaired surrogates become U+FFFD.
func DecodeUTF16(b []byte) (string, error) {
	if len(b)%2 != 0 {
		return "", malformed("UTF-16 name of odd length %d", len(b))
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u)), nil
}

// filetimeEpoch is 1601-01-01 in Unix seconds.
const filetimeEpoch = -11644473600

// FiletimeToTime converts a FILETIME (100 ns since 1601) to a time; 0 is
// the zero time.
func FiletimeToTime(ft uint64) time.Time {
	if ft == 0 {
		return time.Time{}
	}
	return time.Unix(filetimeEpoch+int64(ft/1e7), int64(ft%1e7)*100)
}

// TimeToFiletime converts a time to a FILETIME; the zero time is 0.
func TimeToFiletime(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	d := t.Unix() - filetimeEpoch
	if d < 0 {
		return 0
	}
	return uint64(d)*1e7 + uint64(t.Nanosecond()/100)
}

// bodyAt returns the body of msg (after the header) if it is at least
// min bytes long and its StructureSize is want.
func bodyAt(msg []byte, want uint16, minLen int, what string) ([]byte, error) {
	if len(msg) < HeaderSize+minLen {
		return nil, malformed("%s of %d bytes is too short", what, len(msg))
	}
	body := msg[HeaderSize:]
	if n := binary.LittleEndian.Uint16(body); n != want {
		return nil, malformed("%s structure size %d, want %d", what, n, want)
	}
	return body, nil
}

// field returns msg[off:off+n] for an offset counted from the start of
// the header, or an error if it lies outside msg. n == 0 gives nil.
func field(msg []byte, off, n uint32, what string) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	end := uint64(off) + uint64(n)
	if off < HeaderSize || end > uint64(len(msg)) {
		return nil, malformed("%s at offset %d, length %d, outside a message of %d bytes", what, off, n, len(msg))
	}
	return msg[off:end], nil
}
