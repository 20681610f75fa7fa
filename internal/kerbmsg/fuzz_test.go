package kerbmsg

import (
	"bytes"
	"reflect"
	"testing"
)

// The fuzz targets check that no input makes a decoder panic, and that
// whatever decodes re-encodes consistently.

func FuzzParseASRep(f *testing.F) {
	f.Add(handASRep)
	f.Add(handTicket)
	for _, c := range loadVectors(f).ASRep {
		f.Add(unhex(f, c.DER))
	}
	f.Add([]byte{0x7e, 0x03, 0x30, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseASRep(b)
		if err != nil {
			if r != nil {
				t.Fatal("result with an error")
			}
			return
		}
		// The Ticket and padata are kept as they came, so DER in means
		// DER out, except for an enc-part kvno written as a negative
		// number (Windows), which comes back unsigned with its value.
		again, err := r.Marshal()
		if err != nil {
			t.Fatalf("parsed but does not marshal: %v", err)
		}
		if !bytes.Equal(again, b) {
			if r.EncPart.KVNO == nil || *r.EncPart.KVNO < 1<<31 {
				t.Fatalf("re-encoding differs:\n in %x\nout %x", b, again)
			}
			r2, err := ParseASRep(again)
			if err != nil || !reflect.DeepEqual(r, r2) {
				t.Fatalf("re-encoding changed the values: %v", err)
			}
		}
		if _, err := ParseTicket(r.Ticket); err != nil {
			t.Fatalf("kept a ticket that does not parse: %v", err)
		}
		_ = r.Client()
	})
}

func FuzzParseEncASRepPart(f *testing.F) {
	good, err := sampleEncPart().Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	for _, c := range loadVectors(f).EncPart {
		f.Add(unhex(f, c.DER))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseEncASRepPart(b)
		if err != nil {
			return
		}
		again, err := p.Marshal()
		if err != nil {
			t.Fatalf("parsed but does not marshal: %v", err)
		}
		// UInt32s written negative come back unsigned, and tag 26 comes
		// back as 25; otherwise the bytes are the input's. Either way the
		// values survive, and a second round is exact.
		q, err := ParseEncASRepPart(again)
		if err != nil {
			t.Fatalf("re-encoding does not parse: %v", err)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("values changed:\n%+v\n%+v", p, q)
		}
		third, err := q.Marshal()
		if err != nil || !bytes.Equal(third, again) {
			t.Fatalf("second round differs: %v", err)
		}
	})
}

func FuzzParsePrincipal(f *testing.F) {
	for _, s := range []string{`user\@contoso.com@KERBEROS.MICROSOFTONLINE.COM`, "krbtgt/R@R", `a\/b\\c\0\t\n\b@R\@S`, "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, realm, err := ParsePrincipal(s, NameTypePrincipal)
		if err != nil {
			return
		}
		// The canonical form parses back to the same name.
		var out string
		if realm == "" {
			out = n.String()
		} else {
			out = FormatPrincipal(n, realm)
		}
		n2, realm2, err := ParsePrincipal(out, NameTypePrincipal)
		if err != nil || realm2 != realm || !n2.Equal(n) {
			t.Fatalf("%q -> %q -> %q@%q, %v", s, out, n2.NameString, realm2, err)
		}
	})
}

// FuzzErrorText: any input gives a text, ErrNotKRBError or an error,
// never a panic, and a text within the bound.
func FuzzErrorText(f *testing.F) {
	f.Add(krbError(stringElement("AADSTS700016: not found"), true))
	f.Add(krbError(nil, false))
	f.Add([]byte{0x7e, 0x03, 0x30, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		text, err := ErrorText(b)
		if err == nil && len(text) > maxStringLen {
			t.Fatalf("e-text of %d bytes", len(text))
		}
	})
}
