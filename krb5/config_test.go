package krb5

import (
	"strings"
	"testing"
)

func TestRealmForHost(t *testing.T) {
	c := &Config{HostRealms: []HostRealm{
		{Host: ".file.core.windows.net", Realm: "KERBEROS.MICROSOFTONLINE.COM"},
		{Host: "adds.file.core.windows.net", Realm: "CORP.CONTOSO.COM"},
		{Host: ".windows.net", Realm: "WIDE"},
	}}
	for host, want := range map[string]string{
		"acct.file.core.windows.net":  "KERBEROS.MICROSOFTONLINE.COM",
		"ACCT.File.Core.Windows.Net.": "KERBEROS.MICROSOFTONLINE.COM",
		"adds.file.core.windows.net":  "CORP.CONTOSO.COM",
		"file.core.windows.net":       "KERBEROS.MICROSOFTONLINE.COM",
		"blob.core.windows.net":       "WIDE",
		"evilfile.core.windows.net":   "WIDE",
		"example.com":                 "",
	} {
		if got := c.RealmForHost(host); got != want {
			t.Errorf("RealmForHost(%q) = %q, want %q", host, got, want)
		}
	}
}

func TestProfileHasNoInjection(t *testing.T) {
	for _, bad := range []string{"R\n[libdefaults]", "R = {", "R#x", "R;x", ""} {
		c := &Config{Realms: []Realm{{Name: bad, KDCs: []string{"kdc:88"}}}}
		if _, err := c.Profile(); err == nil {
			t.Errorf("realm %q accepted", bad)
		}
	}
	c := &Config{
		DefaultRealm:   "LAB.TEST",
		Realms:         []Realm{{Name: "LAB.TEST", KDCs: []string{"127.0.0.2", "[::1]:88", "https://p.example/kdc"}}},
		RenewLifetime:  3600e9,
		TicketLifetime: 7200e9,
		Enctypes:       []Enctype{AES256SHA1},
	}
	p, err := c.Profile()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{" default_realm = LAB.TEST\n", "  kdc = 127.0.0.2\n", "  kdc = [::1]:88\n", " ticket_lifetime = 7200\n", " renew_lifetime = 3600\n", " permitted_enctypes = aes256-cts-hmac-sha1-96\n"} {
		if !strings.Contains(p, want) {
			t.Errorf("profile lacks %q:\n%s", want, p)
		}
	}
	if ep, err := parseKDC("127.0.0.2"); err != nil || ep.tcp != "127.0.0.2:88" {
		t.Errorf("default port: %+v %v", ep, err)
	}
}

func TestEnctypeNames(t *testing.T) {
	if AES256SHA1.String() != "aes256-cts-hmac-sha1-96" || Enctype(99).String() != "enctype-99" {
		t.Error("enctype names")
	}
	if AES256SHA384.KeySize() != 32 || AES128SHA1.KeySize() != 16 {
		t.Error("key sizes")
	}
}
