package wire

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// Windows captures from rapid7/ruby_smb (spec/lib/smb2/packet/).
var (
	// query_info_request_spec.rb: FileStandardInformation of the srvsvc
	// open; InputBufferOffset is 0x68 although there is no input.
	captureQueryInfoRequest = "fe534d4240000100000000001000010000000000000000000600000000000000" +
		"fffe000001000000190000000004000000000000000000000000000000000000" +
		"2900010518000000680000000000000000000000000000002500000000000000" +
		"01000000ffffffff"
	// query_info_response_spec.rb: its 24-byte answer.
	captureQueryInfoResponse = "fe534d4240000100000000001000010001000000000000000600000000000000" +
		"fffe000001000000190000000004000000000000000000000000000000000000" +
		"0900480018000000001000000000000000000000000000000100000001000000"
)

func TestQueryInfoRequestMatchesWindowsCapture(t *testing.T) {
	r := QueryInfoRequest{InfoType: InfoTypeFile, InfoClass: FileStandardInformation, OutputBufferLength: 24, FileID: captureFileID}
	got := r.Append(captureHeader2(t, captureQueryInfoRequest))
	if want := hex2(t, captureQueryInfoRequest); !bytes.Equal(got, want) {
		t.Fatalf("QUERY_INFO\n got %x\nwant %x", got, want)
	}
	r = QueryInfoRequest{InfoType: InfoTypeSecurity, OutputBufferLength: 4096,
		AdditionalInformation: OwnerSecurityInformation | DACLSecurityInformation, Flags: QueryInfoRestartScan,
		FileID: FileID{1, 2}, Input: []byte{0xaa, 0xbb}}
	got = r.Append(reqHeader2(CmdQueryInfo))
	want := hex2(t, "2900 03 00 00100000 6800 0000 02000000 05000000 01000000 0100000000000000 0200000000000000 aabb")
	if !bytes.Equal(got[HeaderSize:], want) {
		t.Errorf("QUERY_INFO %x", got[HeaderSize:])
	}
}

func TestParseQueryInfoResponseWindowsCapture(t *testing.T) {
	buf, err := ParseQueryInfoResponse(hex2(t, captureQueryInfoResponse))
	if err != nil {
		t.Fatal(err)
	}
	si, err := ParseFileStandardInfo(buf)
	if err != nil {
		t.Fatal(err)
	}
	if si != (FileStandardInfo{AllocationSize: 4096, NumberOfLinks: 1, DeletePending: true}) {
		t.Errorf("got %+v", si)
	}
	_, err = ParseQueryInfoResponse(hex2(t, captureQueryInfoResponse)[:HeaderSize+8+23])
	wantMalformed(t, err, "buffer past message")
}

func TestSetInfoRequest(t *testing.T) {
	r := SetInfoRequest{InfoType: InfoTypeFile, InfoClass: FileRenameInformation, FileID: FileID{3, 4},
		Buffer: MarshalRenameInfo(true, `d\new.txt`)}
	got := r.Append(reqHeader2(CmdSetInfo))
	// 2.2.39, the buffer at 64+32 = 0x60.
	want := hex2(t, `2100 01 0a 26000000 6000 0000 00000000 0300000000000000 0400000000000000
		01 00000000000000 0000000000000000 12000000 6400 5c00 6e00 6500 7700 2e00 7400 7800 7400`)
	if !bytes.Equal(got[HeaderSize:], want) {
		t.Fatalf("SET_INFO\n got %x\nwant %x", got[HeaderSize:], want)
	}
	r = SetInfoRequest{InfoType: InfoTypeSecurity, AdditionalInformation: DACLSecurityInformation, FileID: FileID{3, 4}}
	got = r.Append(reqHeader2(CmdSetInfo))
	want = hex2(t, "2100 03 00 00000000 6000 0000 04000000 0300000000000000 0400000000000000 00")
	if !bytes.Equal(got[HeaderSize:], want) {
		t.Errorf("empty SET_INFO %x", got[HeaderSize:])
	}
	if err := ParseSetInfoResponse(response2(CmdSetInfo, []byte{2, 0})); err != nil {
		t.Error(err)
	}
	wantMalformed(t, ParseSetInfoResponse(response2(CmdSetInfo, []byte{9, 0, 0, 0, 0, 0, 0, 0})), "error response as SET_INFO")
	wantMalformed(t, ParseSetInfoResponse(response2(CmdSetInfo, []byte{2})), "short SET_INFO response")
}

func TestSetInfoBuffers(t *testing.T) {
	// MS-FSCC FILE_RENAME_INFORMATION_TYPE_2: a one-character name is
	// padded to the 24 bytes of the Windows structure.
	if got, want := MarshalRenameInfo(false, "a"), hex2(t, "00 00000000000000 0000000000000000 02000000 6100 0000"); !bytes.Equal(got, want) {
		t.Errorf("rename a: %x", got)
	}
	if got := MarshalRenameInfo(false, ""); len(got) != 24 || binary.LittleEndian.Uint32(got[16:]) != 0 {
		t.Errorf("rename empty: %x", got)
	}
	if got := MarshalRenameInfo(true, "ab"); len(got) != 24 || got[0] != 1 || binary.LittleEndian.Uint32(got[16:]) != 4 {
		t.Errorf("rename ab: %x", got)
	}
	if got, want := MarshalEndOfFileInfo(0x0102030405), hex2(t, "0504030201000000"); !bytes.Equal(got, want) {
		t.Errorf("EOF %x", got)
	}
	if got, want := MarshalAllocationInfo(4096), hex2(t, "0010000000000000"); !bytes.Equal(got, want) {
		t.Errorf("allocation %x", got)
	}
	if got := MarshalDispositionInfo(true); !bytes.Equal(got, []byte{1}) {
		t.Errorf("disposition %x", got)
	}
	if got := MarshalDispositionInfo(false); !bytes.Equal(got, []byte{0}) {
		t.Errorf("no disposition %x", got)
	}
}

func TestFileBasicInfo(t *testing.T) {
	in := FileBasicInfo{CreationTime: 0x01d098c2abbd29e8, LastAccessTime: 0, LastWriteTime: ^uint64(0), ChangeTime: 5, FileAttributes: AttrHidden | AttrReadOnly}
	b := in.Marshal()
	// MS-FSCC 2.4.7: four times, FileAttributes, 4 reserved bytes.
	want := hex2(t, "e829bdabc298d001 0000000000000000 ffffffffffffffff 0500000000000000 03000000 00000000")
	if !bytes.Equal(b, want) {
		t.Fatalf("marshal %x", b)
	}
	out, err := ParseFileBasicInfo(b)
	if err != nil || out != in {
		t.Errorf("round trip %+v %v", out, err)
	}
	if _, err := ParseFileBasicInfo(b[:36]); err != nil {
		t.Errorf("without reserved: %v", err)
	}
	_, err = ParseFileBasicInfo(b[:35])
	wantMalformed(t, err, "short basic")
}

func TestFileInfoParsers(t *testing.T) {
	no, err := ParseFileNetworkOpenInfo(hex2(t, `0100000000000000 0200000000000000 0300000000000000 0400000000000000
		0020000000000000 0110000000000000 10000000 00000000`))
	if err != nil || no != (FileNetworkOpenInfo{1, 2, 3, 4, 0x2000, 0x1001, AttrDirectory}) {
		t.Errorf("network open %+v %v", no, err)
	}
	si, err := ParseFileStandardInfo(hex2(t, "0020000000000000 0110000000000000 02000000 00 01"))
	if err != nil || si != (FileStandardInfo{AllocationSize: 0x2000, EndOfFile: 0x1001, NumberOfLinks: 2, Directory: true}) {
		t.Errorf("standard %+v %v", si, err)
	}
	id, err := ParseFileInternalInfo(hex2(t, "2847000000000c00"))
	if err != nil || id != 0x000c000000004728 {
		t.Errorf("internal %x %v", id, err)
	}
	fs, err := ParseFileFsSizeInfo(hex2(t, "0001000000000000 8000000000000000 08000000 00020000"))
	if err != nil || fs != (FileFsSizeInfo{256, 128, 8, 512}) {
		t.Errorf("fs size %+v %v", fs, err)
	}
	ff, err := ParseFileFsFullSizeInfo(hex2(t, "0001000000000000 8000000000000000 9000000000000000 08000000 00020000"))
	if err != nil || ff != (FileFsFullSizeInfo{256, 128, 144, 8, 512}) {
		t.Errorf("fs full size %+v %v", ff, err)
	}
	vol := hex2(t, "e829bdabc298d001 efbeadde 08000000 01 00 4400 6100 7400 6100")
	fv, err := ParseFileFsVolumeInfo(vol)
	if err != nil || fv != (FileFsVolumeInfo{CreationTime: 0x01d098c2abbd29e8, SerialNumber: 0xdeadbeef, SupportsObjects: true, Label: "Data"}) {
		t.Errorf("fs volume %+v %v", fv, err)
	}
	binary.LittleEndian.PutUint32(vol[12:], 10)
	_, err = ParseFileFsVolumeInfo(vol)
	wantMalformed(t, err, "label past buffer")
	binary.LittleEndian.PutUint32(vol[12:], 7)
	_, err = ParseFileFsVolumeInfo(vol)
	wantMalformed(t, err, "odd label")
	binary.LittleEndian.PutUint32(vol[12:], 0xffffffff)
	_, err = ParseFileFsVolumeInfo(vol)
	wantMalformed(t, err, "huge label")

	short := map[string]func([]byte) error{
		"basic":        func(b []byte) error { _, err := ParseFileBasicInfo(b); return err },
		"standard":     func(b []byte) error { _, err := ParseFileStandardInfo(b); return err },
		"network open": func(b []byte) error { _, err := ParseFileNetworkOpenInfo(b); return err },
		"internal":     func(b []byte) error { _, err := ParseFileInternalInfo(b); return err },
		"fs size":      func(b []byte) error { _, err := ParseFileFsSizeInfo(b); return err },
		"fs full size": func(b []byte) error { _, err := ParseFileFsFullSizeInfo(b); return err },
		"fs volume":    func(b []byte) error { _, err := ParseFileFsVolumeInfo(b); return err },
	}
	minLen := map[string]int{"basic": 36, "standard": 22, "network open": 52, "internal": 8, "fs size": 24, "fs full size": 32, "fs volume": 18}
	for what, parse := range short {
		n := minLen[what]
		if err := parse(make([]byte, n)); err != nil {
			t.Errorf("%s of %d bytes: %v", what, n, err)
		}
		wantMalformed(t, parse(make([]byte, n-1)), "short "+what)
	}
}
