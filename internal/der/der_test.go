package der

import (
	"bytes"
	"strings"
	"testing"
)

func TestReadAppend(t *testing.T) {
	for _, n := range []int{0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000} {
		content := bytes.Repeat([]byte{7}, n)
		el := Append(nil, 0x04, content[:n/2], content[n/2:])
		whole, c, rest, err := Read(append(el, 0xee), 0x04, 4, "x")
		if err != nil || !bytes.Equal(c, content) || !bytes.Equal(whole, el) || !bytes.Equal(rest, []byte{0xee}) {
			t.Fatalf("%d bytes: %v", n, err)
		}
	}
	for _, c := range []struct {
		in   []byte
		want string
	}{
		{nil, "missing"},
		{[]byte{0x05, 0x00}, "expected tag 0x04"},
		{[]byte{0x04}, "before its length"},
		{[]byte{0x04, 0x80}, "indefinite"},
		{[]byte{0x04, 0x84, 1, 0, 0, 0}, "too large"},
		{[]byte{0x04, 0x82, 0x01}, "in its length"},
		{[]byte{0x04, 0x82, 0x00, 0x90}, "leading zero"},
		{[]byte{0x04, 0x81, 0x05}, "not DER"},
		{[]byte{0x04, 0x03, 1}, "says 3 bytes, 1 remain"},
	} {
		if _, _, _, err := Read(c.in, 0x04, 3, "x"); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Read(% x) = %v, want %q", c.in, err, c.want)
		}
	}
}

func TestInt(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 127, 128, -128, -129, 255, 256, 1 << 31, -1 << 31, 1<<63 - 1, -1 << 63} {
		b := AppendInt(nil, v)
		got, err := ParseInt(b)
		if err != nil || got != v {
			t.Errorf("%d: % x gave %d, %v", v, b, got, err)
		}
	}
	for _, b := range [][]byte{nil, {0, 1}, {0xff, 0x80}, make([]byte, 9)} {
		if _, err := ParseInt(b); err == nil {
			t.Errorf("ParseInt(% x) accepted", b)
		}
	}
}
