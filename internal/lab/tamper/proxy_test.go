package tamper

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"
)

// echoServer is a framed echo server on 127.0.0.1: it answers every
// frame with the same frame and keeps what it received.
type echoServer struct {
	ln net.Listener
	mu sync.Mutex
	// got holds the payloads the server received, in order.
	got [][]byte
	// errs receives each connection's final read error.
	errs chan error
}

func startEcho(t *testing.T) *echoServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &echoServer{ln: ln, errs: make(chan error, 16)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return s
}

func (s *echoServer) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	var buf []byte
	for {
		var err error
		buf, err = readFrame(r, buf)
		if err != nil {
			s.errs <- err
			return
		}
		s.mu.Lock()
		s.got = append(s.got, append([]byte(nil), buf[4:]...))
		s.mu.Unlock()
		if _, err := c.Write(buf); err != nil {
			s.errs <- err
			return
		}
	}
}

func (s *echoServer) received() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.got...)
}

func startProxy(t *testing.T, target string) *Proxy {
	t.Helper()
	p, err := Start("127.0.0.1:0", target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func dial(t *testing.T, p *Proxy) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

func prefixed(payload []byte) []byte {
	b := make([]byte, 4, 4+len(payload))
	b[1], b[2], b[3] = byte(len(payload)>>16), byte(len(payload)>>8), byte(len(payload))
	return append(b, payload...)
}

// roundTrip sends one frame and reads the echoed one.
func roundTrip(t *testing.T, c net.Conn, payload []byte) []byte {
	t.Helper()
	if _, err := c.Write(prefixed(payload)); err != nil {
		t.Fatal(err)
	}
	buf, err := readFrame(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	return buf[4:]
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) + seed
	}
	return b
}

// smb2Frame is a plain SMB2 header (plus body) with the given command and
// flags.
func smb2Frame(cmd uint16, flags uint32, sessionID uint64, tree uint32, body int) []byte {
	f := make([]byte, HeaderSize+body)
	copy(f, "\xfeSMB")
	binary.LittleEndian.PutUint16(f[4:], 64)
	binary.LittleEndian.PutUint16(f[12:], cmd)
	binary.LittleEndian.PutUint32(f[16:], flags)
	binary.LittleEndian.PutUint32(f[36:], tree)
	binary.LittleEndian.PutUint64(f[40:], sessionID)
	return f
}

// transformFrame is a transform header with the given nonce and session,
// followed by body bytes of "ciphertext".
func transformFrame(nonce byte, sessionID uint64, body int) []byte {
	f := make([]byte, TransformHeaderSize+body)
	copy(f, "\xfdSMB")
	for i := 0; i < 12; i++ {
		f[20+i] = nonce + byte(i)
	}
	binary.LittleEndian.PutUint32(f[36:], uint32(body))
	binary.LittleEndian.PutUint16(f[42:], 1)
	binary.LittleEndian.PutUint64(f[44:], sessionID)
	copy(f[TransformHeaderSize:], pattern(body, nonce))
	return f
}

func TestForward(t *testing.T) {
	s := startEcho(t)
	p := startProxy(t, s.ln.Addr().String())
	c := dial(t, p)
	var sent [][]byte
	for i, n := range []int{0, 1, 64, 70_000, 5 << 20, 3} {
		f := pattern(n, byte(i))
		sent = append(sent, f)
		if got := roundTrip(t, c, f); !bytes.Equal(got, f) {
			t.Fatalf("frame of %d bytes came back different (%d bytes)", n, len(got))
		}
	}
	// Several frames in one write, then one frame a byte at a time:
	// framing does not depend on how TCP cuts the stream.
	a, b := pattern(100, 1), pattern(200, 2)
	if _, err := c.Write(append(prefixed(a), prefixed(b)...)); err != nil {
		t.Fatal(err)
	}
	for _, want := range [][]byte{a, b} {
		buf, err := readFrame(c, nil)
		if err != nil || !bytes.Equal(buf[4:], want) {
			t.Fatalf("batched frame: %v", err)
		}
	}
	sent = append(sent, a, b)
	d := pattern(300, 3)
	for _, x := range prefixed(d) {
		if _, err := c.Write([]byte{x}); err != nil {
			t.Fatal(err)
		}
	}
	if buf, err := readFrame(c, nil); err != nil || !bytes.Equal(buf[4:], d) {
		t.Fatalf("dribbled frame: %v", err)
	}
	sent = append(sent, d)
	got := s.received()
	if len(got) != len(sent) {
		t.Fatalf("server got %d frames, want %d", len(got), len(sent))
	}
	for i := range sent {
		if !bytes.Equal(got[i], sent[i]) {
			t.Errorf("server's frame %d differs", i)
		}
	}
	var total int64
	for _, f := range sent {
		total += int64(4 + len(f))
	}
	if up, down := p.Bytes(); up != total || down != total {
		t.Errorf("Bytes() = %d, %d; want %d both ways", up, down, total)
	}
	if p.Accepted() != 1 {
		t.Errorf("Accepted() = %d, want 1", p.Accepted())
	}
}

func TestNonSessionMessagePassesThrough(t *testing.T) {
	s := startEcho(t)
	p := startProxy(t, s.ln.Addr().String())
	var recorded int
	var mu sync.Mutex
	p.RecordClientFrames(func([]byte) { mu.Lock(); recorded++; mu.Unlock() })
	done := p.FlipServerFrame(nil, 0)
	c := dial(t, p)
	// A NetBIOS keep-alive (type 0x85, length 0) and a type-0x85 message
	// with a body: forwarded untouched, neither flipped nor recorded.
	msg := []byte{0x85, 0, 0, 2, 'h', 'i'}
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	back := make([]byte, len(msg))
	if _, err := io.ReadFull(c, back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back, msg) {
		t.Fatalf("got %x back, want %x", back, msg)
	}
	select {
	case <-done:
		t.Error("a non-session message was flipped")
	default:
	}
	mu.Lock()
	defer mu.Unlock()
	if recorded != 0 {
		t.Errorf("%d non-session messages recorded", recorded)
	}
}

func TestFlipServerFrame(t *testing.T) {
	s := startEcho(t)
	p := startProxy(t, s.ln.Addr().String())
	c := dial(t, p)
	const off = 20 // the nonce's first byte
	done := p.FlipServerFrame(IsTransform, off)

	plain := smb2Frame(CmdRead, flagResponse|flagSigned, 7, 1, 100)
	if got := roundTrip(t, c, plain); !bytes.Equal(got, plain) {
		t.Fatal("a plain frame was changed by a flip armed for transforms")
	}
	select {
	case <-done:
		t.Fatal("flip reported before any transform passed")
	default:
	}
	tr := transformFrame(0x40, 7, 1000)
	got := roundTrip(t, c, tr)
	want := append([]byte(nil), tr...)
	want[off] ^= 0x01
	if !bytes.Equal(got, want) {
		t.Fatalf("transform came back %x..., want byte %d flipped", got[:40], off)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("flip channel not closed")
	}
	// One shot: the next transform passes intact, and the server always
	// saw the frames as sent.
	tr2 := transformFrame(0x50, 7, 1000)
	if got := roundTrip(t, c, tr2); !bytes.Equal(got, tr2) {
		t.Fatal("second transform flipped too")
	}
	if r := s.received(); len(r) != 3 || !bytes.Equal(r[1], tr) {
		t.Fatal("the server-to-client flip reached the server")
	}
}

func TestFlipClientFrame(t *testing.T) {
	s := startEcho(t)
	p := startProxy(t, s.ln.Addr().String())
	c := dial(t, p)
	done := p.FlipClientFrame(nil, 0)
	f := pattern(10, 9)
	got := roundTrip(t, c, f)
	want := append([]byte(nil), f...)
	want[0] ^= 0x01
	if !bytes.Equal(got, want) || !bytes.Equal(s.received()[0], want) {
		t.Fatalf("server got %x, want %x", s.received()[0], want)
	}
	<-done
}

func TestFlipOffsetBeyondFrame(t *testing.T) {
	s := startEcho(t)
	p := startProxy(t, s.ln.Addr().String())
	c := dial(t, p)
	done := p.FlipServerFrame(nil, 50)
	short := pattern(50, 1) // offset 50 is outside: not this one
	if got := roundTrip(t, c, short); !bytes.Equal(got, short) {
		t.Fatal("a frame too short for the offset was changed")
	}
	long := pattern(51, 1)
	got := roundTrip(t, c, long)
	if got[50] != long[50]^1 {
		t.Fatal("the first frame long enough was not flipped")
	}
	<-done
}

func TestFlipSignedResponse(t *testing.T) {
	s := startEcho(t)
	p := startProxy(t, s.ln.Addr().String())
	c := dial(t, p)
	done := p.FlipServerFrame(IsSignedResponse(CmdWrite), 48) // the signature
	for _, f := range [][]byte{
		smb2Frame(CmdWrite, flagSigned, 1, 1, 16),                  // a request
		smb2Frame(CmdWrite, flagResponse, 1, 1, 16),                // unsigned
		smb2Frame(CmdRead, flagResponse|flagSigned, 1, 1, 16),      // another command
		transformFrame(1, 1, 16),                                   // encrypted
		smb2Frame(CmdWrite, flagResponse|flagSigned, 1, 1, 0)[:60], // short header
	} {
		if got := roundTrip(t, c, f); !bytes.Equal(got, f) {
			t.Fatalf("frame %x... was flipped", f[:20])
		}
	}
	f := smb2Frame(CmdWrite, flagResponse|flagSigned, 1, 1, 16)
	if got := roundTrip(t, c, f); got[48] != f[48]^1 {
		t.Fatal("the signed WRITE response was not flipped")
	}
	<-done
}

func TestAfter(t *testing.T) {
	s := startEcho(t)
	p := startProxy(t, s.ln.Addr().String())
	c := dial(t, p)
	roundTrip(t, c, pattern(500, 0)) // bytes before After do not count
	// Each round trip of a 1000-byte payload forwards 2 × 1004 bytes.
	// The response to the second frame is checked when 1004 × 3 = 3012
	// bytes have passed since After: the first frame ≥ 3000.
	done := p.FlipServerFrame(p.After(3000, nil), 0)
	for i := 1; i <= 3; i++ {
		f := pattern(1000, byte(i))
		got := roundTrip(t, c, f)
		flipped := got[0] != f[0]
		if flipped != (i == 2) {
			t.Fatalf("frame %d: flipped = %v", i, flipped)
		}
	}
	<-done
}

func TestRecordClientFrames(t *testing.T) {
	s := startEcho(t)
	p := startProxy(t, s.ln.Addr().String())
	var mu sync.Mutex
	var got [][]byte
	p.RecordClientFrames(func(f []byte) { mu.Lock(); got = append(got, f); mu.Unlock() })
	var server [][]byte
	p.RecordServerFrames(func(f []byte) { mu.Lock(); server = append(server, f); mu.Unlock() })
	c := dial(t, p)
	var sent [][]byte
	for i := 0; i < 50; i++ {
		f := transformFrame(byte(i), 9, 100+i*37)
		sent = append(sent, f)
		roundTrip(t, c, f)
	}
	p.RecordClientFrames(nil)
	roundTrip(t, c, pattern(10, 0))
	mu.Lock()
	defer mu.Unlock()
	// The proxy reuses its read buffer: equal frames prove the recorder
	// got copies.
	if len(got) != len(sent) {
		t.Fatalf("recorded %d frames, want %d (recording must stop at nil)", len(got), len(sent))
	}
	seen := map[[16]byte]bool{}
	for i := range sent {
		if !bytes.Equal(got[i], sent[i]) {
			t.Fatalf("recorded frame %d differs", i)
		}
		n, ok := TransformNonce(got[i])
		if !ok || seen[n] {
			t.Fatalf("frame %d: nonce %x (ok %v) repeated", i, n, ok)
		}
		seen[n] = true
	}
	if len(server) != len(sent)+1 {
		t.Errorf("recorded %d server frames, want %d", len(server), len(sent)+1)
	}
}

func TestCut(t *testing.T) {
	s := startEcho(t)
	p := startProxy(t, s.ln.Addr().String())
	c := dial(t, p)
	roundTrip(t, c, pattern(10, 0))
	p.Cut()
	_, err := readFrame(c, nil)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("client read after Cut: %v, want a connection reset", err)
	}
	select {
	case err := <-s.errs:
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("server read after Cut: %v, want a connection reset", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("the server's connection outlived Cut")
	}
	// The proxy still serves new connections.
	c2 := dial(t, p)
	if got := roundTrip(t, c2, pattern(10, 1)); !bytes.Equal(got, pattern(10, 1)) {
		t.Fatal("no echo after Cut")
	}
	if p.Accepted() != 2 {
		t.Errorf("Accepted() = %d, want 2", p.Accepted())
	}
}

func TestHold(t *testing.T) {
	s := startEcho(t)
	p := startProxy(t, s.ln.Addr().String())
	c := dial(t, p)
	roundTrip(t, c, pattern(10, 0))
	const d = 300 * time.Millisecond
	p.Hold(d)
	begin := time.Now()
	roundTrip(t, c, pattern(10, 0))
	if e := time.Since(begin); e < d {
		t.Errorf("round trip during Hold(%v) took %v", d, e)
	}
	// A long hold released early by Hold(0).
	p.Hold(time.Hour)
	go func() { time.Sleep(100 * time.Millisecond); p.Hold(0) }()
	begin = time.Now()
	roundTrip(t, c, pattern(10, 0))
	if e := time.Since(begin); e < 100*time.Millisecond || e > 5*time.Second {
		t.Errorf("round trip with a hold released after 100ms took %v", e)
	}
	// Cut ends a held connection at once.
	p.Hold(time.Hour)
	if _, err := c.Write(prefixed(pattern(10, 0))); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	p.Cut()
	if _, err := readFrame(c, nil); err == nil {
		t.Fatal("a frame arrived through a held, cut connection")
	}
	p.Hold(0)
}

func TestClose(t *testing.T) {
	s := startEcho(t)
	p, err := Start("127.0.0.1:0", s.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, p)
	roundTrip(t, c, pattern(10, 0))
	p.Hold(time.Hour) // Close must not wait for a hold
	done := make(chan struct{})
	go func() { p.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs")
	}
	if _, err := readFrame(c, nil); err == nil {
		t.Error("connection still open after Close")
	}
	if _, err := net.Dial("tcp", p.Addr()); err == nil {
		t.Error("still listening after Close")
	}
}

func TestTargetDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := startProxy(t, addr)
	c := dial(t, p)
	if _, err := readFrame(c, nil); err == nil {
		t.Fatal("a connection to a dead target stayed open")
	}
}

// sink is a framed server that reads frames and answers each with a
// small one, like an SMB server acknowledging writes.
func startSink(b *testing.B) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				var buf []byte
				ack := prefixed(make([]byte, 80))
				for {
					if buf, err = readFrame(r, buf); err != nil {
						return
					}
					if _, err := c.Write(ack); err != nil {
						return
					}
				}
			}()
		}
	}()
	b.Cleanup(func() { ln.Close() })
	return ln
}

// BenchmarkForward measures the proxy's throughput for 1 MiB client
// frames, with and without a recorder.
func BenchmarkForward(b *testing.B) {
	for _, record := range []bool{false, true} {
		name := "plain"
		if record {
			name = "recorded"
		}
		b.Run(name, func(b *testing.B) {
			ln := startSink(b)
			p, err := Start("127.0.0.1:0", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			if record {
				var nonces int
				p.RecordClientFrames(func(f []byte) {
					if _, ok := TransformNonce(f); ok {
						nonces++
					}
				})
			}
			c, err := net.Dial("tcp", p.Addr())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			frame := prefixed(transformFrame(1, 1, 1<<20-TransformHeaderSize))
			// Eight frames in flight, as a pipelining client keeps them.
			const window = 8
			acks := make(chan error, 1)
			go func() {
				var buf []byte
				var err error
				for i := 0; i < b.N; i++ {
					if buf, err = readFrame(c, buf); err != nil {
						break
					}
				}
				acks <- err
			}()
			b.SetBytes(int64(len(frame)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := c.Write(frame); err != nil {
					b.Fatal(err)
				}
			}
			if err := <-acks; err != nil {
				b.Fatal(err)
			}
			_ = window
		})
	}
}
