package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/labtool"
	"github.com/smbkrb/smbkrb/internal/lab/samba"
	"github.com/smbkrb/smbkrb/internal/lab/testmain"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
)

// The loopback address of this package's DC; other test packages, which
// run at the same time, use others.
const labAddr = "127.0.0.6"

// lab is what every test shares: the smbkrb binary, a Samba AD DC and a
// user of its realm.
var lab struct {
	main   *testmain.Lab // stops what tests start on first use
	bin    string
	dc     *samba.DC
	user   string // cliuser@LAB.TEST
	pw     string
	config string // a configuration file naming the DC
}

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	l, err := testmain.New("cli", testmain.Options{})
	if err != nil {
		return testmain.Fail("cli", "temporary directory", err)
	}
	defer l.Close()
	lab.main = l
	dir := l.Dir
	lab.bin = filepath.Join(dir, "smbkrb")
	args := []string{"build", "-buildvcs=false", "-o", lab.bin}
	if labtest.Race {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, ".")...)
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		return 1
	}
	if labtest.Short() {
		return m.Run() // the fast tier: the command, no lab
	}
	lab.pw = labtool.Password()
	dcs, err := l.DCs(testmain.DC{Name: "dc1", Options: samba.Options{Realm: "LAB.TEST", Domain: "LAB", HostName: "dc1", Addr: labAddr},
		Users: map[string]string{"cliuser": lab.pw}})
	if err != nil {
		return l.Fail("lab", err)
	}
	dc := dcs[0]
	lab.dc = dc
	lab.user = "cliuser@" + dc.Realm
	lab.config = filepath.Join(dir, "smbkrb.conf")
	conf := fmt.Sprintf(`# The lab DC: the KDC over TCP, the server at its loopback address.
realm %[1]s
kdc %[1]s=%[2]s:88
map .%[3]s=%[1]s
addr %[4]s=%[2]s
`, dc.Realm, dc.Addr, strings.ToLower(dc.Realm), dc.FQDN)
	if err := os.WriteFile(lab.config, []byte(conf), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// client is one user's environment: a home directory, a default FILE:
// cache ($KRB5CCNAME) and an empty MIT configuration ($KRB5_CONFIG), so
// that nothing of the machine's or the developer's settings leaks in.
type client struct {
	dir    string
	home   string
	ccache string // FILE:...
	krb5   string // an empty krb5.conf
	extra  []string
}

func newClient(t *testing.T) *client {
	t.Helper()
	dir := t.TempDir()
	c := &client{
		dir:    dir,
		home:   filepath.Join(dir, "home"),
		ccache: "FILE:" + filepath.Join(dir, "krb5cc"),
		krb5:   filepath.Join(dir, "empty-krb5.conf"),
	}
	if err := os.MkdirAll(c.home, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.krb5, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *client) env() []string {
	env := labtool.Env("KRB5", "SMBKRB", "HOME=", "XDG_", "GORACE=", "STATE_DIRECTORY=", "IDENTITY_")
	// STATE_DIRECTORY keeps the state directory (device identity, SMB
	// OAuth tickets) in the test's directory, not /var/lib/smbkrb.
	env = append(env, "HOME="+c.home, "KRB5CCNAME="+c.ccache, "KRB5_CONFIG="+c.krb5, "STATE_DIRECTORY="+filepath.Join(c.dir, "state"))
	if labtest.Race {
		// The race detector's binary otherwise sleeps a second at exit.
		env = append(env, "GORACE=atexit_sleep_ms=0")
	}
	return append(env, c.extra...)
}

// result is what a run of the binary gave.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// run runs the binary with args and stdin (nil for none) in c's
// environment, in c's directory. It fails the test if the password
// appears in the output.
func (c *client) run(t *testing.T, stdin io.Reader, args ...string) result {
	t.Helper()
	for _, a := range args {
		if lab.pw != "" && strings.Contains(a, lab.pw) {
			t.Fatal("the password is on the command line")
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, lab.bin, args...)
	cmd.Env = c.env()
	cmd.Dir = c.dir
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("smbkrb %s: %v", strings.Join(args, " "), err)
	}
	if strings.Contains(r.stderr, "DATA RACE") {
		t.Errorf("smbkrb %s: the race detector found a race:\n%s", strings.Join(args, " "), r.stderr)
	}
	if lab.pw != "" && (strings.Contains(r.stdout, lab.pw) || strings.Contains(r.stderr, lab.pw)) {
		t.Fatalf("smbkrb %s printed the password", strings.Join(args, " "))
	}
	t.Logf("smbkrb %s: exit %d%s", strings.Join(args, " "), r.code, indent(r.stderr))
	if testing.Verbose() && os.Getenv("SMBKRB_TEST_STDOUT") != "" {
		t.Logf("stdout:%s", indent(r.stdout))
	}
	return r
}

// ok runs the binary and fails the test unless it exits 0.
func (c *client) ok(t *testing.T, stdin io.Reader, args ...string) result {
	t.Helper()
	r := c.run(t, stdin, args...)
	if r.code != 0 {
		t.Fatalf("smbkrb %s: %v", strings.Join(args, " "), r)
	}
	return r
}

// fails runs the binary and fails the test unless it exits with code and
// its stderr mentions every one of phrases (case-insensitively).
func (c *client) fails(t *testing.T, code int, phrases []string, stdin io.Reader, args ...string) result {
	t.Helper()
	r := c.run(t, stdin, args...)
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

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return ""
	}
	return "\n\t" + strings.ReplaceAll(s, "\n", "\n\t")
}

// pwStdin is the password as --password-stdin reads it.
func pwStdin() io.Reader { return strings.NewReader(lab.pw + "\n") }

// remote is //dc1.lab.test/share/path.
func remote(share, path string) string {
	s := "//" + lab.dc.FQDN + "/" + share
	if path != "" {
		s += "/" + path
	}
	return s
}

// kinit logs the lab user in into c's default cache.
func (c *client) kinit(t *testing.T) {
	t.Helper()
	c.ok(t, pwStdin(), "kinit", "--config", lab.config, "--password-stdin", lab.user)
}
