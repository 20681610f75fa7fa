package smb3crypto

import (
	"bytes"
	"testing"
)

// FuzzOpen feeds arbitrary frames to every opener: none may panic, and
// anything that opens must be a frame the sealer made.
func FuzzOpen(f *testing.F) {
	s, _ := NewSealer(CipherAES128GCM, key16)
	good, _ := s.Seal(nil, make([]byte, 100), 3)
	f.Add(good)
	f.Add(good[:60])
	f.Add([]byte{0xFD, 'S', 'M', 'B'})
	openers := map[uint16]Opener{}
	for _, id := range []uint16{CipherAES128CCM, CipherAES128GCM, CipherAES256CCM, CipherAES256GCM} {
		k := key16
		if keyBits(id) == 256 {
			k = key32
		}
		openers[id], _ = NewOpener(id, k)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		for id, o := range openers {
			in := bytes.Clone(frame)
			plain, _, err := o.Open(in)
			if err == nil && (id != CipherAES128GCM || !bytes.Equal(plain, make([]byte, 100))) {
				t.Fatalf("%s opened a frame it did not seal: %x", CipherName(id), frame)
			}
		}
	})
}

func FuzzParseTransformHeader(f *testing.F) {
	s, _ := NewSealer(CipherAES256GCM, key32)
	good, _ := s.Seal(nil, make([]byte, 64), 3)
	f.Add(good)
	f.Add(good[:52])
	f.Fuzz(func(t *testing.T, frame []byte) {
		h, err := ParseTransformHeader(frame)
		if err == nil && int(h.OriginalMessageSize) != len(frame)-TransformHeaderSize {
			t.Fatalf("accepted a size of %d for %d bytes", h.OriginalMessageSize, len(frame))
		}
		NonceOf(frame)
	})
}

// FuzzVerify checks that signers never panic and never accept a message
// with a signature they did not make.
func FuzzVerify(f *testing.F) {
	msg := vectorMessage()
	f.Add(msg)
	f.Add(msg[:64])
	f.Add([]byte{1, 2, 3})
	cm, _ := NewSigner(SigningAESCMAC, key16)
	gm, _ := NewSigner(SigningAESGMAC, key16)
	f.Fuzz(func(t *testing.T, m []byte) {
		for _, s := range []Signer{cm, gm} {
			in := bytes.Clone(m)
			ok := s.Verify(in)
			if !bytes.Equal(in, m) {
				t.Fatal("Verify changed the message")
			}
			if ok {
				// Only possible if m carries its own correct signature.
				c := bytes.Clone(m)
				s.Sign(c)
				if !bytes.Equal(c, m) {
					t.Fatal("verified a message whose signature differs from Sign's")
				}
			}
		}
	})
}
