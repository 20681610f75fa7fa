package wire

import (
	"bytes"
	"testing"
)

// Fuzz targets for the decoders of create.go, io.go, dir.go and info.go.
// The seeds are the Windows captures of the unit tests and messages built
// from the specification.

func FuzzParseCreateResponse(f *testing.F) {
	f.Add(hex2(f, captureCreateResponse))
	f.Add(response2(CmdCreate, createResponseBody2(hex2(f, responseChain2))))
	f.Add(response2(CmdCreate, createResponseBody2(appendCreateContexts(nil, []CreateContext{{Name: "RqLs", Data: make([]byte, 52)}}))))
	f.Fuzz(func(t *testing.T, msg []byte) {
		r, err := ParseCreateResponse(msg)
		if err != nil || len(r.Contexts) == 0 {
			return
		}
		if data, ok := r.Context(ContextRequestLease); ok {
			if _, err := ParseLeaseResponse(data); (err == nil) != (len(data) == 32 || len(data) == 52) {
				t.Fatalf("lease response of %d bytes: %v", len(data), err)
			}
		}
		if len(r.Contexts) > maxCreateContexts {
			t.Fatalf("%d contexts", len(r.Contexts))
		}
		for _, c := range r.Contexts {
			if len(c.Name) > 1000 {
				return // too long for the encoder's 16-bit DataOffset
			}
		}
		// The contexts survive a round trip through the encoder.
		again, err := parseCreateContexts(appendCreateContexts(nil, r.Contexts), nil)
		if err != nil {
			t.Fatalf("re-encoded contexts: %v", err)
		}
		if len(again) != len(r.Contexts) {
			t.Fatalf("%d contexts became %d", len(r.Contexts), len(again))
		}
		for i := range again {
			if again[i].Name != r.Contexts[i].Name || !bytes.Equal(again[i].Data, r.Contexts[i].Data) {
				t.Fatalf("context %d changed", i)
			}
		}
	})
}

func FuzzParseReadResponse(f *testing.F) {
	f.Add(hex2(f, captureReadResponse))
	f.Add(response2(CmdRead, hex2(f, "1100 58 00 02000000 00000000 00000000 0000000000000000 6869")))
	f.Fuzz(func(t *testing.T, msg []byte) {
		data, _, err := ParseReadResponse(msg)
		if err == nil && len(data) > 0 && len(data) > len(msg)-HeaderSize-readResponseBodySize {
			t.Fatalf("%d bytes of data in a %d-byte message", len(data), len(msg))
		}
	})
}

func FuzzParseWriteResponse(f *testing.F) {
	f.Add(hex2(f, captureWriteResponse))
	f.Fuzz(func(t *testing.T, msg []byte) {
		_, _ = ParseWriteResponse(msg)
	})
}

func FuzzParseCloseResponse(f *testing.F) {
	f.Add(hex2(f, captureCloseResponse))
	f.Fuzz(func(t *testing.T, msg []byte) {
		_, _ = ParseCloseResponse(msg)
		_ = ParseFlushResponse(msg)
		_ = ParseSetInfoResponse(msg)
	})
}

func FuzzParseQueryDirectoryResponse(f *testing.F) {
	f.Add(hex2(f, captureQueryDirResponse))
	f.Fuzz(func(t *testing.T, msg []byte) {
		buf, err := ParseQueryDirectoryResponse(msg)
		if err != nil {
			return
		}
		if len(buf) > len(msg)-HeaderSize-queryDirResponseBodySize {
			t.Fatalf("%d-byte buffer in a %d-byte message", len(buf), len(msg))
		}
		_, _ = ParseDirEntries(buf, FileIdBothDirectoryInformation, nil)
	})
}

func FuzzParseDirEntries(f *testing.F) {
	buf, err := ParseQueryDirectoryResponse(hex2(f, captureQueryDirResponse))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(buf, FileIdBothDirectoryInformation)
	for class := range dirClass2 {
		b := dirEntry2(class, DirEntry{Name: "a.txt", ShortName: "A.TXT", FileID: 5}, false)
		b = append(b, dirEntry2(class, DirEntry{Name: "b"}, true)...)
		f.Add(b, class)
	}
	f.Fuzz(func(t *testing.T, buf []byte, class uint8) {
		entries, err := ParseDirEntries(buf, class, nil)
		if err != nil {
			return
		}
		lay, _ := dirLayoutOf(class)
		if len(entries)*lay.fixed > len(buf) {
			t.Fatalf("%d entries of class %#x in %d bytes", len(entries), class, len(buf))
		}
	})
}

func FuzzParseQueryInfoResponse(f *testing.F) {
	f.Add(hex2(f, captureQueryInfoResponse))
	f.Fuzz(func(t *testing.T, msg []byte) {
		buf, err := ParseQueryInfoResponse(msg)
		if err == nil && len(buf) > len(msg)-HeaderSize-queryDirResponseBodySize {
			t.Fatalf("%d-byte buffer in a %d-byte message", len(buf), len(msg))
		}
	})
}

// FuzzParseFileInfo runs every information-class decoder on the same
// bytes.
func FuzzParseFileInfo(f *testing.F) {
	buf, err := ParseQueryInfoResponse(hex2(f, captureQueryInfoResponse))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(buf)
	f.Add((&FileBasicInfo{CreationTime: 1, LastWriteTime: 2, FileAttributes: AttrArchive}).Marshal())
	f.Add(hex2(f, "e829bdabc298d001 efbeadde 08000000 01 00 4400 6100 7400 6100"))
	f.Add(make([]byte, 56))
	f.Fuzz(func(t *testing.T, b []byte) {
		if bi, err := ParseFileBasicInfo(b); err == nil {
			again, err := ParseFileBasicInfo(bi.Marshal())
			if err != nil || again != bi {
				t.Fatalf("basic info round trip: %+v %+v %v", bi, again, err)
			}
		}
		_, _ = ParseFileStandardInfo(b)
		_, _ = ParseFileNetworkOpenInfo(b)
		_, _ = ParseFileInternalInfo(b)
		_, _ = ParseFileFsSizeInfo(b)
		_, _ = ParseFileFsFullSizeInfo(b)
		if v, err := ParseFileFsVolumeInfo(b); err == nil && len(v.Label) > 3*len(b) {
			t.Fatalf("label of %d bytes from %d", len(v.Label), len(b))
		}
		_, _ = ParseMaximalAccessResponse(b)
		_, _ = ParseOnDiskIDResponse(b)
	})
}
