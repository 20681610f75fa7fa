package kerbmsg

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

// hx decodes hex with spaces, for DER written out by hand.
func hx(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// A Ticket and an AS-REP written out by hand from RFC 4120 section 5.
var (
	// Ticket: realm "R", sname krbtgt/R (NT-SRV-INST), enc-part etype 18,
	// kvno 1, cipher "abc".
	handTicket = cat(
		hx("61 39  30 37"),
		hx("a0 03 02 01 05"),
		hx("a1 03 1b 01"), []byte("R"),
		hx("a2 16  30 14  a0 03 02 01 02  a1 0d 30 0b  1b 06"), []byte("krbtgt"), hx("1b 01"), []byte("R"),
		hx("a3 13  30 11  a0 03 02 01 12  a1 03 02 01 01  a2 05 04 03"), []byte("abc"),
	)
	// AS-REP: no padata, crealm "R", cname NT-ENTERPRISE user@contoso.com,
	// the ticket above, enc-part etype 18 without kvno, cipher "xyz".
	handFront = cat(
		hx("a0 03 02 01 05"),
		hx("a1 03 02 01 0b"),
		hx("a3 03 1b 01"), []byte("R"),
		hx("a4 1d  30 1b  a0 03 02 01 0a  a1 14 30 12  1b 10"), []byte("user@contoso.com"),
	)
	handEncPart = cat(hx("a6 0e  30 0c  a0 03 02 01 12  a2 05 04 03"), []byte("xyz"))
	handASRep   = cat(hx("6b 7d  30 7b"), handFront, hx("a5 3b"), handTicket, handEncPart)
)

func TestHandASRep(t *testing.T) {
	r, err := ParseASRep(handASRep)
	if err != nil {
		t.Fatal(err)
	}
	if r.CRealm != "R" || r.CName.NameType != NameTypeEnterprise || len(r.CName.NameString) != 1 || r.CName.NameString[0] != "user@contoso.com" {
		t.Errorf("client %+v @ %q", r.CName, r.CRealm)
	}
	if got := r.Client(); got != `user\@contoso.com@R` {
		t.Errorf("Client() = %q", got)
	}
	if r.PAData != nil {
		t.Errorf("padata %x, want absent", r.PAData)
	}
	if !bytes.Equal(r.Ticket, handTicket) {
		t.Errorf("ticket bytes differ")
	}
	if r.EncPart.EType != 18 || r.EncPart.KVNO != nil || string(r.EncPart.Cipher) != "xyz" {
		t.Errorf("enc-part %+v", r.EncPart)
	}
	again, err := r.Marshal()
	if err != nil || !bytes.Equal(again, handASRep) {
		t.Errorf("Marshal = %x, %v; want the input back", again, err)
	}
	tk, err := ParseTicket(r.Ticket)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Server() != "krbtgt/R@R" || tk.SName.NameType != NameTypeSrvInst || tk.EncPart.KVNO == nil || *tk.EncPart.KVNO != 1 {
		t.Errorf("ticket %+v", tk)
	}
	if b, err := tk.Marshal(); err != nil || !bytes.Equal(b, handTicket) {
		t.Errorf("Ticket.Marshal = %x, %v", b, err)
	}
	// The decoded message does not share memory with the input.
	in := append([]byte(nil), handASRep...)
	r2, _ := ParseASRep(in)
	for i := range in {
		in[i] = 0
	}
	if r2.Ticket[0] != 0x61 || r2.EncPart.Cipher[0] != 'x' {
		t.Error("result aliases the input")
	}
}

// replace returns b with the first occurrence of old replaced by new.
func replace(b []byte, old, new string) []byte {
	o, n := hx(old), hx(new)
	i := bytes.Index(b, o)
	if i < 0 {
		panic("pattern " + old + " not found")
	}
	return cat(b[:i], n, b[i+len(o):])
}

func TestASRepMalformed(t *testing.T) {
	krbError := hx("7e 03 30 01 00")
	for _, c := range []struct {
		name string
		der  []byte
		want string
	}{
		{"empty", nil, "missing"},
		{"trailing byte", append(append([]byte(nil), handASRep...), 0), "trailing"},
		{"truncated", handASRep[:len(handASRep)-1], "truncated"},
		{"KRB-ERROR", krbError, "KRB-ERROR, not an AS-REP"},
		{"TGS-REP", append([]byte{0x6d}, handASRep[1:]...), "TGS-REP"},
		{"indefinite length", cat(hx("6b 80"), handASRep[2:], hx("00 00")), "indefinite"},
		{"non-minimal long length", cat(hx("6b 81 7d"), handASRep[2:]), "not DER"},
		{"length with a leading zero", cat(hx("6b 82 00 7d"), handASRep[2:]), "leading zero"},
		{"pvno 4", replace(handASRep, "a0 03 02 01 05 a1 03 02 01 0b", "a0 03 02 01 04 a1 03 02 01 0b"), "pvno is 4"},
		{"msg-type 13", replace(handASRep, "a1 03 02 01 0b", "a1 03 02 01 0d"), "msg-type is 13"},
		{"pvno not minimal", replace(handASRep, "6b 7d 30 7b a0 03 02 01 05", "6b 7e 30 7c a0 04 02 02 00 05"), "not minimally encoded"},
		{"crealm as UTF8String", replace(handASRep, "a3 03 1b 01", "a3 03 0c 01"), "crealm [3]: expected tag 0x1b, found 0x0c"},
		{"crealm empty", replace(replace(handASRep, "6b 7d 30 7b", "6b 7c 30 7a"), "a3 03 1b 01 52", "a3 02 1b 00"), "empty realm"},
		{"cname without components", replace(replace(handASRep, "6b 7d 30 7b", "6b 6b 30 69"), "a4 1d 30 1b a0 03 02 01 0a a1 14 30 12 1b 10 75736572 40 636f6e746f736f2e636f6d", "a4 0b 30 09 a0 03 02 01 0a a1 02 30 00"), "no components"},
		{"name-type too big", replace(handASRep, "6b 7d 30 7b a0 03 02 01 05 a1 03 02 01 0b a3 03 1b 01 52 a4 1d 30 1b a0 03 02 01 0a", "6b 81 81 30 7f a0 03 02 01 05 a1 03 02 01 0b a3 03 1b 01 52 a4 21 30 1f a0 07 02 05 01 00 00 00 00"), "does not fit in 32 bits"},
		{"fields out of order", replace(handASRep, "a3 03 1b 01 52", "a2 03 1b 01 52"), "padata [2]: expected tag 0x30"},
		{"unknown field [7]", cat(replace(handASRep, "6b 7d 30 7b", "6b 81 81 30 7f"), hx("a7 02 05 00")), "unexpected tag 0xa7"},
		{"ticket not APPLICATION 1", replace(handASRep, "a5 3b 61 39", "a5 3b 62 39"), "ticket [5]: expected tag 0x61"},
		{"ticket tkt-vno 4", replace(handASRep, "61 39 30 37 a0 03 02 01 05", "61 39 30 37 a0 03 02 01 04"), "tkt-vno is 4"},
		{"ticket with a byte after it in [5]", cat(hx("6b 7e 30 7c"), handFront, hx("a5 3c"), handTicket, hx("00"), handEncPart), "ticket [5]: 1 bytes after the value"},
		{"enc-part before ticket", cat(hx("6b 7d 30 7b"), handFront, handEncPart, hx("a5 3b"), handTicket), "ticket [5]: expected tag 0xa5, found 0xa6"},
		{"enc-part without cipher", replace(replace(handASRep, "6b 7d 30 7b", "6b 76 30 74"), "a6 0e 30 0c a0 03 02 01 12 a2 05 04 03 78797a", "a6 07 30 05 a0 03 02 01 12"), "cipher [2]: missing"},
		{"cipher as a constructed OCTET STRING", replace(handASRep, "a2 05 04 03 78797a", "a2 05 24 03 78797a"), "expected tag 0x04, found 0x24"},
		{"length of 4 bytes", cat(hx("6b 84 00 00 00 7d"), handASRep[2:]), "too large"},
	} {
		_, err := ParseASRep(c.der)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "kerbmsg: AS-REP: ") {
			t.Errorf("%s: err = %v, want kerbmsg: AS-REP: ...%s...", c.name, err, c.want)
		}
	}
	for n := 0; n < len(handASRep); n++ {
		if _, err := ParseASRep(handASRep[:n]); err == nil {
			t.Fatalf("prefix of %d bytes accepted", n)
		}
	}
	// Every single-byte change either fails or re-encodes to itself.
	for i := range handASRep {
		for _, x := range []byte{0x01, 0x80, 0xff} {
			b := append([]byte(nil), handASRep...)
			b[i] ^= x
			r, err := ParseASRep(b)
			if err != nil {
				continue
			}
			if again, err := r.Marshal(); err != nil || !bytes.Equal(again, b) {
				t.Fatalf("byte %d ^ %#x: parsed but re-encodes differently (%v)", i, x, err)
			}
		}
	}
}

func TestASRepMarshalChecks(t *testing.T) {
	r, err := ParseASRep(handASRep)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		mod  func(*ASRep)
	}{
		{"no realm", func(r *ASRep) { r.CRealm = "" }},
		{"no cname", func(r *ASRep) { r.CName.NameString = nil }},
		{"no ticket", func(r *ASRep) { r.Ticket = nil }},
		{"broken ticket", func(r *ASRep) { r.Ticket = r.Ticket[:10] }},
		{"broken padata", func(r *ASRep) { r.PAData = []byte{0x30, 0x01} }},
		{"long realm", func(r *ASRep) { r.CRealm = strings.Repeat("R", maxStringLen+1) }},
	} {
		x := *r
		c.mod(&x)
		if _, err := x.Marshal(); err == nil || !strings.HasPrefix(err.Error(), "kerbmsg: marshal AS-REP: ") {
			t.Errorf("%s: err = %v", c.name, err)
		}
	}
	// padata given as PA-DATA values goes in as DER.
	x := *r
	x.PAData = MarshalPAData([]PAData{{Type: 19, Value: []byte{0x30, 0}}})
	b, err := x.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	y, err := ParseASRep(b)
	if err != nil {
		t.Fatal(err)
	}
	pa, err := ParsePAData(y.PAData)
	if err != nil || len(pa) != 1 || pa[0].Type != 19 || !bytes.Equal(pa[0].Value, []byte{0x30, 0}) {
		t.Errorf("padata %+v, %v", pa, err)
	}
}

func TestParseTicketStandalone(t *testing.T) {
	if _, err := ParseTicket(append(append([]byte(nil), handTicket...), 0)); err == nil || !strings.HasPrefix(err.Error(), "kerbmsg: Ticket: ") {
		t.Errorf("trailing byte: %v", err)
	}
	if _, err := ParseTicket(handASRep); err == nil {
		t.Error("an AS-REP parsed as a Ticket")
	}
	if _, err := (&Ticket{SName: PrincipalName{NameString: []string{"k"}}}).Marshal(); err == nil {
		t.Error("Ticket without a realm marshalled")
	}
}

// A kvno written as a negative number (as Windows may) is the same 32 bits,
// written back unsigned.
func TestASRepNegativeKVNO(t *testing.T) {
	seq := cat(handFront, hx("a5 3b"), handTicket,
		hx("a6 13  30 11  a0 03 02 01 12  a1 03 02 01 ff  a2 05 04 03"), []byte("xyz"))
	if len(seq) != 0x80 {
		t.Fatalf("%d bytes", len(seq))
	}
	b := cat(hx("6b 81 83  30 81 80"), seq)
	r, err := ParseASRep(b)
	if err != nil {
		t.Fatal(err)
	}
	if r.EncPart.KVNO == nil || *r.EncPart.KVNO != 0xffffffff {
		t.Fatalf("kvno %v", r.EncPart.KVNO)
	}
	again, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(again, hx("a1 07 02 05 00 ff ff ff ff")) {
		t.Errorf("kvno not written unsigned: %x", again)
	}
}

func TestMarshalTooLarge(t *testing.T) {
	r, err := ParseASRep(handASRep)
	if err != nil {
		t.Fatal(err)
	}
	r.EncPart.Cipher = make([]byte, maxMessageLen)
	if _, err := r.Marshal(); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("oversized AS-REP: %v", err)
	}
	p := sampleEncPart()
	p.Key.KeyValue = make([]byte, 17<<20) // past 3-byte lengths too
	if _, err := p.Marshal(); err == nil {
		t.Error("oversized EncASRepPart marshalled")
	}
	if _, err := ParseASRep(make([]byte, maxMessageLen+1)); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("oversized input: %v", err)
	}
}
