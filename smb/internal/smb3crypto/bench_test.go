package smb3crypto

import (
	"fmt"
	"testing"
)

// The benchmarks measure the per-byte cost of each algorithm on a 1 MiB
// message, the size of a large READ or WRITE.

func BenchmarkSign(b *testing.B) {
	for _, alg := range []uint16{SigningAESCMAC, SigningAESGMAC} {
		b.Run(SigningName(alg), func(b *testing.B) {
			s, _ := NewSigner(alg, key16)
			msg := make([]byte, 1<<20)
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				s.Sign(msg)
			}
		})
	}
}

func BenchmarkSealOpen(b *testing.B) {
	for _, id := range []uint16{CipherAES128CCM, CipherAES128GCM, CipherAES256CCM, CipherAES256GCM} {
		key := key16
		if keyBits(id) == 256 {
			key = key32
		}
		s, _ := NewSealer(id, key)
		o, _ := NewOpener(id, key)
		const n = 1 << 20
		buf := make([]byte, 4+TransformHeaderSize+n, 4+TransformHeaderSize+n+16)
		b.Run(fmt.Sprintf("seal/%s", CipherName(id)), func(b *testing.B) {
			b.SetBytes(n)
			for b.Loop() {
				if _, err := s.Seal(buf[:4], buf[4+TransformHeaderSize:], 1); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("open/%s", CipherName(id)), func(b *testing.B) {
			frame, _ := s.Seal(buf[:4], buf[4+TransformHeaderSize:], 1)
			sealed := append([]byte(nil), frame[4:]...)
			work := make([]byte, len(sealed), len(sealed)+16)
			b.SetBytes(n)
			for b.Loop() {
				copy(work, sealed)
				if _, _, err := o.Open(work); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
