// Package bench measures smbkrb's SMB layer against smbclient, the Samba
// project's own client, on a real Samba AD DC started on loopback
// (internal/lab/samba, realm LAB.TEST, address 127.0.0.12). The package has
// no code of its own: everything is in its _test.go files, and a run is
//
//	make bench
//
// or, for one quick pass of every benchmark (16 MiB files, as CI does),
//
//	go test -run '^$' -bench . -benchtime 3x ./bench/
//
// SMBKRB_BENCH_MIB sets the size of the transferred file in MiB (default
// 16; make bench uses 256).
//
// Each smbkrb benchmark has an smbclient peer measured in the same run, and
// results are read as ratios between the two, never as absolute times: the
// machines that run this are small, shared and noisy. At the end of a run
// TestMain prints the ratios of the benchmarks that ran.
//
// What is measured:
//
//   - Session setup. BenchmarkSessionCold: a fresh memory cache, then
//     password login, service ticket, SMB session setup, tree connect to the
//     signed share, one Stat, logoff. BenchmarkSessionTGT: the same from a
//     cache that already holds the TGT (what an smbclient run with a kinit'ed
//     cache does). BenchmarkSessionWarm: the service ticket is cached too.
//     The peer BenchmarkSmbclientSession runs one smbclient process per
//     iteration ("ls probe"), cold (a copy of a cache holding only the TGT)
//     and warm (the cifs ticket cached); BenchmarkSmbclientStartup is the cost
//     of starting smbclient at all (smbclient --version), to be subtracted.
//   - Throughput. BenchmarkGet and BenchmarkPut move one file over the signed
//     and the encrypted share with Share.Get (into io.Discard) and Share.Put
//     (from memory, the default atomic temporary file and rename), with 1, 4
//     and 8 requests in flight. The peers BenchmarkSmbclientGet and
//     BenchmarkSmbclientPut run smbclient's get (to /dev/null) and put (from
//     a file on tmpfs) with its own Kerberos cache, forced to sign or to
//     encrypt (--client-protection), one smbclient process per transfer.
//     BenchmarkSmbclientGetInteractive and BenchmarkSmbclientPutInteractive
//     type the same commands into one smbclient process whose session is
//     already up: that is what the smbkrb benchmarks time too (they dial
//     outside the timer), so the ratios use these.
//   - CPU. Every benchmark reports the client's CPU time (user+system): for
//     smbkrb the test process's own (getrusage), for smbclient the child's.
//     Transfers report it per GiB (cpu-s/GiB), sessions per operation
//     (cpu-ms/op). srv-cpu-s/GiB is the Samba DC's CPU time in the same
//     interval, from /proc.
//
// TestProtection checks, from the server's side (smbstatus), that both
// clients sign on the signed share and encrypt on the encrypted one, and
// logs the algorithms each negotiated.
//
// It needs root and the Debian packages of the lab (samba, samba-ad-dc,
// winbind, smbclient, krb5-user); .ci/install-deps installs them.
package bench
