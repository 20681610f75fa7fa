package kerbmsg

import (
	"strings"
	"testing"
)

func TestPrincipalStrings(t *testing.T) {
	for _, c := range []struct {
		name  PrincipalName
		realm string
		want  string
	}{
		{PrincipalName{NameTypeEnterprise, []string{"user@contoso.com"}}, "KERBEROS.MICROSOFTONLINE.COM", `user\@contoso.com@KERBEROS.MICROSOFTONLINE.COM`},
		{PrincipalName{NameTypeSrvInst, []string{"krbtgt", "KERBEROS.MICROSOFTONLINE.COM"}}, "KERBEROS.MICROSOFTONLINE.COM", "krbtgt/KERBEROS.MICROSOFTONLINE.COM@KERBEROS.MICROSOFTONLINE.COM"},
		{PrincipalName{NameTypeSrvHst, []string{"cifs", "acct.file.core.windows.net"}}, "KERBEROS.MICROSOFTONLINE.COM", "cifs/acct.file.core.windows.net@KERBEROS.MICROSOFTONLINE.COM"},
		{PrincipalName{NameTypePrincipal, []string{"a/b"}}, "R", `a\/b@R`},
		{PrincipalName{NameTypePrincipal, []string{`back\slash`}}, "R", `back\\slash@R`},
		{PrincipalName{NameTypePrincipal, []string{"tab\there", "nl\n", "bs\b", "nul\x00"}}, "R", `tab\there/nl\n/bs\b/nul\0@R`},
		{PrincipalName{NameTypePrincipal, []string{"user"}}, "WEIRD@REALM/X", `user@WEIRD\@REALM\/X`},
		{PrincipalName{NameTypePrincipal, []string{"josé"}}, "R", "josé@R"},
	} {
		if got := FormatPrincipal(c.name, c.realm); got != c.want {
			t.Errorf("FormatPrincipal(%q, %q) = %q, want %q", c.name.NameString, c.realm, got, c.want)
		}
		n, realm, err := ParsePrincipal(c.want, c.name.NameType)
		if err != nil {
			t.Errorf("ParsePrincipal(%q): %v", c.want, err)
			continue
		}
		if realm != c.realm || n.NameType != c.name.NameType || !n.Equal(c.name) {
			t.Errorf("ParsePrincipal(%q) = %q, %q", c.want, n.NameString, realm)
		}
	}
	if s := (PrincipalName{NameString: []string{"cifs", "h"}}).String(); s != "cifs/h" {
		t.Errorf("String() = %q", s)
	}
}

func TestParsePrincipal(t *testing.T) {
	for _, c := range []struct {
		in    string
		comps []string
		realm string
	}{
		{"alice", []string{"alice"}, ""},
		{"alice@R", []string{"alice"}, "R"},
		{`a\@b@R`, []string{"a@b"}, "R"},
		{`a\x`, []string{"ax"}, ""}, // an escaped ordinary character is itself
		{`host/h.example@R/S`, []string{"host", "h.example"}, "R/S"},
		{`a@R\@S`, []string{"a"}, "R@S"},
	} {
		n, realm, err := ParsePrincipal(c.in, NameTypePrincipal)
		if err != nil || realm != c.realm || !sameStrings(n.NameString, c.comps) {
			t.Errorf("ParsePrincipal(%q) = %q, %q, %v", c.in, n.NameString, realm, err)
		}
	}
	for _, in := range []string{"", "@R", "a@", "a//b", "/a", "a/", `a\`, "a@R@S", "a/@R", strings.Repeat("x", maxStringLen+1)} {
		if _, _, err := ParsePrincipal(in, NameTypePrincipal); err == nil || !strings.HasPrefix(err.Error(), "kerbmsg: principal name: ") {
			t.Errorf("ParsePrincipal(%q): err = %v", in, err)
		}
	}
	if _, _, err := ParsePrincipal(strings.Repeat("a/", maxComponents)+"a", 1); err == nil {
		t.Error("too many components accepted")
	}
}

func TestPrincipalEqual(t *testing.T) {
	a := PrincipalName{NameTypeSrvInst, []string{"krbtgt", "R"}}
	b := PrincipalName{NameTypePrincipal, []string{"krbtgt", "R"}}
	c := PrincipalName{NameTypeSrvInst, []string{"krbtgt", "S"}}
	d := PrincipalName{NameTypeSrvInst, []string{"krbtgt"}}
	if !a.Equal(b) || a.Equal(c) || a.Equal(d) {
		t.Error("Equal")
	}
}
