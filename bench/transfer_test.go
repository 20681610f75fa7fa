package bench

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/samba"
	"github.com/smbkrb/smbkrb/internal/lab/testmain"
	"github.com/smbkrb/smbkrb/smb"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
)

// The shares the transfers run on, and the depths smbkrb is measured
// with: "pN" keeps N requests in flight (TransferOptions.Fixed), "auto" is
// the default, up to 4 with the depth measured at the start of the
// transfer. "aes256" is the encrypted share with both clients restricted
// to AES-256-GCM (an Azure Files account at maximum security); the others
// use each client's default cipher (AES-128-GCM).
var (
	shares = []string{samba.ShareSigned, samba.ShareEncrypted, shareAES256}
	depths = []string{"p1", "p2", "p4", "p8", "auto"}
)

// transferOptions are the options of depth ("p4", "auto").
func transferOptions(b *testing.B, depth string) smb.TransferOptions {
	o := smb.TransferOptions{ChunkSize: chunkSize(b)}
	if depth != "auto" {
		if _, err := fmt.Sscanf(depth, "p%d", &o.Parallel); err != nil {
			b.Fatalf("depth %q: %v", depth, err)
		}
		o.Fixed = true
	}
	return o
}

// chosen records the depth each auto run kept, for the summary.
var chosen sync.Map

// recordChoice notes the depth the session's last measured transfer kept.
func recordChoice(b *testing.B, depth string, sh *smb.Share, write bool) {
	if depth != "auto" {
		return
	}
	info := sh.Session().Info()
	d := info.ReadDepth
	if write {
		d = info.WriteDepth
	}
	chosen.Store(b.Name(), d)
}

// shareAES256 names the AES-256-GCM runs on the encrypted share.
const shareAES256 = "aes256"

// realShare is the server's share a benchmark share name runs on.
func realShare(share string) string {
	if share == shareAES256 {
		return samba.ShareEncrypted
	}
	return share
}

// negotiated records, per benchmark share, what smbkrb's session
// negotiated, for the summary.
var negotiated sync.Map // share -> string

// mountShare dials a session and mounts share, outside the timer; both are
// closed by b's cleanup. It checks that the share is protected as it must
// be: encrypted on the encrypted share, signed (not encrypted) on the other.
func mountShare(b *testing.B, share string) *smb.Share {
	b.Helper()
	k := kerberos(b)
	d := &smb.Dialer{Kerberos: k, CCache: testmain.MemoryCache(b, k), Credentials: smb.Password(lab.principal, []byte(lab.pw))}
	if share == shareAES256 {
		d.Ciphers = []smb.Cipher{smb.AES256GCM}
	}
	s, err := d.Dial(b.Context(), labServer())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	sh, err := s.Mount(b.Context(), realShare(share))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sh.Close() })
	if got, want := sh.Info().Encrypted, realShare(share) == samba.ShareEncrypted; got != want {
		b.Fatalf("share %s: encrypted = %v, want %v", share, got, want)
	}
	info := s.Info()
	if share == shareAES256 && info.Cipher != "AES-256-GCM" {
		b.Fatalf("share %s: cipher %q negotiated", share, info.Cipher)
	}
	prot := "signing " + info.Signing
	if sh.Info().Encrypted {
		prot = "cipher " + info.Cipher
	}
	negotiated.Store(share, fmt.Sprintf("SMB %s, %s", info.Dialect, prot))
	return sh
}

// BenchmarkGet reads the whole file with Share.Get into io.Discard, with 1,
// 2, 4 and 8 read requests in flight and with the default (auto), on the
// signed and the encrypted share.
func BenchmarkGet(b *testing.B) {
	labtest.Need(b)
	size, _, _ := files(b)
	for _, share := range shares {
		b.Run(share, func(b *testing.B) {
			for _, depth := range depths {
				b.Run(depth, func(b *testing.B) {
					sh := mountShare(b, share)
					opts := new(smb.TransferOptions)
					*opts = transferOptions(b, depth)
					b.SetBytes(size)
					n := 0
					cpu := startCPU(b)
					for b.Loop() {
						got, err := sh.Get(b.Context(), getName, io.Discard, opts)
						if err != nil {
							b.Fatal(err)
						}
						if got != size {
							b.Fatalf("Get: %d bytes, want %d", got, size)
						}
						n++
					}
					client, server := cpu.since(b)
					reportTransfer(b, n, size, client, server)
					recordChoice(b, depth, sh, false)
				})
			}
		})
	}
}

// BenchmarkPut uploads the file from memory with Share.Put (the default:
// a temporary file renamed into place), with 1, 2, 4 and 8 write requests
// in flight and with the default (auto), on the signed and the encrypted
// share. The server's copy is compared with the data after the timed loop.
func BenchmarkPut(b *testing.B) { benchPut(b, false, depths) }

// BenchmarkPutInPlace is BenchmarkPut with PutOptions.InPlace and the
// default depth: the file is overwritten where it is, as
// smbclient's put does, so this is the like-for-like peer of
// BenchmarkSmbclientPutInteractive. The atomic put writes the new file
// while the old one still holds its pages; on these machines the server
// then writes into fresh memory (see warmUp) and it shows at 1 GiB.
func BenchmarkPutInPlace(b *testing.B) { benchPut(b, true, []string{"auto"}) }

func benchPut(b *testing.B, inPlace bool, ds []string) {
	size, data, _ := files(b)
	for _, share := range shares {
		b.Run(share, func(b *testing.B) {
			for _, depth := range ds {
				b.Run(depth, func(b *testing.B) {
					sh := mountShare(b, share)
					name := "put-" + depth + ".bin"
					if inPlace {
						name = "put-in-place.bin"
					}
					opts := &smb.PutOptions{InPlace: inPlace, TransferOptions: transferOptions(b, depth)}
					r := bytes.NewReader(data)
					warmUp(func() {
						if _, err := sh.Put(b.Context(), name, r, opts); err != nil {
							b.Fatal(err)
						}
					})
					b.SetBytes(size)
					n := 0
					cpu := startCPU(b)
					for b.Loop() {
						r.Reset(data)
						got, err := sh.Put(b.Context(), name, r, opts)
						if err != nil {
							b.Fatal(err)
						}
						if got != size {
							b.Fatalf("Put: %d bytes, want %d", got, size)
						}
						n++
					}
					client, server := cpu.since(b)
					reportTransfer(b, n, size, client, server)
					recordChoice(b, depth, sh, true)
					checkServerCopy(b, share, name, data)
				})
			}
		})
	}
}

// checkServerCopy compares the file the server wrote with data, then
// removes it.
func checkServerCopy(b *testing.B, share, name string, data []byte) {
	b.Helper()
	p := filepath.Join(lab.dc.ShareDir(realShare(share)), name)
	got, err := os.ReadFile(p)
	if err != nil {
		b.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		b.Fatalf("the server's %s/%s (%d bytes) differs from the %d bytes uploaded", share, name, len(got), len(data))
	}
	os.Remove(p)
}

// peerCache is a copy of the kinit'ed cache for one smbclient benchmark,
// warmed by one untimed run on share so that it holds the service ticket.
func peerCache(b *testing.B, share string) string {
	b.Helper()
	ccache := filepath.Join(b.TempDir(), "ccache")
	copyFile(b, lab.tgtCache, ccache)
	runSmbclient(b, ccache, smbclientArgs(share, ccache, "-c", "ls")...)
	return ccache
}

// BenchmarkSmbclientGet is the peer of BenchmarkGet: one smbclient run per
// iteration, "get get.bin /dev/null", forced to sign or to encrypt. Each
// run includes smbclient's start and session setup (tens of milliseconds;
// see BenchmarkSmbclientSession), which a large file makes small.
func BenchmarkSmbclientGet(b *testing.B) {
	labtest.Need(b)
	size, _, _ := files(b)
	for _, share := range shares {
		b.Run(share, func(b *testing.B) {
			ccache := peerCache(b, share)
			args := smbclientArgs(share, ccache, "-c", "get "+getName+" /dev/null")
			want := fmt.Sprintf("of size %d ", size)
			b.SetBytes(size)
			var client time.Duration
			var rss float64
			n := 0
			cpu := startCPU(b)
			for b.Loop() {
				r := runSmbclient(b, ccache, args...)
				if !strings.Contains(r.out, want) {
					b.Fatalf("smbclient get: %s", r.out)
				}
				client += r.cpu
				rss = max(rss, r.rssMiB)
				n++
			}
			_, server := cpu.since(b)
			reportTransfer(b, n, size, client, server)
			reportRSS(b, rss)
		})
	}
}

// BenchmarkSmbclientPut is the peer of BenchmarkPut: one smbclient run per
// iteration, "put <file on tmpfs> put-smbclient.bin" (smbclient writes the
// target in place), forced to sign or to encrypt.
func BenchmarkSmbclientPut(b *testing.B) {
	labtest.Need(b)
	size, data, local := files(b)
	for _, share := range shares {
		b.Run(share, func(b *testing.B) {
			ccache := peerCache(b, share)
			const name = "put-smbclient.bin"
			args := smbclientArgs(share, ccache, "-c", "put "+local+" "+name)
			warmUp(func() { runSmbclient(b, ccache, args...) })
			b.SetBytes(size)
			var client time.Duration
			var rss float64
			n := 0
			cpu := startCPU(b)
			for b.Loop() {
				r := runSmbclient(b, ccache, args...)
				client += r.cpu
				rss = max(rss, r.rssMiB)
				n++
			}
			_, server := cpu.since(b)
			reportTransfer(b, n, size, client, server)
			reportRSS(b, rss)
			checkServerCopy(b, share, name, data)
		})
	}
}

// BenchmarkSmbclientGetInteractive is BenchmarkSmbclientGet without
// smbclient's start and session setup: one smbclient process for all
// iterations, each a "get get.bin /dev/null" typed on its stdin. This is
// the figure to set against BenchmarkGet, which dials outside the timer
// too. Its CPU time is the process's, read from /proc around the loop.
func BenchmarkSmbclientGetInteractive(b *testing.B) {
	labtest.Need(b)
	size, _, _ := files(b)
	for _, share := range shares {
		b.Run(share, func(b *testing.B) {
			sh := startSmbclientShell(b, share, peerCache(b, share))
			want := fmt.Sprintf(`getting file \%s of size %d `, getName, size)
			b.SetBytes(size)
			n := 0
			cpu := startCPU(b)
			client := sh.cpu()
			for b.Loop() {
				sh.do("get "+getName+" /dev/null", want)
				n++
			}
			client = sh.cpu() - client
			_, server := cpu.since(b)
			reportTransfer(b, n, size, client, server)
		})
	}
}

// BenchmarkSmbclientPutInteractive is BenchmarkSmbclientPut without
// smbclient's start and session setup, as BenchmarkSmbclientGetInteractive.
func BenchmarkSmbclientPutInteractive(b *testing.B) {
	labtest.Need(b)
	size, data, local := files(b)
	for _, share := range shares {
		b.Run(share, func(b *testing.B) {
			sh := startSmbclientShell(b, share, peerCache(b, share))
			const name = "put-smbclient-interactive.bin"
			want := fmt.Sprintf(`putting file %s as \%s `, local, name)
			warmUp(func() { sh.do("put "+local+" "+name, want) })
			b.SetBytes(size)
			n := 0
			cpu := startCPU(b)
			client := sh.cpu()
			for b.Loop() {
				sh.do("put "+local+" "+name, want)
				n++
			}
			client = sh.cpu() - client
			_, server := cpu.since(b)
			reportTransfer(b, n, size, client, server)
			checkServerCopy(b, share, name, data)
		})
	}
}

// warmUp runs put, an untimed transfer, before the caller's timer starts:
// every put benchmark, smbkrb's and smbclient's, makes one. On these virtual machines the
// first touch of guest memory that was never used traps to the host, and
// a server writing a new file into fresh tmpfs pages ran at a third of
// its speed (2-3 server CPU-s/GiB, most of it in the kernel's copy into
// the page cache, 40% of the time idle); the next file reuses the pages
// the previous one freed. Without it, whichever client ran first paid.
func warmUp(put func()) { put() }

// BenchmarkGetSmall is Share.Get of a 16 KiB file into io.Discard on the
// signed share, the session set up outside the timer: with Get's
// compounded CREATE + READ + CLOSE, one round trip per file. Its metric
// is ms/op; the trees of many small files are made of these.
func BenchmarkGetSmall(b *testing.B) {
	labtest.Need(b)
	const name, size = "small.bin", 16 << 10
	data := make([]byte, size)
	rand.Read(data)
	if err := os.WriteFile(filepath.Join(lab.dc.ShareDir(samba.ShareSigned), name), data, 0o644); err != nil {
		b.Fatal(err)
	}
	sh := mountShare(b, samba.ShareSigned)
	b.SetBytes(size)
	for b.Loop() {
		n, err := sh.Get(b.Context(), name, io.Discard, nil)
		if err != nil || n != size {
			b.Fatalf("Get: %d bytes, %v", n, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(b.N), "ms/op")
}
