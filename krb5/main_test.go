package krb5_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/smbkrb/smbkrb/internal/lab/labtool"
	"github.com/smbkrb/smbkrb/internal/lab/mitkdc"
	"github.com/smbkrb/smbkrb/internal/lab/testmain"
	"github.com/smbkrb/smbkrb/krb5"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
)

// The tests share one throwaway MIT KDC (about 75 ms to start) with
// principals and keytabs made at run time.
var lab struct {
	kdc        *mitkdc.KDC
	realm      string
	alicePW    string
	svcKeytab  string // keys of svc/login.mitlab.test
	cifsKeytab string // keys of cifs/fs1.mitlab.test
	fs2Keytab  string // keys of cifs/fs2.other.test@OTHER.TEST
}

const (
	alice    = "alice@MITLAB.TEST"
	svcLogin = "svc/login.mitlab.test@MITLAB.TEST"
	cifsSPN  = "cifs/fs1.mitlab.test"
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if labtest.Short() {
		return m.Run() // the fast tier: no lab
	}
	l, err := testmain.New("krb5", testmain.Options{})
	if err != nil {
		return testmain.Fail("krb5", "temporary directory", err)
	}
	defer l.Close()
	dir := l.Dir
	kdc, err := mitkdc.Start(filepath.Join(dir, "kdc"), mitkdc.Options{
		Realm:        "MITLAB.TEST",
		ExtraRealms:  []string{"OTHER.TEST"},
		DomainRealms: map[string]string{".other.test": "OTHER.TEST"},
	})
	if err != nil {
		return l.Fail("MIT KDC", err)
	}
	l.Defer(func() { kdc.Close() })
	lab.kdc = kdc
	lab.realm = kdc.Realm
	lab.alicePW = labtool.Password()
	lab.svcKeytab = filepath.Join(dir, "svc.keytab")
	lab.cifsKeytab = filepath.Join(dir, "cifs.keytab")
	lab.fs2Keytab = filepath.Join(dir, "fs2.keytab")
	trustPW := labtool.Password()
	steps := []func() error{
		func() error { return kdc.AddPrincipal("alice", lab.alicePW) },
		func() error { _, err := kdc.Kadmin("modprinc +requires_preauth alice"); return err },
		// MIT's db2 back end has no UPN aliases: a principal whose name is
		// the enterprise name itself lets the NT-ENTERPRISE path run end to
		// end. (UPN-to-account canonicalization is tested against Samba.)
		func() error { return kdc.AddPrincipal(`bob\@upn.example`, lab.alicePW) },
		func() error { return kdc.AddRandomKey("svc/login.mitlab.test") },
		func() error { return kdc.AddRandomKey(cifsSPN) },
		func() error { return kdc.Keytab(lab.svcKeytab, "svc/login.mitlab.test") },
		func() error { return kdc.Keytab(lab.cifsKeytab, cifsSPN) },
		// A one-way trust: MITLAB.TEST users reach OTHER.TEST services.
		func() error {
			_, err := kdc.Kadmin(fmt.Sprintf("addprinc -pw %s krbtgt/OTHER.TEST@MITLAB.TEST", trustPW))
			return err
		},
		func() error {
			_, err := kdc.KadminRealm("OTHER.TEST", fmt.Sprintf("addprinc -pw %s krbtgt/OTHER.TEST@MITLAB.TEST", trustPW))
			return err
		},
		func() error {
			_, err := kdc.KadminRealm("OTHER.TEST", "addprinc -randkey cifs/fs2.other.test@OTHER.TEST")
			return err
		},
		func() error {
			_, err := kdc.KadminRealm("OTHER.TEST", "ktadd -norandkey -k "+lab.fs2Keytab+" cifs/fs2.other.test@OTHER.TEST")
			return err
		},
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return l.Fail("setting up the MIT KDC", err)
		}
	}
	return m.Run()
}

// labConfig is a Config for the test KDC over TCP.
func labConfig() *krb5.Config {
	return &krb5.Config{
		Realms: []krb5.Realm{
			{Name: lab.realm, KDCs: []string{lab.kdc.Addr}},
			{Name: "OTHER.TEST", KDCs: []string{lab.kdc.Addr}},
		},
		HostRealms: []krb5.HostRealm{{Host: ".mitlab.test", Realm: lab.realm}},
	}
}

func loginAlice(t testing.TB, k *krb5.Context, cc *krb5.CCache) {
	t.Helper()
	if _, err := k.GetInitCredsPassword(t.Context(), cc, alice, []byte(lab.alicePW), nil); err != nil {
		t.Fatal(err)
	}
}

// acceptor is a server context over keytab, without a replay cache, in a
// Context of the lab's configuration.
func acceptor(t testing.TB, keytab string) *krb5.SecContext {
	t.Helper()
	acc, err := testmain.Context(t, labConfig()).NewAcceptor("FILE:"+keytab, &krb5.AcceptorOptions{ReplayCache: "none:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { acc.Close() })
	return acc
}
