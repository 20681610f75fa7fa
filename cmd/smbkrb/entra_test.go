package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/entra"
	"github.com/smbkrb/smbkrb/entra/entratest"
	"github.com/smbkrb/smbkrb/internal/lab/labtool"
	"github.com/smbkrb/smbkrb/internal/lab/netns"
	"github.com/smbkrb/smbkrb/internal/lab/samba"
	"github.com/smbkrb/smbkrb/internal/lab/testmain"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
)

// entraAddr is the loopback address of this package's Entra-realm DC.
const entraAddr = "127.0.0.33"

const (
	entraAccount = "acct.file.core.windows.net"
	entraDomain  = "contoso.onmicrosoft.com"
)

// entraLab is the Entra side of the lab, started by the first test that
// needs it: a DC of KERBEROS.MICROSOFTONLINE.COM serving the storage
// account, the emulator, and the namespace (port 88 rejected) the CLI
// runs in.
var entraLab struct {
	once  sync.Once
	err   error
	ns    *netns.NS
	dc    *samba.DC
	emu   *entratest.Server
	alice entratest.User
	bob   entratest.User // MFA required
}

func startEntraLab(t *testing.T) {
	t.Helper()
	l := &entraLab
	l.once.Do(func() {
		if l.ns, l.err = lab.main.Namespace(); l.err != nil {
			return
		}
		var dcs []*samba.DC
		if dcs, l.err = lab.main.DCs(testmain.DC{Name: "entra", Options: samba.Options{
			Realm: entra.KerberosRealm, Domain: "ENTRA", HostName: "acct", Addr: entraAddr,
			ExtraAddrs: []string{l.ns.HostAddr}, ExtraSPNs: []string{"cifs/" + entraAccount},
		}}); l.err != nil {
			return
		}
		l.dc = dcs[0]
		l.alice = entratest.User{UPN: "alice@" + entraDomain, Password: labtool.Password()}
		l.bob = entratest.User{UPN: "bob@" + entraDomain, Password: labtool.Password(), MFA: true}
		for _, u := range []entratest.User{l.alice, l.bob} {
			sam := strings.SplitN(u.UPN, "@", 2)[0]
			if l.err = l.dc.AddUser(sam, u.Password); l.err != nil {
				return
			}
			if l.err = l.dc.SetUPN(sam, u.UPN); l.err != nil {
				return
			}
		}
		l.emu, l.err = entratest.NewServer(entratest.Options{
			Domain: entraDomain, Addr: net.JoinHostPort(l.ns.HostAddr, "0"),
			KDCs:  []string{net.JoinHostPort(entraAddr, "88")},
			Users: []entratest.User{l.alice, l.bob}, SPNs: []string{"cifs/" + entraAccount},
		})
		if l.err == nil {
			lab.main.Defer(func() { l.emu.Close() })
		}
	})
	if l.err != nil {
		t.Fatalf("Entra lab: %v", l.err)
	}
}

// entraConfig writes c's configuration file for the emulated tenant.
func (c *client) entraConfig(t *testing.T) string {
	t.Helper()
	l := &entraLab
	path := filepath.Join(c.dir, "entra.conf")
	conf := fmt.Sprintf(`# The emulated Entra tenant and its storage account.
entra-tenant %s
entra-domain %s
entra-authority %s
entra-drs %s/drs
entra-dir %s
ca %s
addr %s=%s
`, l.emu.Tenant, entraDomain, l.emu.URL, l.emu.URL, filepath.Join(c.dir, "device"), l.emu.CAFile, entraAccount, l.ns.HostAddr)
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// runNS runs the binary in the client namespace (port 88 rejected). With
// approveAs set, it plays the user of a device-code sign-in: it reads the
// code the binary prints and approves it at the emulator as that user.
func (c *client) runNS(t *testing.T, stdin io.Reader, approveAs string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := entraLab.ns.Command(ctx, lab.bin, args...)
	cmd.Env = c.env()
	cmd.Dir = c.dir
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	approved := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		done := false
		for sc.Scan() {
			line := sc.Text()
			stderr.WriteString(line + "\n")
			if m := userCodeRE.FindStringSubmatch(line); m != nil && approveAs != "" && !done {
				done = true
				approved <- entraLab.emu.ApproveDeviceCode(m[1], approveAs)
			}
		}
		io.Copy(io.Discard, pr)
		if !done {
			approved <- nil
		}
	}()
	err := cmd.Run()
	pw.Close()
	if aerr := <-approved; aerr != nil {
		t.Fatal(aerr)
	}
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("smbkrb %s: %v", strings.Join(args, " "), err)
	}
	for _, u := range []entratest.User{entraLab.alice, entraLab.bob} {
		if strings.Contains(r.stdout+r.stderr, u.Password) {
			t.Fatalf("smbkrb %s printed a password", strings.Join(args, " "))
		}
	}
	if strings.Contains(r.stderr, "DATA RACE") {
		t.Errorf("smbkrb %s: the race detector found a race:\n%s", strings.Join(args, " "), r.stderr)
	}
	t.Logf("smbkrb %s: exit %d%s", strings.Join(args, " "), r.code, indent(r.stderr))
	return r
}

var userCodeRE = regexp.MustCompile(`enter the code ([A-Z0-9]+)`)

func (c *client) okNS(t *testing.T, stdin io.Reader, approveAs string, args ...string) result {
	t.Helper()
	r := c.runNS(t, stdin, approveAs, args...)
	if r.code != 0 {
		t.Fatalf("smbkrb %s: %v", strings.Join(args, " "), r)
	}
	return r
}

// TestEntraCLI is the Entra flow from the command line, every run a new
// process in a namespace whose port 88 is rejected: register (device
// code), status, login with a password, klist, put and get byte-exact on
// the storage account without signing in again, the MFA user through
// --device-code, the errors, unregister.
func TestEntraCLI(t *testing.T) {
	labtest.Need(t)
	startEntraLab(t)
	l := &entraLab
	c := newClient(t)
	conf := c.entraConfig(t)
	cfg := []string{"--config", conf}
	args := func(a ...string) []string { return append(append([]string{}, a...), cfg...) }

	// doctor before the registration: the tenant and its KDC proxy
	// answer (the clock read through it), the device is missing.
	r := c.runNS(t, nil, "", args("doctor", "//"+entraAccount+"/encrypted")...)
	if r.code != exitAuth || !strings.Contains(r.stdout, "OK   entra tenant: ") || !strings.Contains(r.stdout, "the KDC's clock is") ||
		!strings.Contains(r.stdout, "FAIL entra device: ") || !strings.Contains(r.stdout, "try: register this device first: smbkrb entra register") {
		t.Errorf("doctor on an unregistered device: %v", r)
	}

	r = c.okNS(t, nil, l.alice.UPN, args("entra", "register", "--name", "cli-test")...)
	if !strings.Contains(r.stdout, "registered device ") {
		t.Errorf("register said: %s", r.stdout)
	}
	c.failsNS(t, exitUsage, []string{"already registered", "entra unregister"}, nil, args("entra", "register")...)

	r = c.okNS(t, nil, "", args("entra", "status", "--json")...)
	var st entraStatusJSON
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.DeviceID == "" || st.SignedIn {
		t.Fatalf("status before login: %+v, %v", st, err)
	}
	for _, name := range []string{"device.json", "device-key.pem", "transport-key.pem"} {
		fi, err := os.Stat(filepath.Join(c.dir, "device", name))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v", name, err, fi.Mode())
		}
	}

	// Errors before a good login: no sign-in yet, a wrong password.
	c.failsNS(t, exitAuth, []string{"sign in first", "smbkrb entra login"}, nil, args("ls", "//"+entraAccount+"/encrypted")...)
	c.failsNS(t, exitAuth, []string{"AADSTS50126", "password is wrong"}, strings.NewReader("wrong\n"),
		args("entra", "login", "--password-stdin", l.alice.UPN)...)

	r = c.okNS(t, strings.NewReader(l.alice.Password+"\n"), "", args("entra", "login", "--password-stdin", l.alice.UPN)...)
	if !strings.Contains(r.stdout, "signed in as "+l.alice.UPN) {
		t.Errorf("login said: %s", r.stdout)
	}
	r = c.okNS(t, nil, "", args("klist")...)
	if !strings.Contains(r.stdout, "Cloud TGT: ") || !strings.Contains(r.stdout, "krbtgt/"+entra.KerberosRealm) {
		t.Errorf("klist does not show the cloud TGT:\n%s", r.stdout)
	}
	// doctor signed in: every step to the tree connect.
	r = c.okNS(t, nil, "", args("doctor", "//"+entraAccount+"/encrypted")...)
	for _, want := range []string{"OK   entra sign-in: " + l.alice.UPN, "OK   realm: " + entraAccount + " is in " + entra.KerberosRealm,
		"OK   service ticket: cifs/" + entraAccount, "OK   tree connect: share encrypted: encrypted"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("doctor signed in does not say %q:\n%s", want, r.stdout)
		}
	}

	// A new process for each file command: the saved sign-in serves.
	prts := l.emu.Requests("prt")
	data := make([]byte, 2<<20+99)
	rand.Read(data)
	local := filepath.Join(c.dir, "up.bin")
	if err := os.WriteFile(local, data, 0o600); err != nil {
		t.Fatal(err)
	}
	dst := "//" + entraAccount + "/encrypted/cli-entra.bin"
	r = c.okNS(t, nil, "", args("put", "-v", local, dst)...)
	if !strings.Contains(r.stderr, "SPN cifs/"+entraAccount+"@"+entra.KerberosRealm) || !strings.Contains(r.stderr, "share encrypted: encrypted") {
		t.Errorf("put -v does not describe the Entra session:\n%s", r.stderr)
	}
	back := filepath.Join(c.dir, "down.bin")
	c.okNS(t, nil, "", args("get", dst, back)...)
	got, err := os.ReadFile(back)
	if err != nil || sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("the file came back different (%d bytes, %v)", len(got), err)
	}
	if n := l.emu.Requests("prt"); n != prts {
		t.Errorf("the file commands signed in again (%d PRT requests)", n-prts)
	}
	r = c.okNS(t, nil, "", args("klist", "--json")...)
	var kl klistJSON
	if err := json.Unmarshal([]byte(r.stdout), &kl); err != nil || kl.Entra == nil {
		t.Fatalf("klist --json: %v\n%s", err, r.stdout)
	}
	found := false
	for _, tk := range kl.Entra.Tickets {
		found = found || strings.HasPrefix(tk.Server, "cifs/"+entraAccount+"@")
	}
	if !found || kl.Entra.User != l.alice.UPN {
		t.Errorf("klist --json Entra part: %+v", kl.Entra)
	}

	// The MFA user: the password path says what to do; the device code
	// works.
	c.failsNS(t, exitAuth, []string{"multi-factor", "--device-code"}, strings.NewReader(l.bob.Password+"\n"),
		args("entra", "login", "--password-stdin", l.bob.UPN)...)
	r = c.okNS(t, nil, l.bob.UPN, args("entra", "login", "--device-code")...)
	if !strings.Contains(r.stdout, "signed in as "+l.bob.UPN) {
		t.Errorf("device-code login said: %s", r.stdout)
	}
	c.okNS(t, nil, "", args("ls", "//"+entraAccount+"/encrypted")...)

	// Unregister deletes the device at the emulator and here.
	r = c.okNS(t, nil, "", args("entra", "unregister")...)
	if len(l.emu.Devices()) != 0 && containsDevice(l.emu.Devices(), st.DeviceID) {
		t.Error("the emulator still has the device")
	}
	if _, err := os.Stat(filepath.Join(c.dir, "device", "device-key.pem")); !os.IsNotExist(err) {
		t.Errorf("the device key is still there: %v", err)
	}
	c.failsNS(t, exitAuth, []string{"no device is registered", "smbkrb entra register"}, nil, args("entra", "status")...)
}

// failsNS is fails in the client namespace.
func (c *client) failsNS(t *testing.T, code int, phrases []string, stdin io.Reader, args ...string) result {
	t.Helper()
	r := c.runNS(t, stdin, "", args...)
	if r.code != code {
		t.Fatalf("smbkrb %s: want exit %d, got %v", strings.Join(args, " "), code, r)
	}
	for _, p := range phrases {
		if !strings.Contains(strings.ToLower(r.stderr), strings.ToLower(p)) {
			t.Errorf("smbkrb %s: stderr does not mention %q: %s", strings.Join(args, " "), p, r.stderr)
		}
	}
	return r
}

func containsDevice(ids []string, id string) bool {
	for _, d := range ids {
		if strings.EqualFold(d, id) {
			return true
		}
	}
	return false
}
