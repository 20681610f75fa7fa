package wire

import "encoding/binary"

// SecurityMode bits of NEGOTIATE and SESSION_SETUP (MS-SMB2 2.2.3).
const (
	NegotiateSigningEnabled  uint16 = 0x0001
	NegotiateSigningRequired uint16 = 0x0002
)

// Capabilities (MS-SMB2 2.2.3).
const (
	CapDFS               uint32 = 0x00000001
	CapLeasing           uint32 = 0x00000002
	CapLargeMTU          uint32 = 0x00000004
	CapMultiChannel      uint32 = 0x00000008
	CapPersistentHandles uint32 = 0x00000010
	CapDirectoryLeasing  uint32 = 0x00000020
	CapEncryption        uint32 = 0x00000040
	CapNotifications     uint32 = 0x00000080
)

// Negotiate context types (MS-SMB2 2.2.3.1).
const (
	CtxPreauthIntegrity uint16 = 0x0001
	CtxEncryption       uint16 = 0x0002
	CtxCompression      uint16 = 0x0003
	CtxNetname          uint16 = 0x0005
	CtxTransport        uint16 = 0x0006
	CtxRDMATransform    uint16 = 0x0007
	CtxSigning          uint16 = 0x0008
)

// HashSHA512 is the only preauthentication integrity hash (MS-SMB2
// 2.2.3.1.1).
const HashSHA512 uint16 = 0x0001

// NegotiateContext is one negotiate context: its type and its data.
type NegotiateContext struct {
	Type uint16
	Data []byte
}

// PreauthContext is the SMB2_PREAUTH_INTEGRITY_CAPABILITIES context
// offering SHA-512 with salt.
func PreauthContext(salt []byte) NegotiateContext {
	d := make([]byte, 6, 6+len(salt))
	binary.LittleEndian.PutUint16(d[0:], 1)
	binary.LittleEndian.PutUint16(d[2:], uint16(len(salt)))
	binary.LittleEndian.PutUint16(d[4:], HashSHA512)
	return NegotiateContext{Type: CtxPreauthIntegrity, Data: append(d, salt...)}
}

// EncryptionContext is the SMB2_ENCRYPTION_CAPABILITIES context offering
// ciphers in preference order.
func EncryptionContext(ciphers []uint16) NegotiateContext {
	return NegotiateContext{Type: CtxEncryption, Data: idList(ciphers)}
}

// SigningContext is the SMB2_SIGNING_CAPABILITIES context offering
// signing algorithms in preference order.
func SigningContext(algs []uint16) NegotiateContext {
	return NegotiateContext{Type: CtxSigning, Data: idList(algs)}
}

// NetnameContext is the SMB2_NETNAME_NEGOTIATE_CONTEXT_ID context naming
// the server the client connects to.
func NetnameContext(name string) NegotiateContext {
	return NegotiateContext{Type: CtxNetname, Data: AppendUTF16(nil, name)}
}

func idList(ids []uint16) []byte {
	d := make([]byte, 2+2*len(ids))
	binary.LittleEndian.PutUint16(d, uint16(len(ids)))
	for i, id := range ids {
		binary.LittleEndian.PutUint16(d[2+2*i:], id)
	}
	return d
}

// NegotiateRequest is the SMB2 NEGOTIATE request (MS-SMB2 2.2.3).
// Contexts are sent only when Dialects holds 3.1.1.
type NegotiateRequest struct {
	Dialects     []uint16
	SecurityMode uint16
	Capabilities uint32
	ClientGUID   [16]byte
	Contexts     []NegotiateContext
}

// Append appends the NEGOTIATE request body to msg, which holds exactly
// the header.
func (r *NegotiateRequest) Append(msg []byte) []byte {
	start := len(msg)
	msg = extendZero(msg, 36)
	b := msg[start:]
	le := binary.LittleEndian
	le.PutUint16(b[0:], 36)
	le.PutUint16(b[2:], uint16(len(r.Dialects)))
	le.PutUint16(b[4:], r.SecurityMode)
	le.PutUint32(b[8:], r.Capabilities)
	copy(b[12:28], r.ClientGUID[:])
	for _, d := range r.Dialects {
		msg = le.AppendUint16(msg, d)
	}
	if len(r.Contexts) == 0 {
		return msg // b[28:36] ClientStartTime, zero.
	}
	msg = padMsg8(msg)
	le.PutUint32(msg[start+28:], uint32(len(msg)-start+HeaderSize))
	le.PutUint16(msg[start+32:], uint16(len(r.Contexts)))
	for i, c := range r.Contexts {
		if i > 0 {
			msg = padMsg8(msg)
		}
		msg = le.AppendUint16(msg, c.Type)
		msg = le.AppendUint16(msg, uint16(len(c.Data)))
		msg = le.AppendUint32(msg, 0)
		msg = append(msg, c.Data...)
	}
	return msg
}

// NegotiateResponse is the decoded SMB2 NEGOTIATE response (MS-SMB2
// 2.2.4) with the 3.1.1 contexts smbkrb acts on.
type NegotiateResponse struct {
	SecurityMode    uint16
	Dialect         uint16
	ServerGUID      [16]byte
	Capabilities    uint32
	MaxTransactSize uint32
	MaxReadSize     uint32
	MaxWriteSize    uint32
	SystemTime      uint64
	// SecurityBuffer is the server's SPNEGO hint; it aliases the message.
	SecurityBuffer []byte

	// PreauthHashAlg is the hash the server chose (3.1.1); 0 if absent.
	PreauthHashAlg uint16
	// HasEncryptionContext is set when the server sent an encryption
	// context; Cipher is its choice, 0 meaning no common cipher.
	HasEncryptionContext bool
	Cipher               uint16
	// HasSigningContext is set when the server sent a signing context;
	// SigningAlg is its choice.
	HasSigningContext bool
	SigningAlg        uint16
	// Contexts are all the contexts, including the ones above.
	Contexts []NegotiateContext
}

// maxNegotiateContexts bounds the contexts a server may send.
const maxNegotiateContexts = 32

// ParseNegotiateResponse decodes a NEGOTIATE response message. For
// dialect 3.1.1 it requires exactly one preauthentication context
// and at most one encryption and signing context, each with one choice.
func ParseNegotiateResponse(msg []byte) (*NegotiateResponse, error) {
	b, err := bodyAt(msg, 65, 64, "NEGOTIATE response")
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	r := &NegotiateResponse{
		SecurityMode:    le.Uint16(b[2:]),
		Dialect:         le.Uint16(b[4:]),
		Capabilities:    le.Uint32(b[24:]),
		MaxTransactSize: le.Uint32(b[28:]),
		MaxReadSize:     le.Uint32(b[32:]),
		MaxWriteSize:    le.Uint32(b[36:]),
		SystemTime:      le.Uint64(b[40:]),
	}
	copy(r.ServerGUID[:], b[8:24])
	r.SecurityBuffer, err = field(msg, uint32(le.Uint16(b[56:])), uint32(le.Uint16(b[58:])), "NEGOTIATE security buffer")
	if err != nil {
		return nil, err
	}
	if r.Dialect != Dialect311 {
		return r, nil
	}
	count := int(le.Uint16(b[6:]))
	off := le.Uint32(b[60:])
	if count == 0 {
		return nil, malformed("NEGOTIATE response for 3.1.1 without negotiate contexts")
	}
	if count > maxNegotiateContexts {
		return nil, malformed("NEGOTIATE response with %d contexts", count)
	}
	if off%8 != 0 || off < HeaderSize || uint64(off) > uint64(len(msg)) {
		return nil, malformed("NEGOTIATE contexts at offset %d in a message of %d bytes", off, len(msg))
	}
	rest := msg[off:]
	seen := map[uint16]bool{}
	for i := range count {
		if i > 0 {
			pad := (8 - (len(msg)-len(rest))%8) % 8
			if pad > len(rest) {
				return nil, malformed("NEGOTIATE context %d: truncated padding", i)
			}
			rest = rest[pad:]
		}
		if len(rest) < 8 {
			return nil, malformed("NEGOTIATE context %d: truncated header", i)
		}
		typ, n := le.Uint16(rest), int(le.Uint16(rest[2:]))
		if len(rest) < 8+n {
			return nil, malformed("NEGOTIATE context %d (type %d) of %d bytes overruns the message", i, typ, n)
		}
		data := rest[8 : 8+n]
		rest = rest[8+n:]
		if seen[typ] {
			return nil, malformed("NEGOTIATE response repeats context type %d", typ)
		}
		seen[typ] = true
		r.Contexts = append(r.Contexts, NegotiateContext{Type: typ, Data: data})
		switch typ {
		case CtxPreauthIntegrity:
			if len(data) < 4 {
				return nil, malformed("preauthentication context of %d bytes", len(data))
			}
			nh, ns := int(le.Uint16(data)), int(le.Uint16(data[2:]))
			if nh != 1 || len(data) < 4+2*nh+ns {
				return nil, malformed("preauthentication context with %d hashes and a %d-byte salt in %d bytes", nh, ns, len(data))
			}
			r.PreauthHashAlg = le.Uint16(data[4:])
		case CtxEncryption:
			id, err := oneID(data, "encryption")
			if err != nil {
				return nil, err
			}
			r.HasEncryptionContext, r.Cipher = true, id
		case CtxSigning:
			id, err := oneID(data, "signing")
			if err != nil {
				return nil, err
			}
			r.HasSigningContext, r.SigningAlg = true, id
		}
	}
	if !seen[CtxPreauthIntegrity] {
		return nil, malformed("NEGOTIATE response for 3.1.1 without a preauthentication context")
	}
	return r, nil
}

// oneID decodes a server's context that holds a count of 1 and one id.
func oneID(data []byte, what string) (uint16, error) {
	if len(data) < 4 || binary.LittleEndian.Uint16(data) != 1 {
		return 0, malformed("%s context of %d bytes does not hold exactly one choice", what, len(data))
	}
	return binary.LittleEndian.Uint16(data[2:]), nil
}
