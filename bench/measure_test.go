package bench

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/samba"
)

// selfCPU is the user+system CPU time this process has used so far
// (getrusage RUSAGE_SELF: every thread, children excluded).
func selfCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// clockTick is USER_HZ, the unit of the times in /proc/PID/stat (100 on
// every Linux architecture Go supports).
const clockTick = 10 * time.Millisecond

// serverCPU is the CPU time used so far by the DC's processes: samba (a
// child of this process) and everything under it (smbd, its
// per-connection children, winbindd and its children). Each process counts
// its own time and that of its reaped children, so an smbd that served one
// connection and exited between two readings is still counted, in its
// parent's figure.
func serverCPU(b *testing.B) time.Duration {
	b.Helper()
	procs := map[int]procStat{}
	forEachProc(func(st procStat) { procs[st.pid] = st })
	self := os.Getpid()
	inDC := map[int]bool{}
	var under func(pid int) bool // pid is the DC's samba or below it
	under = func(pid int) bool {
		if v, ok := inDC[pid]; ok {
			return v
		}
		st, ok := procs[pid]
		v := false
		switch {
		case !ok || pid <= 1:
		case st.ppid == self:
			v = isSamba(pid)
		default:
			v = under(st.ppid)
		}
		inDC[pid] = v
		return v
	}
	var ticks int64
	found := false
	for pid, st := range procs {
		if under(pid) {
			found = true
			ticks += st.utime + st.stime + st.cutime + st.cstime
		}
	}
	if !found {
		b.Fatalf("no samba process of the DC %s found among this process's children", lab.dc.FQDN)
	}
	return time.Duration(ticks) * clockTick
}

// isSamba reports whether pid runs samba, as /usr/sbin/samba or under
// the title it gives itself ("samba: root process").
func isSamba(pid int) bool {
	cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return false
	}
	argv0, _, _ := strings.Cut(string(cmdline), "\x00")
	return strings.HasPrefix(filepath.Base(argv0), "samba")
}

type procStat struct {
	pid, ppid                    int
	utime, stime, cutime, cstime int64
}

// forEachProc calls fn with the /proc/PID/stat of every process it can read.
func forEachProc(fn func(procStat)) {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone
		}
		// The command name may hold spaces and parentheses: the fields
		// start after the last ')'.
		i := bytes.LastIndexByte(raw, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(raw[i+1:]))
		if len(f) < 15 {
			continue
		}
		num := func(k int) int64 { n, _ := strconv.ParseInt(f[k-3], 10, 64); return n } // k is proc(5)'s field number
		fn(procStat{pid: pid, ppid: int(num(4)), utime: num(14), stime: num(15), cutime: num(16), cstime: num(17)})
	}
}

// cpuMeter reads the client's and the server's CPU time at the start of a
// measured interval.
type cpuMeter struct {
	client, server time.Duration
}

// startCPU reads the server first, so that the cost of reading /proc
// stays out of the client's figure.
func startCPU(b *testing.B) cpuMeter {
	server := serverCPU(b)
	return cpuMeter{client: selfCPU(b), server: server}
}

// since is the client's (this process's) and the server's CPU time since
// m. The client is read first, for the same reason.
func (m cpuMeter) since(b *testing.B) (client, server time.Duration) {
	client = selfCPU(b) - m.client
	return client, serverCPU(b) - m.server
}

// result is what a benchmark leaves for the summary.
type result struct {
	iterations   int
	msPerOp      float64 // wall time per iteration
	mibPerSec    float64 // transfers only
	cpuPerGiB    float64 // client CPU seconds per GiB moved (transfers)
	srvCPUPerGiB float64 // server CPU seconds per GiB moved (transfers)
	cpuMsPerOp   float64 // client CPU per iteration (sessions)
	rssMiB       float64 // the child's peak resident set (process benchmarks)
}

var results struct {
	sync.Mutex
	m map[string]result
}

// record keeps r under b's name (the last run wins with -count > 1).
func record(b *testing.B, r result) {
	results.Lock()
	defer results.Unlock()
	if results.m == nil {
		results.m = map[string]result{}
	}
	results.m[b.Name()] = r
}

// reportTransfer reports and records a transfer benchmark: n iterations of
// size bytes, with the client and server CPU used.
func reportTransfer(b *testing.B, n int, size int64, client, server time.Duration) {
	if n == 0 {
		return
	}
	gib := float64(n) * float64(size) / (1 << 30)
	r := result{
		iterations:   n,
		msPerOp:      float64(b.Elapsed().Microseconds()) / 1e3 / float64(n),
		mibPerSec:    float64(n) * float64(size) / (1 << 20) / b.Elapsed().Seconds(),
		cpuPerGiB:    client.Seconds() / gib,
		srvCPUPerGiB: server.Seconds() / gib,
	}
	b.ReportMetric(r.mibPerSec, "MiB/s")
	b.ReportMetric(r.cpuPerGiB, "cpu-s/GiB")
	b.ReportMetric(r.srvCPUPerGiB, "srv-cpu-s/GiB")
	record(b, r)
}

// reportRSS adds the largest peak resident set of the child processes
// of b's iterations to b's recorded result.
func reportRSS(b *testing.B, rssMiB float64) {
	if rssMiB == 0 {
		return
	}
	b.ReportMetric(rssMiB, "peak-rss-MiB")
	results.Lock()
	defer results.Unlock()
	r := results.m[b.Name()]
	r.rssMiB = rssMiB
	results.m[b.Name()] = r
}

// reportSession reports and records a session benchmark: n iterations
// with the client CPU used.
func reportSession(b *testing.B, n int, client time.Duration) {
	if n == 0 {
		return
	}
	r := result{
		iterations: n,
		msPerOp:    float64(b.Elapsed().Microseconds()) / 1e3 / float64(n),
		cpuMsPerOp: float64(client.Microseconds()) / 1e3 / float64(n),
	}
	b.ReportMetric(r.msPerOp, "ms/op")
	b.ReportMetric(r.cpuMsPerOp, "cpu-ms/op")
	record(b, r)
}

// printSummary writes the ratios of the benchmarks that ran, smbkrb
// against smbclient in the same run.
func printSummary(w io.Writer) {
	results.Lock()
	defer results.Unlock()
	if len(results.m) == 0 {
		return
	}
	get := func(name string) (result, bool) { r, ok := results.m[name]; return r, ok }
	f := func(v float64, ok bool, format string) string {
		if !ok {
			return "-"
		}
		return fmt.Sprintf(format, v)
	}
	mib, _ := sizeMiB()
	chunk := "default"
	if c := os.Getenv("SMBKRB_BENCH_CHUNK_MIB"); c != "" {
		chunk = c + " MiB"
	}
	fmt.Fprintf(w, "\nbench summary (SMBKRB_BENCH_MIB=%d, chunk %s): smbkrb against smbclient in this run\n", mib, chunk)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	hdr := "transfer"
	for _, d := range depths {
		hdr += "\t" + d + " MiB/s"
	}
	fmt.Fprintln(tw, hdr+"\tauto kept\tsmbclient MiB/s\tauto/smbclient\tbest/smbclient\tsmbclient per run MiB/s\tcpu-s/GiB auto\tcpu-s/GiB smbclient\tsrv cpu-s/GiB auto\tsrv cpu-s/GiB smbclient\t")
	printed := false
	for _, dir := range []string{"Get", "Put", "PutInPlace"} {
		for _, share := range shares {
			var best result
			bestOK := false
			row := map[string]string{"Get": "get", "Put": "put", "PutInPlace": "put in place"}[dir] + " " + share
			for _, d := range depths {
				r, ok := get(fmt.Sprintf("Benchmark%s/%s/%s", dir, share, d))
				row += "\t" + f(r.mibPerSec, ok, "%.1f")
				if ok && (!bestOK || r.mibPerSec > best.mibPerSec) {
					best, bestOK = r, true
				}
			}
			name := fmt.Sprintf("Benchmark%s/%s/auto", dir, share)
			auto, autoOK := get(name)
			kept := "-"
			if v, ok := chosen.Load(name); ok {
				kept = fmt.Sprint(v)
			}
			peerDir := strings.TrimSuffix(dir, "InPlace") // smbclient's put is in place
			peer, peerOK := get("BenchmarkSmbclient" + peerDir + "Interactive/" + share)
			perRun, perRunOK := get("BenchmarkSmbclient" + peerDir + "/" + share)
			if !bestOK && (dir == "PutInPlace" || !peerOK && !perRunOK) {
				continue
			}
			printed = true
			row += "\t" + kept + "\t" + f(peer.mibPerSec, peerOK, "%.1f")
			row += "\t" + f(auto.mibPerSec/peer.mibPerSec, autoOK && peerOK, "%.2f")
			row += "\t" + f(best.mibPerSec/peer.mibPerSec, bestOK && peerOK, "%.2f")
			row += "\t" + f(perRun.mibPerSec, perRunOK, "%.1f")
			row += "\t" + f(auto.cpuPerGiB, autoOK, "%.2f") + "\t" + f(peer.cpuPerGiB, peerOK, "%.2f")
			row += "\t" + f(auto.srvCPUPerGiB, autoOK, "%.2f") + "\t" + f(peer.srvCPUPerGiB, peerOK, "%.2f") + "\t"
			fmt.Fprintln(tw, row)
		}
	}
	if printed {
		tw.Flush()
		for _, share := range shares {
			if v, ok := negotiated.Load(share); ok {
				fmt.Fprintf(w, "smbkrb on %s: %s\n", share, v)
			}
		}
		fmt.Fprintln(w, "(pN: N requests in flight throughout; auto: the default, up to 4, the depth measured at the start of each transfer, \"auto kept\" the depth it kept; best: the fastest column; smbclient: one process, session open, transfers typed on its stdin; per run: one smbclient process per transfer, start and session setup included)")
	}

	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "process per transfer\tsmbkrb MiB/s\tsmbclient MiB/s\tsmbkrb/smbclient\tcpu-s/GiB smbkrb\tcpu-s/GiB smbclient\tpeak RSS MiB smbkrb\tpeak RSS MiB smbclient\t")
	cliRows := false
	for _, dir := range []string{"Get", "Put"} {
		for _, share := range []string{samba.ShareSigned, samba.ShareEncrypted} {
			r, ok := get("BenchmarkCLI/" + strings.ToLower(dir) + "/" + share)
			peer, peerOK := get("BenchmarkSmbclient" + dir + "/" + share)
			if !ok {
				continue
			}
			cliRows = true
			fmt.Fprintf(tw, "%s %s\t%.1f\t%s\t%s\t%.2f\t%s\t%.1f\t%s\t\n", strings.ToLower(dir), share,
				r.mibPerSec, f(peer.mibPerSec, peerOK, "%.1f"), f(r.mibPerSec/peer.mibPerSec, peerOK, "%.2f"),
				r.cpuPerGiB, f(peer.cpuPerGiB, peerOK, "%.2f"), r.rssMiB, f(peer.rssMiB, peerOK && peer.rssMiB > 0, "%.1f"))
		}
	}
	if cliRows {
		fmt.Fprintln(w)
		tw.Flush()
		fmt.Fprintln(w, "(the smbkrb command and smbclient, one process per transfer, start and session setup included)")
	}

	startup, startOK := get("BenchmarkSmbclientStartup")
	rows := []struct{ label, mine, peer string }{
		{"cold (password login)", "BenchmarkSessionCold", "BenchmarkSmbclientSession/cold"},
		{"TGT in cache", "BenchmarkSessionTGT", "BenchmarkSmbclientSession/cold"},
		{"warm (ticket in cache)", "BenchmarkSessionWarm", "BenchmarkSmbclientSession/warm"},
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "session\tsmbkrb ms\tsmbkrb cpu-ms\tsmbclient ms\tsmbclient cpu-ms\tsmbclient - startup ms\tsmbkrb/(smbclient - startup)\t")
	printed = false
	for _, row := range rows {
		mine, ok := get(row.mine)
		peer, peerOK := get(row.peer)
		if !ok && !peerOK {
			continue
		}
		printed = true
		netMs := peer.msPerOp - startup.msPerOp
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", row.label,
			f(mine.msPerOp, ok, "%.2f"), f(mine.cpuMsPerOp, ok, "%.2f"),
			f(peer.msPerOp, peerOK, "%.2f"), f(peer.cpuMsPerOp, peerOK, "%.2f"),
			f(netMs, peerOK && startOK, "%.2f"), f(mine.msPerOp/netMs, ok && peerOK && startOK && netMs > 0, "%.2f"))
	}
	if startOK {
		printed = true
		fmt.Fprintf(tw, "smbclient --version\t\t\t%.2f\t%.2f\t\t\t\n", startup.msPerOp, startup.cpuMsPerOp)
	}
	if printed {
		tw.Flush()
	}
}
