package wire

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// Windows captures from rapid7/ruby_smb (spec/lib/smb2/packet/).
var (
	// query_directory_request_spec.rb: FileIdBothDirectoryInformation,
	// pattern "*", 65535 bytes.
	captureQueryDirRequest = "fe534d4240000100000000000e00811f0000000000000000df00000000000000" +
		"0000000005000000110000000004000000000000000000000000000000000000" +
		"21002500000000002d00000010000000dd000000ffffffff60000200ffff0000" +
		"2a00"
	// query_directory_response_spec.rb: "." and "..", the first padded
	// with non-zero bytes to the 8-byte boundary.
	captureQueryDirResponse = "fe534d4240000100000000000e0001000100000000000000df00000000000000" +
		"0000000005000000110000000004000000000000000000000000000000000000" +
		"09004800dc0000007000000000000000e829bdabc298d001e829bdabc298d001" +
		"e829bdabc298d001e829bdabc298d00100000000000000000000000000000000" +
		"1000000002000000000000000000000000000000000000000000000000000000" +
		"00000000000000002847000000000c002e005200650063000000000000000000" +
		"e829bdabc298d001e829bdabc298d001e829bdabc298d001e829bdabc298d001" +
		"0000000000000000000000000000000010000000040000000000000000000000" +
		"0000000000000000000000000000000000000000000000000000000000000000" +
		"2e002e00"
)

func TestQueryDirectoryRequestMatchesWindowsCapture(t *testing.T) {
	r := QueryDirectoryRequest{
		InfoClass:          FileIdBothDirectoryInformation,
		FileID:             FileID{0x100000002d, 0xffffffff000000dd},
		Pattern:            "*",
		OutputBufferLength: 65535,
	}
	got := r.Append(captureHeader2(t, captureQueryDirRequest))
	if want := hex2(t, captureQueryDirRequest); !bytes.Equal(got, want) {
		t.Fatalf("QUERY_DIRECTORY\n got %x\nwant %x", got, want)
	}
	// An empty pattern is "*"; flags and index are placed.
	r.Pattern, r.Flags, r.FileIndex = "", QueryDirRestartScans|QueryDirReturnSingleEntry, 7
	got = r.Append(captureHeader2(t, captureQueryDirRequest))
	want := hex2(t, "2100 25 03 07000000 2d00000010000000dd000000ffffffff 6000 0200 ffff0000 2a00")
	if !bytes.Equal(got[HeaderSize:], want) {
		t.Errorf("QUERY_DIRECTORY %x", got[HeaderSize:])
	}
	r.Pattern = "été*.txt"
	got = r.Append(reqHeader2(CmdQueryDirectory))
	if n := binary.LittleEndian.Uint16(got[HeaderSize+26:]); n != 16 || len(got) != HeaderSize+32+16 {
		t.Errorf("pattern length %d, message %d", n, len(got))
	}
}

func TestParseQueryDirectoryResponseWindowsCapture(t *testing.T) {
	msg := hex2(t, captureQueryDirResponse)
	buf, err := ParseQueryDirectoryResponse(msg)
	if err != nil {
		t.Fatal(err)
	}
	if len(buf) != 220 || &buf[0] != &msg[0x48] {
		t.Fatalf("buffer of %d bytes", len(buf))
	}
	entries, err := ParseDirEntries(buf, FileIdBothDirectoryInformation, nil)
	if err != nil {
		t.Fatal(err)
	}
	const ft = 0x01d098c2abbd29e8
	want := []DirEntry{
		{Name: ".", CreationTime: ft, LastAccessTime: ft, LastWriteTime: ft, ChangeTime: ft, Attributes: AttrDirectory, FileID: 0x000c000000004728},
		{Name: "..", CreationTime: ft, LastAccessTime: ft, LastWriteTime: ft, ChangeTime: ft, Attributes: AttrDirectory},
	}
	if len(entries) != len(want) {
		t.Fatalf("%d entries: %+v", len(entries), entries)
	}
	for i := range want {
		if entries[i] != want[i] {
			t.Errorf("entry %d\n got %+v\nwant %+v", i, entries[i], want[i])
		}
	}
	// Appends to dst.
	entries, err = ParseDirEntries(buf, FileIdBothDirectoryInformation, entries)
	if err != nil || len(entries) != 4 {
		t.Errorf("append: %d %v", len(entries), err)
	}
}

func TestParseQueryDirectoryResponseStrict(t *testing.T) {
	body := func(off uint16, n uint32, extra int) []byte {
		b := make([]byte, 8+extra)
		binary.LittleEndian.PutUint16(b, 9)
		binary.LittleEndian.PutUint16(b[2:], off)
		binary.LittleEndian.PutUint32(b[4:], n)
		return b
	}
	if buf, err := ParseQueryDirectoryResponse(response2(CmdQueryDirectory, body(0, 0, 0))); err != nil || buf != nil {
		t.Errorf("empty: %x %v", buf, err)
	}
	for what, msg := range map[string][]byte{
		"buffer in fixed part": response2(CmdQueryDirectory, body(0x47, 4, 4)),
		"buffer past message":  response2(CmdQueryDirectory, body(0x48, 5, 4)),
		"huge length":          response2(CmdQueryDirectory, body(0x48, 0xffffffff, 4)),
		"short body":           response2(CmdQueryDirectory, body(0x48, 0, 0)[:7]),
		"structure size":       response2(CmdQueryDirectory, append([]byte{8, 0}, body(0x48, 0, 0)[2:]...)),
	} {
		_, err := ParseQueryDirectoryResponse(msg)
		wantMalformed(t, err, what)
	}
}

// dirClass2 is where MS-FSCC 2.4 puts the class-specific fields: the
// FileName, the ShortNameLength (0: none) and the FileId (0: none).
var dirClass2 = map[uint8]struct{ name, short, id int }{
	FileDirectoryInformation:       {64, 0, 0},    // 2.4.10
	FileFullDirectoryInformation:   {68, 0, 0},    // 2.4.14: + EaSize
	FileBothDirectoryInformation:   {94, 68, 0},   // 2.4.8: + EaSize, ShortNameLength, Reserved, ShortName[24]
	FileIdBothDirectoryInformation: {104, 68, 96}, // 2.4.21: + Reserved2, FileId
	FileIdFullDirectoryInformation: {80, 0, 72},   // 2.4.23: + EaSize, Reserved, FileId
}

// dirEntry2 encodes e in class, padded to a multiple of 8 unless last.
func dirEntry2(class uint8, e DirEntry, last bool) []byte {
	c := dirClass2[class]
	name := AppendUTF16(nil, e.Name)
	b := make([]byte, c.name, c.name+len(name)+8)
	le := binary.LittleEndian
	le.PutUint32(b[4:], e.FileIndex)
	le.PutUint64(b[8:], e.CreationTime)
	le.PutUint64(b[16:], e.LastAccessTime)
	le.PutUint64(b[24:], e.LastWriteTime)
	le.PutUint64(b[32:], e.ChangeTime)
	le.PutUint64(b[40:], e.EndOfFile)
	le.PutUint64(b[48:], e.AllocationSize)
	le.PutUint32(b[56:], e.Attributes)
	le.PutUint32(b[60:], uint32(len(name)))
	if c.short != 0 {
		short := AppendUTF16(nil, e.ShortName)
		b[c.short] = byte(len(short))
		copy(b[c.short+2:], short)
	}
	if c.id != 0 {
		le.PutUint64(b[c.id:], e.FileID)
	}
	b = append(b, name...)
	if !last {
		for len(b)%8 != 0 {
			b = append(b, 0xEE) // padding the receiver ignores
		}
		le.PutUint32(b, uint32(len(b)))
	}
	return b
}

func TestParseDirEntriesAllClasses(t *testing.T) {
	in := []DirEntry{
		{Name: "report 2024.pdf", FileIndex: 3, CreationTime: 1, LastAccessTime: 2, LastWriteTime: 3, ChangeTime: 4,
			EndOfFile: 123456, AllocationSize: 126976, Attributes: AttrArchive, FileID: 0x1122334455667788, ShortName: "REPORT~1.PDF"},
		{Name: "sub", Attributes: AttrDirectory, FileID: 9, ShortName: "SUB"},
		{Name: "日本語\U0001F600", EndOfFile: 1, Attributes: AttrNormal, FileID: 10},
	}
	for class, c := range dirClass2 {
		var buf []byte
		for i, e := range in {
			buf = append(buf, dirEntry2(class, e, i == len(in)-1)...)
		}
		got, err := ParseDirEntries(buf, class, nil)
		if err != nil {
			t.Errorf("class %#x: %v", class, err)
			continue
		}
		if len(got) != len(in) {
			t.Errorf("class %#x: %d entries", class, len(got))
			continue
		}
		for i, want := range in {
			if c.id == 0 {
				want.FileID = 0
			}
			if c.short == 0 {
				want.ShortName = ""
			}
			if got[i] != want {
				t.Errorf("class %#x entry %d\n got %+v\nwant %+v", class, i, got[i], want)
			}
		}
	}
	if got, err := ParseDirEntries(nil, FileIdBothDirectoryInformation, nil); err != nil || len(got) != 0 {
		t.Errorf("empty buffer: %v %v", got, err)
	}
}

func TestParseDirEntriesStrict(t *testing.T) {
	const class = FileIdFullDirectoryInformation // FileName at 80
	le := binary.LittleEndian
	two := func() []byte {
		return append(dirEntry2(class, DirEntry{Name: "abc"}, false), dirEntry2(class, DirEntry{Name: "de"}, true)...)
	}
	if _, err := ParseDirEntries(two(), class, nil); err != nil {
		t.Fatal(err)
	}
	cases := map[string]func([]byte) []byte{
		"next unaligned":           func(b []byte) []byte { le.PutUint32(b, 92); return b },
		"next inside fixed part":   func(b []byte) []byte { le.PutUint32(b, 8); return b },
		"next shorter than name":   func(b []byte) []byte { le.PutUint32(b[60:], 10); return b },
		"next past buffer":         func(b []byte) []byte { le.PutUint32(b, 256); return b },
		"next leaves no entry":     func(b []byte) []byte { return b[:88+79] },
		"last entry name past end": func(b []byte) []byte { le.PutUint32(b[88+60:], 6); return b },
		"odd name length":          func(b []byte) []byte { le.PutUint32(b[88+60:], 3); return b },
		"truncated fixed part":     func(b []byte) []byte { return b[:60] },
		"huge name length":         func(b []byte) []byte { le.PutUint32(b[60:], 0xfffffff8); return b },
		"huge next":                func(b []byte) []byte { le.PutUint32(b, 0xfffffff8); return b },
	}
	for what, edit := range cases {
		got, err := ParseDirEntries(edit(two()), class, nil)
		if got != nil {
			t.Errorf("%s: returned entries", what)
		}
		wantMalformed(t, err, what)
	}
	// ShortNameLength is at most 24 bytes.
	b := dirEntry2(FileBothDirectoryInformation, DirEntry{Name: "x", ShortName: "X"}, true)
	b[68] = 26
	_, err := ParseDirEntries(b, FileBothDirectoryInformation, nil)
	wantMalformed(t, err, "long short name")
	b[68] = 3
	_, err = ParseDirEntries(b, FileBothDirectoryInformation, nil)
	wantMalformed(t, err, "odd short name")
	_, err = ParseDirEntries(two(), FileNamesInformation, nil)
	wantMalformed(t, err, "unsupported class")
}

// The number of entries is bounded by the buffer: many minimal entries
// parse, each one taking at least the fixed part.
func TestParseDirEntriesBound(t *testing.T) {
	var buf []byte
	const n = 1000
	for i := range n {
		buf = append(buf, dirEntry2(FileDirectoryInformation, DirEntry{}, i == n-1)...)
	}
	got, err := ParseDirEntries(buf, FileDirectoryInformation, nil)
	if err != nil || len(got) != n || len(buf) != 64*n {
		t.Fatalf("%d entries in %d bytes: %v", len(got), len(buf), err)
	}
}
