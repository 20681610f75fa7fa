package wire

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// negResponse1 builds a NEGOTIATE response message from the
// specification's layout (MS-SMB2 2.2.4): a security buffer and, for
// 3.1.1, the contexts, each 8-aligned.
func negResponse1(dialect uint16, secBuf []byte, ctxs []NegotiateContext) []byte {
	msg := response2(CmdNegotiate, nil)
	body := make([]byte, 64)
	le := binary.LittleEndian
	le.PutUint16(body[0:], 65)
	le.PutUint16(body[2:], NegotiateSigningEnabled)
	le.PutUint16(body[4:], dialect)
	le.PutUint16(body[6:], uint16(len(ctxs)))
	copy(body[8:24], "0123456789abcdef")
	le.PutUint32(body[24:], CapLargeMTU|CapEncryption)
	le.PutUint32(body[28:], 8<<20)
	le.PutUint32(body[32:], 8<<20)
	le.PutUint32(body[36:], 8<<20)
	le.PutUint16(body[56:], 128)
	le.PutUint16(body[58:], uint16(len(secBuf)))
	msg = append(msg, body...)
	msg = append(msg, secBuf...)
	if len(ctxs) > 0 {
		msg = padMsg8(msg)
		le.PutUint32(msg[HeaderSize+60:], uint32(len(msg)))
		for i, c := range ctxs {
			if i > 0 {
				msg = padMsg8(msg)
			}
			msg = le.AppendUint16(msg, c.Type)
			msg = le.AppendUint16(msg, uint16(len(c.Data)))
			msg = le.AppendUint32(msg, 0)
			msg = append(msg, c.Data...)
		}
	}
	return msg
}

func serverContexts1() []NegotiateContext {
	return []NegotiateContext{
		PreauthContext(bytes.Repeat([]byte{0x5a}, 32)),
		EncryptionContext([]uint16{4}),
		SigningContext([]uint16{2}),
	}
}

func TestNegotiateRequestLayout(t *testing.T) {
	r := NegotiateRequest{
		Dialects:     []uint16{Dialect311, Dialect302, Dialect300},
		SecurityMode: NegotiateSigningEnabled | NegotiateSigningRequired,
		Capabilities: CapLargeMTU | CapEncryption,
		ClientGUID:   [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		Contexts: []NegotiateContext{
			PreauthContext(make([]byte, 32)),
			EncryptionContext([]uint16{2, 4, 1, 3}),
			SigningContext([]uint16{2, 1}),
			NetnameContext("dc1"),
		},
	}
	msg := r.Append(reqHeader2(CmdNegotiate))
	b := msg[HeaderSize:]
	le := binary.LittleEndian
	if le.Uint16(b) != 36 || le.Uint16(b[2:]) != 3 || le.Uint16(b[4:]) != 3 || le.Uint32(b[8:]) != CapLargeMTU|CapEncryption {
		t.Fatalf("fixed fields: % x", b[:12])
	}
	if !bytes.Equal(b[12:28], r.ClientGUID[:]) {
		t.Fatal("client GUID")
	}
	for i, d := range r.Dialects {
		if got := le.Uint16(b[36+2*i:]); got != d {
			t.Fatalf("dialect %d = %#x", i, got)
		}
	}
	// 64 + 36 + 6 = 106, padded to 112.
	off := le.Uint32(b[28:])
	if off != 112 || le.Uint16(b[32:]) != 4 {
		t.Fatalf("context offset %d count %d", off, le.Uint16(b[32:]))
	}
	// Decode the contexts with the server-side rules of the response
	// parser: build a response around them and parse it.
	var got []NegotiateContext
	rest := msg[off:]
	for i := 0; len(rest) > 0; i++ {
		if p := (len(msg) - len(rest)) % 8; i > 0 && p != 0 {
			rest = rest[8-p:]
		}
		n := int(le.Uint16(rest[2:]))
		got = append(got, NegotiateContext{Type: le.Uint16(rest), Data: rest[8 : 8+n]})
		rest = rest[8+n:]
	}
	if len(got) != 4 {
		t.Fatalf("%d contexts", len(got))
	}
	if got[0].Type != CtxPreauthIntegrity || !bytes.Equal(got[0].Data[:6], []byte{1, 0, 32, 0, 1, 0}) || len(got[0].Data) != 38 {
		t.Errorf("preauth context % x", got[0].Data)
	}
	if got[1].Type != CtxEncryption || !bytes.Equal(got[1].Data, []byte{4, 0, 2, 0, 4, 0, 1, 0, 3, 0}) {
		t.Errorf("encryption context % x", got[1].Data)
	}
	if got[2].Type != CtxSigning || !bytes.Equal(got[2].Data, []byte{2, 0, 2, 0, 1, 0}) {
		t.Errorf("signing context % x", got[2].Data)
	}
	if name, _ := DecodeUTF16(got[3].Data); got[3].Type != CtxNetname || name != "dc1" {
		t.Errorf("netname context %q", name)
	}
}

func TestNegotiateRequestWithoutContexts(t *testing.T) {
	r := NegotiateRequest{Dialects: []uint16{Dialect302, Dialect300}}
	msg := r.Append(reqHeader2(CmdNegotiate))
	if len(msg) != HeaderSize+36+4 {
		t.Fatalf("length %d", len(msg))
	}
	if !bytes.Equal(msg[HeaderSize+28:HeaderSize+36], make([]byte, 8)) {
		t.Fatal("ClientStartTime not zero")
	}
}

func TestParseNegotiateResponse311(t *testing.T) {
	msg := negResponse1(Dialect311, []byte{0x60, 0x01, 0x00}, serverContexts1())
	r, err := ParseNegotiateResponse(msg)
	if err != nil {
		t.Fatal(err)
	}
	if r.Dialect != Dialect311 || r.PreauthHashAlg != HashSHA512 || !r.HasEncryptionContext || r.Cipher != 4 ||
		!r.HasSigningContext || r.SigningAlg != 2 || r.MaxReadSize != 8<<20 || string(r.ServerGUID[:]) != "0123456789abcdef" ||
		!bytes.Equal(r.SecurityBuffer, []byte{0x60, 1, 0}) || len(r.Contexts) != 3 {
		t.Fatalf("%+v", r)
	}
	// Every truncation fails cleanly.
	for n := range len(msg) {
		if _, err := ParseNegotiateResponse(msg[:n]); err == nil {
			t.Fatalf("truncated to %d bytes: accepted", n)
		}
	}
}

func TestParseNegotiateResponse30(t *testing.T) {
	r, err := ParseNegotiateResponse(negResponse1(Dialect300, []byte{0x60}, nil))
	if err != nil || r.Dialect != Dialect300 || r.HasSigningContext {
		t.Fatalf("%+v, %v", r, err)
	}
}

func TestParseNegotiateResponseStrict(t *testing.T) {
	preauth := PreauthContext(make([]byte, 32))
	cases := map[string][]NegotiateContext{
		"no contexts":      nil,
		"no preauth":       {EncryptionContext([]uint16{2})},
		"two ciphers":      {preauth, EncryptionContext([]uint16{2, 4})},
		"two signings":     {preauth, SigningContext([]uint16{2, 1})},
		"repeated":         {preauth, preauth},
		"two hashes":       {{Type: CtxPreauthIntegrity, Data: []byte{2, 0, 0, 0, 1, 0, 1, 0}}},
		"short salt":       {{Type: CtxPreauthIntegrity, Data: []byte{1, 0, 9, 0, 1, 0}}},
		"empty signing":    {preauth, {Type: CtxSigning}},
		"empty encryption": {preauth, {Type: CtxEncryption, Data: []byte{0, 0}}},
	}
	for name, ctxs := range cases {
		_, err := ParseNegotiateResponse(negResponse1(Dialect311, nil, ctxs))
		wantMalformed(t, err, name)
	}
	msg := negResponse1(Dialect311, nil, serverContexts1())
	bad := append([]byte(nil), msg...)
	binary.LittleEndian.PutUint32(bad[HeaderSize+60:], 129) // not 8-aligned
	_, err := ParseNegotiateResponse(bad)
	wantMalformed(t, err, "unaligned contexts")
	bad = append([]byte(nil), msg...)
	binary.LittleEndian.PutUint16(bad[HeaderSize+58:], 0xffff)
	_, err = ParseNegotiateResponse(bad)
	wantMalformed(t, err, "security buffer overrun")
	bad = append([]byte(nil), msg...)
	binary.LittleEndian.PutUint16(bad[HeaderSize:], 64)
	_, err = ParseNegotiateResponse(bad)
	wantMalformed(t, err, "structure size")
}

func TestSessionSetup(t *testing.T) {
	r := SessionSetupRequest{SecurityMode: NegotiateSigningEnabled, PreviousSessionID: 0x99, SecurityBuffer: []byte("token")}
	msg := r.Append(reqHeader2(CmdSessionSetup))
	b := msg[HeaderSize:]
	le := binary.LittleEndian
	if le.Uint16(b) != 25 || b[3] != 1 || le.Uint16(b[12:]) != 88 || le.Uint16(b[14:]) != 5 || le.Uint64(b[16:]) != 0x99 || string(msg[88:]) != "token" {
		t.Fatalf("request % x", b)
	}
	body := []byte{9, 0, 4, 0, 72, 0, 3, 0, 0xa1, 0x01, 0x00}
	resp, err := ParseSessionSetupResponse(response2(CmdSessionSetup, body))
	if err != nil || resp.SessionFlags != SessionFlagEncryptData || !bytes.Equal(resp.SecurityBuffer, []byte{0xa1, 1, 0}) {
		t.Fatalf("%+v, %v", resp, err)
	}
	body[6] = 4 // one byte more than there is
	_, err = ParseSessionSetupResponse(response2(CmdSessionSetup, body))
	wantMalformed(t, err, "overrun")
	body[6], body[4] = 0, 0 // empty buffer at offset 0
	if resp, err := ParseSessionSetupResponse(response2(CmdSessionSetup, body)); err != nil || resp.SecurityBuffer != nil {
		t.Fatalf("empty buffer: %v", err)
	}
}

func TestTreeConnect(t *testing.T) {
	r := TreeConnectRequest{Path: `\\dc\share`}
	msg := r.Append(reqHeader2(CmdTreeConnect))
	b := msg[HeaderSize:]
	le := binary.LittleEndian
	if le.Uint16(b) != 9 || le.Uint16(b[4:]) != 72 || le.Uint16(b[6:]) != 20 {
		t.Fatalf("request % x", b[:8])
	}
	if p, _ := DecodeUTF16(msg[72:]); p != `\\dc\share` {
		t.Fatalf("path %q", p)
	}
	body := []byte{16, 0, 1, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0xff, 0x01, 0x1f, 0x00}
	resp, err := ParseTreeConnectResponse(response2(CmdTreeConnect, body))
	if err != nil || resp.ShareType != ShareTypeDisk || resp.ShareFlags != ShareFlagEncryptData || resp.MaximalAccess != 0x001f01ff {
		t.Fatalf("%+v, %v", resp, err)
	}
	_, err = ParseTreeConnectResponse(response2(CmdTreeConnect, body[:15]))
	wantMalformed(t, err, "short")
}

func TestIoctlValidateNegotiate(t *testing.T) {
	v := ValidateNegotiateInfo{Capabilities: 0x44, GUID: [16]byte{9}, SecurityMode: 3, Dialects: []uint16{0x300, 0x302}}
	in := v.Marshal()
	if len(in) != 28 || binary.LittleEndian.Uint16(in[22:]) != 2 || binary.LittleEndian.Uint16(in[26:]) != 0x302 {
		t.Fatalf("input % x", in)
	}
	r := IoctlRequest{CtlCode: FsctlValidateNegotiateInfo, FileID: FileIDAny, Input: in, MaxOutputResponse: 24, Flags: IoctlIsFsctl}
	msg := r.Append(reqHeader2(CmdIoctl))
	b := msg[HeaderSize:]
	le := binary.LittleEndian
	if le.Uint16(b) != 57 || le.Uint32(b[4:]) != FsctlValidateNegotiateInfo || le.Uint32(b[24:]) != 120 || le.Uint32(b[28:]) != 28 ||
		le.Uint32(b[44:]) != 24 || le.Uint32(b[48:]) != 1 || !bytes.Equal(msg[120:], in) || le.Uint64(b[8:]) != ^uint64(0) {
		t.Fatalf("request % x", b)
	}
	out := make([]byte, 24)
	le.PutUint32(out, 0x44)
	out[4] = 7
	le.PutUint16(out[20:], 3)
	le.PutUint16(out[22:], 0x302)
	rb := make([]byte, 48)
	le.PutUint16(rb, 49)
	le.PutUint32(rb[4:], FsctlValidateNegotiateInfo)
	le.PutUint32(rb[32:], 112)
	le.PutUint32(rb[36:], 24)
	resp, err := ParseIoctlResponse(response2(CmdIoctl, append(rb, out...)))
	if err != nil {
		t.Fatal(err)
	}
	caps, guid, mode, d, err := ParseValidateNegotiateInfoResponse(resp.Output)
	if err != nil || caps != 0x44 || guid[0] != 7 || mode != 3 || d != 0x302 {
		t.Fatalf("%x %x %x %x %v", caps, guid, mode, d, err)
	}
	_, _, _, _, err = ParseValidateNegotiateInfoResponse(out[:23])
	wantMalformed(t, err, "short validate")
	le.PutUint32(rb[36:], 25)
	_, err = ParseIoctlResponse(response2(CmdIoctl, append(rb, out...)))
	wantMalformed(t, err, "output overrun")
}

func TestSmallRequests(t *testing.T) {
	for name, f := range map[string]func([]byte) []byte{
		"echo": AppendEchoRequest, "cancel": AppendCancelRequest, "logoff": AppendLogoffRequest, "tdis": AppendTreeDisconnectRequest,
	} {
		if got := f(nil); !bytes.Equal(got, []byte{4, 0, 0, 0}) {
			t.Errorf("%s: % x", name, got)
		}
	}
}

// errorContexts1 builds an SMB 3.1.1 ERROR response body with contexts.
func errorContexts1(ctxs ...ErrorContext) []byte {
	var data []byte
	for i, c := range ctxs {
		if i > 0 {
			for len(data)%8 != 0 {
				data = append(data, 0)
			}
		}
		data = binary.LittleEndian.AppendUint32(data, uint32(len(c.Data)))
		data = binary.LittleEndian.AppendUint32(data, c.ID)
		data = append(data, c.Data...)
	}
	body := []byte{9, 0, byte(len(ctxs)), 0}
	body = binary.LittleEndian.AppendUint32(body, uint32(len(data)))
	return append(body, data...)
}

func TestParseErrorResponse(t *testing.T) {
	r, err := ParseErrorResponse(response2(CmdRead, []byte{9, 0, 0, 0, 0, 0, 0, 0, 0}))
	if err != nil || len(r.Data) != 0 || r.Contexts != nil {
		t.Fatalf("plain: %+v %v", r, err)
	}
	if _, err := ParseErrorResponse(response2(CmdRead, []byte{9, 0, 0, 0, 0, 0, 0, 0})); err != nil {
		t.Fatalf("8-byte body: %v", err)
	}
	body := errorContexts1(ErrorContext{ID: 0, Data: []byte{1, 2, 3}}, ErrorContext{ID: 0x72645253, Data: []byte("link")})
	r, err = ParseErrorResponse(response2(CmdCreate, body))
	if err != nil || len(r.Contexts) != 2 || r.Contexts[1].ID != 0x72645253 || string(r.Contexts[1].Data) != "link" ||
		!bytes.Equal(r.Contexts[0].Data, []byte{1, 2, 3}) {
		t.Fatalf("contexts: %+v %v", r, err)
	}
	for n := 8; n < len(body); n++ {
		b := append([]byte(nil), body[:n]...)
		binary.LittleEndian.PutUint32(b[4:], uint32(len(body)-8))
		_, err := ParseErrorResponse(response2(CmdCreate, b))
		wantMalformed(t, err, "truncated error contexts")
	}
}

func TestOplockBreak(t *testing.T) {
	fid := FileID{Persistent: 1, Volatile: 2}
	msg := AppendOplockBreakAck(response2(CmdOplockBreak, nil), fid, OplockLevelII)
	r, err := ParseOplockBreak(msg)
	if err != nil || r.IsLease || r.OplockLevel != OplockLevelII || r.FileID != fid {
		t.Fatalf("%+v %v", r, err)
	}
	lb := make([]byte, 44)
	binary.LittleEndian.PutUint16(lb, 44)
	binary.LittleEndian.PutUint32(lb[4:], LeaseBreakAckRequired)
	lb[8] = 0xab
	binary.LittleEndian.PutUint32(lb[24:], 7)
	binary.LittleEndian.PutUint32(lb[28:], 1)
	r, err = ParseOplockBreak(response2(CmdOplockBreak, lb))
	if err != nil || !r.IsLease || r.Flags != LeaseBreakAckRequired || r.LeaseKey[0] != 0xab || r.CurrentLeaseState != 7 || r.NewLeaseState != 1 {
		t.Fatalf("%+v %v", r, err)
	}
	_, err = ParseOplockBreak(response2(CmdOplockBreak, lb[:43]))
	wantMalformed(t, err, "short lease break")
	if ack := AppendLeaseBreakAck(nil, r.LeaseKey, 1); len(ack) != 36 || ack[8] != 0xab || ack[24] != 1 {
		t.Fatalf("lease ack % x", ack)
	}
}
