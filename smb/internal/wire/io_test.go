package wire

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// Windows captures from rapid7/ruby_smb (spec/lib/smb2/packet/), on the
// srvsvc open of captureFileID.
var (
	// close_request_spec.rb
	captureCloseRequest = "fe534d4240000100000000000600010000000000000000000a00000000000000" +
		"fffe000001000000190000000004000000000000000000000000000000000000" +
		"1800000000000000250000000000000001000000ffffffff"
	// close_response_spec.rb
	captureCloseResponse = "fe534d4240000100000000000600010001000000000000001d00000000000000" +
		"fffe000001000000290000000004000000000000000000000000000000000000" +
		"3c00000000000000000000000000000000000000000000000000000000000000" +
		"00000000000000000000000000000000000000000000000000000000"
	// read_request_spec.rb: 1024 bytes at 0, Padding 0x50.
	captureReadRequest = "fe534d4240000100000000000800010000000000000000000800000000000000" +
		"fffe000001000000190000000004000000000000000000000000000000000000" +
		"31005000000400000000000000000000250000000000000001000000ffffffff" +
		"0000000000000000000000000000000000"
	// read_response_spec.rb: 92 bytes of DCE/RPC at offset 0x50.
	captureReadResponse = "fe534d4240000100000000000800010001000000000000000800000000000000" +
		"fffe000001000000190000000004000000000000000000000000000000000000" +
		"110050005c000000000000000000000005000c03100000005c00000002000000" +
		"b810b8104a1e00000d005c504950455c73727673766300000200000000000000" +
		"045d888aeb1cc9119fe808002b10486002000000030003000000000000000000" +
		"000000000000000000000000"
	// write_request_spec.rb: a 116-byte DCE/RPC bind at offset 0.
	captureWriteRequest = "fe534d4240000100000000000900010000000000000000000700000000000000" +
		"fffe000001000000190000000004000000000000000000000000000000000000" +
		"31007000740000000000000000000000250000000000000001000000ffffffff" +
		"0000000000000000000000000000000005000b03100000007400000002000000" +
		"b810b810000000000200000000000100c84f324b7016d30112785a47bf6ee188" +
		"03000000045d888aeb1cc9119fe808002b1048600200000001000100c84f324b" +
		"7016d30112785a47bf6ee188030000002c1cb76c129840450300000000000000" +
		"01000000"
	// write_response_spec.rb: Count 116.
	captureWriteResponse = "fe534d4240000100000000000900010001000000000000000700000000000000" +
		"fffe000001000000190000000004000000000000000000000000000000000000" +
		"11000000740000000000000000000000"
)

func TestCloseRequestMatchesWindowsCapture(t *testing.T) {
	got := (&CloseRequest{FileID: captureFileID}).Append(captureHeader2(t, captureCloseRequest))
	if want := hex2(t, captureCloseRequest); !bytes.Equal(got, want) {
		t.Fatalf("CLOSE\n got %x\nwant %x", got, want)
	}
	got = (&CloseRequest{Flags: CloseFlagPostQueryAttrib, FileID: FileID{1, 2}}).Append(reqHeader2(CmdClose))
	want := hex2(t, "1800 0100 00000000 0100000000000000 0200000000000000")
	if !bytes.Equal(got[HeaderSize:], want) {
		t.Errorf("CLOSE with flags %x", got[HeaderSize:])
	}
}

func TestParseCloseResponse(t *testing.T) {
	r, err := ParseCloseResponse(hex2(t, captureCloseResponse))
	if err != nil || r != (CloseResponse{}) {
		t.Fatalf("capture: %+v %v", r, err)
	}
	// 2.2.16 with every field set.
	body := hex2(t, `3c00 0100 00000000
		0100000000000000 0200000000000000 0300000000000000 0400000000000000
		0010000000000000 ff0f000000000000 20000000`)
	r, err = ParseCloseResponse(response2(CmdClose, body))
	want := CloseResponse{Flags: 1, CreationTime: 1, LastAccessTime: 2, LastWriteTime: 3, ChangeTime: 4,
		AllocationSize: 4096, EndOfFile: 4095, FileAttributes: AttrArchive}
	if err != nil || r != want {
		t.Errorf("got %+v %v", r, err)
	}
	_, err = ParseCloseResponse(response2(CmdClose, body[:59]))
	wantMalformed(t, err, "short CLOSE response")
	body[0] = 0x3d
	_, err = ParseCloseResponse(response2(CmdClose, body))
	wantMalformed(t, err, "CLOSE structure size")
}

func TestFlush(t *testing.T) {
	got := AppendFlushRequest(reqHeader2(CmdFlush), FileID{0x0102, 0x0304})
	want := hex2(t, "1800 0000 00000000 0201000000000000 0403000000000000")
	if !bytes.Equal(got[HeaderSize:], want) {
		t.Errorf("FLUSH %x", got[HeaderSize:])
	}
	if err := ParseFlushResponse(response2(CmdFlush, hex2(t, "0400 0000"))); err != nil {
		t.Error(err)
	}
	wantMalformed(t, ParseFlushResponse(response2(CmdFlush, hex2(t, "0400"))), "short FLUSH response")
	wantMalformed(t, ParseFlushResponse(response2(CmdFlush, hex2(t, "0900 0000 00000000"))), "error response as FLUSH")
}

func TestReadRequestMatchesWindowsCapture(t *testing.T) {
	r := ReadRequest{Padding: 0x50, Length: 1024, FileID: captureFileID}
	got := r.Append(captureHeader2(t, captureReadRequest))
	if want := hex2(t, captureReadRequest); !bytes.Equal(got, want) {
		t.Fatalf("READ\n got %x\nwant %x", got, want)
	}
	r = ReadRequest{Flags: ReadFlagUnbuffered, Length: 0x800000, Offset: 0x123456789, FileID: FileID{1, 2}, MinimumCount: 3, RemainingBytes: 4}
	got = r.Append(reqHeader2(CmdRead))
	want := hex2(t, `3100 00 01 00008000 8967452301000000 0100000000000000 0200000000000000
		03000000 00000000 04000000 0000 0000 00`)
	if !bytes.Equal(got[HeaderSize:], want) {
		t.Errorf("READ %x", got[HeaderSize:])
	}
}

func TestParseReadResponseWindowsCapture(t *testing.T) {
	msg := hex2(t, captureReadResponse)
	data, remaining, err := ParseReadResponse(msg)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != 92 || remaining != 0 || !bytes.Equal(data, msg[0x50:]) {
		t.Errorf("data %x remaining %d", data, remaining)
	}
	if &data[0] != &msg[0x50] {
		t.Error("data does not alias the message")
	}
	// DCE/RPC bind_ack: version 5.0, type 12.
	if data[0] != 5 || data[2] != 12 {
		t.Errorf("data starts %x", data[:4])
	}
}

func TestParseReadResponseStrict(t *testing.T) {
	body := func(off uint8, n, remaining uint32, data int) []byte {
		b := make([]byte, 16+data)
		binary.LittleEndian.PutUint16(b, 17)
		b[2] = off
		binary.LittleEndian.PutUint32(b[4:], n)
		binary.LittleEndian.PutUint32(b[8:], remaining)
		return b
	}
	data, rem, err := ParseReadResponse(response2(CmdRead, body(0x50, 3, 9, 3)))
	if err != nil || len(data) != 3 || rem != 9 {
		t.Errorf("good: %x %d %v", data, rem, err)
	}
	// A server may leave padding before the data.
	msg := response2(CmdRead, body(0x58, 2, 0, 10))
	msg[0x58], msg[0x59] = 'h', 'i'
	if data, _, err := ParseReadResponse(msg); err != nil || string(data) != "hi" {
		t.Errorf("padded: %q %v", data, err)
	}
	if data, _, err := ParseReadResponse(response2(CmdRead, body(0, 0, 5, 0))); err != nil || data != nil {
		t.Errorf("empty: %x %v", data, err)
	}
	bad := map[string][]byte{
		"data in fixed part": response2(CmdRead, body(0x4f, 3, 0, 3)),
		"data in header":     response2(CmdRead, body(0x10, 3, 0, 3)),
		"data past message":  response2(CmdRead, body(0x50, 4, 0, 3)),
		"huge length":        response2(CmdRead, body(0x50, 0xffffffff, 0, 3)),
		"short body":         response2(CmdRead, body(0x50, 0, 0, 0)[:15]),
		"structure size":     response2(CmdRead, append([]byte{16, 0}, body(0x50, 0, 0, 0)[2:]...)),
	}
	for what, msg := range bad {
		_, _, err := ParseReadResponse(msg)
		wantMalformed(t, err, what)
	}
}

func TestWriteRequestMatchesWindowsCapture(t *testing.T) {
	capture := hex2(t, captureWriteRequest)
	data := capture[HeaderSize+WriteRequestBodySize:]
	got := AppendWriteRequest(captureHeader2(t, captureWriteRequest), captureFileID, 0, data)
	if !bytes.Equal(got, capture) {
		t.Fatalf("WRITE\n got %x\nwant %x", got, capture)
	}
	// The zero-copy form is the same bytes without the data.
	hdr := AppendWriteRequestHeader(captureHeader2(t, captureWriteRequest), captureFileID, 0, uint32(len(data)))
	if !bytes.Equal(hdr, capture[:HeaderSize+WriteRequestBodySize]) {
		t.Errorf("WRITE header %x", hdr)
	}
	got = AppendWriteRequest(reqHeader2(CmdWrite), FileID{1, 2}, 0x1_0000_0000, []byte("abc"))
	want := hex2(t, `3100 7000 03000000 0000000001000000 0100000000000000 0200000000000000
		00000000 00000000 0000 0000 00000000 616263`)
	if !bytes.Equal(got[HeaderSize:], want) {
		t.Errorf("WRITE %x", got[HeaderSize:])
	}
	// An empty write still has a Buffer byte.
	got = AppendWriteRequest(reqHeader2(CmdWrite), FileID{}, 0, nil)
	if len(got) != HeaderSize+49 || binary.LittleEndian.Uint32(got[HeaderSize+4:]) != 0 {
		t.Errorf("empty WRITE of %d bytes", len(got))
	}
}

func TestParseWriteResponse(t *testing.T) {
	n, err := ParseWriteResponse(hex2(t, captureWriteResponse))
	if err != nil || n != 116 {
		t.Fatalf("capture: %d %v", n, err)
	}
	_, err = ParseWriteResponse(hex2(t, captureWriteResponse)[:HeaderSize+15])
	wantMalformed(t, err, "short WRITE response")
	_, err = ParseWriteResponse(response2(CmdWrite, hex2(t, "0900 0000 74000000 00000000 00000000")))
	wantMalformed(t, err, "error response as WRITE")
}

// The I/O hot path must not allocate per message.
func TestIONoAllocs(t *testing.T) {
	buf := make([]byte, HeaderSize, 1<<16)
	data := make([]byte, 4096)
	read := hex2(t, captureReadResponse)
	write := hex2(t, captureWriteResponse)
	rr := ReadRequest{Padding: 0x50, Length: 1 << 20, FileID: captureFileID}
	cr := CloseRequest{FileID: captureFileID}
	for name, f := range map[string]func(){
		"AppendWriteRequestHeader": func() { AppendWriteRequestHeader(buf, captureFileID, 1<<30, 1<<20) },
		"AppendWriteRequest":       func() { AppendWriteRequest(buf, captureFileID, 1<<30, data) },
		"ReadRequest.Append":       func() { rr.Append(buf) },
		"CloseRequest.Append":      func() { cr.Append(buf) },
		"AppendFlushRequest":       func() { AppendFlushRequest(buf, captureFileID) },
		"ParseReadResponse": func() {
			if _, _, err := ParseReadResponse(read); err != nil {
				t.Fatal(err)
			}
		},
		"ParseWriteResponse": func() {
			if _, err := ParseWriteResponse(write); err != nil {
				t.Fatal(err)
			}
		},
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s allocates %v times", name, n)
		}
	}
}

func BenchmarkAppendWriteRequestHeader(b *testing.B) {
	buf := make([]byte, HeaderSize, 256)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		AppendWriteRequestHeader(buf, captureFileID, uint64(i)<<20, 1<<20)
	}
}

func BenchmarkParseReadResponse(b *testing.B) {
	msg := response2(CmdRead, make([]byte, 16+1<<20))
	binary.LittleEndian.PutUint16(msg[HeaderSize:], 17)
	msg[HeaderSize+2] = 0x50
	binary.LittleEndian.PutUint32(msg[HeaderSize+4:], 1<<20)
	b.ReportAllocs()
	b.SetBytes(1 << 20)
	for b.Loop() {
		if _, _, err := ParseReadResponse(msg); err != nil {
			b.Fatal(err)
		}
	}
}
