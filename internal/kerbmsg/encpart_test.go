package kerbmsg

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func sampleEncPart() *EncASRepPart {
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	return &EncASRepPart{
		Key:       EncryptionKey{KeyType: 18, KeyValue: bytes.Repeat([]byte{0x42}, 32)},
		LastReq:   []LastReq{{Type: 0, Value: at}},
		Nonce:     0x12345678,
		Flags:     FlagForwardable | FlagRenewable | FlagEncPARep,
		AuthTime:  at,
		StartTime: at,
		EndTime:   at.Add(10 * time.Hour),
		RenewTill: at.Add(7 * 24 * time.Hour),
		SRealm:    "KERBEROS.MICROSOFTONLINE.COM",
		SName:     PrincipalName{NameType: NameTypeSrvInst, NameString: []string{"krbtgt", "KERBEROS.MICROSOFTONLINE.COM"}},
	}
}

func TestEncASRepPartRoundTrip(t *testing.T) {
	p := sampleEncPart()
	if p.Flags != 0x40810000 {
		t.Fatalf("flags %#x: the constants do not give Windows' TGT flags", p.Flags)
	}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != 0x79 {
		t.Errorf("tag %#x, want [APPLICATION 25]", b[0])
	}
	// The flags are a 32-bit BIT STRING and the times GeneralizedTime, not
	// UTCTime.
	if !bytes.Contains(b, []byte{0xa4, 0x07, 0x03, 0x05, 0x00, 0x40, 0x81, 0x00, 0x00}) {
		t.Error("flags are not encoded as a 32-bit BIT STRING")
	}
	if !bytes.Contains(b, append([]byte{0xa5, 0x11, 0x18, 0x0f}, "20261201080000Z"...)) {
		t.Error("authtime is not a GeneralizedTime YYYYMMDDHHMMSSZ")
	}
	q, err := ParseEncASRepPart(b)
	if err != nil {
		t.Fatal(err)
	}
	again, err := q.Marshal()
	if err != nil || !bytes.Equal(again, b) {
		t.Fatalf("round trip differs: %v", err)
	}
	if !q.EndTime.Equal(p.EndTime) || q.Nonce != p.Nonce || !q.SName.Equal(p.SName) || q.CAddr != nil || q.EncryptedPAData != nil || !q.KeyExpiration.IsZero() {
		t.Errorf("decoded %+v", q)
	}
	// Times in another zone are written in UTC.
	p.AuthTime = p.AuthTime.In(time.FixedZone("X", 3600))
	b2, err := p.Marshal()
	if err != nil || !bytes.Equal(b2, b) {
		t.Errorf("zone changed the encoding: %v", err)
	}
	// Tag 26 is accepted on input.
	b26 := append([]byte{0x7a}, b[1:]...)
	if _, err := ParseEncASRepPart(b26); err != nil {
		t.Errorf("[APPLICATION 26]: %v", err)
	}
}

func TestEncASRepPartMarshalChecks(t *testing.T) {
	for _, c := range []struct {
		name string
		mod  func(*EncASRepPart)
		want string
	}{
		{"no authtime", func(p *EncASRepPart) { p.AuthTime = time.Time{} }, "authtime is required"},
		{"no endtime", func(p *EncASRepPart) { p.EndTime = time.Time{} }, "endtime is required"},
		{"fraction", func(p *EncASRepPart) { p.EndTime = p.EndTime.Add(time.Millisecond) }, "fractions"},
		{"year 10000", func(p *EncASRepPart) { p.RenewTill = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "year 10000"},
		{"last-req fraction", func(p *EncASRepPart) { p.LastReq[0].Value = p.LastReq[0].Value.Add(1) }, "fractions"},
		{"no srealm", func(p *EncASRepPart) { p.SRealm = "" }, "srealm"},
		{"no sname", func(p *EncASRepPart) { p.SName = PrincipalName{} }, "sname"},
		{"broken encrypted-pa-data", func(p *EncASRepPart) { p.EncryptedPAData = []byte{0x30} }, "encrypted-pa-data"},
	} {
		p := sampleEncPart()
		c.mod(p)
		_, err := p.Marshal()
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "kerbmsg: marshal EncASRepPart: ") {
			t.Errorf("%s: err = %v, want ...%s...", c.name, err, c.want)
		}
	}
}

func TestEncASRepPartMalformed(t *testing.T) {
	good, err := sampleEncPart().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	key := string(sampleEncPart().Key.KeyValue)
	sub := func(old, new string) []byte {
		if !bytes.Contains(good, []byte(old)) {
			t.Fatalf("%q not in the encoding", old)
		}
		return bytes.Replace(good, []byte(old), []byte(new), 1)
	}
	for _, c := range []struct {
		name string
		der  []byte
		want string
	}{
		{"trailing byte", append(append([]byte(nil), good...), 0), "trailing"},
		{"AS-REP tag", append([]byte{0x6b}, good[1:]...), "expected tag 0x79"},
		{"fraction of a second", sub("\xa5\x11\x18\x0f20261201080000Z", "\xa5\x11\x18\x0f2026120108000.Z"), "authtime [5]: not a KerberosTime"},
		{"local time", sub("\xa5\x11\x18\x0f20261201080000Z", "\xa5\x11\x18\x0f202612010800000"), "not a KerberosTime"},
		{"UTCTime", sub("\xa5\x11\x18\x0f20261201080000Z", "\xa5\x11\x17\x0f20261201080000Z"), "expected tag 0x18, found 0x17"},
		{"month 13", sub("\xa5\x11\x18\x0f20261201080000Z", "\xa5\x11\x18\x0f20261301080000Z"), "not a valid date"},
		{"second 60", sub("\xa5\x11\x18\x0f20261201080000Z", "\xa5\x11\x18\x0f20261201080060Z"), "not a valid date"},
		{"February 30", sub("\xa5\x11\x18\x0f20261201080000Z", "\xa5\x11\x18\x0f20260230080000Z"), "not a valid date"},
		{"year 1 zero time", sub("\xa5\x11\x18\x0f20261201080000Z", "\xa5\x11\x18\x0f00010101000000Z"), "not accepted"},
		{"flags of 24 bits", sub("\xa4\x07\x03\x05\x00\x40\x81\x00\x00", "\xa4\x07\x03\x05\x08\x40\x81\x00\x00"), "not a 32-bit BIT STRING"},
		{"keyvalue as GeneralString", sub("\xa1\x22\x04\x20", "\xa1\x22\x1b\x20"), "key: keyvalue [1]: expected tag 0x04"},
		{"no nonce", sub("\xa2\x06\x02\x04\x12\x34\x56\x78", "\xa3\x06\x02\x04\x12\x34\x56\x78"), "nonce [2]: expected tag 0xa2"},
	} {
		_, err := ParseEncASRepPart(c.der)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "kerbmsg: EncASRepPart: ") {
			t.Errorf("%s: err = %v, want ...%s...", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), key) {
			t.Errorf("%s: the error holds the key", c.name)
		}
	}
	for n := 0; n < len(good); n++ {
		if _, err := ParseEncASRepPart(good[:n]); err == nil {
			t.Fatalf("prefix of %d bytes accepted", n)
		}
	}
	// Windows writes some UInt32s as negative numbers: the same 32 bits.
	neg := bytes.Replace(good, []byte("\xa2\x06\x02\x04\x12\x34\x56\x78"), []byte("\xa2\x06\x02\x04\xf2\x34\x56\x78"), 1)
	p, err := ParseEncASRepPart(neg)
	if err != nil || p.Nonce != 0xf2345678 {
		t.Errorf("negative nonce: %#x, %v", p.Nonce, err)
	}
	// Written back unsigned, it takes five bytes and parses the same.
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("\xa2\x07\x02\x05\x00\xf2\x34\x56\x78")) {
		t.Error("nonce not written as an unsigned INTEGER")
	}
	if q, err := ParseEncASRepPart(b); err != nil || q.Nonce != p.Nonce {
		t.Errorf("re-parse: %v", err)
	}
}

// A caddr that is present but empty stays so through a round trip.
func TestEncASRepPartEmptyCAddr(t *testing.T) {
	p := sampleEncPart()
	p.CAddr = []HostAddress{}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte{0xab, 0x02, 0x30, 0x00}) {
		t.Fatal("empty caddr not written")
	}
	q, err := ParseEncASRepPart(b)
	if err != nil || q.CAddr == nil || len(q.CAddr) != 0 {
		t.Fatalf("caddr %v, %v", q.CAddr, err)
	}
	p.CAddr = nil
	b2, _ := p.Marshal()
	if bytes.Contains(b2, []byte{0xab, 0x02, 0x30, 0x00}) {
		t.Error("nil caddr written")
	}
}
