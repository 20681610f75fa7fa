package wire

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// Genuine SMB2 messages between a Windows client and server, as published
// in the test suite of rapid7/ruby_smb (spec/lib/smb2/packet/*_spec.rb).
// They are the reference for byte-exact encodings and for decoding.
var (
	// create_request_spec.rb: CREATE of the pipe "srvsvc".
	captureCreateRequest = "fe534d4240000100000000000500010000000000000000000500000000000000" +
		"fffe000001000000190000000004000000000000000000000000000000000000" +
		"3900000002000000000000000000000000000000000000009f01120000000000" +
		"07000000010000004000400078000c0000000000000000007300720076007300" +
		"76006300"
	// create_response_spec.rb: its response (Reserved2 holds garbage).
	captureCreateResponse = "fe534d4240000100000000000500010001000000000000000500000000000000" +
		"fffe000001000000190000000004000000000000000000000000000000000000" +
		"5900000001000000000000000000000000000000000000000000000000000000" +
		"0000000000000000001000000000000000000000000000008000000076007300" +
		"250000000000000001000000ffffffff0000000000000000"
)

// captureFileID is the FileId of the srvsvc open in all the captures.
var captureFileID = FileID{Persistent: 0x25, Volatile: 0xffffffff00000001}

// hex2 decodes hex, ignoring spaces and newlines.
func hex2(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// response2 is a response message of cmd: a header and body.
func response2(cmd Command, body []byte) []byte {
	h := Header{Command: cmd, Flags: FlagResponse, MessageID: 7, SessionID: 0x1122, TreeID: 5}
	msg := make([]byte, HeaderSize, HeaderSize+len(body))
	h.Encode(msg)
	return append(msg, body...)
}

// reqHeader2 is the header of a request of cmd, with spare capacity.
func reqHeader2(cmd Command) []byte {
	h := Header{Command: cmd, MessageID: 9, SessionID: 0x1122, TreeID: 5, Credits: 1}
	msg := make([]byte, HeaderSize, 4096)
	h.Encode(msg)
	return msg
}

// captureHeader2 copies the header of a capture, to rebuild its body.
func captureHeader2(t testing.TB, capture string) []byte {
	b := hex2(t, capture)
	return append(make([]byte, 0, len(b)), b[:HeaderSize]...)
}

func wantMalformed(t *testing.T, err error, what string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: accepted", what)
	} else if !errors.Is(err, ErrMalformed) {
		t.Errorf("%s: error %v does not wrap ErrMalformed", what, err)
	}
}

func TestCreateRequestMatchesWindowsCapture(t *testing.T) {
	want := hex2(t, captureCreateRequest)
	r := CreateRequest{
		ImpersonationLevel: ImpersonationImpersonation,
		DesiredAccess:      0x0012019f,
		ShareAccess:        ShareRead | ShareWrite | ShareDelete,
		CreateDisposition:  FileOpen,
		CreateOptions:      OptNonDirectoryFile | OptOpenNoRecall,
		Name:               "srvsvc",
	}
	got := r.Append(captureHeader2(t, captureCreateRequest))
	if !bytes.Equal(got, want) {
		t.Fatalf("CREATE request\n got %x\nwant %x", got, want)
	}
}

func TestCreateRequestEmptyName(t *testing.T) {
	r := CreateRequest{ImpersonationLevel: 2, DesiredAccess: FileReadAttributes, ShareAccess: 7, CreateDisposition: FileOpen, CreateOptions: OptDirectoryFile}
	msg := r.Append(reqHeader2(CmdCreate))
	b := msg[HeaderSize:]
	// 2.2.13: 56 fixed bytes and a Buffer of at least one byte.
	if len(b) != 57 || b[56] != 0 {
		t.Fatalf("body of %d bytes: %x", len(b), b)
	}
	le := binary.LittleEndian
	if off, n := le.Uint16(b[44:]), le.Uint16(b[46:]); off != 120 || n != 0 {
		t.Errorf("NameOffset %d NameLength %d, want 120 0", off, n)
	}
	if off, n := le.Uint32(b[48:]), le.Uint32(b[52:]); off != 0 || n != 0 {
		t.Errorf("contexts %d/%d, want none", off, n)
	}
	if le.Uint32(b[40:]) != OptDirectoryFile {
		t.Errorf("CreateOptions %x", le.Uint32(b[40:]))
	}
}

func TestCreateRequestContextChain(t *testing.T) {
	guid := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	r := CreateRequest{
		OplockLevel:        OplockNone,
		ImpersonationLevel: ImpersonationImpersonation,
		DesiredAccess:      GenericRead | GenericWrite,
		FileAttributes:     AttrNormal,
		ShareAccess:        ShareRead,
		CreateDisposition:  FileOverwriteIf,
		CreateOptions:      OptNonDirectoryFile,
		Name:               `a\b.txt`,
		Contexts: []CreateContext{
			DurableV2Request(0, true, guid),
			QueryMaximalAccessRequest(),
			QueryOnDiskIDRequest(),
		},
	}
	msg := r.Append(reqHeader2(CmdCreate))
	// Hand-built from 2.2.13 and 2.2.13.2: the name at 120 (14 bytes), 2
	// bytes of padding, the chain at 136; each element's name at 16, data
	// at 24; Next covers the padding to the next multiple of 8; the last
	// element is not padded.
	want := hex2(t, `
		3900 00 00 02000000 0000000000000000 0000000000000000
		000000c0 80000000 01000000 05000000 40000000
		7800 0e00 88000000 64000000
		6100 5c00 6200 2e00 7400 7800 7400 0000
		38000000 1000 0400 0000 1800 20000000 44483251 00000000
		00000000 02000000 0000000000000000 0102030405060708090a0b0c0d0e0f10
		18000000 1000 0400 0000 0000 00000000 4d784163 00000000
		00000000 1000 0400 0000 0000 00000000 51466964`)
	if got := msg[HeaderSize:]; !bytes.Equal(got, want) {
		t.Fatalf("CREATE body\n got %x\nwant %x", got, want)
	}
	// The chain decodes back to the contexts.
	ctxs, err := parseCreateContexts(msg[136:], nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ctxs) != 3 {
		t.Fatalf("%d contexts", len(ctxs))
	}
	for i, c := range ctxs {
		if c.Name != r.Contexts[i].Name || !bytes.Equal(c.Data, r.Contexts[i].Data) {
			t.Errorf("context %d: %q %x, want %q %x", i, c.Name, c.Data, r.Contexts[i].Name, r.Contexts[i].Data)
		}
	}
}

func TestDurableContexts(t *testing.T) {
	guid := [16]byte{0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf}
	// 2.2.13.2.11: Timeout, Flags, Reserved (8), CreateGuid.
	c := DurableV2Request(60000, false, guid)
	want := hex2(t, "60ea0000 00000000 0000000000000000 a0a1a2a3a4a5a6a7a8a9aaabacadaeaf")
	if c.Name != "DH2Q" || !bytes.Equal(c.Data, want) {
		t.Errorf("DH2Q %q %x", c.Name, c.Data)
	}
	// 2.2.13.2.12: FileId, CreateGuid, Flags.
	c = DurableV2Reconnect(FileID{0x1122334455667788, 0x99}, guid, true)
	want = hex2(t, "8877665544332211 9900000000000000 a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 02000000")
	if c.Name != "DH2C" || !bytes.Equal(c.Data, want) {
		t.Errorf("DH2C %q %x", c.Name, c.Data)
	}
	if c := QueryMaximalAccessRequest(); c.Name != "MxAc" || len(c.Data) != 0 {
		t.Errorf("MxAc %+v", c)
	}
	if c := QueryOnDiskIDRequest(); c.Name != "QFid" || len(c.Data) != 0 {
		t.Errorf("QFid %+v", c)
	}
}

func TestParseCreateResponseWindowsCapture(t *testing.T) {
	r, err := ParseCreateResponse(hex2(t, captureCreateResponse))
	if err != nil {
		t.Fatal(err)
	}
	want := CreateResponse{CreateAction: FileOpened, AllocationSize: 4096, FileAttributes: AttrNormal, FileID: captureFileID}
	if r.OplockLevel != want.OplockLevel || r.CreateAction != want.CreateAction || r.AllocationSize != want.AllocationSize ||
		r.EndOfFile != 0 || r.FileAttributes != want.FileAttributes || r.FileID != want.FileID ||
		r.CreationTime != 0 || r.Contexts != nil || r.DurableV2 != nil {
		t.Errorf("got %+v", r)
	}
}

// createResponseBody2 is a CREATE response body with the given fields and
// a context chain at offset 152.
func createResponseBody2(chain []byte) []byte {
	b := make([]byte, 88)
	le := binary.LittleEndian
	le.PutUint16(b[0:], 89)
	b[2] = OplockBatch
	b[3] = CreateFlagReparsePoint
	le.PutUint32(b[4:], FileCreated)
	le.PutUint64(b[8:], 0x01d098c2abbd29e8)
	le.PutUint64(b[16:], 0x01d098c2abbd29e9)
	le.PutUint64(b[24:], 0x01d098c2abbd29ea)
	le.PutUint64(b[32:], 0x01d098c2abbd29eb)
	le.PutUint64(b[40:], 8192)
	le.PutUint64(b[48:], 5000)
	le.PutUint32(b[56:], AttrArchive)
	le.PutUint32(b[60:], 0xdeadbeef) // Reserved2
	FileID{0xaaaa, 0xbbbb}.put(b[64:])
	if len(chain) > 0 {
		le.PutUint32(b[80:], 152)
		le.PutUint32(b[84:], uint32(len(chain)))
	}
	return append(b, chain...)
}

// A response chain as Windows sends it for DH2Q + MxAc + QFid, built by
// hand from 2.2.14.2.12, 2.2.14.2.5 and 2.2.14.2.9.
const responseChain2 = `
	20000000 1000 0400 0000 1800 08000000 44483251 00000000  60ea0000 02000000
	20000000 1000 0400 0000 1800 08000000 4d784163 00000000  00000000 ff011f00
	00000000 1000 0400 0000 1800 20000000 51466964 00000000
	0102030405060708 1112131415161718 00000000000000000000000000000000`

func TestParseCreateResponseContexts(t *testing.T) {
	msg := response2(CmdCreate, createResponseBody2(hex2(t, responseChain2)))
	r, err := ParseCreateResponse(msg)
	if err != nil {
		t.Fatal(err)
	}
	if r.OplockLevel != OplockBatch || r.Flags != CreateFlagReparsePoint || r.CreateAction != FileCreated ||
		r.CreationTime != 0x01d098c2abbd29e8 || r.LastAccessTime != 0x01d098c2abbd29e9 ||
		r.LastWriteTime != 0x01d098c2abbd29ea || r.ChangeTime != 0x01d098c2abbd29eb ||
		r.AllocationSize != 8192 || r.EndOfFile != 5000 || r.FileAttributes != AttrArchive ||
		r.FileID != (FileID{0xaaaa, 0xbbbb}) {
		t.Errorf("fixed fields %+v", r)
	}
	if len(r.Contexts) != 3 {
		t.Fatalf("%d contexts", len(r.Contexts))
	}
	if r.DurableV2 == nil || *r.DurableV2 != (DurableV2Response{Timeout: 60000, Flags: DHandleFlagPersistent}) {
		t.Errorf("DurableV2 %+v", r.DurableV2)
	}
	d, ok := r.Context(ContextQueryMaximalAccess)
	if !ok {
		t.Fatal("no MxAc")
	}
	ma, err := ParseMaximalAccessResponse(d)
	if err != nil || ma != (MaximalAccessResponse{QueryStatus: 0, MaximalAccess: 0x001f01ff}) {
		t.Errorf("MxAc %+v %v", ma, err)
	}
	d, _ = r.Context(ContextQueryOnDiskID)
	id, err := ParseOnDiskIDResponse(d)
	if err != nil || id != (OnDiskIDResponse{DiskFileID: 0x0807060504030201, VolumeID: 0x1817161514131211}) {
		t.Errorf("QFid %+v %v", id, err)
	}
	if _, ok := r.Context("RqLs"); ok {
		t.Error("found an absent context")
	}
	// Data aliases the message.
	if &d[0] != &msg[len(msg)-32] {
		t.Error("QFid data does not alias the message")
	}
	if _, err := ParseMaximalAccessResponse(make([]byte, 7)); err == nil {
		t.Error("short MxAc accepted")
	}
	if _, err := ParseOnDiskIDResponse(make([]byte, 31)); err == nil {
		t.Error("short QFid accepted")
	}
}

func TestParseCreateResponseStrict(t *testing.T) {
	good := hex2(t, responseChain2)
	le := binary.LittleEndian
	cases := []struct {
		name  string
		chain func([]byte) []byte // edits a copy of the good chain
		body  func([]byte)        // edits the body after the chain is placed
	}{
		{name: "structure size", body: func(b []byte) { b[0] = 88 }},
		{name: "offset in fixed part", body: func(b []byte) { le.PutUint32(b[80:], 144) }},
		{name: "offset unaligned", body: func(b []byte) { le.PutUint32(b[80:], 156); le.PutUint32(b[84:], 100) }},
		{name: "length past message", body: func(b []byte) { le.PutUint32(b[84:], uint32(len(good)+1)) }},
		{name: "huge length", body: func(b []byte) { le.PutUint32(b[84:], 0xffffffff) }},
		{name: "next unaligned", chain: func(c []byte) []byte { le.PutUint32(c, 0x1c); return c }},
		{name: "next too small", chain: func(c []byte) []byte { le.PutUint32(c, 8); return c }},
		{name: "next past chain", chain: func(c []byte) []byte { le.PutUint32(c[64:], 0x40); return c }},
		{name: "next leaves no header", chain: func(c []byte) []byte { le.PutUint32(c[32:], 0x38); return c[:32+0x38+8] }},
		{name: "last element truncated", chain: func(c []byte) []byte { return c[:64+12] }},
		{name: "name length 0", chain: func(c []byte) []byte { le.PutUint16(c[6:], 0); return c }},
		{name: "name offset in header", chain: func(c []byte) []byte { le.PutUint16(c[4:], 8); return c }},
		{name: "name past element", chain: func(c []byte) []byte { le.PutUint16(c[6:], 17); return c }},
		{name: "data past element", chain: func(c []byte) []byte { le.PutUint32(c[12:], 9); return c }},
		{name: "data offset in header", chain: func(c []byte) []byte { le.PutUint16(c[10:], 12); return c }},
		{name: "data past last element", chain: func(c []byte) []byte { le.PutUint32(c[64+12:], 33); return c }},
		{name: "short DH2Q", chain: func(c []byte) []byte { le.PutUint32(c[12:], 7); return c }},
	}
	for _, tc := range cases {
		chain := append([]byte(nil), good...)
		if tc.chain != nil {
			chain = tc.chain(chain)
		}
		body := createResponseBody2(chain)
		if tc.body != nil {
			tc.body(body)
		}
		r, err := ParseCreateResponse(response2(CmdCreate, body))
		if r != nil {
			t.Errorf("%s: returned a response", tc.name)
		}
		wantMalformed(t, err, tc.name)
	}
	_, err := ParseCreateResponse(response2(CmdCreate, createResponseBody2(nil)[:87]))
	wantMalformed(t, err, "short body")
	_, err = ParseCreateResponse(make([]byte, 10))
	wantMalformed(t, err, "shorter than a header")
}

func TestParseCreateResponseContextCount(t *testing.T) {
	chainOf := func(n int) []byte {
		ctxs := make([]CreateContext, n)
		for i := range ctxs {
			ctxs[i] = CreateContext{Name: "ABCD"}
		}
		// Build at an 8-aligned position, as in a message.
		return appendCreateContexts(nil, ctxs)
	}
	r, err := ParseCreateResponse(response2(CmdCreate, createResponseBody2(chainOf(maxCreateContexts))))
	if err != nil || len(r.Contexts) != maxCreateContexts {
		t.Fatalf("%d contexts: %v", maxCreateContexts, err)
	}
	_, err = ParseCreateResponse(response2(CmdCreate, createResponseBody2(chainOf(maxCreateContexts+1))))
	wantMalformed(t, err, "too many contexts")
}

func TestCheckName(t *testing.T) {
	if err := CheckName(strings.Repeat("a", MaxNameBytes/2)); err != nil {
		t.Error(err)
	}
	long := strings.Repeat("a", MaxNameBytes/2+1)
	if err := CheckName(long); !errors.Is(err, ErrNameTooLong) {
		t.Errorf("long name: %v", err)
	}
	// A supplementary character takes 4 bytes.
	if err := CheckName(strings.Repeat("\U0001F600", MaxNameBytes/4+1)); err == nil {
		t.Error("long name of surrogate pairs accepted")
	}
	defer func() {
		if recover() == nil {
			t.Error("Append of a long name did not panic")
		}
	}()
	(&CreateRequest{Name: long}).Append(reqHeader2(CmdCreate))
}

// TestLeaseContext: a version 2 lease request is 52 bytes with the key
// and state in place; its echo in a response decodes back, and other
// sizes are refused.
func TestLeaseContext(t *testing.T) {
	key := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	c := RequestLeaseV2(key, LeaseRead|LeaseHandle)
	if c.Name != ContextRequestLease || len(c.Data) != 52 {
		t.Fatalf("%s of %d bytes", c.Name, len(c.Data))
	}
	resp := append([]byte(nil), c.Data...)
	resp[48] = 7 // epoch
	l, err := ParseLeaseResponse(resp)
	if err != nil || l.Key != key || l.State != LeaseRead|LeaseHandle || l.Epoch != 7 {
		t.Fatalf("%+v, %v", l, err)
	}
	if l, err := ParseLeaseResponse(resp[:32]); err != nil || l.Key != key || l.Epoch != 0 {
		t.Fatalf("version 1: %+v, %v", l, err)
	}
	for _, n := range []int{0, 31, 33, 51, 53} {
		if _, err := ParseLeaseResponse(make([]byte, n)); err == nil {
			t.Errorf("%d bytes accepted", n)
		}
	}
}
