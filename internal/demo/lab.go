package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/smbkrb/smbkrb/entra"
	"github.com/smbkrb/smbkrb/entra/entratest"
	"github.com/smbkrb/smbkrb/internal/lab/kdcproxy"
	"github.com/smbkrb/smbkrb/internal/lab/labtool"
	"github.com/smbkrb/smbkrb/internal/lab/netns"
	"github.com/smbkrb/smbkrb/internal/lab/samba"
	"github.com/smbkrb/smbkrb/smboauth"
)

// The loopback addresses reserved for the demo (tests use others; see
// ../shared/LAB.md).
const (
	adAddr    = "127.0.0.10" // LAB.TEST, playing on-premises AD DS
	aaddsAddr = "127.0.0.11" // AADDS.TEST, playing Entra Domain Services
	entraAddr = "127.0.0.13" // KERBEROS.MICROSOFTONLINE.COM, playing Azure Files with Entra Kerberos
	filesAddr = "127.0.0.14" // FILES.AZURE.STORAGE.MICROSOFT.COM, playing Azure Files with SMB OAuth
)

// The emulated tenant and storage account.
const (
	entraDomain  = "contoso.onmicrosoft.com"
	entraAccount = "acct.file.core.windows.net"
	oauthAccount = "oauthacct.file.core.windows.net"
)

// user is a domain user of the lab.
type user struct {
	name, realm, password string
}

func (u user) principal() string { return u.name + "@" + u.realm }

// upn is the user's name in the emulated Entra tenant.
func (u user) upn() string { return u.name + "@" + entraDomain }

// lab is everything the demo starts, and how to stop it.
type lab struct {
	dir   string // the demo's temporary directory
	bin   string // the smbkrb binary
	home  string // the demo user's home directory
	ns    *netns.NS
	ad    *samba.DC
	aadds *samba.DC
	proxy *kdcproxy.Proxy
	alice user // of LAB.TEST
	bob   user // of AADDS.TEST

	// The Entra act: its own client namespace (only one DC can listen on
	// a namespace's host address), the storage account's DC, the
	// emulator, and the Entra user.
	ns2   *netns.NS
	entra *samba.DC
	emu   *entratest.Server
	carol user // carol@contoso.onmicrosoft.com; name is the DC's account

	// The SMB OAuth act: the storage account's DC and an application.
	files  *samba.DC
	app    entratest.App
	appPEM []byte

	mu   sync.Mutex
	undo []undoStep
}

type undoStep struct {
	what string
	fn   func() error
}

// onTeardown registers fn to run at teardown, in reverse order.
func (l *lab) onTeardown(what string, fn func() error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.undo = append(l.undo, undoStep{what, fn})
}

// teardown stops and removes everything the lab made; it may be called
// more than once.
func (l *lab) teardown() {
	l.mu.Lock()
	undo := l.undo
	l.undo = nil
	l.mu.Unlock()
	if len(undo) == 0 {
		return
	}
	heading("Teardown")
	begin := time.Now()
	var failed bool
	for i := len(undo) - 1; i >= 0; i-- {
		if err := undo[i].fn(); err != nil {
			fmt.Printf("  %-58s FAILED: %v\n", undo[i].what, err)
			failed = true
			continue
		}
		fmt.Printf("  %s\n", undo[i].what)
	}
	if failed {
		fmt.Printf("\nlab torn down, with errors (%v)\n", time.Since(begin).Round(100*time.Millisecond))
		return
	}
	fmt.Printf("\nlab torn down (%v)\n", time.Since(begin).Round(100*time.Millisecond))
}

// moduleRoot finds the repository: the directory of the main module's
// go.mod, as the go command sees it from the working directory.
func moduleRoot(goTool string) (string, error) {
	out, err := exec.Command(goTool, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the smbkrb module: run the demo from the repository (make demo)")
	}
	data, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	if !strings.Contains(string(data), "module github.com/smbkrb/smbkrb\n") {
		return "", fmt.Errorf("%s is not smbkrb's go.mod: run the demo from the repository (make demo)", gomod)
	}
	return filepath.Dir(gomod), nil
}

// goTool is the go command: on PATH, else where Debian's Go from go.dev
// lives.
func goTool() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/local/go/bin/go"); err == nil {
		return "/usr/local/go/bin/go", nil
	}
	return "", errors.New("the go command is not on PATH (nor in /usr/local/go/bin)")
}

// build compiles the CLI into the lab's directory.
func (l *lab) build(ctx context.Context) (time.Duration, error) {
	gt, err := goTool()
	if err != nil {
		return 0, err
	}
	root, err := moduleRoot(gt)
	if err != nil {
		return 0, err
	}
	begin := time.Now()
	c := exec.CommandContext(ctx, gt, "build", "-o", l.bin, "./cmd/smbkrb")
	c.Dir = root
	if out, err := c.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("go build ./cmd/smbkrb: %v\n%s", err, out)
	}
	return time.Since(begin), nil
}

// hasLoopback reports whether lo carries addr.
func hasLoopback(addr string) bool {
	ifc, err := net.InterfaceByName("lo")
	if err != nil {
		return false
	}
	addrs, err := ifc.Addrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.String() == addr {
			return true
		}
	}
	return false
}

// startDC starts a Samba AD DC and registers its teardown. samba.Start
// adds the loopback address; if it was not there before, teardown removes
// it again.
func (l *lab) startDC(name string, opts samba.Options) (*samba.DC, time.Duration, error) {
	had := hasLoopback(opts.Addr)
	begin := time.Now()
	dc, err := samba.Start(filepath.Join(l.dir, name), opts)
	if !had && hasLoopback(opts.Addr) {
		l.onTeardown("removed loopback address "+opts.Addr, func() error {
			ip, err := labtool.Find("ip", "iproute2")
			if err != nil {
				return err
			}
			if out, err := exec.Command(ip, "addr", "del", opts.Addr+"/8", "dev", "lo").CombinedOutput(); err != nil {
				return fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out)))
			}
			return nil
		})
	}
	if err != nil {
		return nil, 0, err
	}
	l.onTeardown(fmt.Sprintf("stopped the Samba AD DC %s (%s)", dc.FQDN, dc.Realm), dc.Close)
	return dc, time.Since(begin), nil
}

// welcome puts a small file into every share of dc, as an administrator
// would, so that the first listing shows something.
func welcome(dc *samba.DC, role string) error {
	for _, share := range []string{samba.ShareSigned, samba.ShareEncrypted} {
		text := fmt.Sprintf("Share %q of %s (%s). Kerberos only: NTLM is disabled on this server.\n", share, dc.FQDN, role)
		if err := os.WriteFile(filepath.Join(dc.ShareDir(share), "README.txt"), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// start builds the CLI and starts the lab, printing what it made.
func (l *lab) start(ctx context.Context) error {
	heading("The lab")
	dir, err := os.MkdirTemp("", "smbkrb-demo-")
	if err != nil {
		return fail("lab: temporary directory", "%v", err)
	}
	l.dir = dir
	l.onTeardown("removed "+dir, func() error { return os.RemoveAll(dir) })
	l.onTeardown("removed the provisioned Samba templates", func() error { samba.CleanupTemplates(); return nil })
	l.bin = filepath.Join(dir, "bin", "smbkrb")
	l.home = filepath.Join(dir, "home")
	if err := os.MkdirAll(filepath.Join(l.home, ".config", "smbkrb"), 0o700); err != nil {
		return fail("lab: home directory", "%v", err)
	}
	if err := os.WriteFile(filepath.Join(l.home, ".empty-krb5.conf"), nil, 0o644); err != nil {
		return fail("lab: home directory", "%v", err)
	}

	// The client's network namespace comes first: the AD DS DC listens
	// on its host address too.
	ns, err := netns.New(netns.Options{BlockPorts: []int{88}})
	if err != nil {
		return fail("lab: network namespace", "%v", err)
	}
	l.ns = ns
	l.onTeardown("deleted the network namespace "+ns.Name+" and its nftables rules", ns.Close)
	if err := ctx.Err(); err != nil {
		return err
	}

	// The CLI builds while the two domain controllers start.
	type built struct {
		took time.Duration
		err  error
	}
	buildDone := make(chan built, 1)
	go func() {
		took, err := l.build(ctx)
		buildDone <- built{took, err}
	}()
	type started struct {
		dc   *samba.DC
		took time.Duration
		err  error
	}
	aaddsDone := make(chan started, 1)
	go func() {
		dc, took, err := l.startDC("aadds", samba.Options{Realm: "AADDS.TEST", Domain: "AADDS", HostName: "dc1", Addr: aaddsAddr})
		aaddsDone <- started{dc, took, err}
	}()
	ns2, err := netns.New(netns.Options{BlockPorts: []int{88}})
	if err != nil {
		return fail("lab: network namespace for the Entra act", "%v", err)
	}
	l.ns2 = ns2
	l.onTeardown("deleted the network namespace "+ns2.Name+" and its nftables rules", ns2.Close)
	filesDone := make(chan started, 1)
	go func() {
		dc, took, err := l.startDC("files", samba.Options{Realm: smboauth.FilesRealm, Domain: "FILES", HostName: "oauthacct",
			Addr: filesAddr, ExtraSPNs: []string{"cifs/" + oauthAccount}})
		filesDone <- started{dc, took, err}
	}()
	entraDone := make(chan started, 1)
	go func() {
		dc, took, err := l.startDC("entra", samba.Options{Realm: entra.KerberosRealm, Domain: "ENTRA", HostName: "acct",
			Addr: entraAddr, ExtraAddrs: []string{ns2.HostAddr}, ExtraSPNs: []string{"cifs/" + entraAccount}})
		entraDone <- started{dc, took, err}
	}()
	ad, adTook, adErr := l.startDC("ad", samba.Options{Realm: "LAB.TEST", Domain: "LAB", HostName: "dc1", Addr: adAddr, ExtraAddrs: []string{ns.HostAddr}})
	aadds := <-aaddsDone
	ent := <-entraDone
	files := <-filesDone
	b := <-buildDone

	fmt.Printf("$ go build -o %s ./cmd/smbkrb\n", l.bin)
	if b.err != nil {
		return fail("lab: build the CLI", "%v", b.err)
	}
	fmt.Printf("    built in %v (while the domain controllers started)\n", b.took.Round(100*time.Millisecond))
	if adErr != nil {
		return fail("lab: Samba AD DC of LAB.TEST", "%v", adErr)
	}
	if aadds.err != nil {
		return fail("lab: Samba AD DC of AADDS.TEST", "%v", aadds.err)
	}
	if ent.err != nil {
		return fail("lab: Samba AD DC of "+entra.KerberosRealm, "%v", ent.err)
	}
	if files.err != nil {
		return fail("lab: Samba AD DC of "+smboauth.FilesRealm, "%v", files.err)
	}
	l.files = files.dc
	l.ad, l.aadds, l.entra = ad, aadds.dc, ent.dc
	if err := ctx.Err(); err != nil {
		return err
	}

	l.alice = user{name: "alice", realm: ad.Realm, password: labtool.Password()}
	if err := ad.AddUser(l.alice.name, l.alice.password); err != nil {
		return fail("lab: user alice@LAB.TEST", "%v", err)
	}
	l.bob = user{name: "bob", realm: l.aadds.Realm, password: labtool.Password()}
	if err := l.aadds.AddUser(l.bob.name, l.bob.password); err != nil {
		return fail("lab: user bob@AADDS.TEST", "%v", err)
	}
	l.carol = user{name: "carol", realm: entra.KerberosRealm, password: labtool.Password()}
	if err := l.entra.AddUser(l.carol.name, l.carol.password); err != nil {
		return fail("lab: user "+l.carol.upn(), "%v", err)
	}
	if err := l.entra.SetUPN(l.carol.name, l.carol.upn()); err != nil {
		return fail("lab: user "+l.carol.upn(), "%v", err)
	}
	if err := welcome(l.entra, "Azure Files with Microsoft Entra Kerberos"); err != nil {
		return fail("lab: share files", "%v", err)
	}
	filesPW := labtool.Password()
	if err := l.files.AddUser("AzureFileClient", filesPW); err != nil {
		return fail("lab: AzureFileClient", "%v", err)
	}
	if err := welcome(l.files, "Azure Files with SMB OAuth"); err != nil {
		return fail("lab: share files", "%v", err)
	}
	if l.app, l.appPEM, err = entratest.NewApp("5e0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b", "plant-telemetry"); err != nil {
		return fail("lab: application certificate", "%v", err)
	}
	if err := os.WriteFile(filepath.Join(l.home, "app.pem"), l.appPEM, 0o600); err != nil {
		return fail("lab: application certificate", "%v", err)
	}
	emu, err := entratest.NewServer(entratest.Options{
		Domain: entraDomain, Addr: net.JoinHostPort(ns2.HostAddr, "0"),
		KDCs:  []string{net.JoinHostPort(entraAddr, "88")},
		Users: []entratest.User{{UPN: l.carol.upn(), Password: l.carol.password}},
		SPNs:  []string{"cifs/" + entraAccount},
		Apps:  []entratest.App{l.app}, ManagedIdentities: []entratest.Identity{{}},
		SMBOAuth: &entratest.SMBOAuth{KDCs: []string{net.JoinHostPort(filesAddr, "88")}, ClientPassword: filesPW,
			Accounts: []entratest.Account{{Name: oauthAccount}}},
	})
	if err != nil {
		return fail("lab: Entra emulator", "%v", err)
	}
	l.emu = emu
	l.onTeardown("stopped the Entra emulator at "+emu.URL, emu.Close)
	if ca, err := os.ReadFile(emu.CAFile); err != nil {
		return fail("lab: Entra emulator CA", "%v", err)
	} else if err := os.WriteFile(filepath.Join(l.home, "entra-ca.pem"), ca, 0o644); err != nil {
		return fail("lab: Entra emulator CA", "%v", err)
	}
	if err := welcome(ad, "on-premises AD DS"); err != nil {
		return fail("lab: share files", "%v", err)
	}
	if err := welcome(l.aadds, "Entra Domain Services"); err != nil {
		return fail("lab: share files", "%v", err)
	}

	proxy, err := kdcproxy.Start(net.JoinHostPort(ns.HostAddr, "0"), map[string][]string{ad.Realm: {net.JoinHostPort(ad.Addr, "88")}})
	if err != nil {
		return fail("lab: KDC proxy", "%v", err)
	}
	l.proxy = proxy
	l.onTeardown("stopped the KDC proxy at "+proxy.URL, proxy.Close)
	// The proxy's CA, as an administrator would hand it out.
	ca, err := os.ReadFile(proxy.CAFile)
	if err == nil {
		err = os.WriteFile(filepath.Join(l.home, "kdcproxy-ca.pem"), ca, 0o644)
	}
	if err != nil {
		return fail("lab: KDC proxy CA", "%v", err)
	}

	fmt.Println()
	fmt.Printf("Samba AD DC %s, realm %s, playing on-premises AD DS (started in %v)\n", ad.FQDN, ad.Realm, adTook.Round(100*time.Millisecond))
	fmt.Printf("    KDC :88 and SMB3 :445 on %s, and on %s for the client namespace\n", ad.Addr, ns.HostAddr)
	fmt.Printf("    shares %q (signing required) and %q (encryption required); NTLM disabled\n", samba.ShareSigned, samba.ShareEncrypted)
	fmt.Printf("    user %s, random password\n", l.alice.principal())
	fmt.Printf("Samba AD DC %s, realm %s, playing an Entra Domain Services managed domain (started in %v)\n", l.aadds.FQDN, l.aadds.Realm, aadds.took.Round(100*time.Millisecond))
	fmt.Printf("    KDC :88 and SMB3 :445 on %s; the same shares; NTLM disabled\n", l.aadds.Addr)
	fmt.Printf("    user %s, random password\n", l.bob.principal())
	fmt.Printf("network namespace %s for a client that may not use port 88\n", ns.Name)
	fmt.Printf("    client %s, host side %s; nftables rejects TCP and UDP to port 88\n", ns.Addr, ns.HostAddr)
	fmt.Printf("KDC proxy (MS-KKDCP over TLS, smbkrb's kkdcp.Handler) at %s\n", proxy.URL)
	fmt.Printf("    forwards %s to %s:88; certificate from a throwaway CA\n", ad.Realm, ad.Addr)
	fmt.Printf("Samba AD DC provisioned as realm %s, playing the storage account %s (started in %v)\n", l.entra.Realm, entraAccount, ent.took.Round(100*time.Millisecond))
	fmt.Printf("    SMB3 :445 on %s and on %s for a second client namespace %s (port 88 rejected there too)\n", l.entra.Addr, ns2.HostAddr, ns2.Name)
	fmt.Printf("Entra emulator (smbkrb's entra/entratest) at %s, tenant %s (%s)\n", emu.URL, emu.Tenant, entraDomain)
	fmt.Printf("    OpenID, device code, device registration, PRT with cloud TGT, KDC proxy to %s:88\n", entraAddr)
	fmt.Printf("    user %s, random password\n", l.carol.upn())
	fmt.Printf("Samba AD DC provisioned as realm %s, playing the storage account %s (started in %v)\n", l.files.Realm, oauthAccount, files.took.Round(100*time.Millisecond))
	fmt.Printf("    SMB3 :445 on %s; user AzureFileClient, whose service tickets the emulated file endpoint hands out for OAuth tokens\n", l.files.Addr)
	fmt.Printf("    the emulator knows application %s (certificate in $HOME/app.pem) and a managed identity at %s\n", l.app.ClientID, emu.IdentityEndpoint)
	return nil
}
