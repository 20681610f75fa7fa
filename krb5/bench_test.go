package krb5_test

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/smbkrb/smbkrb/krb5"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
	"github.com/smbkrb/smbkrb/internal/lab/testmain"
)

// rssKiB reads the resident set size of this process.
func rssKiB(b *testing.B) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			n, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// BenchmarkGSSContexts establishes initiator ↔ acceptor contexts with a MIC
// each way and the session key read, then closes them. Run it with
// -benchtime=10000x: rss-growth-KiB is the resident memory after the run
// minus before (after 1000 warm-up contexts), rss-growth-2nd-half-KiB the
// growth over the second half alone; a leak shows in both.
func BenchmarkGSSContexts(b *testing.B) {
	labtest.Need(b)
	k := testmain.Context(b, labConfig())
	cc := testmain.MemoryCache(b, k)
	loginAlice(b, k, cc)
	one := func() {
		ini, err := k.NewInitiator(b.Context(), cc, cifsSPN, nil)
		if err != nil {
			b.Fatal(err)
		}
		acc, err := k.NewAcceptor("FILE:"+lab.cifsKeytab, &krb5.AcceptorOptions{ReplayCache: "none:"})
		if err != nil {
			b.Fatal(err)
		}
		handshake(b, ini, acc)
		mic, err := ini.GetMIC([]byte("msg"))
		if err != nil {
			b.Fatal(err)
		}
		if err := acc.VerifyMIC([]byte("msg"), mic); err != nil {
			b.Fatal(err)
		}
		key, err := ini.SessionKey()
		if err != nil {
			b.Fatal(err)
		}
		key.Zero()
		ini.Close()
		acc.Close()
	}
	for range 1000 {
		one()
	}
	runtime.GC()
	before := rssKiB(b)
	var mid float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		one()
		if i == b.N/2 {
			b.StopTimer()
			runtime.GC()
			mid = rssKiB(b)
			b.StartTimer()
		}
	}
	b.StopTimer()
	runtime.GC()
	after := rssKiB(b)
	b.ReportMetric(before, "rss-before-KiB")
	b.ReportMetric(after, "rss-after-KiB")
	b.ReportMetric(after-before, "rss-growth-KiB")
	// A leak grows as much in the second half as in the first; allocator
	// warm-up does not.
	b.ReportMetric(after-mid, "rss-growth-2nd-half-KiB")
}

func benchLogin(b *testing.B, cfg *krb5.Config) {
	k := testmain.Context(b, cfg)
	for b.Loop() {
		cc, err := k.NewMemoryCCache()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := k.GetInitCredsPassword(b.Context(), cc, alice, []byte(lab.alicePW), nil); err != nil {
			b.Fatal(err)
		}
		cc.Destroy()
	}
}

func benchTGS(b *testing.B, cfg *krb5.Config) {
	k := testmain.Context(b, cfg)
	src := testmain.MemoryCache(b, k)
	loginAlice(b, k, src)
	tgt, err := src.ExportKRBCred("krbtgt/MITLAB.TEST@MITLAB.TEST")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		cc, err := k.NewMemoryCCache()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := cc.ImportKRBCred(tgt); err != nil {
			b.Fatal(err)
		}
		if _, err := k.GetCredentials(b.Context(), cc, cifsSPN); err != nil {
			b.Fatal(err)
		}
		cc.Destroy()
	}
}

// The login benchmarks measure a password login (two AS exchanges: the
// KDC asks for pre-authentication); the TGS ones one service ticket.
func BenchmarkLoginTCP(b *testing.B) { benchLogin(b, labConfig()) }

// BenchmarkLoginTCPSHA384First shows the cost of preferring
// aes256-cts-hmac-sha384-192 for password logins (PBKDF2 with 32768
// SHA-384 rounds).
func BenchmarkLoginTCPSHA384First(b *testing.B) {
	labtest.Need(b)
	cfg := labConfig()
	cfg.Enctypes = []krb5.Enctype{krb5.AES256SHA384, krb5.AES256SHA1}
	benchLogin(b, cfg)
}
func BenchmarkTGSTCP(b *testing.B) { benchTGS(b, labConfig()) }

func BenchmarkLoginProxy(b *testing.B) {
	labtest.Need(b)
	url, ca, _ := startProxy(b)
	benchLogin(b, proxyConfig(url, ca))
}

func BenchmarkTGSProxy(b *testing.B) {
	labtest.Need(b)
	url, ca, _ := startProxy(b)
	benchTGS(b, proxyConfig(url, ca))
}
