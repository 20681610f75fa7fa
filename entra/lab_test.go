package entra_test

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/entra"
	"github.com/smbkrb/smbkrb/entra/entratest"
	"github.com/smbkrb/smbkrb/internal/lab/labtool"
	"github.com/smbkrb/smbkrb/internal/lab/netns"
	"github.com/smbkrb/smbkrb/internal/lab/samba"
	"github.com/smbkrb/smbkrb/internal/lab/testmain"
	"github.com/smbkrb/smbkrb/krb5"
	"github.com/smbkrb/smbkrb/smb"
	"github.com/smbkrb/smbkrb/smboauth"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
)

// The loopback addresses of this package's DCs (other test packages use
// others at the same time).
const (
	entraAddr = "127.0.0.30" // KERBEROS.MICROSOFTONLINE.COM, serving acct.file.core.windows.net
	corpAddr  = "127.0.0.31" // CORP.TEST, an AD DS storage account beside it
	skewAddr  = "127.0.0.32" // KERBEROS.MICROSOFTONLINE.COM an hour ahead
	filesAddr = "127.0.0.34" // FILES.AZURE.STORAGE.MICROSOFT.COM, the SMB OAuth accounts
)

const (
	account = "acct.file.core.windows.net"
	adAcct  = "adacct.file.core.windows.net"
	// SMB OAuth accounts: one that serves it, one that has it off.
	oauthAcct  = "oauthacct.file.core.windows.net"
	closedAcct = "closed.file.core.windows.net"
	tenantDN   = "contoso.onmicrosoft.com"
)

// A user of the lab: a UPN in Entra, an account at the KDC.
type labUser struct {
	sam, upn, pw string
}

// lab is what every test shares: the Entra realm's DC (the "storage
// account" and the KDC behind the emulator), the client's network
// namespace whose port 88 is rejected, and the emulator on the
// namespace's host address.
var lab struct {
	dir   string
	ns    *netns.NS
	dc    *samba.DC
	corp  *samba.DC
	skew  *samba.DC
	files *samba.DC
	// SMB OAuth: an application with a certificate and a secret, one
	// without the SMB role, a managed identity.
	app, noRoleApp entratest.App
	appKey         []byte // PEM of app's certificate and key
	filesPW        string // AzureFileClient's password
	emuFilesKDCs   []string
	emu            *entratest.Server
	skewE          *entratest.Server
	users          map[string]labUser // alice (synced from CORP.TEST too), bob (MFA), carol (not assigned), dave (no TGT), frank (cloud only)
	corpU          labUser
}

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	if labtest.Short() {
		return m.Run() // the fast tier: no lab
	}
	flag.Parse()
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		// A fuzzing run (go test -run '^$' -fuzz ...) needs no servers:
		// the fuzz targets test the decoders alone.
		return m.Run()
	}
	l, err := testmain.New("entra", testmain.Options{})
	if err != nil {
		return testmain.Fail("entra", "temporary directory", err)
	}
	defer l.Close()
	fail := l.Fail
	lab.dir = l.Dir
	ns, err := l.Namespace()
	if err != nil {
		return fail("lab", err)
	}
	lab.ns = ns
	// Only one DC can listen on the namespace's host address: the AD DS
	// account is reached over the root namespace (its KDC through a KDC
	// proxy that does listen there).
	dcs, err := l.DCs(
		testmain.DC{Name: "entra", Options: samba.Options{Realm: entra.KerberosRealm, Domain: "ENTRA", HostName: "acct", Addr: entraAddr,
			ExtraAddrs: []string{ns.HostAddr}, ExtraSPNs: []string{"cifs/" + account}}},
		testmain.DC{Name: "corp", Options: samba.Options{Realm: "CORP.TEST", Domain: "CORP", HostName: "adacct", Addr: corpAddr,
			ExtraSPNs: []string{"cifs/" + adAcct}}},
		testmain.DC{Name: "skew", Options: samba.Options{Realm: entra.KerberosRealm, Domain: "ENTRA", HostName: "acct", Addr: skewAddr,
			ExtraSPNs: []string{"cifs/" + account}, ClockOffset: time.Hour}},
		testmain.DC{Name: "files", Options: samba.Options{Realm: smboauth.FilesRealm, Domain: "FILES", HostName: "oauthacct", Addr: filesAddr,
			ExtraSPNs: []string{"cifs/" + oauthAcct, "cifs/" + closedAcct}}},
	)
	if err != nil {
		return fail("lab", err)
	}
	lab.dc, lab.corp, lab.skew, lab.files = dcs[0], dcs[1], dcs[2], dcs[3]

	lab.users = map[string]labUser{}
	var users []entratest.User
	for _, name := range []string{"alice", "bob", "carol", "dave", "frank"} {
		u := labUser{sam: name, upn: name + "@" + tenantDN, pw: labtool.Password()}
		for _, dc := range []*samba.DC{lab.dc, lab.skew} {
			if err := dc.AddUser(u.sam, u.pw); err != nil {
				return fail("user "+name, err)
			}
			if err := dc.SetUPN(u.sam, u.upn); err != nil {
				return fail("UPN of "+name, err)
			}
		}
		lab.users[name] = u
		eu := entratest.User{UPN: u.upn, Password: u.pw,
			MFA: name == "bob", NotAssigned: name == "carol", NoCloudTGT: name == "dave"}
		if name == "alice" {
			// alice is synced from CORP.TEST too: Entra sends tgt_ad.
			if err := lab.corp.AddUser(u.sam, u.pw); err != nil {
				return fail("CORP.TEST user alice", err)
			}
			eu.ADPrincipal = u.sam + "@CORP.TEST"
		}
		users = append(users, eu)
	}
	lab.corpU = labUser{sam: "erin", upn: "erin@CORP.TEST", pw: labtool.Password()}
	if err := lab.corp.AddUser(lab.corpU.sam, lab.corpU.pw); err != nil {
		return fail("CORP.TEST user", err)
	}

	filesPW := labtool.Password()
	lab.filesPW, lab.emuFilesKDCs = filesPW, []string{net.JoinHostPort(filesAddr, "88")}
	if err := lab.files.AddUser("AzureFileClient", filesPW); err != nil {
		return fail("AzureFileClient", err)
	}
	if lab.app, lab.appKey, err = entratest.NewApp(objectIDFor("smbkrb-test-app"), "smbkrb-test-app"); err != nil {
		return fail("application certificate", err)
	}
	lab.app.Secret = labtool.Password()
	lab.noRoleApp = entratest.App{ClientID: objectIDFor("no-role-app"), Secret: labtool.Password(), NoSMBRole: true}

	lab.emu, err = entratest.NewServer(entratest.Options{
		Apps:              []entratest.App{lab.app, lab.noRoleApp},
		ManagedIdentities: []entratest.Identity{{}, {ClientID: objectIDFor("user-assigned")}},
		SMBOAuth: &entratest.SMBOAuth{
			KDCs: []string{net.JoinHostPort(filesAddr, "88")}, ClientPassword: filesPW,
			Accounts: []entratest.Account{{Name: oauthAcct}, {Name: closedAcct, OAuthDisabled: true}},
		},
		Domain: tenantDN, Addr: net.JoinHostPort(ns.HostAddr, "0"),
		KDCs:  []string{net.JoinHostPort(entraAddr, "88")},
		Users: users, SPNs: []string{"cifs/" + account},
		ADRealm: &entratest.ADRealm{Realm: "CORP.TEST", KDCs: []string{net.JoinHostPort(corpAddr, "88")}},
	})
	if err != nil {
		return fail("Entra emulator", err)
	}
	l.Defer(func() { lab.emu.Close() })
	lab.skewE, err = entratest.NewServer(entratest.Options{
		Domain: tenantDN, Addr: net.JoinHostPort(ns.HostAddr, "0"),
		KDCs:  []string{net.JoinHostPort(skewAddr, "88")},
		Users: users,
	})
	if err != nil {
		return fail("Entra emulator (skewed KDC)", err)
	}
	l.Defer(func() { lab.skewE.Close() })
	return m.Run()
}

// nsHTTP is an HTTP client that dials from the client namespace and
// trusts the emulator's CA.
func nsHTTP(emu *entratest.Server) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:     lab.ns.DialContext,
		TLSClientConfig: &tls.Config{RootCAs: emu.RootCAs},
	}}
}

// client is an entra.Client for emu, its requests from the namespace.
func client(t testing.TB, emu *entratest.Server) *entra.Client {
	t.Helper()
	cfg := emu.Config()
	cfg.HTTPClient = nsHTTP(emu)
	c, err := entra.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// kerberos is a krb5 context for the Entra realm through emu's KDC
// proxy, from the namespace, with extra realms and mappings.
func kerberos(t testing.TB, emu *entratest.Server, c *entra.Client, extra []krb5.Realm, overrides ...krb5.HostRealm) *krb5.Context {
	t.Helper()
	realm, err := c.Realm(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	k, err := krb5.NewContext(&krb5.Config{
		Realms:      append([]krb5.Realm{realm}, extra...),
		HostRealms:  entra.HostRealms(nil, overrides...),
		HTTPClient:  nsHTTP(emu),
		DialContext: lab.ns.DialContext,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

var userCodeRE = regexp.MustCompile(`enter the code ([A-Z0-9]+)`)

// deviceCode runs a device-code sign-in as upn: the test plays the user
// at the browser, approving the code the prompt shows.
func deviceCode(t testing.TB, emu *entratest.Server, c *entra.Client, upn string) *entra.DeviceCodeResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var approveErr error
	var wg sync.WaitGroup
	res, err := c.DeviceCodeSignIn(ctx, func(msg string) {
		m := userCodeRE.FindStringSubmatch(msg)
		if m == nil {
			approveErr = fmt.Errorf("no user code in the prompt %q", msg)
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(200 * time.Millisecond) // the user types the code
			approveErr = emu.ApproveDeviceCode(m[1], upn)
		}()
	})
	wg.Wait()
	if approveErr != nil {
		t.Fatal(approveErr)
	}
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// register registers a new device, authorized by a device-code sign-in
// of alice.
func register(t testing.TB, emu *entratest.Server, c *entra.Client) *entra.Device {
	t.Helper()
	tok := deviceCode(t, emu, c, lab.users["alice"].upn)
	d, err := c.Register(t.Context(), tok.AccessToken, &entra.RegisterOptions{DisplayName: "smbkrb-test"})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// sharedDevice is one registered device for the tests that do not test
// registration.
var sharedDevice struct {
	once sync.Once
	d    *entra.Device
}

func device(t testing.TB) *entra.Device {
	sharedDevice.once.Do(func() { sharedDevice.d = register(t, lab.emu, client(t, lab.emu)) })
	if sharedDevice.d == nil {
		t.Fatal("no device")
	}
	return sharedDevice.d
}

// dialer is an smb.Dialer from the namespace.
func dialer(k *krb5.Context, cc *krb5.CCache, creds smb.Credentials) *smb.Dialer {
	return &smb.Dialer{Kerberos: k, CCache: cc, Credentials: creds, DialContext: lab.ns.DialContext}
}

// storage is the emulated storage account as an SMB server: its Azure
// name, reached at the DC's address on the namespace's link.
func storage() smb.Server { return smb.Server{Name: account, Addr: lab.ns.HostAddr} }
