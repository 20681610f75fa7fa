// Package mitkdc starts a throwaway MIT Kerberos KDC for tests and benchmarks.
//
// The KDC runs unprivileged on a loopback port, with its database, stash,
// keytabs and logs in a directory of the caller's (usually t.TempDir()).
// Principals and keytabs are made at run time through kadmin.local; nothing
// is read from or written to /etc. A KDC lives about 75 ms from Start to Close.
//
// It needs the Debian packages krb5-kdc and krb5-admin-server (kdb5_util,
// kadmin.local, krb5kdc in /usr/sbin); .ci/run installs them.
package mitkdc

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/labtool"
)

// Options tunes a KDC. The zero value is a realm MITLAB.TEST with AES keys.
type Options struct {
	// Realm is the realm served; "" means MITLAB.TEST.
	Realm string
	// MaxLife is the longest ticket the KDC issues; 0 means 10 hours.
	MaxLife time.Duration
	// ClockSkew is the KDC's tolerance; 0 means MIT's 5 minutes.
	ClockSkew time.Duration
	// ExtraRealms are served by the same KDC, each with its own database
	// (for cross-realm tests; a KDC serving several realms also answers
	// WRONG_REALM for realms it does not serve).
	ExtraRealms []string
	// ClockOffset runs the KDC with its clock this far from the real one
	// (through faketime, from the Debian package of that name), for clock
	// skew tests.
	ClockOffset time.Duration
	// DomainRealms maps host names or .domain suffixes to realms in the
	// KDC's own profile, so it answers referrals for host-based services
	// (cifs, host, HTTP) it does not hold.
	DomainRealms map[string]string
}

// KDC is a running krb5kdc process and the files it uses.
type KDC struct {
	// Realm is the realm the KDC serves.
	Realm string
	// Addr is the KDC's TCP address, 127.0.0.1:port.
	Addr string
	// Dir holds the database, configuration and logs.
	Dir string
	// ClientConfig is the path of a krb5.conf that points MIT's own tools
	// (kinit, klist, kvno) at this KDC; use it through Env.
	ClientConfig string

	cmd  *exec.Cmd
	done chan error
	env  []string
}

// Start creates a database in dir and starts krb5kdc on a free loopback port.
// The caller must Close it.
func Start(dir string, opts Options) (*KDC, error) {
	if opts.Realm == "" {
		opts.Realm = "MITLAB.TEST"
	}
	if opts.MaxLife == 0 {
		opts.MaxLife = 10 * time.Hour
	}
	for _, tool := range []string{"kdb5_util", "kadmin.local", "krb5kdc"} {
		if _, err := lookTool(tool); err != nil {
			return nil, err
		}
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		k, err := start(dir, opts)
		if err == nil {
			return k, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func lookTool(name string) (string, error) {
	p, err := labtool.Find(name, "krb5-kdc and krb5-admin-server")
	if err != nil {
		return "", fmt.Errorf("mitkdc: %w", err)
	}
	return p, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func start(dir string, opts Options) (*KDC, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("mitkdc: free port: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	k := &KDC{
		Realm:        opts.Realm,
		Addr:         net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Dir:          dir,
		ClientConfig: filepath.Join(dir, "krb5.conf"),
	}
	skew := ""
	if opts.ClockSkew > 0 {
		skew = fmt.Sprintf(" clockskew = %d\n", int(opts.ClockSkew.Seconds()))
	}
	realms := append([]string{opts.Realm}, opts.ExtraRealms...)
	var rb strings.Builder
	for _, r := range realms {
		fmt.Fprintf(&rb, ` %[1]s = {
  database_name = %[3]s/principal-%[1]s
  key_stash_file = %[3]s/stash-%[1]s
  acl_file = %[3]s/kadm5.acl
  max_life = %[4]ds
  max_renewable_life = 7d
  supported_enctypes = aes256-cts-hmac-sha1-96:normal aes256-cts-hmac-sha384-192:normal
  host_based_services = cifs host HTTP
  kdc_listen = 127.0.0.1:%[2]d
  kdc_tcp_listen = 127.0.0.1:%[2]d
 }
`, r, port, dir, int(opts.MaxLife.Seconds()))
	}
	kdcConf := fmt.Sprintf(`[kdcdefaults]
 kdc_listen = 127.0.0.1:%[1]d
 kdc_tcp_listen = 127.0.0.1:%[1]d
[realms]
%[3]s[logging]
 kdc = FILE:%[2]s/kdc.log
 admin_server = FILE:%[2]s/kadmin.log
 default = FILE:%[2]s/krb5lib.log
`, port, dir, rb.String())
	var cr strings.Builder
	for _, r := range realms {
		fmt.Fprintf(&cr, " %s = {\n  kdc = 127.0.0.1:%d\n }\n", r, port)
	}
	var dr strings.Builder
	for host, realm := range opts.DomainRealms {
		fmt.Fprintf(&dr, " %s = %s\n", host, realm)
	}
	clientConf := fmt.Sprintf(`[libdefaults]
 default_realm = %[1]s
 dns_lookup_kdc = false
 dns_lookup_realm = false
 dns_canonicalize_hostname = false
 rdns = false
 udp_preference_limit = 1
%[3]s[realms]
%[4]s[domain_realm]
%[5]s[logging]
 default = FILE:%[2]s/krb5lib.log
`, opts.Realm, dir, skew, cr.String(), dr.String())
	// The KDC reads the client profile too (libdefaults such as clockskew).
	if err := os.WriteFile(filepath.Join(dir, "kdc.conf"), []byte(kdcConf), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(k.ClientConfig, []byte(clientConf), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "kadm5.acl"), nil, 0o600); err != nil {
		return nil, err
	}
	// No developer KRB5CCNAME or KRB5_CONFIG may leak into the lab.
	k.env = append(labtool.Env("KRB5"),
		"KRB5_CONFIG="+k.ClientConfig,
		"KRB5_KDC_PROFILE="+filepath.Join(dir, "kdc.conf"),
	)
	args := []string{"-n", "-P", filepath.Join(dir, "kdc.pid")}
	for _, r := range realms {
		args = append(args, "-r", r)
		if _, err := os.Stat(filepath.Join(dir, "principal-"+r)); err == nil {
			continue
		}
		master := make([]byte, 16)
		if _, err := rand.Read(master); err != nil {
			return nil, err
		}
		if _, err := k.run("kdb5_util", "create", "-s", "-r", r, "-P", hex.EncodeToString(master)); err != nil {
			return nil, err
		}
	}
	krb5kdc, _ := lookTool("krb5kdc")
	cmd := exec.Command(krb5kdc, args...)
	if opts.ClockOffset != 0 {
		ft, err := exec.LookPath("faketime")
		if err != nil {
			return nil, errors.New("mitkdc: faketime not found: install the Debian package faketime")
		}
		// -f: the KDC's clock runs normally from the offset.
		cmd = exec.Command(ft, append([]string{"-f", fmt.Sprintf("%+ds", int(opts.ClockOffset.Seconds())), krb5kdc}, args...)...)
	}
	cmd.Env = k.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	// Its own process group: Close stops faketime's child too, and a
	// leftover child holding the output pipe cannot stall Wait.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("mitkdc: start krb5kdc: %w", err)
	}
	k.cmd = cmd
	k.done = make(chan error, 1)
	go func() { k.done <- cmd.Wait() }()

	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", k.Addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return k, nil
		}
		select {
		case err := <-k.done:
			k.cmd = nil
			return nil, fmt.Errorf("mitkdc: krb5kdc exited before listening (%v): %s%s", err, stderr.String(), k.logTail())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			k.Close()
			return nil, fmt.Errorf("mitkdc: krb5kdc did not listen on %s within 10s%s", k.Addr, k.logTail())
		}
	}
}

func (k *KDC) logTail() string {
	b, err := os.ReadFile(filepath.Join(k.Dir, "kdc.log"))
	if err != nil || len(b) == 0 {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return "\nkdc.log:\n" + string(b)
}

func (k *KDC) run(tool string, args ...string) (string, error) {
	path, err := lookTool(tool)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = k.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		// Arguments may hold a password: name only the tool.
		return string(out), fmt.Errorf("mitkdc: %s failed: %v: %s", tool, err, out)
	}
	return string(out), nil
}

// Kadmin runs one kadmin.local query, such as "getprinc alice", in the
// main realm.
func (k *KDC) Kadmin(query string) (string, error) {
	return k.KadminRealm(k.Realm, query)
}

// KadminRealm runs one kadmin.local query in realm.
func (k *KDC) KadminRealm(realm, query string) (string, error) {
	return k.run("kadmin.local", "-r", realm, "-q", query)
}

// AddPrincipal creates name (without or with @REALM) with a password.
func (k *KDC) AddPrincipal(name, password string) error {
	if strings.ContainsAny(password, "\"\n") {
		return errors.New("mitkdc: password must not contain quotes or newlines")
	}
	_, err := k.run("kadmin.local", "-r", k.Realm, "-q", fmt.Sprintf("addprinc -pw \"%s\" %s", password, name))
	return err
}

// AddRandomKey creates name with a random key, as for a service.
func (k *KDC) AddRandomKey(name string) error {
	_, err := k.Kadmin("addprinc -randkey " + name)
	return err
}

// Keytab writes the current keys of the principals into the keytab file
// path without changing them (mode 0600).
func (k *KDC) Keytab(path string, principals ...string) error {
	for _, p := range principals {
		if _, err := k.Kadmin(fmt.Sprintf("ktadd -norandkey -k %s %s", path, p)); err != nil {
			return err
		}
	}
	return os.Chmod(path, 0o600)
}

// Env is an environment for MIT's command-line tools (kinit, klist, kvno)
// that points them at this KDC and nowhere else.
func (k *KDC) Env() []string {
	return append([]string(nil), k.env...)
}

// Close stops the KDC. Files stay in Dir, which belongs to the caller.
func (k *KDC) Close() error {
	if k.cmd == nil {
		return nil
	}
	_ = syscall.Kill(-k.cmd.Process.Pid, syscall.SIGKILL)
	<-k.done
	k.cmd = nil
	return nil
}
