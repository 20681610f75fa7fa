package krb5_test

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/krb5"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
	"github.com/smbkrb/smbkrb/internal/lab/testmain"
)

func TestPasswordLogin(t *testing.T) {
	labtest.Need(t)
	k := testmain.Context(t, labConfig())
	cc := testmain.MemoryCache(t, k)
	if cc.HasTGT("", time.Now()) || cc.HasTGT("MITLAB.TEST", time.Now()) {
		t.Error("an empty cache reports a TGT")
	}
	client, err := k.GetInitCredsPassword(t.Context(), cc, alice, []byte(lab.alicePW), nil)
	if err != nil {
		t.Fatal(err)
	}
	if client != alice {
		t.Errorf("client = %q, want %q", client, alice)
	}
	if p, err := cc.Principal(); err != nil || p != alice {
		t.Errorf("cache principal = %q, %v", p, err)
	}
	creds, err := cc.Credentials()
	if err != nil {
		t.Fatal(err)
	}
	if len(creds) != 1 {
		t.Fatalf("cache holds %d tickets, want the TGT only: %+v", len(creds), creds)
	}
	tgt := creds[0]
	if tgt.Server != "krbtgt/MITLAB.TEST@MITLAB.TEST" {
		t.Errorf("server = %q", tgt.Server)
	}
	if tgt.KeyEnctype != krb5.AES256SHA384 && tgt.KeyEnctype != krb5.AES256SHA1 {
		t.Errorf("session key enctype %v, want AES-256", tgt.KeyEnctype)
	}
	if tgt.TicketEnctype != krb5.AES256SHA384 && tgt.TicketEnctype != krb5.AES256SHA1 {
		t.Errorf("ticket enctype %v, want AES-256", tgt.TicketEnctype)
	}
	if tgt.Flags&krb5.FlagInitial == 0 || tgt.Flags&krb5.FlagPreAuthent == 0 {
		t.Errorf("flags %s: want initial and pre-authenticated", tgt.Flags)
	}
	if life := tgt.EndTime.Sub(tgt.StartTime); life < 9*time.Hour || life > 10*time.Hour+time.Minute {
		t.Errorf("lifetime %v, want about 10h", life)
	}
	if tgt.Expired(time.Now()) {
		t.Error("fresh TGT reported expired")
	}
	if !cc.HasTGT("", time.Now()) || !cc.HasTGT("MITLAB.TEST", time.Now().Add(time.Hour)) {
		t.Error("HasTGT misses the fresh TGT")
	}
	if cc.HasTGT("OTHER.TEST", time.Now()) || cc.HasTGT("", tgt.EndTime) {
		t.Error("HasTGT reports a TGT of another realm, or one past its end")
	}
}

func TestKeytabLogin(t *testing.T) {
	labtest.Need(t)
	k := testmain.Context(t, labConfig())
	cc := testmain.MemoryCache(t, k)
	client, err := k.GetInitCredsKeytab(t.Context(), cc, svcLogin, "FILE:"+lab.svcKeytab, nil)
	if err != nil {
		t.Fatal(err)
	}
	if client != svcLogin {
		t.Errorf("client = %q", client)
	}
	// A missing keytab file says so, not "pre-authentication failed"
	// (MIT's code for it), which reads like a wrong key.
	for _, name := range []string{"FILE:" + lab.svcKeytab + ".missing", lab.svcKeytab + ".missing"} {
		_, err := k.GetInitCredsKeytab(t.Context(), testmain.MemoryCache(t, k), svcLogin, name, nil)
		if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, krb5.ErrPreauthFailed) {
			t.Errorf("keytab %s: %v, want the file missing", name, err)
		}
	}
	// A keytab without the principal's key says so.
	_, err = k.GetInitCredsKeytab(t.Context(), cc, alice, "FILE:"+lab.svcKeytab, nil)
	if !errors.Is(err, krb5.ErrNoCredentials) {
		t.Errorf("login with a keytab lacking the key: %v, want ErrNoCredentials", err)
	}
}

func TestWrongPassword(t *testing.T) {
	labtest.Need(t)
	k := testmain.Context(t, labConfig())
	cc := testmain.MemoryCache(t, k)
	_, err := k.GetInitCredsPassword(t.Context(), cc, alice, []byte("not-the-password"), nil)
	if !errors.Is(err, krb5.ErrPreauthFailed) {
		t.Fatalf("err = %v, want ErrPreauthFailed", err)
	}
	var ke *krb5.Error
	if !errors.As(err, &ke) || ke.Code == 0 || ke.Message == "" {
		t.Fatalf("err %#v lacks the MIT code and message", err)
	}
	if strings.Contains(err.Error(), "not-the-password") {
		t.Error("the password appears in the error text")
	}
	if !strings.Contains(err.Error(), "password") || !strings.Contains(err.Error(), alice) {
		t.Errorf("error text does not say what failed in words: %q", err)
	}
}

func TestUnknownPrincipal(t *testing.T) {
	labtest.Need(t)
	k := testmain.Context(t, labConfig())
	cc := testmain.MemoryCache(t, k)
	_, err := k.GetInitCredsPassword(t.Context(), cc, "nobody@MITLAB.TEST", []byte("x"), nil)
	if !errors.Is(err, krb5.ErrPrincipalUnknown) {
		t.Fatalf("err = %v, want ErrPrincipalUnknown", err)
	}
	loginAlice(t, k, cc)
	_, err = k.GetCredentials(t.Context(), cc, "cifs/nosuch.mitlab.test")
	if !errors.Is(err, krb5.ErrPrincipalUnknown) {
		t.Fatalf("unknown service: err = %v, want ErrPrincipalUnknown", err)
	}
	if !strings.Contains(err.Error(), "cifs/nosuch.mitlab.test@MITLAB.TEST") {
		t.Errorf("error does not name the service: %v", err)
	}
}

func TestUnreachableKDC(t *testing.T) {
	labtest.Need(t)
	// A port nothing listens on: connection refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := labConfig()
	cfg.Realms[0].KDCs = []string{addr}
	k := testmain.Context(t, cfg)
	cc := testmain.MemoryCache(t, k)
	_, err = k.GetInitCredsPassword(t.Context(), cc, alice, []byte(lab.alicePW), nil)
	if !errors.Is(err, krb5.ErrNoKDC) {
		t.Fatalf("err = %v, want ErrNoKDC", err)
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("error does not name the KDC tried: %v", err)
	}
	// A realm with no KDC configured at all.
	k2 := testmain.Context(t, &krb5.Config{})
	cc2 := testmain.MemoryCache(t, k2)
	_, err = k2.GetInitCredsPassword(t.Context(), cc2, alice, []byte(lab.alicePW), nil)
	if !errors.Is(err, krb5.ErrNoKDC) || !strings.Contains(err.Error(), "Config.Realms") || !strings.Contains(err.Error(), "MITLAB.TEST") {
		t.Fatalf("unconfigured realm: err = %v, want ErrNoKDC naming the realm and Config.Realms", err)
	}
}

func TestSecondKDCUsedWhenFirstIsDown(t *testing.T) {
	labtest.Need(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	cfg := labConfig()
	cfg.Realms[0].KDCs = []string{dead, lab.kdc.Addr}
	k := testmain.Context(t, cfg)
	loginAlice(t, k, testmain.MemoryCache(t, k))
}

func TestRealmNotServed(t *testing.T) {
	labtest.Need(t)
	// The lab KDC serves MITLAB.TEST and OTHER.TEST; MIT's KDC drops a
	// request for a realm it does not serve without an answer.
	cfg := &krb5.Config{Realms: []krb5.Realm{{Name: "NOWHERE.TEST", KDCs: []string{lab.kdc.Addr}}}}
	k := testmain.Context(t, cfg)
	_, err := k.GetInitCredsPassword(t.Context(), testmain.MemoryCache(t, k), "alice@NOWHERE.TEST", []byte("x"), nil)
	if !errors.Is(err, krb5.ErrNoKDC) || !strings.Contains(err.Error(), lab.kdc.Addr) {
		t.Fatalf("err = %v, want ErrNoKDC naming the KDC", err)
	}
}

func TestCrossRealmServiceTicket(t *testing.T) {
	labtest.Need(t)
	k := testmain.Context(t, labConfig())
	cc := testmain.MemoryCache(t, k)
	loginAlice(t, k, cc)
	// Realm from the host mapping: MIT walks the trust path itself.
	cfg := labConfig()
	cfg.HostRealms = append(cfg.HostRealms, krb5.HostRealm{Host: ".other.test", Realm: "OTHER.TEST"})
	k2 := testmain.Context(t, cfg)
	info, err := k2.GetCredentials(t.Context(), cc, "cifs/fs2.other.test")
	if err != nil {
		t.Fatal(err)
	}
	if info.Server != "cifs/fs2.other.test@OTHER.TEST" || info.Client != alice {
		t.Errorf("ticket %s for %s", info.Server, info.Client)
	}
	creds, _ := cc.Credentials()
	var sawTrust bool
	for _, c := range creds {
		sawTrust = sawTrust || c.Server == "krbtgt/OTHER.TEST@MITLAB.TEST"
	}
	if !sawTrust {
		t.Errorf("no cross-realm TGT in the cache: %+v", creds)
	}
	acc := acceptor(t, lab.fs2Keytab)
	ini, err := k2.NewInitiator(t.Context(), cc, "cifs/fs2.other.test", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ini.Close()
	handshake(t, ini, acc)
}

func TestReferral(t *testing.T) {
	labtest.Need(t)
	// No host mapping on the client: the name goes out without a realm
	// and the KDC of MITLAB.TEST refers the client to OTHER.TEST.
	k := testmain.Context(t, labConfig())
	cc := testmain.MemoryCache(t, k)
	loginAlice(t, k, cc)
	name, referral := k.ServerPrincipal("cifs/fs2.other.test")
	if !referral || name != "cifs/fs2.other.test" {
		t.Fatalf("ServerPrincipal = %q, %v", name, referral)
	}
	info, err := k.GetCredentials(t.Context(), cc, "cifs/fs2.other.test")
	if err != nil {
		t.Fatal(err)
	}
	if info.Server != "cifs/fs2.other.test@OTHER.TEST" && info.Server != "cifs/fs2.other.test@" {
		t.Errorf("referral ticket stored as %q", info.Server)
	}
	acc := acceptor(t, lab.fs2Keytab)
	ini, err := k.NewInitiator(t.Context(), cc, "cifs/fs2.other.test", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ini.Close()
	handshake(t, ini, acc)
}

func TestEnterpriseName(t *testing.T) {
	labtest.Need(t)
	k := testmain.Context(t, labConfig())
	cc := testmain.MemoryCache(t, k)
	// The UPN bob@upn.example goes out as one NT-ENTERPRISE name to the
	// KDC of MITLAB.TEST, which answers with the canonical name.
	client, err := k.GetInitCredsPassword(t.Context(), cc, "bob@upn.example", []byte(lab.alicePW),
		&krb5.InitCredsOptions{Enterprise: true, Realm: lab.realm})
	if err != nil {
		t.Fatal(err)
	}
	const want = `bob\@upn.example@MITLAB.TEST`
	if client != want {
		t.Errorf("canonical client = %q, want %q", client, want)
	}
	if p, _ := cc.Principal(); p != want {
		t.Errorf("cache principal = %q, want the canonical name", p)
	}
	// Without the enterprise flag the same string is the principal
	// bob@UPN.EXAMPLE's realm part: another realm, no KDC.
	_, err = k.GetInitCredsPassword(t.Context(), cc, "bob@upn.example", []byte(lab.alicePW), nil)
	if !errors.Is(err, krb5.ErrNoKDC) || !strings.Contains(err.Error(), "Config.Realms") {
		t.Errorf("plain name in an unconfigured realm: %v", err)
	}
	// An enterprise name needs a realm to ask and an @.
	for _, c := range []struct {
		name string
		opts krb5.InitCredsOptions
	}{{"bob@upn.example", krb5.InitCredsOptions{Enterprise: true}}, {"bob", krb5.InitCredsOptions{Enterprise: true, Realm: lab.realm}}} {
		_, err = k.GetInitCredsPassword(t.Context(), cc, c.name, []byte(lab.alicePW), &c.opts)
		if err == nil || errors.Is(err, krb5.ErrNoKDC) {
			t.Errorf("enterprise %q %+v: %v", c.name, c.opts, err)
		}
	}
}

func TestKDCThatNeverAnswers(t *testing.T) {
	labtest.Need(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // hold the connection open, never answer
		}
	}()
	cfg := labConfig()
	cfg.Realms[0].KDCs = []string{l.Addr().String()}
	k := testmain.Context(t, cfg)
	cc := testmain.MemoryCache(t, k)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := k.GetInitCredsPassword(ctx, cc, alice, []byte(lab.alicePW), nil)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want context.DeadlineExceeded", err)
		}
		if !errors.Is(err, krb5.ErrNoKDC) {
			t.Errorf("err = %v, want ErrNoKDC as well", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("login hung on a KDC that never answers")
	}
	// Without a caller deadline Config.KDCTimeout bounds the exchange.
	cfg2 := labConfig()
	cfg2.Realms[0].KDCs = []string{l.Addr().String()}
	cfg2.KDCTimeout = 200 * time.Millisecond
	k2 := testmain.Context(t, cfg2)
	_, err = k2.GetInitCredsPassword(context.Background(), testmain.MemoryCache(t, k2), alice, []byte(lab.alicePW), nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("KDCTimeout: err = %v, want context.DeadlineExceeded", err)
	}
}

func TestCanceledContext(t *testing.T) {
	labtest.Need(t)
	k := testmain.Context(t, labConfig())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := k.GetInitCredsPassword(ctx, testmain.MemoryCache(t, k), alice, []byte(lab.alicePW), nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestTicketExpired(t *testing.T) {
	labtest.Need(t)
	k := testmain.Context(t, labConfig())
	cc := testmain.MemoryCache(t, k)
	if _, err := k.GetInitCredsPassword(t.Context(), cc, alice, []byte(lab.alicePW),
		&krb5.InitCredsOptions{Lifetime: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	_, err := k.GetCredentials(t.Context(), cc, cifsSPN)
	if !errors.Is(err, krb5.ErrTicketExpired) {
		t.Fatalf("err = %v, want ErrTicketExpired", err)
	}
}

// mitTool runs one of MIT's command-line tools against the lab KDC.
func mitTool(t *testing.T, ccache string, stdin string, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Env = append(lab.kdc.Env(), "KRB5CCNAME="+ccache)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestFileCacheReadByMITKlist(t *testing.T) {
	labtest.Need(t)
	k := testmain.Context(t, labConfig())
	path := filepath.Join(t.TempDir(), "cc")
	cc, err := k.OpenCCache("FILE:" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	loginAlice(t, k, cc)
	info, err := k.GetCredentials(t.Context(), cc, cifsSPN)
	if err != nil {
		t.Fatal(err)
	}
	if info.Server != cifsSPN+"@MITLAB.TEST" {
		t.Errorf("server = %q", info.Server)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("cache file mode: %v %v", st.Mode(), err)
	}
	out := mitTool(t, "FILE:"+path, "", "klist", "-e")
	for _, want := range []string{"Default principal: " + alice, "krbtgt/MITLAB.TEST@MITLAB.TEST", cifsSPN + "@MITLAB.TEST", "aes256"} {
		if !strings.Contains(out, want) {
			t.Errorf("klist output lacks %q:\n%s", want, out)
		}
	}
	if err := cc.Initialize("carol@MITLAB.TEST"); err != nil {
		t.Fatal(err)
	}
	if creds, err := cc.Credentials(); err != nil || len(creds) != 0 {
		t.Errorf("after Initialize: %d tickets, %v", len(creds), err)
	}
	if p, _ := cc.Principal(); p != "carol@MITLAB.TEST" {
		t.Errorf("after Initialize: principal %q", p)
	}
	if err := cc.Destroy(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("cache file still there after Destroy: %v", err)
	}
}

func TestCacheWrittenByMITKinit(t *testing.T) {
	labtest.Need(t)
	path := filepath.Join(t.TempDir(), "cc")
	mitTool(t, "FILE:"+path, lab.alicePW+"\n", "kinit", alice)
	k := testmain.Context(t, labConfig())
	cc, err := k.OpenCCache("FILE:" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	if p, err := cc.Principal(); err != nil || p != alice {
		t.Fatalf("principal %q, %v", p, err)
	}
	if _, err := k.GetCredentials(t.Context(), cc, cifsSPN); err != nil {
		t.Fatal(err)
	}
	out := mitTool(t, "FILE:"+path, "", "klist")
	if !strings.Contains(out, cifsSPN) {
		t.Errorf("MIT klist does not see the ticket smbkrb added:\n%s", out)
	}
	// And MIT's kvno uses the ticket as a cached one.
	mitTool(t, "FILE:"+path, "", "kvno", "--cached-only", cifsSPN+"@MITLAB.TEST")
}

func TestDirCollection(t *testing.T) {
	labtest.Need(t)
	k := testmain.Context(t, labConfig())
	dir := t.TempDir()
	cc, err := k.OpenCCache("DIR:" + dir)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	loginAlice(t, k, cc)
	if !strings.HasPrefix(cc.Name(), "DIR:") {
		t.Errorf("name %q", cc.Name())
	}
	out := mitTool(t, "DIR:"+dir, "", "klist", "-A")
	if !strings.Contains(out, alice) {
		t.Errorf("klist -A:\n%s", out)
	}
}

func TestKeyringCache(t *testing.T) {
	labtest.Need(t)
	k := testmain.Context(t, labConfig())
	cc, err := k.OpenCCache("KEYRING:process:smbkrb-test")
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Destroy()
	loginAlice(t, k, cc)
	creds, err := cc.Credentials()
	if err != nil || len(creds) != 1 {
		t.Fatalf("keyring cache: %v %+v", err, creds)
	}
}

func TestConfigRejectsBadValues(t *testing.T) {
	for _, cfg := range []krb5.Config{
		{Realms: []krb5.Realm{{Name: "A B"}}},
		{Realms: []krb5.Realm{{Name: "LAB.TEST"}}},
		{Realms: []krb5.Realm{{Name: "LAB.TEST", KDCs: []string{"http://proxy/kdc"}}}},
		{Realms: []krb5.Realm{{Name: "LAB.TEST", KDCs: []string{"kdc:99999"}}}},
		{Realms: []krb5.Realm{{Name: "LAB.TEST", KDCs: []string{"kdc\n}"}}}},
		{HostRealms: []krb5.HostRealm{{Host: ".", Realm: "X"}}},
		{Enctypes: []krb5.Enctype{3}},
		{Concurrency: -1},
		{Concurrency: 65},
	} {
		if _, err := krb5.NewContext(&cfg); err == nil {
			t.Errorf("config %+v accepted", cfg)
		} else if !strings.HasPrefix(err.Error(), "krb5: config: ") {
			t.Errorf("error %q does not say it is about the config", err)
		}
	}
}
