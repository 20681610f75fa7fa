//go:build crosstest

package crosstest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/smbkrb/smbkrb/entra"
	"github.com/smbkrb/smbkrb/entra/entratest"
	"github.com/smbkrb/smbkrb/internal/lab/labtool"
	"github.com/smbkrb/smbkrb/internal/lab/netns"
	"github.com/smbkrb/smbkrb/internal/lab/samba"
)

const (
	// entraAccount is the emulated storage account's file endpoint; its
	// SPN cifs/entraAccount sits on the Entra DC's own machine account.
	entraAccount = "acct.file.core.windows.net"
	// entraDomain is the emulated tenant's domain.
	entraDomain = "contoso.onmicrosoft.com"
)

// entraLab is the Entra Kerberos flow's servers, as internal/demo's act 4
// has them: a Samba AD DC provisioned as KERBEROS.MICROSOFTONLINE.COM
// that plays the storage account (its KDC issues the cloud TGTs and the
// service tickets, its smbd serves the shares), listening on loopback
// and on the host address of a network namespace of its own (port 88
// rejected there), and the Entra emulator (entratest) on that address:
// device registration, PRT with cloud TGT, and the tenant's KDC proxy,
// the only way the binaries reach the KDC.
type entraLab struct {
	ns   *netns.NS
	dc   *samba.DC
	emu  *entratest.Server
	user entratest.User // crossuser@contoso.onmicrosoft.com
}

func startEntra(dir string) (_ flowLab, err error) {
	l := &entraLab{}
	defer func() {
		if err != nil {
			l.close()
		}
	}()
	if l.ns, err = netns.New(netns.Options{BlockPorts: []int{88}}); err != nil {
		return nil, err
	}
	if l.dc, err = samba.Start(filepath.Join(dir, "acct"), samba.Options{Realm: entra.KerberosRealm, Domain: "ENTRA", HostName: "acct",
		Addr: entraAddr, ExtraAddrs: []string{l.ns.HostAddr}, ExtraSPNs: []string{"cifs/" + entraAccount}}); err != nil {
		return nil, err
	}
	l.user = entratest.User{UPN: "crossuser@" + entraDomain, Password: labtool.Password()}
	sam, _, _ := strings.Cut(l.user.UPN, "@")
	if err = l.dc.AddUser(sam, l.user.Password); err != nil {
		return nil, err
	}
	if err = l.dc.SetUPN(sam, l.user.UPN); err != nil {
		return nil, err
	}
	l.emu, err = entratest.NewServer(entratest.Options{
		Domain: entraDomain, Addr: net.JoinHostPort(l.ns.HostAddr, "0"),
		KDCs:  []string{net.JoinHostPort(entraAddr, "88")},
		Users: []entratest.User{l.user}, SPNs: []string{"cifs/" + entraAccount},
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

func (l *entraLab) namespace() *netns.NS { return l.ns }

func (l *entraLab) close() {
	var cs []func() error
	if l.emu != nil {
		cs = append(cs, l.emu.Close)
	}
	if l.dc != nil {
		cs = append(cs, l.dc.Close)
	}
	if l.ns != nil {
		cs = append(cs, l.ns.Close)
	}
	teardown("Entra lab", cs...)
}

// entraConfig is the device's configuration for the emulated tenant: the
// emulator's endpoints and CA (the real service needs only entra-tenant
// and entra-domain), the device directory relative to the file, and
// where this network reaches the storage account.
const entraConfig = `# a device on a network that lets HTTPS out but not Kerberos (port 88)
entra-tenant %[1]s
entra-domain %[2]s
entra-authority %[3]s
entra-drs %[3]s/drs
ca entra-ca.pem
entra-dir device
addr %[4]s=%[5]s
`

var (
	userCodeRE   = regexp.MustCompile(`enter the code ([A-Z0-9]+) to authenticate`)
	registeredRE = regexp.MustCompile(`registered device (\S+) in tenant (\S+); its identity is in (\S+)`)
)

func (l *entraLab) run(t *testing.T, r *runner) []step {
	r.secrets = append(r.secrets, l.user.Password)
	ca, err := os.ReadFile(l.emu.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.home, "entra-ca.pem"), ca, 0o644); err != nil {
		t.Fatal(err)
	}
	confFile := filepath.Join(r.home, "entra.conf")
	conf := fmt.Sprintf(entraConfig, l.emu.Tenant, entraDomain, l.emu.URL, entraAccount, l.ns.HostAddr)
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := r.path(confFile)
	deviceDir := filepath.Join(r.home, "device")
	var steps []step

	// Register the device: the binary prints a device code, which the
	// user (here the test, at the emulator) approves while it polls.
	// The binary makes two RSA-2048 keys, slow in emulated Go code.
	// (watch runs on another goroutine, but run returns only after it
	// saw the last line: code and approved are read after that.)
	var (
		code     string
		approved error
	)
	r.watch = func(line string) {
		if m := userCodeRE.FindStringSubmatch(line); m != nil && code == "" {
			code = m[1]
			approved = l.emu.ApproveDeviceCode(code, l.user.UPN)
		}
	}
	joins := l.emu.Requests("drs-join")
	name := "cross-" + strings.ReplaceAll(r.b.name(), "/", "-")
	res := r.ok(t, nil, "entra", "register", "--name", name, "--config", cfg)
	r.watch = nil
	need(t, code != "", res, "entra register printed no device code")
	need(t, approved == nil, res, "approving the device code %s at the emulator: %v", code, approved)
	m := registeredRE.FindStringSubmatch(res.stdout)
	need(t, m != nil, res, "entra register does not say it registered a device")
	need(t, m[2] == l.emu.Tenant, res, "registered in tenant %s, want %s", m[2], l.emu.Tenant)
	need(t, m[3] == r.path(deviceDir), res, "the identity is in %s, want %s (entra-dir relative to the configuration file)", m[3], r.path(deviceDir))
	need(t, l.emu.Requests("drs-join") == joins+1, res, "the emulator answered %d join requests, want 1", l.emu.Requests("drs-join")-joins)
	known := false
	for _, id := range l.emu.Devices() {
		known = known || strings.EqualFold(id, m[1])
	}
	need(t, known, res, "the emulator does not know device %s", m[1])
	for _, f := range []string{"device.json", "device-key.pem", "transport-key.pem"} {
		fi, err := os.Stat(filepath.Join(deviceDir, f))
		if err != nil {
			t.Fatalf("the device directory: %v", err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s in the device directory has mode %v, want 0600: it holds keys", f, fi.Mode().Perm())
		}
	}
	steps = append(steps, step{"entra register", res.took})

	// Sign in with the password: the PRT response carries the cloud TGT.
	prts := l.emu.Requests("prt")
	res = r.ok(t, strings.NewReader(l.user.Password+"\n"), "entra", "login", "-v", "--password-stdin", l.user.UPN, "--config", cfg)
	need(t, strings.Contains(res.stdout, "signed in as "+l.user.UPN+" on device "+m[1]), res,
		"entra login does not say it signed in as %s on device %s", l.user.UPN, m[1])
	need(t, strings.Contains(res.stdout, "cloud TGT for "), res, "entra login does not report a cloud TGT")
	need(t, l.emu.Requests("prt") > prts, res, "the emulator received no PRT request")
	steps = append(steps, step{"entra login", res.took})

	// put: the service ticket comes through the tenant's KDC proxy.
	file := strings.ReplaceAll(r.b.name(), "/", "-") + ".bin"
	remote := "//" + entraAccount + "/" + samba.ShareEncrypted + "/" + file
	local := filepath.Join(r.home, "upload.bin")
	sum := randomFile(t, local, transferSize)
	kdc := l.emu.Requests("kdcproxy")
	prts = l.emu.Requests("prt")
	res = r.ok(t, nil, "put", "-v", "--config", cfg, r.path(local), remote)
	need(t, strings.Contains(res.stderr, sum), res, "put -v did not report the file's sha256 %s", sum)
	need(t, strings.Contains(res.stderr, "SPN cifs/"+entraAccount+"@"+entra.KerberosRealm), res,
		"put -v does not report the SPN cifs/%s@%s", entraAccount, entra.KerberosRealm)
	need(t, strings.Contains(res.stderr, "share "+samba.ShareEncrypted+": encrypted"), res, "put -v does not report an encrypted share")
	need(t, strings.Contains(res.stderr, l.ns.HostAddr+":445"), res, "put -v does not report the server at %s:445", l.ns.HostAddr)
	need(t, l.emu.Requests("kdcproxy") > kdc, res, "the Entra KDC proxy received no request: the service ticket did not come through it")
	steps = append(steps, step{fmt.Sprintf("put %.1f MiB", float64(transferSize)/(1<<20)), res.took})
	if n, s := fileSum(t, filepath.Join(l.dc.ShareDir(samba.ShareEncrypted), file)); n != transferSize || s != sum {
		t.Fatalf("the file on the server has %d bytes, sha256 %s; sent %d bytes, sha256 %s", n, s, transferSize, sum)
	}

	// get: back byte for byte, on the saved sign-in.
	back := filepath.Join(r.home, "back.bin")
	res = r.ok(t, nil, "get", "-v", "--config", cfg, remote, r.path(back))
	need(t, strings.Contains(res.stderr, sum), res, "get -v did not report the sha256 %s", sum)
	steps = append(steps, step{"get", res.took})
	if n, s := fileSum(t, back); n != transferSize || s != sum {
		t.Fatalf("the file came back with %d bytes, sha256 %s; sent %d bytes, sha256 %s", n, s, transferSize, sum)
	}
	need(t, l.emu.Requests("prt") == prts, res, "the file commands signed in again (%d PRT requests)", l.emu.Requests("prt")-prts)
	t.Logf("%s: device %s registered, %s signed in, %d bytes put and got back byte-exact, sha256 %s; %d requests through the Entra KDC proxy",
		r.b.name(), m[1], l.user.UPN, transferSize, sum, l.emu.Requests("kdcproxy")-kdc)
	return steps
}
