package smb

import (
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/smbkrb/smbkrb/smb/internal/smb2"

	"github.com/smbkrb/smbkrb/internal/lab/kdcproxy"
	"github.com/smbkrb/smbkrb/internal/lab/labtool"
	"github.com/smbkrb/smbkrb/internal/lab/netns"
	"github.com/smbkrb/smbkrb/internal/lab/samba"
	"github.com/smbkrb/smbkrb/internal/lab/testmain"
	"github.com/smbkrb/smbkrb/krb5"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
)

// The loopback addresses of this package's DCs; other test packages, which
// run at the same time, use others (internal/lab/samba uses .20 and .21).
const (
	labAddr   = "127.0.0.4"
	aaddsAddr = "127.0.0.5"
	skewAddr  = "127.0.0.8"
)

// lab is this package's lab: the AD DS realm's DC (also reachable from the
// client namespace ns, whose port 88 is rejected, and through the KDC
// proxy), and the Entra Domain Services realm's DC.
var lab struct {
	dc    *samba.DC
	user  string
	pw    string
	aadds *samba.DC
	ns    *netns.NS
	proxy *kdcproxy.Proxy
	dir   string
}

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	if labtest.Short() {
		return m.Run() // the fast tier: no lab
	}
	l, err := testmain.New("smb", testmain.Options{})
	if err != nil {
		return testmain.Fail("smb", "temporary directory", err)
	}
	defer l.Close()
	lab.dir = l.Dir
	if lab.ns, err = l.Namespace(); err != nil {
		return l.Fail("lab", err)
	}
	lab.user, lab.pw = "smbuser", labtool.Password()
	users := map[string]string{lab.user: lab.pw}
	dcs, err := l.DCs(
		testmain.DC{Name: "dc1", Options: samba.Options{Realm: "LAB.TEST", Domain: "LAB", HostName: "dc1", Addr: labAddr, ExtraAddrs: []string{lab.ns.HostAddr}}, Users: users},
		testmain.DC{Name: "aadds", Options: samba.Options{Realm: "AADDS.TEST", Domain: "AADDS", HostName: "dc1", Addr: aaddsAddr}, Users: users},
	)
	if err != nil {
		return l.Fail("lab", err)
	}
	lab.dc, lab.aadds = dcs[0], dcs[1]
	proxy, err := kdcproxy.Start(net.JoinHostPort(lab.ns.HostAddr, "0"), map[string][]string{lab.dc.Realm: {net.JoinHostPort(lab.dc.Addr, "88")}})
	if err != nil {
		return l.Fail("KDC proxy", err)
	}
	l.Defer(func() { proxy.Close() })
	lab.proxy = proxy
	return m.Run()
}

// labKerberos is a library context for the DC's realm, with the KDC over
// TCP, and an empty memory cache; both are released by the test's cleanup.
func labKerberos(t *testing.T) (*krb5.Context, *krb5.CCache) {
	t.Helper()
	return dcKerberos(t, lab.dc, nil)
}

// dcKerberos is a library context for dc's realm (its KDC over TCP), with
// cfg's other settings, and an empty memory cache; both are released by
// the test's cleanup.
func dcKerberos(t *testing.T, dc *samba.DC, cfg *krb5.Config) (*krb5.Context, *krb5.CCache) {
	t.Helper()
	c := krb5.Config{}
	if cfg != nil {
		c = *cfg
	}
	c.Realms = []krb5.Realm{{Name: dc.Realm, KDCs: []string{net.JoinHostPort(dc.Addr, "88")}}}
	c.HostRealms = []krb5.HostRealm{{Host: "." + strings.ToLower(dc.Realm), Realm: dc.Realm}}
	k, err := krb5.NewContext(&c)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := k.NewMemoryCCache()
	if err != nil {
		k.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Destroy(); k.Close() })
	return k, cc
}

// TestKerberosSessionAgainstSamba runs the engine's session setup with
// the MIT GSS initiator against a real Samba AD DC whose NTLM is disabled:
// a session proves Kerberos worked end to end (SPNEGO, the AP-REP, the
// mechListMIC and the final response's signature), and byte-exact file
// I/O on the signed and the encrypted share proves the derived keys are
// right.
func TestKerberosSessionAgainstSamba(t *testing.T) {
	labtest.Need(t)
	k, cc := labKerberos(t)
	if _, err := k.GetInitCredsPassword(t.Context(), cc, lab.user+"@"+lab.dc.Realm, []byte(lab.pw), nil); err != nil {
		t.Fatal(err)
	}
	for _, share := range []string{"signed", "encrypted"} {
		t.Run(share, func(t *testing.T) {
			sc, err := k.NewInitiator(t.Context(), cc, "cifs/"+lab.dc.FQDN, nil)
			if err != nil {
				t.Fatal(err)
			}
			ini := newGSSInitiator(sc)
			defer ini.close()
			tcp, err := net.Dial("tcp", net.JoinHostPort(lab.dc.Addr, "445"))
			if err != nil {
				t.Fatal(err)
			}
			conn, err := smb2.Dial(t.Context(), tcp, lab.dc.FQDN, nil)
			if err != nil {
				t.Fatalf("negotiate: %v", err)
			}
			defer conn.Close()
			s, err := conn.SessionSetup(t.Context(), ini)
			if err != nil {
				t.Fatalf("session setup: %v (GSS: %v)", err, ini.failure())
			}
			defer s.Logoff(t.Context())
			tree, err := s.TreeConnect(t.Context(), `\\`+lab.dc.FQDN+`\`+share)
			if err != nil {
				t.Fatal(err)
			}
			defer tree.Disconnect(t.Context())
			if tree.Encrypt != (share == "encrypted") {
				t.Errorf("tree encrypted = %v", tree.Encrypt)
			}
			data := make([]byte, 3<<20+17)
			rand.Read(data)
			r, err := openFile(t.Context(), tree, "probe.bin", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			fid := r.FileID
			if n, err := writeFull(t.Context(), tree, fid, data, 0); err != nil || n != len(data) {
				t.Fatalf("write: %d, %v", n, err)
			}
			if err := tree.Close(t.Context(), fid); err != nil {
				t.Fatal(err)
			}
			if r, err = openFile(t.Context(), tree, "probe.bin", os.O_RDONLY, 0, nil); err != nil {
				t.Fatal(err)
			}
			fid = r.FileID
			got := make([]byte, len(data)+100)
			n, err := readFull(t.Context(), tree, fid, got, 0)
			if err != io.EOF || n != len(data) || !bytes.Equal(got[:n], data) {
				t.Fatalf("read back %d bytes (%v), equal %v", n, err, bytes.Equal(got[:min(n, len(data))], data[:min(n, len(data))]))
			}
			tree.Close(t.Context(), fid)
			if err := remove(t.Context(), tree, "probe.bin"); err != nil {
				t.Fatal(err)
			}
		})
	}
}
