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
	"sync"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/labtool"
	"github.com/smbkrb/smbkrb/internal/lab/netns"
	"github.com/smbkrb/smbkrb/internal/lab/tamper"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
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
	labtest.Need(t)
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
	labtest.Need(t)
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
	labtest.Need(t)
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

// heldSession is an interactive smbclient holding an SMB session open.
type heldSession struct {
	status SessionStatus
	stdin  interface{ Close() error }
	cmd    *exec.Cmd
	out    *bytes.Buffer
}

// holdSession starts smbclient on share with extra arguments, reading
// commands from a pipe held open, and waits until the DC lists a new
// session of user with a tree connect to share. The session ends at the
// test's cleanup or at close.
func holdSession(t *testing.T, dc *DC, c *client, user, share string, args ...string) *heldSession {
	t.Helper()
	before := map[uint64]bool{}
	if list, err := dc.Sessions(); err == nil {
		for _, s := range list {
			before[s.ID] = true
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	cmd := exec.CommandContext(ctx, "smbclient", c.smbclient(dc, share,
		append([]string{"--use-kerberos=required", "--use-krb5-ccache=" + c.ccache}, args...)...)...)
	cmd.Env = c.env()
	cmd.Dir = c.dir
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	h := &heldSession{stdin: stdin, cmd: cmd, out: &bytes.Buffer{}}
	cmd.Stdout, cmd.Stderr = h.out, h.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.close(); cancel() })
	exited := make(chan struct{})
	go func() { cmd.Process.Wait(); close(exited) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		list, err := dc.Sessions()
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range list {
			if _, ok := s.Tree(share); ok && !before[s.ID] && strings.HasSuffix(strings.ToLower(s.Username), `\`+user) {
				h.status = s
				return h
			}
		}
		select {
		case <-exited:
			t.Fatalf("smbclient %v exited without a session: %s", args, h.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no session of %s on %s seen; sessions %+v; smbclient: %s", user, share, list, h.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (h *heldSession) close() {
	if h.stdin != nil {
		h.stdin.Close()
		h.stdin = nil
	}
}

// TestSessionsStatus reads what the DC negotiated with smbclient sessions
// (signing, ciphers, tree connects) through Sessions, and checks the
// session and tree ids against the ones on the wire through a tamper
// proxy. The DC uses 127.0.0.60.
func TestSessionsStatus(t *testing.T) {
	labtest.Need(t)
	needLab(t)
	dc := startDC(t, Options{Addr: "127.0.0.60"})
	const user = "alice"
	pw := labtool.Password()
	if err := dc.AddUser(user, pw); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, dc)
	c.kinit(t, user+"@"+dc.Realm, pw)
	raw, err := dc.InNamespace("smbstatus", "--json")
	if err != nil {
		t.Fatal(err)
	}
	if list, err := parseStatus([]byte(raw)); err != nil || len(list) != 0 {
		t.Fatalf("an idle DC has sessions %+v (%v): %s", list, err, raw)
	}

	// Route smbclient through a proxy that records the session and tree
	// ids the client sends.
	proxy, err := tamper.Start("127.0.0.1:0", dc.Addr+":445")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	var mu sync.Mutex
	// Tree ids are kept per session: a previous subtest's smbclient may
	// still be sending its tree disconnect.
	wireSessions, wireTrees := map[uint64]bool{}, map[uint64]map[uint32]bool{}
	nonces := map[[16]byte]bool{}
	transforms, repeats := 0, 0
	proxy.RecordClientFrames(func(f []byte) {
		mu.Lock()
		defer mu.Unlock()
		sid, ok := tamper.SessionID(f)
		if ok {
			wireSessions[sid] = true
		}
		if id, ok := tamper.TreeID(f); ok {
			if wireTrees[sid] == nil {
				wireTrees[sid] = map[uint32]bool{}
			}
			wireTrees[sid][id] = true
		}
		if n, ok := tamper.TransformNonce(f); ok {
			transforms++
			if nonces[n] {
				repeats++
			}
			nonces[n] = true
		}
	})
	_, port, _ := strings.Cut(proxy.Addr(), ":")
	viaProxy := []string{"-I", "127.0.0.1", "-p", port}
	onWire := func(t *testing.T, s SessionStatus) {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		if !wireSessions[s.ID] {
			t.Errorf("session id %d (%#x) not among the ids on the wire %v", s.ID, s.ID, wireSessions)
		}
	}

	t.Run("signed", func(t *testing.T) {
		// The last -I wins: smbclient connects to the proxy.
		h := holdSession(t, dc, c, user, ShareSigned, viaProxy...)
		s := h.status
		t.Logf("%+v", s)
		if s.Dialect != "SMB3_11" || s.Signing != "AES-128-GMAC" || s.SigningDegree != "full" {
			t.Errorf("dialect %q signing %q (%s), want SMB3_11 and AES-128-GMAC (full)", s.Dialect, s.Signing, s.SigningDegree)
		}
		if s.Encryption != "" || s.EncryptionDegree != "none" {
			t.Errorf("an unencrypted session shows encryption %q (%s)", s.Encryption, s.EncryptionDegree)
		}
		if s.Username != dc.Domain+`\`+user || !strings.HasPrefix(s.RemoteAddr, "127.0.0.1:") || s.PID == 0 {
			t.Errorf("username %q, remote %q, pid %d", s.Username, s.RemoteAddr, s.PID)
		}
		tr, _ := s.Tree(ShareSigned)
		if tr.Encryption != "" || tr.ID == 0 {
			t.Errorf("tree connect %+v", tr)
		}
		onWire(t, s)
		// smbstatus's tcon_id is Samba's global id, not the wire's.
		mu.Lock()
		if trees := wireTrees[s.ID]; len(trees) == 0 || trees[tr.ID] {
			t.Errorf("tree ids on the wire %v, smbstatus's %d", trees, tr.ID)
		}
		mu.Unlock()
	})

	t.Run("client-protection-encrypt", func(t *testing.T) {
		mu.Lock()
		clear(wireSessions)
		clear(wireTrees)
		mu.Unlock()
		h := holdSession(t, dc, c, user, ShareSigned, append(viaProxy, "--client-protection=encrypt")...)
		s := h.status
		t.Logf("%+v", s)
		if s.Dialect != "SMB3_11" || s.Signing != "AES-128-GMAC" {
			t.Errorf("dialect %q signing %q, want SMB3_11 and AES-128-GMAC", s.Dialect, s.Signing)
		}
		if s.Encryption != "AES-128-GCM" || s.EncryptionDegree != "full" {
			t.Errorf("encryption %q (%s), want AES-128-GCM (full): smbclient's first choice", s.Encryption, s.EncryptionDegree)
		}
		// The tree connect's own encryption is the share's: none.
		if tr, _ := s.Tree(ShareSigned); tr.Encryption != "" || tr.EncryptionDegree != "none" {
			t.Errorf("tree connect %+v", tr)
		}
		// Everything after the session setup is encrypted: the ids
		// seen are the transforms' session ids, and no plain message
		// of the session (so no tree id) crosses the proxy. The one
		// Kerberos SESSION_SETUP request still carries session id 0.
		onWire(t, s)
		mu.Lock()
		if trees := wireTrees[s.ID]; len(trees) != 0 {
			t.Errorf("tree ids %v seen outside transforms", trees)
		}
		mu.Unlock()
		mu.Lock()
		if transforms == 0 || repeats != 0 {
			t.Errorf("%d transforms through the proxy, %d repeated nonces", transforms, repeats)
		}
		mu.Unlock()
	})

	t.Run("share-requires-encryption", func(t *testing.T) {
		h := holdSession(t, dc, c, user, ShareEncrypted)
		s := h.status
		t.Logf("%+v", s)
		tr, _ := s.Tree(ShareEncrypted)
		if tr.Encryption != "AES-128-GCM" || tr.EncryptionDegree != "full" {
			t.Errorf("tree connect to %s: %+v, want AES-128-GCM (full)", ShareEncrypted, tr)
		}
		if s.Encryption != "" || s.EncryptionDegree != "none" {
			t.Errorf("session encryption %q (%s), want none (only the tree connect encrypts)", s.Encryption, s.EncryptionDegree)
		}
	})

	t.Run("client-aes-256-gcm", func(t *testing.T) {
		conf := filepath.Join(t.TempDir(), "smb.conf")
		if err := os.WriteFile(conf, []byte("[global]\n\tclient min protocol = SMB2_10\n\tclient smb3 encryption algorithms = AES-256-GCM\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		c2 := *c
		c2.smbConf = conf
		h := holdSession(t, dc, &c2, user, ShareSigned, "--client-protection=encrypt")
		s := h.status
		t.Logf("%+v", s)
		if s.Encryption != "AES-256-GCM" || s.EncryptionDegree != "full" || s.Dialect != "SMB3_11" {
			t.Errorf("encryption %q (%s) dialect %q, want AES-256-GCM (full) and SMB3_11", s.Encryption, s.EncryptionDegree, s.Dialect)
		}

		// Without --client-protection, only the share that requires
		// encryption is encrypted: the session shows none, the tree
		// connect full, and Samba 4.17 names the AES-256 cipher "???"
		// for tree connects.
		h2 := holdSession(t, dc, &c2, user, ShareEncrypted)
		s2 := h2.status
		t.Logf("%+v", s2)
		tr, _ := s2.Tree(ShareEncrypted)
		if tr.Encryption == "" || tr.EncryptionDegree != "full" {
			t.Errorf("tree connect to %s: %+v, want encrypted (full)", ShareEncrypted, tr)
		}
		if s2.Encryption != "" || s2.EncryptionDegree != "none" {
			t.Errorf("session encryption %q (%s), want none", s2.Encryption, s2.EncryptionDegree)
		}
		if raw, err := dc.InNamespace("smbstatus", "--json"); err == nil {
			t.Logf("smbstatus --json:\n%s", raw)
		}
	})
}
