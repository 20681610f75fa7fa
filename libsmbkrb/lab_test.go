package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/entra"
	"github.com/smbkrb/smbkrb/entra/entratest"
	"github.com/smbkrb/smbkrb/internal/lab/kdcproxy"
	"github.com/smbkrb/smbkrb/internal/lab/labtest"
	"github.com/smbkrb/smbkrb/internal/lab/labtool"
	"github.com/smbkrb/smbkrb/internal/lab/netns"
	"github.com/smbkrb/smbkrb/internal/lab/samba"
	"github.com/smbkrb/smbkrb/internal/lab/testmain"
	"github.com/smbkrb/smbkrb/krb5"
	"github.com/smbkrb/smbkrb/libsmbkrb/ctest"
	"github.com/smbkrb/smbkrb/smboauth"
)

// The tests here build libsmbkrb.a, compile the C test program
// (test/smbkrb_test.c) and the README's example (test/example.c) against
// it with the system's MIT libraries, and run them against the lab: a
// Samba AD DC reached through smbkrb's KDC proxy, and Azure Files with
// Microsoft Entra Kerberos through the Entra emulator, each from a
// network namespace whose port 88 is rejected. toolchains/crosstest runs
// the ARM builds of the same program under qemu-user.

// The loopback addresses of this package's DCs.
const (
	adAddr    = "127.0.0.70" // LAB.TEST, on-premises AD DS
	entraAddr = "127.0.0.71" // KERBEROS.MICROSOFTONLINE.COM, Azure Files with Entra Kerberos
	filesAddr = "127.0.0.72" // FILES.AZURE.STORAGE.MICROSOFT.COM, Azure Files with SMB OAuth
)

const (
	entraAccount = "acct.file.core.windows.net"
	entraDomain  = "contoso.onmicrosoft.com"
	oauthAccount = "oauthacct.file.core.windows.net"
)

// lab is what TestMain starts.
var lab struct {
	dir string
	// The C programs: the test, its AddressSanitizer build, the example
	// linked with libsmbkrb.a and with libsmbkrb.so.
	ctest, ctestASan, example, exampleShared string

	adNS    *netns.NS
	ad      *samba.DC
	proxy   *kdcproxy.Proxy
	user    string // ctest@LAB.TEST
	pw      string
	entraNS *netns.NS
	entraDC *samba.DC
	emu     *entratest.Server
	state   string // the Entra device and sign-in

	keytab, ccache string // ctest@LAB.TEST's keys, and a cache with its TGT

	oauthNS  *netns.NS
	filesDC  *samba.DC
	oauthEmu *entratest.Server
	token    string // a file holding an application's access token
}

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	if labtest.Short() {
		return m.Run()
	}
	l, err := testmain.New("libsmbkrb", testmain.Options{})
	if err != nil {
		return testmain.Fail("libsmbkrb", "lab", err)
	}
	defer l.Close()
	lab.dir = l.Dir
	if err := buildC(l.Dir); err != nil {
		return l.Fail("building the C programs", err)
	}
	if lab.adNS, err = l.Namespace(); err != nil {
		return l.Fail("namespace", err)
	}
	if lab.entraNS, err = l.Namespace(); err != nil {
		return l.Fail("namespace", err)
	}
	if lab.oauthNS, err = l.Namespace(); err != nil {
		return l.Fail("namespace", err)
	}
	filesPW := labtool.Password()
	lab.pw = labtool.Password()
	lab.user = "ctest@LAB.TEST"
	upn := "ctest@" + entraDomain
	dcs, err := l.DCs(
		testmain.DC{Name: "ad", Options: samba.Options{Realm: "LAB.TEST", Domain: "LAB", HostName: "dc1",
			Addr: adAddr, ExtraAddrs: []string{lab.adNS.HostAddr}}, Users: map[string]string{"ctest": lab.pw}},
		testmain.DC{Name: "entra", Options: samba.Options{Realm: entra.KerberosRealm, Domain: "ENTRA", HostName: "acct",
			Addr: entraAddr, ExtraAddrs: []string{lab.entraNS.HostAddr}, ExtraSPNs: []string{"cifs/" + entraAccount}},
			Users: map[string]string{"ctest": lab.pw}},
		testmain.DC{Name: "files", Options: samba.Options{Realm: smboauth.FilesRealm, Domain: "FILES", HostName: "oauthacct",
			Addr: filesAddr, ExtraAddrs: []string{lab.oauthNS.HostAddr}, ExtraSPNs: []string{"cifs/" + oauthAccount}},
			Users: map[string]string{"AzureFileClient": filesPW}},
	)
	if err != nil {
		return l.Fail("DCs", err)
	}
	lab.ad, lab.entraDC, lab.filesDC = dcs[0], dcs[1], dcs[2]
	if err := lab.entraDC.SetUPN("ctest", upn); err != nil {
		return l.Fail("UPN", err)
	}
	lab.proxy, err = kdcproxy.Start(net.JoinHostPort(lab.adNS.HostAddr, "0"),
		map[string][]string{lab.ad.Realm: {net.JoinHostPort(lab.ad.Addr, "88")}})
	if err != nil {
		return l.Fail("KDC proxy", err)
	}
	l.Defer(func() { lab.proxy.Close() })
	lab.emu, err = entratest.NewServer(entratest.Options{
		Domain: entraDomain, Addr: net.JoinHostPort(lab.entraNS.HostAddr, "0"),
		KDCs:  []string{net.JoinHostPort(entraAddr, "88")},
		Users: []entratest.User{{UPN: upn, Password: lab.pw}}, SPNs: []string{"cifs/" + entraAccount},
	})
	if err != nil {
		return l.Fail("Entra emulator", err)
	}
	l.Defer(func() { lab.emu.Close() })
	lab.state = filepath.Join(l.Dir, "entra-state")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := lab.emu.SaveSignIn(ctx, lab.state, upn, lab.pw); err != nil {
		return l.Fail("Entra sign-in", err)
	}
	if err := otherCreds(l.Dir); err != nil {
		return l.Fail("keytab and cache", err)
	}
	if err := startOAuth(l, filesPW); err != nil {
		return l.Fail("SMB OAuth", err)
	}
	return m.Run()
}

// otherCreds writes the AD DS user's keytab and a cache holding its TGT,
// for the C test's keytab and cache credentials.
func otherCreds(dir string) error {
	lab.keytab = filepath.Join(dir, "ctest.keytab")
	if err := lab.ad.ExportKeytab(lab.keytab, lab.user); err != nil {
		return err
	}
	lab.ccache = filepath.Join(dir, "ctest.ccache")
	k, err := krb5.NewContext(&krb5.Config{Realms: []krb5.Realm{{Name: lab.ad.Realm, KDCs: []string{net.JoinHostPort(adAddr, "88")}}}})
	if err != nil {
		return err
	}
	defer k.Close()
	cc, err := k.OpenCCache("FILE:" + lab.ccache)
	if err != nil {
		return err
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = k.GetInitCredsPassword(ctx, cc, lab.user, []byte(lab.pw), nil)
	return err
}

// startOAuth starts the SMB OAuth side: an emulator (no Entra Kerberos)
// with an application and a system-assigned managed identity, whose file
// endpoint hands out tickets from the FILES DC, and an access token of
// the application in a file, for the C test's token callback.
func startOAuth(l *testmain.Lab, filesPW string) error {
	app := entratest.App{ClientID: "3f6d2c1b-8a9e-4b7c-9d0e-1f2a3b4c5d6e", Secret: labtool.Password()}
	var err error
	lab.oauthEmu, err = entratest.NewServer(entratest.Options{
		Addr:              net.JoinHostPort(lab.oauthNS.HostAddr, "0"),
		KDCs:              []string{net.JoinHostPort(filesAddr, "88")},
		Apps:              []entratest.App{app},
		ManagedIdentities: []entratest.Identity{{}},
		SMBOAuth: &entratest.SMBOAuth{
			KDCs: []string{net.JoinHostPort(filesAddr, "88")}, ClientPassword: filesPW,
			Accounts: []entratest.Account{{Name: oauthAccount}},
		},
	})
	if err != nil {
		return err
	}
	l.Defer(func() { lab.oauthEmu.Close() })
	ts, err := lab.oauthEmu.SMBOAuthConfig().ClientSecretTokens(app.ClientID, app.Secret)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tok, err := ts.Token(ctx)
	if err != nil {
		return err
	}
	lab.token = filepath.Join(l.Dir, "token")
	return os.WriteFile(lab.token, []byte(tok.Token+"\n"), 0o600)
}

// cflags are the C programs' flags: strict C99, every warning an error.
var cflags = []string{"-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O1", "-g"}

// hostLibs are what a program linked with libsmbkrb.a needs on this
// machine: Debian's MIT libraries, threads and the resolver.
var hostLibs = []string{"-lgssapi_krb5", "-lkrb5", "-lk5crypto", "-lcom_err", "-lpthread", "-lresolv"}

// buildC builds libsmbkrb.a (c-archive, the race detector off whatever
// this test binary has) and the C programs into dir.
func buildC(dir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	lib := filepath.Join(dir, "lib")
	if err := os.MkdirAll(lib, 0o755); err != nil {
		return err
	}
	archive := filepath.Join(lib, "libsmbkrb.a")
	if out, err := exec.CommandContext(ctx, "go", "build", "-buildmode=c-archive", "-o", archive, ".").CombinedOutput(); err != nil {
		return fmt.Errorf("go build -buildmode=c-archive: %v\n%s", err, out)
	}
	shared := filepath.Join(lib, "libsmbkrb.so")
	if out, err := exec.CommandContext(ctx, "go", "build", "-buildmode=c-shared", "-ldflags=-extldflags=-Wl,-soname,libsmbkrb.so", "-o", shared, ".").CombinedOutput(); err != nil {
		return fmt.Errorf("go build -buildmode=c-shared: %v\n%s", err, out)
	}
	cc := func(out string, extra []string, src string, libs ...string) error {
		args := append(append(append([]string{}, cflags...), extra...), "-Iinclude", "-o", out, src)
		args = append(append(args, libs...), hostLibs...)
		if b, err := exec.CommandContext(ctx, "gcc", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("gcc %s: %v\n%s", strings.Join(args, " "), err, b)
		}
		return nil
	}
	lab.ctest = filepath.Join(dir, "smbkrb_test")
	lab.ctestASan = filepath.Join(dir, "smbkrb_test-asan")
	lab.example = filepath.Join(dir, "example")
	lab.exampleShared = filepath.Join(dir, "example-shared")
	return errors.Join(
		cc(lab.ctest, nil, "test/smbkrb_test.c", archive),
		cc(lab.ctestASan, []string{"-fsanitize=address", "-fno-omit-frame-pointer"}, "test/smbkrb_test.c", archive),
		cc(lab.example, nil, "test/example.c", archive),
		cc(lab.exampleShared, nil, "test/example.c", "-L"+lib, "-lsmbkrb", "-Wl,-rpath,"+lib),
	)
}

// runC runs bin in ns with env and stdin; the password and the token
// must not appear in what it prints.
func runC(t *testing.T, ns *netns.NS, bin string, env []string, stdin string, args ...string) ctest.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	secrets := []string{lab.pw}
	if tok, err := os.ReadFile(lab.token); err == nil {
		secrets = append(secrets, strings.TrimSpace(string(tok)))
	}
	r, err := ctest.Run(ctx, ns, t.TempDir(), bin, env, stdin, secrets, args...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// adEnv is the C test's environment for the AD DS flow: the KDC proxy is
// the realm's only KDC.
func adEnv(t *testing.T, run string) ctest.Env {
	return ctest.Env{
		Mode: "adds", Realm: lab.ad.Realm, KDC: lab.proxy.URL, Map: "." + strings.ToLower(lab.ad.Realm),
		CA: lab.proxy.CAFile, User: lab.user, Keytab: lab.keytab, CCache: "FILE:" + lab.ccache,
		Server: lab.ad.FQDN, Addr: lab.adNS.HostAddr, Share: samba.ShareEncrypted,
		BadSPN: "nosuch." + strings.ToLower(lab.ad.Realm), Dir: t.TempDir(), Run: run,
	}
}

// entraEnv is the C test's environment for Azure Files with Entra
// Kerberos: the saved sign-in, the tenant's KDC proxy found through the
// emulator's metadata.
func entraEnv(t *testing.T, run string) ctest.Env {
	return ctest.Env{
		Mode: "entra", Tenant: lab.emu.Tenant, Authority: lab.emu.URL, CA: lab.emu.CAFile, State: lab.state,
		Server: entraAccount, Addr: lab.entraNS.HostAddr, Share: samba.ShareEncrypted,
		BadSPN: "nosuch.file.core.windows.net", Dir: t.TempDir(), Run: run,
	}
}

// oauthEnv is the C test's environment for Azure Files with SMB OAuth:
// the application's token through the program's callback, then the
// host's managed identity.
func oauthEnv(t *testing.T, run string) ctest.Env {
	return ctest.Env{
		Mode: "oauth", CA: lab.oauthEmu.CAFile, TokenFile: lab.token, OAuthEndpoint: lab.oauthEmu.FileEndpoint(),
		IdentityEndpoint: lab.oauthEmu.IdentityEndpoint, IdentityHeader: lab.oauthEmu.IdentityHeader,
		Server: oauthAccount, Addr: lab.oauthNS.HostAddr, Share: samba.ShareEncrypted,
		BadSPN: "nosuch.file.core.windows.net", Dir: t.TempDir(), Run: run,
	}
}

// steps checks that the C test passed every common step and want, and
// returns its steps.
func steps(t *testing.T, r ctest.Result, want ...string) ctest.Steps {
	t.Helper()
	got, err := ctest.Passed(r, append(want, ctest.Common...)...)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestADDS is the C test on the AD DS flow: a password login through the
// KDC proxy (port 88 is rejected), the files, a wrong password, an
// unknown SPN.
func TestADDS(t *testing.T) {
	labtest.Need(t)
	before := lab.proxy.Requests()
	r := runC(t, lab.adNS, lab.ctest, adEnv(t, "adds").List(), lab.pw+"\n")
	got := steps(t, r, "wrong-password", "keytab", "ccache")
	if !strings.Contains(got["wrong-password"], "SMBKRB_ERR_AUTH") {
		t.Errorf("no wrong-password step with SMBKRB_ERR_AUTH:\n%v", r)
	}
	if !strings.Contains(got["connect"], "cipher AES-") || !strings.Contains(got["connect"], lab.user) {
		t.Errorf("the session description does not name the user and a cipher: %s", got["connect"])
	}
	if lab.proxy.Requests() == before {
		t.Error("the KDC proxy received no request")
	}
	for _, s := range []string{"keytab", "ccache"} {
		if !strings.Contains(got[s], "as "+lab.user) {
			t.Errorf("no %s step connected as %s:\n%v", s, lab.user, r)
		}
	}
	if _, err := os.Stat(filepath.Join(lab.ad.ShareDir(samba.ShareEncrypted), "ctest", "adds", "a")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the C test's directory is still on the server: %v", err)
	}
	t.Logf("C test, AD DS through the KDC proxy (%v):\n%s", r.Took.Round(time.Millisecond), r.Stdout)
}

// TestEntra is the C test on Azure Files with Entra Kerberos, with the
// device's saved sign-in: the service ticket comes through the tenant's
// KDC proxy, and an SPN without an application gives AADSTS700016.
func TestEntra(t *testing.T) {
	labtest.Need(t)
	before := lab.emu.Requests("kdcproxy")
	r := runC(t, lab.entraNS, lab.ctest, entraEnv(t, "entra").List(), "")
	got := steps(t, r)
	if !strings.Contains(got["connect"], "cifs/"+entraAccount+"@"+entra.KerberosRealm) {
		t.Errorf("the session is not for cifs/%s@%s: %s", entraAccount, entra.KerberosRealm, got["connect"])
	}
	if lab.emu.Requests("kdcproxy") == before {
		t.Error("the tenant's KDC proxy received no request")
	}
	t.Logf("C test, Entra Kerberos (%v):\n%s", r.Took.Round(time.Millisecond), r.Stdout)
}

// TestOAuth is the C test on Azure Files with SMB OAuth: the tokens come
// from the program's callback (a file here, a device's token broker in
// the field) and are exchanged at the file endpoint for tickets; then the
// host's managed identity; a callback without a token is an
// authentication failure.
func TestOAuth(t *testing.T) {
	labtest.Need(t)
	before := lab.oauthEmu.Requests("kerbticket")
	r := runC(t, lab.oauthNS, lab.ctest, oauthEnv(t, "oauth").List(), "")
	got := steps(t, r, "managed-identity", "token-refused", "oauth")
	if !strings.Contains(got["connect"], "as "+smboauth.FilesClient) || !strings.Contains(got["connect"], "cifs/"+oauthAccount+"@"+smboauth.FilesRealm) {
		t.Errorf("the session is not %s's on cifs/%s@%s: %s", smboauth.FilesClient, oauthAccount, smboauth.FilesRealm, got["connect"])
	}
	if n := lab.oauthEmu.Requests("kerbticket") - before; n < 2 {
		t.Errorf("%d ticket exchanges, want one for the token and one for the managed identity at least", n)
	}
	t.Logf("C test, SMB OAuth (%v):\n%s", r.Took.Round(time.Millisecond), r.Stdout)
}

// TestASan is the AddressSanitizer build of the C test on the AD DS
// flow: no invalid access, and no leak at exit.
func TestASan(t *testing.T) {
	labtest.Need(t)
	// detect_leaks: LeakSanitizer runs at exit. allow_user_segv_handler
	// lets the Go runtime install its SIGSEGV handler over ASan's, as it
	// does in any C program.
	env := append(adEnv(t, "asan").List(), "ASAN_OPTIONS=detect_leaks=1:allow_user_segv_handler=1:abort_on_error=0")
	r := runC(t, lab.adNS, lab.ctestASan, env, lab.pw+"\n")
	steps(t, r)
	if strings.Contains(r.Stderr, "ERROR: AddressSanitizer") || strings.Contains(r.Stderr, "ERROR: LeakSanitizer") {
		t.Fatalf("AddressSanitizer reported:\n%v", r)
	}
	t.Logf("C test under AddressSanitizer: clean (%v)", r.Took.Round(time.Millisecond))
}

// leakRE reads the leak loop's figures.
var leakRE = regexp.MustCompile(`ok leak cycles=(\d+) warmup=(\d+) rss_warm_kib=(\d+) rss_end_kib=(\d+) rss_peak_kib=(\d+) fds_warm=(\d+) fds_end=(\d+) ms_per_cycle=([\d.]+) total_ms=\d+ threads=(\d+)`)

// TestLeakLoop is 1,000 connect/mount/get/close cycles: after a warm-up
// the process's RSS and its open descriptors must not grow (the C test
// fails itself otherwise; this logs the figures).
func TestLeakLoop(t *testing.T) {
	labtest.Need(t)
	e := adEnv(t, "leak")
	e.Cycles, e.Size = 1000, 65536
	env := e.List()
	r := runC(t, lab.adNS, lab.ctest, env, lab.pw+"\n")
	steps(t, r)
	m := leakRE.FindStringSubmatch(r.Stdout)
	if m == nil {
		t.Fatalf("no leak figures:\n%v", r)
	}
	t.Logf("%s cycles after %s of warm-up: RSS %s KiB -> %s KiB (peak %s KiB), descriptors %s -> %s, %s ms per cycle, %s threads at the end",
		m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8], m[9])
}

// TestExample is README's example, as written, fetching a file: linked
// with the static archive and with the shared library.
func TestExample(t *testing.T) {
	labtest.Need(t)
	want := []byte("the example's file, fetched from C\n")
	name := "example.txt"
	if err := os.WriteFile(filepath.Join(lab.ad.ShareDir(samba.ShareEncrypted), name), want, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, bin := range []string{lab.example, lab.exampleShared} {
		t.Run(filepath.Base(bin), func(t *testing.T) {
			local := filepath.Join(t.TempDir(), "got.txt")
			args := []string{lab.ad.Realm, lab.proxy.URL, lab.proxy.CAFile, lab.user, lab.ad.FQDN, lab.adNS.HostAddr, samba.ShareEncrypted, name, local}
			r := runC(t, lab.adNS, bin, nil, lab.pw+"\n", args...)
			if r.Code != 0 {
				t.Fatalf("the example failed:\n%v", r)
			}
			got, err := os.ReadFile(local)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("the example fetched %q (%v), want %q", got, err, want)
			}
			// A wrong password: the example prints the class and the
			// message.
			r = runC(t, lab.adNS, bin, nil, "wrong\n", args...)
			if r.Code != 3 || !strings.Contains(r.Stderr, "SMBKRB_ERR_AUTH: smbkrb_connect") || !strings.Contains(r.Stderr, "check the password") {
				t.Fatalf("a wrong password: want exit 3 and SMBKRB_ERR_AUTH with a remedy:\n%v", r)
			}
			if _, err := os.Stat(local); err != nil {
				t.Fatalf("the failed run removed the earlier download: %v", err)
			}
		})
	}
}
