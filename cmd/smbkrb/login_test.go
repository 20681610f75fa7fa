package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/kdcproxy"
	"github.com/smbkrb/smbkrb/internal/lab/samba"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
)

// TestLoginFailures: each failure exits with the documented code and says
// what to do.
func TestLoginFailures(t *testing.T) {
	labtest.Need(t)
	ls := func(extra ...string) []string {
		return append(append([]string{"ls", "--config", lab.config}, extra...), remote(samba.ShareSigned, ""))
	}
	withUser := func(user string, extra ...string) []string {
		return ls(append([]string{"--user", user, "--password-stdin"}, extra...)...)
	}
	wrong := func() *strings.Reader { return strings.NewReader("not-" + lab.pw + "\n") }
	cases := []struct {
		name    string
		stdin   func() *strings.Reader
		args    []string
		code    int
		phrases []string
	}{
		{"wrong password", wrong, withUser(lab.user), exitAuth, []string{"password", "try: check the password"}},
		{"wrong password, kinit", wrong, []string{"kinit", "--config", lab.config, "--password-stdin", lab.user}, exitAuth, []string{"password"}},
		{"unknown user", func() *strings.Reader { return strings.NewReader(lab.pw + "\n") }, withUser("nosuchuser@LAB.TEST"), exitAuth, []string{"nosuchuser@LAB.TEST", "does not know"}},
		{"unknown realm", func() *strings.Reader { return strings.NewReader(lab.pw + "\n") }, withUser("cliuser@NOPE.TEST"), exitAuth, []string{"--kdc"}},
		{"unknown server name", func() *strings.Reader { return strings.NewReader(lab.pw + "\n") },
			[]string{"ls", "--config", lab.config, "--user", lab.user, "--password-stdin", "--addr", "nosuch.lab.test=" + lab.dc.Addr, "//nosuch.lab.test/signed"},
			exitAuth, []string{"cifs/nosuch.lab.test", "registered", "--spn"}},
		{"KDC not listening", func() *strings.Reader { return strings.NewReader(lab.pw + "\n") }, withUser(lab.user, "--kdc", "LAB.TEST="+lab.dc.Addr+":1"),
			exitNetwork, []string{"KDC", "connection refused"}},
		{"server not listening", func() *strings.Reader { return strings.NewReader(lab.pw + "\n") }, withUser(lab.user, "--addr", lab.dc.FQDN+"="+lab.dc.Addr+":1"),
			exitNetwork, []string{"connect", "--addr"}},
		{"no tickets", nil, ls(), exitAuth, []string{"no tickets", "smbkrb kinit"}},
		{"no such share", func() *strings.Reader { return strings.NewReader(lab.pw + "\n") },
			[]string{"ls", "--config", lab.config, "--user", lab.user, "--password-stdin", remote("nosuchshare", "")}, exitNotFound, []string{"no share"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t)
			var r result
			if tc.stdin != nil {
				r = c.fails(t, tc.code, tc.phrases, tc.stdin(), tc.args...)
			} else {
				r = c.fails(t, tc.code, tc.phrases, nil, tc.args...)
			}
			if !strings.HasPrefix(r.stderr, "smbkrb: ") {
				t.Errorf("the message does not start with \"smbkrb: \": %s", r.stderr)
			}
			// Remedies in flag terms, never the Go API's.
			for _, goName := range []string{"Config.", "Server.", "Dialer."} {
				if strings.Contains(r.stderr, goName) {
					t.Errorf("the message names the Go API (%s...): %s", goName, r.stderr)
				}
			}
			// A file command with --user keeps its tickets in memory.
			if _, err := os.Stat(strings.TrimPrefix(c.ccache, "FILE:")); tc.args[0] == "ls" && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a cache file appeared: %v", err)
			}
		})
	}
}

// TestUserLogin: with --user, a file command logs in by itself (password
// or keytab) and keeps its tickets in memory; kinit takes a keytab too.
func TestUserLogin(t *testing.T) {
	labtest.Need(t)
	c := newClient(t)
	cacheFile := strings.TrimPrefix(c.ccache, "FILE:")
	c.ok(t, pwStdin(), "ls", "--config", lab.config, "-u", lab.user, "--password-stdin", remote(samba.ShareSigned, ""))
	if _, err := os.Stat(cacheFile); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ls --user wrote the default cache: %v", err)
	}

	kt := filepath.Join(t.TempDir(), "cliuser.keytab")
	if err := lab.dc.ExportKeytab(kt, lab.user); err != nil {
		t.Fatal(err)
	}
	r := c.ok(t, nil, "ls", "-v", "--config", lab.config, "--user", lab.user, "--keytab", kt, remote(samba.ShareEncrypted, ""))
	if !strings.Contains(r.stderr, "keytab "+kt) || !strings.Contains(r.stderr, "credential cache MEMORY:") {
		t.Errorf("ls -v with a keytab: %s", r.stderr)
	}
	if _, err := os.Stat(cacheFile); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ls --keytab wrote the default cache: %v", err)
	}
	c.ok(t, nil, "kinit", "--config", lab.config, "--keytab", kt, lab.user)
	var kl klistJSON
	if err := json.Unmarshal([]byte(c.ok(t, nil, "klist", "--json").stdout), &kl); err != nil || kl.Principal != lab.user {
		t.Fatalf("klist after kinit --keytab: %+v %v", kl, err)
	}
	// A wrong key: a keytab of another principal.
	other := filepath.Join(t.TempDir(), "other.keytab")
	if err := lab.dc.ExportKeytab(other, "cifs/"+lab.dc.FQDN); err != nil {
		t.Fatal(err)
	}
	c.fails(t, exitAuth, []string{other}, nil, "kinit", "--config", lab.config, "--keytab", other, lab.user)

	// An explicit cache with --user is used and kept.
	named := "FILE:" + filepath.Join(c.dir, "named-cache")
	c.ok(t, pwStdin(), "ls", "--config", lab.config, "-u", lab.user, "--password-stdin", "--cache", named, remote(samba.ShareSigned, ""))
	if err := json.Unmarshal([]byte(c.ok(t, nil, "klist", "--json", "--cache", named).stdout), &kl); err != nil || kl.Principal != lab.user || len(kl.Tickets) != 2 {
		t.Fatalf("klist of the named cache: %+v %v", kl, err)
	}
	if fi, err := os.Stat(strings.TrimPrefix(named, "FILE:")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("named cache: %v %v", fi, err)
	}
}

// TestPasswordFile: a private password file works; one that others may
// read is refused.
func TestPasswordFile(t *testing.T) {
	labtest.Need(t)
	c := newClient(t)
	pwFile := filepath.Join(c.dir, "pw")
	if err := os.WriteFile(pwFile, []byte(lab.pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.ok(t, nil, "ls", "--config", lab.config, "--user", lab.user, "--password-file", pwFile, remote(samba.ShareSigned, ""))
	c.ok(t, nil, "kinit", "--config", lab.config, "--password-file", pwFile, lab.user)
	if err := os.Chmod(pwFile, 0o644); err != nil {
		t.Fatal(err)
	}
	c.fails(t, exitUsage, []string{"chmod 600"}, nil, "ls", "--config", lab.config, "--user", lab.user, "--password-file", pwFile, remote(samba.ShareSigned, ""))
	c.fails(t, exitUsage, []string{"--password-stdin"}, nil, "ls", "--config", lab.config, "--user", lab.user, remote(samba.ShareSigned, ""))
	c.fails(t, exitUsage, []string{"need --user"}, nil, "ls", "--config", lab.config, "--password-file", pwFile, remote(samba.ShareSigned, ""))
	c.fails(t, exitUsage, []string{"password and the data"}, pwStdin(), "put", "--config", lab.config, "--user", lab.user, "--password-stdin", "-", remote(samba.ShareSigned, "x"))

	// user and password-file from the configuration file, the path
	// relative to it.
	if err := os.Chmod(pwFile, 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(c.dir, "user.conf")
	base, err := os.ReadFile(lab.config)
	if err != nil {
		t.Fatal(err)
	}
	extra := fmt.Sprintf("user %s\npassword-file pw\n", lab.user)
	if err := os.WriteFile(conf, append(base, extra...), 0o644); err != nil {
		t.Fatal(err)
	}
	c.ok(t, nil, "ls", "--config", conf, remote(samba.ShareSigned, ""))
}

// TestConfigFile: the configuration file is found through --config,
// $SMBKRB_CONFIG and ~/.config/smbkrb/config; flags override it; mistakes
// in it are usage errors. Without a map entry the service ticket comes
// through the KDC's referral.
func TestConfigFile(t *testing.T) {
	labtest.Need(t)
	c := newClient(t)
	c.kinit(t)
	target := remote(samba.ShareSigned, "")

	t.Run("SMBKRB_CONFIG", func(t *testing.T) {
		c2 := *c
		c2.extra = []string{"SMBKRB_CONFIG=" + lab.config}
		c2.ok(t, nil, "ls", target)
		c2.extra = []string{"SMBKRB_CONFIG=" + filepath.Join(c.dir, "missing.conf")}
		c2.fails(t, exitUsage, []string{"missing.conf"}, nil, "ls", target)
	})
	t.Run("home", func(t *testing.T) {
		// Without a configuration the realm has no KDC.
		c.fails(t, exitAuth, []string{"--kdc"}, pwStdin(), "kinit", "--password-stdin", lab.user)
		dir := filepath.Join(c.home, ".config", "smbkrb")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(lab.config)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "config"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		c.ok(t, pwStdin(), "kinit", "--password-stdin", lab.user)
		c.ok(t, nil, "ls", remote(samba.ShareEncrypted, ""))
	})
	t.Run("flags win", func(t *testing.T) {
		// The flag's address for the server replaces the file's.
		c.fails(t, exitNetwork, []string{lab.dc.Addr + ":1"}, nil, "ls", "--config", lab.config, "--addr", lab.dc.FQDN+"="+lab.dc.Addr+":1", target)
		// --encrypt in the file, not on the command line.
		conf := filepath.Join(c.dir, "encrypt.conf")
		data, _ := os.ReadFile(lab.config)
		if err := os.WriteFile(conf, append(data, "encrypt\n"...), 0o644); err != nil {
			t.Fatal(err)
		}
		if r := c.ok(t, nil, "ls", "-v", "--config", conf, target); !strings.Contains(r.stderr, "session encrypted true") {
			t.Errorf("encrypt in the config file: %s", r.stderr)
		}
	})
	t.Run("mistakes", func(t *testing.T) {
		for _, bad := range []string{"nosuchsetting 1\n", "kdc LAB.TEST\n", "kdc LAB.TEST=http://kdc.lab.test/KdcProxy\n", "timeout soon\n", "chunk huge\n"} {
			conf := filepath.Join(c.dir, "bad.conf")
			if err := os.WriteFile(conf, []byte("# a comment\n\n"+bad), 0o644); err != nil {
				t.Fatal(err)
			}
			c.fails(t, exitUsage, []string{"bad.conf:3"}, nil, "get", "--config", conf, remote(samba.ShareSigned, "x"))
		}
	})
	t.Run("referral", func(t *testing.T) {
		// No map and a fresh memory cache: the realm of cifs/dc1.lab.test
		// comes from the KDC. MIT stores the ticket under the name asked
		// for, with the empty referral realm.
		r := c.ok(t, pwStdin(), "ls", "-v", "--kdc", "LAB.TEST="+lab.dc.Addr, "--addr", lab.dc.FQDN+"="+lab.dc.Addr,
			"-u", lab.user, "--password-stdin", target)
		if !strings.Contains(r.stderr, "SPN cifs/"+lab.dc.FQDN+"@") {
			t.Errorf("ls -v through a referral: %s", r.stderr)
		}
	})
}

// TestKDCProxy: the Kerberos traffic goes through an MS-KKDCP proxy over
// HTTPS when the realm's KDC is a proxy URL; its certificate must be
// trusted through --ca.
func TestKDCProxy(t *testing.T) {
	labtest.Need(t)
	p, err := kdcproxy.Start(lab.dc.Addr+":0", map[string][]string{lab.dc.Realm: {lab.dc.Addr + ":88"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := newClient(t)
	args := func(extra ...string) []string {
		return append([]string{"ls", "--kdc", "LAB.TEST=" + p.URL, "--map", ".lab.test=LAB.TEST", "--addr", lab.dc.FQDN + "=" + lab.dc.Addr,
			"-u", lab.user, "--password-stdin"}, append(extra, remote(samba.ShareSigned, ""))...)
	}
	c.fails(t, exitNetwork, []string{"--ca"}, pwStdin(), args()...)
	before := p.Requests()
	c.ok(t, pwStdin(), args("--ca", p.CAFile)...)
	if n := p.Requests() - before; n < 2 {
		t.Errorf("%d requests through the proxy, want an AS and a TGS exchange at least", n)
	}
}

// TestPeerCaches: a FILE: cache written by smbkrb kinit is used by
// smbclient, and one written by MIT kinit by smbkrb.
func TestPeerCaches(t *testing.T) {
	labtest.Need(t)
	for _, tool := range []string{"smbclient", "kinit"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: install smbclient and krb5-user (.ci/install-deps)", tool)
		}
	}
	// MIT's and Samba's configuration for the lab, written by the test.
	conf, err := lab.dc.WritePeer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	peer := func(t *testing.T, c *client, stdin string, name string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Env = append(c.env(), "KRB5_CONFIG="+conf.Krb5Conf)
		cmd.Dir = c.dir
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v: %s", name, err, out)
		}
		return string(out)
	}

	t.Run("smbclient reads smbkrb's cache", func(t *testing.T) {
		c := newClient(t)
		c.kinit(t)
		c.ok(t, strings.NewReader("hello from smbkrb\n"), "put", "--config", lab.config, "-", remote(samba.ShareSigned, "peer-smbkrb.txt"))
		defer c.run(t, nil, "rm", "--config", lab.config, remote(samba.ShareSigned, "peer-smbkrb.txt"))
		out := peer(t, c, "", "smbclient", conf.SmbclientArgs(lab.dc, samba.ShareSigned, c.ccache, "-c", "ls")...)
		if !strings.Contains(out, "peer-smbkrb.txt") {
			t.Fatalf("smbclient ls: %s", out)
		}
	})
	t.Run("smbkrb reads MIT kinit's cache", func(t *testing.T) {
		c := newClient(t)
		peer(t, c, lab.pw+"\n", "kinit", "-c", c.ccache, lab.user)
		var kl klistJSON
		if err := json.Unmarshal([]byte(c.ok(t, nil, "klist", "--json").stdout), &kl); err != nil || kl.Principal != lab.user {
			t.Fatalf("klist of MIT's cache: %+v %v", kl, err)
		}
		// The default cache ($KRB5CCNAME), no --user.
		c.ok(t, nil, "ls", "--config", lab.config, remote(samba.ShareEncrypted, ""))
		out := peer(t, c, "", "klist", "-c", c.ccache)
		if !strings.Contains(out, "cifs/"+lab.dc.FQDN) {
			t.Errorf("MIT klist does not see the service ticket smbkrb added: %s", out)
		}
	})
}

// TestServerNames: a server reached under a name it is not registered
// under works with --spn naming the registered principal.
func TestServerNames(t *testing.T) {
	labtest.Need(t)
	c := newClient(t)
	c.kinit(t)
	alias := "//files.lab.test/" + samba.ShareSigned
	r := c.fails(t, exitAuth, []string{"cifs/files.lab.test", "--spn cifs/NAME"}, nil, "ls", "--config", lab.config, "--addr", "files.lab.test="+lab.dc.Addr, alias)
	// Each thing once: the principal, one remedy, in flag terms.
	if n := strings.Count(r.stderr, "cifs/files.lab.test"); n != 1 || strings.Contains(r.stderr, "Server.SPN") || strings.Count(r.stderr, "registered under") != 1 {
		t.Errorf("an unknown service principal named %d times, or a remedy twice or in Go terms:\n%s", n, r.stderr)
	}
	t.Logf("unknown SPN: %s", r.stderr)
	r = c.ok(t, nil, "ls", "-v", "--config", lab.config, "--addr", "files.lab.test="+lab.dc.Addr, "--spn", "cifs/"+lab.dc.FQDN, alias)
	if !strings.Contains(r.stderr, "server files.lab.test at "+lab.dc.Addr+":445 (SPN cifs/"+lab.dc.FQDN+"@LAB.TEST)") {
		t.Errorf("ls -v with --spn: %s", r.stderr)
	}
	// The port in the path.
	c.ok(t, nil, "ls", "--config", lab.config, "//"+lab.dc.FQDN+":445/"+samba.ShareSigned)
	// An address as the server is refused, unless --spn names the
	// service principal.
	byAddr := "//" + lab.dc.Addr + "/" + samba.ShareSigned
	c.fails(t, exitUsage, []string{"--addr NAME=" + lab.dc.Addr}, nil, "ls", "--config", lab.config, byAddr)
	c.ok(t, nil, "ls", "--config", lab.config, "--spn", "cifs/"+lab.dc.FQDN, byAddr)
}

// TestEnterpriseName: --enterprise logs in with a user principal name
// that the KDC maps to the account.
func TestEnterpriseName(t *testing.T) {
	labtest.Need(t)
	// The same password, so that the output check covers it; a name of
	// its own, so that the test can run more than once against the DC.
	user := fmt.Sprintf("upn%d", time.Now().UnixNano()%1_000_000)
	upn := user + ".name@contoso.example"
	if err := lab.dc.AddUser(user, lab.pw); err != nil {
		t.Fatal(err)
	}
	if err := lab.dc.SetUPN(user, upn); err != nil {
		t.Fatal(err)
	}
	c := newClient(t)
	c.fails(t, exitAuth, []string{"--enterprise"}, pwStdin(), "kinit", "--config", lab.config, "--password-stdin", upn)
	c.ok(t, pwStdin(), "kinit", "--config", lab.config, "--password-stdin", "--enterprise", upn)
	var kl klistJSON
	if err := json.Unmarshal([]byte(c.ok(t, nil, "klist", "--json").stdout), &kl); err != nil || kl.Principal != user+"@LAB.TEST" {
		t.Fatalf("klist after an enterprise login: %+v %v", kl, err)
	}
	c.ok(t, pwStdin(), "ls", "--config", lab.config, "-u", upn, "--enterprise", "--password-stdin", remote(samba.ShareSigned, ""))
}

// TestUseKrb5Conf: with --use-krb5-conf, the realm's KDC comes from the
// MIT configuration of the environment; without it, that file is not read.
func TestUseKrb5Conf(t *testing.T) {
	labtest.Need(t)
	c := newClient(t)
	conf := filepath.Join(c.dir, "krb5.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("[libdefaults]\n default_realm = %[1]s\n[realms]\n %[1]s = {\n  kdc = %[2]s:88\n }\n[domain_realm]\n .%[3]s = %[1]s\n",
		lab.dc.Realm, lab.dc.Addr, strings.ToLower(lab.dc.Realm))), 0o644); err != nil {
		t.Fatal(err)
	}
	c.extra = []string{"KRB5_CONFIG=" + conf}
	args := []string{"ls", "--addr", lab.dc.FQDN + "=" + lab.dc.Addr, "-u", lab.user, "--password-stdin", remote(samba.ShareSigned, "")}
	c.fails(t, exitAuth, []string{"--kdc"}, pwStdin(), args...)
	c.ok(t, pwStdin(), append([]string{"--use-krb5-conf"}, args...)...)
	// smbkrb's own default realm is needed for a name without a realm.
	c.fails(t, exitUsage, []string{"--realm"}, nil, "--use-krb5-conf", "ls", "--addr", lab.dc.FQDN+"="+lab.dc.Addr, "-u", "cliuser", "--password-stdin", remote(samba.ShareSigned, ""))
}
