package wire

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// Fuzz targets for the decoders of negotiate.go, session.go, tree.go,
// ioctl.go and misc.go, seeded with messages built from the
// specification's layouts.

func FuzzParseNegotiateResponse(f *testing.F) {
	f.Add(negResponse1(Dialect311, []byte{0x60, 1, 0}, serverContexts1()))
	f.Add(negResponse1(Dialect302, []byte{0x60}, nil))
	f.Fuzz(func(t *testing.T, msg []byte) {
		r, err := ParseNegotiateResponse(msg)
		if err != nil {
			return
		}
		if len(r.Contexts) > maxNegotiateContexts {
			t.Fatalf("%d contexts", len(r.Contexts))
		}
		if r.Dialect == Dialect311 && r.PreauthHashAlg == 0 && !hasCtx(r.Contexts, CtxPreauthIntegrity) {
			t.Fatal("3.1.1 without a preauthentication context accepted")
		}
	})
}

func hasCtx(cs []NegotiateContext, typ uint16) bool {
	for _, c := range cs {
		if c.Type == typ {
			return true
		}
	}
	return false
}

func FuzzParseSessionSetupResponse(f *testing.F) {
	f.Add(response2(CmdSessionSetup, []byte{9, 0, 4, 0, 72, 0, 3, 0, 0xa1, 0x01, 0x00}))
	f.Fuzz(func(t *testing.T, msg []byte) {
		r, err := ParseSessionSetupResponse(msg)
		if err == nil && len(r.SecurityBuffer) > len(msg)-HeaderSize {
			t.Fatal("security buffer larger than the message")
		}
	})
}

func FuzzParseTreeConnectResponse(f *testing.F) {
	f.Add(response2(CmdTreeConnect, []byte{16, 0, 1, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0xff, 0x01, 0x1f, 0x00}))
	f.Fuzz(func(t *testing.T, msg []byte) { ParseTreeConnectResponse(msg) })
}

func FuzzParseIoctlResponse(f *testing.F) {
	rb := make([]byte, 48+24)
	binary.LittleEndian.PutUint16(rb, 49)
	binary.LittleEndian.PutUint32(rb[32:], 112)
	binary.LittleEndian.PutUint32(rb[36:], 24)
	f.Add(response2(CmdIoctl, rb))
	f.Fuzz(func(t *testing.T, msg []byte) {
		r, err := ParseIoctlResponse(msg)
		if err != nil {
			return
		}
		ParseValidateNegotiateInfoResponse(r.Output)
	})
}

func FuzzParseErrorResponse(f *testing.F) {
	f.Add(response2(CmdRead, []byte{9, 0, 0, 0, 0, 0, 0, 0, 0}))
	f.Add(response2(CmdCreate, errorContexts1(ErrorContext{Data: []byte{1, 2, 3}}, ErrorContext{ID: 0x72645253, Data: []byte("link")})))
	f.Fuzz(func(t *testing.T, msg []byte) {
		r, err := ParseErrorResponse(msg)
		if err == nil && len(r.Contexts) > maxErrorContexts {
			t.Fatalf("%d contexts", len(r.Contexts))
		}
	})
}

func FuzzParseOplockBreak(f *testing.F) {
	f.Add(AppendOplockBreakAck(response2(CmdOplockBreak, nil), FileID{1, 2}, OplockLevelII))
	lb := make([]byte, 44)
	binary.LittleEndian.PutUint16(lb, 44)
	f.Add(response2(CmdOplockBreak, lb))
	f.Fuzz(func(t *testing.T, msg []byte) { ParseOplockBreak(msg) })
}

// FuzzSplitCompound checks that the pieces of a compound tile the input
// exactly and each starts with a header that parses.
func FuzzSplitCompound(f *testing.F) {
	h := Header{Command: CmdRead, MessageID: 3}
	one := make([]byte, HeaderSize+8)
	h.Encode(one)
	two := append(bytes.Clone(one), one...)
	binary.LittleEndian.PutUint32(two[20:], uint32(len(one)))
	f.Add(one)
	f.Add(two)
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, err := SplitCompound(b)
		if err != nil {
			return
		}
		total := 0
		for _, m := range msgs {
			if _, err := ParseHeader(m); err != nil && binary.LittleEndian.Uint16(m[4:]) == HeaderSize {
				t.Fatalf("a piece does not parse: %v", err)
			}
			total += len(m)
		}
		if total != len(b) {
			t.Fatalf("pieces cover %d of %d bytes", total, len(b))
		}
	})
}
