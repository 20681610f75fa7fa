//go:build crosstest

package crosstest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/kdcproxy"
	"github.com/smbkrb/smbkrb/internal/lab/labtool"
	"github.com/smbkrb/smbkrb/internal/lab/netns"
	"github.com/smbkrb/smbkrb/internal/lab/samba"
)

// transferSize is the size of the file each binary puts and gets: a few
// MiB and an odd tail, so that the transfer takes several SMB requests
// and a short last one.
const transferSize = 4<<20 + 4321

// adLab is the AD DS flow's servers: a Samba AD DC (KDC and SMB3 server,
// NTLM disabled) listening on loopback and on the client namespace's host
// address, and smbkrb's KDC proxy (MS-KKDCP over TLS) on that address.
// Port 88 is rejected inside the namespace: the binaries reach the KDC
// only through the proxy.
type adLab struct {
	ns    *netns.NS
	dc    *samba.DC
	proxy *kdcproxy.Proxy
	user  string // crossuser@LAB.TEST
	pw    string
}

func startADDS(dir string) (_ flowLab, err error) {
	l := &adLab{}
	defer func() {
		if err != nil {
			l.close()
		}
	}()
	if l.ns, err = netns.New(netns.Options{BlockPorts: []int{88}}); err != nil {
		return nil, err
	}
	if l.dc, err = samba.Start(filepath.Join(dir, "dc1"), samba.Options{Realm: "LAB.TEST", Domain: "LAB", HostName: "dc1",
		Addr: adAddr, ExtraAddrs: []string{l.ns.HostAddr}}); err != nil {
		return nil, err
	}
	l.pw = labtool.Password()
	if err = l.dc.AddUser("crossuser", l.pw); err != nil {
		return nil, err
	}
	l.user = "crossuser@" + l.dc.Realm
	l.proxy, err = kdcproxy.Start(net.JoinHostPort(l.ns.HostAddr, "0"),
		map[string][]string{l.dc.Realm: {net.JoinHostPort(l.dc.Addr, "88")}})
	if err != nil {
		return nil, err
	}
	return l, nil
}

func (l *adLab) namespace() *netns.NS { return l.ns }

func (l *adLab) close() {
	var cs []func() error
	if l.proxy != nil {
		cs = append(cs, l.proxy.Close)
	}
	if l.dc != nil {
		cs = append(cs, l.dc.Close)
	}
	if l.ns != nil {
		cs = append(cs, l.ns.Close)
	}
	teardown("AD DS lab", cs...)
}

// teardown runs a lab's closers in order and reports what failed.
func teardown(what string, closers ...func() error) {
	var errs []error
	for _, c := range closers {
		errs = append(errs, c())
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintf(os.Stderr, "crosstest: %s teardown: %v\n", what, err)
	}
}

// config is the device's smbkrb configuration: the realm's only KDC is
// the proxy, whose CA sits next to the file; the file server is at the
// namespace's host address.
const adConfig = `# a device on a network that lets HTTPS out but not Kerberos (port 88)
realm %[1]s
kdc %[1]s=%[2]s
ca kdcproxy-ca.pem
map .%[3]s=%[1]s
addr %[4]s=%[5]s
`

func (l *adLab) run(t *testing.T, r *runner) []step {
	r.secrets = append(r.secrets, l.pw)
	pw := func() *strings.Reader { return strings.NewReader(l.pw + "\n") }
	ca, err := os.ReadFile(l.proxy.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.home, "kdcproxy-ca.pem"), ca, 0o644); err != nil {
		t.Fatal(err)
	}
	confFile := filepath.Join(r.home, "smbkrb.conf")
	conf := fmt.Sprintf(adConfig, l.dc.Realm, l.proxy.URL, strings.ToLower(l.dc.Realm), l.dc.FQDN, l.ns.HostAddr)
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := r.path(confFile)
	var steps []step

	// Port 88 really is closed to this binary: a login straight to the
	// KDC fails at once.
	res := r.run(t, pw(), "kinit", "--config", cfg, "--kdc", l.dc.Realm+"="+l.ns.HostAddr+":88", "--password-stdin", l.user)
	need(t, res.code == 7 && strings.Contains(strings.ToLower(res.stderr), "connection refused"), res,
		"kinit straight to port 88 should be refused (exit 7, connection refused)")
	need(t, res.took < 30*time.Second, res, "the refused login took %v: it should fail at once", res.took)
	steps = append(steps, step{"kinit to :88 refused", res.took})

	// The login through the KDC proxy.
	// (Its stderr is watched line by line as it comes, as the Entra flow
	// watches for the device code.)
	before := l.proxy.Requests()
	var seen []string
	r.watch = func(line string) { seen = append(seen, line) }
	res = r.ok(t, pw(), "kinit", "-v", "--config", cfg, "--password-stdin", l.user)
	r.watch = nil
	need(t, strings.Contains(strings.Join(seen, "\n"), "logged in as "+l.user), res, "kinit -v does not say it logged in as %s", l.user)
	afterKinit := l.proxy.Requests()
	need(t, afterKinit > before, res, "the KDC proxy received no request: the TGT did not come through it")
	steps = append(steps, step{"kinit via proxy", res.took})

	// put: the service ticket comes through the proxy too.
	name := strings.ReplaceAll(r.b.name(), "/", "-") + ".bin"
	remote := "//" + l.dc.FQDN + "/" + samba.ShareEncrypted + "/" + name
	local := filepath.Join(r.home, "upload.bin")
	sum := randomFile(t, local, transferSize)
	res = r.ok(t, nil, "put", "-v", "--config", cfg, r.path(local), remote)
	need(t, strings.Contains(res.stderr, sum), res, "put -v did not report the file's sha256 %s", sum)
	need(t, strings.Contains(res.stderr, "share "+samba.ShareEncrypted+": encrypted"), res, "put -v does not report an encrypted share")
	need(t, strings.Contains(res.stderr, l.ns.HostAddr+":445"), res, "put -v does not report the server at %s:445", l.ns.HostAddr)
	need(t, l.proxy.Requests() > afterKinit, res, "the KDC proxy received no TGS request: the service ticket did not come through it")
	steps = append(steps, step{fmt.Sprintf("put %.1f MiB", float64(transferSize)/(1<<20)), res.took})
	if n, s := fileSum(t, filepath.Join(l.dc.ShareDir(samba.ShareEncrypted), name)); n != transferSize || s != sum {
		t.Fatalf("the file on the server has %d bytes, sha256 %s; sent %d bytes, sha256 %s", n, s, transferSize, sum)
	}

	// get: back byte for byte.
	back := filepath.Join(r.home, "back.bin")
	res = r.ok(t, nil, "get", "-v", "--config", cfg, remote, r.path(back))
	need(t, strings.Contains(res.stderr, sum), res, "get -v did not report the sha256 %s", sum)
	steps = append(steps, step{"get", res.took})
	if n, s := fileSum(t, back); n != transferSize || s != sum {
		t.Fatalf("the file came back with %d bytes, sha256 %s; sent %d bytes, sha256 %s", n, s, transferSize, sum)
	}
	t.Logf("%s: %d bytes put and got back byte-exact, sha256 %s; %d requests through the KDC proxy",
		r.b.name(), transferSize, sum, l.proxy.Requests()-before)
	return steps
}
