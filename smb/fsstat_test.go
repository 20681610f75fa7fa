package smb

import (
	"encoding/binary"
	"errors"
	"testing"
)

func TestParseFSFullSize(t *testing.T) {
	b := make([]byte, 32)
	le := binary.LittleEndian
	le.PutUint64(b, 1000)     // total units
	le.PutUint64(b[8:], 300)  // the caller's
	le.PutUint64(b[16:], 400) // actually free
	le.PutUint32(b[24:], 8)   // sectors per unit
	le.PutUint32(b[28:], 512) // bytes per sector
	st, err := parseFSFullSize(b)
	if err != nil || st != (FSStat{BlockSize: 4096, Blocks: 1000, BlocksFree: 400, BlocksAvail: 300}) {
		t.Fatalf("%+v %v", st, err)
	}
	// A server's nonsense is an error, never a panic or a wrapped size.
	le.PutUint32(b[28:], 0)
	if _, err := parseFSFullSize(b); !errors.Is(err, ErrPolicy) {
		t.Errorf("a zero unit: %v", err)
	}
	le.PutUint32(b[28:], 1<<20)
	le.PutUint64(b, 1<<60)
	if _, err := parseFSFullSize(b); !errors.Is(err, ErrPolicy) {
		t.Errorf("a size beyond 64 bits: %v", err)
	}
	if _, err := parseFSFullSize(b[:31]); !errors.Is(err, ErrPolicy) {
		t.Errorf("a short answer: %v", err)
	}
	// More free than the volume holds is clamped.
	le.PutUint32(b[28:], 512)
	le.PutUint64(b, 10)
	if st, err := parseFSFullSize(b); err != nil || st.BlocksFree != 10 || st.BlocksAvail != 10 {
		t.Errorf("clamping: %+v %v", st, err)
	}
}
