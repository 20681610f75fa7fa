package tamper

import (
	"bytes"
	"io"
	"testing"
)

func TestHeaderHelpers(t *testing.T) {
	f := smb2Frame(CmdTreeConnect, flagResponse|flagSigned, 0x1122334455667788, 0xabcdef01, 8)
	if cmd, ok := Command(f); !ok || cmd != CmdTreeConnect {
		t.Errorf("Command = %#x, %v", cmd, ok)
	}
	if id, ok := SessionID(f); !ok || id != 0x1122334455667788 {
		t.Errorf("SessionID = %#x, %v", id, ok)
	}
	if id, ok := TreeID(f); !ok || id != 0xabcdef01 {
		t.Errorf("TreeID = %#x, %v", id, ok)
	}
	async := smb2Frame(CmdRead, flagResponse|flagAsync, 1, 1, 0)
	if _, ok := TreeID(async); ok {
		t.Error("TreeID of an async header")
	}
	if IsTransform(f) || !IsSMB2(f) {
		t.Error("plain frame misclassified")
	}
	tr := transformFrame(0x10, 0x0102030405060708, 0)
	if !IsTransform(tr) || IsSMB2(tr) {
		t.Error("transform misclassified")
	}
	if id, ok := SessionID(tr); !ok || id != 0x0102030405060708 {
		t.Errorf("transform SessionID = %#x, %v", id, ok)
	}
	n, ok := TransformNonce(tr)
	if !ok || n[0] != 0x10 || n[11] != 0x1b || n[12] != 0 {
		t.Errorf("TransformNonce = %x, %v", n, ok)
	}
	if IsTransform(tr[:TransformHeaderSize-1]) || IsSMB2(f[:HeaderSize-1]) {
		t.Error("a truncated header was accepted")
	}
	if _, ok := SessionID([]byte("\xfcSMB")); ok {
		t.Error("SessionID of a compression header")
	}
}

func TestReadFrame(t *testing.T) {
	in := append(prefixed(pattern(70_000, 1)), prefixed(nil)...)
	in = append(in, 0, 0, 0, 9, 1, 2) // cut short
	r := bytes.NewReader(in)
	buf := make([]byte, 16)
	buf, err := readFrame(r, buf)
	if err != nil || len(buf) != 4+70_000 || !bytes.Equal(buf[4:], pattern(70_000, 1)) {
		t.Fatalf("first frame: %v, %d bytes", err, len(buf))
	}
	if buf, err = readFrame(r, buf); err != nil || len(buf) != 4 {
		t.Fatalf("empty frame: %v, %d bytes", err, len(buf))
	}
	if _, err = readFrame(r, buf); err != io.ErrUnexpectedEOF {
		t.Fatalf("short frame: %v, want io.ErrUnexpectedEOF", err)
	}
	if _, err = readFrame(bytes.NewReader(nil), buf); err != io.EOF {
		t.Fatalf("no frame: %v, want io.EOF", err)
	}
	if _, err = readFrame(bytes.NewReader([]byte{0, 0}), buf); err != io.ErrUnexpectedEOF {
		t.Fatalf("half a prefix: %v, want io.ErrUnexpectedEOF", err)
	}
}

// FuzzReadFrame feeds arbitrary streams to the frame reader: it never
// panics, never returns more than a prefix and 2^24-1 bytes, and a frame
// it returns is exactly what the prefix announced.
func FuzzReadFrame(f *testing.F) {
	f.Add(prefixed(smb2Frame(CmdNegotiate, 0, 0, 0, 36)))
	f.Add(prefixed(transformFrame(1, 2, 40)))
	f.Add([]byte{0x85, 0, 0, 0})
	f.Add([]byte{0, 0xff, 0xff, 0xff, 1, 2, 3})
	f.Add(append(prefixed([]byte("ab")), 0, 0, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		var buf []byte
		for i := 0; i < 100; i++ {
			var err error
			buf, err = readFrame(r, buf)
			if err != nil {
				return
			}
			n := int(buf[1])<<16 | int(buf[2])<<8 | int(buf[3])
			if len(buf) != 4+n || n > 1<<24-1 {
				t.Fatalf("frame of %d bytes for length %d", len(buf), n)
			}
		}
	})
}

// FuzzHeaders runs every header helper on arbitrary frames: they never
// panic and agree with each other.
func FuzzHeaders(f *testing.F) {
	f.Add(smb2Frame(CmdWrite, flagResponse|flagSigned, 5, 6, 10))
	f.Add(transformFrame(3, 4, 10))
	f.Add([]byte("\xfeSMB"))
	f.Add([]byte("\xfdSMB"))
	f.Fuzz(func(t *testing.T, frame []byte) {
		tr, plain := IsTransform(frame), IsSMB2(frame)
		if tr && plain {
			t.Fatal("both a transform and a plain message")
		}
		if _, ok := TransformNonce(frame); ok != tr {
			t.Fatal("TransformNonce disagrees with IsTransform")
		}
		if _, ok := SessionID(frame); ok != (tr || plain) {
			t.Fatal("SessionID disagrees")
		}
		cmd, ok := Command(frame)
		if ok != plain {
			t.Fatal("Command disagrees with IsSMB2")
		}
		if IsSignedResponse(cmd)(frame) && !plain {
			t.Fatal("a signed response that is not a plain message")
		}
		TreeID(frame)
	})
}
