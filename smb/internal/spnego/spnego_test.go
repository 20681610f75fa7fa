package spnego

import (
	"bytes"
	"encoding/asn1"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/smbkrb/smbkrb/internal/der"
)

func TestInitToken(t *testing.T) {
	tok, list, err := InitToken([]asn1.ObjectIdentifier{OIDKerberos}, []byte("ab"))
	if err != nil {
		t.Fatal(err)
	}
	// Worked out by hand from RFC 4178 4.2.1 and RFC 2743 3.1.
	want := "6021" + "06062b0601050502" + "a017" + "3015" + "a00d" + "300b06092a864886f712010202" + "a204" + "04026162"
	if hex.EncodeToString(tok) != want {
		t.Errorf("token %x\nwant  %s", tok, want)
	}
	if hex.EncodeToString(list) != "300b06092a864886f712010202" {
		t.Errorf("mechList %x", list)
	}
	if _, _, err := InitToken(nil, []byte("x")); err == nil {
		t.Error("an empty proposal is accepted")
	}
	// The server's hint has the same shape: it parses back.
	mechs, err := ParseInitHint(tok)
	if err != nil || len(mechs) != 1 || !mechs[0].Equal(OIDKerberos) {
		t.Errorf("ParseInitHint of our own token: %v %v", mechs, err)
	}
	// A large token takes long-form lengths.
	big := bytes.Repeat([]byte{7}, 3000)
	tok, _, _ = InitToken([]asn1.ObjectIdentifier{OIDKerberos, OIDNTLM}, big)
	if mechs, err := ParseInitHint(tok); err != nil || len(mechs) != 2 || !mechs[1].Equal(OIDNTLM) {
		t.Errorf("large token: %v %v", mechs, err)
	}
}

// sambaHint is a NegTokenInit shaped like the one Samba sends in its
// NEGOTIATE response: mechTypes, then negHints with hintName.
func sambaHint(oids ...asn1.ObjectIdentifier) []byte {
	var list []byte
	for _, o := range oids {
		b, _ := asn1.Marshal(o)
		list = append(list, b...)
	}
	hints := der.Append(nil, 0xa3, der.Append(nil, 0x30, der.Append(nil, 0xa0, der.Append(nil, 0x1b, []byte("not_defined_in_RFC4178@please_ignore")))))
	spnegoOID, _ := asn1.Marshal(OIDSPNEGO)
	return der.Append(nil, 0x60, spnegoOID, der.Append(nil, 0xa0, der.Append(nil, 0x30, der.Append(nil, 0xa0, der.Append(nil, 0x30, list)), hints)))
}

func TestParseInitHint(t *testing.T) {
	mechs, err := ParseInitHint(sambaHint(OIDMSKerberos, OIDKerberos, OIDNTLM))
	if err != nil || len(mechs) != 3 || !mechs[0].Equal(OIDMSKerberos) || !mechs[2].Equal(OIDNTLM) {
		t.Fatalf("%v %v", mechs, err)
	}
	if m, err := ParseInitHint(nil); m != nil || err != nil {
		t.Errorf("empty hint: %v %v", m, err)
	}
	good := sambaHint(OIDKerberos)
	for name, b := range map[string][]byte{
		"truncated":  good[:len(good)-5],
		"not spnego": bytes.Replace(good, []byte{0x2b, 6, 1, 5, 5, 2}, []byte{0x2b, 6, 1, 5, 5, 3}, 1),
		"wrong tag":  append([]byte{0x61}, good[1:]...),
		"garbage":    []byte{0x60, 0x84, 0xff, 0xff, 0xff, 0xff},
	} {
		if _, err := ParseInitHint(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestResp(t *testing.T) {
	in := &Resp{State: AcceptCompleted, SupportedMech: OIDKerberos, ResponseToken: []byte("ap-rep"), MechListMIC: []byte("mic")}
	b := RespToken(in)
	out, err := ParseResp(b)
	if err != nil {
		t.Fatal(err)
	}
	if out.State != 0 || !out.SupportedMech.Equal(OIDKerberos) || string(out.ResponseToken) != "ap-rep" || string(out.MechListMIC) != "mic" {
		t.Errorf("%+v", out)
	}
	// The client's second leg: state and MIC only.
	b = RespToken(&Resp{State: AcceptIncomplete, MechListMIC: []byte{1, 2}})
	if hex.EncodeToString(b) != "a10d300ba0030a0101a30404020102" {
		t.Errorf("second leg %x", b)
	}
	out, err = ParseResp(b)
	if err != nil || out.State != AcceptIncomplete || out.SupportedMech != nil || out.ResponseToken != nil || !bytes.Equal(out.MechListMIC, []byte{1, 2}) {
		t.Errorf("%+v %v", out, err)
	}
	empty, err := ParseResp(RespToken(&Resp{State: NegStateAbsent}))
	if err != nil || empty.State != NegStateAbsent {
		t.Errorf("no fields: %+v %v", empty, err)
	}
}

func TestParseRespErrors(t *testing.T) {
	field := func(n byte, inner []byte) []byte { return der.Append(nil, 0xa0+n, inner) }
	state := field(0, der.Append(nil, 0x0a, []byte{0}))
	tok := field(2, der.Append(nil, 0x04, []byte("x")))
	resp := func(fields ...[]byte) []byte { return der.Append(nil, 0xa1, der.Append(nil, 0x30, fields...)) }
	for name, b := range map[string][]byte{
		"empty":            nil,
		"trailing":         append(resp(state), 0),
		"out of order":     resp(tok, state),
		"repeated":         resp(state, state),
		"unknown field":    resp(field(5, []byte{5, 0})),
		"state 4":          resp(field(0, der.Append(nil, 0x0a, []byte{4}))),
		"state 2 bytes":    resp(field(0, der.Append(nil, 0x0a, []byte{0, 0}))),
		"bad oid":          resp(field(1, der.Append(nil, 0x06, []byte{0x80}))),
		"token not octets": resp(field(2, der.Append(nil, 0x02, []byte{1}))),
		"extra in field":   resp(field(3, append(der.Append(nil, 0x04, []byte{1}), 0))),
		"truncated":        resp(state, tok)[:8],
		"indefinite":       {0xa1, 0x80, 0, 0},
	} {
		if r, err := ParseResp(b); err == nil {
			t.Errorf("%s: accepted as %+v", name, r)
		}
	}
}

func TestCheckFinal(t *testing.T) {
	proposed := []asn1.ObjectIdentifier{OIDKerberos}
	for _, tc := range []struct {
		r      Resp
		mic    bool
		errHas string
	}{
		{Resp{State: AcceptCompleted, SupportedMech: OIDKerberos}, false, ""},
		{Resp{State: AcceptCompleted, SupportedMech: OIDMSKerberos, MechListMIC: []byte{1}}, true, ""},
		{Resp{State: AcceptCompleted}, false, ""},
		{Resp{State: AcceptCompleted, SupportedMech: OIDNTLM}, false, "not proposed"},
		{Resp{State: Reject}, false, "negState 2"},
		{Resp{State: AcceptIncomplete}, false, "negState 1"},
		{Resp{State: NegStateAbsent}, false, "no negState"},
	} {
		mic, err := CheckFinal(&tc.r, proposed)
		if tc.errHas == "" && (err != nil || mic != tc.mic) {
			t.Errorf("%+v: %v %v", tc.r, mic, err)
		}
		if tc.errHas != "" && (err == nil || !strings.Contains(err.Error(), tc.errHas)) {
			t.Errorf("%+v: %v, want an error with %q", tc.r, err, tc.errHas)
		}
	}
}

func FuzzParseResp(f *testing.F) {
	f.Add(RespToken(&Resp{State: AcceptCompleted, SupportedMech: OIDKerberos, ResponseToken: []byte("ap-rep"), MechListMIC: []byte("mic")}))
	f.Add([]byte{0xa1, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseResp(b)
		if err != nil {
			return
		}
		// What parses re-encodes to the same bytes (DER is canonical).
		if again := RespToken(r); !bytes.Equal(again, b) {
			t.Fatalf("%x parses to %+v, which encodes as %x", b, r, again)
		}
	})
}

func FuzzParseInitHint(f *testing.F) {
	f.Add(sambaHint(OIDMSKerberos, OIDKerberos, OIDNTLM))
	tok, _, _ := InitToken([]asn1.ObjectIdentifier{OIDKerberos}, []byte("x"))
	f.Add(tok)
	f.Fuzz(func(t *testing.T, b []byte) {
		mechs, err := ParseInitHint(b)
		if err == nil && len(mechs) > 32 {
			t.Fatal("more than 32 mechanisms")
		}
	})
}
