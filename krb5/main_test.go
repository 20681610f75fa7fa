package krb5_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/smbkrb/smbkrb/internal/lab/labtool"
	"github.com/smbkrb/smbkrb/internal/lab/mitkdc"
	"github.com/smbkrb/smbkrb/krb5"
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
	dir, err := os.MkdirTemp("", "smbkrb-krb5-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	kdc, err := mitkdc.Start(filepath.Join(dir, "kdc"), mitkdc.Options{
		Realm:        "MITLAB.TEST",
		ExtraRealms:  []string{"OTHER.TEST"},
		DomainRealms: map[string]string{".other.test": "OTHER.TEST"},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot start the test KDC:", err)
		return 1
	}
	defer kdc.Close()
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
			fmt.Fprintln(os.Stderr, "cannot set up the test KDC:", err)
			return 1
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

func newContext(t testing.TB, cfg *krb5.Config) *krb5.Context {
	t.Helper()
	k, err := krb5.NewContext(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

func memCache(t testing.TB, k *krb5.Context) *krb5.CCache {
	t.Helper()
	cc, err := k.NewMemoryCCache()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Destroy() })
	return cc
}

func loginAlice(t testing.TB, k *krb5.Context, cc *krb5.CCache) {
	t.Helper()
	if _, err := k.GetInitCredsPassword(t.Context(), cc, alice, []byte(lab.alicePW), nil); err != nil {
		t.Fatal(err)
	}
}

// acceptor is a server context over keytab, without a replay cache.
func acceptor(t testing.TB, keytab string) *krb5.SecContext {
	t.Helper()
	acc, err := krb5.NewAcceptor("FILE:"+keytab, &krb5.AcceptorOptions{ReplayCache: "none:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { acc.Close() })
	return acc
}
