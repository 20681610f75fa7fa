package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/labtool"
	"github.com/smbkrb/smbkrb/internal/lab/samba"
	"github.com/smbkrb/smbkrb/internal/lab/testmain"
	"github.com/smbkrb/smbkrb/krb5"
	"github.com/smbkrb/smbkrb/smb"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
)

// benchAddr is the DC's loopback address: the bench package's own (other
// test packages, which run at the same time, use other 127.0.0.x).
const benchAddr = "127.0.0.12"

// probeName is the small file the session benchmarks Stat.
const probeName = "probe"

// getName is the file the Get benchmarks read on each share.
const getName = "get.bin"

// lab is the benchmark lab: one DC, one user, the peer tools' files.
var lab struct {
	dc        *samba.DC
	user, pw  string
	principal string
	peer      *samba.Peer
	dir       string // private to this process: peer files, caches
	tgtCache  string // path of a FILE cache holding only the user's TGT (kinit)
	smbclient string
	kinit     string
}

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	if labtest.Short() {
		return m.Run() // the fast tier: no lab
	}
	fail := func(what string, err error) int {
		fmt.Fprintf(os.Stderr, "bench: %s: %v\n", what, err)
		return 1
	}
	if os.Geteuid() != 0 {
		return fail("lab", fmt.Errorf("a Samba AD DC needs root: run the benchmarks as root (CI does)"))
	}
	var err error
	if lab.smbclient, err = labtool.Find("smbclient", "smbclient"); err != nil {
		return fail("peer", err)
	}
	if lab.kinit, err = labtool.Find("kinit", "krb5-user"); err != nil {
		return fail("peer", err)
	}
	// The lab lives on tmpfs where there is one: the server's disk is not
	// what is measured, and the page cache of the VM's ext4 disk throttled
	// the server's writes and swung the put figures of both clients.
	l, err := testmain.New("bench", testmain.Options{Tmpfs: true})
	if err != nil {
		return fail("temporary directory", err)
	}
	defer l.Close()
	dir := l.Dir
	lab.dir = dir
	l.Defer(removeFiles)

	lab.user, lab.pw = "benchuser", labtool.Password()
	dcs, err := l.DCs(testmain.DC{Name: "dc1", Options: samba.Options{Realm: "LAB.TEST", Domain: "LAB", HostName: "dc1", Addr: benchAddr},
		Users: map[string]string{lab.user: lab.pw}})
	if err != nil {
		return fail("lab", err)
	}
	dc := dcs[0]
	lab.dc = dc
	lab.principal = lab.user + "@" + dc.Realm
	peerDir := filepath.Join(dir, "peer")
	if err := os.Mkdir(peerDir, 0o700); err != nil {
		return fail("peer directory", err)
	}
	if lab.peer, err = dc.WritePeer(peerDir); err != nil {
		return fail("peer configuration", err)
	}
	lab.tgtCache = filepath.Join(peerDir, "tgt.ccache")
	if err := kinit(lab.tgtCache); err != nil {
		return fail("kinit", err)
	}
	// The probe is written by the user over SMB, so that it carries the
	// ACL any file the user makes would.
	if err := writeProbe(); err != nil {
		return fail("probe file", err)
	}

	code := m.Run()
	printSummary(os.Stdout)
	return code
}

// kinit logs the user in with MIT kinit into the FILE cache at path (the
// peer's own cache, as a user of smbclient would have it).
func kinit(path string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, lab.kinit, "-c", "FILE:"+path, lab.principal)
	cmd.Env = lab.peer.Env("FILE:" + path)
	cmd.Stdin = strings.NewReader(lab.pw + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}

func writeProbe() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	k, err := krb5.NewContext(kerberosConfig())
	if err != nil {
		return err
	}
	defer k.Close()
	cc, err := k.NewMemoryCCache()
	if err != nil {
		return err
	}
	defer cc.Destroy()
	d := &smb.Dialer{Kerberos: k, CCache: cc, Credentials: smb.Password(lab.principal, []byte(lab.pw))}
	s, err := d.Dial(ctx, labServer())
	if err != nil {
		return err
	}
	defer s.Close()
	sh, err := s.Mount(ctx, samba.ShareSigned)
	if err != nil {
		return err
	}
	defer sh.Close()
	return sh.WriteFile(ctx, probeName, []byte("probe\n"))
}

// labServer is the DC as an SMB server: named by its FQDN, reached at its
// address.
func labServer() smb.Server { return smb.Server{Name: lab.dc.FQDN, Addr: lab.dc.Addr} }

// kerberosConfig is the library configuration for the DC's realm, the
// KDC over TCP.
func kerberosConfig() *krb5.Config {
	return &krb5.Config{
		Realms:     []krb5.Realm{{Name: lab.dc.Realm, KDCs: []string{net.JoinHostPort(lab.dc.Addr, "88")}}},
		HostRealms: []krb5.HostRealm{{Host: "." + strings.ToLower(lab.dc.Realm), Realm: lab.dc.Realm}},
	}
}

// kerberos is a library context of kerberosConfig, closed by tb's cleanup.
func kerberos(tb testing.TB) *krb5.Context { return testmain.Context(tb, kerberosConfig()) }

// benchFiles are the data of the transfer benchmarks, made once per
// process on first use (so that a plain `go test` makes none).
var benchFiles struct {
	once     sync.Once
	err      error
	size     int64
	data     []byte // what Put uploads
	local    string // the same bytes in a file on tmpfs, for smbclient's put
	localDir string
}

// sizeMiB is the transfer size from SMBKRB_BENCH_MIB, 16 MiB by default.
func sizeMiB() (int64, error) {
	s := os.Getenv("SMBKRB_BENCH_MIB")
	if s == "" {
		return 16, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 || n > 64<<10 {
		return 0, fmt.Errorf("SMBKRB_BENCH_MIB=%q: want a whole number of MiB from 1 to 65536", s)
	}
	return n, nil
}

// chunkSize is TransferOptions.ChunkSize for the transfer benchmarks,
// from SMBKRB_BENCH_CHUNK_MIB (default 0: the library's default).
func chunkSize(b *testing.B) int {
	s := os.Getenv("SMBKRB_BENCH_CHUNK_MIB")
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 16 {
		b.Fatalf("SMBKRB_BENCH_CHUNK_MIB=%q: want a whole number of MiB from 1 to 16", s)
	}
	return n << 20
}

// files makes the random data, the file to Get on each share (written on
// the server's disk directly) and the local copy for smbclient's put.
func files(b *testing.B) (size int64, data []byte, local string) {
	b.Helper()
	f := &benchFiles
	f.once.Do(func() {
		mib, err := sizeMiB()
		if err != nil {
			f.err = err
			return
		}
		f.size = mib << 20
		f.data = make([]byte, f.size)
		// In 1 MiB pieces: one long getrandom cannot be preempted, and the
		// collector would spin waiting for it (it showed in every profile).
		for b := f.data; len(b) > 0; b = b[min(len(b), 1<<20):] {
			rand.Read(b[:min(len(b), 1<<20)])
		}
		for _, share := range []string{samba.ShareSigned, samba.ShareEncrypted} {
			if f.err = os.WriteFile(filepath.Join(lab.dc.ShareDir(share), getName), f.data, 0o644); f.err != nil {
				return
			}
		}
		// tmpfs, so that smbclient's reads of its source cost no disk.
		parent := "/dev/shm"
		if fi, err := os.Stat(parent); err != nil || !fi.IsDir() {
			parent = ""
		}
		if f.localDir, f.err = os.MkdirTemp(parent, "smbkrb-bench-"); f.err != nil {
			return
		}
		f.local = filepath.Join(f.localDir, "put.bin")
		f.err = os.WriteFile(f.local, f.data, 0o600)
	})
	if f.err != nil {
		b.Fatal(f.err)
	}
	return f.size, f.data, f.local
}

func removeFiles() {
	if benchFiles.localDir != "" {
		os.RemoveAll(benchFiles.localDir)
	}
}

// protection is smbclient's --client-protection for a share: the bench
// forces the peer to sign, or to encrypt, rather than trust its defaults.
// On the aes256 runs it is restricted to AES-256-GCM, as smbkrb is.
func protection(share string) []string {
	switch share {
	case samba.ShareEncrypted:
		return []string{"--client-protection=encrypt"}
	case shareAES256:
		return []string{"--client-protection=encrypt", "--option=client smb3 encryption algorithms = AES-256-GCM"}
	}
	return []string{"--client-protection=sign"}
}

// smbclientArgs are the arguments of an smbclient run on share with the
// Kerberos cache ccache (a FILE path), then args.
func smbclientArgs(share, ccache string, args ...string) []string {
	return lab.peer.SmbclientArgs(lab.dc, realShare(share), "FILE:"+ccache, append(protection(share), args...)...)
}

// runSmbclient runs smbclient once and returns what it used and its
// output; any failure, or an NT_STATUS in the output, fails b.
func runSmbclient(b *testing.B, ccache string, args ...string) proc {
	b.Helper()
	ctx, cancel := context.WithTimeout(b.Context(), 30*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, lab.smbclient, args...)
	cmd.Env = lab.peer.Env("FILE:" + ccache)
	cmd.Dir = lab.dir
	var o strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &o
	p, err := runWatched(cmd)
	p.out = o.String()
	if err != nil || strings.Contains(p.out, "NT_STATUS_") {
		b.Fatalf("smbclient %s: %v: %s", strings.Join(args, " "), err, p.out)
	}
	return p
}

// proc is what one finished child process used.
type proc struct {
	cpu    time.Duration // user + system
	rssMiB float64       // peak resident set
	out    string
}

// runWatched runs cmd and returns its CPU time and its peak resident set.
// The peak is the VmHWM of /proc/PID/status, read every 10 ms while it
// runs: the rusage of wait4 will not do, because a child started with
// CLONE_VM carries its parent's high-water mark across exec.
func runWatched(cmd *exec.Cmd) (proc, error) {
	if err := cmd.Start(); err != nil {
		return proc{}, err
	}
	status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
	done := make(chan struct{})
	peak := make(chan float64, 1)
	go func() {
		var hwm float64
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			if v, ok := vmHWM(status); ok {
				hwm = max(hwm, v)
			}
			select {
			case <-done:
				peak <- hwm
				return
			case <-t.C:
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	p := proc{rssMiB: <-peak}
	if ps := cmd.ProcessState; ps != nil {
		p.cpu = ps.UserTime() + ps.SystemTime()
	}
	return p, err
}

// vmHWM reads the peak resident set, in MiB, from a /proc/PID/status.
func vmHWM(status string) (float64, bool) {
	b, err := os.ReadFile(status)
	if err != nil {
		return 0, false
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kib / 1024, err == nil
		}
	}
	return 0, false
}
