package smb

import (
	"bytes"
	"testing"
)

func TestSMBSessionKey(t *testing.T) {
	full := bytes.Repeat([]byte{7}, 32)
	if k := smbSessionKey(full); len(k) != 16 || !bytes.Equal(k, full[:16]) {
		t.Errorf("32-byte key: %x", k)
	}
	short := []byte{1, 2, 3}
	if k := smbSessionKey(short); !bytes.Equal(k, append([]byte{1, 2, 3}, make([]byte, 13)...)) {
		t.Errorf("short key not zero-padded: %x", k)
	}
	full[0] = 9
	if k := smbSessionKey(full); k[0] != 9 || &k[0] == &full[0] {
		t.Error("key must be a copy")
	}
}
