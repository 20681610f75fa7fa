package entratest_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/entra"
	"github.com/smbkrb/smbkrb/entra/entratest"
	"github.com/smbkrb/smbkrb/internal/lab/labtest"
	"github.com/smbkrb/smbkrb/internal/lab/testmain"
	"github.com/smbkrb/smbkrb/krb5"
)

// TestStart is the emulator from one call, as an outside user gets it:
// its own MIT KDC, a device registered through a device-code sign-in, a
// password sign-in whose cloud TGT is real, a service ticket for the SPN
// through the emulated tenant's KDC proxy (and AADSTS700016 for another
// one), and a keytab that accepts that ticket.
func TestStart(t *testing.T) {
	labtest.Need(t)
	const (
		upn = "alice@contoso.onmicrosoft.com"
		pw  = "Start-emulator-9"
		spn = "cifs/acct.file.core.windows.net"
	)
	srv, err := entratest.Start(t.TempDir(), entratest.Options{
		Users: []entratest.User{{UPN: upn, Password: pw}},
		SPNs:  []string{spn},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if _, err := entratest.Start(t.TempDir(), entratest.Options{KDCs: []string{"127.0.0.1:88"}}); err == nil {
		t.Error("Start took KDCs of the caller's")
	}

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c, err := entra.NewClient(srv.Config())
	if err != nil {
		t.Fatal(err)
	}
	code := regexp.MustCompile(`enter the code ([A-Z0-9]+)`)
	approved := make(chan error, 1)
	tok, err := c.DeviceCodeSignIn(ctx, func(msg string) {
		m := code.FindStringSubmatch(msg)
		if m == nil {
			approved <- errors.New("no user code in " + msg)
			return
		}
		go func() { approved <- srv.ApproveDeviceCode(m[1], upn) }()
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-approved; err != nil {
		t.Fatal(err)
	}
	d, err := c.Register(ctx, tok.AccessToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.SignInPassword(ctx, d, upn, []byte(pw))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	realm, err := c.Realm(ctx)
	if err != nil {
		t.Fatal(err)
	}
	k := testmain.Context(t, &krb5.Config{Realms: []krb5.Realm{realm}, HostRealms: entra.HostRealms(nil), RootCAs: srv.RootCAs})
	cc := testmain.MemoryCache(t, k)
	if err := s.StoreTGT(cc); err != nil {
		t.Fatal(err)
	}
	if !cc.HasTGT(entra.KerberosRealm, time.Now().Add(time.Minute)) {
		t.Fatal("no cloud TGT in the cache")
	}
	full := spn + "@" + entra.KerberosRealm
	if _, err := k.GetCredentials(ctx, cc, full); err != nil {
		t.Fatalf("service ticket through the KDC proxy: %v", err)
	}
	if _, err := k.GetCredentials(ctx, cc, "cifs/other.file.core.windows.net@"+entra.KerberosRealm); err == nil || !regexp.MustCompile(`AADSTS700016`).MatchString(err.Error()) {
		t.Errorf("an SPN without an application: %v, want AADSTS700016", err)
	}

	kt := filepath.Join(t.TempDir(), "acct.keytab")
	if err := srv.Keytab(kt, spn); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(kt); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("keytab: %v, %v", fi, err)
	}
	ini, err := k.NewInitiator(ctx, cc, spn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ini.Close()
	acc, err := k.NewAcceptor(kt, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer acc.Close()
	apReq, err := ini.Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	apRep, err := acc.Step(apReq)
	if err != nil {
		t.Fatalf("the keytab does not accept the emulator's ticket: %v", err)
	}
	if _, err := ini.Step(apRep); err != nil {
		t.Fatalf("mutual authentication: %v", err)
	}
}
