// Package samba starts real Samba AD domain controllers for tests and
// benchmarks: a Heimdal-based KDC on port 88 and an SMB3 server on port 445,
// on a loopback address of their own.
//
// Each DC lives in a directory of the caller's (usually t.TempDir()): its
// database, configuration, shares, sockets and logs. Nothing is read from or
// written to /etc/samba or /var/lib/samba. The first Start for a realm,
// domain and host name provisions a template domain (3–5 s) in a temporary
// directory; later Starts in the same process copy it (same realm, SID and
// keys), which takes well under a second. The template's DNS records name
// the first DC's address, which does not matter with Samba's DNS server off.
// CleanupTemplates removes the templates, for example at the end of TestMain.
//
// samba runs with its stdin on a pipe held by this process: Close closes it,
// and if the test process dies the DC exits by itself too.
//
// Samba's smbd finds winbindd at the hard-coded /run/samba/winbindd, so each
// DC runs in a mount namespace of its own with Dir/run bind-mounted over
// /run/samba. Tools that talk to winbindd (wbinfo, smbstatus) must run
// inside that namespace: see DC.InNamespace.
//
// Facts found with these DCs that tests must plan for:
//
//   - Only one DC can listen on a given extra address (ExtraAddrs): every
//     service binds it, so two DCs on one namespace's host address fail to
//     start. Give each DC that a namespace must reach a namespace of its
//     own.
//   - The KDC refuses a service ticket from a TGT with less than about five
//     minutes left ("Ticket expired" at the TGS): tickets shorter than that
//     cannot be used, so a test of ticket expiry takes over five minutes.
//   - smbd expires an SMB session at its ticket's end: the next request is
//     answered STATUS_NETWORK_SESSION_EXPIRED.
//   - A DC of realm KERBEROS.MICROSOFTONLINE.COM or
//     FILES.AZURE.STORAGE.MICROSOFT.COM plays an Azure Files account when
//     the account's cifs/ SPN is on the DC's own machine account
//     (ExtraSPNs).
//
// It needs root and the Debian packages samba, samba-ad-dc, winbind,
// iproute2 and util-linux (unshare, nsenter); .ci/run installs them.
package samba

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/labtool"
)

// Options describes a DC. Realm, Domain, HostName and Addr default to
// LAB.TEST, LAB, dc1 and 127.0.0.2.
type Options struct {
	// Realm is the Kerberos realm and, in lower case, the DNS domain,
	// such as "LAB.TEST".
	Realm string
	// Domain is the NetBIOS domain name, such as "LAB".
	Domain string
	// HostName is the DC's short host name, such as "dc1"; its FQDN is
	// HostName.realm in lower case.
	HostName string
	// Addr is the loopback address (127.0.0.0/8) the DC listens on. Start
	// adds it to lo if it is missing and never removes it.
	Addr string
	// ExtraAddrs are more addresses the DC listens on (ports 88 and 445),
	// such as the host side of a network namespace's veth pair
	// (netns.NS.HostAddr), so that clients there reach it. Unlike Addr,
	// they must already be on an interface: Start adds nothing.
	ExtraAddrs []string
	// ExtraSPNs are service principal names added to the DC's own machine
	// account (HOSTNAME$), such as "cifs/acct.file.core.windows.net": smbd
	// accepts tickets for them.
	ExtraSPNs []string
	// ClockOffset runs the DC (KDC and SMB server) with its clock this far
	// from the real one, through faketime (Debian package faketime), for
	// clock-skew tests.
	ClockOffset time.Duration
	// ReadyTimeout bounds the wait for the DC to serve; 0 means 60 s.
	ReadyTimeout time.Duration
	// Global are extra "key = value" lines for smb.conf's [global]
	// section, such as "server smb3 encryption algorithms = AES-256-GCM"
	// or "server max protocol = SMB3_00". A line naming a parameter the
	// DC sets itself (compared as Samba does: case and spaces do not
	// count) replaces that line, so "server min protocol = SMB3_11"
	// overrides the default SMB2_10; other lines come after the DC's own.
	// Start refuses a line that is not "key = value" or that holds '#' or
	// ';' (smb.conf has no trailing comments). DC.Parameter shows what
	// Samba made of them.
	Global []string
}

// DC is a running Samba AD domain controller.
type DC struct {
	// Realm is the Kerberos realm, such as "LAB.TEST".
	Realm string
	// Domain is the NetBIOS domain name, such as "LAB".
	Domain string
	// HostName is the short host name, such as "dc1".
	HostName string
	// FQDN is the DC's DNS name, such as "dc1.lab.test"; the SMB service
	// principal is cifs/FQDN.
	FQDN string
	// Addr is the loopback address the DC listens on (ports 88 and 445).
	Addr string
	// ExtraAddrs are the other addresses the DC listens on (see
	// Options.ExtraAddrs).
	ExtraAddrs []string
	// Dir holds the DC's database, configuration, shares and logs.
	Dir string
	// Config is the path of the DC's smb.conf.
	Config string
	// AdminPassword is the password of the domain's Administrator.
	AdminPassword string

	clockOffset  time.Duration
	global       []string
	readyTimeout time.Duration

	// life serializes Close, Stop and StartAgain; mu guards the fields
	// below and is never held while waiting for samba to serve, so that
	// InNamespace works during a start.
	life   sync.Mutex
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	done   chan error
	out    *os.File
	closed bool
	mu     sync.Mutex
}

// Share names served by every DC. Their directories (see ShareDir) have
// mode 0777, and Start makes Dir and the directories above it searchable
// by others (o+x) so that smbd, acting as a domain user, reaches them.
const (
	// ShareSigned is a read-write share (signing is mandatory server-wide).
	ShareSigned = "signed"
	// ShareEncrypted is a read-write share with smb encrypt = required.
	ShareEncrypted = "encrypted"
	// ShareReadOnly is a share that refuses writes.
	ShareReadOnly = "readonly"
)

type templateKey struct{ realm, domain, host string }

type template struct {
	dir, adminPassword string
}

var (
	templatesMu sync.Mutex
	templates   = map[templateKey]*template{}
)

// CleanupTemplates removes the provisioned templates this process made.
// Later Starts provision again.
func CleanupTemplates() {
	templatesMu.Lock()
	defer templatesMu.Unlock()
	for k, t := range templates {
		os.RemoveAll(t.dir)
		delete(templates, k)
	}
}

// ShareDir is the directory on disk behind share name.
func (d *DC) ShareDir(name string) string {
	return filepath.Join(d.Dir, "shares", name)
}

// Start makes a DC in dir (which should be empty or missing) and waits until
// it serves Kerberos and SMB. The caller must Close it.
func Start(dir string, opts Options) (*DC, error) {
	if opts.Realm == "" {
		opts.Realm = "LAB.TEST"
	}
	if opts.Domain == "" {
		opts.Domain = "LAB"
	}
	if opts.HostName == "" {
		opts.HostName = "dc1"
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.2"
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 60 * time.Second
	}
	opts.Realm = strings.ToUpper(opts.Realm)
	opts.Domain = strings.ToUpper(opts.Domain)
	opts.HostName = strings.ToLower(opts.HostName)
	ip := net.ParseIP(opts.Addr)
	if ip == nil || ip.To4() == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("samba: address %q is not an IPv4 loopback address", opts.Addr)
	}
	for _, a := range opts.ExtraAddrs {
		if net.ParseIP(a) == nil {
			return nil, fmt.Errorf("samba: extra address %q is not an IP address", a)
		}
	}
	if err := checkGlobal(opts.Global); err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("samba: a Samba AD DC needs root")
	}
	for _, tool := range []string{"samba", "samba-tool", "unshare", "nsenter", "wbinfo", "ip"} {
		if _, err := lookTool(tool); err != nil {
			return nil, err
		}
	}
	if err := ensureAddr(opts.Addr); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	tmpl, err := getTemplate(opts)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// cp -a keeps the NT ACLs Samba stores in extended attributes.
	if out, err := exec.Command("cp", "-a", tmpl.dir+"/.", dir+"/").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("samba: copy template: %v: %s", err, out)
	}
	if err := searchable(dir); err != nil {
		return nil, err
	}
	d := &DC{
		Realm:         opts.Realm,
		Domain:        opts.Domain,
		HostName:      opts.HostName,
		FQDN:          opts.HostName + "." + strings.ToLower(opts.Realm),
		Addr:          opts.Addr,
		ExtraAddrs:    append([]string(nil), opts.ExtraAddrs...),
		clockOffset:   opts.ClockOffset,
		global:        append([]string(nil), opts.Global...),
		readyTimeout:  opts.ReadyTimeout,
		Dir:           dir,
		Config:        filepath.Join(dir, "etc", "smb.conf"),
		AdminPassword: tmpl.adminPassword,
	}
	for _, sub := range []string{"run", "lock", "cache", "log", "bind-dns"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, err
		}
	}
	for _, s := range []string{ShareSigned, ShareEncrypted, ShareReadOnly} {
		p := d.ShareDir(s)
		if err := os.MkdirAll(p, 0o777); err != nil {
			return nil, err
		}
		// A test lab: every domain user may write (the share setting
		// still makes ShareReadOnly refuse writes).
		if err := os.Chmod(p, 0o777); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(d.Config, []byte(d.smbConf()), 0o644); err != nil {
		return nil, err
	}
	for _, spn := range opts.ExtraSPNs {
		if err := d.AddSPN(spn); err != nil {
			return nil, err
		}
	}
	if err := d.start(); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func lookTool(name string) (string, error) {
	p, err := labtool.Find(name, "samba, samba-ad-dc, winbind, iproute2, util-linux and faketime")
	if err != nil {
		return "", fmt.Errorf("samba: %w", err)
	}
	return p, nil
}

// searchable adds search permission for others (o+x) to dir and every
// directory above it that lacks it: smbd opens share files as the domain
// user's uid, which must traverse the path (t.TempDir() makes 0700
// directories). Nothing else about the modes changes.
func searchable(dir string) error {
	for p := dir; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(p, fi.Mode().Perm()|0o001); err != nil {
				return fmt.Errorf("samba: make %s searchable: %w", p, err)
			}
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// ensureAddr adds addr/8 to lo unless lo already has it.
func ensureAddr(addr string) error {
	ifc, err := net.InterfaceByName("lo")
	if err != nil {
		return fmt.Errorf("samba: loopback interface: %w", err)
	}
	addrs, err := ifc.Addrs()
	if err != nil {
		return fmt.Errorf("samba: loopback addresses: %w", err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.String() == addr {
			return nil
		}
	}
	ipTool, _ := lookTool("ip")
	out, err := exec.Command(ipTool, "addr", "add", addr+"/8", "dev", "lo").CombinedOutput()
	if err != nil && !strings.Contains(string(out), "File exists") {
		return fmt.Errorf("samba: ip addr add %s/8 dev lo: %v: %s", addr, err, out)
	}
	return nil
}

// getTemplate returns the provisioned template for opts, provisioning it the
// first time.
func getTemplate(opts Options) (*template, error) {
	key := templateKey{opts.Realm, opts.Domain, opts.HostName}
	templatesMu.Lock()
	defer templatesMu.Unlock()
	if t, ok := templates[key]; ok {
		return t, nil
	}
	dir, err := os.MkdirTemp("", "samba-template-")
	if err != nil {
		return nil, fmt.Errorf("samba: template dir: %w", err)
	}
	pw := labtool.Password()
	tool, _ := lookTool("samba-tool")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, "domain", "provision",
		"--targetdir="+dir,
		"--realm="+opts.Realm,
		"--domain="+opts.Domain,
		"--server-role=dc",
		"--dns-backend=SAMBA_INTERNAL",
		"--adminpass="+pw,
		"--host-name="+opts.HostName,
		"--host-ip="+opts.Addr,
	)
	cmd.Env = cleanEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		// The output does not echo the password; the arguments are left out.
		return nil, fmt.Errorf("samba: samba-tool domain provision failed: %v: %s", err, tail(out, 3000))
	}
	// The provisioned smb.conf is replaced per DC; the lock directory
	// holds only run-time caches.
	for _, f := range []string{"etc/smb.conf", "msg.sock", "msg.lock", "names.tdb", "gencache.tdb"} {
		os.RemoveAll(filepath.Join(dir, f))
	}
	t := &template{dir: dir, adminPassword: pw}
	templates[key] = t
	return t, nil
}

func (d *DC) smbConf() string {
	p := func(rel string) string { return filepath.Join(d.Dir, rel) }
	fixed := []string{
		"netbios name = " + strings.ToUpper(d.HostName),
		"realm = " + d.Realm,
		"workgroup = " + d.Domain,
		"server role = active directory domain controller",
		"server services = -dns -nbt -dnsupdate",
		"interfaces = " + strings.Join(append([]string{d.Addr}, d.ExtraAddrs...), " "),
		"bind interfaces only = yes",
		"disable netbios = yes",
		"smb ports = 445",
		"dns forwarder =",
		"ntlm auth = disabled",
		"server signing = mandatory",
		"server min protocol = SMB2_10",
		"tls enabled = no",
		"log level = 1",
		"logging = file",
		"log file = " + p("log/samba.log"),
		"max log size = 0",
		"panic action =",
		"load printers = no",
		"printing = bsd",
		"printcap name = /dev/null",
		"disable spoolss = yes",
		"private dir = " + p("private"),
		"binddns dir = " + p("bind-dns"),
		"lock directory = " + p("lock"),
		"state directory = " + p("state"),
		"cache directory = " + p("cache"),
		"pid directory = " + p("run"),
		"ncalrpc dir = " + p("run/ncalrpc"),
		"winbindd socket directory = " + p("run/winbindd"),
		"ntp signd socket directory = " + p("run/ntp_signd"),
	}
	var b strings.Builder
	b.WriteString("[global]\n")
	for _, l := range mergeGlobal(fixed, d.global) {
		b.WriteString("\t" + l + "\n")
	}
	fmt.Fprintf(&b, `
[sysvol]
	path = %s
	read only = no

[netlogon]
	path = %s
	read only = no

[%s]
	path = %s
	read only = no

[%s]
	path = %s
	read only = no
	smb encrypt = required

[%s]
	path = %s
	read only = yes
`,
		p("state/sysvol"), p("state/sysvol/"+strings.ToLower(d.Realm)+"/scripts"),
		ShareSigned, d.ShareDir(ShareSigned),
		ShareEncrypted, d.ShareDir(ShareEncrypted),
		ShareReadOnly, d.ShareDir(ShareReadOnly),
	)
	return b.String()
}

// cleanEnv is the process environment without Kerberos and Python
// variables, so that a developer's KRB5CCNAME or a pyenv PYTHONPATH never
// leaks into Samba (Debian's Python modules need /usr/bin/python3).
func cleanEnv() []string {
	return append(labtool.Env("KRB5", "PYTHON", "PATH="), "PATH=/usr/sbin:/usr/bin:/sbin:/bin")
}

// start starts samba on d's directory and configuration and waits until it
// serves. Its output is appended to log/samba.out, so that a restarted
// DC's log keeps the earlier runs.
func (d *DC) start() error {
	timeout := d.readyTimeout
	if err := os.MkdirAll("/run/samba", 0o755); err != nil {
		return fmt.Errorf("samba: %w", err)
	}
	unshare, _ := lookTool("unshare")
	sambaBin, _ := lookTool("samba")
	// unshare execs (no --fork), and so does sh: the process started is
	// samba itself, in its own mount namespace.
	script, args := `mount --bind "$1" /run/samba && exec "$2" -i -M single -s "$3"`, []string{}
	if d.clockOffset != 0 {
		ft, err := lookTool("faketime")
		if err != nil {
			return err
		}
		script = `mount --bind "$1" /run/samba && exec "$4" -f "$5" "$2" -i -M single -s "$3"`
		args = []string{ft, fmt.Sprintf("%+ds", int(d.clockOffset.Seconds()))}
	}
	out, err := os.OpenFile(filepath.Join(d.Dir, "log", "samba.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(unshare, append([]string{"--mount", "--propagation", "private",
		"sh", "-c", script, "sh", filepath.Join(d.Dir, "run"), sambaBin, d.Config}, args...)...)
	cmd.Env = cleanEnv()
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		out.Close()
		return err
	}
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("samba: start samba: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	d.mu.Lock()
	d.cmd, d.stdin, d.done, d.out = cmd, stdin, done, out
	d.mu.Unlock()

	deadline := time.Now().Add(timeout)
	stage := "ports 88 and 445"
	var lastErr error
	wait := func() error {
		select {
		case err := <-done:
			done <- err
			return fmt.Errorf("samba: samba exited before serving (%v)%s", err, d.logTail())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("samba: DC %s did not become ready within %v (waiting for %s: %v)%s", d.FQDN, timeout, stage, lastErr, d.logTail())
		}
		return nil
	}
	for _, addr := range append([]string{d.Addr}, d.ExtraAddrs...) {
		for _, port := range []string{"88", "445"} {
			for {
				c, err := net.DialTimeout("tcp", net.JoinHostPort(addr, port), 200*time.Millisecond)
				lastErr = err
				if err == nil {
					c.Close()
					break
				}
				if err := wait(); err != nil {
					return err
				}
			}
		}
	}
	// The first session setup can fail for a moment after the ports
	// open, until winbindd answers.
	stage = "wbinfo"
	for {
		_, err := d.InNamespace("wbinfo", "-i", d.Domain+`\administrator`)
		if err == nil {
			return nil
		}
		lastErr = err
		if err := wait(); err != nil {
			return err
		}
	}
}

// InNamespace runs a tool (such as wbinfo or smbstatus) inside the DC's
// mount namespace, where /run/samba is the DC's own, and returns its
// combined output.
func (d *DC) InNamespace(tool string, args ...string) (string, error) {
	d.mu.Lock()
	cmd := d.cmd
	d.mu.Unlock()
	if cmd == nil {
		return "", errors.New("samba: DC is not running")
	}
	nsenter, err := lookTool("nsenter")
	if err != nil {
		return "", err
	}
	path, err := lookTool(tool)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := append([]string{"-t", fmt.Sprint(cmd.Process.Pid), "-m", path}, args...)
	if tool == "smbstatus" {
		a = append(a, "--configfile="+d.Config)
	}
	c := exec.CommandContext(ctx, nsenter, a...)
	c.Env = cleanEnv()
	out, err := c.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("samba: %s failed: %v: %s", tool, err, tail(out, 2000))
	}
	return string(out), nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(bytes.TrimSpace(b))
}

func (d *DC) logTail() string {
	var s string
	for _, f := range []string{"log/samba.out", "log/samba.log"} {
		b, err := os.ReadFile(filepath.Join(d.Dir, f))
		if err != nil || len(b) == 0 {
			continue
		}
		s += "\n" + f + ":\n" + tail(b, 3000)
	}
	return s
}

// SambaTool runs samba-tool with the DC's configuration and returns its
// combined output. Errors name the subcommand but never the arguments,
// which may hold passwords.
func (d *DC) SambaTool(args ...string) (string, error) {
	tool, err := lookTool("samba-tool")
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, append(args, "-s", d.Config)...)
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		sub := "samba-tool"
		for i, a := range args {
			if i == 2 || strings.HasPrefix(a, "-") {
				break
			}
			sub += " " + a
		}
		return string(out), fmt.Errorf("samba: %s failed: %v: %s", sub, err, tail(out, 2000))
	}
	return string(out), nil
}

// AddUser creates a domain user whose password never expires.
func (d *DC) AddUser(name, password string) error {
	if _, err := d.SambaTool("user", "create", name, password); err != nil {
		return err
	}
	_, err := d.SambaTool("user", "setexpiry", name, "--noexpiry")
	return err
}

// SetUPN sets a user's userPrincipalName, such as
// "alice@contoso.onmicrosoft.com" (kinit -E then logs in with it). It
// writes the directory directly, as ldbmodify would, because samba-tool
// refuses UPN suffixes the forest does not list.
func (d *DC) SetUPN(user, upn string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/bin/python3", "-c", setUPNScript, d.Config, user, upn)
	cmd.Env = cleanEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("samba: set userPrincipalName of %s: %v: %s", user, err, tail(out, 2000))
	}
	return nil
}

const setUPNScript = `
import sys, ldb
from samba.samdb import SamDB
from samba.param import LoadParm
from samba.auth import system_session
conf, user, upn = sys.argv[1:4]
lp = LoadParm()
lp.load(conf)
db = SamDB(url=lp.private_path("sam.ldb"), session_info=system_session(), lp=lp)
res = db.search(base=db.domain_dn(), scope=ldb.SCOPE_SUBTREE,
    expression="(sAMAccountName=%s)" % ldb.binary_encode(user), attrs=[])
if len(res) != 1:
    sys.exit("no single user named %s" % user)
m = ldb.Message(res[0].dn)
m["userPrincipalName"] = ldb.MessageElement(upn, ldb.FLAG_MOD_REPLACE, "userPrincipalName")
db.modify(m)
`

// AddSPN adds a service principal name to the DC's own machine account, so
// that smbd accepts tickets for it.
func (d *DC) AddSPN(spn string) error {
	_, err := d.SambaTool("spn", "add", spn, strings.ToUpper(d.HostName)+"$")
	return err
}

// ExportKeytab writes the current keys of principal (such as
// "alice@LAB.TEST" or "cifs/dc1.lab.test") into the keytab file path.
func (d *DC) ExportKeytab(path, principal string) error {
	if _, err := d.SambaTool("domain", "exportkeytab", path, "--principal="+principal); err != nil {
		return err
	}
	return os.Chmod(path, 0o600)
}

// Close stops samba: it closes samba's stdin, on which samba exits cleanly,
// and kills its process group after a grace period. Files stay in Dir,
// which belongs to the caller. Close after Stop is fine; a closed DC
// cannot start again.
func (d *DC) Close() error {
	d.life.Lock()
	defer d.life.Unlock()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	d.stopLocked()
	return nil
}

// stopLocked stops a running samba and forgets it; d.mu is held.
func (d *DC) stopLocked() {
	if d.cmd != nil {
		d.stdin.Close()
		select {
		case <-d.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
			<-d.done
		}
		// Children left behind by samba die with the group.
		_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		d.cmd, d.stdin, d.done = nil, nil, nil
	}
	if d.out != nil {
		d.out.Close()
		d.out = nil
	}
}
