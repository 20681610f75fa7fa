package samba

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/labtool"
	"github.com/smbkrb/smbkrb/internal/lab/netns"
)

func TestMain(m *testing.M) {
	code := m.Run()
	CleanupTemplates()
	os.Exit(code)
}

func needLab(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("a Samba AD DC needs root: run the tests as root (CI does)")
	}
	for _, tool := range []string{"samba", "samba-tool", "smbclient", "kinit"} {
		if _, err := lookTool(tool); err != nil {
			t.Fatalf("%v (run .ci/install-deps)", err)
		}
	}
}

func startDC(t *testing.T, opts Options) *DC {
	t.Helper()
	begin := time.Now()
	dc, err := Start(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dc.Close() })
	t.Logf("Start %s (%s at %s): %v", dc.FQDN, dc.Realm, dc.Addr, time.Since(begin))
	return dc
}

// client is a user's Kerberos environment: a private krb5.conf, a FILE:
// ccache and an empty client smb.conf.
type client struct {
	dir, conf, ccache, smbConf string
}

func newClient(t *testing.T, dc *DC) *client {
	t.Helper()
	dir := t.TempDir()
	p, err := dc.WritePeer(dir)
	if err != nil {
		t.Fatal(err)
	}
	return &client{dir: dir, conf: p.Krb5Conf, ccache: "FILE:" + filepath.Join(dir, "ccache"), smbConf: p.SmbConf}
}

func (c *client) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KRB5") {
			env = append(env, kv)
		}
	}
	return append(env, "KRB5_CONFIG="+c.conf, "KRB5CCNAME="+c.ccache)
}

func (c *client) run(t *testing.T, stdin string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = c.env()
	cmd.Dir = c.dir
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (c *client) kinit(t *testing.T, principal, password string) {
	t.Helper()
	if out, err := c.run(t, password+"\n", "kinit", "-c", c.ccache, principal); err != nil {
		t.Fatalf("kinit %s: %v: %s", principal, err, out)
	}
}

func (c *client) smbclient(dc *DC, share string, args ...string) []string {
	return append([]string{
		"//" + dc.FQDN + "/" + share, "-I", dc.Addr, "-s", c.smbConf,
	}, args...)
}

func TestDC(t *testing.T) {
	needLab(t)
	dc := startDC(t, Options{Realm: "LAB.TEST", Domain: "LAB", HostName: "dc1", Addr: "127.0.0.20"})

	user := "alice"
	pw := labtool.Password()
	begin := time.Now()
	if err := dc.AddUser(user, pw); err != nil {
		t.Fatal(err)
	}
	t.Logf("AddUser: %v", time.Since(begin))

	c := newClient(t, dc)
	c.kinit(t, user+"@"+dc.Realm, pw)

	payload := make([]byte, 200_000)
	if _, err := rand.Read(payload); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.dir, "up.bin"), payload, 0o644); err != nil {
		t.Fatal(err)
	}

	for _, share := range []string{ShareSigned, ShareEncrypted} {
		t.Run(share, func(t *testing.T) {
			back := "back-" + share + ".bin"
			out, err := c.run(t, "", "smbclient", c.smbclient(dc, share,
				"--use-kerberos=required", "--use-krb5-ccache="+c.ccache,
				"-c", "put up.bin up.bin; get up.bin "+back)...)
			if err != nil {
				t.Fatalf("smbclient put/get on %s: %v: %s%s", share, err, out, dc.logTail())
			}
			got, err := os.ReadFile(filepath.Join(c.dir, back))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, payload) {
				t.Fatalf("%s: got %d bytes back, want the %d put", share, len(got), len(payload))
			}
			if _, err := os.Stat(filepath.Join(dc.ShareDir(share), "up.bin")); err != nil {
				t.Errorf("file not on the share's disk: %v", err)
			}
		})
	}

	t.Run("readonly", func(t *testing.T) {
		out, err := c.run(t, "", "smbclient", c.smbclient(dc, ShareReadOnly,
			"--use-kerberos=required", "--use-krb5-ccache="+c.ccache,
			"-c", "put up.bin up.bin")...)
		if err == nil && !strings.Contains(out, "NT_STATUS_") {
			t.Fatalf("put on the read-only share succeeded: %s", out)
		}
		t.Logf("put on %s: %s", ShareReadOnly, strings.TrimSpace(out))
		if !strings.Contains(out, "NT_STATUS_ACCESS_DENIED") && !strings.Contains(out, "NT_STATUS_MEDIA_WRITE_PROTECTED") {
			t.Errorf("put refused, but not as expected: %s", out)
		}
		// Reading still works.
		if out, err := c.run(t, "", "smbclient", c.smbclient(dc, ShareReadOnly,
			"--use-kerberos=required", "--use-krb5-ccache="+c.ccache, "-c", "ls")...); err != nil {
			t.Errorf("ls on the read-only share: %v: %s", err, out)
		}
	})

	t.Run("ntlm-refused", func(t *testing.T) {
		out, err := c.run(t, "", "smbclient", c.smbclient(dc, ShareSigned,
			"-U", user+"%"+pw, "--use-kerberos=off", "-c", "ls")...)
		if err == nil {
			t.Fatalf("an NTLM login succeeded: %s", out)
		}
		t.Logf("NTLM: %s", strings.TrimSpace(out))
		if !strings.Contains(out, "NT_STATUS_NTLM_BLOCKED") && !strings.Contains(out, "NT_STATUS_LOGON_FAILURE") {
			t.Errorf("NTLM refused, but not as expected: %s", out)
		}
	})

	t.Run("session", func(t *testing.T) {
		// Hold an interactive smbclient session on the encrypted share
		// and look at it from the DC's side.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "smbclient", c.smbclient(dc, ShareEncrypted,
			"--use-kerberos=required", "--use-krb5-ccache="+c.ccache)...)
		cmd.Env = c.env()
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { stdin.Close(); cmd.Wait() }()
		var sessions, shares string
		for i := 0; i < 100; i++ {
			sessions, err = dc.InNamespace("smbstatus", "-b")
			if err == nil && strings.Contains(sessions, user) {
				shares, err = dc.InNamespace("smbstatus", "-S")
				if err == nil && strings.Contains(shares, ShareEncrypted) {
					break
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("smbstatus:\n%s\n%s", sessions, shares)
		if !strings.Contains(sessions, user) || !strings.Contains(sessions, "SMB3") || !strings.Contains(sessions, "AES") {
			t.Errorf("no signed SMB3 session of %s seen (err %v); smbclient said: %s", user, err, out.String())
		}
		encrypted := false
		for _, line := range strings.Split(shares, "\n") {
			if strings.HasPrefix(line, ShareEncrypted+" ") && strings.Contains(line, "AES-") {
				encrypted = true
			}
		}
		if !encrypted {
			t.Errorf("the tree connect to %s is not encrypted", ShareEncrypted)
		}
	})

	t.Run("keytab", func(t *testing.T) {
		kt := filepath.Join(t.TempDir(), "alice.keytab")
		if err := dc.ExportKeytab(kt, user+"@"+dc.Realm); err != nil {
			t.Fatal(err)
		}
		c2 := newClient(t, dc)
		if out, err := c2.run(t, "", "kinit", "-k", "-t", kt, "-c", c2.ccache, user+"@"+dc.Realm); err != nil {
			t.Fatalf("kinit -k: %v: %s", err, out)
		}
	})

	t.Run("upn", func(t *testing.T) {
		if err := dc.SetUPN(user, "alice@contoso.onmicrosoft.com"); err != nil {
			t.Fatal(err)
		}
		c2 := newClient(t, dc)
		if out, err := c2.run(t, pw+"\n", "kinit", "-E", "-c", c2.ccache, "alice@contoso.onmicrosoft.com"); err != nil {
			t.Fatalf("kinit -E: %v: %s", err, out)
		}
	})
}

// TestTemplateCopy starts a second DC of the same realm on another address
// from the cached template, with an extra SPN.
func TestTemplateCopy(t *testing.T) {
	needLab(t)
	opts := Options{Realm: "LAB.TEST", Domain: "LAB", HostName: "dc1", Addr: "127.0.0.21",
		ExtraSPNs: []string{"cifs/acct.file.core.windows.net"}}
	dc := startDC(t, opts)

	pw := labtool.Password()
	if err := dc.AddUser("bob", pw); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, dc)
	c.kinit(t, "bob@"+dc.Realm, pw)
	// The extra SPN is on the DC's own account: smbd accepts its tickets.
	// The client names the fake host and maps it to the realm.
	extra := fmt.Sprintf("[domain_realm]\n acct.file.core.windows.net = %s\n", dc.Realm)
	f, err := os.OpenFile(c.conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(extra)
	f.Close()
	out, err := c.run(t, "", "smbclient", "//acct.file.core.windows.net/"+ShareSigned, "-I", dc.Addr, "-s", c.smbConf,
		"--use-kerberos=required", "--use-krb5-ccache="+c.ccache, "-c", "ls")
	if err != nil {
		t.Fatalf("smbclient through the extra SPN: %v: %s", err, out)
	}
}

// TestExtraAddrs starts a DC that also listens on the host side of a
// network namespace's veth pair: a client inside the namespace, which
// cannot reach the host's loopback addresses, reaches it there. The DC
// reuses TestTemplateCopy's loopback address (the tests run one after the
// other): the samba package's tests use 127.0.0.20 and 127.0.0.21 only.
func TestExtraAddrs(t *testing.T) {
	needLab(t)
	ns, err := netns.New(netns.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	dc := startDC(t, Options{Addr: "127.0.0.21", ExtraAddrs: []string{ns.HostAddr}})
	if len(dc.ExtraAddrs) != 1 || dc.ExtraAddrs[0] != ns.HostAddr {
		t.Errorf("DC.ExtraAddrs = %v", dc.ExtraAddrs)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for _, port := range []string{"88", "445"} {
		c, err := ns.DialContext(ctx, "tcp", net.JoinHostPort(ns.HostAddr, port))
		if err != nil {
			t.Fatalf("port %s at %s from inside %s: %v", port, ns.HostAddr, ns.Name, err)
		}
		c.Close()
	}
	// The DC's loopback address is out of reach from inside.
	if c, err := ns.DialContext(ctx, "tcp", net.JoinHostPort(dc.Addr, "445")); err == nil {
		c.Close()
		t.Errorf("reached %s:445 from inside the namespace", dc.Addr)
	}

	// A real Kerberos login and SMB session from inside, at HostAddr.
	pw := labtool.Password()
	if err := dc.AddUser("carol", pw); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, dc)
	conf := strings.Replace(mustRead(t, c.conf), "kdc = "+dc.Addr+":88", "kdc = "+ns.HostAddr+":88", 1)
	if err := os.WriteFile(c.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	inside := func(stdin, name string, args ...string) (string, error) {
		cmd := ns.Command(ctx, name, args...)
		cmd.Env = c.env()
		cmd.Dir = c.dir
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := inside(pw+"\n", "kinit", "-c", c.ccache, "carol@"+dc.Realm); err != nil {
		t.Fatalf("kinit inside %s: %v: %s", ns.Name, err, out)
	}
	out, err := inside("", "smbclient", "//"+dc.FQDN+"/"+ShareSigned, "-I", ns.HostAddr, "-s", c.smbConf,
		"--use-kerberos=required", "--use-krb5-ccache="+c.ccache, "-c", "ls")
	if err != nil {
		t.Fatalf("smbclient inside %s: %v: %s%s", ns.Name, err, out, dc.logTail())
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
