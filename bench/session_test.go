package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/samba"
	"github.com/smbkrb/smbkrb/internal/lab/testmain"
	"github.com/smbkrb/smbkrb/krb5"
	"github.com/smbkrb/smbkrb/smb"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
)

// session is one use of a session: dial (service ticket and session
// setup, after a login if d's cache needs one), tree connect to the signed
// share, Stat of the probe, tree disconnect and logoff.
func session(b *testing.B, d *smb.Dialer) smb.SessionInfo {
	b.Helper()
	ctx := b.Context()
	s, err := d.Dial(ctx, labServer())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	sh, err := s.Mount(ctx, samba.ShareSigned)
	if err != nil {
		b.Fatal(err)
	}
	fi, err := sh.Stat(ctx, probeName)
	if err != nil {
		b.Fatal(err)
	}
	if fi.Size() == 0 {
		b.Fatalf("Stat %s: size 0", probeName)
	}
	if err := sh.Close(); err != nil {
		b.Fatal(err)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	return s.Info()
}

// sessionLoop runs session with the dialer dialer() gives per iteration
// (done() after it) and reports wall and CPU time per session, and the
// dial's own share of it (SessionInfo.SetupTime and TicketTime).
func sessionLoop(b *testing.B, dialer func() *smb.Dialer, done func()) {
	var setup, ticket time.Duration
	n := 0
	cpu := selfCPU(b)
	for b.Loop() {
		info := session(b, dialer())
		if done != nil {
			done()
		}
		setup += info.SetupTime
		ticket += info.TicketTime
		n++
	}
	reportSession(b, n, selfCPU(b)-cpu)
	if n > 0 {
		b.ReportMetric(float64(setup.Microseconds())/1e3/float64(n), "dial-ms/op")
		b.ReportMetric(float64(ticket.Microseconds())/1e3/float64(n), "ticket-ms/op")
	}
}

// BenchmarkSessionCold: a fresh memory cache per iteration, so each one
// logs in with the password (AS exchange with pre-authentication), gets
// the service ticket, sets up the session, mounts, stats, closes.
func BenchmarkSessionCold(b *testing.B) {
	labtest.Need(b)
	k := kerberos(b)
	creds := smb.Password(lab.principal, []byte(lab.pw))
	var cc *krb5.CCache
	sessionLoop(b, func() *smb.Dialer {
		c, err := k.NewMemoryCCache()
		if err != nil {
			b.Fatal(err)
		}
		cc = c
		return &smb.Dialer{Kerberos: k, CCache: c, Credentials: creds}
	}, func() { cc.Destroy() })
}

// BenchmarkSessionTGT: a fresh memory cache per iteration that holds the
// user's TGT (imported outside the timer), so each one gets the service
// ticket, sets up the session, mounts, stats, closes: the work of an
// smbclient run with a kinit'ed cache (BenchmarkSmbclientSession/cold).
func BenchmarkSessionTGT(b *testing.B) {
	labtest.Need(b)
	k := kerberos(b)
	src := testmain.MemoryCache(b, k)
	if _, err := k.GetInitCredsPassword(b.Context(), src, lab.principal, []byte(lab.pw), nil); err != nil {
		b.Fatal(err)
	}
	tgt, err := src.ExportKRBCred("krbtgt/" + lab.dc.Realm + "@" + lab.dc.Realm)
	if err != nil {
		b.Fatal(err)
	}
	var cc *krb5.CCache
	sessionLoop(b, func() *smb.Dialer {
		b.StopTimer()
		defer b.StartTimer()
		c, err := k.NewMemoryCCache()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.ImportKRBCred(tgt); err != nil {
			b.Fatal(err)
		}
		cc = c
		return &smb.Dialer{Kerberos: k, CCache: c, Credentials: smb.Cache()}
	}, func() {
		b.StopTimer()
		cc.Destroy()
		b.StartTimer()
	})
}

// BenchmarkSessionWarm: the cache already holds the service ticket, so
// each iteration is session setup, mount, stat and close.
func BenchmarkSessionWarm(b *testing.B) {
	labtest.Need(b)
	k := kerberos(b)
	d := &smb.Dialer{Kerberos: k, CCache: testmain.MemoryCache(b, k), Credentials: smb.Password(lab.principal, []byte(lab.pw))}
	session(b, d) // login and service ticket, untimed
	sessionLoop(b, func() *smb.Dialer { return d }, nil)
}

// BenchmarkSmbclientSession is the peer: one smbclient process per
// iteration doing "ls probe" on the signed share. cold starts each run from
// a copy of the kinit'ed cache (TGT only: smbclient gets the service ticket),
// warm from a cache that also holds the cifs ticket from an earlier run.
// Both include smbclient's process start (see BenchmarkSmbclientStartup).
func BenchmarkSmbclientSession(b *testing.B) {
	labtest.Need(b)
	run := func(b *testing.B, ccache string) time.Duration {
		r := runSmbclient(b, ccache, smbclientArgs(samba.ShareSigned, ccache, "-c", "ls "+probeName)...)
		if !strings.Contains(r.out, probeName) {
			b.Fatalf("smbclient ls %s: %s", probeName, r.out)
		}
		return r.cpu
	}
	b.Run("cold", func(b *testing.B) {
		ccache := filepath.Join(b.TempDir(), "ccache")
		var cpu time.Duration
		n := 0
		for b.Loop() {
			b.StopTimer()
			copyFile(b, lab.tgtCache, ccache)
			b.StartTimer()
			cpu += run(b, ccache)
			n++
		}
		reportSession(b, n, cpu)
	})
	b.Run("warm", func(b *testing.B) {
		ccache := filepath.Join(b.TempDir(), "ccache")
		copyFile(b, lab.tgtCache, ccache)
		run(b, ccache) // gets the service ticket into the cache, untimed
		if !hasServiceTicket(b, ccache) {
			b.Fatalf("smbclient left no cifs/%s ticket in %s: the warm run would not be warm", lab.dc.FQDN, ccache)
		}
		var cpu time.Duration
		n := 0
		for b.Loop() {
			cpu += run(b, ccache)
			n++
		}
		reportSession(b, n, cpu)
	})
}

// BenchmarkSmbclientStartup is the cost of starting smbclient at all
// (smbclient --version): subtract it from BenchmarkSmbclientSession.
func BenchmarkSmbclientStartup(b *testing.B) {
	labtest.Need(b)
	var cpu time.Duration
	n := 0
	for b.Loop() {
		r := runSmbclient(b, lab.tgtCache, "--version")
		if !strings.HasPrefix(r.out, "Version ") {
			b.Fatalf("smbclient --version: %s", r.out)
		}
		cpu += r.cpu
		n++
	}
	reportSession(b, n, cpu)
}

func copyFile(b *testing.B, from, to string) {
	b.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		b.Fatal(err)
	}
}

// hasServiceTicket reports whether the FILE cache at path holds a ticket
// for the DC's cifs service.
func hasServiceTicket(b *testing.B, path string) bool {
	b.Helper()
	k := kerberos(b)
	cc, err := k.OpenCCache("FILE:" + path)
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Close()
	creds, err := cc.Credentials()
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range creds {
		if strings.HasPrefix(strings.ToLower(c.Server), "cifs/"+lab.dc.FQDN) {
			return true
		}
	}
	return false
}
