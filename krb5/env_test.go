package krb5_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/labtool"
	"github.com/smbkrb/smbkrb/internal/lab/mitkdc"
	"github.com/smbkrb/smbkrb/internal/lab/testmain"
	"github.com/smbkrb/smbkrb/krb5"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
)

// TestUseEnvironment: with UseEnvironment the caller's KRB5_CONFIG and
// KRB5CCNAME are honoured, and MIT itself reaches the KDC of a realm the Go
// configuration does not list. Without it, neither is looked at.
func TestUseEnvironment(t *testing.T) {
	labtest.Need(t)
	path := filepath.Join(t.TempDir(), "cc")
	mitTool(t, "FILE:"+path, lab.alicePW+"\n", "kinit", alice)
	t.Setenv("KRB5_CONFIG", lab.kdc.ClientConfig)
	t.Setenv("KRB5CCNAME", "FILE:"+path)

	strict := testmain.Context(t, &krb5.Config{})
	if _, err := strict.DefaultCCache(); err == nil {
		t.Fatal("DefaultCCache honoured KRB5CCNAME without UseEnvironment")
	}
	cc0 := testmain.MemoryCache(t, strict)
	if _, err := strict.GetInitCredsPassword(t.Context(), cc0, alice, []byte(lab.alicePW), nil); !errors.Is(err, krb5.ErrNoKDC) {
		t.Fatalf("without UseEnvironment the KDC of KRB5_CONFIG was used: %v", err)
	}

	k := testmain.Context(t, &krb5.Config{UseEnvironment: true})
	cc, err := k.DefaultCCache()
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	if cc.Name() != "FILE:"+path {
		t.Errorf("default cache %q, want KRB5CCNAME's", cc.Name())
	}
	if p, _ := cc.Principal(); p != alice {
		t.Errorf("principal %q", p)
	}
	// MITLAB.TEST is only in KRB5_CONFIG: MIT sends the TGS-REQ itself.
	if _, err := k.GetCredentials(t.Context(), cc, cifsSPN+"@MITLAB.TEST"); err != nil {
		t.Fatal(err)
	}
}

// TestClockSkew runs a KDC an hour ahead. MIT's kdc_timesync (on by
// default: boards without a real-time clock depend on it) lets the login
// succeed and records the offset in the cache; a server on the real clock
// then rejects the authenticator as skewed.
func TestClockSkew(t *testing.T) {
	labtest.Need(t)
	kdc, err := mitkdc.Start(filepath.Join(t.TempDir(), "kdc"), mitkdc.Options{Realm: "SKEW.TEST", ClockOffset: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer kdc.Close()
	pw := labtool.Password()
	keytab := filepath.Join(t.TempDir(), "skew.keytab")
	if err := kdc.AddPrincipal("dave", pw); err != nil {
		t.Fatal(err)
	}
	if _, err := kdc.Kadmin("modprinc +requires_preauth dave"); err != nil {
		t.Fatal(err)
	}
	if err := kdc.AddRandomKey("cifs/fs.skew.test"); err != nil {
		t.Fatal(err)
	}
	if err := kdc.Keytab(keytab, "cifs/fs.skew.test"); err != nil {
		t.Fatal(err)
	}
	k := testmain.Context(t, &krb5.Config{Realms: []krb5.Realm{{Name: "SKEW.TEST", KDCs: []string{kdc.Addr}}}})
	cc := testmain.MemoryCache(t, k)
	_, err = k.GetInitCredsPassword(t.Context(), cc, "dave@SKEW.TEST", []byte(pw), nil)
	if err != nil {
		if !errors.Is(err, krb5.ErrClockSkew) || !strings.Contains(err.Error(), "clock") {
			t.Fatalf("login against a KDC an hour ahead: %v", err)
		}
		return
	}
	ini, err := k.NewInitiator(t.Context(), cc, "cifs/fs.skew.test@SKEW.TEST", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ini.Close()
	acc := acceptor(t, keytab)
	apreq, err := ini.Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = acc.Step(apreq)
	if !errors.Is(err, krb5.ErrClockSkew) {
		t.Fatalf("acceptor on the real clock: err = %v, want ErrClockSkew", err)
	}
	if !strings.Contains(err.Error(), "clock") {
		t.Errorf("message does not mention the clock: %v", err)
	}
}
