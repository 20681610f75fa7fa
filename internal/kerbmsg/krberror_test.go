package kerbmsg

import (
	"errors"
	"testing"
	"time"
)

// krbError builds a KRB-ERROR with the mandatory fields, the given e-text
// element (nil: none) and e-data.
func krbError(etext []byte, edata bool) []byte {
	fields := [][]byte{
		explicitField(0, intElement(5)),
		explicitField(1, intElement(30)),
		explicitField(4, timeElement(time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC))),
		explicitField(5, intElement(0)),
		explicitField(6, intElement(7)),
		explicitField(9, stringElement("KERBEROS.MICROSOFTONLINE.COM")),
		explicitField(10, PrincipalName{NameType: 2, NameString: []string{"cifs", "acct.file.core.windows.net"}}.element()),
	}
	if etext != nil {
		fields = append(fields, explicitField(11, etext))
	}
	if edata {
		fields = append(fields, explicitField(12, octetsElement([]byte{1, 2, 3})))
	}
	return tlv(app(msgTypeKRBErr), tlv(tagSequence, fields...))
}

func TestErrorText(t *testing.T) {
	text := "AADSTS700016: Application with identifier 'cifs/acct.file.core.windows.net' was not found"
	for _, tc := range []struct {
		name string
		msg  []byte
		want string
	}{
		{"GeneralString", krbError(stringElement(text), true), text},
		{"UTF8String", krbError(tlv(tagUTF8String, []byte(text)), false), text},
		{"no e-text", krbError(nil, true), ""},
	} {
		got, err := ErrorText(tc.msg)
		if err != nil || got != tc.want {
			t.Errorf("%s: %q, %v", tc.name, got, err)
		}
	}
	if _, err := ErrorText([]byte{0x6b, 0x00}); !errors.Is(err, ErrNotKRBError) {
		t.Errorf("an AS-REP: %v", err)
	}
	bad := krbError(stringElement(text), false)
	if _, err := ErrorText(bad[:len(bad)-1]); err == nil {
		t.Error("a truncated KRB-ERROR was accepted")
	}
	// Fields out of order: e-data before e-text.
	swapped := tlv(app(msgTypeKRBErr), tlv(tagSequence,
		explicitField(0, intElement(5)), explicitField(12, octetsElement(nil)), explicitField(11, stringElement(text))))
	if _, err := ErrorText(swapped); err == nil {
		t.Error("fields out of order were accepted")
	}
}
